"""Heatmap counts, Gi* and rates against independent computations."""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timedelta

import h3
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from data_sources.comments import analysis
from data_sources.comments.analysis import HeatFilter, gi_star, week_of, week_start
from data_sources.store.models import Comment


def _independent_counts(engine, resolution, keep):
    """Straight from the comments' lat/lon, in Python: no SQL grouping, no pre-counted table. Coarser cells are
    the parents of the r9 cell, as the demo generator stores them."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                Comment.lat,
                Comment.lon,
                Comment.category,
                Comment.status,
                Comment.district_id,
                Comment.created_at,
                Comment.moderation,
                Comment.text,
            )
        ).all()
    return Counter(
        h3.str_to_int(h3.cell_to_parent(h3.latlng_to_cell(r.lat, r.lon, 9), resolution))
        for r in rows
        if r.moderation == "published" and keep(r)
    )


@pytest.mark.parametrize("resolution", [6, 7, 8, 9])
def test_counts_per_cell_equal_an_independent_computation(demo_engine, resolution):
    got = analysis.cell_counts(demo_engine, HeatFilter(resolution=resolution))
    assert dict(zip(got["cell"].tolist(), got["n"].tolist())) == _independent_counts(
        demo_engine, resolution, lambda r: True
    )


def test_filtered_counts_and_the_text_path_agree_with_python(demo_engine):
    end = datetime(2026, 11, 16)
    wf, wt = week_of(end - timedelta(days=60)), week_of(end)
    f = HeatFilter(
        categories=("traffic", "air"), statuses=("new", "acknowledged"), week_from=wf, week_to=wt, resolution=8
    )

    def keep(r):
        return (
            r.category in f.categories
            and r.status in f.statuses
            and week_start(wf) <= r.created_at.date() < week_start(wt + 1)
        )

    expected = _independent_counts(demo_engine, 8, keep)
    got = analysis.cell_counts(demo_engine, f)
    assert dict(zip(got["cell"].tolist(), got["n"].tolist())) == expected
    assert sum(expected.values()) > 20
    # The text filter takes the other path (a scan of comments); it must agree too.
    ft = HeatFilter(
        categories=f.categories, statuses=f.statuses, week_from=wf, week_to=wt, resolution=8, text="JUNCTION"
    )
    got = analysis.cell_counts(demo_engine, ft)
    assert dict(zip(got["cell"].tolist(), got["n"].tolist())) == _independent_counts(
        demo_engine, 8, lambda r: keep(r) and "junction" in r.text.lower()
    )


def test_counts_follow_status_moderation_and_deletes(demo_engine):
    """The triggers keep the pre-counted table right whoever writes comments."""
    with demo_engine.begin() as conn:
        ids = conn.scalars(select(Comment.id).where(Comment.status == "new").limit(30)).all()
        conn.execute(update(Comment).where(Comment.id.in_(ids[:10])).values(status="resolved"))
        conn.execute(update(Comment).where(Comment.id.in_(ids[10:20])).values(moderation="hidden"))
        conn.execute(Comment.__table__.delete().where(Comment.id.in_(ids[20:30])))
    for status in ("new", "resolved"):
        got = analysis.cell_counts(demo_engine, HeatFilter(statuses=(status,), resolution=9))
        exp = _independent_counts(demo_engine, 9, lambda r, s=status: r.status == s)
        assert dict(zip(got["cell"].tolist(), got["n"].tolist())) == exp


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)))
@settings(max_examples=200)
def test_week_of_is_the_monday_week(t):
    w = week_of(t)
    assert week_start(w) <= t.date() < week_start(w) + timedelta(days=7)
    assert week_start(w).weekday() == 0


def test_sql_week_matches_python(demo_engine):
    from data_sources.store.models import CommentCellCount

    with demo_engine.connect() as conn:
        c = conn.execute(
            select(Comment.created_at, Comment.h3_r9, Comment.category, Comment.status)
            .where(Comment.moderation == "published")
            .limit(50)
        ).all()
        for r in c:
            assert (
                conn.scalar(
                    select(func_sum(CommentCellCount.n)).where(
                        CommentCellCount.week == week_of(r.created_at),
                        CommentCellCount.h3_r9 == r.h3_r9,
                        CommentCellCount.category == r.category,
                        CommentCellCount.status == r.status,
                    )
                )
                >= 1
            )


def func_sum(col):
    from sqlalchemy import func

    return func.sum(col)


def test_gi_star_worked_example():
    """Five places in a row, x = 1, 2, 3, 10, 12; neighbours: itself and the places next to it.

    n = 5, mean = 28/5 = 5.6, mean of squares = (1+4+9+100+144)/5 = 51.6, S = sqrt(51.6 - 31.36) = sqrt(20.24).
    Place 4 (x = 10): neighbours 3, 4, 5 -> sum = 25, W = 3:
        Gi* = (25 - 5.6*3) / (sqrt(20.24) * sqrt((5*3 - 9) / 4)) = 8.2 / (4.49889 * 1.224745) = 1.48821
    Place 1 (x = 1): neighbours 1, 2 -> sum = 3, W = 2:
        Gi* = (3 - 11.2) / (4.49889 * sqrt((10 - 4) / 4)) = -8.2 / (4.49889 * 1.224745) = -1.48821
    Place 3 (x = 3): neighbours 2, 3, 4 -> sum = 15, W = 3: (15 - 16.8) / 5.50999 = -0.32668
    """
    x = np.array([1, 2, 3, 10, 12])
    nbs = [np.array(v) for v in ([0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4])]
    g = gi_star(x, nbs)
    assert g.z[3] == pytest.approx(1.48821, abs=1e-4)
    assert g.z[0] == pytest.approx(-1.48821, abs=1e-4)
    assert g.z[2] == pytest.approx(-0.32668, abs=1e-4)
    # two-sided p from the normal distribution
    assert g.p[3] == pytest.approx(math.erfc(1.48821 / math.sqrt(2)), abs=1e-4)
    assert g.p[3] == pytest.approx(0.1367, abs=1e-3)


def test_hotspots_find_a_planted_cluster():
    centre = h3.latlng_to_cell(48.5, 9.0, 8)
    area = [h3.str_to_int(c) for c in h3.grid_disk(centre, 6)]
    rng = np.random.default_rng(1)
    n = {c: int(rng.poisson(2)) for c in area}
    for c in h3.grid_disk(centre, 1):
        n[h3.str_to_int(c)] += 25
    import pandas as pd

    counts = pd.DataFrame({"cell": list(n), "n": list(n.values())})
    hs = analysis.hotspots(counts, study_area=np.array(area))
    hot = set(hs.loc[hs["hotspot"] == "hot", "cell"])
    assert h3.str_to_int(centre) in hot
    assert hot <= {h3.str_to_int(c) for c in h3.grid_disk(centre, 2)}


def test_rates_per_1000_residents(demo_engine):
    r = analysis.district_rates(demo_engine, HeatFilter())
    assert len(r) > 0 and (r["population"] > 0).all()
    row = r.iloc[0]
    assert row["per_1000"] == pytest.approx(row["n"] * 1000 / row["population"])
    with demo_engine.connect() as conn:
        total = conn.scalar(
            select(func_sum(Comment.id * 0 + 1)).where(
                Comment.moderation == "published", Comment.district_id == int(row["district_id"])
            )
        )
    assert row["n"] == total


def test_emerging_hotspot_is_found(demo_engine):
    from data_sources.comments.records import CommentInput, submit_comment
    from data_sources.config import load_city
    from tests.support import ROOT

    city = load_city(ROOT / "cities" / "demo.toml")
    now = datetime(2026, 11, 16, 9)
    for i in range(12):
        submit_comment(
            demo_engine,
            city,
            CommentInput(
                lat=48.452,
                lon=8.93,
                category="noise",
                text=f"Loud works again, night {i}",
                created_at=now - timedelta(days=i),
            ),
            hold_for_review=None,
        )
    em = analysis.emerging_hotspots(demo_engine, 9, now)
    assert h3.str_to_int(h3.latlng_to_cell(48.452, 8.93, 9)) in set(em["cell"])


def test_migration_0601_downgrades_and_rebuilds_counts(demo_engine):
    from alembic import command

    from data_sources.store.db import alembic_config, migrate

    before = analysis.cell_counts(demo_engine, HeatFilter(resolution=7))
    with demo_engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0001")
    migrate(demo_engine)  # upgrade counts the comments already stored
    after = analysis.cell_counts(demo_engine, HeatFilter(resolution=7))
    assert before.sort_values("cell").reset_index(drop=True).equals(after.sort_values("cell").reset_index(drop=True))


def test_paused_counts_are_rebuilt(demo_engine):
    before = analysis.cell_counts(demo_engine, HeatFilter(resolution=8))
    with analysis.paused_cell_counts(demo_engine):
        with demo_engine.begin() as conn:
            ids = conn.scalars(select(Comment.id).limit(40)).all()
            conn.execute(update(Comment).where(Comment.id.in_(ids)).values(status="closed"))
        # paused: the table has not moved yet
        assert analysis.cell_counts(demo_engine, HeatFilter(resolution=8)).equals(before)
    got = analysis.cell_counts(demo_engine, HeatFilter(statuses=("closed",), resolution=9))
    assert dict(zip(got["cell"].tolist(), got["n"].tolist())) == _independent_counts(
        demo_engine, 9, lambda r: r.status == "closed"
    )
    # and the triggers run again afterwards
    with demo_engine.begin() as conn:
        conn.execute(update(Comment).where(Comment.id.in_(ids[:5])).values(status="new"))
    got = analysis.cell_counts(demo_engine, HeatFilter(statuses=("closed",), resolution=9))
    assert dict(zip(got["cell"].tolist(), got["n"].tolist())) == _independent_counts(
        demo_engine, 9, lambda r: r.status == "closed"
    )


def test_triggers_keep_counts_on_both_stores(any_engine, demo_city):
    """SQLite and PostgreSQL triggers: inserts, status and moderation changes, deletes, a paused bulk load."""
    from data_sources.comments.records import CommentInput, submit_comment
    from data_sources.demo import load_demo

    load_demo(any_engine, demo_city, seed=3, n_comments=300, days=2, end=datetime(2026, 11, 16, 9))
    for i in range(6):
        submit_comment(
            any_engine,
            demo_city,
            CommentInput(lat=48.49 + i * 0.004, lon=9.01, category="noise", text=f"Noise from the depot, night {i}"),
            hold_for_review=None,
        )
    with any_engine.begin() as conn:
        ids = conn.scalars(select(Comment.id).order_by(Comment.id).limit(20)).all()
        conn.execute(update(Comment).where(Comment.id.in_(ids[:8])).values(status="in_progress"))
        conn.execute(update(Comment).where(Comment.id.in_(ids[8:12])).values(moderation="hidden"))
        conn.execute(Comment.__table__.delete().where(Comment.id.in_(ids[12:16])))

    def stored_cells(r):  # the cells as stored on each comment (the writer's convention)
        with any_engine.connect() as conn:
            rows = conn.execute(
                select(getattr(Comment, f"h3_r{r}"), Comment.status).where(Comment.moderation == "published")
            ).all()
        return Counter(c for c, s in rows if s == "in_progress"), Counter(c for c, _ in rows)

    for r in (6, 9):
        prog, allc = stored_cells(r)
        got = analysis.cell_counts(any_engine, HeatFilter(resolution=r))
        assert dict(zip(got["cell"].tolist(), got["n"].tolist())) == allc
        got = analysis.cell_counts(any_engine, HeatFilter(statuses=("in_progress",), resolution=r))
        assert dict(zip(got["cell"].tolist(), got["n"].tolist())) == prog
