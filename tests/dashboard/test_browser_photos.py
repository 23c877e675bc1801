"""Headless Chromium at phone size: a citizen attaches two photos to a comment (one refused file on the way),
sends it, and sees both photos on the comment's page, free of their location data."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import requests
from PIL import Image

from tests.support import new_tab
from tests.dashboard.test_browser_feedback import _draft
from tests.data_sources.comments.test_photos import jpeg_with_everything

pytestmark = pytest.mark.browser


def test_phone_journey_attach_two_photos_send_and_see_them(live_server: str, browser, tmp_path: Path) -> None:  # noqa: ANN001
    phone = new_tab(
        browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    try:
        shots = []
        for i, size in enumerate([(3000, 2000), (1200, 1600)]):
            p = tmp_path / f"IMG_{i}.jpg"
            p.write_bytes(jpeg_with_everything(size))
            shots.append(str(p))
        fake = tmp_path / "holiday.jpg"
        fake.write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')

        _draft(live_server, phone, "Cycling", "A skip blocks the cycle lane by the school every morning.")
        with phone.expect_file_chooser() as chooser:
            phone.click("#report-photo-add")
        assert chooser.value.is_multiple()
        chooser.value.set_files([*shots, str(fake)])
        phone.wait_for_function(
            "document.querySelectorAll('#report-photos li[data-state=ready]').length === 2"
            " && document.querySelectorAll('#report-photos li[data-state=refused]').length === 1",
            timeout=30_000,
        )
        refused = phone.inner_text("#report-photos li[data-state=refused]")
        assert "not a photo we can read" in refused
        phone.click("#report-photos li[data-state=refused] .photo-remove")
        assert phone.locator("#report-photos li").count() == 2

        phone.click("#report-send")
        phone.wait_for_selector("#report-success", timeout=15_000)
        assert phone.locator("#report-photos li").count() == 0  # the next comment starts without them
        phone.click("#report-public-link")
        # the live page, not the server-rendered copy it replaces (hidden, then removed: its img measures 0 wide)
        phone.wait_for_function("!document.getElementById('first-paint')", timeout=30_000)
        phone.wait_for_selector("#comment-photos img", timeout=30_000)
        phone.wait_for_function(
            "Array.from(document.querySelectorAll('#comment-photos img')).every(i => i.complete && i.naturalWidth > 0)",
            timeout=15_000,
        )
        srcs = phone.eval_on_selector_all("#comment-photos a", "els => els.map(e => e.getAttribute('href'))")
        assert len(srcs) == 2
        for href in srcs:
            body = requests.get(live_server + href, timeout=30).content
            im = Image.open(io.BytesIO(body))
            assert max(im.size) == 1600 and not im.getexif() and b"MAKERNOTE" not in body
        width = phone.evaluate("document.querySelector('#comment-photos img').getBoundingClientRect().width")
        assert 100 <= width <= 390  # fits the phone's screen
        # The one refused upload is answered 415, which Chromium logs; nothing else went wrong.
        assert [e for e in phone.errors if "status of 415" not in e] == []
    finally:
        phone.context.close()
