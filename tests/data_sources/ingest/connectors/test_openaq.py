import json

import pandas as pd
import pytest

from data_sources.ingest.types import SourceError
from data_sources.ingest.connectors import get_connector

openaq = get_connector("openaq")


def _json(path):
    return json.loads(path.read_text())


def test_real_location_and_hourly_pm25(realdata):
    bundle = {
        "locations": _json(realdata("openaq/v3_locations_2178_albuquerque_delnorte.json")),
        "hours": {"3920": _json(realdata("openaq/v3_sensors_measurements_hourly_pm25_2023-10-16.json"))},
    }
    r = openaq.parse(bundle, {})
    assert list(r.features.external_id) == ["2178"]
    f = r.features.iloc[0]
    assert f["name"] == "Del Norte" and (f.geometry.y, f.geometry.x) == (35.1353, -106.584702)
    assert f.properties["provider"] == "AirNow"
    obs = r.observations.sort_values("time")
    assert obs.value.tolist() == [6, 7.5]
    # hourly values are stamped with the end of their hour
    assert obs.time.tolist() == [pd.Timestamp("2023-10-16T13:00Z"), pd.Timestamp("2023-10-16T14:00Z")]
    assert set(obs.metric) == {"pm25"} and set(obs.unit) == {"µg/m³"}


def test_real_sensors_response_gives_each_sensors_latest_value_in_store_units(realdata):
    bundle = {
        "locations": _json(realdata("openaq/v3_locations_2178_albuquerque_delnorte.json")),
        "sensors": {"2178": _json(realdata("openaq/v3_locations_2178_sensors.json"))},
    }
    r = openaq.parse(bundle, {})
    obs = r.observations.set_index("metric")
    assert sorted(obs.index) == ["co", "no2", "o3", "pm10", "pm25", "so2"]  # no and nox are not kept
    assert obs.loc["pm25", "value"] == 4.1 and obs.loc["pm25", "time"] == pd.Timestamp("2024-08-26T20:00Z")
    assert obs.loc["o3", "value"] == pytest.approx(115.8, abs=0.1)  # 0.059 ppm at 25 °C
    assert obs.loc["co", "value"] == pytest.approx(114.6, abs=0.1)  # 0.1 ppm
    assert set(obs.unit) == {"µg/m³"}


def test_real_raw_measurements_of_a_test_sensor(realdata):
    raw = _json(realdata("openaq/v3_sensors_3_measurements_raw_2023-03-07_testdb.json"))
    locations = {
        "results": [
            {
                "id": 3,
                "name": "testing site 3",
                "coordinates": {"latitude": 1.0, "longitude": 1.0},
                "sensors": [{"id": 3, "parameter": {"name": "pm25", "units": "µg/m³"}}],
            }
        ]
    }
    r = openaq.parse({"locations": locations, "hours": {"3": raw}}, {})
    assert len(r.observations) == 48
    assert r.observations.time.min() == pd.Timestamp("2023-03-07T05:30Z")


def test_real_latest_needs_the_sensor_map(realdata):
    latest = _json(realdata("openaq/v3_locations_1_latest_testdb.json"))
    locations = {
        "results": [
            {
                "id": 1,
                "name": "testing site 1",
                "coordinates": {"latitude": -16.51516, "longitude": -151.76306},
                "sensors": [{"id": 1, "parameter": {"name": "pm25", "units": "µg/m³"}}],
            }
        ]
    }
    r = openaq.parse({"locations": locations, "latest": {"1": latest}}, {})
    assert r.observations.value.tolist() == [8.15]
    assert r.observations.time.tolist() == [pd.Timestamp("2025-07-09T01:30Z")]


def test_fixture_latest_converts_ppm_and_drops_sentinels(fixture_path):
    bundle = {
        "locations": _json(fixture_path("openaq/locations.json")),
        "latest": {"2508": _json(fixture_path("openaq/latest_2508.json"))},
    }
    r = openaq.parse(bundle, {})
    assert sorted(r.features.external_id) == ["2508", "2509"]
    obs = r.observations.set_index("metric")
    assert obs.loc["pm25", "value"] == 7.0
    # 0.0213 ppm NO2 = 21.3 ppb x 46.0055 / 24.45 = 40.08 µg/m³
    assert obs.loc["no2", "value"] == pytest.approx(40.08, abs=0.01)
    assert r.skipped == 1  # the -999 sentinel


def test_fetch_sends_the_key_and_pages(fake_session, fixture_path, monkeypatch):
    monkeypatch.setenv("OPENAQ_API_KEY", "k-123")
    s = fake_session(
        [
            (r"/v3/locations\?", {"file": fixture_path("openaq/locations.json")}),
            (r"/v3/sensors/5011/hours", {"file": fixture_path("openaq/hours_5011.json")}),
            (r"/v3/sensors/", {"json": {"meta": {}, "results": []}}),
        ]
    )
    payload = openaq.fetch(
        s, {"coordinates": [55.86, -4.25], "radius": 50000, "mode": "hours"}, since=pd.Timestamp("2024-01-15 06:00")
    )
    first = s.transport.requests[0]
    assert first.headers["X-API-Key"] == "k-123"
    assert "radius=25000" in first.url  # capped at the API's maximum
    assert any("datetime_from=2024-01-15T06%3A00%3A00Z" in q.url for q in s.transport.requests)
    # nox is not a pollutant the store keeps, so its sensor is never asked for
    assert not any("/sensors/5003/" in q.url for q in s.transport.requests)
    r = openaq.parse(payload, {})
    assert r.observations[r.observations.external_id == "2509"].value.tolist() == [14.5, 16.0]


def test_fetch_without_a_key_says_which_variable(monkeypatch):
    monkeypatch.delenv("OPENAQ_API_KEY", raising=False)
    with pytest.raises(SourceError, match="OPENAQ_API_KEY"):
        openaq.fetch(None, {"coordinates": [55.86, -4.25]})


def test_changed_location_fields_fail_clearly():
    with pytest.raises(SourceError, match="schema changed.*coordinates"):
        openaq.parse({"results": [{"id": 1, "name": "x", "coords": {}}]}, {})


# --- the retired v2 API (issue 21): read, or refused in one line, never a traceback ------------------------------
# tests/fixtures/openaq/v2_*.json are our own payloads in the v2 shape (no recorded v2 answer is in ../shared/realdata).


def test_v2_latest_answer_is_read_with_its_text_country(fixture_path):
    r = openaq.parse(_json(fixture_path("openaq/v2_latest.json")), {})
    assert sorted(r.features.name) == ["Amsterdam-Einsteinweg", "Amsterdam-Vondelpark"]
    assert r.features.iloc[0].properties["country"] == "NL"
    obs = r.observations.set_index(["external_id", "metric"]).value
    assert obs[("Amsterdam-Einsteinweg", "no2")] == 38.2
    assert obs[("Amsterdam-Einsteinweg", "co")] == pytest.approx(343.6, abs=0.5)  # 0.3 ppm at 25 °C
    assert ("Amsterdam-Vondelpark", "o3") not in obs.index  # -999 sentinel
    assert r.skipped == 2  # black carbon (not kept) and the sentinel


def test_v2_locations_answer_gives_last_values(fixture_path):
    r = openaq.parse(_json(fixture_path("openaq/v2_locations.json")), {})
    assert list(r.features.external_id) == ["2178"]
    assert r.observations.to_dict("records") == [
        {
            "external_id": "2178",
            "time": pd.Timestamp("2023-10-16T17:00Z"),
            "metric": "pm25",
            "value": 6.0,
            "unit": "µg/m³",
        }
    ]


def test_v2_answer_missing_a_field_names_it(fixture_path):
    doc = _json(fixture_path("openaq/v2_latest.json"))
    del doc["results"][1]["coordinates"]
    with pytest.raises(
        SourceError,
        match=r"OpenAQ v2 answer: result 2 has no 'coordinates' \(has location, city, country, measurements\)",
    ):
        openaq.parse(doc, {})


def test_cli_import_of_an_old_answer_never_prints_a_traceback(fixture_path, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from dashboard.cli import cli

    monkeypatch.setenv("CITYDASH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CITYDASH_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    odd = tmp_path / "odd.json"  # v3-looking locations whose country, provider and sensors are plain text
    odd.write_text(
        json.dumps(
            {
                "results": [
                    {
                        "id": 1,
                        "name": "x",
                        "coordinates": {"latitude": 1, "longitude": 2},
                        "country": "NL",
                        "provider": "RIVM",
                        "sensors": ["pm25"],
                    }
                ]
            }
        )
    )
    out = CliRunner().invoke(cli, ["import", "openaq", str(odd)])
    assert out.exception is None or isinstance(out.exception, SystemExit), out.exception
    assert "Traceback" not in out.output and out.exit_code == 0
    good = CliRunner().invoke(cli, ["import", "openaq", str(fixture_path("openaq/v2_latest.json"))])
    assert good.exit_code == 0 and json.loads(good.stdout)["observations"] == 4
    assert "named after the file" in good.stderr
