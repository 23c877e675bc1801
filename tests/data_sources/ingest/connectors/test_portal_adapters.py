"""The portal adapters (CKAN, Opendatasoft, Socrata, ArcGIS, SensorThings, CSV) and their shared mapping core."""

import json

import pandas as pd
import pytest

from data_sources.ingest.types import SourceError
from data_sources.ingest.connectors import get_connector


def _json(path):
    return json.loads(path.read_text())


COUNTS = {
    "id_field": "location_id",
    "name_field": "location_name",
    "lat_field": "latitude",
    "lon_field": "longitude",
    "time_field": "count_time",
    "timezone": "America/Toronto",
    "values": {"cyclists": "bikes", "vehicles": "cars"},
    "layer": "traffic_counter",
}


def test_ckan_records_with_local_times(fixture_path):
    ckan = get_connector("ckan")
    r = ckan.parse(_json(fixture_path("portal/ckan_datastore_search.json")), COUNTS)
    assert list(r.features.external_id) == ["C7"]  # C9 has no location
    assert r.features.iloc[0]["name"] == "Bathurst St" and r.features.iloc[0].layer == "traffic_counter"
    c7 = r.observations[r.observations.external_id == "C7"]
    # 08:00 in Toronto (EST, UTC-5) is 13:00 UTC
    assert c7[c7.metric == "cyclists"].time.min() == pd.Timestamp("2024-01-15T13:00Z")
    assert c7.set_index(["metric", "time"]).value[("vehicles", pd.Timestamp("2024-01-15T14:00Z"))] == 498
    assert set(c7.unit) == {"cyclists/h", "vehicles/h"}
    assert r.skipped == 1


def test_ckan_fetch_pages_newest_first_and_stops_at_since(fake_session, fixture_path):
    page = _json(fixture_path("portal/ckan_datastore_search.json"))
    s = fake_session([(r"datastore_search", {"json": page})])
    params = {**COUNTS, "base_url": "https://ckan.example.org", "resource_id": "7f1d-counts", "page_size": 3}
    payload = get_connector("ckan").fetch(s, params, since=pd.Timestamp("2024-01-15 13:30"))
    assert len(payload["pages"]) == 1  # the first page already reaches back before since
    url = s.transport.requests[0].url
    assert "resource_id=7f1d-counts" in url and "sort=count_time+desc" in url


def test_ckan_error_answer_is_reported(fake_session):
    s = fake_session(
        [
            (
                r"datastore_search",
                {"json": {"success": False, "error": {"message": "Not found: Resource was not found."}}},
            )
        ]
    )
    with pytest.raises(SourceError, match="Resource was not found"):
        get_connector("ckan").fetch(s, {"base_url": "https://ckan.example.org", "resource_id": "nope"})


WIFI = {"id_field": "id_borne", "name_field": "nom_site", "geometry_field": "geo_point_2d", "layer": "wifi_point"}


def test_opendatasoft_features_only_table(fixture_path):
    r = get_connector("opendatasoft").parse(_json(fixture_path("portal/ods_records_wifi.json")), WIFI)
    assert list(r.features.external_id) == ["WIFI-001", "WIFI-002"]
    assert r.features.iloc[0].geometry.coords[0] == (4.8357, 45.764)
    assert r.features.iloc[0].properties == {"adresse": "1 place de la Mairie", "etat": "Opérationnel"}
    assert len(r.observations) == 0 and r.skipped == 1


def test_opendatasoft_fetch_pages_by_offset(fake_session, fixture_path):
    page = _json(fixture_path("portal/ods_records_wifi.json"))
    s = fake_session([(r"offset=0", {"json": page}), (r"offset=3", {"json": {"total_count": 3, "results": []}})])
    params = {**WIFI, "base_url": "https://data.example.org", "dataset": "bornes-wifi", "page_size": 3}
    payload = get_connector("opendatasoft").fetch(s, params)
    assert len(payload["pages"]) == 2
    assert "/api/explore/v2.1/catalog/datasets/bornes-wifi/records" in s.transport.requests[0].url


BIKES = {
    "id_field": "id",
    "location": [40.7128, -74.0060],
    "time_field": "date",
    "timezone": "America/New_York",
    "values": {"cyclists": "counts"},
    "hourly": "sum",
    "layer": "cycle_counter",
}


def test_socrata_quarter_hours_fold_into_full_hours_only(fixture_path):
    r = get_connector("socrata").parse(_json(fixture_path("portal/socrata_counts.json")), BIKES)
    # 08:00-09:00 local is complete (5+7+9+4); 09:00 has only two quarters yet and must wait
    assert r.observations.value.tolist() == [25]
    assert r.observations.time.tolist() == [pd.Timestamp("2024-01-15T13:00Z")]
    assert r.observations.unit.tolist() == ["cyclists/h"]
    assert r.skipped == 2


def test_socrata_real_bike_counts(realdata):
    r = get_connector("socrata").parse(
        _json(realdata("socrata/soda_bike_counts_counter100009424_2016-09_page1.json")), BIKES
    )
    assert list(r.features.external_id) == ["100009424"]
    obs = r.observations.set_index("time").value
    # 16:00-17:00 on 2016-09-21 (EDT): 77 + 61 + 72 + 73; the first hour holds only the 15:45 quarter
    assert obs[pd.Timestamp("2016-09-21T20:00Z")] == 283
    assert pd.Timestamp("2016-09-21T19:00Z") not in obs.index
    assert len(r.observations) == 249


def test_socrata_fetch_uses_id_order_since_and_app_token(fake_session, fixture_path, monkeypatch):
    monkeypatch.setenv("NYC_APP_TOKEN", "tok")
    s = fake_session([(r"/resource/uczf-rk3c\.json", {"json": _json(fixture_path("portal/socrata_counts.json"))})])
    params = {
        **BIKES,
        "base_url": "https://data.cityofnewyork.us",
        "dataset": "uczf-rk3c",
        "app_token_env": "NYC_APP_TOKEN",
    }
    get_connector("socrata").fetch(s, params, since=pd.Timestamp("2024-01-15 13:00"))
    req = s.transport.requests[0]
    assert req.headers["X-App-Token"] == "tok"
    assert "%24order=%3Aid" in req.url
    assert "date+%3E%3D+%272024-01-15T08%3A00%3A00%27" in req.url  # since, in the table's local time


ARC = {
    "id_field": "SITE_ID",
    "name_field": "SITE_NAME",
    "time_field": "COUNT_DATE",
    "values": {"cyclists": "CYCLES"},
    "layer": "cycle_counter",
}


def test_arcgis_geojson_with_epoch_millisecond_dates(fixture_path):
    r = get_connector("arcgis").parse(_json(fixture_path("portal/arcgis_query.geojson")), ARC)
    assert list(r.features.external_id) == ["EDB-01", "EDB-02"]
    assert r.features.iloc[0].geometry.coords[0] == (-3.1883, 55.9533)
    assert r.observations.time.unique().tolist() == [pd.Timestamp("2024-01-15T08:00Z")]
    assert r.observations.set_index("external_id").value["EDB-01"] == 42


def test_arcgis_esri_json_lines_and_transfer_limit_paging(fake_session, fixture_path):
    esri = _json(fixture_path("portal/arcgis_query_esri.json"))
    s = fake_session(
        [
            (r"resultOffset=0", {"json": esri}),
            (r"resultOffset=2", {"json": {**esri, "features": esri["features"][:1], "exceededTransferLimit": False}}),
        ]
    )
    params = {
        "url": "https://services.arcgis.com/x/FeatureServer/3",
        "id_field": "ROUTE_ID",
        "name_field": "ROUTE_NAME",
        "layer": "cycle_route",
    }
    arcgis = get_connector("arcgis")
    payload = arcgis.fetch(s, params)
    assert len(payload["pages"]) == 2 and "f=geojson" in s.transport.requests[0].url
    r = arcgis.parse(payload, params)
    assert sorted(r.features.external_id) == ["R1", "R2"]
    assert r.features.set_index("external_id").geometry["R1"].geom_type == "MultiLineString"


def test_arcgis_error_in_a_200_answer(fake_session):
    s = fake_session(
        [(r"/query", {"json": {"error": {"code": 400, "message": "Invalid or missing input parameters."}}})]
    )
    with pytest.raises(SourceError, match="Invalid or missing input"):
        get_connector("arcgis").fetch(s, {"url": "https://services.arcgis.com/x/FeatureServer/3"})


def test_sensorthings_real_frost_datastreams_meet_in_one_station(realdata):
    st = get_connector("sensorthings")
    r = st.parse(_json(realdata("sensorthings/frost_airquality_eu_datastreams_vienna_liesing_2026-06-10.json")), {})
    assert len(r.features) == 1  # PM10, NO2, PM2.5 and O3 datastreams share one sampling location
    assert r.features.iloc[0].geometry.coords[0] == (16.30127778, 48.14125)
    obs = r.observations.set_index(["metric", "time"]).value
    assert obs[("pm10", pd.Timestamp("2026-06-10T07:00Z"))] == pytest.approx(8.0069503784)
    assert sorted(r.observations.metric.unique()) == ["no2", "o3", "pm10", "pm25"]
    assert set(r.observations.unit) == {"µg/m³"}
    assert len(r.observations) == 8


def test_sensorthings_things_and_unknown_properties(fixture_path):
    r = get_connector("sensorthings").parse(_json(fixture_path("portal/sensorthings_datastreams.json")), {})
    assert list(r.features.external_id) == ["7"]
    assert r.features.iloc[0]["name"] == "Utrecht-Kardinaal de Jongweg"
    assert sorted(r.observations.metric) == ["no2", "pm10", "pm10"]
    assert r.skipped == 0  # black carbon is not asked for, so it is not a failure


def test_sensorthings_fetch_follows_next_links(fake_session, fixture_path):
    page = _json(fixture_path("portal/sensorthings_datastreams.json"))
    first = {**page, "@iot.nextLink": "https://sta.example.org/v1.1/Datastreams?$skip=100"}
    s = fake_session([(r"skip=100", {"json": page}), (r"/Datastreams", {"json": first})])
    payload = get_connector("sensorthings").fetch(
        s, {"base_url": "https://sta.example.org/v1.1"}, since=pd.Timestamp("2024-01-15 07:00")
    )
    assert len(payload["pages"]) == 2
    assert "phenomenonTime+ge+2024-01-15T07%3A00%3A00Z" in s.transport.requests[0].url


def test_csv_features_from_wkt(fixture_path):
    csv = get_connector("csv")
    params = {"id_field": "site_id", "name_field": "site_name", "geometry_field": "wkt", "layer": "wifi_point"}
    r = csv.parse(csv.read_file(str(fixture_path("portal/wifi_points.csv")), params), params)
    assert list(r.features["name"]) == ["Central Library", "George Square, east side"]
    assert r.features.iloc[0].properties == {"provider": "City"}
    assert r.skipped == 1


def test_csv_long_table_with_metric_rename(fixture_path):
    csv = get_connector("csv")
    params = {
        "delimiter": ";",
        "id_field": "station",
        "lat_field": "lat",
        "lon_field": "lon",
        "time_field": "when",
        "metric_field": "parameter",
        "value_field": "value",
        "unit_field": "unit",
        "metrics": {"PM2.5": "pm25", "PM10": "pm10"},
        "layer": "air_station",
    }
    r = csv.parse(csv.read_file(str(fixture_path("portal/counts_long.csv")), params), params)
    assert sorted(r.features.external_id) == ["S1", "S2"]
    obs = r.observations.set_index(["external_id", "metric"]).value
    assert obs[("S1", "pm25")] == 8.5 and obs[("S1", "pm10")] == 14.0 and obs[("S2", "pm25")] == 3.0
    assert len(r.observations) == 3  # "n/a" is no value; Noise is not in the rename table
    assert r.skipped == 1


def test_a_mapped_field_missing_upstream_names_the_key(fixture_path):
    params = {**COUNTS, "time_field": "timestamp"}
    with pytest.raises(SourceError, match=r"params.time_field = 'timestamp' is not a field"):
        get_connector("ckan").parse(_json(fixture_path("portal/ckan_datastore_search.json")), params)


def test_malformed_csv_is_a_source_error():
    with pytest.raises(SourceError, match="malformed CSV"):
        get_connector("csv").parse('a,b\n"1,2\n', {"lat_field": "a", "lon_field": "b"})


def test_rows_without_an_id_are_skipped_not_merged_into_one_feature():
    records = [
        {"id": None, "lat": 1.0, "lon": 1.0},
        {"id": "", "lat": 2.0, "lon": 2.0},
        {"id": "k", "lat": 3.0, "lon": 3.0},
    ]
    r = get_connector("socrata").parse(records, {"id_field": "id", "lat_field": "lat", "lon_field": "lon"})
    assert list(r.features.external_id) == ["k"] and r.skipped == 2
