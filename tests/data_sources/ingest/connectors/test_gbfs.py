import pandas as pd
import pytest

from data_sources.ingest.types import SourceError
from data_sources.ingest.connectors import get_connector

gbfs = get_connector("gbfs")


def test_real_divvy_v23_stations_and_status(realdata):
    info = realdata("gbfs/chicago_divvy_v2.3/station_information.json")
    r = gbfs.parse(gbfs.read_file(str(info), {}), {})
    assert len(r.features) == 1811
    st = r.features.set_index("external_id").loc["1955905507044284968"]
    assert st["name"] == "Nordica Ave & Medill Ave"
    assert (st.geometry.y, st.geometry.x) == (41.92227, -87.80202)
    assert st.properties["capacity"] == 15
    obs = r.observations
    first = obs[obs.external_id == "1955905507044284968"].set_index("metric")
    assert first.loc["bikes_available", "value"] == 3 and first.loc["docks_available", "value"] == 12
    assert first.loc["bikes_available", "time"] == pd.Timestamp(1738143909, unit="s", tz="UTC")
    assert set(obs.unit) == {"bikes", "docks"}


def test_real_ecobici_station_information_alone_gives_stations_only(realdata):
    r = gbfs.parse(
        gbfs.read_file(str(realdata("gbfs/mexico_city_ecobici_station_information_2023-08-09.json")), {}), {}
    )
    assert len(r.features) == 491 and len(r.observations) == 0
    assert r.features.set_index("external_id").loc["5", "name"].startswith("CE-407")


def test_real_discovery_file_lists_language_feeds(realdata):
    import json

    doc = json.loads(realdata("gbfs/chicago_divvy_v2.3/gbfs.json").read_text())
    urls = gbfs.feed_urls(doc, "es")
    assert urls["station_status"].startswith("https://gbfs.lyft.com/gbfs/2.3/chi/es/")


def test_fetch_v3_autodiscovery_and_localised_names(fake_session, fixture_path):
    s = fake_session(
        [
            (r"/gbfs/v3/gbfs\.json$", {"file": fixture_path("gbfs_v3/utrecht-discovery.json")}),
            (r"/gbfs/v3/station_information\.json$", {"file": fixture_path("gbfs_v3/utrecht-stations.json")}),
            (r"/gbfs/v3/station_status\.json$", {"file": fixture_path("gbfs_v3/utrecht-status.json")}),
        ]
    )
    params = {"url": "https://example.org/gbfs/v3/gbfs.json", "language": "en"}
    r = gbfs.parse(gbfs.fetch(s, params), params)
    names = r.features.set_index("external_id").name
    assert names["ut-1"] == "Utrecht Central" and names["ut-2"] == "Neude"
    assert "ut-3" not in names  # at 0,0: no real location
    assert r.skipped == 1
    bikes = r.observations[r.observations.metric == "bikes_available"].set_index("external_id")
    assert bikes.loc["ut-1", "value"] == 17
    assert bikes.loc["ut-1", "time"] == pd.Timestamp("2024-01-15T07:59:30Z")
    assert "ut-3" not in bikes.index  # not installed


def test_fetch_v2_picks_the_requested_language(fake_session, fixture_path):
    s = fake_session(
        [
            (r"/gbfs\.json$", {"file": fixture_path("gbfs_v2/glasgow-discovery.json")}),
            (r"/nl/station_information\.json$", {"file": fixture_path("gbfs_v2/glasgow-stations.json")}),
            (r"/nl/station_status\.json$", {"file": fixture_path("gbfs_v2/glasgow-status.json")}),
        ]
    )
    r = gbfs.parse(gbfs.fetch(s, {"url": "https://example.org/gbfs.json", "language": "nl"}), {})
    assert len(r.features) == 2 and len(r.observations) == 4
    assert any("/nl/" in req.url for req in s.transport.requests)


def test_discovery_without_station_feeds_is_an_error(fake_session):
    s = fake_session(
        [(r"gbfs\.json$", {"json": {"data": {"feeds": [{"name": "system_information", "url": "https://x/si.json"}]}}})]
    )
    with pytest.raises(SourceError, match="station_information"):
        gbfs.fetch(s, {"url": "https://example.org/gbfs.json"})


def test_status_without_a_bikes_count_is_a_schema_change(fixture_path):
    import json

    info = json.loads(fixture_path("gbfs_v2/glasgow-stations.json").read_text())
    status = {"data": {"stations": [{"station_id": "gl-10", "bikes": 3, "last_reported": 1705305540}]}}
    with pytest.raises(SourceError, match="num_bikes_available"):
        gbfs.parse({"station_information": info, "station_status": status}, {})


def test_a_station_listed_twice_is_one_feature(engine, fixture_path):
    import json

    from data_sources.refresh import store_result
    from data_sources.store.db import upsert_source

    info = json.loads(fixture_path("gbfs_v2/glasgow-stations.json").read_text())
    info["data"]["stations"].append(dict(info["data"]["stations"][0], name="George Square (again)"))
    r = gbfs.parse({"station_information": info}, {})
    assert list(r.features.external_id) == ["gl-10", "gl-11"]
    assert store_result(engine, upsert_source(engine, "b", "gbfs"), r) == (2, 0, 0)  # added, observations, outside
