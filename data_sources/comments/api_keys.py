"""API keys for integrators (Open311 clients: 311 systems, FixMyStreet-style apps).

A key is a random token shown once when it is created; the store keeps only its SHA-256, so a leaked database
does not leak working keys. Keys are named after the integrator so that every comment they post is traceable
(``origin = "open311:<name>"``) and a key can be switched off without touching the others.

A key may be scoped to a department: it can then also answer that department's comments through
``POST /api/v1/comments/<id>/updates`` (back-office systems; README "Scripted answers"), and no others.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select, update

from data_sources.comments.records import token_hash
from data_sources.store.db import utcnow
from data_sources.store.models import ApiKey, Department

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,79}$")


class ApiKeyError(ValueError):
    pass


@dataclass(frozen=True)
class ApiKeyInfo:
    name: str
    department_id: int | None  # None: not scoped (Open311 posting only)


def create_api_key(engine: Engine, name: str, department: str | None = None) -> str:
    """Store a new key for ``name`` (scoped to the existing ``department`` if given) and return the token (the
    only time it is known in clear)."""
    if not NAME_RE.match(name or ""):
        raise ApiKeyError("a key name is 1-80 letters, digits, '.', '_' or '-', starting with a letter or digit")
    token = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        if conn.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
            raise ApiKeyError(f"a key named {name!r} exists already; revoke it or choose another name")
        dept_id = None
        if department is not None:
            dept_id = conn.scalar(select(Department.id).where(Department.name == department))
            if dept_id is None:
                known = ", ".join(conn.scalars(select(Department.name).order_by(Department.name)).all()) or "none yet"
                raise ApiKeyError(f"no department named {department!r}; departments: {known}")
        conn.execute(
            insert(ApiKey).values(
                name=name, key_hash=token_hash(token), created_at=utcnow(), active=True, department_id=dept_id
            )
        )
    return token


def revoke_api_key(engine: Engine, name: str) -> bool:
    with engine.begin() as conn:
        return conn.execute(update(ApiKey).where(ApiKey.name == name).values(active=False)).rowcount > 0


def api_key_name(engine: Engine, token: str | None) -> str | None:
    """The integrator's name for an active key, or None."""
    if not token or len(token) > 200:
        return None
    with engine.connect() as conn:
        return conn.scalar(select(ApiKey.name).where(ApiKey.key_hash == token_hash(token), ApiKey.active.is_(True)))


def api_key_info(engine: Engine, token: str | None) -> ApiKeyInfo | None:
    """The integrator's name and department scope for an active key, or None."""
    if not token or len(token) > 200:
        return None
    with engine.connect() as conn:
        row = conn.execute(
            select(ApiKey.name, ApiKey.department_id).where(
                ApiKey.key_hash == token_hash(token), ApiKey.active.is_(True)
            )
        ).first()
    return ApiKeyInfo(row.name, row.department_id) if row else None
