"""The one schema that holds the city's open data and its citizens' comments, side by side.

Conventions:
* every datetime is UTC, stored naive (SQLite has no time zones; PostgreSQL ``timestamp`` keeps it the same);
* geometries are GeoJSON text in EPSG:4326 (portable across SQLite and PostgreSQL, no PostGIS needed), with a
  representative lat/lon and H3 cells (BigInteger: an H3 index fits a signed 64-bit integer) for aggregation;
* the schema changes only through Alembic migrations (``data_sources/migrations``), so upgrades keep data.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

# Named constraints so that Alembic migrations (batch mode on SQLite) can refer to them.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Comment workflow. "closed" always carries a reason (duplicate, not_city, ...).
COMMENT_STATUSES = ("new", "acknowledged", "in_progress", "resolved", "closed")
OPEN_STATUSES = ("new", "acknowledged", "in_progress")
# Moderation is separate from the workflow: a held comment can still be "new".
MODERATION_STATES = ("published", "held", "hidden")
PHOTO_STATES = ("pending", "attached", "hidden")
OFFICIAL_ROLES = ("moderator", "official", "admin")

# Published comments with a first answer: the rows of the ledger's median indexes (migration 0803).
LEDGER_ANSWERED = "moderation = 'published' AND first_answer_seconds IS NOT NULL"

# H3 resolutions kept on every comment and feature: r6 (~36 km²) for a city overview down to r9 (~0.1 km²).
H3_RESOLUTIONS = (6, 7, 8, 9)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict: JSON, datetime: DateTime()}


# Columns of a class come after those of its mixins of the same sort order. Those that come before ``Located``'s
# carry ``sort_order=BEFORE_CELLS``, so that the tables keep the column order of the migrations that made them.
BEFORE_CELLS, CELLS = -2, -1


class Located:
    """A row with a place: its H3 cells at ``H3_RESOLUTIONS`` and its district (features and comments)."""

    district_indexed: ClassVar[bool] = False  # index district_id (comments are filtered by district)

    h3_r6: Mapped[int | None] = mapped_column(BigInteger, sort_order=CELLS)
    h3_r7: Mapped[int | None] = mapped_column(BigInteger, sort_order=CELLS)
    h3_r8: Mapped[int | None] = mapped_column(BigInteger, sort_order=CELLS)
    h3_r9: Mapped[int | None] = mapped_column(BigInteger, sort_order=CELLS)

    @declared_attr
    def district_id(cls) -> Mapped[int | None]:
        return mapped_column(
            ForeignKey("districts.id", ondelete="SET NULL"),
            index=True if cls.district_indexed else None,
            sort_order=CELLS,
        )


class Source(Base):
    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(String(200), default="")
    publisher: Mapped[str] = mapped_column(String(200), default="")
    licence: Mapped[str] = mapped_column(String(200), default="")
    attribution: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(Text, default="")
    last_success_at: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]


class RefreshRun(Base):
    __tablename__ = "refresh_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    features_added: Mapped[int] = mapped_column(default=0)
    observations_added: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    # What the run read and why rows were left out: citydash check and /about show them (issue 21).
    rows_read: Mapped[int | None]
    skipped_by_reason: Mapped[dict | None]  # {"time": 31, "value": 2}
    unmapped: Mapped[dict | None]  # {"cycle_type": {"Radweg": 12}}: values no mapping names, counted as "other"


class District(Base):
    __tablename__ = "districts"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    code: Mapped[str | None] = mapped_column(String(50))
    population: Mapped[int | None]
    area_km2: Mapped[float | None]
    geometry: Mapped[str] = mapped_column(Text)  # GeoJSON (Multi)Polygon
    lat: Mapped[float]
    lon: Mapped[float]


class Feature(Located, Base):
    __tablename__ = "features"
    __table_args__ = (UniqueConstraint("source_id", "external_id", name="uq_features_source_external"),)
    id: Mapped[int] = mapped_column(primary_key=True, sort_order=BEFORE_CELLS)
    source_id: Mapped[int] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), index=True, sort_order=BEFORE_CELLS
    )
    layer: Mapped[str] = mapped_column(String(50), index=True, sort_order=BEFORE_CELLS)
    external_id: Mapped[str] = mapped_column(String(200), sort_order=BEFORE_CELLS)
    name: Mapped[str] = mapped_column(String(300), default="", sort_order=BEFORE_CELLS)
    geometry: Mapped[str] = mapped_column(Text, sort_order=BEFORE_CELLS)  # GeoJSON geometry
    lat: Mapped[float] = mapped_column(sort_order=BEFORE_CELLS)
    lon: Mapped[float] = mapped_column(sort_order=BEFORE_CELLS)
    # h3_r6 .. h3_r9, district_id: Located
    properties: Mapped[dict] = mapped_column(default=dict)
    updated_at: Mapped[datetime | None]
    # Outside the city's footprint ([city] clip): stored and served as open data, never counted in the city's figures.
    outside: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Observation(Base):
    __tablename__ = "observations"
    __table_args__ = (
        UniqueConstraint("feature_id", "metric", "time", name="uq_observations_feature_metric_time"),
        Index("ix_observations_metric_time", "metric", "time"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # On PostgreSQL this foreign key is kept by statement-level triggers instead (migration 0904: one check per
    # import batch, not a lookup and lock per reading); SQLite keeps the constraint.
    feature_id: Mapped[int] = mapped_column(ForeignKey("features.id", ondelete="CASCADE"))
    time: Mapped[datetime]
    metric: Mapped[str] = mapped_column(String(50))
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(30))


class ObservationRollup(Base):
    """Count, sum, min and max of one feature's readings of one metric per day or month (``resolution``; ``bucket``
    is the bucket's first instant, UTC), and per hour only for readings retention removed, kept by
    data_sources/store/rollups.py so that long ranges read a few rows per feature instead of every reading. The
    key's order serves the reads (resolution, metric, range)."""

    __tablename__ = "observation_rollups"
    # Deleting a feature (its source reloaded) finds its rollups by this index, not by a scan of them all.
    __table_args__ = (Index("ix_observation_rollups_feature_id", "feature_id"),)
    resolution: Mapped[str] = mapped_column(String(5), primary_key=True)
    metric: Mapped[str] = mapped_column(String(50), primary_key=True)
    bucket: Mapped[datetime] = mapped_column(primary_key=True)
    feature_id: Mapped[int] = mapped_column(ForeignKey("features.id", ondelete="CASCADE"), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    total: Mapped[float] = mapped_column(Float)
    low: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)


class Department(Base):
    __tablename__ = "departments"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # Categories this department takes by default (assignment suggestions, ledger per department).
    categories: Mapped[dict] = mapped_column(JSON, default=list)


class Comment(Located, Base):
    __tablename__ = "comments"
    __table_args__ = (
        Index("ix_comments_status_created", "status", "created_at"),
        Index("ix_comments_category_created", "category", "created_at"),
        Index("ix_comments_h3_r9", "h3_r9"),
        Index("ix_comments_h3_r7", "h3_r7"),
        # The ledger's exact medians (migration 0803): answered published comments in first-answer order.
        *[
            Index(
                name,
                *cols,
                "first_answer_seconds",
                sqlite_where=text(LEDGER_ANSWERED),
                postgresql_where=text(LEDGER_ANSWERED),
            )
            for name, cols in (
                ("ix_comments_answer_dept_cat", ("department_id", "category")),
                ("ix_comments_answer_dept", ("department_id",)),
                ("ix_comments_answer", ()),
            )
        ],
        # Keyset paging: the queue's overdue sort, "you said, we did", the moderation queue.
        Index("ix_comments_overdue", "moderation", "first_response_at", "created_at", "id"),
        Index("ix_comments_resolved", "moderation", "status", "resolved_at", "id"),
        Index("ix_comments_moderation_flags", "moderation", "flag_count", "created_at", "id"),
        Index("ix_comments_category_updated", "category", "updated_at", "id"),  # the Atom feeds
        Index("ix_comments_district_updated", "district_id", "updated_at", "id"),
    )
    district_indexed = True
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, sort_order=BEFORE_CELLS
    )
    created_at: Mapped[datetime] = mapped_column(index=True, sort_order=BEFORE_CELLS)
    updated_at: Mapped[datetime] = mapped_column(sort_order=BEFORE_CELLS)
    # Exact location: officials only. Public views use the coarse cell (h3_r9) or the rounded public_lat/lon.
    lat: Mapped[float] = mapped_column(sort_order=BEFORE_CELLS)
    lon: Mapped[float] = mapped_column(sort_order=BEFORE_CELLS)
    public_lat: Mapped[float] = mapped_column(sort_order=BEFORE_CELLS)
    public_lon: Mapped[float] = mapped_column(sort_order=BEFORE_CELLS)
    # h3_r6 .. h3_r9, district_id (indexed): Located
    feature_id: Mapped[int | None] = mapped_column(ForeignKey("features.id", ondelete="SET NULL"), index=True)
    category: Mapped[str] = mapped_column(String(50))
    text: Mapped[str] = mapped_column(Text)  # as published: PII redacted; always rendered as text
    original_text: Mapped[str | None] = mapped_column(Text)  # as written, kept for moderators when redacted
    language: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(20), default="new")
    closed_reason: Mapped[str | None] = mapped_column(String(50))
    moderation: Mapped[str] = mapped_column(String(20), default="published")
    moderation_reason: Mapped[str | None] = mapped_column(Text)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="SET NULL"), index=True)
    support_count: Mapped[int] = mapped_column(default=0)
    flag_count: Mapped[int] = mapped_column(default=0)
    evidence: Mapped[dict | None] = mapped_column(JSON)  # nearest reading when the comment was placed
    email: Mapped[str | None] = mapped_column(String(320))  # private; purged after the retention period
    tracking_token_hash: Mapped[str | None] = mapped_column(String(128))
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    # Where it came from (web, open311:<key>, import, demo) and an id there, so retries and imports add nothing.
    origin: Mapped[str] = mapped_column(String(100), default="web")
    client_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    # The ledger's view of the comment, kept from its events by a trigger (migration 0803; definitions in
    # data_sources.comments.ledger): never written by application code.
    # Server defaults only: an INSERT names none of them, so code runs against a store not yet migrated to 0803.
    ledger_status: Mapped[str] = mapped_column(String(20), server_default="new")
    first_answer_seconds: Mapped[float | None] = mapped_column(Float)
    ever_resolved: Mapped[bool] = mapped_column(Boolean, server_default=false())
    confirmed_fixed: Mapped[bool] = mapped_column(Boolean, server_default=false())
    reopened: Mapped[bool] = mapped_column(Boolean, server_default=false())


class CommentEvent(Base):
    """Status history, official answers, assignments and moderation: the reciprocity record."""

    __tablename__ = "comment_events"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(20))  # status | answer | assign | moderation | note
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    public_text: Mapped[str | None] = mapped_column(Text)
    internal_text: Mapped[str | None] = mapped_column(Text)
    official_id: Mapped[int | None] = mapped_column(ForeignKey("officials.id", ondelete="SET NULL"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="SET NULL"))


class Photo(Base):
    """A citizen's photo (or an official's, on an answer), stored re-encoded without metadata
    (``data_sources.comments.photos``); its bytes live in the media store under ``<id>.jpg`` and ``<id>.thumb.jpg``.

    ``state``: "pending" (uploaded, not yet sent with a comment: never public), "attached", or "hidden" by an
    official (with ``hidden_reason``). A photo is public only while attached to a published comment."""

    __tablename__ = "photos"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random and unguessable: also its file name
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("comment_events.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    state: Mapped[str] = mapped_column(String(20), default="pending")
    hidden_reason: Mapped[str | None] = mapped_column(Text)
    blurred: Mapped[bool] = mapped_column(Boolean, default=False)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Support(Base):
    __tablename__ = "supports"
    __table_args__ = (
        UniqueConstraint("comment_id", "client_hash", name="uq_supports_comment_client"),
        UniqueConstraint("comment_id", "address_hash", name="uq_supports_comment_address"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    client_hash: Mapped[str] = mapped_column(String(128))
    # A keyed hash (HMAC) of the client's address (its /64 for IPv6), never the address; NULL once purged after
    # the city's feedback.address_retention_days (data_sources.comments.records.purge_personal_data).
    address_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]


class Flag(Base):
    __tablename__ = "flags"
    __table_args__ = (
        UniqueConstraint("comment_id", "client_hash", name="uq_flags_comment_client"),
        UniqueConstraint("comment_id", "address_hash", name="uq_flags_comment_address"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    client_hash: Mapped[str] = mapped_column(String(128))
    address_hash: Mapped[str | None] = mapped_column(String(64))  # as Support.address_hash
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]


class Official(Base):
    __tablename__ = "officials"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]
    # Every session carries the epoch it was opened in; logout, a password, role or department change and
    # disabling the account add one, which ends every session opened before (dashboard.server.auth checks each request).
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    official_id: Mapped[int | None] = mapped_column(ForeignKey("officials.id", ondelete="SET NULL"))
    # The integrator's key name when a back-office system acted through the API (official_id is then empty).
    integrator: Mapped[str | None] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(50))
    target_type: Mapped[str] = mapped_column(String(50))
    target_id: Mapped[str | None] = mapped_column(String(100))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    key_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # A key scoped to a department may answer that department's comments (POST /api/v1/comments/<id>/updates).
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="SET NULL"))


class CommentCellCount(Base):
    """Published comments counted per week × category × status × district × H3 r9 cell (with its r6-r8 parents).

    Maintained by database triggers on ``comments`` (migration 0601), so every writer keeps it right. The
    officials' heatmap reads it instead of scanning every comment. ``week`` is Monday-based weeks since
    1970-01-05 (see ``data_sources.comments.analysis.week_of``); a missing district or cell is stored as 0.
    """

    __tablename__ = "comment_cell_counts"
    __table_args__ = (
        UniqueConstraint("week", "category", "status", "district_id", "h3_r9", name="uq_comment_cell_counts_key"),
        # One covering index per resolution, led by the cell: a filtered GROUP BY cell reads the index in order.
        *[
            Index(f"ix_comment_cell_counts_r{r}", f"h3_r{r}", "week", "category", "status", "district_id", "n")
            for r in H3_RESOLUTIONS
        ],
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    week: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20))
    district_id: Mapped[int] = mapped_column(Integer)
    h3_r6: Mapped[int] = mapped_column(BigInteger)
    h3_r7: Mapped[int] = mapped_column(BigInteger)
    h3_r8: Mapped[int] = mapped_column(BigInteger)
    h3_r9: Mapped[int] = mapped_column(BigInteger)
    n: Mapped[int] = mapped_column(Integer)


class CommentLedgerCount(Base):
    """Published comments per department (0: none), category, ledger status and ledger flags; kept by triggers
    on ``comments`` (migration 0803). The ledger's counts and shares come from here."""

    __tablename__ = "comment_ledger_counts"
    __table_args__ = (
        UniqueConstraint(
            "department_id",
            "category",
            "status",
            "answered",
            "ever_resolved",
            "confirmed_fixed",
            "reopened",
            name="uq_comment_ledger_counts_key",
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20))
    answered: Mapped[bool] = mapped_column(Boolean)
    ever_resolved: Mapped[bool] = mapped_column(Boolean)
    confirmed_fixed: Mapped[bool] = mapped_column(Boolean)
    reopened: Mapped[bool] = mapped_column(Boolean)
    n: Mapped[int] = mapped_column(Integer)


class CommentAnswerHour(Base):
    """How many published comments had their first answer within each whole hour (-1: before the comment's
    time), per department (0: none) and category; kept by triggers (0803). Locates the ledger's medians."""

    __tablename__ = "comment_answer_hours"
    __table_args__ = (UniqueConstraint("department_id", "category", "hour", name="uq_comment_answer_hours_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(50))
    hour: Mapped[int] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(Integer)


class CommentOpenDay(Base):
    """Open published comments per creation day (days since 1970-01-01), department (0: none) and category;
    kept by triggers (0803). The ledger's "overdue" at any cut-off."""

    __tablename__ = "comment_open_days"
    __table_args__ = (UniqueConstraint("department_id", "category", "day", name="uq_comment_open_days_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(50))
    day: Mapped[int] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(Integer)


class CommentCellCountsPause(Base):
    """A row here pauses the triggers that keep ``comment_cell_counts`` (bulk loads rebuild it once at the end;
    see ``data_sources.comments.analysis.paused_cell_counts``)."""

    __tablename__ = "comment_cell_counts_pause"
    id: Mapped[int] = mapped_column(primary_key=True)


# --- mail: addresses, what each asked for, and the outbox (README 'Email updates and alerts') --------------

MAIL_SUBSCRIPTION_KINDS = ("author", "supporter", "area")
MAIL_KINDS = ("confirm", "update", "closed", "fixed_check", "area")
# pending -> sending -> sent; a failed send goes back to pending with a later next_attempt_at; a row left in
# "sending" by a killed worker becomes "uncertain" and is not resent by itself (at most once); "cancelled": the
# subscription stopped before it went.
OUTBOX_STATES = ("pending", "sending", "sent", "uncertain", "cancelled")


class MailAddress(Base):
    """An address that asked for mail. Only the address and whether it asked to stop everything are kept."""

    __tablename__ = "mail_addresses"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    created_at: Mapped[datetime]
    stopped_at: Mapped[datetime | None]  # "stop all mail to this address"


class MailSubscription(Base):
    """What one address asked for: updates on a comment (as its author or a supporter), or area alerts. Each one
    is confirmed by its own link before anything but the confirmation request is sent."""

    __tablename__ = "mail_subscriptions"
    __table_args__ = (UniqueConstraint("address_id", "comment_id", name="uq_mail_subscriptions_address_comment"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    address_id: Mapped[int] = mapped_column(ForeignKey("mail_addresses.id", ondelete="CASCADE"), index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)  # random; in the links of its mails
    kind: Mapped[str] = mapped_column(String(20))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"), index=True)
    language: Mapped[str] = mapped_column(String(8), default="en")
    created_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    stopped_at: Mapped[datetime | None]
    # area alerts: every filter given must match (district, category, within radius_m of lat/lon)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id", ondelete="CASCADE"))
    category: Mapped[str | None] = mapped_column(String(50))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    radius_m: Mapped[float | None]
    frequency: Mapped[str] = mapped_column(String(10), default="instant")  # instant | daily
    last_comment_id: Mapped[int] = mapped_column(BigInteger, default=0)  # area: newest comment already considered
    last_sent_at: Mapped[datetime | None]


class MailOutbox(Base):
    """One message to send. The recipient is read from the subscription at send time (so a purge or a stop
    reaches queued mail too); ``params`` holds what the message says."""

    __tablename__ = "mail_outbox"
    __table_args__ = (Index("ix_mail_outbox_status_next", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    created_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(20))
    subscription_id: Mapped[int] = mapped_column(ForeignKey("mail_subscriptions.id", ondelete="CASCADE"), index=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)  # one message per event and subscription
    message_id: Mapped[str | None] = mapped_column(String(250), unique=True)  # set before the first send, kept
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    sending_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
