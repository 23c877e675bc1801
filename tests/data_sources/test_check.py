"""``citydash check`` (issue 21, item 7): a data team's table of every source, offline against staged real files."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from dashboard.cli import cli
from data_sources.refresh import import_file
from tests.support import realdata


def _toml(tmp_path, sources: str):
    p = tmp_path / "city.toml"
    p.write_text(
        '[city]\nname = "Check City"\nslug = "check"\ncentre = [47.65, -122.35]\n\n' + sources, encoding="utf-8"
    )
    return p


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYDASH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CITYDASH_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return tmp_path


def _sources() -> str:
    fremont = realdata("bike_counters", "seattle_fremont_bridge_hourly_2019_newest_first_excerpt.csv")
    divvy = realdata("gbfs", "chicago_divvy_v2.3")
    routes = realdata("cycling_routes", "charlotte_osm_overpass_cycle_network_excerpt.geojson")
    return (
        f'[[sources]]\nname = "fremont"\nkind = "csv"\nlayer = "cycle_counter"\n[sources.params]\nfile = "{fremont}"\n'
        'time_field = "Date"\ndate_format = "%m/%d/%Y %I:%M:%S %p"\ntimezone = "America/Los_Angeles"\n'
        'licence = "Seattle open data"\nattribution = "City of Seattle"\n'
        '[sources.params.wide]\nmetric = "cyclists"\n[sources.params.wide.columns]\n'
        '"Fremont Bridge East Sidewalk" = { id = "east", location = [47.6477, -122.3497] }\n'
        '"Fremont Bridge West Sidewalk" = { id = "west", location = [47.6478, -122.3502] }\n\n'
        f'[[sources]]\nname = "divvy"\nkind = "gbfs"\n[sources.params]\nurl = "{divvy.as_uri()}"\n\n'
        f'[[sources]]\nname = "routes"\nkind = "vector_file"\nlayer = "cycle_route"\n[sources.params]\npath = "{routes}"\n'
        'licence = "ODbL 1.0"\nattribution = "© OpenStreetMap contributors"\n'
    )


def test_check_reports_each_source_as_json_and_passes_when_all_show_something(cli_env):
    out = CliRunner().invoke(cli, ["check", "--city", str(_toml(cli_env, _sources())), "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    by = {s["source"]: s for s in doc["sources"]}
    fremont = by["fremont"]
    assert fremont["readable"] and fremont["rows_read"] == 1999 and fremont["observations"] == 3996
    assert fremont["skipped_by_reason"] == {"dst_gap": 1}
    assert fremont["newest"] == "2019-04-01T06:00:00Z" and fremont["age_hours"] > 24 * 365  # years old, said so
    assert fremont["licence"] and fremont["attribution"] and fremont["outside_footprint"] is None  # no bounds: n/a
    assert by["divvy"]["features"] == 1811 and by["divvy"]["licence"]  # the connector's default licence text
    assert by["divvy"]["attribution"] is False  # GBFS carries none: the city must state it
    assert by["routes"]["unmapped"]["cycle_type"]["cycleway=no"] > 0
    assert doc["ok"] is True


def test_check_counts_what_lies_outside_the_citys_bounds(cli_env):
    """Seattle's bounds: the Fremont counters are inside; Chicago's bike share and Charlotte's routes are not."""
    toml = _toml(cli_env, _sources())
    toml.write_text(
        toml.read_text().replace(
            "centre = [47.65, -122.35]\n", "centre = [47.65, -122.35]\nbounds = [[47.4, -122.5], [47.8, -122.2]]\n"
        )
    )
    out = CliRunner().invoke(cli, ["check", "--city", str(toml), "--json"])
    by = {s["source"]: s for s in json.loads(out.stdout)["sources"]}
    assert by["fremont"]["outside_footprint"] == 0
    assert by["divvy"]["outside_footprint"] == by["divvy"]["features"] == 1811
    assert by["routes"]["outside_footprint"] == by["routes"]["features"] > 0


def test_check_fails_when_a_source_would_show_nothing_and_prints_a_table(cli_env):
    broken = (
        _sources() + f'\n[[sources]]\nname = "gone"\nkind = "csv"\n[sources.params]\nfile = "{cli_env}/nothing.csv"\n'
    )
    out = CliRunner().invoke(cli, ["check", "--city", str(_toml(cli_env, broken))])
    assert out.exit_code == 1
    assert "fremont" in out.stdout and "dst_gap 1" in out.stdout and "n/a" in out.stdout
    assert "citydash check: gone would show nothing:" in out.stderr and "file not found" in out.stderr


def test_check_lists_imported_sources_from_their_last_run(cli_env):
    from data_sources.store.db import open_store

    engine = open_store(f"sqlite:///{cli_env / 'citydash.sqlite'}")
    import_file(engine, "52north", str(realdata("52north_timeseries", "uk_defra_ukair_station_2783_south_kirkby.json")))
    engine.dispose()
    out = CliRunner().invoke(cli, ["check", "--city", str(_toml(cli_env, "")), "--json"])
    doc = json.loads(out.stdout)
    (stored,) = doc["sources"]
    assert stored["checked"] == "store" and stored["features"] == 1
    assert stored["unmapped"] == {"phenomenon": {"http://dd.eionet.europa.eu/vocabulary/aq/pollutant/391": 1}}
    assert stored["licence"] is False
    assert out.exit_code == 0  # it shows its station


def test_check_judges_a_districts_footprint_before_the_first_refresh(cli_env):
    """Mexico City clips by its alcaldías: the check reads them from the TOML's file when the store has none yet."""
    from pathlib import Path

    realdata("boundaries", "mexico_city_alcaldias.geojson")
    toml = Path(__file__).resolve().parents[1] / "cities" / "mexico_city.toml"
    out = CliRunner().invoke(cli, ["check", "--city", str(toml), "--json"])
    assert out.exit_code == 0, out.output
    (ecobici,) = json.loads(out.stdout)["sources"]
    assert (ecobici["features"], ecobici["outside_footprint"]) == (491, 0)
