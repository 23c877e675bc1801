"""Home: KPI cards a non-expert understands, and the city map with a layer switcher."""
from __future__ import annotations

import h3
import pandas as pd
from dash import Input, Output, dcc, html

from dashboard import figures, kpis, queries
from dashboard.cache import cached
from dashboard.components import kpi_card, page_frame
from dashboard.i18n import translator

PATH = "/"
LAYERS = ["air_station", "traffic_counter", "cycle_route", "bike_station", "comments"]
LAYER_LABELS = {
    "air_station": "Air quality",
    "traffic_counter": "Traffic",
    "cycle_route": "Cycle routes",
    "bike_station": "Bike share",
    "comments": "Citizens' comments",
}
KPI_SOURCES = {"air": "air_station", "traffic": "traffic_counter", "cycling": "cycle_route"}


def map_layers(engine) -> dict[str, pd.DataFrame]:  # noqa: ANN001
    """Each layer as a DataFrame the figure builder draws: the latest value per point feature."""
    out: dict[str, pd.DataFrame] = {}
    for layer, metric in (("air_station", "pm25"), ("traffic_counter", "vehicles"), ("bike_station", "bikes_available")):
        f = queries.features(engine, layer)
        t = queries.latest_time(engine, metric)
        if len(f) and t is not None:
            obs = queries.observations(engine, metric, t - pd.Timedelta(hours=3), t)
            latest = obs.sort_values("time").groupby("feature_id")["value"].last()
            f = f.assign(value=f["id"].map(latest))
        elif len(f):
            f = f.assign(value=float("nan"))
        out[layer] = f
    air = out.get("air_station")
    if air is not None and len(air):
        g = kpis.WHO_PM25_24H
        air["band"] = pd.cut(air["value"], [-1, g, 2 * g, float("inf")], labels=["good", "fair", "poor"]).astype(str)
        air.loc[air["value"].isna(), "band"] = "none"
    routes = queries.features(engine, "cycle_route")
    routes["cycle_type"] = routes["properties"].map(lambda p: (p or {}).get("cycle_type", "other"))
    out["cycle_route"] = routes
    cells = queries.public_comment_cells(engine, resolution=8)
    if len(cells):
        centres = [h3.cell_to_latlng(h3.int_to_str(int(c))) for c in cells["cell"]]
        cells["lat"] = [c[0] for c in centres]
        cells["lon"] = [c[1] for c in centres]
    out["comments"] = cells
    return out


def _labels(_) -> dict[str, str]:  # noqa: ANN001
    words = {**LAYER_LABELS, "good": "Good", "fair": "Moderate", "poor": "Poor", "none": "No data",
             "track": "track", "lane": "lane", "shared": "shared", "greenway": "greenway"}
    return {k: _(v) for k, v in words.items()}


def layout(ctx, lang: str, query: dict, **_params):  # noqa: ANN001
    _ = translator(lang)
    values = cached(ctx, "home_kpis", lambda: kpis.home_kpis(ctx.engine))
    src = queries.sources(ctx.engine)
    layer_source = {}
    for key, layer in KPI_SOURCES.items():
        f = queries.features(ctx.engine, layer)
        names = src[src["name"].isin(f["source"].unique())]["title"].tolist() if len(f) else []
        layer_source[key] = ", ".join(names)
    cards = [kpi_card(values[k], lang, ctx.city.city.timezone, layer_source.get(k, "")) for k in ("air", "traffic", "cycling", "comments")]
    fig = cached(ctx, f"home_map:{lang}", lambda: figures.city_map(
        ctx.city, map_layers(ctx.engine), queries.districts_geojson(ctx.engine), LAYERS, _labels(_)).to_dict())
    return page_frame(ctx, lang, [
        html.H1(_("How is {city} doing today?", city=ctx.city.city.name), className="visually-hidden"),
        html.Div(cards, className="kpis", id="kpis"),
        html.Section([
            html.H2(_("Map"), className="section-title"),
            dcc.Checklist(
                id="home-layers",
                options=[{"label": _(LAYER_LABELS[k]), "value": k} for k in LAYERS],
                value=LAYERS, inline=True, className="layer-switcher",
                inputClassName="layer-input", labelClassName="layer-label",
            ),
            dcc.Graph(id="home-map", figure=fig, className="city-map",
                      config={"displayModeBar": False, "scrollZoom": True, "responsive": True}),
        ], className="map-section", **{"aria-label": _("Map")}),
        dcc.Store(id="home-lang", data=lang),
    ])


def register(app, ctx) -> None:  # noqa: ANN001
    @app.callback(Output("home-map", "figure"), Input("home-layers", "value"), Input("home-lang", "data"),
                  prevent_initial_call=True)
    def switch_layers(visible: list[str] | None, lang: str | None):
        _ = translator(lang or ctx.city.city.default_language)
        return figures.city_map(ctx.city, cached(ctx, "home_map_layers", lambda: map_layers(ctx.engine)), queries.districts_geojson(ctx.engine),
                                [v for v in (visible or []) if v in LAYERS], _labels(_))
