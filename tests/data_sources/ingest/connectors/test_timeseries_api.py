"""The 52°North Timeseries REST API kind ("52north"), on the recorded RIVM, DEFRA and PEGELONLINE answers of
../shared/realdata/52north_timeseries (PROVENANCE section 8). No getData answer of a non-Belgian deployment was
recorded: the getData tests use the API's documented shape ({id: {"values": [{"timestamp": ms, "value": x}]}})."""

import json

import pandas as pd
import pytest

from data_sources.ingest.types import SourceError
from data_sources.ingest.connectors import get_connector
from data_sources.refresh import import_file

api = get_connector("52north")


def _read(realdata, name):
    return api.read_file(str(realdata(f"52north_timeseries/{name}")), {})


def test_rivm_stations_list_gives_one_feature_per_station_and_pollutant(realdata):
    r = api.parse(_read(realdata, "nl_rivm_inspire_eaq_stations_2016-02.json"), {})
    assert len(r.features) == 358 and r.observations.empty
    f = r.features.set_index("external_id").loc["2"]
    assert f["name"] == "Amsterdam-Einsteinweg: CO"
    assert (round(f.geometry.x, 6), round(f.geometry.y, 6)) == (4.845233, 52.381331)  # [lon, lat, altitude]
    assert r.features.geometry.y.between(50.88, 53.34).all()


def test_geonovum_stations_with_two_coordinates(realdata):
    r = api.parse(_read(realdata, "nl_geonovum_sospilot_rivm_lml_stations_2014-09.json"), {})
    assert len(r.features) == 62


def test_rivm_expanded_timeseries_maps_its_phenomenon_to_a_metric(realdata):
    r = api.parse(_read(realdata, "nl_rivm_inspire_eaq_timeseries_station2_expanded_2016-02.json"), {})
    assert list(r.features.external_id) == ["2"] and r.unmapped == {}
    assert r.features.iloc[0].properties["timeseries"] == {"2": "co"}
    # the documented getData shape, with epoch milliseconds and the series' unit mg.m-3 -> µg/m³
    bundle = {
        "timeseries": _read(realdata, "nl_rivm_inspire_eaq_timeseries_station2_expanded_2016-02.json"),
        "data": {
            "2": {"values": [{"timestamp": 1455098400000, "value": 0.3}, {"timestamp": 1455102000000, "value": None}]}
        },
    }
    r = api.parse(bundle, {})
    assert r.observations.to_dict("records") == [
        {"external_id": "2", "time": pd.Timestamp("2016-02-10T10:00Z"), "metric": "co", "value": 300.0, "unit": "µg/m³"}
    ]
    assert r.skipped_by_reason == {"value": 1}


def test_defra_station_and_timeseries_keep_the_unmapped_black_carbon_visible(realdata):
    station = api.parse(_read(realdata, "uk_defra_ukair_station_2783_south_kirkby.json"), {})
    assert list(station.features.external_id) == ["2783"]  # altitude "NaN" is ignored
    assert station.unmapped == {"phenomenon": {"http://dd.eionet.europa.eu/vocabulary/aq/pollutant/391": 1}}
    ts = api.parse(
        _read(realdata, "uk_defra_ukair_timeseries_3003_south_kirkby.json"), {"phenomena": {"391": "black_carbon"}}
    )
    obs = ts.observations.sort_values("time")
    assert obs.time.tolist() == [
        pd.Timestamp("2010-01-01T00:00Z"),
        pd.Timestamp("2011-12-31T23:00Z"),
    ]  # first/lastValue
    assert obs.value.tolist() == [2.0, 0.2] and set(obs.metric) == {"black_carbon"} and set(obs.unit) == {"ug.m-3"}


def test_pegelonline_water_level_by_a_phenomena_table(realdata):
    plain = api.parse(_read(realdata, "de_pegelonline_list_auf_sylt_timeseries_2013-09.json"), {})
    assert plain.observations.empty and plain.unmapped == {"phenomenon": {"Wasserstand": 1}}
    r = api.parse(
        _read(realdata, "de_pegelonline_list_auf_sylt_timeseries_2013-09.json"),
        {"phenomena": {"Wasserstand": "water_level"}, "layer": "water_gauge"},
    )
    assert r.observations.to_dict("records") == [
        {
            "external_id": "sta_a4bff7499d440d9bb67ad73e048c5a47",
            "time": pd.Timestamp("2013-09-20T00:00Z"),
            "metric": "water_level",
            "value": 532.7,
            "unit": "cm",
        }
    ]


def test_fetch_lists_expanded_timeseries_then_posts_get_data_for_wanted_ones(fake_session, realdata):
    listing = json.loads(
        realdata("52north_timeseries/nl_rivm_inspire_eaq_timeseries_station2_expanded_2016-02.json").read_text()
    )
    session = fake_session(
        [
            (r"/timeseries/getData$", {"json": {"2": {"values": [{"timestamp": 1455098400000, "value": 0.4}]}}}),
            (r"/timeseries\?", {"json": listing}),
        ]
    )
    payload = api.fetch(session, {"url": "https://inspire.rivm.nl/sos/eaq/api/v1/", "query": {"station": "2"}}, None)
    first, second = session.transport.requests
    assert "expanded=true" in first.url and "station=2" in first.url
    assert second.method == "POST" and json.loads(second.body)["timeseries"] == ["2"]
    assert api.parse(payload, {}).observations.value.tolist() == [400.0]


def test_an_answer_of_another_api_fails_in_one_line():
    with pytest.raises(SourceError, match="not a 52°North Timeseries API answer"):
        api.parse({"results": []}, {})


def test_import_records_stations_from_a_saved_answer(engine, realdata):
    out = import_file(engine, "52north", str(realdata("52north_timeseries/nl_rivm_inspire_eaq_stations_2016-02.json")))
    assert out["features"] == 358 and out["source"] == "nl_rivm_inspire_eaq_stations_2016-02"
