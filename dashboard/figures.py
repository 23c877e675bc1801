"""Figure builders: pure functions from DataFrames to Plotly figures.

Maps use Plotly's MapLibre traces (``Scattermap``). Offline by default: the base style is ``white-bg`` (no tiles,
no glyphs, no sprites), district outlines come from local GeoJSON as map layers, and no trace uses text labels
(those would fetch fonts). Online tiles are opt-in in the city TOML ([basemap] style = "tiles").
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
BAND_COLOURS = {"good": "#009E73", "fair": "#E69F00", "poor": "#D55E00", "very_poor": "#CC79A7", "none": "#999999"}
# Shapes give the band a second cue besides colour.
BAND_SYMBOLS = {"good": "circle", "fair": "circle", "poor": "circle", "none": "circle"}
LAYER_COLOURS = {
    "air_station": "#0072B2",
    "traffic_counter": "#555555",
    "cycle_route": "#009E73",
    "cycle_counter": "#56B4E9",
    "bike_station": "#CC79A7",
    "comments": "#D55E00",
}
CYCLE_TYPE_COLOURS = {"track": "#006D4F", "lane": "#009E73", "shared": "#7FC8A9", "greenway": "#3B8C2A"}


def base_layout(city, height: int | None = None) -> dict:  # noqa: ANN001
    bm = city.basemap
    if bm.style == "tiles":
        map_style: dict | str = "white-bg"
        layers = [{"below": "traces", "sourcetype": "raster", "sourceattribution": bm.attribution, "source": [bm.tiles_url]}]
    else:
        map_style, layers = "white-bg", []
    lat, lon = city.city.centre
    return {
        "map": {"style": map_style, "center": {"lat": lat, "lon": lon}, "zoom": city.city.zoom, "layers": layers},
        "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 0.01, "xanchor": "left", "x": 0.01,
                   "bgcolor": "rgba(255,255,255,0.85)"},
        "uirevision": "keep",  # keep the user's pan and zoom across updates
        **({"height": height} if height else {}),
    }


def _line_coords(geoms: list[dict]) -> tuple[list, list]:
    """Concatenate (Multi)LineStrings into one lon/lat list with None breaks: one trace for many lines."""
    lons: list = []
    lats: list = []
    for g in geoms:
        parts = g["coordinates"] if g["type"] == "MultiLineString" else [g["coordinates"]] if g["type"] == "LineString" else []
        for part in parts:
            lons.extend([c[0] for c in part] + [None])
            lats.extend([c[1] for c in part] + [None])
    return lons, lats


def district_layers(geojson: dict) -> list[dict]:
    if not geojson.get("features"):
        return []
    return [
        {"sourcetype": "geojson", "source": geojson, "type": "fill", "color": "rgba(0,114,178,0.04)", "below": "traces"},
        {"sourcetype": "geojson", "source": geojson, "type": "line", "color": "#4a5a6a", "line": {"width": 1.2}, "below": "traces"},
    ]


def city_map(city, layers: dict[str, pd.DataFrame], districts_geojson: dict, visible: list[str] | None = None,  # noqa: ANN001
             labels: dict[str, str] | None = None) -> go.Figure:
    """The home map. ``layers``: layer name -> DataFrame (lat, lon, name, plus band/value/geometry as relevant)."""
    labels = labels or {}
    visible = visible if visible is not None else list(layers)
    fig = go.Figure()
    lay = base_layout(city)
    lay["map"]["layers"] = lay["map"]["layers"] + district_layers(districts_geojson)

    routes = layers.get("cycle_route")
    if routes is not None and len(routes) and "cycle_route" in visible:
        types = routes["cycle_type"] if "cycle_type" in routes else pd.Series("other", index=routes.index)
        for t, grp in routes.groupby(types):
            lons, lats = _line_coords([json.loads(g) for g in grp["geometry"]])
            fig.add_trace(go.Scattermap(
                lon=lons, lat=lats, mode="lines", line={"width": 3, "color": CYCLE_TYPE_COLOURS.get(str(t), "#009E73")},
                name=f"{labels.get('cycle_route', 'Cycle routes')}: {labels.get(str(t), str(t))}", hoverinfo="name",
                meta={"layer": "cycle_route"},
            ))

    tc = layers.get("traffic_counter")
    if tc is not None and len(tc) and "traffic_counter" in visible:
        v = tc["value"].fillna(0).to_numpy(float) if "value" in tc else np.zeros(len(tc))
        size = 6 + 16 * np.sqrt(v / v.max()) if v.max() > 0 else np.full(len(tc), 8.0)
        fig.add_trace(go.Scattermap(
            lon=tc["lon"], lat=tc["lat"], mode="markers", name=labels.get("traffic_counter", "Traffic counters"),
            marker={"size": size, "color": LAYER_COLOURS["traffic_counter"], "opacity": 0.7},
            customdata=np.stack([tc["id"], v], axis=-1), meta={"layer": "traffic_counter"},
            hovertext=tc["name"], hovertemplate="%{hovertext}<br>%{customdata[1]:,.0f} vehicles/h<extra></extra>",
        ))

    bs = layers.get("bike_station")
    if bs is not None and len(bs) and "bike_station" in visible:
        fig.add_trace(go.Scattermap(
            lon=bs["lon"], lat=bs["lat"], mode="markers", name=labels.get("bike_station", "Bike-share stations"),
            marker={"size": 9, "color": LAYER_COLOURS["bike_station"]}, hovertext=bs["name"],
            customdata=np.stack([bs["id"], bs.get("value", pd.Series(np.nan, index=bs.index))], axis=-1),
            hovertemplate="%{hovertext}<br>%{customdata[1]:.0f} bikes<extra></extra>", meta={"layer": "bike_station"},
        ))

    cm = layers.get("comments")
    if cm is not None and len(cm) and "comments" in visible:
        n = cm["n"].to_numpy(float)
        fig.add_trace(go.Scattermap(
            lon=cm["lon"], lat=cm["lat"], mode="markers", name=labels.get("comments", "Citizens' comments"),
            marker={"size": 6 + 4 * np.sqrt(n), "color": LAYER_COLOURS["comments"], "opacity": 0.55},
            customdata=n, hovertemplate="%{customdata:.0f} comments in this area<extra></extra>", meta={"layer": "comments"},
        ))

    air = layers.get("air_station")
    if air is not None and len(air) and "air_station" in visible:
        for band, grp in air.groupby(air["band"] if "band" in air else pd.Series("none", index=air.index)):
            fig.add_trace(go.Scattermap(
                lon=grp["lon"], lat=grp["lat"], mode="markers",
                name=f"{labels.get('air_station', 'Air stations')}: {labels.get(str(band), str(band))}",
                marker={"size": 14, "color": BAND_COLOURS.get(str(band), "#999999"), "symbol": BAND_SYMBOLS.get(str(band), "circle")},
                customdata=np.stack([grp["id"], grp["value"]], axis=-1), hovertext=grp["name"],
                hovertemplate="%{hovertext}<br>PM2.5 %{customdata[1]:.1f} µg/m³<extra></extra>", meta={"layer": "air_station"},
            ))

    fig.update_layout(**lay)
    return fig
