"""The ``citydash`` command. Each subcommand is thin: the work lives in data_sources/ or dashboard/ modules."""
from __future__ import annotations

import json
import sys

import click

from data_sources.config import ConfigError, Settings, load_city


def _fail(msg: str) -> None:
    click.echo(f"citydash: {msg}", err=True)
    sys.exit(2)


class _Ctx:
    """Settings, city and store opened once per command, lazily (``--help`` must not touch the store)."""

    def __init__(self, city: str | None):
        self._city_arg = city
        self._engine = None
        self._city = None

    @property
    def settings(self) -> Settings:
        return Settings.from_env()

    @property
    def city(self):
        if self._city is None:
            self._city = load_city(self._city_arg or self.settings.city)
        return self._city

    @property
    def engine(self):
        if self._engine is None:
            from data_sources.store import open_store

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


@cli.command("create-official")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(["moderator", "official", "admin"]), help="What the account may do.")
@click.option("--department", default=None, help="Department name (created if new).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin instead of a prompt.")
@click.pass_obj
def create_official(obj: _Ctx, email: str, role: str, department: str | None, password_stdin: bool) -> None:
    """Create an official's account, or reset its role, department and password."""
    from dashboard.auth import MIN_PASSWORD, hash_password
    from data_sources.workflow import create_official as create

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


def main() -> None:
    try:
        cli(standalone_mode=True)
    except ConfigError as e:
        _fail(str(e))


if __name__ == "__main__":
    main()
