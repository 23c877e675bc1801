"""Time of the reciprocity loop's reads over a demo store with N comments: the ledger (from the whole status
history), the public heatmap query, the duplicate search and one submission (with its evidence lookup).

    python bench/feedback_scale.py [N]        # default 200,000 comments
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(label: str, fn, repeat: int = 3):  # noqa: ANN001
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    print(f"{label:<44} {best * 1000:9.1f} ms")
    return out


if __name__ == "__main__":
    from data_sources.store import queries
    from data_sources.comments.records import CommentInput, find_duplicates, submit_comment
    from data_sources.config import load_city
    from data_sources.demo import load_demo
    from data_sources.comments.ledger import city_ledger
    from data_sources.store.db import open_store, utcnow

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    city = load_city(ROOT / "cities" / "demo.toml")
    with tempfile.TemporaryDirectory() as d:
        engine = open_store(f"sqlite:///{Path(d) / 'bench.sqlite'}")
        t0 = time.perf_counter()
        load_demo(engine, city, n_comments=n, days=7)
        print(f"demo store with {n:,} comments loaded in {time.perf_counter() - t0:.1f} s")
        lat, lon = city.city.centre
        led = timed("ledger (per department/category, city)", lambda: city_ledger(engine, utcnow()))
        timed("heatmap r8, k=3", lambda: queries.public_comment_cells(engine, 8, 3))
        timed("heatmap r9, category air", lambda: queries.public_comment_cells(engine, 9, 3, category="air"))
        timed("duplicates within 100 m", lambda: find_duplicates(engine, lat, lon, "traffic", 100))
        timed(
            "submit one comment (with evidence)",
            lambda: submit_comment(
                engine, city, CommentInput(lat=lat, lon=lon, category="air", text="Bench comment about the air here.")
            ),
            repeat=1,
        )
        print(f"ledger rows: {len(led['rows'])}; comments counted: {int(led['city'].iloc[0].comments):,}")
    print(f"peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
