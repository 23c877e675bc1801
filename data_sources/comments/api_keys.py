"""API keys for integrators (Open311 clients: 311 systems, FixMyStreet-style apps).

A key is a random token shown once when it is created; the store keeps only its SHA-256, so a leaked database
does not leak working keys. Keys are named after the integrator so that every comment they post is traceable
(``origin = "open311:<name>"``) and a key can be switched off without touching the others.
"""
from __future__ import annotations

import re
import secrets

from sqlalchemy import Engine, insert, select, update

from data_sources.comments.records import token_hash
from data_sources.store.models import ApiKey
from data_sources.store.db import utcnow

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,79}$")


class ApiKeyError(ValueError):
    pass


def create_api_key(engine: Engine, name: str) -> str:
    """Store a new key for ``name`` and return the token (the only time it is known in clear)."""
    if not NAME_RE.match(name or ""):
        raise ApiKeyError("a key name is 1-80 letters, digits, '.', '_' or '-', starting with a letter or digit")
    token = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        if conn.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
            raise ApiKeyError(f"a key named {name!r} exists already; revoke it or choose another name")
        conn.execute(insert(ApiKey).values(name=name, key_hash=token_hash(token), created_at=utcnow(), active=True))
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
