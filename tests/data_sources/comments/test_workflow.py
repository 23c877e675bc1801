"""Officials' actions change the comment, add to its public history and write one audit entry each, in one
transaction; roles are checked here too."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from data_sources.comments import workflow
from data_sources.store.models import AuditEntry, Comment, CommentEvent, Department
from data_sources.comments.workflow import Actor, NotAllowed, WorkflowError
from tests.dashboard.officials_helpers import make_officials


@pytest.fixture
def actors(demo_engine):
    ids = make_officials(demo_engine)
    return {role: Actor(i, role) for role, i in ids.items()}


def _new_ids(engine, n):
    with engine.connect() as conn:
        return conn.scalars(select(Comment.id).where(Comment.status == "new").order_by(Comment.id).limit(n)).all()


def _audit(engine, action):
    with engine.connect() as conn:
        return conn.execute(
            select(AuditEntry.__table__).where(AuditEntry.action == action).order_by(AuditEntry.id)
        ).all()


def test_change_status_with_answer_in_bulk(demo_engine, actors):
    ids = _new_ids(demo_engine, 3)
    n = workflow.change_status(
        demo_engine, actors["official"], ids, "in_progress", "A crew comes on Monday. Call 0612345678"
    )
    assert n == 3
    with demo_engine.connect() as conn:
        rows = conn.execute(
            select(Comment.status, Comment.first_response_at, Comment.resolved_at).where(Comment.id.in_(ids))
        ).all()
        events = conn.execute(
            select(CommentEvent.public_text, CommentEvent.official_id, CommentEvent.from_status).where(
                CommentEvent.comment_id.in_(ids), CommentEvent.kind == "status"
            )
        ).all()
    assert all(r.status == "in_progress" and r.first_response_at is not None and r.resolved_at is None for r in rows)
    assert len(events) == 3 and all(e.official_id == actors["official"].id and e.from_status == "new" for e in events)
    assert "[phone removed]" in events[0].public_text  # answers are public: no personal data
    audit = _audit(demo_engine, "change_status")
    assert len(audit) == 3
    a = audit[0]
    assert a.official_id == actors["official"].id and a.before["status"] == "new" and a.after["status"] == "in_progress"
    assert a.at is not None and a.target_type == "comment"


def test_resolve_sets_resolved_at_and_close_needs_reason(demo_engine, actors):
    (cid,) = _new_ids(demo_engine, 1)
    with pytest.raises(WorkflowError):
        workflow.change_status(demo_engine, actors["official"], [cid], "closed", "Not ours")
    with pytest.raises(WorkflowError):
        workflow.change_status(demo_engine, actors["official"], [cid], "resolved", "   ")
    assert _audit(demo_engine, "change_status") == []  # refused: nothing written
    workflow.change_status(demo_engine, actors["official"], [cid], "closed", "Not ours", closed_reason="not_city")
    with demo_engine.connect() as conn:
        r = conn.execute(
            select(Comment.status, Comment.closed_reason, Comment.resolved_at).where(Comment.id == cid)
        ).one()
    assert r.status == "closed" and r.closed_reason == "not_city" and r.resolved_at is not None


def test_a_missing_comment_rolls_back_the_whole_bulk_action(demo_engine, actors):
    ids = _new_ids(demo_engine, 2)
    with pytest.raises(WorkflowError):
        workflow.change_status(demo_engine, actors["official"], [*ids, 10**9], "acknowledged", "Thanks")
    with demo_engine.connect() as conn:
        assert (
            conn.scalar(select(func.count()).select_from(Comment).where(Comment.id.in_(ids), Comment.status == "new"))
            == 2
        )


def test_assign_is_audited(demo_engine, actors):
    ids = _new_ids(demo_engine, 2)
    with demo_engine.connect() as conn:
        dept = conn.scalar(select(Department.id).where(Department.name == "Environment"))
    workflow.assign(demo_engine, actors["admin"], ids, dept)
    audit = _audit(demo_engine, "assign")
    assert len(audit) == 2 and audit[0].after["department_id"] == dept


def test_moderation_actions_are_audited(demo_engine, actors):
    a, b, c = _new_ids(demo_engine, 3)
    mod = actors["moderator"]
    workflow.moderate(demo_engine, mod, a, "hide", "insults a neighbour")
    with pytest.raises(WorkflowError):
        workflow.moderate(demo_engine, mod, b, "hide", "")
    workflow.moderate(
        demo_engine, mod, b, "redact", "name removed", redacted_text="The [name removed] shop blocks the path."
    )
    workflow.moderate(demo_engine, mod, a, "approve")
    with demo_engine.connect() as conn:
        rb = conn.execute(select(Comment.text, Comment.original_text).where(Comment.id == b)).one()
        ra = conn.execute(select(Comment.moderation).where(Comment.id == a)).one()
    assert rb.text.startswith("The [name removed]") and rb.original_text and ra.moderation == "published"
    assert [e.action for e in _audit(demo_engine, "moderation_hide")] == ["moderation_hide"]
    hide = _audit(demo_engine, "moderation_hide")[0]
    assert hide.before["moderation"] == "published" and hide.after["moderation"] == "hidden"
    assert len(_audit(demo_engine, "moderation_redact")) == 1 and len(_audit(demo_engine, "moderation_approve")) == 1
    del c


def test_roles_are_checked_in_the_store_layer(demo_engine, actors):
    ids = _new_ids(demo_engine, 1)
    with pytest.raises(NotAllowed):
        workflow.change_status(demo_engine, actors["moderator"], ids, "acknowledged", "Thanks")
    with pytest.raises(NotAllowed):
        workflow.assign(demo_engine, actors["moderator"], ids, None)
    with pytest.raises(NotAllowed):
        workflow.moderate(demo_engine, Actor(0, "citizen"), ids[0], "approve")


def test_templates_come_from_the_city(demo_city):
    t = workflow.answer_templates(demo_city)
    assert set(t) == {"acknowledged", "in_progress", "resolved", "closed"}
    custom = demo_city.model_copy(
        update={"officials": demo_city.officials.model_copy(update={"answer_templates": {"resolved": "Fixed!"}})}
    )
    assert workflow.answer_templates(custom)["resolved"] == "Fixed!"


def test_queue_sorts(demo_engine):
    from datetime import datetime

    now = datetime(2026, 11, 16, 9)
    newest = workflow.queue(demo_engine, "newest", now=now)
    assert newest["created_at"].is_monotonic_decreasing
    oldest = workflow.queue(demo_engine, "oldest_open", now=now)
    assert (
        oldest["status"].isin(["new", "acknowledged", "in_progress"]).all()
        and oldest["created_at"].is_monotonic_increasing
    )
    sup = workflow.queue(demo_engine, "most_supported", now=now)
    assert sup["support_count"].is_monotonic_decreasing
    over = workflow.queue(demo_engine, "overdue", overdue_days=14, now=now)
    assert (
        len(over) and over["first_response_at"].isna().all() and (over["created_at"] < datetime(2026, 11, 2, 9)).all()
    )


def test_city_toml_officials_table(tmp_path):
    from data_sources.config import ConfigError, load_city
    from tests.support import ROOT

    src = (
        (ROOT / "cities" / "demo.toml")
        .read_text()
        .replace('file = "demo/districts.geojson"', f'file = "{ROOT / "cities" / "demo" / "districts.geojson"}"')
    )
    ok = tmp_path / "city.toml"
    ok.write_text(src + '\n[officials]\noverdue_days = 7\nanswer_templates = { resolved = "Sorted, thanks!" }\n')
    city = load_city(ok)
    assert city.officials.overdue_days == 7 and workflow.answer_templates(city)["resolved"] == "Sorted, thanks!"
    bad = tmp_path / "bad.toml"
    bad.write_text(src + '\n[officials]\nanswer_templates = { fixed = "?" }\n')
    with pytest.raises(ConfigError, match="officials.answer_templates"):
        load_city(bad)
