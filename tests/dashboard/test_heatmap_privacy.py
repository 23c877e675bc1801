"""The public heatmap's k-threshold, attacked by differencing over HTTP (issue 15, fault 6).

What the threshold protects is set out in README "Privacy model": every published comment is public on its own (its
page, Open311, the feeds, the home map at r9) at its public cell, with its category and time, so the threshold is
not what keeps a comment private. What must hold, and what these tests attack, is that the heatmap never tells
more than that public listing: whatever subtracting filters or bisecting ``since`` recovers, Open311 already
lists; held and hidden comments never count; ``since`` has no finer grain than a day; and every cell it shows,
after all filters, has at least k comments.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import h3
import pytest
import requests
from hypothesis import HealthCheck, given, settings as hyp_settings, strategies as st
from sqlalchemy import Engine, select, update

from data_sources.comments.records import CommentInput, submit_comment
from data_sources.config import CityConfig
from data_sources.store.models import Comment
from data_sources.store.db import utcnow

HEATMAP = "/api/v1/comments/heatmap"


def open311_listing(base: str) -> list[dict]:
    """Every published comment, as an outsider reads them from Open311 (90-day windows, pages of 1,000)."""
    out: dict[int, dict] = {}
    end = utcnow() + timedelta(minutes=1)
    for _window in range(4):  # the demo city's comments span 180 days
        start = end - timedelta(days=90)
        page = 1
        while True:
            r = requests.get(
                f"{base}/open311/v2/requests.json",
                timeout=30,
                params={
                    "start_date": start.isoformat() + "Z",
                    "end_date": end.isoformat() + "Z",
                    "page": page,
                    "page_size": 1000,
                },
            )
            assert r.status_code == 200, r.text[:300]
            rows = r.json()
            out.update((row["service_request_id"], row) for row in rows)
            if len(rows) < 1000:
                break
            page += 1
        end = start
    return list(out.values())


def listed_counts(listing: list[dict], res: int, category: str | None, since: datetime | None) -> Counter:
    """Comments per H3 cell at ``res`` as anyone can count them from the listing (public point, category, time)."""
    n: Counter = Counter()
    for row in listing:
        if category is not None and row["service_code"] != category:
            continue
        if (
            since is not None
            and datetime.fromisoformat(row["requested_datetime"]).astimezone(timezone.utc).replace(tzinfo=None) < since
        ):
            continue
        n[h3.cell_to_parent(h3.latlng_to_cell(row["lat"], row["long"], 9), res)] += 1  # the public cell's parent
    return n


def heat(base: str, **params: object) -> dict:
    r = requests.get(base + HEATMAP, params=params, timeout=30)
    assert r.status_code == 200, r.text[:300]
    return r.json()


@pytest.fixture
def secrets_in_a_busy_cell(demo_engine: Engine, demo_city: CityConfig) -> list[int]:
    """A held comment and a hidden one, in the busiest part of the demo city: if either counted, a cell's count
    would exceed what Open311 lists."""
    held = submit_comment(
        demo_engine,
        demo_city,
        CommentInput(lat=48.5, lon=9.0, category="street", text="You idiot, fix the broken light here"),
    ).id
    hidden = submit_comment(
        demo_engine,
        demo_city,
        CommentInput(lat=48.5, lon=9.0, category="street", text="A comment the moderators hid later on."),
    ).id
    with demo_engine.begin() as conn:
        conn.execute(update(Comment).where(Comment.id == hidden).values(moderation="hidden"))
    return [held, hidden]


def test_filter_subtraction_learns_nothing_open311_does_not_list(
    live_server: str, demo_city: CityConfig, secrets_in_a_busy_cell: list[int]
) -> None:
    """For every resolution and category filter, the heatmap is exactly Open311's listing counted per cell with the
    cells under k left out: so any difference of two heatmaps is a difference of public listings."""
    k = demo_city.feedback.min_cell_count
    listing = open311_listing(live_server)
    assert not set(secrets_in_a_busy_cell) & {row["service_request_id"] for row in listing}
    for res in (6, 7, 8, 9):
        for category in [None, *demo_city.city.comment_categories]:
            params = {"res": res, **({"category": category} if category else {})}
            cells = {c["h3"]: c["count"] for c in heat(live_server, **params)["cells"]}
            expected = {cell: n for cell, n in listed_counts(listing, res, category, None).items() if n >= k}
            assert cells == expected, (res, category)
            assert all(n >= k for n in cells.values())


@hyp_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seconds=st.integers(0, 86_399), res=st.sampled_from([8, 9]))
def test_bisecting_since_learns_nothing_finer_than_a_day(
    live_server: str, demo_engine: Engine, demo_city: CityConfig, seconds: int, res: int
) -> None:
    """Three comments in one fresh cell, written today at different times: any ``since`` within today (to the
    second) gives the same answer as today's midnight, so their times cannot be bisected from the heatmap."""
    day = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    lat, lon = 48.455, 8.935  # a corner of the demo city with no comments
    cell = h3.latlng_to_cell(lat, lon, res)
    with demo_engine.connect() as conn:
        mine = conn.scalar(select(Comment.id).where(Comment.origin == "since-test").limit(1))
    if mine is None:
        for i in range(3):
            submit_comment(
                demo_engine,
                demo_city,
                CommentInput(
                    lat=lat + i * 1e-5,
                    lon=lon,
                    category="green_space",
                    text=f"Overgrown path number {i} here.",
                    created_at=day + timedelta(minutes=5 + 20 * i),
                    origin="since-test",
                ),
            )
    probe = day + timedelta(seconds=seconds)
    at_midnight = heat(live_server, res=res, since=day.date().isoformat())
    answer = heat(live_server, res=res, since=probe.isoformat(timespec="seconds"))
    assert answer == at_midnight and answer["since"] == day.date().isoformat()
    assert any(c["h3"] == cell and c["count"] >= 3 for c in answer["cells"])
    tomorrow = heat(live_server, res=res, since=(day + timedelta(days=1)).date().isoformat())
    assert not any(c["h3"] == cell for c in tomorrow["cells"])  # whole days still filter


def test_the_threshold_holds_after_every_filter(live_server: str, demo_city: CityConfig) -> None:
    """Cells under k are left out after the category and since filters (not before them)."""
    k = demo_city.feedback.min_cell_count
    for since in ("2026-10-01", "2026-11-10", "2026-11-15T23:59:59+01:00"):
        for category in ("air", "green_space"):
            data = heat(live_server, res=9, category=category, since=since)
            assert data["min_count"] == k and all(c["count"] >= k for c in data["cells"])
            assert len(data["since"]) == 10  # a whole day
