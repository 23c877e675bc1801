"""The indicator page, registered three times (``AIR``, ``TRAFFIC``, ``CYCLING`` at /air, /traffic, /cycling): filters for pollutant or mode, district and dates;
a time series and a district comparison with guidelines, bands or the usual range drawn on them; a one-line
summary; a data table for each chart, drawn only when the citizen opens "Show the data as a table"; downloads of
what is shown. The URL holds the state (dashboard/ui/indicators.py), kept current in the browser by
assets/citydash.js (history.replaceState).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd
from dash import ClientsideFunction, Dash, Input, Output, State, dcc, html, no_update

from dashboard.i18n import fmt_date, fmt_day, fmt_number, fmt_percent, plotly_separators, translator
from dashboard.server.cache import cached, request_now
from dashboard.ui import figures, indicators, inputs
from dashboard.ui.components import (
    BAND_WORDS,
    data_table,
    deferred,
    download_links,
    page_frame,
    sources_behind,
    stale_notice,
    table_boxes,
    tables_on_open,
)
from dashboard.ui.indicators import INDICATORS
from dashboard.ui.indicators import State as ViewState
from data_sources.operations import is_stale, window_of
from data_sources.store import queries

if TYPE_CHECKING:  # dashboard.app imports the pages
    from dashboard.context import AppContext, Query


def _districts(ctx: AppContext) -> pd.DataFrame:
    return cached(
        ctx,
        "districts",
        lambda: queries.districts(ctx.engine).drop(columns=["geometry"]),
        timeout=3600,
        depends="readings",
    )


def _latest(ctx: AppContext, metric: str) -> datetime | None:
    return cached(ctx, f"latest:{metric}", lambda: queries.latest_time(ctx.engine, metric), depends="readings")


def current_state(ctx: AppContext, indicator_key: str, query: dict) -> ViewState:
    """The view the URL asks for. Without dates it ends at the newest reading of its metric, however old, so that a
    page never opens on an empty week; without a metric it shows the first metric that has readings."""
    indicator = INDICATORS[indicator_key]
    latest = {m.key: _latest(ctx, m.key) for m in indicator.metrics}
    keys = list(latest)
    wanted = query.get("metric")
    wanted = wanted[0] if isinstance(wanted, list) and wanted else wanted
    if wanted not in keys:
        wanted = next((k for k in keys if latest[k] is not None), keys[0])
        query = {**query, "metric": [wanted]}
    return indicators.parse_state(indicator, query, latest[wanted], set(_districts(ctx)["id"].astype(int)))


def indicator_data(ctx: AppContext, indicator_key: str, st: ViewState) -> dict:
    """Series (city, and the district when one is chosen), district values and the usual range, cached per view."""

    def compute() -> dict:
        indicator = INDICATORS[indicator_key]
        m = indicators.metric_of(indicator, st.metric)
        freq = indicators.frequency(st)
        obs = queries.observations_by_district(
            ctx.engine, m.key, st.since, st.until, layer=m.layer, resolution=indicators.RESOLUTION_OF[freq]
        )
        city = indicators.city_series(obs, m.agg, freq).assign(name="city")
        parts = [city]
        if st.district is not None:
            parts.insert(
                0, indicators.city_series(obs[obs["district_id"] == st.district], m.agg, freq).assign(name="district")
            )
        series = pd.concat(parts, ignore_index=True)
        dvals = indicators.district_values(obs, _districts(ctx))
        usual = None
        if indicator_key != "air" and freq == "h":
            hist = queries.observations_by_district(
                ctx.engine, m.key, st.since - timedelta(days=28), st.until, layer=m.layer
            )
            if st.district is not None:
                hist = hist[hist["district_id"] == st.district]
            first = series[series["name"] == series["name"].iloc[0]]["time"] if len(series) else series["time"]
            usual = indicators.usual_range(hist, first, m.agg)
        return {"series": series, "districts": dvals, "usual": usual, "metric": m}

    return cached(ctx, f"theme:{indicator_key}:{st.query()}", compute, depends="readings")


def _names(ctx: AppContext, lang: str, st: ViewState) -> dict[str, str]:
    _ = translator(lang)
    names = {"city": _("Whole city")}
    if st.district is not None:
        d = _districts(ctx).set_index("id")["name"]
        names["district"] = str(d.get(st.district, ""))
    return names


def district_summary(ctx: AppContext, lang: str, st: ViewState) -> str:
    _ = translator(lang)
    return _("District: {d}", d=_names(ctx, lang, st).get("district") or _("Whole city"))


def summary(ctx: AppContext, lang: str, indicator_key: str, st: ViewState, data: dict) -> str:
    _ = translator(lang)
    m = data["metric"]
    series = data["series"]
    focus = series[series["name"] == ("district" if st.district is not None else "city")]
    limit = indicators.guideline(m.key) if indicator_key == "air" else None
    n = indicators.summary_numbers(focus, data["districts"], limit)
    if not n:
        latest = _latest(ctx, m.key)
        return " ".join(
            [
                _("No readings for this choice of dates and district."),
                *(
                    [_("Latest reading: {date}", date=fmt_day(latest, lang, ctx.city.city.timezone))]
                    if latest
                    else [_("No readings of this measure have been received yet.")]
                ),
            ]
        )
    where = _names(ctx, lang, st).get("district") or _("the whole city")
    text = _(
        "From {start} to {end}, {measure} in {where} averaged {mean} {unit} and peaked at {peak} {unit} on {when}.",
        start=fmt_date(st.start, lang),
        end=fmt_date(st.end, lang),
        measure=_(m.label),
        where=where,
        mean=fmt_number(n["mean"], lang, 1),
        peak=fmt_number(n["peak"], lang, 1),
        unit=_(m.unit),
        when=fmt_date(n["peak_time"], lang),
    )
    if "top_district" in n:
        text += " " + _(
            "The highest district was {d} ({v} {unit}).",
            d=n["top_district"],
            v=fmt_number(n["top_value"], lang, 1),
            unit=_(m.unit),
        )
    if "share_above" in n:
        text += " " + _(
            "Above the WHO daily guideline of {g} {unit} for {s} of the time.",
            g=fmt_number(limit, lang),
            unit=_(m.unit),
            s=fmt_percent(n["share_above"], lang),
        )
    return " ".join([text, *resolution_note(lang, st)])


def resolution_note(lang: str, st: ViewState) -> list[str]:
    """What the chart's points are, when they are not single readings ("Daily means: ...")."""
    _ = translator(lang)
    note = indicators.RESOLUTION_NOTES.get(indicators.frequency(st))
    return [_(note)] if note else []


def tables(ctx: AppContext, lang: str, st: ViewState, data: dict) -> list[html.Div]:
    """The two charts' tables, each in its scroll box named by its caption: what the page's one "Show the data as a
    table" shows once opened (``tables_on_open``)."""
    _ = translator(lang)
    names = _names(ctx, lang, st)
    m = data["metric"]
    s = data["series"].assign(name=lambda d: d["name"].map(names))
    return table_boxes(
        lang,
        data_table(
            s,
            [("time", _("Time")), ("name", _("Area")), ("value", f"{_(m.label)} ({_(m.unit)})")],
            lang,
            _("{measure} over time", measure=_(m.label)),
            ctx.city.city.timezone,
        ),
        data_table(
            data["districts"],
            [
                ("name", _("District")),
                ("value", f"{_(m.label)} ({_(m.unit)})"),
                ("features", _("Stations or counters")),
            ],
            lang,
            _("{measure} by district", measure=_(m.label)),
        ),
    )


def charts(ctx: AppContext, lang: str, indicator_key: str, st: ViewState, data: dict) -> list:
    _ = translator(lang)
    m = data["metric"]
    names = _names(ctx, lang, st)
    labels = {
        "usual": _("Usual range"),
        "guideline": _("WHO daily guideline"),
        **{b: _(w) for b, w in BAND_WORDS.items()},
    }
    sep = plotly_separators(lang)
    air = indicator_key == "air"
    ts = figures.timeseries(
        data["series"].assign(name=lambda d: d["name"].map(names)),
        _(m.unit),
        labels,
        metric=m.key if air else None,
        guideline=indicators.guideline(m.key) if air else None,
        usual=data["usual"],
        separators=sep,
    )
    bars = figures.district_bars(
        data["districts"],
        _(m.unit),
        guideline=indicators.guideline(m.key) if air else None,
        labels=labels,
        separators=sep,
    )
    cfg = figures.graph_config(lang)
    # Each chart under its own title in one block: the blocks stack full width on a phone and sit side by side
    # from 720 px (assets/style.css, .chart-block).
    return [
        html.Div(
            [
                html.H2(_("{measure} over time", measure=_(m.label)), className="section-title"),
                *[
                    html.P(note, className="kpi-sub", id=f"{indicator_key}-resolution")
                    for note in resolution_note(lang, st)
                ],
                dcc.Graph(figure=ts, id=f"{indicator_key}-timeseries", config=cfg, className="chart"),
            ],
            className="chart-block",
        ),
        html.Div(
            [
                html.H2(_("{measure} by district", measure=_(m.label)), className="section-title"),
                dcc.Graph(figure=bars, id=f"{indicator_key}-districts", config=cfg, className="chart"),
            ],
            className="chart-block",
        ),
    ]


def data_age_notice(ctx: AppContext, lang: str, metric: indicators.Metric) -> list:
    """ "Latest reading: 14 Mar 2023" when the metric's newest reading is older than its sources' window."""
    _ = translator(lang)
    latest = _latest(ctx, metric.key)
    window = cached(
        ctx,
        f"window:{metric.layer}",
        lambda: window_of(ctx.city, queries.layer_source_names(ctx.engine, [metric.layer])),
        depends="readings",
    )
    if not is_stale(latest, window, request_now(ctx)):
        return []
    return [
        html.P(
            [
                html.Strong(_("Latest reading: {date}", date=fmt_day(latest, lang, ctx.city.city.timezone))),
                " ",
                _("These are the last readings received, not current ones."),
            ],
            className="data-age-notice",
            role="note",
        )
    ]


def context_note(lang: str, indicator_key: str) -> str:
    _ = translator(lang)
    if indicator_key == "air":
        return _(
            "Coloured bands: the European Air Quality Index, from good to extremely poor. Dashed line: the WHO 2021 "
            "guideline for a daily average (it is meant for 24-hour means, so single hours may cross it)."
        )
    return _("Grey ribbon: the usual range for the same hour and weekday over the previous four weeks.")


def layout(ctx: AppContext, lang: str, query: dict, indicator_key: str) -> Any:
    _ = translator(lang)
    indicator = INDICATORS[indicator_key]
    st = current_state(ctx, indicator_key, query)
    data = indicator_data(ctx, indicator_key, st)
    d = _districts(ctx).sort_values("name")
    t = indicator_key
    metric_control = (
        html.Fieldset(
            [
                html.Legend(_("Pollutant") if t == "air" else _("What to show"), className="control-label"),
                dcc.RadioItems(
                    id=f"{t}-metric",
                    value=st.metric,
                    options=[{"label": _(m.label), "value": m.key} for m in indicator.metrics],
                    inputClassName="layer-input",
                    labelClassName="layer-label",
                    className="metric-switcher",
                ),
            ],
            className="control-group",
        )
        if len(indicator.metrics) > 1
        else dcc.Store(id=f"{t}-metric", data=st.metric)
    )
    filters = html.Div(
        [
            metric_control,
            html.Details(
                [
                    html.Summary(
                        district_summary(ctx, lang, st), id=f"{t}-district-summary", className="control-label"
                    ),
                    html.Fieldset(
                        [
                            html.Legend(_("District"), className="visually-hidden"),
                            dcc.RadioItems(
                                id=f"{t}-district",
                                value=st.district if st.district is not None else "",
                                options=[
                                    {"label": _("Whole city"), "value": ""},
                                    *[{"label": r.name, "value": int(r.id)} for r in d.itertuples()],
                                ],
                                inputClassName="layer-input",
                                labelClassName="layer-label",
                                className="district-switcher",
                            ),
                        ],
                        className="control-group",
                    ),
                ],
                className="district-details",
            ),
            html.Div(
                [
                    html.Label(_("From"), htmlFor=f"{t}-from", className="control-label"),
                    dcc.Input(
                        id=f"{t}-from", type="date", value=st.start.isoformat(), debounce=True, className="date-input"
                    ),
                ],
                className="control-group",
            ),
            html.Div(
                [
                    html.Label(_("To"), htmlFor=f"{t}-to", className="control-label"),
                    dcc.Input(
                        id=f"{t}-to", type="date", value=st.end.isoformat(), debounce=True, className="date-input"
                    ),
                ],
                className="control-group",
            ),
        ],
        className="filters",
        role="group",
        **{"aria-label": _("Filters")},
    )
    return page_frame(
        ctx,
        lang,
        [
            html.H1(_(indicator.title), className="page-title"),
            html.P(_(indicator.intro), className="intro"),
            *stale_notice(
                sources_behind(ctx, {t: sorted({m.layer for m in indicator.metrics})})[t], lang, ctx.city.city.timezone
            ),
            *data_age_notice(ctx, lang, indicators.metric_of(indicator, st.metric)),
            filters,
            html.P(
                summary(ctx, lang, t, st, data), id=f"{t}-summary", className="chart-summary", **{"aria-live": "polite"}
            ),
            deferred(f"{t}-charts", _("The charts load when you scroll to them."), min_height=560, bundle="charts"),
            html.P(context_note(lang, t), className="kpi-sub"),
            # Dash draws the tables when the citizen opens them (update_tables): ~600 components fewer to build. The
            # static first paint (and the copy kept offline) has them as plain HTML.
            tables_on_open(lang, f"{t}-tables", first_paint=tables(ctx, lang, st, data)),
            html.Div(download_links(lang, t, st.query()), id=f"{t}-downloads"),
            dcc.Store(id=f"{t}-lang", data=lang),
            dcc.Store(id=f"{t}-query-keys", data=["metric", "district", "from", "to"]),
            dcc.Store(id=f"{t}-query"),
        ],
        active=f"/{t}",
    )


def register(app: Dash, ctx: AppContext, indicator_key: str) -> None:
    t = indicator_key
    metric_prop = "value" if len(INDICATORS[t].metrics) > 1 else "data"
    filters = [
        Input(f"{t}-metric", metric_prop),
        Input(f"{t}-district", "value"),
        Input(f"{t}-from", "value"),
        Input(f"{t}-to", "value"),
    ]

    def state_of(metric: Any, district: Any, start: Any, end: Any) -> ViewState:
        return current_state(
            ctx,
            t,
            {
                "metric": metric,
                "district": str(district) if district not in (None, "") else None,
                "from": start,
                "to": end,
            },
        )

    def view(metric: Any, district: Any, start: Any, end: Any, lang: Any) -> tuple[str, ViewState, dict]:
        """What every callback of the page starts from: the visitor's language, the view its filters ask for and
        that view's data (cached per view, so the callbacks of one change share one computation)."""
        lang = inputs.language(lang, ctx.city.city.languages, ctx.city.city.default_language)
        st = state_of(metric, district, start, end)
        return lang, st, indicator_data(ctx, t, st)

    @app.callback(
        Output(f"{t}-summary", "children"),
        Output(f"{t}-downloads", "children"),
        Output(f"{t}-district-summary", "children"),
        *filters,
        State(f"{t}-lang", "data"),
        prevent_initial_call=True,
    )
    def update_text(metric: Any, district: Any, start: Any, end: Any, lang: Any) -> Any:
        lang, st, data = view(metric, district, start, end, lang)
        return (
            summary(ctx, lang, t, st, data),
            download_links(lang, t, st.query()),
            district_summary(ctx, lang, st),
        )

    @app.callback(
        Output(f"{t}-tables", "children"),
        Input(f"{t}-tables-details", "open"),
        *filters,
        State(f"{t}-lang", "data"),
        prevent_initial_call=True,
    )
    def update_tables(is_open: Any, metric: Any, district: Any, start: Any, end: Any, lang: Any) -> Any:
        """The tables of what the charts show, once the citizen has opened them and whenever a filter changes while
        they are open; a filter changed while they are closed is drawn when they are opened again."""
        if is_open is not True:
            return no_update
        return tables(ctx, *view(metric, district, start, end, lang))

    @app.callback(
        Output(f"{t}-charts", "children"),
        Input(f"{t}-charts-ready", "data"),
        *filters,
        State(f"{t}-lang", "data"),
        prevent_initial_call=True,
    )
    def update_charts(ready: Any, metric: Any, district: Any, start: Any, end: Any, lang: str) -> Any:
        if not ready:
            return no_update
        lang, st, data = view(metric, district, start, end, lang)
        return charts(ctx, lang, t, st, data)

    app.clientside_callback(
        ClientsideFunction("citydash", "syncQuery"),
        Output(f"{t}-query", "data"),
        *filters,
        State(f"{t}-query-keys", "data"),
        prevent_initial_call=True,
    )


@dataclass
class IndicatorPage:
    """One indicator's page (a ``dashboard.context.Page``)."""

    indicator_key: str
    PATH: str
    FIRST_PAINT: bool = True  # server-rendered first paint (dashboard/http/frontend.py)
    SHARED: bool = True  # the same for every visitor (dashboard/pages/__init__.py)
    DEPENDS: str = "readings"  # observations and sources: a stream of comments does not rebuild it

    def layout(self, ctx: AppContext, lang: str, query: Query, /, **params: Any) -> html.Div:
        return layout(ctx, lang, query, self.indicator_key)

    def register(self, app: Dash, ctx: AppContext) -> None:
        register(app, ctx, self.indicator_key)


AIR = IndicatorPage("air", "/air")
TRAFFIC = IndicatorPage("traffic", "/traffic")
CYCLING = IndicatorPage("cycling", "/cycling")
