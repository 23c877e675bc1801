"""The installable app over HTTP: the manifest, its icons and the service worker are served from the app with the
right types and headers, every page links them, and what a signed-in official sees is marked never to be kept."""

from __future__ import annotations

import io
import json
import re
from typing import Any

from PIL import Image
from sqlalchemy import Engine

from dashboard.http.pwa import public_page_patterns
from tests.dashboard.officials_helpers import login, make_officials


def test_manifest_is_served_with_its_type_and_installable_fields(client: Any, demo_city: Any) -> None:
    r = client.get("/manifest.webmanifest")
    assert r.status_code == 200 and r.mimetype == "application/manifest+json"
    m = json.loads(r.data)
    assert m["name"] == demo_city.city.name and m["start_url"] == "/" and m["display"] == "standalone"
    assert re.fullmatch(r"#[0-9a-f]{6}", m["theme_color"])
    purposes = {(i["sizes"], i["purpose"]) for i in m["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= purposes
    for icon in m["icons"]:
        got = client.get(icon["src"])
        assert got.status_code == 200 and got.mimetype == "image/png"
        img = Image.open(io.BytesIO(got.data))
        assert img.format == "PNG" and f"{img.width}x{img.height}" == icon["sizes"]
    assert client.get("/icons/nothing.png").status_code == 404


def test_the_maskable_icon_fills_its_square_and_keeps_the_pin_in_the_safe_zone(client: Any) -> None:
    img = Image.open(io.BytesIO(client.get("/icons/maskable-512.png").data)).convert("RGB")
    corner = img.getpixel((2, 2))
    assert corner == (0x00, 0x5A, 0x9C)  # no transparent corners: the platform crops it
    white = [(x, y) for x in range(0, 512, 4) for y in range(0, 512, 4) if min(img.getpixel((x, y))) > 240]
    assert white  # the pin is drawn
    # Everything drawn lies inside the central circle of radius 40 % (the maskable safe zone).
    assert max(((x - 256) ** 2 + (y - 256) ** 2) ** 0.5 for x, y in white) <= 0.4 * 512


def test_service_worker_is_served_at_the_root_scope(client: Any) -> None:
    r = client.get("/sw.js")
    assert r.status_code == 200 and r.mimetype in ("text/javascript", "application/javascript")
    assert r.headers["Service-Worker-Allowed"] == "/" and r.headers["Cache-Control"] == "no-cache"
    body = r.get_data(as_text=True)
    assert "__VERSION__" not in body and "__PUBLIC_PAGES__" not in body
    assert 'if (req.method !== "GET") { return; }' in body  # POST never answered nor stored by the worker


def test_the_worker_keeps_only_public_pages() -> None:
    pages = [re.compile("^(?:" + p.replace("(?<", "(?P<") + ")/?$") for p in public_page_patterns()]

    def kept(path: str) -> bool:
        return any(p.match(path) for p in pages)

    for path in ("/", "/air", "/report", "/comments/12", "/you-said-we-did", "/ledger", "/about"):
        assert kept(path), path
    for path in ("/officials", "/officials/queue", "/track/abc", "/report/send", "/report/photos", "/media/x.jpg"):
        assert not kept(path), path


def test_every_page_links_the_manifest_in_its_language(client: Any) -> None:
    html = client.get("/about?lang=es").get_data(as_text=True)
    assert '<link rel="manifest" href="/manifest.webmanifest">' in html
    assert '<meta name="citydash-offline" content="Sin conexión: cifras de {time}">' in html
    assert "/assets/pwa.js" in html  # registers the worker


def test_answers_to_a_signed_in_official_are_never_kept(client: Any, demo_engine: Engine) -> None:
    assert "no-store" not in (client.get("/").headers.get("Cache-Control") or "")
    make_officials(demo_engine)
    assert login(client, "moderator").status_code in (302, 303)
    for path in ("/", "/officials/queue", "/_dash-layout"):
        r = client.get(path)
        assert "no-store" in r.headers["Cache-Control"] and "private" in r.headers["Cache-Control"], path
