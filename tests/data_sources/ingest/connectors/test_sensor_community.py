import pandas as pd
import pytest

from data_sources.ingest.types import SourceError
from data_sources.ingest.connectors import get_connector

sc = get_connector("sensor_community")


def _read(path):
    return sc.parse(sc.read_file(str(path), {}), {})


def test_real_archive_sds011_gives_pm10_and_pm25_for_every_reading(realdata):
    r = _read(realdata("sensor_community/archive_2018-07-08_sds011_sensor_15092_aberdeen.csv"))
    assert list(r.features.external_id) == ["7647"]
    pt = r.features.geometry.iloc[0]
    assert (round(pt.y, 3), round(pt.x, 3)) == (56.963, -2.211)
    counts = r.observations.metric.value_counts()
    assert counts["pm10"] == 572 and counts["pm25"] == 572
    first = r.observations.sort_values("time").iloc[0]
    assert first.time == pd.Timestamp("2018-07-08T00:01:26Z")
    # P1 is PM10 (11.40 in the first row), P2 is PM2.5 (8.53)
    at_first = r.observations[r.observations.time == first.time].set_index("metric").value
    assert at_first["pm10"] == pytest.approx(11.40) and at_first["pm25"] == pytest.approx(8.53)
    assert set(r.observations.unit) == {"µg/m³"}
    assert r.meta.licence.startswith("ODbL")


def test_real_archive_bme280_pressure_is_converted_from_pa_to_hpa(realdata):
    r = _read(realdata("sensor_community/archive_2018-07-08_bme280_sensor_15093_aberdeen.csv"))
    obs = r.observations
    assert obs.metric.value_counts().to_dict() == {"pressure": 574, "temperature": 574, "humidity": 574}
    first = obs[obs.time == obs.time.min()].set_index("metric")
    assert first.loc["pressure", "value"] == pytest.approx(1025.0641)  # 102506.41 Pa
    assert first.loc["pressure", "unit"] == "hPa"
    assert first.loc["temperature", "value"] == pytest.approx(14.60)
    assert first.loc["humidity", "value"] == pytest.approx(79.37)


def test_real_live_json_maps_value_types_per_location(realdata):
    r = _read(realdata("sensor_community/airrohr_v1_data_luftdatenpumpe_upstream_2019-04-25.json"))
    assert sorted(r.features.external_id) == ["1071", "28"]
    berlin = r.observations[r.observations.external_id == "1071"]
    assert set(berlin.metric) == {"pm10", "pm25", "humidity", "temperature"}
    row = berlin[(berlin.metric == "pm25") & (berlin.time == pd.Timestamp("2019-04-25T01:51:12Z"))]
    assert row.value.tolist() == [pytest.approx(16.23)]
    assert len(r.observations) == 10


def test_fixture_json_skips_indoor_and_unmapped_sensors(fixture_path):
    r = _read(fixture_path("sensor_community/filter_area.json"))
    # 9003 is indoor, 9004 only measures noise: neither becomes a station with readings
    assert sorted(r.observations.external_id.unique()) == ["9001", "9002"]
    assert sorted(r.features.external_id) == ["9001", "9002"]
    assert r.skipped == 2
    s9001 = r.observations[r.observations.external_id == "9001"].set_index("metric").value
    assert s9001["pressure"] == pytest.approx(1013.25)
    assert s9001["pm10"] == pytest.approx(21.5) and s9001["pm25"] == pytest.approx(12.25)
    # SPS30 P0 (PM1) and P4 (PM4) have no metric in the store
    assert sorted(r.observations[r.observations.external_id == "9002"].metric) == ["pm10", "pm25"]
    props = r.features.set_index("external_id").properties["9001"]
    assert props["sensors"] == {"18001": "SDS011", "18002": "BME280"}


def test_fixture_archive_counts_a_row_without_values_as_skipped(fixture_path):
    r = _read(fixture_path("sensor_community/2024-01-15_sds011_sensor_18001.csv"))
    assert len(r.observations) == 6
    assert r.skipped == 1


def test_fetch_builds_the_area_filter_url(fake_session, fixture_path):
    s = fake_session(
        [
            (
                r"data\.sensor\.community/airrohr/v1/filter/area=55\.86,-4\.25,8$",
                {"file": fixture_path("sensor_community/filter_area.json")},
            )
        ]
    )
    payload = sc.fetch(s, {"area": "55.86,-4.25,8"})
    assert len(payload) == 5
    assert s.transport.requests[0].url.endswith("/filter/area=55.86,-4.25,8")


def test_fetch_needs_an_area():
    with pytest.raises(SourceError, match="area"):
        sc.fetch(None, {})


def test_changed_field_names_fail_with_a_clear_message():
    with pytest.raises(SourceError, match="schema changed.*sensordatavalues"):
        sc.parse(
            [
                {
                    "timestamp": "2024-01-15 08:00:00",
                    "location": {"id": 1, "latitude": "1", "longitude": "1"},
                    "sensor": {},
                    "values": [],
                }
            ],
            {},
        )
    with pytest.raises(SourceError, match="archive CSV header"):
        sc.parse("sensorid;type;lat;lon;time;P1\n1;SDS011;1;1;2024-01-01T00:00:00;3\n", {})


def test_fetch_archive_days_since_the_last_fetch_and_merges_sensor_types(fake_session, realdata):
    sds = realdata("sensor_community/archive_2018-07-08_sds011_sensor_15092_aberdeen.csv")
    bme = realdata("sensor_community/archive_2018-07-08_bme280_sensor_15093_aberdeen.csv")
    s = fake_session(
        [
            (r"_sds011_sensor_15092\.csv$", [{"file": sds}, {"status": 404}]),  # the second day: no file
            (r"_bme280_sensor_15093\.csv$", [{"file": bme}, {"status": 404}]),
        ]
    )
    yesterday = pd.Timestamp.now().normalize() - pd.Timedelta(days=1)
    payload = sc.fetch(s, {"archive_sensors": ["SDS011:15092", "bme280:15093"]}, since=yesterday - pd.Timedelta(days=1))
    urls = [q.url for q in s.transport.requests]
    assert len(urls) == 4  # two finished days x two sensors
    assert (
        urls[0]
        == f"https://archive.sensor.community/{yesterday - pd.Timedelta(days=1):%Y-%m-%d}/{yesterday - pd.Timedelta(days=1):%Y-%m-%d}_sds011_sensor_15092.csv"
    )
    r = sc.parse(payload, {})
    assert list(r.features.external_id) == ["7647"]  # both sensors stand at location 7647
    assert r.observations.metric.value_counts().to_dict() == {
        "pressure": 574,
        "temperature": 574,
        "humidity": 574,
        "pm10": 572,
        "pm25": 572,
    }
