"""Officials' accounts, the data side: password hashing (argon2) and the ``officials`` records: create or reset an
account, disable it, end its sessions, find an active official, check a login.

Sessions end on the server: every change that should log an official out (logout, a password, role or
department change, disabling) adds one to ``officials.session_epoch``, and ``dashboard.server.auth`` compares the
epoch in each session's cookie with it. The web side (Flask-Login, the login page, role checks) is there.
"""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, insert, select, update

from data_sources.comments.emails import InvalidEmail, normalise_official_email
from data_sources.comments.workflow import Actor, WorkflowError
from data_sources.store.db import utcnow
from data_sources.store.models import OFFICIAL_ROLES, AuditEntry, Department, Official

MIN_PASSWORD = 12

_hasher = PasswordHasher()
# Verified against when the email is unknown, so that a wrong email takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("citydash-no-such-official")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class OfficialRecord:
    """An active official as a session needs it."""

    id: int
    email: str
    role: str
    department_id: int | None
    session_epoch: int


def active_official(engine: Engine, official_id: int) -> OfficialRecord | None:
    """The official with this id if the account is active."""
    with engine.connect() as conn:
        row = conn.execute(
            select(Official.id, Official.email, Official.role, Official.department_id, Official.session_epoch).where(
                Official.id == official_id, Official.active.is_(True)
            )
        ).first()
    return None if row is None else OfficialRecord(row.id, row.email, row.role, row.department_id, row.session_epoch)


def check_login(engine: Engine, email: str, password: str) -> OfficialRecord | None:
    """The active official with this email and password; None otherwise. An unknown email costs one password
    check too, so that timing does not tell which emails have an account."""
    with engine.connect() as conn:
        row = conn.execute(
            select(
                Official.id,
                Official.email,
                Official.role,
                Official.department_id,
                Official.password_hash,
                Official.session_epoch,
            ).where(Official.email == email, Official.active.is_(True))
        ).first()
    ok = verify_password(row.password_hash if row else _DUMMY_HASH, password) and row is not None
    if not ok or row is None:
        return None
    return OfficialRecord(row.id, row.email, row.role, row.department_id, row.session_epoch)


def record_login(engine: Engine, official_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(update(Official).where(Official.id == official_id).values(last_login_at=utcnow()))


def official_actor(engine: Engine, email: str) -> Actor:
    """The active official with this email as an Actor (``citydash answer --as``)."""
    with engine.connect() as conn:
        row = conn.execute(
            select(Official.id, Official.role, Official.department_id).where(
                Official.email == email.strip().lower(), Official.active.is_(True)
            )
        ).first()
    if row is None:
        raise WorkflowError(f"No active official with the email {email.strip().lower()}.")
    return Actor(row.id, row.role, row.department_id)


def create_official(engine: Engine, email: str, password_hash: str, role: str, department: str | None) -> int:
    """Create (or update the role, department and password of) an official. Departments are created by name."""
    if role not in OFFICIAL_ROLES:
        raise WorkflowError(f"role must be one of {', '.join(OFFICIAL_ROLES)}")
    try:
        email = normalise_official_email(email)
    except InvalidEmail as e:
        raise WorkflowError(f"EMAIL is not a valid address: {e}") from None
    now = utcnow()
    with engine.begin() as conn:
        dept_id = None
        if department:
            dept_id = conn.scalar(select(Department.id).where(Department.name == department))
            if dept_id is None:
                dept_id = conn.execute(
                    insert(Department).values(name=department, categories=[]).returning(Department.id)
                ).scalar_one()
        existing = conn.scalar(select(Official.id).where(Official.email == email))
        values = {"password_hash": password_hash, "role": role, "department_id": dept_id, "active": True}
        if existing is None:
            oid = conn.execute(
                insert(Official).values(email=email, created_at=now, **values).returning(Official.id)
            ).scalar_one()
            action, before = "create_official", None
        else:
            oid = existing
            before = dict(
                conn.execute(select(Official.role, Official.department_id, Official.active).where(Official.id == oid))
                .one()
                ._mapping
            )
            # A reset (password, role, department) ends every session opened before it.
            conn.execute(
                update(Official).where(Official.id == oid).values(**values, session_epoch=Official.session_epoch + 1)
            )
            action = "update_official"
        conn.execute(
            insert(AuditEntry).values(
                at=now,
                official_id=None,
                action=action,
                target_type="official",
                target_id=str(oid),
                before=before,
                after={"email": email, "role": role, "department_id": dept_id},
            )
        )
    return oid


def end_sessions(engine: Engine, official_id: int) -> None:
    """End every session of this official, in every worker (the epoch lives in the store)."""
    with engine.begin() as conn:
        conn.execute(
            update(Official).where(Official.id == official_id).values(session_epoch=Official.session_epoch + 1)
        )


def disable_official(engine: Engine, email: str) -> int:
    """Disable an account: it can no longer log in and its sessions end now. ``create-official`` enables it again
    (with a new password). Returns the official's id."""
    email = email.strip().lower()
    with engine.begin() as conn:
        row = conn.execute(select(Official.id, Official.active).where(Official.email == email)).first()
        if row is None:
            raise WorkflowError(f"No official with the email {email}.")
        conn.execute(
            update(Official).where(Official.id == row.id).values(active=False, session_epoch=Official.session_epoch + 1)
        )
        conn.execute(
            insert(AuditEntry).values(
                at=utcnow(),
                official_id=None,
                action="disable_official",
                target_type="official",
                target_id=str(row.id),
                before={"active": row.active},
                after={"active": False},
            )
        )
    return row.id
