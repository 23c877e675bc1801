"""The reciprocity pages at a million comments, as the server answers them (Dash's router callback through Flask's
test client: the query, the layout and its JSON; no cache: the ledger's per-process cache is emptied before every
run, so each figure is a first render).

    python -m bench.comment_scale [N] [URL]     # default 1,000,000 comments, sqlite:////tmp/citydash-comments-N.sqlite

The store is filled once with the demo generator (``load_demo``: comments over 180 days with their status
history; minutes to an hour at a million on a shared 2-core machine), then reused. Prints the median of 5 runs
per case in milliseconds; "before" is the ledger computed the old way (the whole history in pandas,
``city_ledger_from_history``) through the same page, in the same run.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboard.app import create_app  # noqa: E402
from dashboard.context import get_context  # noqa: E402
from dashboard.pages import ledger as ledger_page  # noqa: E402
from data_sources.comments.accounts import create_official, hash_password  # noqa: E402
from data_sources.comments.ledger import city_ledger, city_ledger_from_history  # noqa: E402
from data_sources.config import Settings, load_city  # noqa: E402
from data_sources.demo import load_demo  # noqa: E402
from data_sources.store.db import open_store  # noqa: E402

END = datetime(2026, 11, 16, 9)


def median_ms(fn: Callable[[], Any], runs: int = 5) -> tuple[float, float]:
    """Median wall time and median CPU time of this process, in ms. On a shared machine the wall time moves with
    the other work (load 15 on 2 cores: 8x); the CPU time is what the request itself costs."""
    wall, cpu = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(wall) * 1000, statistics.median(cpu) * 1000


def post(client: Any, output: str, outputs: Any, inputs: list[dict], state: list[dict] | None = None) -> dict:
    body = {
        "output": output,
        "outputs": outputs,
        "inputs": inputs,
        "state": state or [],
        "changedPropIds": [f"{i['id']}.{i['property']}" for i in inputs],
    }
    r = client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json")
    assert r.status_code == 200, r.data[:300]
    return r.get_json()


def page(client: Any, path: str, search: str = "") -> dict:
    return post(
        client,
        "page.children",
        {"id": "page", "property": "children"},
        [{"id": "url", "property": "pathname", "value": path}, {"id": "url", "property": "search", "value": search}],
    )


def analysis_panel(client: Any) -> dict:
    outs = ["off-hotspots.children", "off-rates.children", "off-emerging.children", "off-scatter.figure"]
    return post(
        client,
        ".." + "...".join(outs) + "..",
        [{"id": o.rsplit(".", 1)[0], "property": o.rsplit(".", 1)[1]} for o in outs],
        [
            {"id": "off-f-category", "property": "value", "value": []},
            {"id": "off-f-status", "property": "value", "value": []},
            {"id": "off-f-district", "property": "value", "value": []},
            {"id": "off-f-text", "property": "value", "value": ""},
            {"id": "off-f-weeks", "property": "value", "value": None},
            {"id": "off-heat-res", "property": "data", "value": 8},
            {"id": "off-scatter-indicator", "property": "value", "value": "air_station"},
        ],
        [{"id": "off-lang", "property": "data", "value": "en"}],
    )


def main(n: int, url: str) -> None:
    engine = open_store(url)
    city = load_city()
    with engine.connect() as conn:
        have = conn.exec_driver_sql("SELECT count(*) FROM comments").scalar() or 0
    if have < n:
        t = time.perf_counter()
        load_demo(engine, city, seed=42, n_comments=n, days=3, end=END)
        print(f"demo store with {n:,} comments loaded in {time.perf_counter() - t:.0f} s")
    create_official(engine, "bench@city.example", hash_password("bench password 1"), "official", None)
    app = create_app(city=city, settings=Settings.from_env({"CITYDASH_SECRET_KEY": "bench"}), engine=engine)
    ctx = get_context(app.server)
    client = app.server.test_client()
    html = client.get("/officials/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    r = client.post(
        "/officials/login",
        data={
            "email": "bench@city.example",
            "password": "bench password 1",
            "csrf_token": token.group(1) if token else "",
        },
    )
    assert r.status_code in (200, 302, 303), r.status_code

    def ledger_first_render() -> None:
        ctx.ledger_cache = None
        page(client, "/ledger")

    rows: list[tuple[str, tuple[float, float] | None, tuple[float, float]]] = []
    ledger_page.city_ledger = city_ledger_from_history  # type: ignore[attr-defined]
    before = median_ms(ledger_first_render, runs=1)  # seconds each at a million: once
    ledger_page.city_ledger = city_ledger  # type: ignore[attr-defined]
    rows.append(("ledger page, first render", before, median_ms(ledger_first_render)))
    rows.append(("  ledger figures alone (city_ledger)", None, median_ms(lambda: city_ledger(engine, END, 30))))
    rows.append(("you said, we did: first page", None, median_ms(lambda: page(client, "/you-said-we-did"))))
    cursor = ""
    for _ in range(20):
        body = json.dumps(page(client, "/you-said-we-did", cursor))
        m = re.search(r"cursor=([A-Za-z0-9_-]+)", body)
        cursor = f"?cursor={m.group(1)}" if m else cursor
    rows.append(
        ("you said, we did: 21st page (keyset)", None, median_ms(lambda: page(client, "/you-said-we-did", cursor)))
    )
    rows.append(("officials' landing page (/officials)", None, median_ms(lambda: page(client, "/officials"))))
    rows.append(("officials' analysis panel (Gi*, rates, emerging)", None, median_ms(lambda: analysis_panel(client))))
    rows.append(("officials' queue page (/officials/queue)", None, median_ms(lambda: page(client, "/officials/queue"))))
    print(f"\n{n:,} comments, {engine.dialect.name}; median of 5 (before: once), ms: wall (CPU of this process)")
    print(f"{'case':52s} {'before':>16s} {'after':>16s}")
    for name, b, a in rows:
        before_text = "" if b is None else f"{b[0]:7.0f} ({b[1]:5.0f})"
        print(f"{name:52s} {before_text:>16s} {a[0]:7.0f} ({a[1]:5.0f})")


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    main(count, sys.argv[2] if len(sys.argv) > 2 else f"sqlite:////tmp/citydash-comments-{count}.sqlite")
