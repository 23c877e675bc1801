"""Headless Chromium at phone size (390 x 844) on /report: the first view carries no map bundle; a tap puts the pin
exactly where the map was tapped, even on a station's marker; commenting on a station is a separate, explicit
choice; and a comment written with no network waits on the phone and is stored exactly once when the network is
back, with its queued photo."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from data_sources.store.models import Comment, Photo
from tests.data_sources.comments.test_photos import jpeg_with_everything
from tests.support import new_tab

pytestmark = pytest.mark.browser
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
# The map's subplot, as assets/feedback.js reaches it.
MAP = "document.querySelector('#report-map .js-plotly-plot')._fullLayout.map._subplot.map"


def _phone(browser: Any) -> Any:
    return new_tab(browser, **PHONE)


def _comments(engine: Engine) -> list:
    with engine.connect() as c:
        return c.execute(select(Comment.id, Comment.lat, Comment.lon, Comment.feature_id, Comment.text)).all()


def _open_map(live_server: str, phone: Any) -> None:
    phone.goto(live_server + "/report")
    phone.click("#report-map-open", timeout=30_000)
    phone.wait_for_selector("#report-map .maplibregl-canvas", timeout=30_000)
    phone.wait_for_function(f"{MAP}.loaded()", timeout=30_000)
    phone.locator("#report-map").scroll_into_view_if_needed()
    phone.wait_for_timeout(300)


def _visible_station(phone: Any) -> dict:
    """A station drawn well inside the map's box: its position, id, name and where it is on the canvas."""
    return phone.evaluate(
        "() => { const gd = document.querySelector('#report-map .js-plotly-plot'); const t = gd._fullData[0];"
        f" const map = {MAP}; const c = map.getCanvas().getBoundingClientRect();"
        " for (let i = 0; i < t.lat.length; i++) { const p = map.project([t.lon[i], t.lat[i]]);"
        "   if (p.x > 40 && p.y > 40 && p.x < c.width - 40 && p.y < c.height - 40)"
        "     return {lat: t.lat[i], lon: t.lon[i], id: t.customdata[i], name: t.hovertext[i], x: p.x, y: p.y}; }"
        " return null; }"
    )


def _write(phone: Any, category: str, text: str) -> None:
    phone.get_by_label(category, exact=True).check()
    phone.fill("#report-text", text)


def test_first_view_loads_no_map_bundle_and_stays_under_500_kb(live_server: str, browser: Any) -> None:
    phone = _phone(browser)
    try:
        cdp = phone.context.new_cdp_session(phone)
        cdp.send("Network.enable")
        sizes: dict[str, int] = {}
        urls: dict[str, str] = {}
        cdp.on("Network.responseReceived", lambda e: urls.__setitem__(e["requestId"], e["response"]["url"]))
        cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], e["encodedDataLength"]))
        phone.goto(live_server + "/report")
        phone.wait_for_selector("#report-send", timeout=30_000)
        phone.wait_for_load_state("networkidle")
        assert not [u for u in urls.values() if "plotly" in u]
        assert sum(sizes.values()) <= 500_000, sorted(((v, urls.get(k)) for k, v in sizes.items()), reverse=True)[:5]
        # The map comes when asked for, with the partial bundle (not Dash's full plotly.js).
        phone.click("#report-map-open")
        phone.wait_for_selector("#report-map .maplibregl-canvas", timeout=30_000)
        loaded = [u for u in urls.values() if "plotly" in u]
        assert loaded and all("plotly-citydash" in u for u in loaded)
        assert phone.errors == []
    finally:
        phone.context.close()


# The page's largest paint and its layout shifts, as the browser reports them (what Lighthouse reads as LCP and CLS).
VITALS = """
window.vitals = {lcp: [], shifts: []};
new PerformanceObserver(list => list.getEntries().forEach(e => window.vitals.lcp.push({
  first: !!(e.element && e.element.closest('#first-paint')), cls: e.element ? e.element.className : null
}))).observe({type: 'largest-contentful-paint', buffered: true});
new PerformanceObserver(list => list.getEntries().forEach(e => window.vitals.shifts.push(e.value)))
  .observe({type: 'layout-shift', buffered: true});
"""


def test_the_intro_shows_before_dash_draws_and_nothing_moves_when_the_form_comes(
    live_server: str, browser: Any
) -> None:
    """Before Dash has drawn (here: until the first paint is on the screen, the router's answer is held back), the
    phone shows /report's heading and intro, which is the page's largest paint, and no control of the form; when
    Dash draws the form nothing on the screen moves, and no callback is called before the citizen does anything."""
    phone = _phone(browser)
    try:
        phone.add_init_script(VITALS)
        held: list = []
        posts: list[str] = []
        released: list[bool] = []

        def router(route: Any) -> None:
            posts.append(route.request.post_data or "")
            if len(posts) == 1 and not released:
                held.append(route)  # the page's layout: answered once the first paint has been seen
            else:  # (Dash starts after the first paint: its request may come only after the check below)
                route.continue_()

        phone.route("**/_dash-update-component*", router)
        phone.goto(live_server + "/report")
        phone.wait_for_function("window.vitals.lcp.length > 0", timeout=15_000)
        assert phone.locator("#first-paint p.lead").is_visible()
        assert phone.locator("#first-paint h1").inner_text() == "Tell the city"
        assert phone.locator("#first-paint :is(input, textarea, select, button:not(.menu-button))").count() == 0
        assert phone.locator("#report-map-open, #report-send").count() == 0  # no dead control on the screen
        released.append(True)
        for route in held:
            route.continue_()
        phone.wait_for_selector("#report-map-open", timeout=30_000)
        phone.wait_for_selector("#report-district.dash-dropdown", timeout=30_000)  # the dropdowns' code has come
        phone.wait_for_load_state("networkidle")
        phone.wait_for_timeout(500)
        vitals = phone.evaluate("window.vitals")
        assert vitals["lcp"] and all(e["first"] for e in vitals["lcp"]), vitals["lcp"]  # Dash's copy is no larger
        assert vitals["lcp"][-1]["cls"] == "lead"
        assert sum(vitals["shifts"]) < 0.001, vitals["shifts"]  # it was 0.03-0.05: the dropdowns came 34 px late
        assert len(posts) == 1 and '"page.children"' in posts[0], posts  # only the router: nothing else at load
        assert phone.locator("#first-paint").count() == 0 and phone.errors == []
        # The live page works at once: the map opens when asked for.
        phone.click("#report-map-open")
        phone.wait_for_selector("#report-map .maplibregl-canvas", timeout=30_000)
    finally:
        phone.context.close()


def test_a_tap_on_a_station_places_the_pin_there_not_on_the_station(
    live_server: str, browser: Any, demo_engine: Engine
) -> None:
    phone = _phone(browser)
    try:
        _open_map(live_server, phone)
        # Where a station is drawn, then a few px beside it: a tap on its marker, not its exact centre.
        st = _visible_station(phone)
        xy = [st["x"], st["y"]]
        box = phone.locator("#report-map .maplibregl-canvas").bounding_box()
        tap = (round(box["x"] + xy[0] + 6), round(box["y"] + xy[1] + 4))  # a click lands on whole CSS pixels
        expected = phone.evaluate(
            f"([x, y]) => {{ const map = {MAP}; const r = map.getCanvas().getBoundingClientRect();"
            " const ll = map.unproject([x - r.left, y - r.top]); return [ll.lat, ll.lng]; }",
            list(tap),
        )
        phone.mouse.click(*tap)
        phone.wait_for_selector("#report-place >> text=Pin placed", timeout=15_000)
        assert phone.locator("#report-about").count() == 0  # not made a comment on the station
        pin = phone.evaluate(
            "() => { const gd = document.querySelector('#report-map .js-plotly-plot');"
            " return [gd._fullData[1].lat[0], gd._fullData[1].lon[0]]; }"
        )
        assert pin == pytest.approx(expected, abs=1e-9) and pin != pytest.approx([st["lat"], st["lon"]], abs=1e-7)
        before = len(_comments(demo_engine))
        _write(phone, "Street", "The kerb is broken right here, beside the station.")
        phone.click("#report-send")
        phone.wait_for_selector("#report-success", timeout=15_000)
        stored = _comments(demo_engine)
        assert len(stored) == before + 1
        new = max(stored, key=lambda r: r.id)
        assert (new.lat, new.lon) == pytest.approx(expected, abs=1e-9) and new.feature_id is None
        assert phone.errors == []
    finally:
        phone.context.close()


def test_choosing_a_station_is_an_explicit_press(live_server: str, browser: Any, demo_engine: Engine) -> None:
    phone = _phone(browser)
    try:
        _open_map(live_server, phone)
        st = _visible_station(phone)
        xy = [st["x"], st["y"]]
        box = phone.locator("#report-map .maplibregl-canvas").bounding_box()
        phone.mouse.click(box["x"] + xy[0] + 3, box["y"] + xy[1] + 3)
        phone.wait_for_selector("#report-near", timeout=15_000)
        assert phone.locator("#report-about").count() == 0
        phone.get_by_role("button", name=f"Comment on {st['name']}").first.click()
        phone.wait_for_selector(f"#report-about >> text={st['name']}", timeout=15_000)
        _write(phone, "Air", "The air by this station smells of diesel every morning.")
        phone.click("#report-send")
        phone.wait_for_selector("#report-success", timeout=15_000)
        new = max(_comments(demo_engine), key=lambda r: r.id)
        assert new.feature_id == st["id"] and (new.lat, new.lon) == pytest.approx((st["lat"], st["lon"]))
        assert phone.errors == []
    finally:
        phone.context.close()


def _offline_journey(live_server: str, browser: Any, demo_engine: Engine, photo: Path | None) -> None:
    phone = _phone(browser)
    try:
        phone.goto(live_server + "/report")
        phone.wait_for_selector("#report-district", timeout=30_000)
        phone.click("#report-district")  # a district gives a place without the map
        phone.get_by_role("option").first.click()
        phone.wait_for_selector("#report-place >> text=Pin placed", timeout=15_000)
        before = len(_comments(demo_engine))
        phone.context.set_offline(True)
        text = "Written in the underground car park, where there is no network."
        _write(phone, "Noise", text)
        if photo is not None:
            with phone.expect_file_chooser() as chooser:
                phone.click("#report-photo-add")
            chooser.value.set_files([str(photo)])
            phone.wait_for_selector("#report-photos li[data-state=queued]", timeout=15_000)
        phone.click("#report-send")
        phone.wait_for_selector("#report-waiting", timeout=15_000)
        assert "Waiting to send" in phone.inner_text("#report-waiting")
        phone.wait_for_timeout(500)
        assert len(_comments(demo_engine)) == before  # nothing reached the server
        phone.context.set_offline(False)
        phone.wait_for_selector("#report-success", timeout=30_000)
        phone.wait_for_timeout(1500)  # time for a second delivery, if the page made one
        stored = _comments(demo_engine)
        assert len(stored) == before + 1 and max(stored, key=lambda r: r.id).text == text
        assert phone.input_value("#report-text") == ""
        assert phone.evaluate("window.localStorage.getItem('citydash-drafts')") is None
        if photo is not None:
            with demo_engine.connect() as c:
                n = c.scalar(select(func.count()).select_from(Photo).where(Photo.comment_id == max(stored)[0]))
            assert n == 1
        # Offline, the page's own server callbacks (evidence, similar comments) fail, and Chromium says so.
        offline = ("ERR_INTERNET_DISCONNECTED", "the server did not respond")
        assert [e for e in phone.errors if not any(o in e for o in offline)] == []
    finally:
        phone.context.close()


def test_offline_draft_is_stored_once_when_the_network_is_back(
    live_server: str, browser: Any, demo_engine: Engine
) -> None:
    _offline_journey(live_server, browser, demo_engine, None)


def test_offline_draft_with_a_queued_photo(live_server: str, browser: Any, demo_engine: Engine, tmp_path: Path) -> None:
    shot = tmp_path / "IMG_0001.jpg"
    shot.write_bytes(jpeg_with_everything((1200, 900)))
    _offline_journey(live_server, browser, demo_engine, shot)


def test_axe_on_the_report_page_with_the_map_open_and_stations_listed(live_server: str, browser: Any) -> None:
    axe = Path(os.environ.get("CITYDASH_AXE_JS") or "/work/node_modules/axe-core/axe.min.js")
    if not axe.exists():
        pytest.skip("axe-core not available (CITYDASH_AXE_JS)")
    phone = _phone(browser)
    try:
        _open_map(live_server, phone)
        st = _visible_station(phone)
        box = phone.locator("#report-map .maplibregl-canvas").bounding_box()
        phone.mouse.click(box["x"] + st["x"] + 3, box["y"] + st["y"] + 3)
        phone.wait_for_selector("#report-near button", timeout=15_000)
        # The new buttons are tap targets of at least 44 px.
        sizes = phone.eval_on_selector_all(
            "#report-near button, #report-map-open, #report-locate",
            "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; })",
        )
        assert sizes and all(w >= 44 and h >= 44 for w, h in sizes if w > 0)
        phone.add_script_tag(content=axe.read_text())
        result = phone.evaluate("axe.run(document, {resultTypes: ['violations']})")
        # Dash 4's dcc.Dropdown draws an aria-hidden input that passes focus on to its real button (a label
        # target); axe flags it on every page with a dropdown. Everything else must be clean.
        bad = [
            f"{v['id']} ({v['impact']}): {v['help']} -> {targets}"
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
            for targets in [[n["target"] for n in v["nodes"] if "dash-dropdown-focus-target" not in str(n["target"])]]
            if targets
        ]
        assert not bad, "\n".join(bad)
    finally:
        phone.context.close()
