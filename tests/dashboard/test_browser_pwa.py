"""Headless Chromium at phone size: the service worker keeps the public pages seen and the app shell, shows a
saved page offline marked "Offline: figures from <time>", and never keeps officials' pages, tracking pages or any
POST answer."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import new_tab

pytestmark = pytest.mark.browser
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
CACHED = """async () => {
  const out = [];
  for (const name of await caches.keys()) {
    const c = await caches.open(name);
    for (const r of await c.keys()) out.push([name, r.method, new URL(r.url).pathname]);
  }
  return out;
}"""


def test_pages_seen_are_shown_offline_and_nothing_private_is_kept(live_server: str, browser: Any) -> None:
    phone = new_tab(browser, **PHONE)
    try:
        phone.goto(live_server + "/")
        phone.wait_for_function("navigator.serviceWorker.controller !== null", timeout=30_000)
        # Now under the worker: a public page, an official's page, a tracking link, and POSTs.
        phone.goto(live_server + "/?lang=en")
        phone.wait_for_selector("#main", timeout=30_000)
        phone.goto(live_server + "/officials/login")
        phone.goto(live_server + "/track/not-a-real-token")
        phone.goto(live_server + "/about")
        phone.wait_for_selector("#main", timeout=30_000)
        status = phone.evaluate(
            "fetch('/report/send', {method: 'POST', headers: {'Content-Type': 'application/json'},"
            " body: JSON.stringify({text: 'x'})}).then(r => r.status)"
        )
        assert status == 422
        phone.wait_for_timeout(500)
        kept = phone.evaluate(CACHED)
        paths = {p for _, _, p in kept}
        assert {"/", "/about", "/_dash-layout", "/_dash-dependencies"} <= paths
        assert {m for _, m, _ in kept} == {"GET"}
        private = [p for p in paths if p.startswith(("/officials", "/track", "/report/", "/_dash-update-component"))]
        assert private == []

        phone.context.set_offline(True)
        phone.goto(live_server + "/?lang=en")
        phone.wait_for_selector("#offline-note", timeout=15_000)
        phone.wait_for_function("document.getElementById('offline-note').textContent.length > 0")
        assert phone.inner_text("#offline-note").startswith("Offline: figures from ")
        assert phone.locator("#first-paint .kpi").count() > 0  # the figures of that visit, readable
        with pytest.raises(Exception, match="ERR_INTERNET_DISCONNECTED"):
            phone.goto(live_server + "/officials/login")
    finally:
        phone.context.close()
