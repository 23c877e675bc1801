"""Headless Chromium: an official sees a comment's photo as a thumbnail in the queue, attaches a photo to the answer
(one refused file on the way), and the citizen's comment page then shows the city's photo beside the answer, free
of its metadata; "you said, we did" shows the two photos before and after."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import requests
from PIL import Image

from data_sources.comments.photo_records import upload_photo
from data_sources.comments.records import CommentInput, submit_comment
from tests.dashboard.officials_helpers import PASSWORD, make_officials
from tests.data_sources.comments.test_photos import jpeg_with_everything

pytestmark = pytest.mark.browser


def test_official_attaches_a_photo_to_an_answer_in_the_browser(page, app, live_server, demo_engine, tmp_path: Path):  # noqa: ANN001
    ctx = app.server.extensions["citydash"]
    make_officials(demo_engine)
    before_id = upload_photo(ctx.engine, ctx.media, jpeg_with_everything((1200, 900)))
    cid = submit_comment(
        ctx.engine,
        ctx.city,
        CommentInput(
            lat=48.501,
            lon=9.002,
            category="street",
            text="A broken bench in the little square.",
            photo_ids=(before_id,),
        ),
        hold_for_review=None,
    ).id
    shot = tmp_path / "IMG_2001.jpg"
    shot.write_bytes(jpeg_with_everything((3000, 2000)))
    fake = tmp_path / "after.jpg"
    fake.write_text("<html><body>not a photo</body></html>")

    page.goto(f"{live_server}/officials/login?lang=en")
    page.fill("#email", "official@city.example")
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(re.compile(r".*/officials\?lang=en$"))
    page.goto(f"{live_server}/officials/queue?lang=en")
    page.wait_for_selector("#off-q-table td[data-dash-column='id']", timeout=15_000)
    page.fill("#off-q-f-text", "broken bench in the little square")
    page.press("#off-q-f-text", "Enter")
    page.wait_for_function(
        "() => document.querySelector('#off-q-summary').innerText === 'Matching comments: 1'", timeout=10_000
    )
    # The comment's photo as a thumbnail in its row, loaded through the officials' address with the session.
    thumb = page.locator("#off-q-table td[data-dash-column='photos'] img")
    thumb.wait_for(timeout=10_000)
    assert thumb.get_attribute("src") == f"/officials/media/{before_id}.thumb.jpg"
    page.wait_for_function(
        "() => { const i = document.querySelector(\"#off-q-table td[data-dash-column='photos'] img\");"
        " return i && i.complete && i.naturalWidth > 0; }",
        timeout=10_000,
    )

    page.locator("#off-q-table input[type='checkbox']").first.check()
    page.click("#off-q-status")
    page.get_by_role("option", name="Resolved", exact=True).click()
    page.wait_for_function("() => document.querySelector('#off-q-answer').value.length > 0", timeout=10_000)
    page.fill("#off-q-answer", "A new bench was fitted on Monday.")
    upload = page.locator("#off-q-photo-upload input[type='file']")
    upload.set_input_files(str(fake))
    page.wait_for_function(
        "() => document.querySelector('#off-q-photo-msg').innerText.includes('not a photo')", timeout=15_000
    )
    upload.set_input_files(str(shot))
    page.wait_for_function(
        "() => document.querySelector('#off-q-photo-msg').innerText.includes('Photo ready')", timeout=30_000
    )
    page.click("#off-q-apply")
    page.wait_for_function("() => document.querySelector('#off-q-msg').innerText.includes('Updated 1')", timeout=10_000)
    page.wait_for_function("() => document.querySelector('#off-q-photo-msg').innerText === ''", timeout=10_000)
    assert page.errors == []

    # The citizen's side, without the session: the city's photo beside the answer.
    citizen = page.context.browser.new_context()
    try:
        public = citizen.new_page()
        public.goto(f"{live_server}/comments/{cid}?lang=en")
        public.wait_for_selector(".history-item .photo-gallery img", timeout=15_000)
        public.wait_for_function(
            "() => Array.from(document.querySelectorAll('.history-item .photo-gallery img'))"
            ".every(i => i.complete && i.naturalWidth > 0)",
            timeout=15_000,
        )
        href = public.get_attribute(".history-item .photo-gallery a", "href")
        body = requests.get(live_server + href, timeout=30).content
        im = Image.open(io.BytesIO(body))
        assert im.size == (1600, 1067) and not im.getexif() and b"GPS" not in body
        assert public.get_attribute(".history-item .photo-gallery img", "alt") == "Photo from the city 1 of 1"

        public.goto(f"{live_server}/you-said-we-did?lang=en")
        public.wait_for_selector("#said-did-list .before-after", timeout=15_000)
        entry = public.locator("#said-did-list li.comment-item", has_text="A broken bench in the little square.")
        alts = entry.locator(".before-after img").evaluate_all("els => els.map(e => e.alt)")
        assert alts == ["Before (the citizen's photo)", "After (the city's photo)"]
        srcs = entry.locator(".before-after img").evaluate_all("els => els.map(e => e.getAttribute('src'))")
        assert srcs[0] == f"/media/{before_id}.thumb.jpg" and srcs[1] == href.replace(".jpg", ".thumb.jpg")
    finally:
        citizen.close()
