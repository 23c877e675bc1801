"""City configuration (one TOML file per city) and process settings (environment variables).

Both are typed and validated on load. A mistake stops start-up with one line that names the file, the key and
what was expected, e.g. ``cities/x.toml: city.centre: expected a list of 2 numbers [lat, lon]``.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from data_sources.ingest.connectors import connector_kinds

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CITIES_DIR = PROJECT_ROOT / "cities"
SUPPORTED_LANGUAGES = ("en", "es", "nl", "pt")
DEFAULT_CATEGORIES = ["air", "traffic", "cycling", "walking", "noise", "street", "green_space", "other"]


class ConfigError(Exception):
    """One line for the person who edited the file."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Basemap(_Strict):
    # "none" draws on a plain background and fetches nothing: the only safe default offline.
    style: Literal["none", "tiles"] = Field("none", description="'none' (offline) or 'tiles' (opt-in, online)")
    tiles_url: str = Field("", description="XYZ tile template, e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    attribution: str = ""

    @model_validator(mode="after")
    def _tiles_need_url(self) -> "Basemap":
        if self.style == "tiles" and not self.tiles_url.startswith(("http://", "https://")):
            raise ValueError("style 'tiles' needs tiles_url, an http(s) XYZ template")
        return self


class DistrictsConfig(_Strict):
    file: str = Field(description="polygon file (GeoJSON, GeoPackage, Shapefile), relative to the TOML file")
    name_field: str = "name"
    population_field: str | None = None
    code_field: str | None = None


class SourceConfig(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$", description="unique slug, used by --source")
    kind: str = Field(description="connector kind, see README 'Connectors'")
    title: str = ""
    layer: str | None = None
    refresh: str = Field("1h", pattern=r"^\d+[smhd]$", description="how often `citydash refresh --every` fetches")
    stale_after: str | None = Field(
        None,
        pattern=r"^\d+[smhd]$",
        description="how old its newest reading may be before its figures are marked "
        "stale; default three refresh intervals",
    )
    enabled: bool = True
    params: dict[str, Any] = Field(default_factory=dict)
    attributes: dict[str, Any] = Field(
        default_factory=dict,
        description="canonical attribute -> 'osm' or { field, values = { upstream = canonical } } (docs/connectors.md)",
    )

    @field_validator("attributes")
    @classmethod
    def _attributes(cls, v: dict[str, Any]) -> dict[str, Any]:
        from data_sources.ingest.attributes import check_spec

        return check_spec(v)

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, v: str) -> str:
        kinds = connector_kinds()
        if v not in kinds:
            raise ValueError(f"expected one of {', '.join(kinds) or '(no connector installed)'}; got {v!r}")
        return v


class City(_Strict):
    name: str = Field(min_length=1)
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    demo: bool = Field(False, description="fill an empty store with the seeded demo city")
    centre: tuple[float, float] = Field(description="[lat, lon]")
    zoom: float = Field(12, ge=1, le=20)
    bounds: tuple[tuple[float, float], tuple[float, float]] | None = Field(
        None, description="[[south, west], [north, east]]"
    )
    languages: list[Literal["en", "es", "nl", "pt"]] = Field(default_factory=lambda: ["en"], min_length=1)
    default_language: Literal["en", "es", "nl", "pt"] = "en"
    timezone: str = "UTC"
    clip: Literal["bounds", "districts", "none"] = Field(
        "bounds", description="the city's footprint: features outside it are stored but not counted in its figures"
    )
    comment_categories: list[str] = Field(default_factory=lambda: list(DEFAULT_CATEGORIES), min_length=1)

    @field_validator("centre")
    @classmethod
    def _latlon(cls, v: tuple[float, float]) -> tuple[float, float]:
        lat, lon = v
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError("expected [lat, lon] with -90 <= lat <= 90 and -180 <= lon <= 180")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"expected an IANA time zone such as Europe/London; got {v!r}") from None
        return v

    @model_validator(mode="after")
    def _default_lang_offered(self) -> "City":
        if self.default_language not in self.languages:
            raise ValueError(f"default_language {self.default_language!r} is not in languages {self.languages}")
        return self


class FeedbackConfig(_Strict):
    """Policy for citizens' comments: moderation, privacy and rate limits (README 'Comments and the reciprocity
    loop')."""

    flag_threshold: int = Field(
        3,
        ge=1,
        description="flags from different client addresses (and browsers), within "
        "flag_window_hours, that hide a comment pending review",
    )
    flag_window_hours: int = Field(72, ge=1, description="the window in which flag_threshold flags hide a comment")
    address_retention_days: int = Field(
        30, ge=1, description="keyed hashes of the addresses that supported or flagged a comment are purged after this"
    )
    min_cell_count: int = Field(3, ge=1, description="public heatmap cells with fewer comments are suppressed (k)")
    email_retention_days: int = Field(365, ge=1, description="emails and unredacted texts are purged after this")
    duplicate_radius_m: float = Field(
        100,
        gt=0,
        le=1000,
        description="reach of 'is this yours too?' suggestions: the "
        "pin's H3 r9 cell and the rings of cells that cover this radius",
    )
    overdue_days: int = Field(30, ge=1, description="an open comment older than this counts as overdue in the ledger")
    fixed_check_days: int = Field(
        28, ge=1, le=365, description="days after a comment is resolved when its author is asked 'was it fixed?'"
    )
    confirmations_per_day: int = Field(
        3, ge=1, le=20, description="confirmation requests one address may get in 24 hours"
    )
    alert_rate: str = Field("5/hour;20/day", description="area alert subscriptions per client")
    comment_rate: str = Field("5/minute;30/day", description="comments per client (Flask-Limiter syntax)")
    support_rate: str = Field("30/minute;300/day", description="'me too' supports per client")
    flag_rate: str = Field("10/minute;50/day", description="flags per client")
    duplicate_rate: str = Field("30/minute;500/day", description="'is it one of these?' lookups on /report per client")
    max_photos: int = Field(3, ge=0, le=10, description="photos a citizen may attach to one comment (0: none)")
    photo_max_mb: int = Field(12, ge=1, le=50, description="largest photo file accepted, in MB")
    photo_rate: str = Field("20/hour;60/day", description="photo uploads per client")

    @model_validator(mode="after")
    def _window_within_retention(self) -> "FeedbackConfig":
        if self.flag_window_hours > self.address_retention_days * 24:
            raise ValueError(
                "flag_window_hours must not be longer than address_retention_days: flags are counted "
                "per address within the window"
            )
        return self

    @field_validator("comment_rate", "support_rate", "flag_rate", "duplicate_rate", "photo_rate", "alert_rate")
    @classmethod
    def _rate(cls, v: str) -> str:
        from limits import parse_many

        try:
            parse_many(v)
        except ValueError:
            raise ValueError(f"expected a rate such as '5/minute;30/day'; got {v!r}") from None
        return v


class OfficialsConfig(_Strict):
    # Public answers offered per status; keys among acknowledged, in_progress, resolved, closed.
    answer_templates: dict[Literal["acknowledged", "in_progress", "resolved", "closed"], str] = Field(
        default_factory=dict
    )
    overdue_days: int = Field(
        14, ge=1, le=365, description="an open comment with no answer after this many days is overdue"
    )


class RoutingConfig(_Strict):
    """Which department a new comment goes to (README 'Routing to departments'). ``districts`` overrides
    ``categories`` for a district (by its name), per category or for every category with the key ``"*"``; a
    comment that no rule matches arrives unassigned and shows as such in the work queue."""

    categories: dict[str, str] = Field(default_factory=dict, description="category -> department name")
    districts: dict[str, dict[str, str]] = Field(
        default_factory=dict, description='district name -> {category or "*" -> department name}'
    )

    @field_validator("categories", "districts")
    @classmethod
    def _names(cls, v: dict) -> dict:
        for key, dept in v.items():
            for name in dept.values() if isinstance(dept, dict) else [dept]:
                if not name.strip() or len(name) > 200:
                    raise ValueError(f"{key!r}: a department name is 1-200 characters")
        return v

    def department_for(self, category: str, district: str | None) -> str | None:
        """The department name for a comment of ``category`` in ``district`` (None: unassigned)."""
        override = self.districts.get(district or "", {})
        return override.get(category) or override.get("*") or self.categories.get(category)

    def department_names(self) -> list[str]:
        names = set(self.categories.values()) | {d for m in self.districts.values() for d in m.values()}
        return sorted(names)


class CityConfig(_Strict):
    city: City
    districts: DistrictsConfig | None = None
    basemap: Basemap = Basemap()
    feedback: FeedbackConfig = FeedbackConfig()
    officials: OfficialsConfig = OfficialsConfig()
    routing: RoutingConfig = RoutingConfig()
    sources: list[SourceConfig] = Field(default_factory=list)
    path: Path | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _unique_sources(self) -> "CityConfig":
        seen: set[str] = set()
        for s in self.sources:
            if s.name in seen:
                raise ValueError(f"two sources are named {s.name!r}; names must be unique")
            seen.add(s.name)
        return self

    @model_validator(mode="after")
    def _routed_categories_exist(self) -> "CityConfig":
        known = set(self.city.comment_categories)
        routed = set(self.routing.categories) | {c for m in self.routing.districts.values() for c in m if c != "*"}
        unknown = sorted(routed - known)
        if unknown:
            raise ValueError(f"routing names categories that are not in city.comment_categories: {', '.join(unknown)}")
        return self

    def resolve(self, relative: str) -> Path:
        """A path from the TOML, relative to the TOML's folder."""
        p = Path(relative)
        return p if p.is_absolute() or self.path is None else (self.path.parent / p)

    def source(self, name: str) -> SourceConfig:
        for s in self.sources:
            if s.name == name:
                return s
        raise ConfigError(f"{self.path}: no source named {name!r}; configured: {[s.name for s in self.sources]}")


_EXPECT = {
    "missing": "this key is required",
    "extra_forbidden": "unknown key",
}


def _one_line(path: Path, err: ValidationError) -> str:
    # A misspelt key also makes the real key "missing": name the misspelling, it is the cause.
    errors = sorted(err.errors(), key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
    msg = _EXPECT.get(first["type"], first["msg"].removeprefix("Value error, "))
    if first["type"] == "extra_forbidden":
        msg = "unknown key (check the spelling; README 'City configuration' lists the keys)"
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    return f"{path}: {loc}: {msg}{more}"


def load_city(path: str | os.PathLike | None = None) -> CityConfig:
    """Load and validate a city TOML. ``None`` means $CITYDASH_CITY, else cities/demo.toml.

    $CITYDASH_CITY may be a path or a bare name such as ``glasgow`` (meaning cities/glasgow.toml).
    """
    path = Path(path or os.environ.get("CITYDASH_CITY") or CITIES_DIR / "demo.toml")
    if not path.suffix and not path.exists():
        path = CITIES_DIR / f"{path}.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    try:
        cfg = CityConfig.model_validate({**raw, "path": path})
    except ValidationError as e:
        raise ConfigError(_one_line(path, e)) from None
    if cfg.districts is not None and not cfg.resolve(cfg.districts.file).exists():
        raise ConfigError(f"{path}: districts.file: file {cfg.districts.file!r} not found next to the TOML")
    return cfg


# --- process settings --------------------------------------------------------------------------------------


class Settings(BaseModel):
    """Process settings, read from the environment. README's 'Settings' table documents each one (a test
    keeps it so)."""

    model_config = ConfigDict(frozen=True)

    city: str = Field(
        "cities/demo.toml",
        description="City TOML path, or a name under cities/.",
        json_schema_extra={"env": "CITYDASH_CITY"},
    )
    data_dir: str = Field(
        "data",
        description="Folder for the SQLite store and the HTTP cache.",
        json_schema_extra={"env": "CITYDASH_DATA_DIR"},
    )
    database_url: str = Field(
        "",
        description="SQLAlchemy URL; empty means SQLite at DATA_DIR/citydash.sqlite. DATABASE_URL is read too. Use postgresql+psycopg://... for PostgreSQL.",
        json_schema_extra={"env": "CITYDASH_DATABASE_URL"},
    )
    pgbouncer: bool = Field(
        False,
        description="true when PostgreSQL is reached through PgBouncer in transaction mode: no server-side prepared statements (each transaction may land on another server connection).",
        json_schema_extra={"env": "CITYDASH_PGBOUNCER"},
    )
    secret_key: str = Field(
        "",
        description="Flask secret for sessions; required when serving officials in production. Empty: a random key per process (sessions end at restart).",
        json_schema_extra={"env": "CITYDASH_SECRET_KEY"},
    )
    redis_url: str = Field(
        "",
        description="Redis URL for rate limits and caches shared across workers; empty: in-process memory.",
        json_schema_extra={"env": "CITYDASH_REDIS_URL"},
    )
    host: str = Field(
        "127.0.0.1",
        description="Address `python app.py` / `citydash run` listens on.",
        json_schema_extra={"env": "CITYDASH_HOST"},
    )
    port: int = Field(
        8050,
        description="Port `python app.py` / `citydash run` listens on.",
        json_schema_extra={"env": "CITYDASH_PORT"},
    )
    proxy_hops: int = Field(
        0,
        ge=0,
        description="Reverse proxies in front of the app whose X-Forwarded-For/-Proto to trust (1 behind nginx); 0: none.",
        json_schema_extra={"env": "CITYDASH_PROXY_HOPS"},
    )
    debug: bool = Field(
        False, description="Dash debug mode (never in production).", json_schema_extra={"env": "CITYDASH_DEBUG"}
    )
    media_url: str = Field(
        "",
        description="Where photos are stored: empty for DATA_DIR/media, a folder, or s3://bucket/prefix (endpoint and keys from boto3's AWS_* environment).",
        json_schema_extra={"env": "CITYDASH_MEDIA_URL"},
    )
    smtp_url: str = Field(
        "",
        description="Mail server for citizens' updates: smtp://user:pass@host:587 (plain), smtp+starttls://... or smtp://...?starttls=1 (STARTTLS), smtps://...:465 (TLS). Empty: mail waits in the outbox.",
        json_schema_extra={"env": "CITYDASH_SMTP_URL"},
    )
    mail_from: str = Field(
        "",
        description="Sender of citizens' mail, e.g. 'City of X <noreply@x.example>'.",
        json_schema_extra={"env": "CITYDASH_MAIL_FROM"},
    )
    openaq_api_key: str = Field(
        "", description="Key for the OpenAQ v3 connector.", json_schema_extra={"env": "OPENAQ_API_KEY"}
    )
    public_url: str = Field(
        "",
        description="The site's public base URL (e.g. https://city.example): every absolute URL (feeds, API links, Open311 discovery, emails) is built from it and requests for any other Host get 400. Empty: URLs follow the request's Host (development only; set it in production).",
        json_schema_extra={"env": "CITYDASH_PUBLIC_URL"},
    )
    session_idle_minutes: int = Field(
        30,
        ge=1,
        le=24 * 60,
        description="An official's session ends after this many minutes without a request.",
        json_schema_extra={"env": "CITYDASH_SESSION_IDLE_MINUTES"},
    )
    session_max_hours: int = Field(
        12,
        ge=1,
        le=24 * 30,
        description="An official's session ends this many hours after login, however active.",
        json_schema_extra={"env": "CITYDASH_SESSION_MAX_HOURS"},
    )
    observations_retention_months: int = Field(
        0,
        ge=0,
        description="Observations older than the current month minus this many months are removed by the refresh worker (on PostgreSQL whole month partitions are dropped); 0: keep every observation.",
        json_schema_extra={"env": "CITYDASH_OBSERVATIONS_RETENTION_MONTHS"},
    )
    observations_archive_dir: str = Field(
        "",
        description="Folder where the refresh worker writes the observations that retention removes, first, as one gzip CSV per month (the data package's observations columns); empty: removed without an archive.",
        json_schema_extra={"env": "CITYDASH_OBSERVATIONS_ARCHIVE_DIR"},
    )

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, v: str) -> str:
        from urllib.parse import urlsplit

        v = v.strip().rstrip("/")
        if not v:
            return ""
        parts = urlsplit(v)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.query
            or parts.fragment
            or parts.username
        ):
            raise ValueError(f"expected a base URL such as https://city.example; got {v!r}")
        return v

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        env = dict(os.environ if env is None else env)
        values: dict[str, Any] = {}
        for name, f in cls.model_fields.items():
            var = (f.json_schema_extra or {})["env"]
            if var in env and env[var] != "":
                values[name] = env[var]
        if "database_url" not in values and env.get("DATABASE_URL"):
            values["database_url"] = env["DATABASE_URL"]
        try:
            return cls.model_validate(values)
        except ValidationError as e:
            first = e.errors()[0]
            var = (cls.model_fields[str(first["loc"][0])].json_schema_extra or {})["env"]
            raise ConfigError(f"environment: {var}: {first['msg']}") from None

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            url = self.database_url
            # Heroku-style URLs name no driver; we ship psycopg 3.
            if url.startswith("postgres://"):
                url = "postgresql+psycopg://" + url[len("postgres://") :]
            elif url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url[len("postgresql://") :]
            return url
        return f"sqlite:///{Path(self.data_dir).resolve() / 'citydash.sqlite'}"


def env_table() -> list[tuple[str, str, str]]:
    """(variable, default, description) for every setting: README's table is checked against this."""
    rows = []
    for name, f in Settings.model_fields.items():
        rows.append(((f.json_schema_extra or {})["env"], str(f.default), f.description or ""))
    return rows
