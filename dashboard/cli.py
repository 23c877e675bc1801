"""The ``citydash`` command. Each subcommand is thin: the work lives in data_sources/ or dashboard/ modules."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click
from sqlalchemy import func, select

from data_sources.config import ConfigError, Settings, load_city
from data_sources.store.media import MediaStore, backup_media, media_archive, open_media_store, restore_media
from data_sources.store.models import ObservationRollup
from data_sources.store.rollups import rebuild_rollups

if TYPE_CHECKING:
    from sqlalchemy import Engine


REFRESH_LOCK = "refresh"  # held by whoever fetches the sources: a second refresh worker or cron run skips


def _fail(msg: str) -> None:
    click.echo(f"citydash: {msg}", err=True)
    sys.exit(2)


class _Ctx:
    """Settings, city and store opened once per command, lazily (``--help`` must not touch the store)."""

    def __init__(self, city: str | None) -> None:
        self._city_arg = city
        self._engine = None
        self._city = None

    @property
    def settings(self) -> Settings:
        return Settings.from_env()

    @property
    def city(self) -> Any:
        if self._city is None:
            self._city = load_city(self._city_arg or self.settings.city)
        return self._city

    @property
    def media(self) -> MediaStore:
        return open_media_store(self.settings.media_url, self.settings.data_dir)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from data_sources.store.db import open_store

            self._engine = open_store(self.settings.sqlalchemy_url, prepared_statements=not self.settings.pgbouncer)
        return self._engine


@click.group()
@click.option(
    "--city", envvar="CITYDASH_CITY", default=None, help="City TOML path or name (default: cities/demo.toml)."
)
@click.pass_context
def cli(ctx: click.Context, city: str | None) -> None:
    """Citizens' dashboard over open data."""
    ctx.obj = _Ctx(city)


@cli.command()
@click.option("--host", default=None, help="Listen address (default: CITYDASH_HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default: CITYDASH_PORT or 8050).")
@click.pass_obj
def run(obj: _Ctx, host: str | None, port: int | None) -> None:
    """Serve the dashboard (development server; use gunicorn app:server in production)."""
    from dashboard.app import create_app

    s = obj.settings
    app = create_app(city=obj.city, settings=s)
    app.run(host=host or s.host, port=port or s.port, debug=s.debug)


@cli.command()
@click.option(
    "--comments",
    default=2000,
    show_default=True,
    type=click.IntRange(0, 10_000_000),
    help="How many citizen comments to generate.",
)
@click.option("--seed", default=42, show_default=True, type=int, help="Random seed: the same seed gives the same city.")
@click.option("--days", default=30, show_default=True, type=click.IntRange(1, 366), help="Days of hourly observations.")
@click.pass_obj
def demo(obj: _Ctx, comments: int, seed: int, days: int) -> None:
    """(Re)load the seeded demo city into the store, replacing earlier demo data."""
    import time

    from data_sources.demo import load_demo

    t0 = time.perf_counter()
    counts = load_demo(obj.engine, obj.city, seed=seed, n_comments=comments, days=days, progress=True)
    counts["seconds"] = round(time.perf_counter() - t0, 2)
    click.echo(json.dumps(counts))


@cli.command(name="demo-history")
@click.option("--days", default=365, show_default=True, type=click.IntRange(1, 36_600), help="Days of hourly history.")
@click.option("--stations", default=100, show_default=True, type=click.IntRange(1, 100_000), help="Air stations.")
@click.option("--seed", default=42, show_default=True, type=int, help="Random seed: the same seed gives the same rows.")
@click.option("--no-progress", is_flag=True, help="No progress bar (there is none either when stderr is no terminal).")
@click.pass_obj
def demo_history(obj: _Ctx, days: int, stations: int, seed: int, no_progress: bool) -> None:
    """Write years of synthetic hourly air-quality history (STATIONS x DAYS x 24 h x 3 metrics, with gaps) into
    the source "demo-history", to measure the store at scale. Running it again adds nothing."""
    import time

    from data_sources.history import generate_history

    t0 = time.perf_counter()
    counts: dict[str, Any] = dict(
        generate_history(
            obj.engine,
            tuple(obj.city.city.centre),
            stations=stations,
            days=days,
            seed=seed,
            progress=not no_progress and sys.stderr.isatty(),
        )
    )
    counts["seconds"] = round(time.perf_counter() - t0, 2)
    click.echo(json.dumps(counts))


@cli.command()
@click.option("--source", "source_name", default=None, help="Refresh only this source (by its name in the city TOML).")
@click.option("--no-progress", is_flag=True, help="No progress bar (for cron and logs).")
@click.option(
    "--every",
    default=None,
    metavar="DURATION",
    help="Keep running: every DURATION (e.g. 15m) refresh the sources whose own `refresh` interval has passed.",
)
@click.pass_obj
def refresh(obj: _Ctx, source_name: str | None, no_progress: bool, every: str | None) -> None:
    """Fetch the city's sources into the store (and its districts when they changed); exit 1 if any failed."""
    from data_sources.ingest.http import make_session
    from data_sources.operations import store_lock
    from data_sources.refresh import refresh as run_refresh

    session = make_session(cache_dir=obj.settings.data_dir)
    if every:
        _refresh_worker(obj, session, every)
        return
    with store_lock(obj.engine, REFRESH_LOCK, wait=False) as held:
        if not held:  # another refresh (a worker on another machine, or cron) is fetching: not twice at once
            click.echo(json.dumps({"skipped": "another refresh of this store is running"}))
            return
        report = run_refresh(obj.engine, obj.city, session, only=source_name, progress=not no_progress)
    if report.districts_loaded:
        click.echo(json.dumps({"districts": report.districts_loaded}))
    for r in report.runs:
        click.echo(json.dumps(r.as_dict()))
    for error in [report.districts_error] + [r.error for r in report.runs]:
        if error:
            click.echo(f"citydash refresh: {error}", err=True)
    if not report.ok:
        sys.exit(1)


def _worker(every: str, tick: Callable[[], None]) -> None:
    """Run ``tick`` every ``every`` (e.g. "15m") until SIGTERM or SIGINT: the refresh and mail workers
    (systemd: deploy/citydash-refresh.service, deploy/citydash-notify.service)."""
    import signal
    import threading

    from dashboard.server.health import configure_logging
    from data_sources.operations import parse_interval, run_every

    try:
        interval = parse_interval(every)
    except ValueError as e:
        _fail(f"--every: {e}")
    configure_logging()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    run_every(interval, tick, stop)


def _refresh_worker(obj: _Ctx, session: Any, every: str) -> None:
    """The long-running refresh worker: each tick refreshes the sources that are due."""
    from data_sources.operations import due_sources, store_lock
    from data_sources.refresh import refresh as run_refresh
    from data_sources.store.db import utcnow
    from data_sources.store.partitions import maintain_observations

    def tick() -> None:
        now = utcnow()
        with store_lock(obj.engine, REFRESH_LOCK, wait=False) as held:
            if not held:  # one refresh at a time across machines; the next tick tries again
                click.echo(json.dumps({"skipped": "another refresh of this store is running"}))
                return
            due = due_sources(obj.engine, obj.city, now)
            report = run_refresh(obj.engine, obj.city.model_copy(update={"sources": due}), session)
            # then the observations' months: the next ones partitioned ahead (PostgreSQL; an import creates the
            # months it writes itself), the ones past CITYDASH_OBSERVATIONS_RETENTION_MONTHS gone
            kept = maintain_observations(
                obj.engine,
                now,
                obj.settings.observations_retention_months,
                obj.settings.observations_archive_dir or None,
            )
        click.echo(
            json.dumps(
                {
                    "refreshed": [r.as_dict() for r in report.runs],
                    "districts_error": report.districts_error,
                    "observations": kept,
                }
            )
        )

    _worker(every, tick)


@cli.command()
@click.option(
    "--every",
    default=None,
    metavar="DURATION",
    help="Keep running: every DURATION (e.g. 1m) queue what is due and send the outbox.",
)
@click.option(
    "--resend-uncertain",
    is_flag=True,
    help="First put back the messages a killed worker may or may not have sent (they keep their Message-ID).",
)
@click.pass_obj
def notify(obj: _Ctx, every: str | None, resend_uncertain: bool) -> None:
    """Send citizens' mail: queue "was it fixed?" questions and area alerts that are due, then send the outbox once
    (or keep doing it with --every). Without CITYDASH_SMTP_URL the outbox fills and nothing is sent."""
    from dashboard.mail import tick
    from data_sources.comments.notifications import requeue_uncertain
    from data_sources.store.db import utcnow

    if resend_uncertain:
        click.echo(json.dumps({"requeued_uncertain": requeue_uncertain(obj.engine, utcnow())}))
    if every:
        _notify_worker(obj, every)
        return
    click.echo(json.dumps(tick(obj.engine, obj.city, obj.settings)))


def _notify_worker(obj: _Ctx, every: str) -> None:
    """The long-running mail worker: each tick queues what is due and sends the outbox."""
    from dashboard.mail import tick

    settings, city, engine = obj.settings, obj.city, obj.engine
    _worker(every, lambda: click.echo(json.dumps(tick(engine, city, settings))))


@cli.command(name="create-api-key")
@click.argument("name")
@click.option(
    "--department",
    default=None,
    help="Scope the key to this department: it may then answer that department's comments "
    "(POST /api/v1/comments/<id>/updates).",
)
@click.pass_obj
def create_api_key(obj: _Ctx, name: str, department: str | None) -> None:
    """Create an API key for integrator NAME (Open311 posting; with --department, also answers); the key is
    printed once and only its hash is stored."""
    from data_sources.comments.api_keys import ApiKeyError
    from data_sources.comments.api_keys import create_api_key as create
    from data_sources.comments.routing import ensure_departments

    ensure_departments(obj.engine, obj.city.routing)  # the departments the city TOML names exist to be chosen
    try:
        click.echo(create(obj.engine, name, department))
    except ApiKeyError as e:
        _fail(f"create-api-key: {e}")


@cli.command()
@click.argument("comment_id", type=int)
@click.option(
    "--status",
    required=True,
    type=click.Choice(["acknowledged", "in_progress", "resolved", "closed"]),
    help="The new status.",
)
@click.option("--text", required=True, help="The public answer (the citizen and everyone see it).")
@click.option(
    "--as", "as_email", required=True, metavar="EMAIL", help="The official who answers (named in the audit log)."
)
@click.option(
    "--reason",
    default=None,
    type=click.Choice(["duplicate", "not_city", "no_action", "spam", "other"]),
    help="Why it is closed (required with --status closed).",
)
@click.pass_obj
def answer(obj: _Ctx, comment_id: int, status: str, text: str, as_email: str, reason: str | None) -> None:
    """Answer comment COMMENT_ID and change its status, as the officials' queue does (same workflow: audit log
    entry, public history)."""
    from data_sources.comments import accounts, workflow
    from data_sources.comments.records import public_history

    try:
        actor = accounts.official_actor(obj.engine, as_email)
        workflow.change_status(obj.engine, actor, [comment_id], status, text, closed_reason=reason)
    except workflow.NotAllowed as e:
        _fail(f"answer: {as_email} may not answer comments ({e})")
    except workflow.WorkflowError as e:
        _fail(f"answer: {e}")
    history = [
        {"at": h["created_at"].isoformat(timespec="seconds") + "Z", "status": h["to_status"], "text": h["public_text"]}
        for h in public_history(obj.engine, comment_id)
    ]
    click.echo(json.dumps({"comment_id": comment_id, "status": status, "history": history}, ensure_ascii=False))


@cli.command(name="import")
@click.argument("kind")
@click.argument("path")
@click.option("--source", "source_name", default=None, help="Import into this configured source (its params apply).")
@click.option(
    "--map",
    "mapping",
    multiple=True,
    metavar="UPSTREAM=CATEGORY",
    help="open311: map an upstream service_code or service_name to one of the city's categories.",
)
@click.option(
    "--origin", default=None, help="open311: name of the upstream system (default: the URL's host or the file name)."
)
@click.pass_obj
def import_(
    obj: _Ctx, kind: str, path: str, source_name: str | None, mapping: tuple[str, ...], origin: str | None
) -> None:
    """Load one local payload of connector KIND (a downloaded response, an archive CSV, a vector file), or,
    with KIND open311, another Open311 server's requests from a file or the server's URL."""
    from pathlib import Path

    from data_sources.ingest.types import SourceError

    try:
        if kind == "open311":
            from data_sources.exchange.open311_import import import_open311
            from data_sources.ingest.http import make_session

            pairs = dict(m.split("=", 1) for m in mapping if "=" in m)
            counts = import_open311(
                obj.engine,
                obj.city,
                path,
                mapping=pairs,
                origin=origin,
                session=make_session(cache_dir=obj.settings.data_dir),
            )
        else:
            from data_sources.ingest.http import local_path
            from data_sources.refresh import import_file
            from data_sources.store.footprint import footprint

            local = local_path(path) or Path(path)
            if not local.exists():
                _fail(f"import {kind} {path}: no such file")
            source = obj.city.source(source_name) if source_name else None
            counts = import_file(
                obj.engine,
                kind,
                str(local),
                source=source,
                configured=[s.name for s in obj.city.sources],
                footprint=footprint(obj.engine, obj.city),
                progress=sys.stderr.isatty(),  # a bar on a terminal, none in logs and pipes
            )
    except SourceError as e:
        _fail(f"import {kind} {path}: {e}")
    if counts.get("note"):
        click.echo(f"citydash import: {counts['note']}", err=True)
    click.echo(json.dumps(counts, ensure_ascii=False))


@cli.command()
@click.option(
    "--city", "city_name", default=None, help="City TOML path or name (default: the group's --city or CITYDASH_CITY)."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of a table.")
@click.option("--no-store", is_flag=True, help="Do not open the store (sources only in the store are then not listed).")
@click.pass_obj
def check(obj: _Ctx, city_name: str | None, as_json: bool, no_store: bool) -> None:
    """Read every source of the city as a refresh would, store nothing, and report per source: readable, rows
    read, loaded, skipped by reason, outside the footprint, newest reading and its age, unmapped attribute values,
    licence and attribution. Exit 1 when a source would show nothing."""
    from data_sources.check import check_city, render_table
    from data_sources.ingest.http import make_session
    from data_sources.store.db import utcnow

    if city_name:
        obj._city_arg, obj._city = city_name, None
    checks = check_city(
        None if no_store else obj.engine, obj.city, make_session(cache_dir=obj.settings.data_dir), utcnow()
    )
    if as_json:
        click.echo(
            json.dumps(
                {
                    "city": obj.city.city.slug,
                    "sources": [c.as_dict() for c in checks],
                    "ok": not any(c.shows_nothing for c in checks),
                },
                ensure_ascii=False,
            )
        )
    else:
        from rich.console import Console

        Console(width=200).print(render_table(checks))
        for c in checks:
            if c.shows_nothing:
                click.echo(
                    f"citydash check: {c.source} would show nothing: {c.error or 'no features and no readings'}",
                    err=True,
                )
    if any(c.shows_nothing for c in checks):
        sys.exit(1)


@cli.command()
@click.option("--rebuild", is_flag=True, help="Recompute every rollup from the stored readings.")
@click.pass_obj
def rollups(obj: _Ctx, rebuild: bool) -> None:
    """The daily and monthly rollups of the readings (kept by every refresh and import; hour rows only for readings
    retention removed): count them, or recompute the days and months with --rebuild (after restoring readings
    written without them)."""
    if rebuild:
        t0 = time.perf_counter()
        n = rebuild_rollups(obj.engine)
        click.echo(json.dumps({"rollups": n, "seconds": round(time.perf_counter() - t0, 1)}))
        return
    r = ObservationRollup
    with obj.engine.connect() as conn:
        rows = conn.execute(select(r.resolution, func.count()).group_by(r.resolution)).all()
    click.echo(json.dumps({str(res): int(n) for res, n in rows}))


@cli.command("purge-personal-data")
@click.option(
    "--days",
    default=None,
    type=click.IntRange(1, None),
    help="Retention in days (default: the city's feedback.email_retention_days).",
)
@click.option("--dry-run", is_flag=True, help="Only count the comments that would be purged.")
@click.pass_obj
def purge_personal_data(obj: _Ctx, days: int | None, dry_run: bool) -> None:
    """Forget emails and unredacted texts of comments older than the retention period, photos of comments that
    were never published, uploads never sent with a comment, the mail addresses (with their subscriptions and
    messages) that nothing current needs any more, and the address hashes of supports and flags older than the
    city's feedback.address_retention_days."""
    from data_sources.comments.notifications import purge_mail
    from data_sources.comments.photo_records import purge_photos
    from data_sources.comments.records import purge_personal_data as purge

    days = days or obj.city.feedback.email_retention_days
    address_days = obj.city.feedback.address_retention_days
    n = purge(obj.engine, days, dry_run=dry_run, address_retention_days=address_days)
    photos = purge_photos(obj.engine, obj.media, days, dry_run=dry_run)
    m = purge_mail(obj.engine, days, dry_run=dry_run)
    click.echo(
        json.dumps(
            {
                "comments": n,
                "photos": photos,
                "mail_addresses": m,
                "retention_days": days,
                "address_retention_days": address_days,
                "dry_run": dry_run,
            }
        )
    )


@cli.command()
@click.option(
    "--datapackage",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder to write a Frictionless Data Package into (datapackage.json, CSV and GeoJSON).",
)
@click.option(
    "--licence",
    default="CC-BY-4.0",
    show_default=True,
    help="Licence id for what the city publishes itself (comments, their history, districts).",
)
@click.option(
    "--public-url",
    envvar="CITYDASH_PUBLIC_URL",
    default="",
    help="The dashboard's public address, for absolute photo URLs (default: CITYDASH_PUBLIC_URL).",
)
@click.pass_obj
def export(obj: _Ctx, out_dir: str, licence: str, public_url: str) -> None:
    """Export the open data and the published comments as a Frictionless Data Package."""
    from data_sources.exchange.datapackage import export_datapackage

    click.echo(
        json.dumps(export_datapackage(obj.engine, obj.city, out_dir, city_licence=licence, public_url=public_url))
    )


@cli.command("create-official")
@click.argument("email")
@click.option(
    "--role", required=True, type=click.Choice(["moderator", "official", "admin"]), help="What the account may do."
)
@click.option("--department", default=None, help="Department name (created if new).")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin instead of a prompt."
)
@click.pass_obj
def create_official(obj: _Ctx, email: str, role: str, department: str | None, password_stdin: bool) -> None:
    """Create an official's account, or reset its role, department and password."""
    from data_sources.comments.accounts import MIN_PASSWORD, hash_password
    from data_sources.comments.accounts import create_official as create
    from data_sources.comments.emails import InvalidEmail, normalise_official_email

    try:
        email = normalise_official_email(email)
    except InvalidEmail as e:
        _fail(f"EMAIL is not a valid address: {e}")
    if password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD:
        _fail(f"the password needs at least {MIN_PASSWORD} characters")
    oid = create(obj.engine, email, hash_password(password), role, department)
    click.echo(json.dumps({"official_id": oid, "email": email, "role": role, "department": department}))


@cli.command("disable-official")
@click.argument("email")
@click.pass_obj
def disable_official(obj: _Ctx, email: str) -> None:
    """Disable an official's account: no more logins, and every open session ends now."""
    from data_sources.comments.accounts import disable_official as disable
    from data_sources.comments.workflow import WorkflowError

    try:
        oid = disable(obj.engine, email)
    except WorkflowError as e:
        _fail(f"disable-official: {e}")
    click.echo(json.dumps({"official_id": oid, "email": email.strip().lower(), "active": False}))


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False))
@click.pass_obj
def backup(obj: _Ctx, path: str) -> None:
    """Write a consistent backup of the live store to PATH (SQLite online backup, or pg_dump) while serving, and
    its photos to PATH.media.tar."""
    from data_sources.operations import backup as do_backup

    click.echo(str(do_backup(obj.engine, path)))
    # After the store: every photo the backup's rows name was stored before them, so it is in the archive.
    n = backup_media(obj.media, media_archive(path))
    click.echo(f"{media_archive(path)} ({n} photo files)")


@cli.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask before replacing the store's contents.")
@click.pass_obj
def restore(obj: _Ctx, path: str, yes: bool) -> None:
    """Replace the store's contents with the backup at PATH, then upgrade it to the current schema."""
    from data_sources.operations import restore as do_restore

    if not yes:
        click.confirm(f"Replace every row in {obj.settings.sqlalchemy_url.split('@')[-1]} with {path}?", abort=True)
    do_restore(obj.engine, path)
    click.echo(f"restored {path}")
    if media_archive(path).is_file():
        n = restore_media(obj.media, media_archive(path))
        click.echo(f"restored {n} photo files from {media_archive(path)}")


def main() -> None:
    try:
        cli(standalone_mode=True)
    except ConfigError as e:
        _fail(str(e))


if __name__ == "__main__":
    main()
