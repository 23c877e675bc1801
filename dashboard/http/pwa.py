"""The installable app: a web app manifest, its icons and a service worker, all served from the app (no
third-party service).

* ``GET /manifest.webmanifest``: name, colours and icons (``application/manifest+json``);
* ``GET /icons/icon-192.png``, ``icon-512.png``, ``maskable-512.png``: drawn with Pillow on first request (a map
  pin on the indicator colour; the maskable one keeps it inside the 80 % safe zone);
* ``GET /sw.js``: assets/deferred/sw.js with this release's version and the public pages it may keep, at the root
  scope (``Service-Worker-Allowed: /``). It keeps the shell and the last public pages seen and shows them offline
  with "Offline: figures from <time>"; it never stores officials' pages, tracking pages, POST answers or any
  response marked ``no-store``/``private`` (every answer to a signed-in official is marked so here).

Every page links the manifest and carries the offline note's words in its language (``head_tags``, added by
dashboard/http/frontend.py); assets/pwa.js registers the worker.
"""

from __future__ import annotations

import hashlib
import io
import json
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import flask
from markupsafe import escape
from PIL import Image, ImageDraw

from dashboard.i18n import translator
from dashboard.pages import PAGES
from dashboard.server.auth import current_official

if TYPE_CHECKING:
    from dash import Dash

    from dashboard.context import AppContext

THEME_COLOUR = "#005a9c"  # --accent in assets/style.css
BACKGROUND_COLOUR = "#f6f8fa"  # --bg
ICONS = {"icon-192": (192, False), "icon-512": (512, False), "maskable-512": (512, True)}
PRIVATE_PREFIXES = ("/officials", "/track")  # never kept by the service worker, whatever else they match
SW_SOURCE = Path(__file__).resolve().parent.parent.parent / "assets" / "deferred" / "sw.js"


def public_page_patterns() -> list[str]:
    """The paths of the public pages as JavaScript regular expressions (the service worker keeps only these)."""
    out = []
    for route in PAGES:
        if route.page.PATH.startswith(PRIVATE_PREFIXES):
            continue
        pattern = route.pattern.pattern.replace("(?P<", "(?<")
        out.append(pattern if pattern != "/" else "")  # "/" and "" (with the optional trailing slash)
    return out


def service_worker_source() -> str:
    """assets/deferred/sw.js with its version (a hash of the worker and the page list) and the public pages."""
    pages = json.dumps(public_page_patterns())
    body = SW_SOURCE.read_text(encoding="utf-8").replace("__PUBLIC_PAGES__", pages)
    version = hashlib.sha256(body.encode()).hexdigest()[:12]
    return body.replace("__VERSION__", version)


@lru_cache(maxsize=len(ICONS))
def icon_png(name: str) -> bytes:
    """One icon as PNG bytes: a white map pin on the indicator colour (inside the safe zone when maskable)."""
    size, maskable = ICONS[name]
    scale = 4  # drawn large and scaled down: smooth edges without a vector library
    s = size * scale
    img = Image.new("RGB", (s, s), THEME_COLOUR)
    draw = ImageDraw.Draw(img)
    if not maskable:  # "any" icons: a rounded square on transparent corners
        img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
        draw = ImageDraw.Draw(img)
        draw.rounded_rectangle((0, 0, s - 1, s - 1), radius=s // 6, fill=THEME_COLOUR)
    zone = 0.8 if maskable else 1.0  # a maskable icon's content stays in the middle 80 %
    r = s * zone * 0.2  # the pin's head
    cx, cy = s / 2, s / 2 - r * 0.55
    draw.polygon([(cx - r * 0.87, cy + r * 0.5), (cx + r * 0.87, cy + r * 0.5), (cx, cy + r * 2.3)], fill="white")
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill="white")
    draw.ellipse((cx - r * 0.42, cy - r * 0.42, cx + r * 0.42, cy + r * 0.42), fill=THEME_COLOUR)
    out = io.BytesIO()
    img.resize((size, size), Image.Resampling.LANCZOS).save(out, "PNG", optimize=True)
    return out.getvalue()


def manifest(ctx: AppContext) -> dict:
    city = ctx.city.city
    return {
        "name": city.name,
        "short_name": city.name[:12],
        "description": f"{city.name}: open data and citizens' comments",
        "lang": city.default_language,
        "start_url": "/",
        "scope": "/",
        "id": "/",
        "display": "standalone",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": [
            {"src": f"/icons/{name}.png", "sizes": f"{size}x{size}", "type": "image/png", "purpose": purpose}
            for name, (size, maskable) in ICONS.items()
            for purpose in ["maskable" if maskable else "any"]
        ],
    }


def head_tags(lang: str) -> str:
    """The tags every page carries in <head>: the manifest, the indicator colour, the icon, the offline note's words."""
    _ = translator(lang)
    return (
        '\n      <link rel="manifest" href="/manifest.webmanifest">'
        f'\n      <meta name="theme-color" content="{THEME_COLOUR}">'
        '\n      <link rel="apple-touch-icon" href="/icons/icon-192.png">'
        f'\n      <meta name="citydash-offline" content="{escape(_("Offline: figures from {time}", time="{time}"))}">'
    )


def init_app(app: Dash, ctx: AppContext) -> None:
    server = app.server

    def manifest_view() -> flask.Response:
        resp = flask.Response(json.dumps(manifest(ctx)), mimetype="application/manifest+json")
        resp.headers["Cache-Control"] = "public, max-age=3600"
        return resp

    def icon_view(name: str) -> flask.Response:
        if name not in ICONS:
            flask.abort(404)
        resp = flask.Response(icon_png(name), mimetype="image/png")
        resp.headers["Cache-Control"] = "public, max-age=86400"
        return resp

    source = service_worker_source()

    def worker_view() -> flask.Response:
        resp = flask.Response(source, mimetype="text/javascript")
        resp.headers["Cache-Control"] = "no-cache"  # a new release's worker is seen on the next visit
        resp.headers["Service-Worker-Allowed"] = "/"
        return resp

    server.add_url_rule("/manifest.webmanifest", "pwa_manifest", manifest_view)
    server.add_url_rule("/icons/<name>.png", "pwa_icon", icon_view)
    server.add_url_rule("/sw.js", "pwa_worker", worker_view)

    @server.after_request
    def private_for_officials(resp: flask.Response) -> flask.Response:
        # What a signed-in official sees is never kept by the service worker (nor any shared cache).
        if resp.mimetype in ("text/html", "application/json") and current_official() is not None:
            resp.headers["Cache-Control"] = "private, no-store"
        return resp
