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


@cli.command(name="create-api-key")
@click.argument("name")
@click.pass_obj
def create_api_key(obj: _Ctx, name: str) -> None:
    """Create an Open311 API key for integrator NAME; the key is printed once and only its hash is stored."""
    from data_sources.api_keys import ApiKeyError, create_api_key as create

    try:
        click.echo(create(obj.engine, name))
    except ApiKeyError as e:
        _fail(f"create-api-key: {e}")


@cli.command(name="import")
@click.argument("kind", type=click.Choice(["open311"]))
@click.argument("path")
@click.option("--map", "mapping", multiple=True, metavar="UPSTREAM=CATEGORY",
              help="open311: map an upstream service_code or service_name to one of the city's categories.")
@click.option("--origin", default=None, help="open311: name of the upstream system (default: the URL's host or the file name).")
@click.pass_obj
def import_(obj: _Ctx, kind: str, path: str, mapping: tuple[str, ...], origin: str | None) -> None:
    """Load a payload of KIND from PATH (a file, or for open311 also a server URL) into the store."""
    from data_sources.base import SourceError
    from data_sources.open311_import import import_open311

    pairs = dict(m.split("=", 1) for m in mapping if "=" in m)
    try:
        counts = import_open311(obj.engine, obj.city, path, mapping=pairs, origin=origin)
    except SourceError as e:
        _fail(f"import {kind} {path}: {e}")
    click.echo(json.dumps(counts))


@cli.command()
@click.option("--datapackage", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder to write a Frictionless Data Package into (datapackage.json, CSV and GeoJSON).")
@click.option("--licence", default="CC-BY-4.0", show_default=True,
              help="Licence id for what the city publishes itself (comments, their history, districts).")
@click.pass_obj
def export(obj: _Ctx, out_dir: str, licence: str) -> None:
    """Export the open data and the published comments as a Frictionless Data Package."""
    from data_sources.datapackage import export_datapackage

    click.echo(json.dumps(export_datapackage(obj.engine, obj.city, out_dir, city_licence=licence)))


def main() -> None:
    try:
        cli(standalone_mode=True)
    except ConfigError as e:
        _fail(str(e))


if __name__ == "__main__":
    main()
