"""Routing to departments: the city TOML's ``[routing]`` names the department of a new comment by category,
optionally overridden per district (``data_sources.config.RoutingConfig``). ``submit_comment`` assigns on
arrival through ``department_id_for``; officials reassign through ``workflow.assign`` (audited).
"""

from __future__ import annotations

from sqlalchemy import Engine, ScalarSelect, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from data_sources.config import RoutingConfig
from data_sources.store.models import Department, District


def routed_department(conn: Connection, routing: RoutingConfig, category: str, district_id: int | None) -> str | None:
    """The department name for a new comment; reads the district's name only when districts override."""
    district = None
    if routing.districts and district_id:
        district = conn.scalar(select(District.name).where(District.id == district_id))
    return routing.department_for(category, district)


def department_subquery(name: str | None) -> ScalarSelect | None:
    """The department's id by name, inside the comment's INSERT (no extra round trip)."""
    if name is None:
        return None
    return select(Department.id).where(Department.name == name).scalar_subquery()


def ensure_department(conn: Connection, name: str, categories: list[str] | None = None) -> int:
    """The id of the department called ``name``, created if new (two writers racing: one creates it)."""
    found = conn.scalar(select(Department.id).where(Department.name == name))
    if found is not None:
        return found
    try:
        with conn.begin_nested():
            return conn.execute(
                insert(Department).values(name=name, categories=categories or []).returning(Department.__table__.c.id)
            ).scalar_one()
    except IntegrityError:
        return int(conn.execute(select(Department.id).where(Department.name == name)).scalar_one())


def ensure_departments(engine: Engine, routing: RoutingConfig) -> dict[str, int]:
    """Create every department the routing names, and record the categories each takes by default (shown to
    officials; the routing itself always reads the TOML). Returns name -> id."""
    cats: dict[str, list[str]] = {}
    for category, name in routing.categories.items():
        cats.setdefault(name, []).append(category)
    out = {}
    with engine.begin() as conn:
        for name in routing.department_names():
            out[name] = ensure_department(conn, name, sorted(cats.get(name, [])))
            if name in cats:
                conn.execute(update(Department).where(Department.id == out[name]).values(categories=sorted(cats[name])))
    return out
