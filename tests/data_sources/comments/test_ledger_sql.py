"""The ledger from its trigger-kept summaries (migration 0803) gives the same figures as the old computation over
the whole history in pandas, on random histories and through every way a comment changes; SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, insert, select, update

from data_sources.comments import workflow
from data_sources.comments.analysis import paused_cell_counts
from data_sources.comments.ledger import city_ledger, city_ledger_from_history
from data_sources.comments.records import CommentInput, purge_personal_data, submit_comment
from data_sources.config import CityConfig
from data_sources.store.models import Comment, CommentEvent, Department
from tests.dashboard.officials_helpers import make_officials

T0 = datetime(2025, 3, 1, 7, 30)
KINDS = ("status", "answer", "reopened", "fixed_confirmed", "assign", "moderation")
STATUSES = (None, "acknowledged", "in_progress", "resolved", "closed")


def assert_same_ledger(engine: Engine, now: datetime, overdue_days: int) -> dict[str, pd.DataFrame]:
    new = city_ledger(engine, now, overdue_days)
    old = city_ledger_from_history(engine, now, overdue_days)
    for level in ("rows", "departments", "city"):
        pd.testing.assert_frame_equal(
            new[level].reset_index(drop=True),
            old[level].reset_index(drop=True),
            check_dtype=False,
            atol=1e-6,  # julianday arithmetic on SQLite: microseconds at most
            obj=level,
        )
    return new


comment_st = st.tuples(
    st.integers(0, 2),  # department: 0 = not assigned
    st.sampled_from(("air", "noise", "street")),
    st.integers(0, 60 * 24 * 3600),  # seconds after T0
    st.sampled_from(("published", "published", "published", "hidden", "held")),
)
event_st = st.tuples(
    st.integers(0, 29),  # which comment (modulo how many)
    st.sampled_from(KINDS),
    st.sampled_from(STATUSES),
    st.integers(-2 * 3600, 20 * 24 * 3600),  # seconds after the comment (an answer dated before it counts too)
    st.integers(0, 999_999),
)
change_st = st.tuples(
    st.sampled_from(("hide", "publish", "delete", "department", "category")), st.integers(0, 29), st.integers(0, 2)
)


def _reset(engine: Engine) -> tuple[int, int]:
    with engine.begin() as conn:
        conn.execute(delete(CommentEvent.__table__))
        conn.execute(delete(Comment.__table__))
        if not conn.scalar(select(Department.id).where(Department.name == "Parks")):
            conn.execute(insert(Department.__table__), [{"name": "Parks"}, {"name": "Bridges"}])
        a, b = conn.execute(select(Department.id).order_by(Department.name)).scalars()
    return b, a  # Parks, Bridges (sorted by name they come out the other way round)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    comments=st.lists(comment_st, min_size=0, max_size=30),
    events=st.lists(event_st, max_size=60),
    changes=st.lists(change_st, max_size=8),
    now_s=st.integers(0, 90 * 24 * 3600),
    overdue_days=st.integers(1, 40),
)
def test_sql_ledger_equals_the_history_computation(
    any_engine: Engine,
    comments: list,
    events: list,
    changes: list,
    now_s: int,
    overdue_days: int,
) -> None:
    depts = (None, *_reset(any_engine))
    with any_engine.begin() as conn:
        ids = []
        for i, (dept, cat, secs, moderation) in enumerate(comments):
            created = T0 + timedelta(seconds=secs, microseconds=i)
            ids.append(
                conn.execute(
                    insert(Comment.__table__)
                    .values(
                        created_at=created,
                        updated_at=created,
                        lat=0.0,
                        lon=0.0,
                        public_lat=0.0,
                        public_lon=0.0,
                        category=cat,
                        text="x",
                        moderation=moderation,
                        department_id=depts[dept],
                    )
                    .returning(Comment.__table__.c.id)
                ).scalar_one()
            )
        created_of = {
            cid: T0 + timedelta(seconds=c[2], microseconds=i) for i, (cid, c) in enumerate(zip(ids, comments))
        }
    if ids:
        # Events one transaction each, in random (not time) order: the trigger derives the state from them all.
        for which, kind, to_status, secs, micros in events:
            cid = ids[which % len(ids)]
            with any_engine.begin() as conn:
                conn.execute(
                    insert(CommentEvent.__table__).values(
                        comment_id=cid,
                        created_at=created_of[cid] + timedelta(seconds=secs, microseconds=micros),
                        kind=kind,
                        to_status=to_status,
                    )
                )
        for what, which, arg in changes:
            cid = ids[which % len(ids)]
            values = {
                "hide": {"moderation": "hidden"},
                "publish": {"moderation": "published"},
                "department": {"department_id": depts[arg]},
                "category": {"category": ("air", "noise", "street")[arg]},
            }.get(what)
            with any_engine.begin() as conn:
                if values is None:
                    conn.execute(delete(Comment.__table__).where(Comment.id == cid))
                else:
                    conn.execute(update(Comment.__table__).where(Comment.id == cid).values(**values))
    assert_same_ledger(any_engine, T0 + timedelta(seconds=now_s), overdue_days)


def _submit(engine: Engine, city: CityConfig, category: str) -> int:
    return submit_comment(
        engine, city, CommentInput(lat=48.5, lon=9.0, category=category, text="The street light is out again here.")
    ).id


def test_summaries_stay_right_through_the_workflow(any_engine: Engine, demo_city: CityConfig) -> None:
    """Submit, answer, change status, assign, hide and approve, purge, delete, a bulk load: after each step the
    SQL ledger equals the computation from the whole history."""
    engine = any_engine
    ids = make_officials(engine)
    official = workflow.Actor(ids["official"], "official")
    moderator = workflow.Actor(ids["moderator"], "moderator")
    later = datetime.now() + timedelta(days=45)  # noqa: DTZ005 (naive UTC like the store; utcnow below)
    a, b, c = (_submit(engine, demo_city, cat) for cat in ("street", "street", "noise"))
    led = assert_same_ledger(engine, later, 30)
    assert led["city"].iloc[0].comments == 3 and led["city"].iloc[0].overdue == 3
    workflow.change_status(engine, official, [a], "acknowledged", "We are on it.")
    workflow.change_status(engine, official, [a, b], "resolved", "Fixed.")
    led = assert_same_ledger(engine, later, 30)
    assert led["city"].iloc[0].resolved == 2 and led["city"].iloc[0].answered == 2
    dept = workflow.departments(engine)[0][0]
    workflow.assign(engine, official, [b, c], dept)
    workflow.change_status(engine, official, [c], "closed", "Same as another.", closed_reason="duplicate")  # a merge
    assert_same_ledger(engine, later, 30)
    workflow.moderate(engine, moderator, a, "hide", "rude")
    led = assert_same_ledger(engine, later, 30)
    assert led["city"].iloc[0].comments == 2
    workflow.moderate(engine, moderator, a, "approve")
    assert_same_ledger(engine, later, 30)
    workflow.change_status(engine, official, [a], "in_progress", "Open again: more to do.")
    purge_personal_data(engine, 0, now=later)
    led = assert_same_ledger(engine, later, 30)
    assert led["city"].iloc[0].open == 1
    with engine.begin() as conn:
        conn.execute(delete(Comment.__table__).where(Comment.id == b))
    led = assert_same_ledger(engine, later, 30)
    assert led["city"].iloc[0].comments == 2
    # A bulk load pauses the triggers and rebuilds the summaries once at the end.
    with paused_cell_counts(engine):
        d = _submit(engine, demo_city, "air")
        workflow.change_status(engine, official, [d], "resolved", "Done.")
    led = assert_same_ledger(engine, later, 30)
    assert led["city"].iloc[0].comments == 3 and led["city"].iloc[0].resolved == 1


def test_empty_store_has_an_empty_ledger(any_engine: Engine) -> None:
    led = assert_same_ledger(any_engine, T0, 30)
    assert all(len(f) == 0 for f in led.values())


@pytest.mark.parametrize("n", [1, 2, 5])
def test_medians_are_exact_not_bucketed(engine: Engine, n: int) -> None:
    """Answers within the same hour still give the exact middle value (mean of the two middle ones when even)."""
    with engine.begin() as conn:
        for i in range(n):
            cid = conn.execute(
                insert(Comment.__table__)
                .values(
                    created_at=T0,
                    updated_at=T0,
                    lat=0.0,
                    lon=0.0,
                    public_lat=0.0,
                    public_lon=0.0,
                    category="air",
                    text="x",
                )
                .returning(Comment.__table__.c.id)
            ).scalar_one()
            conn.execute(
                insert(CommentEvent.__table__).values(
                    comment_id=cid, created_at=T0 + timedelta(minutes=7 * i + 1), kind="answer"
                )
            )
    median = city_ledger(engine, T0 + timedelta(days=1))["city"].iloc[0].median_hours_to_answer
    minutes = sorted(7 * i + 1 for i in range(n))
    expected = (minutes[(n - 1) // 2] + minutes[n // 2]) / 2 / 60
    assert median == pytest.approx(expected, abs=1e-7)


@pytest.mark.parametrize("resolution", [6, 7, 8, 9])
def test_public_cells_from_the_counts_equal_a_scan_of_the_comments(demo_engine: Engine, resolution: int) -> None:
    """The home map's and the officials' comment cells come from the trigger-kept counts: the same cells and
    numbers as counting every published comment (which ``since`` still does)."""
    from data_sources.store import queries

    for category in (None, "air"):
        for k in (1, 3):
            fast = queries.public_comment_cells(demo_engine, resolution, k, category=category)
            scan = queries.public_comment_cells(
                demo_engine, resolution, k, category=category, since=datetime(1970, 1, 1)
            )
            pd.testing.assert_frame_equal(
                fast.sort_values("cell").reset_index(drop=True),
                scan.sort_values("cell").reset_index(drop=True),
                check_dtype=False,
            )
            assert len(fast) > 0
