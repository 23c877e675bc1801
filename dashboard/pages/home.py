"""Home: KPI cards a non-expert understands, and the city map with a layer switcher, a legend, a district
colouring mode and a detail panel for the feature a citizen taps.

The KPI text is in the page itself (and in the server-rendered first paint, dashboard/http/frontend.py); the map
loads with the partial plotly.js bundle only when it comes into view (components.deferred).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import h3
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from dash import Dash, Input, Output, State, dcc, html, no_update

from dashboard.i18n import N_, fmt_age, fmt_datetime, fmt_number, plotly_separators, translator
from dashboard.server.cache import cached, request_now
from dashboard.ui import figures, inputs, kpis
from dashboard.ui.components import (
    BAND_WORDS,
    CYCLE_TYPES,
    data_table,
    deferred,
    download_links,
    kpi_card,
    page_frame,
    sources_behind,
    table_details,
)
from dashboard.ui.indicators import city_series, guideline, usual_range
from data_sources.comments.records import as_id
from data_sources.ingest.attributes import cycle_type_of
from data_sources.ingest.standards import EAQI_BANDS
from data_sources.store import queries
from data_sources.store.db import utcnow

if TYPE_CHECKING:  # dashboard.app imports the pages
    from sqlalchemy import Engine

    from dashboard.context import AppContext

PATH = "/"
DEPENDS = "all"
FIRST_PAINT = True  # server-rendered first paint (dashboard/http/frontend.py)
SHARED = True  # the same for every visitor (dashboard/pages/__init__.py)
LAYERS = ["air_station", "traffic_counter", "cycle_route", "cycle_counter", "bike_station", "comments"]
LAYER_LABELS = {
    "air_station": N_("Air quality"),
    "traffic_counter": N_("Traffic"),
    "cycle_route": N_("Cycle routes"),
    "cycle_counter": N_("Cycle counters"),
    "bike_station": N_("Bike share"),
    "comments": N_("Citizens' comments"),
}
# District colouring: indicator -> (label, unit label)
CHOROPLETHS = {
    "pm25": (N_("PM2.5, last 24 h"), N_("µg/m³")),
    "no2": (N_("NO2, last 24 h"), N_("µg/m³")),
    "vehicles": (N_("Traffic per counter, last 24 h"), N_("vehicles/h")),
    "cyclists": (N_("Cyclists per counter, last 24 h"), N_("cyclists/h")),
    "comments": (N_("Comments per 1,000 residents, last 30 days"), N_("per 1,000")),
}
KPI_LAYERS = {
    "air": ["air_station"],
    "traffic": ["traffic_counter"],
    "cycling": ["cycle_route", "bike_station", "cycle_counter"],
}
KPI_LINKS = {"air": "/air", "traffic": "/traffic", "cycling": "/cycling"}
PERIODS = {
    "24h": (timedelta(hours=24), N_("24 hours")),
    "7d": (timedelta(days=7), N_("7 days")),
    "30d": (timedelta(days=30), N_("30 days")),
}
POINT_METRIC = {
    "air_station": "pm25",
    "traffic_counter": "vehicles",
    "cycle_counter": "cyclists",
    "bike_station": "bikes_available",
}


def comment_resolution(zoom: float | None) -> int:
    """Comments are counted in coarse H3 cells when zoomed out and finer ones when zoomed in (r9 is each
    comment's published location, ~170 m across)."""
    if zoom is None or zoom < 12.5:
        return 7
    return 8 if zoom < 14 else 9


def map_layers(engine: Engine, resolution: int = 7, min_count: int = 3) -> dict[str, pd.DataFrame]:
    """Each layer as a DataFrame the figure builder draws: the latest value per point feature. Comment cells
    coarser than a comment's public cell (r9) are drawn from ``min_count`` comments up (the city's k, as in the
    heatmap API); at r9 every published comment is shown at its public point (README "Privacy model")."""
    out: dict[str, pd.DataFrame] = {}
    bands = pd.Series(dtype=object)
    for layer, metric in POINT_METRIC.items():
        f = queries.features(engine, layer)
        t = queries.latest_time(engine, metric)
        f = f.assign(value=np.nan)
        if len(f) and t is not None:
            obs = queries.observations(engine, metric, t - kpis.NOW_WINDOW, t)
            latest = obs.sort_values("time").groupby("feature_id")["value"].last()
            f["value"] = f["id"].map(latest)
            if layer == "air_station":
                last24 = {
                    m: queries.observations(engine, m, t - timedelta(hours=24), t) for m in ("pm25", "pm10", "no2")
                }
                bands = kpis.station_eaqi(last24, t)
        out[layer] = f
    air = out["air_station"]
    air["band"] = air["id"].map(bands).fillna("none") if len(air) else pd.Series(dtype=object)
    routes = queries.features(engine, "cycle_route")
    routes["cycle_type"] = routes["properties"].map(cycle_type_of)
    out["cycle_route"] = routes
    cells = queries.public_comment_cells(engine, resolution=resolution, min_count=min_count if resolution < 9 else 1)
    if len(cells):
        centres = [h3.cell_to_latlng(h3.int_to_str(int(c))) for c in cells["cell"]]
        cells["lat"] = [c[0] for c in centres]
        cells["lon"] = [c[1] for c in centres]
    out["comments"] = cells
    return out


def district_indicator(engine: Engine, key: str) -> pd.Series:
    """District id -> value of a choropleth indicator."""
    if key == "comments":
        d = queries.districts(engine).set_index("id")
        n = queries.comments_per_district(engine, since=utcnow() - timedelta(days=30))
        pop = d["population"].astype(float).where(lambda p: p > 0)
        return (n.reindex(d.index).fillna(0) / pop * 1000).dropna()
    t = queries.latest_time(engine, key)
    if t is None:
        return pd.Series(dtype=float)
    obs = queries.observations_by_district(engine, key, t - timedelta(hours=24), t)
    return obs.dropna(subset=["district_id"]).groupby("district_id")["value"].mean()


def _labels(_: Callable[..., str]) -> dict[str, str]:
    words = {
        **LAYER_LABELS,
        **BAND_WORDS,
        **CYCLE_TYPES,
        "none": N_("No data"),
        "vehicles/h": N_("vehicles/h"),
        "cyclists/h": N_("cyclists/h"),
        "bikes": N_("bikes"),
        "comments here": N_("comments here"),
    }
    return {k: _(v) for k, v in words.items()}


def _source_line(ctx: AppContext, layers: list[str]) -> str:
    titles: list[str] = []
    for layer in layers:
        for t in queries.layer_sources(ctx.engine, layer)["title"]:
            if t not in titles:
                titles.append(t)
    return ", ".join(titles)


def home_values(ctx: AppContext) -> dict[str, kpis.Kpi]:
    """The home KPIs (cached with the data) with their staleness judged now (it changes with time alone)."""
    tz = ctx.city.city.timezone
    values = {
        **cached(ctx, "home:kpis", lambda: kpis.reading_kpis(ctx.engine, tz), depends="readings"),
        "participation": cached(
            ctx, "home:participation", lambda: kpis.participation_now(ctx.engine, tz), depends="comments"
        ),
    }
    windows = cached(ctx, "home:kpi-windows", lambda: kpis.figure_windows(ctx.engine, ctx.city), depends="readings")
    return kpis.with_staleness(values, windows, request_now(ctx))


def freshness_note(values: dict[str, kpis.Kpi], lang: str) -> list:
    """One line when the cards mix current and old figures (or are all old), so that the summary never reads
    old numbers as current."""
    _ = translator(lang)
    shown = [k for key, k in values.items() if key in KPI_LAYERS and k.value is not None]
    stale = [k for k in shown if k.stale]
    if not stale:
        return []
    text = (
        _("None of these figures is current: each card gives the date of its latest reading.")
        if len(stale) == len(shown)
        else _(
            "Some of these figures are not current: the ones marked “Latest reading” are older data, with their date."
        )
    )
    return [html.P(text, className="freshness-note", role="note")]


def _kpi_cards(ctx: AppContext, lang: str, values: dict[str, kpis.Kpi] | None = None) -> list:
    _ = translator(lang)
    tz = ctx.city.city.timezone
    values = values if values is not None else home_values(ctx)
    sources = cached(
        ctx, "home:kpi-sources", lambda: {k: _source_line(ctx, v) for k, v in KPI_LAYERS.items()}, depends="readings"
    )
    sources["participation"] = _("comments sent on this site")
    behind = sources_behind(ctx, KPI_LAYERS)
    return [
        kpi_card(
            values[k],
            lang,
            tz,
            sources.get(k, ""),
            link=f"{KPI_LINKS[k]}?lang={lang}" if k in KPI_LINKS else None,
            behind=behind.get(k),
        )
        for k in ("air", "traffic", "cycling", "participation")
    ]


def legend(lang: str, visible: list[str]) -> html.Ul:
    """The map legend as HTML: colour, size and words, so no colour stands alone."""
    _ = translator(lang)
    items = []
    if "air_station" in visible:
        items.append(
            html.Li(
                [
                    html.Strong(_("Air quality (European index)")),
                    html.Ul(
                        [
                            html.Li(
                                [
                                    html.Span(
                                        className="dot",
                                        style={
                                            "background": figures.BAND_COLOURS[b],
                                            "width": f"{figures.BAND_SIZES[b]}px",
                                            "height": f"{figures.BAND_SIZES[b]}px",
                                        },
                                    ),
                                    _(BAND_WORDS[b]),
                                ]
                            )
                            for b in EAQI_BANDS
                        ],
                        className="legend-bands",
                    ),
                ]
            )
        )
    if "traffic_counter" in visible:
        items.append(
            html.Li(
                [
                    html.Span(className="dot", style={"background": figures.LAYER_COLOURS["traffic_counter"]}),
                    _("Traffic counter: the bigger, the more vehicles now"),
                ]
            )
        )
    if "cycle_route" in visible:
        for t, (colour, width) in figures.CYCLE_TYPE_STYLE.items():
            items.append(
                html.Li(
                    [
                        html.Span(className="line", style={"background": colour, "height": f"{width}px"}),
                        _("Cycle route: {type}", type=_(CYCLE_TYPES[t])),
                    ]
                )
            )
    if "cycle_counter" in visible:
        items.append(
            html.Li(
                [
                    html.Span(className="dot", style={"background": figures.LAYER_COLOURS["cycle_counter"]}),
                    _("Cycle counter"),
                ]
            )
        )
    if "bike_station" in visible:
        items.append(
            html.Li(
                [
                    html.Span(className="dot", style={"background": figures.LAYER_COLOURS["bike_station"]}),
                    _("Bike-share station"),
                ]
            )
        )
    if "comments" in visible:
        items.append(
            html.Li(
                [
                    html.Span(className="dot", style=figures.COMMENT_LEGEND_STYLE),
                    _("Citizens' comments: the bigger, the more comments in that area"),
                ]
            )
        )
    return html.Ul(items, className="legend-list")


def layout(ctx: AppContext, lang: str, query: dict, **_params: Any) -> Any:
    _ = translator(lang)
    values = home_values(ctx)
    fresh = not any(k.stale for k in values.values())
    return page_frame(
        ctx,
        lang,
        [
            html.H1(
                _("How is {city} doing today?", city=ctx.city.city.name)
                if fresh
                else _("How is {city} doing?", city=ctx.city.city.name),
                className="page-title",
            ),
            *freshness_note(values, lang),
            html.Div(_kpi_cards(ctx, lang, values), className="kpis", id="kpis"),
            html.Section(
                [
                    html.H2(_("Map"), className="section-title", id="map-title"),
                    html.Div(
                        [
                            html.Fieldset(
                                [
                                    html.Legend(_("Layers"), className="control-label"),
                                    dcc.Checklist(
                                        id="home-layers",
                                        options=[{"label": _(LAYER_LABELS[k]), "value": k} for k in LAYERS],
                                        value=LAYERS,
                                        inline=True,
                                        className="layer-switcher",
                                        inputClassName="layer-input",
                                        labelClassName="layer-label",
                                    ),
                                ],
                                className="control-group",
                            ),
                            html.Fieldset(
                                [
                                    html.Legend(_("Colour the districts by"), className="control-label"),
                                    dcc.RadioItems(
                                        id="home-choropleth",
                                        value="none",
                                        className="choropleth-switcher",
                                        options=[
                                            {"label": _("Nothing (show the points)"), "value": "none"},
                                            *[
                                                {"label": _(label), "value": k}
                                                for k, (label, _u) in CHOROPLETHS.items()
                                            ],
                                        ],
                                        inputClassName="layer-input",
                                        labelClassName="layer-label",
                                    ),
                                ],
                                className="control-group",
                            ),
                        ],
                        className="map-controls",
                    ),
                    deferred("home-map-slot", _("The map loads when you scroll to it."), min_height=360),
                    html.Div(legend(lang, LAYERS), id="home-legend", className="legend"),
                    html.P(
                        _("Tap or click a station, counter or bike-share station to see its readings."),
                        className="hint",
                    ),
                    html.Section(
                        [
                            html.Div(id="home-detail-body"),
                            html.Fieldset(
                                [
                                    html.Legend(_("Period"), className="control-label"),
                                    dcc.RadioItems(
                                        id="home-period",
                                        value="24h",
                                        inline=True,
                                        className="period-switcher",
                                        options=[{"label": _(label), "value": k} for k, (_d, label) in PERIODS.items()],
                                        inputClassName="layer-input",
                                        labelClassName="layer-label",
                                    ),
                                ],
                                className="control-group",
                            ),
                            html.Div(id="home-detail-chart"),
                            html.Div(id="home-detail-more"),
                        ],
                        id="home-detail",
                        className="detail-panel",
                        hidden=True,
                        **{"aria-live": "polite", "aria-label": _("Details")},
                    ),
                    download_links(lang, "stations"),
                ],
                className="map-section",
                **{"aria-labelledby": "map-title"},
            ),
            dcc.Store(id="home-lang", data=lang),
            dcc.Store(id="home-res", data=7),
            dcc.Store(id="home-feature"),
        ],
    )


def map_figure(ctx: AppContext, lang: str, visible: list[str], choropleth: str, resolution: int) -> go.Figure:
    _ = translator(lang)
    layers = cached(
        ctx, f"home:layers:{resolution}", lambda: map_layers(ctx.engine, resolution, ctx.city.feedback.min_cell_count)
    )
    geo = cached(ctx, "home:districts", lambda: queries.districts_geojson(ctx.engine), timeout=3600, depends="readings")
    choro = None
    if choropleth in CHOROPLETHS:
        label, unit = CHOROPLETHS[choropleth]
        values = cached(ctx, f"home:choropleth:{choropleth}", lambda: district_indicator(ctx.engine, choropleth))
        choro = {"values": values, "title": _(label), "unit": _(unit)}
    return figures.city_map(ctx.city, layers, geo, [v for v in visible if v in LAYERS], _labels(_), choro)


def feature_series(engine: Engine, feature: dict, period: str) -> dict:
    """The readings of one feature over ``period``, its metric's usual range and its guideline."""
    metrics = queries.LAYER_METRICS.get(feature["layer"], [])
    if not metrics:
        return {}
    t = queries.latest_time(engine, metrics[0])
    if t is None:
        return {}
    span = PERIODS.get(period, PERIODS["24h"])[0]
    freq = "D" if span > timedelta(days=10) else "h"
    frames = []
    for m in metrics:
        obs = queries.observations(engine, m, t - span, t, feature_ids=[feature["id"]])
        frames.append(city_series(obs, "mean", freq).assign(metric=m))
    series = pd.concat(frames, ignore_index=True)
    usual = None
    if feature["layer"] in ("traffic_counter", "cycle_counter") and freq == "h":
        hist = queries.observations(engine, metrics[0], t - timedelta(days=28), t, feature_ids=[feature["id"]])
        usual = usual_range(hist, series[series["metric"] == metrics[0]]["time"], "mean")
    return {"series": series, "usual": usual, "metric": metrics[0], "latest": t}


METRIC_NAMES = {
    "pm25": N_("PM2.5"),
    "pm10": N_("PM10"),
    "no2": N_("NO2"),
    "vehicles": N_("Vehicles"),
    "cyclists": N_("Cyclists"),
    "bikes_available": N_("Bikes available"),
    "docks_available": N_("Free docks"),
}
METRIC_UNITS = {
    "pm25": N_("µg/m³"),
    "pm10": N_("µg/m³"),
    "no2": N_("µg/m³"),
    "vehicles": N_("vehicles/h"),
    "cyclists": N_("cyclists/h"),
    "bikes_available": N_("bikes"),
    "docks_available": N_("docks"),
}


def detail(ctx: AppContext, lang: str, feature_id: int, period: str) -> tuple[list, list, list]:
    """The detail panel of one feature: (header, chart, more), all plain components."""
    _ = translator(lang)
    tz = ctx.city.city.timezone
    f = queries.feature(ctx.engine, feature_id)
    if f is None:
        return [html.P(_("This place is no longer in the data."))], [], []
    data = feature_series(ctx.engine, f, period)
    header: list = [
        html.H3(f["name"], id="detail-title"),
        html.P(_(LAYER_LABELS.get(f["layer"], f["layer"])), className="kpi-sub"),
    ]
    chart: list = []
    more: list = []
    if data:
        s = data["series"]
        head = s[s["metric"] == data["metric"]]
        unit = METRIC_UNITS[data["metric"]]
        labels = {
            "usual": _("Usual range"),
            "guideline": _("WHO daily guideline"),
            **{b: _(w) for b, w in BAND_WORDS.items()},
        }
        plot = s.assign(name=s["metric"].map(lambda m: _(METRIC_NAMES[m])))
        if f["layer"] == "air_station":
            plot = plot[plot["metric"] == "pm25"]  # one pollutant per chart keeps the bands readable
        fig = figures.timeseries(
            plot,
            _(unit),
            labels,
            metric=data["metric"] if f["layer"] == "air_station" else None,
            guideline=guideline(data["metric"]) if f["layer"] == "air_station" else None,
            usual=data["usual"],
            separators=plotly_separators(lang),
        )
        if len(head):
            last = head.iloc[-1]
            summary = _(
                "{name}: {v} {unit} at {t}; between {lo} and {hi} over the period.",
                name=_(METRIC_NAMES[data["metric"]]),
                v=fmt_number(last["value"], lang, 1),
                unit=_(unit),
                t=fmt_datetime(last["time"].to_pydatetime(), lang, tz),
                lo=fmt_number(head["value"].min(), lang, 1),
                hi=fmt_number(head["value"].max(), lang, 1),
            )
        else:
            summary = _("No readings in this period.")
        # The reading's age, always: a station that stopped years ago must not look current.
        header.append(
            html.P(
                _(
                    "Latest reading: {t} ({age})",
                    t=fmt_datetime(data["latest"], lang, tz),
                    age=fmt_age(data["latest"], request_now(ctx), lang),
                ),
                className="kpi-meta reading-age",
            )
        )
        if f["layer"] == "air_station":
            g = guideline("pm25")
            header.append(
                html.P(
                    _(
                        "The WHO advises a daily average of PM2.5 below {g} µg/m³; the coloured bands are the "
                        "European Air Quality Index.",
                        g=fmt_number(g, lang),
                    ),
                    className="kpi-sub",
                )
            )
        elif data["usual"] is not None:
            header.append(
                html.P(
                    _("The grey ribbon is the usual range for the same hour and weekday over the last four weeks."),
                    className="kpi-sub",
                )
            )
        chart = [
            html.P(summary, className="chart-summary"),
            dcc.Graph(
                figure=fig,
                id="home-detail-graph",
                config=figures.graph_config(lang),
                className="detail-graph",
            ),
            table_details(
                lang,
                data_table(
                    s.assign(metric=s["metric"].map(lambda m: _(METRIC_NAMES[m]))),
                    [("time", _("Time")), ("metric", _("Measure")), ("value", _("Value"))],
                    lang,
                    _("Readings of {name}", name=f["name"]),
                    tz,
                ),
            ),
        ]
    comments = queries.linked_comments(ctx.engine, feature_id)
    more.append(html.H4(_("Comments about this place")))
    if len(comments):
        more.append(
            html.Ul(
                [
                    html.Li(
                        [
                            html.A(c.text, href=f"/comments/{int(c.id)}?lang={lang}"),
                            html.Span(f" · {fmt_datetime(c.created_at, lang, tz)}", className="kpi-sub"),
                        ]
                    )
                    for c in comments.itertuples()
                ],
                className="linked-comments",
            )
        )
    else:
        more.append(html.P(_("No comments about this place yet."), className="kpi-sub"))
    more.append(
        html.A(_("Comment on this"), href=f"/report?feature={feature_id}&lang={lang}", className="button primary")
    )
    more.append(
        html.P(
            _("Source: {s} ({licence})", s=f["source_title"], licence=f["licence"] or _("licence not stated")),
            className="kpi-meta",
        )
    )
    return header, chart, more


def _map_inputs(
    ctx: AppContext, lang: object, visible: object, choropleth: object, res: object
) -> tuple[str, list[str], str, int]:
    """The map callbacks' inputs as the values they can be (anything else: the defaults)."""
    return (
        inputs.language(lang, ctx.city.city.languages, ctx.city.city.default_language),
        inputs.choices(visible, LAYERS),
        inputs.choice(choropleth, list(CHOROPLETHS), "none"),
        inputs.choice(res, [7, 8, 9], 7),
    )


def clicked_feature(click: dict | None) -> int | None:
    """The feature id of a map click: ``customdata[0]`` of a point layer. The browser sends customdata as a list,
    or, from a typed array, as an object {"0": id, "1": value}; comment cells carry a bare count and are skipped."""
    points = click.get("points") if isinstance(click, dict) else None
    for p in points if isinstance(points, list) else []:
        cd = p.get("customdata") if isinstance(p, dict) else None
        first = cd[0] if isinstance(cd, list) and cd else cd.get("0") if isinstance(cd, dict) else None
        if isinstance(first, float) and first.is_integer():
            first = int(first)
        if as_id(first) is not None:
            return first
    return None


def register(app: Dash, ctx: AppContext) -> None:
    @app.callback(
        Output("home-map-slot", "children"),
        Input("home-map-slot-ready", "data"),
        State("home-layers", "value"),
        State("home-choropleth", "value"),
        State("home-res", "data"),
        State("home-lang", "data"),
        prevent_initial_call=True,
    )
    def show_map(ready: Any, visible: Any, choropleth: Any, res: Any, lang: Any) -> Any:
        lang, visible, choropleth, res = _map_inputs(ctx, lang, visible, choropleth, res)
        fig = map_figure(ctx, lang, visible, choropleth, res)
        return dcc.Graph(
            id="home-map",
            figure=fig,
            className="city-map",
            config={"displayModeBar": False, "scrollZoom": True, "responsive": True},
        )

    @app.callback(
        Output("home-map", "figure"),
        Output("home-legend", "children"),
        Input("home-layers", "value"),
        Input("home-choropleth", "value"),
        Input("home-res", "data"),
        State("home-lang", "data"),
        prevent_initial_call=True,
    )
    def update_map(visible: Any, choropleth: Any, res: Any, lang: Any) -> Any:
        lang, visible, choropleth, res = _map_inputs(ctx, lang, visible, choropleth, res)
        return map_figure(ctx, lang, visible, choropleth, res), legend(lang, visible)

    @app.callback(
        Output("home-res", "data"),
        Input("home-map", "relayoutData"),
        State("home-res", "data"),
        prevent_initial_call=True,
    )
    def zoom_changed(relayout: Any, current: Any) -> Any:
        zoom = inputs.number(relayout.get("map.zoom") if isinstance(relayout, dict) else None, 0, 30)
        if zoom is None:
            return no_update
        res = comment_resolution(zoom)
        return res if res != current else no_update

    @app.callback(Output("home-feature", "data"), Input("home-map", "clickData"), prevent_initial_call=True)
    def pick(click: Any) -> Any:
        fid = clicked_feature(click)
        return no_update if fid is None else fid

    @app.callback(
        Output("home-detail-body", "children"),
        Output("home-detail-chart", "children"),
        Output("home-detail-more", "children"),
        Output("home-detail", "hidden"),
        Input("home-feature", "data"),
        Input("home-period", "value"),
        State("home-lang", "data"),
        prevent_initial_call=True,
    )
    def show_detail(feature_id: Any, period: Any, lang: Any) -> Any:
        fid = as_id(feature_id)
        if fid is None:
            return no_update, no_update, no_update, True
        lang = inputs.language(lang, ctx.city.city.languages, ctx.city.city.default_language)
        header, chart, more = detail(ctx, lang, fid, inputs.choice(period, list(PERIODS), "24h"))
        return header, chart, more, False
