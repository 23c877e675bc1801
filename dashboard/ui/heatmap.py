"""The officials' comment heatmap: H3 hexagons coloured by count, over indicator layers.

The hexagon outlines are a GeoJSON URL (``/officials/cells/<res>.geojson``) that the browser fetches once per
resolution; a filter change sends only cell ids and counts as a ``dash.Patch`` on trace 0. Pure functions
here; the page's callbacks are thin over them.
"""

from __future__ import annotations

from typing import Any

import h3
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from dash import Patch

from dashboard.ui import figures
from data_sources.comments import analysis
from data_sources.config import CityConfig

INDICATOR_LAYERS = ("air_station", "traffic_counter", "cycle_route")


def cells_url(resolution: int, version: int) -> str:
    return f"/officials/cells/{resolution}.geojson?v={version}"


def heat_values(counts: pd.DataFrame) -> tuple[list[str], list[int], float]:
    locs = [h3.int_to_str(int(c)) for c in counts["cell"]]
    z = counts["n"].astype(int).tolist()
    zmax = float(np.percentile(counts["n"], 95)) if len(counts) else 1.0
    return locs, z, max(zmax, 1.0)


def heat_trace(locs: list[str], z: list[int], zmax: float, url: str, label: str) -> go.Choroplethmap:
    return go.Choroplethmap(
        geojson=url,
        featureidkey="id",
        locations=locs,
        z=z,
        zmin=0,
        zmax=zmax,
        colorscale="YlOrRd",
        marker={"opacity": 0.7, "line": {"width": 0.3, "color": "#ffffff"}},
        name=label,
        colorbar={"title": {"text": label}, "thickness": 12, "len": 0.5},
        meta={"layer": "heat"},
        hovertemplate="%{z:,} " + label + "<extra></extra>",
    )


def heat_figure(
    city: CityConfig,
    layers: dict[str, pd.DataFrame],
    districts_geojson: dict,
    heat: go.Choroplethmap,
    visible: list[str],
    labels: dict[str, str],
) -> go.Figure:
    """The heat trace first (trace 0, the one patches change), then every indicator layer, hidden unless chosen."""
    base = figures.city_map(
        city,
        {k: v for k, v in layers.items() if k in INDICATOR_LAYERS},
        districts_geojson,
        list(INDICATOR_LAYERS),
        labels,
    )
    for tr in base.data:
        tr.visible = (tr.meta or {}).get("layer") in visible
    fig = go.Figure(data=[heat, *base.data], layout=base.layout)
    return fig


def heat_patch(locs: list[str], z: list[int], zmax: float, url: str | None) -> Patch:
    p = Patch()
    p["data"][0]["locations"] = locs
    p["data"][0]["z"] = z
    p["data"][0]["zmax"] = zmax
    if url is not None:
        p["data"][0]["geojson"] = url
    return p


def visibility_patch(trace_layers: list[str], visible: list[str]) -> Patch:
    p = Patch()
    for i, layer in enumerate(trace_layers):
        if layer != "heat":
            p["data"][i]["visible"] = layer in visible
    return p


def update_heat(engine: Any, f: analysis.HeatFilter, version: int, resolution_changed: bool) -> Patch:
    """The server's work for one filter change: counts per cell from the pre-counted table, as a Patch."""
    locs, z, zmax = heat_values(analysis.cell_counts(engine, f))
    return heat_patch(locs, z, zmax, cells_url(f.resolution, version) if resolution_changed else None)


def indicator_scatter(
    counts: pd.DataFrame, indicator: dict[int, float], x_label: str, y_label: str, places: dict[int, str] | None = None
) -> go.Figure:
    """Comments per cell against the indicator per cell, for the cells that have both; a point's hover names its
    place (``places``: cell -> district name), not the cell's id."""
    n = dict(zip(counts["cell"].astype(np.int64).tolist(), counts["n"].tolist()))
    cells = [c for c in indicator if c in n]
    fig = go.Figure(
        go.Scatter(
            x=[indicator[c] for c in cells],
            y=[n[c] for c in cells],
            mode="markers",
            marker={"size": 9, "color": "#0072B2"},
            text=[(places or {}).get(c, "") for c in cells],
            hovertemplate=x_label + " %{x:.1f}<br>" + y_label + " %{y}<extra>%{text}</extra>",
        )
    )
    fig.update_layout(
        xaxis_title=x_label,
        yaxis_title=y_label,
        margin={"l": 50, "r": 10, "t": 10, "b": 40},
        height=280,
        plot_bgcolor="#fff",
    )
    return fig
