"""The mail outbox and double opt-in in the store, on SQLite and PostgreSQL: what gets queued, for whom, once."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import h3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from data_sources.config import CityConfig
from data_sources.comments.records import CommentInput, CommentRejected, submit_comment
from data_sources.store.models import MailOutbox
from data_sources.comments.notifications import (
    AreaFilter,
    area_matches,
    backoff,
    claim,
    confirm,
    due,
    mark_failed,
    mark_sent,
    mark_stale_uncertain,
    purge_mail,
    schedule_fixed_checks,
    subscribe,
    unsubscribe,
    validate_area,
)
from data_sources.store.db import utcnow
from data_sources.comments.accounts import create_official
from data_sources.comments.workflow import Actor, WorkflowError, change_status, citizen_answer_fixed


def _comment(engine: Engine, city: CityConfig, email: str | None = "ann@example.org", **kw: object) -> int:
    return submit_comment(
        engine,
        city,
        CommentInput(
            lat=48.5, lon=9.0, category="street", text="A loose paving stone by the school.", email=email, **kw
        ),
    ).id


def _outbox(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as c:
        return [(k, s) for k, s in c.execute(select(MailOutbox.kind, MailOutbox.status).order_by(MailOutbox.id))]


def _actor(engine: Engine) -> Actor:
    return Actor(create_official(engine, "o@city.example", "x", "official", "Streets"), "official")


def test_double_opt_in_and_updates(any_engine, demo_city):
    cid = _comment(any_engine, demo_city)
    assert _outbox(any_engine) == [("confirm", "pending")]
    actor = _actor(any_engine)
    change_status(any_engine, actor, [cid], "acknowledged", "Logged.")
    assert _outbox(any_engine) == [("confirm", "pending")]  # not confirmed: nothing else is queued
    (item,) = due(any_engine, utcnow())
    assert item.email == "ann@example.org" and item.kind == "confirm"
    confirm(any_engine, item.token)
    change_status(any_engine, actor, [cid], "resolved", "Fixed.")
    assert _outbox(any_engine) == [("confirm", "pending"), ("update", "pending")]
    with pytest.raises(WorkflowError):
        change_status(any_engine, actor, [cid, 999_999], "closed", "x", closed_reason="other")
    assert len(_outbox(any_engine)) == 2  # a refused change queues nothing
    now = utcnow() + timedelta(days=28, minutes=1)
    assert schedule_fixed_checks(any_engine, 28, now) == 1
    assert schedule_fixed_checks(any_engine, 28, now + timedelta(hours=1)) == 0  # once per resolution
    assert citizen_answer_fixed(any_engine, item.token, "no") == "reopened"
    assert citizen_answer_fixed(any_engine, item.token, "yes") == "already"
    unsubscribe(any_engine, item.token)
    assert [s for _k, s in _outbox(any_engine)] == ["cancelled"] * 3  # what had not gone yet is not sent


def test_claim_send_mark_and_retry(any_engine, demo_city):
    _comment(any_engine, demo_city)
    now = utcnow()
    (item,) = due(any_engine, now)
    assert claim(any_engine, item, "<a@b>", now)
    assert not claim(any_engine, item, "<c@d>", now)  # a second worker cannot take it
    mark_failed(any_engine, item, "451 later", now)
    assert due(any_engine, now) == [] and len(due(any_engine, now + backoff(1))) == 1
    (again,) = due(any_engine, now + backoff(1))
    assert claim(any_engine, again, "<new@id>", now + backoff(1)) and again.message_id == "<a@b>"  # kept
    assert mark_stale_uncertain(any_engine, now + backoff(1) + timedelta(minutes=5)) == 0
    assert mark_stale_uncertain(any_engine, now + timedelta(hours=1)) == 1
    assert _outbox(any_engine) == [("confirm", "uncertain")]
    assert due(any_engine, now + timedelta(days=1)) == []
    _comment(any_engine, demo_city, email="bo@example.org")
    (other,) = due(any_engine, now + timedelta(days=1))
    claim(any_engine, other, "<x@y>", now)
    mark_sent(any_engine, other, now)
    assert _outbox(any_engine)[1] == ("confirm", "sent")


def test_backoff_grows_and_is_capped():
    assert [backoff(n).total_seconds() / 60 for n in range(1, 6)] == [1, 2, 4, 8, 16]
    assert backoff(50) == timedelta(hours=6)


def test_confirmation_cap_and_stop_all(any_engine, demo_city):
    for _ in range(5):
        _comment(any_engine, demo_city, email="Zed@Example.org ")
    assert _outbox(any_engine) == [("confirm", "pending")] * 3
    token = due(any_engine, utcnow())[0].token
    unsubscribe(any_engine, token, "all")
    assert (
        subscribe(
            any_engine,
            "zed@example.org",
            "area",
            "en",
            area=AreaFilter(category="noise"),
            now=utcnow() + timedelta(days=2),
        ).confirmation_queued
        is False
    )
    assert due(any_engine, utcnow() + timedelta(days=3)) == []


def test_imports_never_mail(any_engine, demo_city):
    _comment(any_engine, demo_city, origin="import")
    assert _outbox(any_engine) == []


def test_purge_forgets_old_and_unconfirmed(any_engine, demo_city):
    from datetime import datetime

    _comment(any_engine, demo_city, email="old@example.org", created_at=datetime(2020, 1, 1))
    keep = _comment(any_engine, demo_city, email="keep@example.org")
    confirm(any_engine, next(i.token for i in due(any_engine, utcnow()) if i.email == "keep@example.org"))
    assert purge_mail(any_engine, 365) == 1
    assert purge_mail(any_engine, 365, now=utcnow() + timedelta(days=30)) == 0  # confirmed and current: kept
    from data_sources.store.models import MailAddress

    with any_engine.connect() as c:
        assert list(c.scalars(select(MailAddress.email))) == ["keep@example.org"] and keep
    # its confirmation request, still queued, is not sent now that it is confirmed
    assert due(any_engine, utcnow()) == [] and _outbox(any_engine) == [("confirm", "cancelled")]


def test_area_validation():
    cats = ["noise", "street"]
    with pytest.raises(CommentRejected, match="district, a category or a point"):
        validate_area(AreaFilter(), cats)
    with pytest.raises(CommentRejected):
        validate_area(AreaFilter(category="dance"), cats)
    with pytest.raises(CommentRejected, match="radius"):
        validate_area(AreaFilter(lat=48.5, lon=9.0, radius_m=99_999), cats)
    with pytest.raises(CommentRejected, match="outside"):
        validate_area(AreaFilter(lat=10.0, lon=9.0, radius_m=100), cats, ((48.4, 8.9), (48.6, 9.1)))
    assert validate_area(AreaFilter(lat=48.5, lon=9.0, radius_m=300.0), cats).radius_m == 300.0
    with pytest.raises(CommentRejected, match="radius"):
        validate_area(AreaFilter(lat=48.5, lon=9.0), cats)  # a point needs its radius


@settings(max_examples=200, deadline=None)
@given(
    lat=st.floats(-60, 60),
    lon=st.floats(-170, 170),
    radius=st.floats(50, 5000),
    bearing=st.floats(0, 359),
    frac=st.floats(0, 2),
)
def test_radius_alerts_match_by_distance(lat, lon, radius, bearing, frac):
    import math

    d = radius * frac
    # a point at distance d along the bearing (small distances: an equirectangular step is within 0.5 %)
    dlat = d * math.cos(math.radians(bearing)) / 111_320
    dlon = d * math.sin(math.radians(bearing)) / (111_320 * math.cos(math.radians(lat)))
    sub = SimpleNamespace(district_id=None, category=None, lat=lat, lon=lon, radius_m=radius)
    c = SimpleNamespace(district_id=3, category="noise", public_lat=lat + dlat, public_lon=lon + dlon)
    real = h3.great_circle_distance((lat, lon), (c.public_lat, c.public_lon), unit="m")
    assert area_matches(sub, c) == (real <= radius)
    assert not area_matches(SimpleNamespace(**{**vars(sub), "category": "air"}), c)
    assert not area_matches(SimpleNamespace(**{**vars(sub), "district_id": 4}), c)


def test_concurrent_requests_for_a_new_address_all_succeed(any_engine, demo_city):
    from concurrent.futures import ThreadPoolExecutor

    from data_sources.store.models import MailAddress

    cid = _comment(any_engine, demo_city, email=None)
    with ThreadPoolExecutor(6) as pool:
        results = list(
            pool.map(lambda i: subscribe(any_engine, "same@example.org", "supporter", "en", comment_id=cid), range(6))
        )
    assert all(r is not None for r in results) and len({r.subscription_id for r in results}) == 1
    with any_engine.connect() as c:
        assert c.scalar(select(func.count()).select_from(MailAddress)) == 1
