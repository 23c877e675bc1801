"""A small map of a comment's public place, drawn as SVG on the server: the city's districts as outlines and the
comment's H3 resolution-9 cell (about 170 m across, the area the rest of the site shows) filled, with a ring
around it so that it is seen at city scale. No tiles, no fonts, no JavaScript: it works offline and weighs a few
kilobytes. It is drawn from the cell alone, never from the exact point.

Coordinates: an equirectangular projection around the view's middle latitude (x = lon · cos(lat)), enough at a
city's scale; y grows southwards as SVG's does.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import h3
from markupsafe import escape

from dashboard.i18n import translator

WIDTH, HEIGHT = 360, 240
MIN_SPAN_DEG = 0.02  # at least about 2 km of ground around the cell


@dataclass(frozen=True)
class Area:
    """A district to draw: its name (for the title) and its GeoJSON (Multi)Polygon."""

    name: str
    geometry: dict
    highlight: bool = False


def _rings(geometry: dict) -> list[list[tuple[float, float]]]:
    """Outer and inner rings of a Polygon or MultiPolygon as (lon, lat) lists; other geometries give none."""
    kind, coords = geometry.get("type"), geometry.get("coordinates") or []
    polys = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else []
    return [[(float(p[0]), float(p[1])) for p in ring] for poly in polys for ring in poly]


def cell_ring(cell: int) -> list[tuple[float, float]]:
    """The H3 cell's boundary as (lon, lat) points."""
    return [(lon, lat) for lat, lon in h3.cell_to_boundary(h3.int_to_str(int(cell)))]


def view_box(cell: int, home: Area | None) -> tuple[float, float, float, float]:
    """(west, south, east, north) of the view: the comment's district with a margin, or about 2 km around the
    cell when it lies in none; the cell is always inside."""
    pts = cell_ring(cell)
    if home is not None:
        pts = pts + [p for ring in _rings(home.geometry) for p in ring]
    lons, lats = [p[0] for p in pts], [p[1] for p in pts]
    w, e, s, n = min(lons), max(lons), min(lats), max(lats)
    cx, cy = (w + e) / 2, (s + n) / 2
    half_w = max((e - w) * 0.6, MIN_SPAN_DEG / 2)
    half_h = max((n - s) * 0.6, MIN_SPAN_DEG / 2)
    return cx - half_w, cy - half_h, cx + half_w, cy + half_h


class Projection:
    """(lon, lat) to SVG pixels, keeping the ground's proportions, centred in WIDTH x HEIGHT."""

    def __init__(self, box: tuple[float, float, float, float]) -> None:
        w, s, e, n = box
        self.k = math.cos(math.radians((s + n) / 2))
        span_x, span_y = (e - w) * self.k, n - s
        self.scale = min(WIDTH / span_x, HEIGHT / span_y)
        self.x0 = (w + e) / 2 * self.k
        self.y0 = (s + n) / 2

    def __call__(self, lon: float, lat: float) -> tuple[float, float]:
        return (
            round(WIDTH / 2 + (lon * self.k - self.x0) * self.scale, 1),
            round(HEIGHT / 2 - (lat - self.y0) * self.scale, 1),
        )


def _path(rings: list[list[tuple[float, float]]], proj: Projection) -> str:
    return " ".join("M" + " L".join(f"{x},{y}" for x, y in (proj(*p) for p in ring)) + " Z" for ring in rings if ring)


def place_svg(cell: int, areas: list[Area], title: str) -> str:
    """The SVG document: ``areas`` outlined (the highlighted one shaded), the cell filled and ringed. ``title``
    is the map's accessible name (also the img's alt text on the page)."""
    home = next((a for a in areas if a.highlight), None)
    proj = Projection(view_box(cell, home))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#f4f6f8"/>',
    ]
    for a in areas:
        d = _path(_rings(a.geometry), proj)
        if d:
            fill = "#dfe8f1" if a.highlight else "#ffffff"
            width = 2 if a.highlight else 1
            parts.append(
                f'<path d="{d}" fill="{fill}" stroke="#5b6b7b" stroke-width="{width}" fill-rule="evenodd">'
                f"<title>{escape(a.name)}</title></path>"
            )
    cx, cy = proj(*h3.cell_to_latlng(h3.int_to_str(int(cell)))[::-1])
    parts += [
        f'<path d="{_path([cell_ring(cell)], proj)}" fill="#7a2e8c" fill-opacity="0.75" stroke="#1b2430"/>',
        f'<circle cx="{cx}" cy="{cy}" r="14" fill="none" stroke="#1b2430" stroke-width="2.5"/>',
        f'<circle cx="{cx}" cy="{cy}" r="17" fill="none" stroke="#ffffff" stroke-width="2"/>',
        "</svg>",
    ]
    return "".join(parts)


def areas_from(rows: list[tuple[int, str, str]], district_id: int | None) -> list[Area]:
    """(id, name, GeoJSON text) rows of the store's districts as Areas, the comment's own highlighted."""
    out = []
    for did, name, geometry in rows:
        try:
            geo = json.loads(geometry)
        except (TypeError, ValueError):
            continue
        out.append(Area(str(name), geo if isinstance(geo, dict) else {}, highlight=did == district_id))
    return out


def map_title(lang: str, district: str | None) -> str:
    """The map's accessible name, also the alt text of its image on the comment page."""
    _ = translator(lang)
    if district:
        return _("Map: the area of about 170 m where this comment was made, in {district}", district=district)
    return _("Map: the area of about 170 m where this comment was made")
