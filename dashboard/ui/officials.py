"""Shared parts of the officials' workspace: the frame (with the role check), the filter, and the officials'
Flask routes (exports, hexagon outlines). Every route here is wrapped in ``require_role``; a test enumerates
``/officials`` routes from the URL map and checks each refuses without a session.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import flask
from dash import Dash, dcc, html
from flask_wtf.csrf import generate_csrf

from dashboard.context import AppContext
from dashboard.i18n import translator
from dashboard.server.auth import LOGIN_PATH, LOGOUT_PATH, current_official, has_role, require_role
from dashboard.ui.components import page_frame
from data_sources.comments import analysis
from data_sources.comments.analysis import EXPORT_COLUMNS, export_rows
from data_sources.comments.photo_records import names
from data_sources.comments.workflow import log_action
from data_sources.store.models import COMMENT_STATUSES, H3_RESOLUTIONS

OFFICIAL_NAV = [
    ("/officials", "Heatmap", "official"),
    ("/officials/queue", "Queue", "official"),
    ("/officials/moderation", "Moderation", "moderator"),
    ("/officials/audit", "Audit log", "admin"),
]
STATUS_LABELS = {
    "new": "New",
    "acknowledged": "Acknowledged",
    "in_progress": "In progress",
    "resolved": "Resolved",
    "closed": "Closed",
}


def frame(ctx: AppContext, lang: str, role: str, active: str, children_fn: Any) -> html.Div:
    """The officials' page, or a login prompt with no data. ``children_fn()`` runs only after the check."""
    _ = translator(lang)
    user = current_official()
    if user is None or not has_role(role):
        msg = _("This page is for city officials.") if user is None else _("Your role cannot open this page.")
        return page_frame(
            ctx,
            lang,
            [
                html.H1(_("Officials")),
                html.P(msg),
                html.A(_("Log in"), href=f"{LOGIN_PATH}?lang={lang}", id="off-login-link", className="button"),
            ],
            active="/officials",
        )
    nav = html.Nav(
        [
            html.A(_(label), href=f"{href}?lang={lang}", **({"aria-current": "page"} if href == active else {}))
            for href, label, need in OFFICIAL_NAV
            if has_role(need)
        ],
        className="nav off-nav",
        **{"aria-label": _("Officials")},
    )
    logout = html.Form(
        [
            dcc.Input(type="hidden", name="csrf_token", value=generate_csrf()),
            html.Span(f"{user.email} ({_(user.role)})", className="off-user"),
            html.Button(_("Log out"), type="submit", id="off-logout", className="button"),
        ],
        method="post",
        action=f"{LOGOUT_PATH}?lang={lang}",
        className="off-logout",
    )
    return page_frame(ctx, lang, [html.Div([nav, logout], className="off-bar"), *children_fn()], active="/officials")


# --- the filter --------------------------------------------------------------------------------------------


def parse_filter(params: dict, resolution: int = 8) -> analysis.HeatFilter:
    """A HeatFilter from callback values or a query string (lists or comma-separated strings)."""

    def listed(key: str) -> list[str]:
        v = params.get(key) or []
        if isinstance(v, str):
            v = v.split(",")
        return [str(x) for x in v if str(x).strip()]

    def week(key: str) -> int | None:
        v = params.get(key)
        if isinstance(v, list):
            v = v[0] if v else None
        try:
            return None if v in (None, "") else int(v)
        except (TypeError, ValueError):
            return None

    statuses = tuple(s for s in listed("status") if s in COMMENT_STATUSES)
    districts = tuple(int(d) for d in listed("district") if d.isdigit())
    text = params.get("text") or ""
    text = (text[0] if isinstance(text, list) and text else text if isinstance(text, str) else "")[:200]
    res = week("resolution") or resolution
    return analysis.HeatFilter(
        categories=tuple(listed("category"))[:50],
        statuses=statuses,
        districts=districts,
        week_from=week("week_from"),
        week_to=week("week_to"),
        text=text,
        resolution=res if res in H3_RESOLUTIONS else 8,
    )


def filter_query(f: analysis.HeatFilter) -> str:
    from urllib.parse import urlencode

    q = {
        "category": ",".join(f.categories),
        "status": ",".join(f.statuses),
        "district": ",".join(map(str, f.districts)),
        "week_from": f.week_from if f.week_from is not None else "",
        "week_to": f.week_to if f.week_to is not None else "",
        "text": f.text,
    }
    return urlencode({k: v for k, v in q.items() if v not in ("", None)})


# --- places: a district name and a link to the map, never a cell id -----------------------------------------

PLACE_ZOOM = 15
_MD_SPECIAL = str.maketrans({ch: "\\" + ch for ch in "\\`*_{}[]()#+-.!|<>"})


def place_href(lat: float, lon: float, lang: str) -> str:
    """The officials' map centred on a point (``?at=lat,lon``)."""
    return f"/officials?lang={lang}&at={lat:.5f},{lon:.5f}"


def parse_at(value: object) -> tuple[float, float] | None:
    """``?at=lat,lon`` from a place link; None when absent or not a point on Earth."""
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        lat, lon = (float(x) for x in str(value).split(","))
    except (TypeError, ValueError):
        return None
    return (lat, lon) if -90 <= lat <= 90 and -180 <= lon <= 180 else None


def place_name(district: str | None, _: Callable[..., str]) -> str:
    return district or _("Outside the districts")


def map_link(district: str | None, lat: float, lon: float, lang: str, _: Callable[..., str]) -> str:
    """A place as a Markdown link for tables (the district's name escaped: it is text, not markup)."""
    return f"[{place_name(district, _).translate(_MD_SPECIAL)}]({place_href(lat, lon, lang)})"


def photo_cell(photos: list[dict], _: Callable[..., str]) -> str:
    """A table row's photos (queue, moderation) as Markdown thumbnails, each a link to the full photo, at the
    officials' addresses (``/officials/media/``), so held comments' and hidden photos show too (a hidden one says
    so). Photo ids are ``[A-Za-z0-9_-]``: nothing to escape but the translated alt text."""
    cells = []
    for i, p in enumerate(photos, 1):
        full, thumb = names(p["id"])
        alt = _("Photo {n} of {m}", n=i, m=len(photos)) + (f" ({_('hidden')})" if p["state"] == "hidden" else "")
        cells.append(f"[![{alt.translate(_MD_ALT)}](/officials/media/{thumb})](/officials/media/{full})")
    return " ".join(cells)


_MD_ALT = str.maketrans({ch: "\\" + ch for ch in "\\[]"})


# --- routes ------------------------------------------------------------------------------------------------


def _cell(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat(timespec="seconds") + "Z"
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@"):
        return "'" + v  # spreadsheet formula injection
    return v


def init_app(app: Dash, ctx: AppContext) -> None:
    server = app.server

    @require_role("official")
    def export_csv() -> Any:
        f = parse_filter(flask.request.args.to_dict(flat=True))
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=EXPORT_COLUMNS)
        w.writeheader()
        n = 0
        for row in export_rows(ctx.engine, f):
            w.writerow({k: _cell(v) for k, v in row.items()})
            n += 1
        log_action(
            ctx.engine, current_official().actor, "export_csv", "comments", None, {"filter": filter_query(f), "rows": n}
        )
        return flask.Response(
            buf.getvalue(), mimetype="text/csv", headers={"Content-Disposition": 'attachment; filename="comments.csv"'}
        )

    @require_role("official")
    def export_geojson() -> Any:
        f = parse_filter(flask.request.args.to_dict(flat=True))
        feats = []
        for row in export_rows(ctx.engine, f):
            lat, lon = row.pop("lat"), row.pop("lon")
            props = {
                k: (v.isoformat(timespec="seconds") + "Z" if isinstance(v, datetime) else v) for k, v in row.items()
            }
            feats.append(
                {
                    "type": "Feature",
                    "id": row["id"],
                    "geometry": {"type": "Point", "coordinates": [lon, lat]},
                    "properties": props,
                }
            )
        log_action(
            ctx.engine,
            current_official().actor,
            "export_geojson",
            "comments",
            None,
            {"filter": filter_query(f), "rows": len(feats)},
        )
        return flask.Response(
            json.dumps({"type": "FeatureCollection", "features": feats}),
            mimetype="application/geo+json",
            headers={"Content-Disposition": 'attachment; filename="comments.geojson"'},
        )

    @require_role("official")
    def cells(resolution: int) -> Any:
        # Hexagon outlines of every cell that ever held a comment: fetched once per resolution and version,
        # so a filter change sends only cell ids and counts.
        if resolution not in H3_RESOLUTIONS:
            flask.abort(404)
        body = json.dumps(analysis.cells_geojson(analysis.all_cells(ctx.engine, resolution)), separators=(",", ":"))
        return flask.Response(
            body, mimetype="application/geo+json", headers={"Cache-Control": "private, max-age=86400"}
        )

    server.add_url_rule("/officials/export.csv", "officials_export_csv", export_csv)
    server.add_url_rule("/officials/export.geojson", "officials_export_geojson", export_geojson)
    server.add_url_rule("/officials/cells/<int:resolution>.geojson", "officials_cells", cells)
