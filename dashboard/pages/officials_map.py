"""Officials: the comment heatmap over H3 cells with filters, indicator overlays, hotspots (Gi*), comments per
1,000 residents and emerging hotspots. Every component id starts with ``off-``; every callback checks the role.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import dash
from babel.dates import format_date
from dash import Dash, Input, Output, State, dcc, html
from dash import ctx as dash_ctx

from dashboard.context import AppContext
from dashboard.i18n import BABEL_LOCALES, fmt_date, fmt_number, translator
from dashboard.pages.home import _labels, map_layers
from dashboard.server.auth import require_role
from dashboard.ui import heatmap
from dashboard.ui.comments import category_label
from dashboard.ui.officials import (
    PLACE_ZOOM,
    STATUS_LABELS,
    filter_query,
    frame,
    parse_at,
    parse_filter,
    place_href,
    place_name,
)
from data_sources.comments import analysis
from data_sources.comments.analysis import cell_places, cells_version
from data_sources.store import queries
from data_sources.store.db import utcnow
from data_sources.store.models import COMMENT_STATUSES

if TYPE_CHECKING:
    from dashboard.context import AppContext  # for annotations only: dashboard.app imports this page

PATH = "/officials"
FIRST_PAINT = False
SHARED = False  # built for each visit (dashboard/pages/__init__.py)
DEPENDS = "all"
ROLE = "official"
INDICATOR_LABELS = {"air_station": "Air quality", "traffic_counter": "Traffic", "cycle_route": "Cycle routes"}
SCATTER_INDICATORS = {"air_station": "PM2.5 (µg/m³)", "traffic_counter": "Vehicles per hour"}


def _week_marks(lo: int, hi: int, lang: str) -> dict:
    step = max(1, (hi - lo) // 6)
    return {
        w: format_date(analysis.week_start(w), "d MMM", locale=BABEL_LOCALES.get(lang, "en_GB"))
        for w in range(lo, hi + 1, step)
    }


def weeks_label(weeks: object, lang: str, _: Callable[..., str]) -> str:
    """The slider's chosen weeks as dates: from the Monday of the first to the Sunday of the last."""
    if not (isinstance(weeks, list) and len(weeks) == 2 and all(isinstance(w, int) for w in weeks)):
        return _("All weeks")
    lo, hi = sorted(weeks)
    end = analysis.week_start(hi) + timedelta(days=6)
    return _("From {start} to {end}", start=fmt_date(analysis.week_start(lo), lang), end=fmt_date(end, lang))


def layout(ctx: AppContext, lang: str, query: dict, **_params: object) -> html.Div:
    return frame(ctx, lang, ROLE, PATH, lambda: _content(ctx, lang, parse_at((query or {}).get("at"))))


def _content(ctx: AppContext, lang: str, at: tuple[float, float] | None = None) -> list:
    _ = translator(lang)
    weeks = analysis.week_range(ctx.engine) or (analysis.week_of(utcnow()), analysis.week_of(utcnow()))
    res = analysis.resolution_for_zoom(ctx.city.city.zoom)
    f = analysis.HeatFilter(resolution=res)
    version = cells_version(ctx.engine)
    locs, z, zmax = heatmap.heat_values(analysis.cell_counts(ctx.engine, f))
    layers = map_layers(ctx.engine)
    fig = heatmap.heat_figure(
        ctx.city,
        layers,
        queries.districts_geojson(ctx.engine),
        heatmap.heat_trace(locs, z, zmax, heatmap.cells_url(res, version), _("Comments")),
        [],
        _labels(_),
    )
    if at is not None:  # a place link from the queue or a hotspot table
        fig.update_layout(map_center={"lat": at[0], "lon": at[1]}, map_zoom=PLACE_ZOOM)
    trace_layers = [(tr.meta or {}).get("layer", "") for tr in fig.data]
    dists = queries.districts(ctx.engine).sort_values("name")
    filters = html.Div(
        [
            html.Label(
                [
                    _("Category"),
                    dcc.Dropdown(
                        id="off-f-category",
                        multi=True,
                        placeholder=_("All"),
                        options=[{"label": category_label(c, _), "value": c} for c in ctx.city.city.comment_categories],
                    ),
                ]
            ),
            html.Label(
                [
                    _("Status"),
                    dcc.Dropdown(
                        id="off-f-status",
                        multi=True,
                        placeholder=_("All"),
                        options=[{"label": _(STATUS_LABELS[s]), "value": s} for s in COMMENT_STATUSES],
                    ),
                ]
            ),
            html.Label(
                [
                    _("District"),
                    dcc.Dropdown(
                        id="off-f-district",
                        multi=True,
                        placeholder=_("All"),
                        options=[{"label": n, "value": int(i)} for i, n in zip(dists["id"], dists["name"])],
                    ),
                ]
            ),
            html.Label([_("Text contains"), dcc.Input(id="off-f-text", type="search", debounce=True, maxLength=200)]),
            html.Label(
                [
                    _("Weeks"),
                    dcc.RangeSlider(
                        id="off-f-weeks",
                        min=weeks[0],
                        max=weeks[1],
                        step=1,
                        value=list(weeks),
                        marks=_week_marks(*weeks, lang),
                        allowCross=False,
                        allow_direct_input=False,
                    ),
                    html.Span(weeks_label(list(weeks), lang, _), id="off-f-weeks-label", className="off-weeks-label"),
                ],
                className="off-weeks",
            ),
            dcc.Checklist(
                id="off-f-indicators",
                value=[],
                inline=True,
                className="layer-switcher",
                options=[{"label": _(v), "value": k} for k, v in INDICATOR_LABELS.items()],
            ),
        ],
        className="off-filters",
    )
    return [
        html.H1(_("Comment heatmap")),
        filters,
        html.P(id="off-heat-summary", className="off-summary", children=_summary(_, lang, z, res)),
        dcc.Graph(
            id="off-heat-map", figure=fig, className="city-map", config={"displayModeBar": False, "scrollZoom": True}
        ),
        html.P(
            [
                html.A(_("Export CSV"), id="off-export-csv", href="/officials/export.csv", className="button"),
                " ",
                html.A(
                    _("Export GeoJSON"), id="off-export-geojson", href="/officials/export.geojson", className="button"
                ),
            ]
        ),
        html.Div(
            [
                html.Section([html.H2(_("Hotspots (Getis-Ord Gi*, p < 0.05)")), html.Div(id="off-hotspots")]),
                html.Section([html.H2(_("Comments per 1,000 residents")), html.Div(id="off-rates")]),
                html.Section(
                    [
                        html.H2(_("Emerging hotspots: the last 4 weeks against the 12 before")),
                        html.Div(id="off-emerging"),
                    ]
                ),
                html.Section(
                    [
                        html.H2(_("Comments per cell against an indicator")),
                        dcc.RadioItems(
                            id="off-scatter-indicator",
                            value="air_station",
                            inline=True,
                            options=[{"label": _(v), "value": k} for k, v in SCATTER_INDICATORS.items()],
                        ),
                        dcc.Graph(id="off-scatter", config={"displayModeBar": False}),
                    ]
                ),
            ],
            className="off-analysis",
        ),
        dcc.Store(id="off-heat-res", data=res),
        dcc.Store(id="off-heat-layers", data=trace_layers),
        dcc.Store(id="off-lang", data=lang),
    ]


def _summary(_: Any, lang: str, z: list[int], res: int) -> str:
    return _(
        "{n} comments in {c} cells (H3 resolution {r})", n=fmt_number(sum(z), lang), c=fmt_number(len(z), lang), r=res
    )


def _table(header: list[str], rows: list[list], empty: str) -> html.Table | html.P:
    if not rows:
        return html.P(empty)
    return html.Table(
        [
            html.Thead(html.Tr([html.Th(h) for h in header])),
            html.Tbody([html.Tr([html.Td(v if isinstance(v, html.A) else str(v)) for v in r]) for r in rows]),
        ],
        className="off-table",
    )


def _place(places: dict, cell: int, lang: str, _: Callable[..., str]) -> html.A:
    district, lat, lon = places[int(cell)]
    return html.A(place_name(district, _), href=place_href(lat, lon, lang), className="off-place")


FILTER_INPUTS = [
    Input("off-f-category", "value"),
    Input("off-f-status", "value"),
    Input("off-f-district", "value"),
    Input("off-f-text", "value"),
    Input("off-f-weeks", "value"),
]


def _filter(category: Any, status: Any, district: Any, text: Any, weeks: Any, res: int) -> analysis.HeatFilter:
    w = weeks if isinstance(weeks, list) and len(weeks) == 2 else [None, None]
    return parse_filter(
        {
            "category": category or [],
            "status": status or [],
            "district": [str(d) for d in district or []],
            "text": text or "",
            "week_from": w[0],
            "week_to": w[1],
            "resolution": res,
        }
    )


def register(app: Dash, ctx: AppContext) -> None:
    @app.callback(
        Output("off-heat-map", "figure"),
        Output("off-heat-res", "data"),
        Output("off-heat-summary", "children"),
        Output("off-export-csv", "href"),
        Output("off-export-geojson", "href"),
        *FILTER_INPUTS,
        Input("off-heat-map", "relayoutData"),
        State("off-heat-res", "data"),
        State("off-lang", "data"),
        prevent_initial_call=True,
    )
    @require_role(ROLE)
    def update_heat(
        category: Any, status: Any, district: Any, text: Any, weeks: Any, relayout: Any, res: Any, lang: str
    ) -> Any:
        zoom = (relayout or {}).get("map.zoom")
        new_res = analysis.resolution_for_zoom(zoom) if zoom is not None else res
        if dash_ctx.triggered_id == "off-heat-map" and new_res == res:
            raise dash.exceptions.PreventUpdate  # a pan, or a zoom within the same resolution
        f = _filter(category, status, district, text, weeks, new_res)
        counts = analysis.cell_counts(ctx.engine, f)
        locs, z, zmax = heatmap.heat_values(counts)
        url = heatmap.cells_url(new_res, cells_version(ctx.engine)) if new_res != res else None
        q = filter_query(f)
        _ = translator(lang or "en")
        return (
            heatmap.heat_patch(locs, z, zmax, url),
            new_res,
            _summary(_, lang or "en", z, new_res),
            f"/officials/export.csv?{q}",
            f"/officials/export.geojson?{q}",
        )

    @app.callback(
        Output("off-f-weeks-label", "children"),
        Input("off-f-weeks", "value"),
        State("off-lang", "data"),
        prevent_initial_call=True,
    )
    @require_role(ROLE)
    def update_weeks_label(weeks: object, lang: str | None) -> str:
        return weeks_label(weeks, lang or "en", translator(lang or "en"))

    @app.callback(
        Output("off-heat-map", "figure", allow_duplicate=True),
        Input("off-f-indicators", "value"),
        State("off-heat-layers", "data"),
        prevent_initial_call=True,
    )
    @require_role(ROLE)
    def toggle_layers(visible: Any, trace_layers: Any) -> Any:
        return heatmap.visibility_patch(
            list(trace_layers or []), [v for v in (visible or []) if v in heatmap.INDICATOR_LAYERS]
        )

    @app.callback(
        Output("off-hotspots", "children"),
        Output("off-rates", "children"),
        Output("off-emerging", "children"),
        Output("off-scatter", "figure"),
        *FILTER_INPUTS,
        Input("off-heat-res", "data"),
        Input("off-scatter-indicator", "value"),
        State("off-lang", "data"),
    )
    @require_role(ROLE)
    def update_analysis(
        category: Any, status: Any, district: Any, text: Any, weeks: Any, res: Any, indicator: Any, lang: str
    ) -> Any:
        lang = lang or "en"
        _ = translator(lang)
        f = _filter(category, status, district, text, weeks, res or 8)
        counts = analysis.cell_counts(ctx.engine, f)
        hs = analysis.hotspots(counts)
        hot = hs[hs["hotspot"] != ""].sort_values("z", ascending=False).head(15)
        em = analysis.emerging_hotspots(ctx.engine, f.resolution, utcnow()).head(10)
        places = cell_places(ctx.engine, sorted({int(c) for c in [*hot["cell"], *em["cell"]]}))
        hot_rows = [
            [
                _place(places, r.cell, lang, _),
                _("hot") if r.hotspot == "hot" else _("cold"),
                int(r.n),
                fmt_number(r.z, lang, 2),
                fmt_number(r.p, lang, 3),
            ]
            for r in hot.itertuples()
        ]
        rates = analysis.district_rates(ctx.engine, f).sort_values("per_1000", ascending=False)
        rate_rows = [
            [
                r.district,
                fmt_number(r.n, lang),
                fmt_number(r.population, lang) if r.population else "–",
                fmt_number(r.per_1000, lang, 1) if r.population else "–",
            ]
            for r in rates.itertuples()
        ]
        em_rows = [
            [
                _place(places, r.cell, lang, _),
                int(r.recent),
                fmt_number(r.previous_mean, lang, 1),
                fmt_number(r.ratio, lang, 1),
            ]
            for r in em.itertuples()
        ]
        ind = indicator if indicator in SCATTER_INDICATORS else "air_station"
        feats = map_layers(ctx.engine)[ind]
        per_cell = analysis.indicator_per_cell(feats, f.resolution)
        shown = sorted(set(per_cell) & {int(c) for c in counts["cell"]})
        names = {c: place_name(d, _) for c, (d, _lat, _lon) in cell_places(ctx.engine, shown).items()}
        scatter = heatmap.indicator_scatter(counts, per_cell, _(SCATTER_INDICATORS[ind]), _("Comments"), names)
        return (
            _table([_("Place"), _("Type"), _("Comments"), "z", "p"], hot_rows, _("No significant hotspots.")),
            _table([_("District"), _("Comments"), _("Residents"), _("Per 1,000")], rate_rows, _("No districts.")),
            _table(
                [_("Place"), _("Last 4 weeks"), _("Mean of previous 4-week periods"), _("Ratio")],
                em_rows,
                _("No emerging hotspots."),
            ),
            scatter,
        )
