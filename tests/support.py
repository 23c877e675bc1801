"""Helpers that tests import (fixtures stay in conftest.py): paths, the demo's fixed "now", the test servers' URLs,
real payloads, Dash requests as a browser sends them, a free port, a browser tab that records errors."""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from datetime import datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The real payloads live beside the project, never inside it; CITYDASH_REALDATA points elsewhere (a worktree).
REALDATA = Path(os.environ.get("CITYDASH_REALDATA") or ROOT.parent / "shared" / "realdata")
# Fixed "now" for the demo city in tests: every figure is reproducible.
DEMO_END = datetime(2026, 11, 16, 9, 0)  # a Monday, 09:00 UTC (morning peak)
PG_URL = os.environ.get("CITYDASH_TEST_POSTGRES_URL", "")
REDIS_URL = os.environ.get("CITYDASH_TEST_REDIS_URL", "")


def clear_of_a_minute_edge(need_s: float) -> None:
    """Wait, if need be, until at least ``need_s`` seconds remain in the clock's minute. Rate limits count in
    windows aligned to the minutes (the ``limits`` library's sliding-window counter); a burst that straddles a
    minute's start has its earlier part weighted a little under one and rounded down, so the limit lets one more
    through. A test that counts up to a per-minute limit starts where its whole burst fits in one minute."""
    left = 60 - time.time() % 60
    if left < need_s:
        time.sleep(left + 0.05)


def realdata(*parts: str) -> Path:
    """A file under ../shared/realdata, or skip the test when that folder is absent."""
    p = REALDATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"real payload not available: {p}")
    return p


def dash_update(
    client,
    output: str,
    inputs: list[dict],
    state: list[dict] | None = None,
    changed: list[str] | None = None,
    headers: dict | None = None,
):
    """POST to /_dash-update-component as the browser does. ``output`` like 'page.children' or '..a.x...b.y..'."""
    body = {
        "output": output,
        "outputs": _outputs(output),
        "inputs": inputs,
        "state": state or [],
        "changedPropIds": changed if changed is not None else [f"{i['id']}.{i['property']}" for i in inputs],
    }
    return client.post(
        "/_dash-update-component", data=json.dumps(body), content_type="application/json", headers=headers or {}
    )


def _outputs(output: str):
    if output.startswith(".."):
        parts = [p for p in output.strip(".").split("...") if p]
        return [{"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]} for p in parts]
    cid, prop = output.rsplit(".", 1)
    return {"id": cid, "property": prop}


def render_page(client, path: str, search: str = "", headers: dict | None = None) -> dict:
    """The page layout the router returns for ``path``, as JSON."""
    r = dash_update(
        client,
        "page.children",
        [{"id": "url", "property": "pathname", "value": path}, {"id": "url", "property": "search", "value": search}],
        headers=headers,
    )
    assert r.status_code == 200, r.data[:500]
    return r.get_json()["response"]["page"]["children"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-gl=swiftshader",
    "--enable-unsafe-swiftshader",
]


def new_tab(browser, bypass_csp: bool = True, **context_options):
    """A tab in a fresh browser context that records console errors and page errors in ``tab.errors``.

    Tests probe pages with strings of JavaScript (``wait_for_function``, injected axe-core), which the app's
    Content Security Policy rightly forbids, so test tabs bypass it; tests/dashboard/server/test_security.py opens
    pages with ``bypass_csp=False``, as a citizen's browser does."""
    ctx = browser.new_context(bypass_csp=bypass_csp, **context_options)
    p = ctx.new_page()
    p.errors = []
    p.on("console", lambda m: p.errors.append(m.text) if m.type == "error" else None)
    p.on("pageerror", lambda e: p.errors.append(str(e)))
    return p


def s3_client(endpoint: str):
    """A boto3 S3 client for the loopback store (moto accepts any keys)."""
    boto3 = pytest.importorskip("boto3")
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
