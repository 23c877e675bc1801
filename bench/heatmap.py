"""Officials' heatmap at scale: server time and response size of one filter change, against the naive way.

    python bench/heatmap.py [--data-dir DIR] [--comments 1000000] [--changes 20]

Makes (or reuses) a store with ``citydash demo --comments N`` in DIR (default: a folder under the system temp
dir, kept for the next run), then, on the real app with an official logged in:

* heatmap: ~20 filter changes (category, status, district, week range, text-free) across H3 resolutions 6-9.
  "server" = the callback's work (counts per cell from the pre-counted table -> Patch), median and max;
  "response" = the body of the real POST /_dash-update-component, raw and gzip (the app compresses).
* naive: the same filters, every matching comment's point sent to a density map (Densitymap figure JSON).

Prints one JSON object. Goal: heatmap median <= 150 ms and response <= 300 KB at 1,000,000 comments.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def ensure_store(data_dir: Path, n: int) -> str:
    url = f"sqlite:///{data_dir / 'citydash.sqlite'}"
    from sqlalchemy import func, select

    from data_sources.store.models import Comment
    from data_sources.store.db import open_store

    have = 0
    if (data_dir / "citydash.sqlite").exists():
        eng = open_store(url)
        with eng.connect() as conn:
            have = conn.scalar(select(func.count()).select_from(Comment)) or 0
        eng.dispose()
    if have < n:
        print(f"bench: generating {n:,} comments in {data_dir} (a few minutes)", file=sys.stderr)
        env = {**os.environ, "CITYDASH_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
        env.pop("CITYDASH_DATABASE_URL", None)
        env.pop("DATABASE_URL", None)
        subprocess.run(
            [sys.executable, "-m", "dashboard.cli", "demo", "--comments", str(n)], env=env, cwd=ROOT, check=True
        )
    return url


def filter_changes(weeks: tuple[int, int], districts: list[int], k: int) -> list[dict]:
    lo, hi = weeks
    cats = [[], ["traffic"], ["air", "noise"], ["cycling"], ["street", "other", "walking"]]
    stats = [[], ["new"], ["new", "acknowledged", "in_progress"], ["resolved"]]
    out = []
    for i in range(k):
        span = [(lo, hi), (hi - 3, hi), (lo + 4, hi - 8), (hi - 11, hi), (hi, hi)][i % 5]
        out.append(
            {
                "category": cats[i % len(cats)],
                "status": stats[(i // 2) % len(stats)],
                "district": districts[: (i % 3)] if i % 4 == 3 else [],
                "weeks": list(span),
                "resolution": (6, 7, 8, 9)[i % 4],
            }
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=str(Path(tempfile.gettempdir()) / "citydash-bench-heatmap"))
    ap.add_argument("--comments", type=int, default=1_000_000)
    ap.add_argument("--changes", type=int, default=20)
    a = ap.parse_args()
    data_dir = Path(a.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    url = ensure_store(data_dir, a.comments)

    import plotly.graph_objects as go
    from sqlalchemy import and_, select

    from dashboard.ui import heatmap
    from dashboard.app import create_app
    from data_sources.comments.accounts import hash_password
    from dashboard.ui.officials import parse_filter
    from data_sources.comments import analysis
    from data_sources.config import Settings
    from data_sources.store.models import Comment
    from data_sources.store.db import open_store
    from data_sources.comments.accounts import create_official

    settings = Settings.from_env({"CITYDASH_DATA_DIR": str(data_dir), "CITYDASH_SECRET_KEY": "bench"})
    engine = open_store(url)
    app = create_app(settings=settings, engine=engine)
    create_official(engine, "bench@city.example", hash_password("bench password 1"), "official", None)
    client = app.server.test_client()
    import re

    token = re.search(
        r'name="csrf_token" value="([^"]+)"', client.get("/officials/login").get_data(as_text=True)
    ).group(1)
    assert (
        client.post(
            "/officials/login",
            data={"email": "bench@city.example", "password": "bench password 1", "csrf_token": token},
        ).status_code
        == 303
    )
    dep = next(d for d in client.get("/_dash-dependencies").get_json() if "off-heat-res.data" in d["output"])
    weeks = analysis.week_range(engine)
    from data_sources.store import queries

    districts = [int(i) for i in queries.districts(engine)["id"]]
    changes = filter_changes(weeks, districts, a.changes)

    server_ms, request_ms, raw_kb, gz_kb, cells = [], [], [], [], []
    naive_ms, naive_kb, naive_points = [], [], []
    prev_res = 8
    for ch in changes:
        f = parse_filter(
            {
                "category": ch["category"],
                "status": ch["status"],
                "district": [str(d) for d in ch["district"]],
                "week_from": ch["weeks"][0],
                "week_to": ch["weeks"][1],
                "resolution": ch["resolution"],
            }
        )
        # 1. the server's work for the change (what the callback does), timed alone
        t0 = time.perf_counter()
        patch = heatmap.update_heat(engine, f, 1, ch["resolution"] != prev_res)
        server_ms.append((time.perf_counter() - t0) * 1000)
        cells.append(len(patch.to_plotly_json()["operations"][0]["params"]["value"]))
        # 2. the real request through Dash, as the browser sends it (zoom change -> resolution)
        zoom = {6: 9.0, 7: 11.0, 8: 12.0, 9: 14.0}[ch["resolution"]]
        values = {
            "off-f-category": ch["category"],
            "off-f-status": ch["status"],
            "off-f-district": ch["district"],
            "off-f-text": "",
            "off-f-weeks": ch["weeks"],
            "off-heat-map": {"map.zoom": zoom},
        }
        body = {
            "output": dep["output"],
            "outputs": [
                {"id": p.rsplit(".", 1)[0], "property": p.rsplit(".", 1)[1]}
                for p in dep["output"].strip(".").split("...")
            ],
            "inputs": [{**i, "value": values.get(i["id"])} for i in dep["inputs"]],
            "state": [{**s, "value": prev_res if s["id"] == "off-heat-res" else "en"} for s in dep["state"]],
            "changedPropIds": ["off-f-category.value"],
        }
        t0 = time.perf_counter()
        r = client.post(
            "/_dash-update-component",
            data=json.dumps(body),
            content_type="application/json",
            headers={"Accept-Encoding": "identity"},
        )
        request_ms.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, r.data[:300]
        raw = r.get_data()
        raw_kb.append(len(raw) / 1024)
        gz_kb.append(len(gzip.compress(raw)) / 1024)
        prev_res = ch["resolution"]
        # 3. naive: every matching comment as a point on a density map
        t0 = time.perf_counter()
        with engine.connect() as conn:
            pts = conn.execute(select(Comment.lat, Comment.lon).where(and_(*analysis.comment_conditions(f)))).all()
        fig = go.Figure(go.Densitymap(lat=[p[0] for p in pts], lon=[p[1] for p in pts], radius=8))
        js = fig.to_json()
        naive_ms.append((time.perf_counter() - t0) * 1000)
        naive_kb.append(len(js) / 1024)
        naive_points.append(len(pts))

    outlines = {res: len(client.get(heatmap.cells_url(res, 1)).get_data()) / 1024 for res in (6, 7, 8, 9)}
    med = statistics.median
    print(
        json.dumps(
            {
                "comments": a.comments,
                "filter_changes": len(changes),
                "heatmap": {
                    "server_ms_median": round(med(server_ms), 1),
                    "server_ms_max": round(max(server_ms), 1),
                    "request_ms_median (whole POST in-process)": round(med(request_ms), 1),
                    "response_kb_median": round(med(raw_kb), 1),
                    "response_kb_max": round(max(raw_kb), 1),
                    "response_gzip_kb_max": round(max(gz_kb), 1),
                    "cells_max": max(cells),
                    "hexagon_outlines_kb_once_per_resolution": {r: round(v, 1) for r, v in outlines.items()},
                },
                "naive_density_all_points": {
                    "server_ms_median": round(med(naive_ms), 1),
                    "server_ms_max": round(max(naive_ms), 1),
                    "response_kb_median": round(med(naive_kb), 1),
                    "response_kb_max": round(max(naive_kb), 1),
                    "points_median": int(med(naive_points)),
                },
                "text_filter_ms (slow path, scans comments)": round(_time_text(engine), 1),
            },
            indent=2,
        )
    )


def _time_text(engine) -> float:  # noqa: ANN001
    from data_sources.comments import analysis

    t0 = time.perf_counter()
    analysis.cell_counts(engine, analysis.HeatFilter(text="junction", resolution=8))
    return (time.perf_counter() - t0) * 1000


if __name__ == "__main__":
    main()
