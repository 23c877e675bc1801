"""Headless Chromium: hostile text stays inert on every page that shows it, and a citizen's whole journey works:
place a pin, write, send, open the tracking page."""

import pytest

from data_sources.comments.records import CommentInput, submit_comment

pytestmark = pytest.mark.browser

XSS = [
    "<script>alert(1)</script> at the corner",
    "<img src=x onerror=alert(1)> broken lamp",
    "<svg onload=alert(1)></svg> noisy lorries",
    "javascript:alert(1) // link in text",
    '"><iframe src=javascript:alert(1)></iframe> bins',
    '<a href="javascript:alert(1)">click me</a> please',
    "{{constructor.constructor('alert(1)')()}} template",
    "<details open ontoggle=alert(1)> benches",
]


def test_xss_payloads_stay_text(demo_engine, demo_city, live_server, page):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    stored = [
        submit_comment(demo_engine, demo_city, CommentInput(lat=48.5, lon=9.0, category="street", text=p)) for p in XSS
    ]
    for payload, r in zip(XSS, stored):
        for path in (f"/comments/{r.id}", f"/track/{r.tracking_token}"):
            page.goto(live_server + path)
            page.wait_for_selector("#comment-text", timeout=30_000)
            assert page.inner_text("#comment-text").strip() == payload
    page.goto(live_server + "/you-said-we-did")
    page.wait_for_selector("h1", timeout=30_000)
    page.wait_for_timeout(300)
    assert dialogs == []
    assert (
        page.evaluate(
            "document.querySelectorAll('#main script, #main iframe, #main svg[onload], #main img[onerror]').length"
        )
        == 0
    )
    assert page.errors == []


def _draft(live_server, page, category: str, text: str) -> None:
    """Open /report, open the map, tap a spot on it, choose ``category`` and write ``text``."""
    page.goto(live_server + "/report")
    page.click("#report-map-open", timeout=30_000)
    page.wait_for_selector("#report-map .maplibregl-canvas", timeout=30_000)
    page.locator("#report-map").scroll_into_view_if_needed()  # below the form's first choices on a phone
    page.wait_for_timeout(800)
    box = page.locator("#report-map .maplibregl-canvas").bounding_box()
    # A spot in the top-left quarter of the map: the pin goes exactly there, station or not.
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.35)
    page.wait_for_selector("#report-place >> text=Pin placed", timeout=15_000)
    page.get_by_label(category, exact=True).check()
    page.fill("#report-text", text)


def test_journey_pin_write_send_track(live_server, page):
    text = "The pavement is broken outside the bakery."
    _draft(live_server, page, "Street", text)
    page.wait_for_selector(f"#report-count >> text={len(text)} characters", timeout=5_000)
    page.click("#report-send")
    page.wait_for_selector("#report-success", timeout=15_000)
    assert page.input_value("#report-text") == ""
    page.click("#report-track-link")
    page.wait_for_selector("#comment-text", timeout=30_000)
    assert page.inner_text("#comment-text").strip() == text
    assert "private tracking link" in page.inner_text("#main")
    assert page.errors == []


def test_rejection_keeps_the_draft(live_server, page):
    page.goto(live_server + "/report?lang=es")
    page.wait_for_selector("#report-text", timeout=30_000)
    page.fill("#report-text", "Sin lugar elegido todavía, pero con texto.")
    page.click("#report-send")
    page.wait_for_selector("#report-error", timeout=15_000)
    assert "Elige un lugar en el mapa." in page.inner_text("#report-error")
    assert page.input_value("#report-text") == "Sin lugar elegido todavía, pero con texto."


def test_no_answer_keeps_the_draft_and_send_again_stores_it(live_server, page):
    text = "Sent on a train through a tunnel: no answer came."
    _draft(live_server, page, "Noise", text)
    page.route("**/report/send", lambda route: route.abort())  # the network drops the request
    page.click("#report-send")
    page.wait_for_selector("#report-waiting", timeout=15_000)  # kept on the phone as a draft
    assert "Waiting to send" in page.inner_text("#report-waiting")
    assert page.input_value("#report-text") == text and page.is_enabled("#report-send")
    page.unroute("**/report/send")
    page.click("#report-send")
    page.wait_for_selector("#report-success", timeout=15_000)
    assert page.input_value("#report-text") == ""


def test_use_my_location_places_the_pin(live_server, browser):
    ctx = browser.new_context(
        viewport={"width": 390, "height": 844},
        geolocation={"latitude": 48.51, "longitude": 9.01},
        permissions=["geolocation"],
    )
    page = ctx.new_page()
    try:
        page.goto(live_server + "/report")
        page.click("#report-locate", timeout=30_000)  # no map needed for this
        page.wait_for_selector("#report-place >> text=Pin placed", timeout=15_000)
        assert "your location" in page.inner_text("#report-locate-status")
        assert page.locator("#report-map").count() == 0
    finally:
        ctx.close()
