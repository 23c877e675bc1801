"""Keyset paging: every item exactly once however items arrive between pages; bad cursors are refused cleanly."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, insert

from data_sources.store.paging import BadCursor, decode_cursor, encode_cursor
from data_sources.comments.records import RESOLVED_CURSOR, resolved_page
from data_sources.store.models import Comment

T0 = datetime(2026, 1, 5, 12)


def _add(engine: Engine, resolved: list[int | None], category: str = "street") -> list[int]:
    """Resolved published comments, resolved that many minutes after T0 (None: no time recorded, as imports)."""
    ids = []
    with engine.begin() as conn:
        for m in resolved:
            ids.append(
                conn.execute(
                    insert(Comment.__table__)
                    .values(
                        created_at=T0,
                        updated_at=T0,
                        lat=0.0,
                        lon=0.0,
                        public_lat=0.0,
                        public_lon=0.0,
                        category=category,
                        text="fixed",
                        status="resolved",
                        resolved_at=None if m is None else T0 + timedelta(minutes=m),
                    )
                    .returning(Comment.__table__.c.id)
                ).scalar_one()
            )
    return ids


minutes = st.one_of(st.none(), st.integers(0, 20))  # few values: many ties on resolved_at


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    first=st.lists(minutes, max_size=25),
    arrivals=st.lists(st.lists(minutes, max_size=3), max_size=10),
    size=st.integers(1, 6),
)
def test_pages_cover_every_item_exactly_once_under_inserts(
    any_engine: Engine, first: list, arrivals: list, size: int
) -> None:
    with any_engine.begin() as conn:
        conn.execute(delete(Comment.__table__))
    before = _add(any_engine, first)
    seen: list[int] = []
    cursor = None
    for page in range(200):
        rows, cursor = resolved_page(any_engine, cursor=cursor, limit=size)
        assert len(rows) <= size
        seen += [r["id"] for r in rows]
        if cursor is None:
            break
        _add(any_engine, arrivals[page] if page < len(arrivals) else [])
    assert len(seen) == len(set(seen)), "an item was shown twice"
    assert set(before) <= set(seen), "an item that was there from the start was skipped"


def test_pages_follow_the_category_and_end(engine: Engine) -> None:
    _add(engine, [1, 2, 3], "street")
    _add(engine, [4], "noise")
    rows, cursor = resolved_page(engine, category="street", limit=2)
    assert [r["resolved_at"].minute for r in rows] == [3, 2] and cursor
    rows, cursor = resolved_page(engine, category="street", cursor=cursor, limit=2)
    assert [r["resolved_at"].minute for r in rows] == [1] and cursor is None


def test_cursor_round_trip() -> None:
    at = datetime(2026, 3, 4, 5, 6, 7, 890)
    assert decode_cursor(encode_cursor([at, 12]), RESOLVED_CURSOR) == (at, 12)
    assert decode_cursor(encode_cursor([None, 3]), RESOLVED_CURSOR) == (None, 3)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "%%%",
        "x" * 500,
        encode_cursor(["2026-01-01T00:00:00", "12"]),  # the id as text
        encode_cursor([12, 12]),
        encode_cursor(["yesterday", 12]),
        encode_cursor([None]),
        encode_cursor(["2026-01-01T00:00:00+02:00", 1]),  # store times are naive UTC
    ],
)
def test_bad_cursors_are_refused(bad: str) -> None:
    with pytest.raises(BadCursor):
        decode_cursor(bad, RESOLVED_CURSOR)


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=120))
def test_any_text_is_a_cursor_or_refused(text: str) -> None:
    try:
        decode_cursor(text, RESOLVED_CURSOR)
    except BadCursor:
        pass


@pytest.mark.parametrize("sort", ["newest", "oldest", "most_supported", "recently_updated", "overdue"])
def test_queue_keyset_pages_equal_the_whole_sorted_queue(demo_engine: Engine, sort: str) -> None:
    from data_sources.comments import workflow
    from tests.support import DEMO_END

    f = workflow.QueueFilter(sort=sort)
    whole, total = workflow.queue_page(demo_engine, f, 14, DEMO_END, 0, 200)
    whole_ids = whole["id"].tolist()
    more, _n = workflow.queue_page(demo_engine, f, 14, DEMO_END, 1, 200)
    whole_ids += more["id"].tolist()  # the first 400 in order
    seen: list[int] = []
    cursor = None
    while len(seen) < len(whole_ids):
        df, n, cursor = workflow.queue_after(demo_engine, f, 14, DEMO_END, cursor, 75)
        assert n == total
        seen += df["id"].tolist()
        if cursor is None:
            break
    assert seen[: len(whole_ids)] == whole_ids


def test_queue_keyset_survives_new_comments_between_pages(any_engine: Engine, demo_city: object) -> None:
    from data_sources.comments import workflow
    from data_sources.comments.records import CommentInput, submit_comment

    def new() -> int:
        text = "The pavement is broken near the school gate."
        return submit_comment(any_engine, demo_city, CommentInput(lat=48.5, lon=9.0, category="street", text=text)).id

    before = [new() for _ in range(9)]
    for sort in ("newest", "oldest"):
        seen: list[int] = []
        cursor = None
        for _ in range(20):
            df, _n, cursor = workflow.queue_after(
                any_engine, workflow.QueueFilter(sort=sort), cursor=cursor, page_size=2
            )
            seen += df["id"].tolist()
            if cursor is None:
                break
            new()
        assert len(seen) == len(set(seen)) and set(before) <= set(seen)
    with pytest.raises(BadCursor):
        workflow.queue_after(any_engine, workflow.QueueFilter(sort="most_supported"), cursor=encode_cursor([T0, 1]))


def test_moderation_pages_cover_the_queue_once(any_engine: Engine) -> None:
    from data_sources.comments import workflow

    with any_engine.begin() as conn:
        for i in range(23):
            conn.execute(
                insert(Comment.__table__).values(
                    created_at=T0 + timedelta(minutes=i % 4),  # ties on the time, told apart by the id
                    updated_at=T0,
                    lat=0.0,
                    lon=0.0,
                    public_lat=0.0,
                    public_lon=0.0,
                    category="street",
                    text="x",
                    moderation="held" if i % 3 == 0 else "published",
                    flag_count=i % 5,
                )
            )
    whole = workflow.moderation_queue(any_engine)
    seen: list[int] = []
    cursor = None
    for _ in range(30):
        df, cursor = workflow.moderation_page(any_engine, cursor, 4)
        seen += df["id"].tolist()
        if cursor is None:
            break
    assert seen == whole["id"].tolist() and len(seen) == len(set(seen))
    with pytest.raises(BadCursor):
        workflow.moderation_page(any_engine, encode_cursor([T0, 1]))
