"""Refresh and import end to end on a temporary store, with fake upstreams."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from data_sources.config import CityConfig
from data_sources.store.models import Feature, Observation, RefreshRun, Source
from data_sources.refresh import import_file, refresh

AREA = r"data\.sensor\.community/airrohr/v1/filter/area="
GBFS = "https://example.org/gbfs/2.3/gbfs.json"


def _city(tmp_path=None, **extra):
    return CityConfig.model_validate(
        {
            "city": {"name": "Testburgh", "slug": "test", "centre": [55.86, -4.25]},
            "sources": [
                {
                    "name": "air",
                    "kind": "sensor_community",
                    "title": "Citizen sensors",
                    "params": {"area": "55.86,-4.25,8"},
                },
                {"name": "bikes", "kind": "gbfs", "layer": "bike_station", "params": {"url": GBFS, "language": "en"}},
            ],
            **extra,
        }
    )


def _gbfs_routes(fixture_path, status_answer=None):
    return [
        (
            r"/gbfs/2\.3/gbfs\.json$",
            {
                "json": {
                    "data": {
                        "en": {
                            "feeds": [
                                {
                                    "name": "station_information",
                                    "url": "https://example.org/gbfs/2.3/en/station_information.json",
                                },
                                {
                                    "name": "station_status",
                                    "url": "https://example.org/gbfs/2.3/en/station_status.json",
                                },
                            ]
                        }
                    }
                }
            },
        ),
        (r"/station_information\.json$", {"file": fixture_path("gbfs_v2/glasgow-stations.json")}),
        (r"/station_status\.json$", status_answer or {"file": fixture_path("gbfs_v2/glasgow-status.json")}),
    ]


def _count(engine, model, source=None):
    with engine.connect() as conn:
        q = select(func.count()).select_from(model)
        if source is not None and model is Feature:
            q = q.join(Source).where(Source.name == source)
        elif source is not None:
            q = q.join(Feature).join(Source).where(Source.name == source)
        return conn.scalar(q)


def _source(engine, name):
    from sqlalchemy.orm import Session

    with Session(engine) as s:
        return s.scalars(select(Source).where(Source.name == name)).one()


def test_refresh_twice_adds_nothing_the_second_time(engine, fake_session, fixture_path):
    session = fake_session(
        [(AREA, {"file": fixture_path("sensor_community/filter_area.json")}), *_gbfs_routes(fixture_path)]
    )
    first = refresh(engine, _city(), session)
    assert first.ok
    runs = {r.source: r for r in first.runs}
    assert (runs["air"].features, runs["air"].observations) == (2, 7)
    assert (runs["bikes"].features, runs["bikes"].observations) == (2, 4)
    second = refresh(engine, _city(), session)
    assert [(r.features, r.observations) for r in second.runs] == [(0, 0), (0, 0)]
    with engine.connect() as conn:
        log = conn.execute(select(RefreshRun.observations_added, RefreshRun.error, RefreshRun.finished_at)).all()
    assert [row[0] for row in log] == [7, 4, 0, 0]
    assert all(row[1] is None and row[2] is not None for row in log)
    air = _source(engine, "air")
    assert air.licence.startswith("ODbL") and air.title == "Citizen sensors" and air.last_success_at is not None
    with engine.connect() as conn:
        layers = set(conn.scalars(select(Feature.layer).join(Source).where(Source.name == "bikes")))
    assert layers == {"bike_station"}


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ({"status": 500, "text": "boom"}, r"HTTP 500 Internal Server Error"),
        ({"status": 429, "headers": {"Retry-After": "120"}}, r"HTTP 429 .*retry after 120 s"),
        ({"text": "{'not': json"}, r"malformed JSON"),
        (
            {"json": {"data": {"stations": [{"station_id": "gl-10", "bikes": 1}]}}},
            r"schema changed.*num_bikes_available",
        ),
        ({"json": {"stations": []}}, r"schema changed: station_status has no data"),
    ],
)
def test_a_failing_source_keeps_its_data_and_the_others_run(engine, fake_session, fixture_path, answer, reason):
    good = fake_session(
        [(AREA, {"file": fixture_path("sensor_community/filter_area.json")}), *_gbfs_routes(fixture_path)]
    )
    refresh(engine, _city(), good)
    before = _source(engine, "bikes")
    bikes_obs = _count(engine, Observation, "bikes")

    bad = fake_session(
        [(AREA, {"file": fixture_path("sensor_community/filter_area.json")}), *_gbfs_routes(fixture_path, answer)]
    )
    report = refresh(engine, _city(), bad)
    assert not report.ok
    air, bikes = report.runs
    assert air.ok
    assert bikes.error.startswith("bikes: ") and "\n" not in bikes.error
    assert __import__("re").search(reason, bikes.error), bikes.error
    after = _source(engine, "bikes")
    assert after.last_success_at == before.last_success_at and after.last_error == bikes.error
    assert _count(engine, Observation, "bikes") == bikes_obs and _count(engine, Feature, "bikes") == 2
    with engine.connect() as conn:
        assert conn.scalar(select(RefreshRun.error).order_by(RefreshRun.id.desc()).limit(1)) == bikes.error


def test_a_timeout_is_reported_like_any_other_fault(engine, fake_session, fixture_path):
    import requests

    session = fake_session([(AREA, requests.ConnectTimeout("connect timeout")), *_gbfs_routes(fixture_path)])
    report = refresh(engine, _city(), session)
    assert (
        report.runs[0].error.startswith("air: https://data.sensor.community/") and "timed out" in report.runs[0].error
    )
    assert report.runs[1].ok


def test_an_empty_answer_is_not_an_error_and_deletes_nothing(engine, fake_session, fixture_path):
    refresh(
        engine,
        _city(),
        fake_session(
            [(AREA, {"file": fixture_path("sensor_community/filter_area.json")}), *_gbfs_routes(fixture_path)]
        ),
    )
    report = refresh(engine, _city(), fake_session([(AREA, {"json": []}), *_gbfs_routes(fixture_path)]), only="air")
    assert report.ok and report.runs[0].observations == 0
    assert _count(engine, Observation, "air") == 7


def test_incremental_fetch_starts_before_the_newest_stored_reading(engine, fake_session):
    ods = {
        "name": "wifi",
        "kind": "socrata",
        "params": {
            "base_url": "https://data.example.org",
            "dataset": "abcd-1234",
            "id_field": "id",
            "lat_field": "lat",
            "lon_field": "lon",
            "time_field": "t",
            "values": {"vehicles": "n"},
        },
    }
    city = CityConfig.model_validate({"city": {"name": "T", "slug": "t", "centre": [0, 0]}, "sources": [ods]})
    session = fake_session(
        [(r"/resource/", {"json": [{"id": "a", "lat": "1", "lon": "1", "t": "2024-01-15T08:00:00", "n": "3"}]})]
    )
    refresh(engine, city, session)
    assert "%24where" not in session.transport.requests[0].url  # first run: everything
    refresh(engine, city, session)
    # from an hour before the newest stored reading (08:00), not from the time of the last fetch (today)
    assert "t+%3E%3D+%272024-01-15T07%3A00%3A00%27" in session.transport.requests[-1].url


def test_import_twice_adds_nothing(engine, fixture_path):
    path = str(fixture_path("sensor_community/2024-01-15_sds011_sensor_18001.csv"))
    first = import_file(engine, "sensor_community", path)
    assert {k: first[k] for k in ("source", "kind", "features", "observations", "skipped", "created")} == {
        "source": "2024-01-15_sds011_sensor_18001",
        "kind": "sensor_community",
        "features": 1,
        "observations": 6,
        "skipped": 1,
        "created": True,
    }
    second = import_file(engine, "sensor_community", path)
    assert (second["features"], second["observations"]) == (0, 0)


def test_import_into_a_configured_source_uses_its_params(engine, fixture_path):
    city = CityConfig.model_validate(
        {
            "city": {"name": "T", "slug": "t", "centre": [0, 0]},
            "sources": [
                {
                    "name": "wifi",
                    "kind": "csv",
                    "layer": "wifi_point",
                    "params": {
                        "id_field": "site_id",
                        "name_field": "site_name",
                        "geometry_field": "wkt",
                        "licence": "OGL v3",
                    },
                }
            ],
        }
    )
    out = import_file(engine, "csv", str(fixture_path("portal/wifi_points.csv")), source=city.source("wifi"))
    assert {k: out[k] for k in ("source", "kind", "features", "observations", "skipped")} == {
        "source": "wifi",
        "kind": "csv",
        "features": 2,
        "observations": 0,
        "skipped": 1,
    }
    assert "note" not in out
    assert _source(engine, "wifi").licence == "OGL v3"


# --- the CLI ----------------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYDASH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CITYDASH_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    toml = tmp_path / "test.toml"
    toml.write_text(
        '[city]\nname = "Testburgh"\nslug = "test"\ncentre = [55.86, -4.25]\n\n'
        '[[sources]]\nname = "air"\nkind = "sensor_community"\nparams = { area = "55.86,-4.25,8" }\n\n'
        f'[[sources]]\nname = "bikes"\nkind = "gbfs"\nparams = {{ url = "{GBFS}" }}\n'
    )
    monkeypatch.setenv("CITYDASH_CITY", str(toml))
    return tmp_path


def test_cli_import_prints_one_json_line(cli_env, fixture_path):
    from dashboard.cli import cli

    path = str(fixture_path("sensor_community/filter_area.json"))
    out = CliRunner().invoke(cli, ["import", "sensor_community", path, "--source", "air"])
    assert out.exit_code == 0, out.output
    assert {
        k: v
        for k, v in json.loads(out.output).items()
        if k in ("source", "kind", "features", "observations", "skipped")
    } == {"source": "air", "kind": "sensor_community", "features": 2, "observations": 7, "skipped": 2}
    again = CliRunner().invoke(cli, ["import", "sensor_community", path, "--source", "air"])
    assert json.loads(again.output)["observations"] == 0


def test_cli_import_of_a_bad_file_fails_in_one_line(cli_env, tmp_path):
    from dashboard.cli import cli

    bad = tmp_path / "bad.json"
    bad.write_text("[{")
    out = CliRunner().invoke(cli, ["import", "gbfs", str(bad)])
    assert out.exit_code == 2
    assert out.output.strip().startswith("citydash: import gbfs") and "malformed JSON" in out.output


def test_cli_refresh_exits_non_zero_when_a_source_fails(cli_env, fake_session, fixture_path, monkeypatch):
    from dashboard.cli import cli

    session = fake_session(
        [
            (AREA, {"file": fixture_path("sensor_community/filter_area.json")}),
            *_gbfs_routes(fixture_path, {"status": 500}),
        ]
    )
    monkeypatch.setattr("data_sources.ingest.http.make_session", lambda **kw: session)
    out = CliRunner().invoke(cli, ["refresh", "--no-progress"])
    assert out.exit_code == 1
    lines = out.output.strip().splitlines()
    assert json.loads(lines[0])["source"] == "air" and json.loads(lines[0])["observations"] == 7
    assert lines[-1].startswith(
        "citydash refresh: bikes: https://example.org/gbfs/2.3/en/station_status.json: HTTP 500"
    )
