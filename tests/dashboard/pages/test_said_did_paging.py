"""'You said, we did' pages by keyset over real HTTP, without JavaScript: an "older" link carries the cursor, and a
cursor the page did not hand out is a 400 with a short reason."""

from __future__ import annotations

import re
from html import unescape

import requests

from tests.support import _outputs


def _page(url: str) -> tuple[list[str], str | None]:
    r = requests.get(url, timeout=30)
    assert r.status_code == 200
    items = re.findall(r'href="/comments/(\d+)\?', r.text)
    older = re.search(
        r'<a[^>]*href="([^"]*cursor=[^"]*)"[^>]*id="said-did-older"|<a[^>]*id="said-did-older"[^>]*href="([^"]*)"',
        r.text,
    )
    return items, unescape(older.group(1) or older.group(2)) if older else None


def test_older_link_pages_through_every_resolved_comment_without_js(live_server: str) -> None:
    first, older = _page(f"{live_server}/you-said-we-did?lang=en")
    assert len(first) == 50 and older, "the first page is full and links to older ones"
    seen = list(first)
    pages = 1
    while older and pages < 40:
        items, older = _page(live_server + older)
        seen += items
        pages += 1
    assert pages > 1 and older is None
    assert len(seen) == len(set(seen)), "a comment was shown on two pages"


def test_a_bad_cursor_is_a_clear_400(live_server: str) -> None:
    for bad in ("nonsense", "eyJ4Ijoi", "W1siMjAyNiJdXQ", "%00" * 5, "A" * 1000):
        r = requests.get(f"{live_server}/you-said-we-did?cursor={bad}", timeout=30)
        assert r.status_code == 400, bad
        assert "cursor" in r.text.lower() and len(r.text) < 200


def test_officials_paging_callbacks_refuse_an_outsider_over_http(live_server: str) -> None:
    """The queue's and the moderation queue's keyset callbacks answer nothing without a login, whatever cursor
    the request carries."""
    import json

    deps = requests.get(f"{live_server}/_dash-dependencies", timeout=30).json()
    forged = {"off-q-cursors": [None, "forged"], "off-mod-page": {"at": None, "next": "forged"}}
    found = 0
    for d in deps:
        if not any(k in d["output"] for k in forged):
            continue
        found += 1

        def value(item: dict) -> dict:
            return {**item, "value": forged.get(item["id"])}

        body = {
            "output": d["output"],
            "outputs": _outputs(d["output"]),
            "inputs": [value(i) for i in d["inputs"]],
            "state": [value(x) for x in d.get("state", [])],
            "changedPropIds": [f"{d['inputs'][0]['id']}.{d['inputs'][0]['property']}"],
        }
        r = requests.post(
            f"{live_server}/_dash-update-component",
            data=json.dumps(body),
            headers={"Content-Type": "application/json", "Origin": live_server},
            timeout=30,
        )
        assert r.status_code == 401 and "response" not in r.text, (d["output"], r.status_code)
    assert found == 2
