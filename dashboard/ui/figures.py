"""Figure builders: pure functions from DataFrames to Plotly figures.

Maps use Plotly's MapLibre traces (``Scattermap``, ``Choroplethmap``). Offline by default: the base style is
``white-bg`` (no tiles, no glyphs, no sprites), district outlines come from local GeoJSON as map layers, and no
trace uses text labels or marker symbols (those would fetch fonts and sprites). Online tiles are opt-in in the
city TOML ([basemap] style = "tiles").

The browser gets a partial plotly.js bundle (tools/build_plotly.sh): only the trace types in ``TRACE_TYPES``
exist there, so a figure here must not use any other (tests/dashboard/test_speed.py checks).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.i18n import PLOTLY_LOCALES

from data_sources.config import CityConfig
from data_sources.ingest.standards import EAQI_BANDS, EAQI_UPPER

TRACE_TYPES = ("scatter", "bar", "scattermap", "choroplethmap")

# European AQI bands, light to dark along a colour-blind-safe ramp (ColorBrewer RdYlBu, with purple for the worst):
# blue and red stay apart for the common colour-vision deficiencies, and the marker size grows with the band
# as a second cue that does not depend on colour.
BAND_COLOURS = {
    "good": "#4575b4",
    "fair": "#91bfdb",
    "moderate": "#fee090",
    "poor": "#fc8d59",
    "very_poor": "#d73027",
    "extremely_poor": "#762a83",
    "none": "#999999",
}
BAND_SIZES = {b: 10 + 3 * i for i, b in enumerate(EAQI_BANDS)} | {"none": 8}
USUAL_COLOURS = {"quieter": "#4575b4", "usual": "#7f7f7f", "busier": "#d73027", "none": "#999999"}
LAYER_COLOURS = {
    "air_station": "#0072B2",
    "traffic_counter": "#444444",
    "cycle_route": "#009E73",
    "cycle_counter": "#56B4E9",
    "bike_station": "#CC79A7",
    "comments": "#000000",
}
# Comments are black discs with a white centre: no air-quality band is black or grey-black, black keeps 21:1
# contrast on the offline white map, and the centre dot is a second cue, a shape no other layer has
# (tests/dashboard/ui/test_figures.py checks colour distance under simulated colour-vision deficiencies).
COMMENT_OPACITY = 0.85
COMMENT_CENTRE = "#ffffff"
# The same disc in the HTML legend.
COMMENT_LEGEND_STYLE = {
    "background": f"radial-gradient(circle, {COMMENT_CENTRE} 30%, {LAYER_COLOURS['comments']} 36%)",
    "opacity": COMMENT_OPACITY,
}
# Cycle routes by type: colour and width differ, so the type reads without colour too.
CYCLE_TYPE_STYLE = {
    "track": ("#00573f", 4.5),
    "lane": ("#009E73", 3.0),
    "greenway": ("#6a3d9a", 3.5),
    "shared": ("#7fbfab", 2.0),
    "cycle_street": ("#00573f", 3.0),
    "path": ("#7fbfab", 2.5),
}
# Viridis: ordered, colour-blind-safe, and readable in grey scale.
CHOROPLETH_SCALE = "Viridis"
OUTLINE = "#1b2430"


def base_layout(city: CityConfig, height: int | None = None) -> dict:
    bm = city.basemap
    layers = []
    if bm.style == "tiles":
        layers = [
            {"below": "traces", "sourcetype": "raster", "sourceattribution": bm.attribution, "source": [bm.tiles_url]}
        ]
    lat, lon = city.city.centre
    return {
        "map": {"style": "white-bg", "center": {"lat": lat, "lon": lon}, "zoom": city.city.zoom, "layers": layers},
        "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
        "showlegend": False,  # the legend is HTML next to the map: translatable, readable on a phone
        "uirevision": "keep",  # keep the user's pan and zoom across updates
        "hoverlabel": {"namelength": -1},
        **({"height": height} if height else {}),
    }


def _line_coords(geoms: list[dict]) -> tuple[list, list]:
    """Concatenate (Multi)LineStrings into one lon/lat list with None breaks: one trace for many lines."""
    lons: list = []
    lats: list = []
    for g in geoms:
        parts = (
            g["coordinates"]
            if g["type"] == "MultiLineString"
            else [g["coordinates"]]
            if g["type"] == "LineString"
            else []
        )
        for part in parts:
            lons.extend([c[0] for c in part] + [None])
            lats.extend([c[1] for c in part] + [None])
    return lons, lats


def district_layers(geojson: dict, filled: bool = True) -> list[dict]:
    if not geojson.get("features"):
        return []
    fill = [
        {"sourcetype": "geojson", "source": geojson, "type": "fill", "color": "rgba(0,114,178,0.04)", "below": "traces"}
    ]
    return (fill if filled else []) + [
        {
            "sourcetype": "geojson",
            "source": geojson,
            "type": "line",
            "color": "#4a5a6a",
            "line": {"width": 1.2},
            "below": "traces",
        },
    ]


def _ids(frame: pd.DataFrame, values: pd.Series | np.ndarray) -> list:
    """[[feature id, value], ...] as plain lists: a typed array would not reach Dash's clickData."""
    return np.stack([frame["id"].to_numpy(float), np.asarray(values, dtype=float)], axis=-1).tolist()


def city_map(
    city: CityConfig,
    layers: dict[str, pd.DataFrame],
    districts_geojson: dict,
    visible: list[str] | None = None,
    labels: dict[str, str] | None = None,
    choropleth: dict | None = None,
) -> go.Figure:
    """The home map. ``layers``: layer name -> DataFrame (id, lat, lon, name, plus band/value/geometry as relevant).
    ``choropleth``: {"values": Series district id -> value, "title": str, "unit": str} colours the districts.
    The layers are drawn in the order of ``MAP_LAYERS``, each by its own trace builder."""
    labels = labels or {}
    visible = visible if visible is not None else list(layers)
    fig = go.Figure()
    lay = base_layout(city)
    lay["map"]["layers"] = lay["map"]["layers"] + district_layers(districts_geojson, filled=choropleth is None)
    if choropleth is not None and districts_geojson.get("features"):
        fig.add_trace(_choropleth_trace(districts_geojson, choropleth))
    for layer, traces in MAP_LAYERS:
        frame = layers.get(layer)
        if frame is not None and len(frame) and layer in visible:
            fig.add_traces(traces(frame, labels))
    fig.update_layout(**lay)
    return fig


def _choropleth_trace(districts_geojson: dict, choropleth: dict) -> go.Choroplethmap:
    vals = choropleth["values"]
    ids = [f["id"] for f in districts_geojson["features"]]
    names = [f["properties"]["name"] for f in districts_geojson["features"]]
    z = [float(vals.get(i, np.nan)) for i in ids]
    return go.Choroplethmap(
        geojson=districts_geojson,
        locations=ids,
        featureidkey="id",
        z=z,
        colorscale=CHOROPLETH_SCALE,
        marker={"opacity": 0.55, "line": {"width": 1, "color": "#4a5a6a"}},
        hovertext=names,
        hovertemplate=f"%{{hovertext}}<br>%{{z:,.1f}} {choropleth.get('unit', '')}<extra></extra>",
        colorbar={
            "title": {"text": choropleth.get("title", ""), "side": "right"},
            "thickness": 12,
            "len": 0.6,
            "x": 1,
            "xanchor": "right",
            "bgcolor": "rgba(255,255,255,0.85)",
        },
        meta={"layer": "districts"},
        name=choropleth.get("title", ""),
    )


def _cycle_route_traces(routes: pd.DataFrame, labels: dict[str, str]) -> list[go.Scattermap]:
    """One line trace per cycle-route type (colour and width differ)."""
    traces = []
    for t, grp in routes.groupby(routes["cycle_type"]):
        colour, width = CYCLE_TYPE_STYLE.get(str(t), ("#009E73", 2.5))
        lons, lats = _line_coords([json.loads(g) for g in grp["geometry"]])
        traces.append(
            go.Scattermap(
                lon=lons,
                lat=lats,
                mode="lines",
                line={"width": width, "color": colour},
                name=f"{labels.get('cycle_route', 'Cycle routes')}: {labels.get(str(t), str(t))}",
                hoverinfo="name",
                meta={"layer": "cycle_route"},
            )
        )
    return traces


def _counter_trace(
    frame: pd.DataFrame, layer: str, name: str, marker: dict, values: pd.Series | np.ndarray, value_label: str
) -> go.Scattermap:
    """Point features with their latest value in the hover (``value_label``: the number's format and unit)."""
    return go.Scattermap(
        lon=frame["lon"],
        lat=frame["lat"],
        mode="markers",
        name=name,
        marker=marker,
        customdata=_ids(frame, values),
        hovertext=frame["name"],
        meta={"layer": layer},
        hovertemplate="%{hovertext}<br>" + value_label + "<extra></extra>",
    )


def _traffic_traces(tc: pd.DataFrame, labels: dict[str, str]) -> list[go.Scattermap]:
    """Traffic counters, sized by their latest hourly volume."""
    v = tc["value"].fillna(0).to_numpy(float)
    size = 6 + 16 * np.sqrt(v / v.max()) if v.max() > 0 else np.full(len(tc), 8.0)
    marker = {"size": size, "color": LAYER_COLOURS["traffic_counter"], "opacity": 0.75}
    unit = labels.get("vehicles/h", "vehicles/h")
    name = labels.get("traffic_counter", "Traffic")
    return [_counter_trace(tc, "traffic_counter", name, marker, v, "%{customdata[1]:,.0f} " + unit)]


def _cycle_counter_traces(cc: pd.DataFrame, labels: dict[str, str]) -> list[go.Scattermap]:
    marker = {"size": 11, "color": LAYER_COLOURS["cycle_counter"]}
    unit = labels.get("cyclists/h", "cyclists/h")
    name = labels.get("cycle_counter", "Cycle counters")
    return [_counter_trace(cc, "cycle_counter", name, marker, cc["value"], "%{customdata[1]:,.0f} " + unit)]


def _bike_station_traces(bs: pd.DataFrame, labels: dict[str, str]) -> list[go.Scattermap]:
    marker = {"size": 10, "color": LAYER_COLOURS["bike_station"]}
    unit = labels.get("bikes", "bikes")
    name = labels.get("bike_station", "Bike share")
    return [_counter_trace(bs, "bike_station", name, marker, bs["value"], "%{customdata[1]:.0f} " + unit)]


def _comment_traces(cm: pd.DataFrame, labels: dict[str, str]) -> list[go.Scattermap]:
    """Citizens' comments counted per H3 cell, sized by the count: a black disc (it carries the hover) with a
    white centre dot over it (no hover: the pointer reaches the disc through it)."""
    n = cm["n"].to_numpy(float)
    size = 7 + 3 * np.sqrt(n)
    return [
        go.Scattermap(
            lon=cm["lon"],
            lat=cm["lat"],
            mode="markers",
            name=labels.get("comments", "Citizens' comments"),
            marker={"size": size, "color": LAYER_COLOURS["comments"], "opacity": COMMENT_OPACITY},
            customdata=n,
            meta={"layer": "comments"},
            hovertemplate="%{customdata:.0f} " + labels.get("comments here", "comments here") + "<extra></extra>",
        ),
        go.Scattermap(
            lon=cm["lon"],
            lat=cm["lat"],
            mode="markers",
            hoverinfo="skip",
            marker={"size": np.maximum(3, size * 0.35), "color": COMMENT_CENTRE},
            meta={"layer": "comments", "centre": True},
            showlegend=False,
        ),
    ]


def _air_station_traces(air: pd.DataFrame, labels: dict[str, str]) -> list[go.Scattermap]:
    """Air stations, one trace per European AQI band (good first), each over a dark ring."""
    traces = []
    order = {b: i for i, b in enumerate((*EAQI_BANDS, "none"))}
    for band_key, grp in sorted(air.groupby(air["band"]), key=lambda kv: order.get(str(kv[0]), 99)):
        band = str(band_key)
        size = BAND_SIZES.get(band, 8)
        # A dark ring under each station keeps light band colours visible on the white map.
        traces.append(
            go.Scattermap(
                lon=grp["lon"],
                lat=grp["lat"],
                mode="markers",
                hoverinfo="skip",
                marker={"size": size + 4, "color": OUTLINE},
                meta={"layer": "air_station", "ring": True},
                showlegend=False,
            )
        )
        traces.append(
            go.Scattermap(
                lon=grp["lon"],
                lat=grp["lat"],
                mode="markers",
                name=f"{labels.get('air_station', 'Air quality')}: {labels.get(band, band)}",
                marker={"size": size, "color": BAND_COLOURS.get(band, "#999999")},
                customdata=_ids(grp, grp["value"]),
                hovertext=grp["name"],
                meta={"layer": "air_station", "band": band},
                hovertemplate="%{hovertext}<br>"
                + labels.get(band, band)
                + " · PM2.5 %{customdata[1]:.1f} µg/m³<extra></extra>",
            )
        )
    return traces


# The map's layers, bottom to top, each with the function that draws its frame: (frame, labels) -> traces.
MAP_LAYERS: tuple[tuple[str, Callable[[pd.DataFrame, dict[str, str]], list[go.Scattermap]]], ...] = (
    ("cycle_route", _cycle_route_traces),
    ("traffic_counter", _traffic_traces),
    ("cycle_counter", _cycle_counter_traces),
    ("bike_station", _bike_station_traces),
    ("comments", _comment_traces),
    ("air_station", _air_station_traces),
)


def timeseries(
    series: pd.DataFrame,
    unit: str,
    labels: dict[str, str],
    *,
    metric: str | None = None,
    guideline: float | None = None,
    usual: pd.DataFrame | None = None,
    separators: str = ".,",
) -> go.Figure:
    """Lines of ``series`` (time, value, and optionally ``name`` for several lines) with context drawn behind:
    the European AQI bands for ``metric`` (as shaded steps), the WHO ``guideline`` (a dashed line), or the
    ``usual`` range (time, low, high) as a grey ribbon."""
    fig = go.Figure()
    if usual is not None and len(usual):
        fig.add_trace(
            go.Scatter(
                x=usual["time"], y=usual["high"], mode="lines", line={"width": 0}, hoverinfo="skip", showlegend=False
            )
        )
        fig.add_trace(
            go.Scatter(
                x=usual["time"],
                y=usual["low"],
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                fillcolor="rgba(127,127,127,0.22)",
                name=labels.get("usual", "Usual range"),
                hoverinfo="skip",
            )
        )
    groups = series.groupby("name", sort=False) if "name" in series else [(labels.get("value", ""), series)]
    palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
    dashes = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot", "solid"]
    for i, (name, grp) in enumerate(groups):
        fig.add_trace(
            go.Scatter(
                x=grp["time"],
                y=grp["value"],
                mode="lines",
                name=str(name),
                line={"width": 2.2, "color": palette[i % len(palette)], "dash": dashes[i % len(dashes)]},
                hovertemplate="%{x}<br>%{y:,.1f} " + unit + "<extra>%{fullData.name}</extra>",
            )
        )
    shapes, annotations = [], []
    ymax = float(series["value"].max()) if len(series) else 0.0
    if metric in EAQI_UPPER and len(series):
        lo = 0.0
        for band, hi in zip(EAQI_BANDS, (*EAQI_UPPER[metric], float("inf"))):
            top = min(hi, max(ymax * 1.1, lo))
            if lo > ymax * 1.1:
                break
            shapes.append(
                {
                    "type": "rect",
                    "xref": "paper",
                    "x0": 0,
                    "x1": 1,
                    "yref": "y",
                    "y0": lo,
                    "y1": top,
                    "fillcolor": BAND_COLOURS[band],
                    "opacity": 0.18,
                    "line": {"width": 0},
                    "layer": "below",
                }
            )
            annotations.append(
                {
                    "xref": "paper",
                    "x": 1,
                    "xanchor": "right",
                    "y": (lo + top) / 2,
                    "yref": "y",
                    "text": labels.get(band, band),
                    "showarrow": False,
                    "font": {"size": 11, "color": "#333"},
                }
            )
            lo = hi
    if guideline is not None:
        shapes.append(
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "yref": "y",
                "y0": guideline,
                "y1": guideline,
                "line": {"color": "#000", "width": 1.5, "dash": "dash"},
            }
        )
        annotations.append(
            {
                "xref": "paper",
                "x": 0,
                "xanchor": "left",
                "y": guideline,
                "yref": "y",
                "yanchor": "bottom",
                "text": labels.get("guideline", "WHO guideline"),
                "showarrow": False,
                "font": {"size": 11},
            }
        )
    fig.update_layout(
        margin={"l": 48, "r": 8, "t": 8, "b": 36},
        height=300,
        shapes=shapes,
        annotations=annotations,
        yaxis={"title": {"text": unit}, "rangemode": "tozero", "fixedrange": True},
        xaxis={"fixedrange": True},
        separators=separators,
        plot_bgcolor="#fff",
        paper_bgcolor="#fff",
        legend={"orientation": "h", "y": -0.18, "x": 0},
        hovermode="x unified",
        dragmode=False,
    )
    return fig


def district_bars(
    values: pd.DataFrame,
    unit: str,
    *,
    guideline: float | None = None,
    labels: dict[str, str] | None = None,
    separators: str = ".,",
) -> go.Figure:
    """Horizontal bars, one per district (name, value), highest on top, with the guideline as a dashed line."""
    labels = labels or {}
    v = values.sort_values("value")
    fig = go.Figure(
        go.Bar(
            x=v["value"],
            y=v["name"],
            orientation="h",
            marker={"color": "#0072B2"},
            hovertemplate="%{y}: %{x:,.1f} " + unit + "<extra></extra>",
        )
    )
    shapes = []
    if guideline is not None:
        shapes.append(
            {
                "type": "line",
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "xref": "x",
                "x0": guideline,
                "x1": guideline,
                "line": {"color": "#000", "width": 1.5, "dash": "dash"},
            }
        )
    fig.update_layout(
        margin={"l": 8, "r": 8, "t": 8, "b": 36},
        height=max(220, 28 * len(v) + 60),
        shapes=shapes,
        xaxis={"title": {"text": unit}, "fixedrange": True},
        yaxis={"automargin": True, "fixedrange": True},
        separators=separators,
        plot_bgcolor="#fff",
        paper_bgcolor="#fff",
        dragmode=False,
    )
    return fig


def graph_config(lang: str) -> dict:
    """``dcc.Graph(config=...)`` for a chart: no mode bar, resized with its box, and dates on its axes in the
    page's language (plotly.js's locale, loaded with the bundle by assets/citydash.js)."""
    return {"displayModeBar": False, "responsive": True, "locale": PLOTLY_LOCALES.get(lang, "en")}
