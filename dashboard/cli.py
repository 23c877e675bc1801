"""The ``citydash`` command. Each subcommand is thin: the work lives in data_sources/ or dashboard/ modules."""
from __future__ import annotations

from typing import Any

import json
import sys

import click

from data_sources.config import ConfigError, Settings, load_city


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
    def engine(self) -> Any:
        if self._engine is None:
            from data_sources.store.db import open_store

            self._engine = open_store(self.settings.sqlalchemy_url)
        return self._engine


@click.group()
@click.option("--city", envvar="CITYDASH_CITY", default=None, help="City TOML path or name (default: cities/demo.toml).")
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
@click.option("--comments", default=2000, show_default=True, type=click.IntRange(0, 10_000_000), help="How many citizen comments to generate.")
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


@cli.command()
@click.option("--source", "source_name", default=None, help="Refresh only this source (by its name in the city TOML).")
@click.option("--no-progress", is_flag=True, help="No progress bar (for cron and logs).")
@click.option("--every", default=None, metavar="DURATION",
              help="Keep running: every DURATION (e.g. 15m) refresh the sources whose own `refresh` interval has passed.")
@click.pass_obj
def refresh(obj: _Ctx, source_name: str | None, no_progress: bool, every: str | None) -> None:
    """Fetch the city's sources into the store (and its districts when they changed); exit 1 if any failed."""
    from data_sources.ingest.http import make_session
    from data_sources.refresh import refresh as run_refresh

    session = make_session(cache_dir=obj.settings.data_dir)
    if every:
        _refresh_worker(obj, session, every)
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


def _refresh_worker(obj: _Ctx, session: Any, every: str) -> None:
    """The long-running refresh worker (systemd: deploy/citydash-refresh.service); stops cleanly on SIGTERM."""
    import signal
    import threading

    from dashboard.server.health import configure_logging
    from data_sources.operations import due_sources, parse_interval, run_every
    from data_sources.refresh import refresh as run_refresh
    from data_sources.store.db import utcnow

    try:
        interval = parse_interval(every)
    except ValueError as e:
        _fail(f"--every: {e}")
    configure_logging()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def tick() -> None:
        due = due_sources(obj.engine, obj.city, utcnow())
        report = run_refresh(obj.engine, obj.city.model_copy(update={"sources": due}), session)
        click.echo(json.dumps({"refreshed": [r.as_dict() for r in report.runs], "districts_error": report.districts_error}))

    run_every(interval, tick, stop)


@cli.command(name="create-api-key")
@click.argument("name")
@click.pass_obj
def create_api_key(obj: _Ctx, name: str) -> None:
    """Create an Open311 API key for integrator NAME; the key is printed once and only its hash is stored."""
    from data_sources.comments.api_keys import ApiKeyError, create_api_key as create

    try:
        click.echo(create(obj.engine, name))
    except ApiKeyError as e:
        _fail(f"create-api-key: {e}")


@cli.command(name="import")
@click.argument("kind")
@click.argument("path")
@click.option("--source", "source_name", default=None, help="Import into this configured source (its params apply).")
@click.option("--map", "mapping", multiple=True, metavar="UPSTREAM=CATEGORY",
              help="open311: map an upstream service_code or service_name to one of the city's categories.")
@click.option("--origin", default=None, help="open311: name of the upstream system (default: the URL's host or the file name).")
@click.pass_obj
def import_(obj: _Ctx, kind: str, path: str, source_name: str | None, mapping: tuple[str, ...], origin: str | None) -> None:
    """Load one local payload of connector KIND (a downloaded response, an archive CSV, a vector file), or,
    with KIND open311, another Open311 server's requests from a file or the server's URL."""
    from pathlib import Path

    from data_sources.ingest.types import SourceError

    try:
        if kind == "open311":
            from data_sources.ingest.http import make_session
            from data_sources.exchange.open311_import import import_open311

            pairs = dict(m.split("=", 1) for m in mapping if "=" in m)
            counts = import_open311(obj.engine, obj.city, path, mapping=pairs, origin=origin,
                                    session=make_session(cache_dir=obj.settings.data_dir))
        else:
            from data_sources.refresh import import_file

            if not Path(path).is_file():
                _fail(f"import {kind} {path}: no such file")
            source = obj.city.source(source_name) if source_name else None
            counts = import_file(obj.engine, kind, path, source=source)
    except SourceError as e:
        _fail(f"import {kind} {path}: {e}")
    click.echo(json.dumps(counts))


@cli.command("purge-personal-data")
@click.option("--days", default=None, type=click.IntRange(1, None), help="Retention in days (default: the city's feedback.email_retention_days).")
@click.option("--dry-run", is_flag=True, help="Only count the comments that would be purged.")
@click.pass_obj
def purge_personal_data(obj: _Ctx, days: int | None, dry_run: bool) -> None:
    """Forget emails and unredacted texts of comments older than the retention period."""
    from data_sources.comments.records import purge_personal_data as purge

    days = days or obj.city.feedback.email_retention_days
    n = purge(obj.engine, days, dry_run=dry_run)
    click.echo(json.dumps({"comments": n, "retention_days": days, "dry_run": dry_run}))


@cli.command()
@click.option("--datapackage", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder to write a Frictionless Data Package into (datapackage.json, CSV and GeoJSON).")
@click.option("--licence", default="CC-BY-4.0", show_default=True,
              help="Licence id for what the city publishes itself (comments, their history, districts).")
@click.pass_obj
def export(obj: _Ctx, out_dir: str, licence: str) -> None:
    """Export the open data and the published comments as a Frictionless Data Package."""
    from data_sources.exchange.datapackage import export_datapackage

    click.echo(json.dumps(export_datapackage(obj.engine, obj.city, out_dir, city_licence=licence)))


@cli.command("create-official")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(["moderator", "official", "admin"]), help="What the account may do.")
@click.option("--department", default=None, help="Department name (created if new).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin instead of a prompt.")
@click.pass_obj
def create_official(obj: _Ctx, email: str, role: str, department: str | None, password_stdin: bool) -> None:
    """Create an official's account, or reset its role, department and password."""
    from dashboard.server.auth import MIN_PASSWORD, hash_password
    from data_sources.comments.workflow import create_official as create

    if password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD:
        _fail(f"the password needs at least {MIN_PASSWORD} characters")
    if "@" not in email:
        _fail("EMAIL does not look like an email address")
    oid = create(obj.engine, email, hash_password(password), role, department)
    click.echo(json.dumps({"official_id": oid, "email": email.strip().lower(), "role": role, "department": department}))


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False))
@click.pass_obj
def backup(obj: _Ctx, path: str) -> None:
    """Write a consistent backup of the live store to PATH (SQLite online backup, or pg_dump) while serving."""
    from data_sources.operations import backup as do_backup

    click.echo(str(do_backup(obj.engine, path)))


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


def main() -> None:
    try:
        cli(standalone_mode=True)
    except ConfigError as e:
        _fail(str(e))


if __name__ == "__main__":
    main()
