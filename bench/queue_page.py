"""The officials' work queue at scale: ``workflow.queue_page`` (filter, count, sort and one page, in SQL) over a
demo store of N comments. Usage: ``python -m bench.queue_page 200000 sqlite:////tmp/queue.sqlite`` (the store is
filled once with the demo generator, then reused). Prints the median of 5 runs per case, in milliseconds."""

from __future__ import annotations

import statistics
import sys
import time
from datetime import datetime

from data_sources.comments import workflow
from data_sources.config import load_city
from data_sources.demo import load_demo
from data_sources.store.db import open_store
from data_sources.comments.workflow import UNASSIGNED, QueueFilter

CASES = {
    "newest (no filter)": (QueueFilter(), 0),
    "text 'asthma'": (QueueFilter(text="asthma"), 0),
    "status + category": (QueueFilter(statuses=("new",), categories=("air",)), 0),
    "overdue, most supported": (QueueFilter(overdue=True, sort="most_supported"), 0),
    "unassigned, 30-60 days old": (QueueFilter(departments=(UNASSIGNED,), min_age_days=30, max_age_days=60), 0),
    "page 100, oldest": (QueueFilter(sort="oldest"), 100),
}


def main(n: int, url: str) -> None:
    eng = open_store(url)
    if workflow.queue_page(eng, QueueFilter())[1] == 0:
        load_demo(eng, load_city(), seed=42, n_comments=n, days=3, end=datetime(2026, 11, 16, 9))
    for name, (f, page) in CASES.items():
        times = []
        for _ in range(5):
            t = time.perf_counter()
            _df, total = workflow.queue_page(eng, f, page=page)
            times.append(time.perf_counter() - t)
        print(f"{name:28s} matching {total:8d}  median {statistics.median(times) * 1000:8.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
