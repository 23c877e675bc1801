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
from data_sources.comments.records import (
    CommentInput,
    CommentRejected,
    add_support,
    address_hash,
    client_hash,
    find_duplicates,
    flag_comment,
    public_comment,
    public_location,
    purge_personal_data,
    duplicate_rings,
    rank_duplicates,
    submit_comment,
)
from data_sources.config import ConfigError, load_city
from data_sources.comments.evidence import choose_reading, nearest_reading
from data_sources.comments.ledger import city_ledger, ledger
from data_sources.store.models import Comment, CommentEvent, Flag, Support
from tests.support import DEMO_END

BROWSER_A, BROWSER_B, BROWSER_C = "a" * 32, "b" * 32, "c" * 32
# ~0.0009° of latitude is 100 m.
M = 1 / 111_200
KEY = b"k" * 32
ADDR_A, ADDR_B, ADDR_C = (address_hash(KEY, a) for a in ("192.0.2.1", "198.51.100.7", "2001:db8::1"))
BROWSER_D = "d" * 20


def _submit(engine, city, **kw):
    base = dict(lat=48.5, lon=9.0, category="street", text="The street light has been out for a week.")
    return submit_comment(engine, city, CommentInput(**{**base, **kw}))


def test_one_support_per_browser(any_engine, demo_city):
    demo_engine = any_engine  # SQLite and PostgreSQL
    cid = _submit(demo_engine, demo_city).id
    assert add_support(demo_engine, cid, BROWSER_A, ADDR_A).count == 1
    again = add_support(demo_engine, cid, BROWSER_A, ADDR_B)
    assert not again.added and again.count == 1
    assert add_support(demo_engine, cid, BROWSER_B, ADDR_B).count == 2
    with pytest.raises(CommentRejected):
        add_support(demo_engine, cid, "short", ADDR_C)  # no usable browser id


def test_one_support_per_address_whatever_the_browser_id(any_engine, demo_city):
    cid = _submit(any_engine, demo_city).id
    assert add_support(any_engine, cid, BROWSER_A, ADDR_A).added
    again = add_support(any_engine, cid, BROWSER_B, ADDR_A)  # a made-up browser id from the same address
    assert not again.added and again.count == 1


def test_held_comment_cannot_be_supported(demo_engine, demo_city):
    cid = _submit(demo_engine, demo_city, text="This idiot council never fixes the lights").id
    with pytest.raises(CommentRejected):
        add_support(demo_engine, cid, BROWSER_A, ADDR_A)


def test_flags_hide_a_comment_at_the_threshold(any_engine, demo_city):
    demo_engine = any_engine  # SQLite and PostgreSQL
    cid = _submit(demo_engine, demo_city).id
    assert not flag_comment(demo_engine, cid, BROWSER_A, "spam", 3, ADDR_A).hidden
    assert not flag_comment(demo_engine, cid, BROWSER_A, "spam", 3, ADDR_B).added  # same browser: once
    assert not flag_comment(demo_engine, cid, BROWSER_D, "spam", 3, ADDR_A).added  # same address: once
    assert not flag_comment(demo_engine, cid, BROWSER_B, "abusive", 3, ADDR_B).hidden
    assert public_comment(demo_engine, cid)["moderation"] == "published"
    r = flag_comment(demo_engine, cid, BROWSER_C, "<b>anything</b>", 3, ADDR_C)
    assert r.hidden and r.count == 3
    assert public_comment(demo_engine, cid)["moderation"] == "hidden"
    with demo_engine.connect() as c:
        kinds = c.scalars(select(CommentEvent.kind).where(CommentEvent.comment_id == cid)).all()
    assert kinds == ["moderation"]  # logged for the moderators, no public event
    assert find_duplicates(demo_engine, 48.5, 9.0, "street") == []  # hidden: not offered as a duplicate


def test_rank_duplicates_by_hand():
    """Rings of cells around the pin's cell, then supports, then id: a function of public cells alone."""
    import h3

    pin = h3.latlng_to_cell(48.5, 9.0, 9)
    ring1 = sorted(h3.grid_ring(pin, 1))
    far = h3.grid_ring(pin, 3)[0]
    cands = [
        {"id": 1, "h3_r9": h3.str_to_int(far), "support_count": 9},  # three cells away: too far for one ring
        {"id": 2, "h3_r9": h3.str_to_int(ring1[0]), "support_count": 7},  # a neighbour, well supported
        {"id": 3, "h3_r9": h3.str_to_int(pin), "support_count": 1},  # the pin's own cell
        {"id": 4, "h3_r9": h3.str_to_int(pin), "support_count": 5},  # the pin's own cell, more support: first
        {"id": 5, "h3_r9": h3.str_to_int(ring1[1]), "support_count": 7},  # as 2, a later id
        {"id": 6, "h3_r9": None, "support_count": 0},  # no public cell: never offered
    ]
    assert [c["id"] for c in rank_duplicates(cands, h3.str_to_int(pin), rings=1)] == [4, 3, 2, 5]
    assert [c["id"] for c in rank_duplicates(cands, h3.str_to_int(pin), rings=1, limit=1)] == [4]
    assert [c["id"] for c in rank_duplicates(cands, h3.str_to_int(pin), rings=3)] == [4, 3, 2, 5, 1]
    assert duplicate_rings(100) == 1 and duplicate_rings(400) == 3


def test_duplicates_are_open_comments_of_the_category_in_nearby_cells(any_engine, demo_city):
    import h3

    engine = any_engine
    cell = h3.latlng_to_cell(48.5, 9.0, 9)
    here = _submit(engine, demo_city).id  # the pin's own cell
    next_door = _submit(
        engine,
        demo_city,
        lat=h3.cell_to_latlng(h3.grid_ring(cell, 1)[0])[0],
        lon=h3.cell_to_latlng(h3.grid_ring(cell, 1)[0])[1],
    ).id
    _submit(
        engine,
        demo_city,
        lat=h3.cell_to_latlng(h3.grid_ring(cell, 3)[0])[0],
        lon=h3.cell_to_latlng(h3.grid_ring(cell, 3)[0])[1],
    )  # three cells away: too far
    _submit(engine, demo_city, category="noise", text="Motorbikes racing after midnight here.")  # other category
    done = _submit(engine, demo_city).id
    with engine.begin() as c:
        c.execute(update(Comment).where(Comment.id == done).values(status="resolved"))
    found = find_duplicates(engine, 48.5, 9.0, "street", radius_m=100)
    assert [d["id"] for d in found] == [here, next_door]
    assert not {"lat", "lon", "h3_r9"} & set(found[0])  # nothing about places in the answer
    # Any pin in the same cell gets the same answer (the exact pin is never compared with an exact point).
    lat, lon = h3.cell_to_latlng(cell)
    assert find_duplicates(engine, lat, lon, "street") == found


def test_choose_reading_by_hand():
    at = datetime(2026, 11, 16, 8, 20)
    base = {"metric": "pm25", "unit": "µg/m³", "layer": "air_station"}
    cands = [
        {
            **base,
            "feature_id": 1,
            "name": "far",
            "lat": 48.5 + 3000 * M,
            "lon": 9.0,
            "time": datetime(2026, 11, 16, 8),
            "value": 5.0,
        },
        {
            **base,
            "feature_id": 2,
            "name": "near, old",
            "lat": 48.5 + 380 * M,
            "lon": 9.0,
            "time": datetime(2026, 11, 16, 7),
            "value": 30.0,
        },
        {
            **base,
            "feature_id": 2,
            "name": "near",
            "lat": 48.5 + 380 * M,
            "lon": 9.0,
            "time": datetime(2026, 11, 16, 8),
            "value": 23.0,
        },
        {
            **base,
            "feature_id": 3,
            "name": "stale",
            "lat": 48.5,
            "lon": 9.0,
            "time": datetime(2026, 11, 14, 8),
            "value": 99.0,
        },
    ]
    ev = choose_reading(cands, 48.5, 9.0, at)
    assert (
        ev["feature_id"] == 2 and ev["value"] == 23.0 and ev["distance_m"] == 400 and ev["time"] == "2026-11-16T08:00"
    )
    assert choose_reading(cands[:1], 48.5, 9.0, at) is None  # 3 km away says nothing about this place


def test_submitted_comment_records_the_nearest_reading(demo_engine, demo_city):
    r = _submit(
        demo_engine, demo_city, category="air", text="The air smells of exhaust every morning.", created_at=DEMO_END
    )
    ev = public_comment(demo_engine, r.id)["evidence"]
    assert ev["metric"] == "pm25" and ev["unit"] == "µg/m³" and ev["time"] == "2026-11-16T09:00"
    # Found and measured from the public point (the centre of the comment's r9 cell), never the exact point.
    assert ev == nearest_reading(demo_engine, *public_location(48.5, 9.0), "air", DEMO_END)
    assert ev["distance_m"] % 50 == 0 and ev["distance_m"] <= 2000
    # No measured counterpart for street lights.
    assert public_comment(demo_engine, _submit(demo_engine, demo_city, created_at=DEMO_END).id)["evidence"] is None


def test_ledger_by_hand():
    t0 = datetime(2026, 1, 1)
    now = t0 + timedelta(days=40)
    comments = pd.DataFrame(
        [
            # id, created, category, department
            (1, t0, "air", "Env"),  # answered after 10 h, resolved
            (
                2,
                t0,
                "air",
                "Env",
            ),  # answered (a reply, no status change) after 30 h, still new -> open, overdue (40 d > 30)
            (3, t0 + timedelta(days=35), "air", "Env"),  # no answer, open, not overdue (5 d)
            (4, t0, "noise", "Env"),  # acknowledged after 2 h then closed
        ],
        columns=["id", "created_at", "category", "department"],
    )
    h = lambda n: t0 + timedelta(hours=n)  # noqa: E731
    events = pd.DataFrame(
        [
            (1, 1, h(10), "status", "acknowledged"),
            (2, 1, h(50), "status", "resolved"),
            (3, 2, h(30), "answer", None),
            (4, 4, h(2), "status", "acknowledged"),
            (5, 4, h(20), "status", "closed"),
            (6, 1, h(5), "assign", None),  # an assignment is not an answer
        ],
        columns=["id", "comment_id", "created_at", "kind", "to_status"],
    )
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
    old = _submit(
        demo_engine,
        demo_city,
        email="me@example.org",
        text="Call me on +44 7700 900123 about the light",
        created_at=datetime(2025, 1, 1),
    ).id
    new = _submit(demo_engine, demo_city, email="you@example.org").id
    assert purge_personal_data(demo_engine, 365, dry_run=True) == 1
    assert purge_personal_data(demo_engine, 365) == 1
    with demo_engine.connect() as c:
        rows = dict(c.execute(select(Comment.id, Comment.email).where(Comment.id.in_([old, new]))).all())
        assert c.scalar(select(Comment.original_text).where(Comment.id == old)) is None
        assert c.scalar(select(func.count()).select_from(Comment).where(Comment.id == old)) == 1  # the comment stays
    assert rows == {old: None, new: "you@example.org"}
    assert purge_personal_data(demo_engine, 365) == 0


def test_flags_older_than_the_window_do_not_add_up(demo_engine, demo_city):
    cid = _submit(demo_engine, demo_city).id
    flag_comment(demo_engine, cid, BROWSER_A, "spam", 2, ADDR_A, window_hours=72)
    with demo_engine.begin() as c:  # that first flag was four days ago
        c.execute(update(Flag).where(Flag.comment_id == cid).values(created_at=datetime.now() - timedelta(days=4)))
    assert not flag_comment(demo_engine, cid, BROWSER_B, "spam", 2, ADDR_B, window_hours=72).hidden
    assert flag_comment(demo_engine, cid, BROWSER_C, "spam", 2, ADDR_C, window_hours=72).hidden


def test_address_hash_is_keyed_and_counts_an_ipv6_network_once():
    assert address_hash(KEY, "192.0.2.1") == address_hash(KEY, "192.0.2.1") != address_hash(b"x" * 32, "192.0.2.1")
    assert "192.0.2.1" not in address_hash(KEY, "192.0.2.1") and len(address_hash(KEY, "192.0.2.1")) == 64
    assert address_hash(KEY, "2001:db8:1:2::1") == address_hash(KEY, "2001:db8:1:2:ffff::9")  # one /64
    assert address_hash(KEY, "2001:db8:1:2::1") != address_hash(KEY, "2001:db8:1:3::1")
    assert address_hash(KEY, "::ffff:192.0.2.1") == address_hash(KEY, "192.0.2.1")


def test_purge_forgets_vote_addresses_after_their_retention(demo_engine, demo_city):
    cid = _submit(demo_engine, demo_city).id
    add_support(demo_engine, cid, BROWSER_A, ADDR_A)
    flag_comment(demo_engine, cid, BROWSER_A, "spam", 3, ADDR_A)
    add_support(demo_engine, cid, BROWSER_B, ADDR_B)
    with demo_engine.begin() as c:
        for table in (Support, Flag):
            c.execute(
                update(table)
                .where(table.client_hash.in_([client_hash("support", BROWSER_A), client_hash("flag", BROWSER_A)]))
                .values(created_at=datetime.now() - timedelta(days=31))
            )
    purge_personal_data(demo_engine, 365, address_retention_days=30)
    with demo_engine.connect() as c:
        left = c.scalars(select(Support.address_hash).where(Support.comment_id == cid)).all()
        flags = c.scalars(select(Flag.address_hash).where(Flag.comment_id == cid)).all()
    assert sorted(left, key=str) == sorted([None, ADDR_B], key=str) and flags == [None]


def test_feedback_policy_is_validated(tmp_path):
    src = (load_city().path).read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(
        src.replace('# comment_rate = "5/minute;30/day"', 'comment_rate = "lots"').replace(
            'file = "demo/districts.geojson"', f'file = "{load_city().resolve("demo/districts.geojson")}"'
        )
    )
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
