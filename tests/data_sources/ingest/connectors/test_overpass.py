import json

import pytest

from data_sources.ingest.types import SourceError
from data_sources.ingest.connectors import get_connector

overpass = get_connector("overpass")


def test_fixture_ways_and_relations_become_lines_with_their_tags(fixture_path):
    r = overpass.parse(json.loads(fixture_path("overpass/cycleways.json").read_text()), {})
    feats = r.features.set_index("external_id")
    assert sorted(feats.index) == ["relation/9001", "way/4001", "way/4002"]
    assert feats.loc["way/4001", "name"] == "Vredenburgfietspad"
    assert feats.loc["way/4001"].geometry.geom_type == "LineString"
    assert list(feats.loc["way/4001"].geometry.coords)[0] == (5.11, 52.09)
    assert feats.loc["way/4001"].properties["facility"] == "track"
    assert feats.loc["way/4002"].properties["facility"] == "lane"
    assert feats.loc["way/4002"].properties["cycleway:right"] == "lane"
    assert feats.loc["relation/9001"].geometry.geom_type == "MultiLineString"
    assert len(feats.loc["relation/9001"].geometry.geoms) == 2
    assert r.skipped == 1  # the one-node way
    assert (feats.layer == "cycle_route").all()
    assert "OpenStreetMap" in r.meta.attribution


def test_a_timed_out_query_is_an_error_not_an_empty_network(fixture_path):
    with pytest.raises(SourceError, match="timed out"):
        overpass.parse(json.loads(fixture_path("overpass/timeout_remark.json").read_text()), {})


def test_fetch_posts_the_bbox_query(fake_session, fixture_path):
    s = fake_session([(r"/api/interpreter$", {"file": fixture_path("overpass/cycleways.json")})])
    overpass.fetch(s, {"bbox": [52.05, 5.05, 52.12, 5.17]})
    req = s.transport.requests[0]
    assert req.method == "POST"
    assert "52.05%2C5.05%2C52.12%2C5.17" in req.body and "out+geom" in req.body


def test_fetch_needs_a_bbox_or_query():
    with pytest.raises(SourceError, match="bbox"):
        overpass.build_query({})
