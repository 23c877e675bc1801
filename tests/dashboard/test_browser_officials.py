"""The official's journey in a real browser: log in -> heatmap -> filter -> answer a comment -> log out.
The citizen's side of the answer is checked through the comment's public history (what /track/<token> reads)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from data_sources.store.models import Comment
from tests.dashboard.officials_helpers import PASSWORD, make_officials

pytestmark = pytest.mark.browser


def test_official_journey(page, live_server, demo_engine, demo_city):
    make_officials(demo_engine)
    # A citizen's comment, the newest in the store: it heads the queue, and its author has a tracking link.
    from data_sources.comments.records import CommentInput, submit_comment

    mine = submit_comment(
        demo_engine,
        demo_city,
        CommentInput(
            lat=48.501, lon=9.002, category="walking", text="The pedestrian light at this crossing is far too short."
        ),
    )
    page.goto(f"{live_server}/officials/login?lang=en")
    page.fill("#email", "official@city.example")
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(re.compile(r".*/officials\?lang=en$"))

    # heatmap: hexagons drawn (the outline GeoJSON was fetched with the session), then a filter narrows it
    page.wait_for_selector("#off-heat-map .js-plotly-plot", timeout=20_000)
    summary = page.locator("#off-heat-summary")
    before = summary.inner_text()
    n_before = int(re.sub(r"\D", "", before.split(" comments")[0]))
    page.click("#off-f-category")
    page.get_by_role("dialog").get_by_role("option", name="Traffic", exact=True).click()  # by name, not slug
    page.wait_for_function(
        "t => document.querySelector('#off-heat-summary').innerText !== t", arg=before, timeout=10_000
    )
    n_after = int(re.sub(r"\D", "", summary.inner_text().split(" comments")[0]))
    assert 0 < n_after < n_before
    hexes = page.evaluate("() => document.querySelector('#off-heat-map .js-plotly-plot').data[0].locations.length")
    assert hexes > 0
    # the week slider is told in dates, with no boxes of raw week numbers
    assert re.fullmatch(r"From \d{1,2} \w{3} \d{4} to \d{1,2} \w{3} \d{4}", page.inner_text("#off-f-weeks-label"))
    assert page.locator(".off-weeks input").count() == 0

    # answer the newest comment from the queue
    page.click("a[href^='/officials/queue']")
    page.wait_for_selector("#off-q-table td[data-dash-column='id']", timeout=10_000)
    cid = int(page.locator("#off-q-table td[data-dash-column='id']").first.inner_text())
    assert cid == mine.id
    # search its text: the queue narrows to it, routed to Transport on arrival, placed by district name
    page.fill("#off-q-f-text", "LIGHT AT THIS CROSSING")
    page.press("#off-q-f-text", "Enter")
    page.wait_for_function(
        "() => document.querySelector('#off-q-summary').innerText === 'Matching comments: 1'", timeout=10_000
    )
    row = page.locator("#off-q-table tbody tr").nth(1)  # row 0 is the header
    assert row.locator("td[data-dash-column='department']").inner_text() == "Transport"
    assert row.locator("td[data-dash-column='category']").inner_text() == "Walking"
    assert row.locator("td[data-dash-column='place'] a").get_attribute("href").startswith("/officials?lang=en&at=")
    page.locator("#off-q-table input[type='checkbox']").first.check()
    page.click("#off-q-status")
    page.get_by_role("option", name="Resolved", exact=True).click()  # waits for the list to open
    page.wait_for_function("() => document.querySelector('#off-q-answer').value.length > 0", timeout=10_000)
    page.fill("#off-q-answer", "Fixed on Tuesday: the crossing light now lasts longer.")
    page.click("#off-q-apply")
    page.wait_for_function("() => document.querySelector('#off-q-msg').innerText.includes('Updated 1')", timeout=10_000)

    # log out: back to the login page; the workspace refuses again
    page.click("#off-logout")
    page.wait_for_url(re.compile(r".*/officials/login.*"))
    r = page.request.get(f"{live_server}/officials/export.csv")
    assert r.status == 401
    assert page.errors == []

    # The citizen opens the private tracking link and sees the city's answer and the new status.
    page.goto(f"{live_server}/track/{mine.tracking_token}?lang=en")
    page.wait_for_selector("text=Fixed on Tuesday: the crossing light now lasts longer.", timeout=15_000)
    assert "Resolved" in page.inner_text("main")
    with demo_engine.connect() as conn:
        assert conn.scalar(select(Comment.status).where(Comment.id == cid)) == "resolved"
    assert page.errors == []
