"""Supports, flags, duplicates, evidence, the ledger and retention: the reciprocity loop's store side."""
from datetime import datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import func, select, update

from data_sources.comments.records import (
    CommentInput,
    CommentRejected,
    add_support,
    find_duplicates,
    flag_comment,
    public_comment,
    purge_personal_data,
    rank_duplicates,
    submit_comment,
)
from data_sources.config import ConfigError, load_city
from data_sources.comments.evidence import choose_reading, nearest_reading
from data_sources.comments.ledger import city_ledger, ledger
from data_sources.store.models import Comment, CommentEvent
from tests.support import DEMO_END

BROWSER_A, BROWSER_B, BROWSER_C = "a" * 32, "b" * 32, "c" * 32
# ~0.0009° of latitude is 100 m.
M = 1 / 111_200


def _submit(engine, city, **kw):
    base = dict(lat=48.5, lon=9.0, category="street", text="The street light has been out for a week.")
    return submit_comment(engine, city, CommentInput(**{**base, **kw}))


def test_one_support_per_browser(any_engine, demo_city):
    demo_engine = any_engine  # SQLite and PostgreSQL
    cid = _submit(demo_engine, demo_city).id
    assert add_support(demo_engine, cid, BROWSER_A).count == 1
    again = add_support(demo_engine, cid, BROWSER_A)
    assert not again.added and again.count == 1
    assert add_support(demo_engine, cid, BROWSER_B).count == 2
    with pytest.raises(CommentRejected):
        add_support(demo_engine, cid, "short")  # no usable browser id


def test_held_comment_cannot_be_supported(demo_engine, demo_city):
    cid = _submit(demo_engine, demo_city, text="This idiot council never fixes the lights").id
    with pytest.raises(CommentRejected):
        add_support(demo_engine, cid, BROWSER_A)


def test_flags_hide_a_comment_at_the_threshold(any_engine, demo_city):
    demo_engine = any_engine  # SQLite and PostgreSQL
    cid = _submit(demo_engine, demo_city).id
    assert not flag_comment(demo_engine, cid, BROWSER_A, "spam", threshold=3).hidden
    assert not flag_comment(demo_engine, cid, BROWSER_A, "spam", threshold=3).added  # same browser: once
    assert not flag_comment(demo_engine, cid, BROWSER_B, "abusive", threshold=3).hidden
    assert public_comment(demo_engine, cid)["moderation"] == "published"
    r = flag_comment(demo_engine, cid, BROWSER_C, "<b>anything</b>", threshold=3)
    assert r.hidden and r.count == 3
    assert public_comment(demo_engine, cid)["moderation"] == "hidden"
    with demo_engine.connect() as c:
        kinds = c.scalars(select(CommentEvent.kind).where(CommentEvent.comment_id == cid)).all()
    assert kinds == ["moderation"]  # logged for the moderators, no public event
    assert find_duplicates(demo_engine, 48.5, 9.0, "street") == []  # hidden: not offered as a duplicate


def test_rank_duplicates_by_hand():
    cands = [
        {"id": 1, "lat": 48.5 + 150 * M, "lon": 9.0, "support_count": 9},  # 150 m: too far
        {"id": 2, "lat": 48.5 + 60 * M, "lon": 9.0, "support_count": 0},  # 60 m
        {"id": 3, "lat": 48.5 - 20 * M, "lon": 9.0, "support_count": 1},  # 20 m
        {"id": 4, "lat": 48.5 + 20 * M, "lon": 9.0, "support_count": 5},  # 20 m, more support: first of the two
    ]
    assert [c["id"] for c in rank_duplicates(cands, 48.5, 9.0, 100)] == [4, 3, 2]
    assert [c["id"] for c in rank_duplicates(cands, 48.5, 9.0, 100, limit=1)] == [4]


def test_duplicates_are_nearby_open_comments_of_the_category(any_engine, demo_city):
    engine = any_engine
    near = _submit(engine, demo_city, lat=48.5 + 70 * M).id  # 70 m north
    _submit(engine, demo_city, lat=48.5 + 170 * M)  # 170 m: too far
    _submit(engine, demo_city, lat=48.5 + 10 * M, category="noise", text="Motorbikes racing after midnight here.")
    done = _submit(engine, demo_city, lon=9.0 + 30 * M).id
    with engine.begin() as c:
        c.execute(update(Comment).where(Comment.id == done).values(status="resolved"))
    found = find_duplicates(engine, 48.5, 9.0, "street", radius_m=100)
    assert [d["id"] for d in found] == [near]
    assert "lat" not in found[0] and "lon" not in found[0]  # exact places stay on the server


def test_choose_reading_by_hand():
    at = datetime(2026, 11, 16, 8, 20)
    base = {"metric": "pm25", "unit": "µg/m³", "layer": "air_station"}
    cands = [
        {**base, "feature_id": 1, "name": "far", "lat": 48.5 + 3000 * M, "lon": 9.0, "time": datetime(2026, 11, 16, 8), "value": 5.0},
        {**base, "feature_id": 2, "name": "near, old", "lat": 48.5 + 380 * M, "lon": 9.0, "time": datetime(2026, 11, 16, 7), "value": 30.0},
        {**base, "feature_id": 2, "name": "near", "lat": 48.5 + 380 * M, "lon": 9.0, "time": datetime(2026, 11, 16, 8), "value": 23.0},
        {**base, "feature_id": 3, "name": "stale", "lat": 48.5, "lon": 9.0, "time": datetime(2026, 11, 14, 8), "value": 99.0},
    ]
    ev = choose_reading(cands, 48.5, 9.0, at)
    assert ev["feature_id"] == 2 and ev["value"] == 23.0 and ev["distance_m"] == 400 and ev["time"] == "2026-11-16T08:00"
    assert choose_reading(cands[:1], 48.5, 9.0, at) is None  # 3 km away says nothing about this place


def test_submitted_comment_records_the_nearest_reading(demo_engine, demo_city):
    r = _submit(demo_engine, demo_city, category="air", text="The air smells of exhaust every morning.", created_at=DEMO_END)
    ev = public_comment(demo_engine, r.id)["evidence"]
    assert ev["metric"] == "pm25" and ev["unit"] == "µg/m³" and ev["time"] == "2026-11-16T09:00"
    assert ev == nearest_reading(demo_engine, 48.5, 9.0, "air", DEMO_END)
    assert ev["distance_m"] % 50 == 0 and ev["distance_m"] <= 2000
    # No measured counterpart for street lights.
    assert public_comment(demo_engine, _submit(demo_engine, demo_city, created_at=DEMO_END).id)["evidence"] is None


def test_ledger_by_hand():
    t0 = datetime(2026, 1, 1)
    now = t0 + timedelta(days=40)
    comments = pd.DataFrame([
        # id, created, category, department
        (1, t0, "air", "Env"),  # answered after 10 h, resolved
        (2, t0, "air", "Env"),  # answered (a reply, no status change) after 30 h, still new -> open, overdue (40 d > 30)
        (3, t0 + timedelta(days=35), "air", "Env"),  # no answer, open, not overdue (5 d)
        (4, t0, "noise", "Env"),  # acknowledged after 2 h then closed
    ], columns=["id", "created_at", "category", "department"])
    h = lambda n: t0 + timedelta(hours=n)  # noqa: E731
    events = pd.DataFrame([
        (1, 1, h(10), "status", "acknowledged"), (2, 1, h(50), "status", "resolved"),
        (3, 2, h(30), "answer", None),
        (4, 4, h(2), "status", "acknowledged"), (5, 4, h(20), "status", "closed"),
        (6, 1, h(5), "assign", None),  # an assignment is not an answer
    ], columns=["id", "comment_id", "created_at", "kind", "to_status"])
    rows = ledger(comments, events, now, overdue_days=30).set_index(["department", "category"])
    air = rows.loc[("Env", "air")]
    assert air.comments == 3 and air.answered == 2 and air.share_answered == pytest.approx(2 / 3)
    assert air.median_hours_to_answer == pytest.approx(20)  # median(10, 30)
    assert air.resolved == 1 and air.open == 2 and air.overdue == 1 and air.closed == 0
    noise = rows.loc[("Env", "noise")]
    assert (noise.comments, noise.answered, noise.median_hours_to_answer, noise.closed, noise.open) == (1, 1, 2, 1, 0)
    city = ledger(comments, events, now, overdue_days=30, by=()).iloc[0]
    assert city.comments == 4 and city.median_hours_to_answer == pytest.approx(10)  # median(10, 30, 2)
    assert city.share_resolved == pytest.approx(1 / 4)


def test_demo_ledger_is_meaningful(demo_engine):
    led = city_ledger(demo_engine, DEMO_END, 30)
    city = led["city"].iloc[0]
    assert city.comments == 2000 and 0.5 < city.share_answered < 1 and 0.2 < city.share_resolved < 0.8
    assert set(led["departments"]["department"]) == {"Environment", "Transport", "Streets and public space"}
    assert (led["rows"]["comments"].sum(), led["departments"]["comments"].sum()) == (2000, 2000)


def test_purge_forgets_emails_and_unredacted_text_after_retention(demo_engine, demo_city):
    old = _submit(demo_engine, demo_city, email="me@example.org", text="Call me on +44 7700 900123 about the light",
                  created_at=datetime(2025, 1, 1)).id
    new = _submit(demo_engine, demo_city, email="you@example.org").id
    assert purge_personal_data(demo_engine, 365, dry_run=True) == 1
    assert purge_personal_data(demo_engine, 365) == 1
    with demo_engine.connect() as c:
        rows = dict(c.execute(select(Comment.id, Comment.email).where(Comment.id.in_([old, new]))).all())
        assert c.scalar(select(Comment.original_text).where(Comment.id == old)) is None
        assert c.scalar(select(func.count()).select_from(Comment).where(Comment.id == old)) == 1  # the comment stays
    assert rows == {old: None, new: "you@example.org"}
    assert purge_personal_data(demo_engine, 365) == 0


def test_feedback_policy_is_validated(tmp_path):
    src = (load_city().path).read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(src.replace('# comment_rate = "5/minute;30/day"', 'comment_rate = "lots"')
                   .replace('file = "demo/districts.geojson"', f'file = "{load_city().resolve("demo/districts.geojson")}"'))
    with pytest.raises(ConfigError, match="feedback.comment_rate"):
        load_city(bad)


def test_purge_command(demo_engine, demo_city, monkeypatch):
    from click.testing import CliRunner

    from dashboard.cli import cli

    _submit(demo_engine, demo_city, email="me@example.org", created_at=datetime(2020, 1, 1))
    monkeypatch.setenv("CITYDASH_DATABASE_URL", demo_engine.url.render_as_string(hide_password=False))
    out = CliRunner().invoke(cli, ["purge-personal-data", "--dry-run"])
    assert out.exit_code == 0 and '"comments": 1' in out.output and '"retention_days": 365' in out.output
    assert '"comments": 1' in CliRunner().invoke(cli, ["purge-personal-data"]).output
    assert '"comments": 0' in CliRunner().invoke(cli, ["purge-personal-data", "--days", "30"]).output
