"""Routing to departments: a new comment is assigned on arrival from the city TOML ([routing]), a district can
override its category's department, an unrouted comment stays visible as unassigned, officials reassign (audited),
and the ledger counts comments under the department they were routed to."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely
from sqlalchemy import Engine, select

from data_sources.comments import workflow
from data_sources.comments.records import CommentInput, submit_comment
from data_sources.config import CityConfig, ConfigError, load_city
from data_sources.demo import DEPARTMENTS
from data_sources.comments.ledger import city_ledger
from data_sources.store.models import AuditEntry, Comment, CommentEvent, Department
from data_sources.comments.routing import ensure_departments
from data_sources.store.db import open_store, utcnow
from data_sources.comments.workflow import UNASSIGNED, Actor, QueueFilter
from tests.dashboard.officials_helpers import make_officials

ROOT = Path(__file__).resolve().parents[3]


def inside(district: str) -> tuple[float, float]:
    """A point inside a demo district (from the district file, not a guess)."""
    fc = json.loads((ROOT / "cities" / "demo" / "districts.geojson").read_text())
    feat = next(f for f in fc["features"] if f["properties"]["name"] == district)
    p = shapely.from_geojson(json.dumps(feat["geometry"])).representative_point()
    return p.y, p.x


def dept_of(engine: Engine, cid: int) -> str | None:
    with engine.connect() as conn:
        return conn.scalar(
            select(Department.name).join(Comment, Comment.department_id == Department.id).where(Comment.id == cid)
        )


def comment(
    engine: Engine, city: CityConfig, category: str, at: tuple[float, float], text: str = "Something to fix right here."
) -> int:
    return submit_comment(
        engine, city, CommentInput(lat=at[0], lon=at[1], category=category, text=text), hold_for_review=None
    ).id


def test_demo_toml_routes_as_the_demo_generator_assigns(demo_city):
    # One mapping: the demo city's TOML says what the generator does for the seeded comments.
    assert {c: demo_city.routing.department_for(c, None) for cats in DEPARTMENTS.values() for c in cats} == {
        c: d for d, cats in DEPARTMENTS.items() for c in cats
    }


def test_new_comments_are_assigned_on_arrival(demo_engine, demo_city):
    at = inside("Old Town")
    assert dept_of(demo_engine, comment(demo_engine, demo_city, "air", at)) == "Environment"
    assert dept_of(demo_engine, comment(demo_engine, demo_city, "cycling", at)) == "Transport"
    assert dept_of(demo_engine, comment(demo_engine, demo_city, "street", at)) == "Streets and public space"


def test_a_district_overrides_its_categories(demo_engine, demo_city):
    routing = demo_city.routing.model_copy(
        update={"districts": {"Old Town": {"street": "Old town works office"}, "Riverside": {"*": "Riverside team"}}}
    )
    city = demo_city.model_copy(update={"routing": routing})
    old_town, elsewhere = inside("Old Town"), inside("Northgate")
    # Departments the TOML names are created when first needed (here: not before the first comment).
    assert dept_of(demo_engine, comment(demo_engine, city, "street", old_town)) == "Old town works office"
    assert dept_of(demo_engine, comment(demo_engine, city, "street", old_town)) == "Old town works office"
    assert dept_of(demo_engine, comment(demo_engine, city, "air", old_town)) == "Environment"  # only street overridden
    assert dept_of(demo_engine, comment(demo_engine, city, "street", elsewhere)) == "Streets and public space"
    assert dept_of(demo_engine, comment(demo_engine, city, "noise", inside("Riverside"))) == "Riverside team"
    with demo_engine.connect() as conn:
        assert conn.scalars(select(Department.name).where(Department.name == "Old town works office")).all() == [
            "Old town works office"
        ]  # created once


def test_unrouted_comments_stay_visible_as_unassigned(demo_engine, demo_city):
    routing = demo_city.routing.model_copy(update={"categories": {"air": "Environment"}})
    city = demo_city.model_copy(update={"routing": routing})
    cid = comment(demo_engine, city, "noise", inside("Old Town"), "Unrouted noise at the corner tonight")
    assert dept_of(demo_engine, cid) is None
    # The queue without a filter shows it; a department filter offers "unassigned" and shows it; a named
    # department alone does not (it is not theirs), but "unassigned" with it does.

    def ids(f: QueueFilter) -> set[int]:
        return set(workflow.queue_page(demo_engine, f, page_size=200)[0]["id"])

    assert cid in ids(QueueFilter(text="unrouted noise"))
    assert cid in ids(QueueFilter(text="unrouted noise", departments=(UNASSIGNED,)))
    env = dict((n, i) for i, n in workflow.departments(demo_engine))["Environment"]
    assert cid not in ids(QueueFilter(text="unrouted noise", departments=(env,)))
    assert cid in ids(QueueFilter(text="unrouted noise", departments=(env, UNASSIGNED)))


def test_reassigning_is_audited_and_kept_out_of_the_public_history(demo_engine, demo_city):
    from data_sources.comments.records import public_history

    official = Actor(make_officials(demo_engine)["official"], "official")
    cid = comment(demo_engine, demo_city, "air", inside("Old Town"))
    depts = {n: i for i, n in workflow.departments(demo_engine)}
    workflow.assign(demo_engine, official, [cid], depts["Transport"])
    assert dept_of(demo_engine, cid) == "Transport"
    with demo_engine.connect() as conn:
        a = conn.execute(
            select(AuditEntry.__table__).where(AuditEntry.action == "assign", AuditEntry.target_id == str(cid))
        ).one()
        kinds = conn.scalars(select(CommentEvent.kind).where(CommentEvent.comment_id == cid)).all()
    assert a.official_id == official.id
    assert a.before["department_id"] == depts["Environment"] and a.after["department_id"] == depts["Transport"]
    assert kinds == ["assign"] and public_history(demo_engine, cid) == []


def test_the_ledger_counts_routed_comments_under_their_department(demo_engine, demo_city):
    before = city_ledger(demo_engine, utcnow())["departments"].set_index("department")
    comment(demo_engine, demo_city, "green_space", inside("Old Town"))
    after = city_ledger(demo_engine, utcnow())["departments"].set_index("department")
    assert after.loc["Environment", "comments"] == before.loc["Environment", "comments"] + 1
    assert after.loc["Transport", "comments"] == before.loc["Transport", "comments"]


def test_routing_works_on_both_stores(any_url, demo_city):
    eng = open_store(any_url)
    try:
        assert dept_of(eng, comment(eng, demo_city, "traffic", (48.5, 9.0))) == "Transport"  # created on first use
        assert dept_of(eng, comment(eng, demo_city, "walking", (48.5, 9.0))) == "Transport"  # found inside the INSERT
        ids = ensure_departments(eng, demo_city.routing)
        assert set(ids) == set(DEPARTMENTS)
        with eng.connect() as conn:
            assert sorted(conn.scalar(select(Department.categories).where(Department.name == "Environment"))) == sorted(
                DEPARTMENTS["Environment"]
            )
    finally:
        eng.dispose()


def test_routing_to_an_unknown_category_is_refused_on_load(tmp_path):
    toml = (
        (ROOT / "cities" / "demo.toml")
        .read_text()
        .replace('file = "demo/districts.geojson"', f'file = "{ROOT / "cities" / "demo" / "districts.geojson"}"')
    )
    bad = tmp_path / "bad.toml"
    bad.write_text(toml.replace('other = "Streets and public space" }', 'other = "Streets", potholes = "Roads" }'))
    with pytest.raises(ConfigError, match="potholes"):
        load_city(bad)
