"""Canonical attributes mapped per source, never assumed (issue 21, item 3)."""

from __future__ import annotations

import json
import tomllib

import pytest
from sqlalchemy import select

from data_sources.ingest.attributes import cycle_type_of, osm_cycle_type
from data_sources.ingest.connectors import get_connector
from data_sources.config import CityConfig, ConfigError, load_city
from data_sources.store.models import RefreshRun
from data_sources.refresh import import_file, parse_checked
from tests.support import realdata


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"highway": "cycleway"}, "track"),
        ({"highway": "cycleway", "foot": "designated", "segregated": "no"}, "path"),
        ({"highway": "path", "bicycle": "designated", "segregated": "yes"}, "track"),
        ({"highway": "footway", "bicycle": "yes"}, "path"),
        ({"highway": "residential", "cycleway:right": "lane"}, "lane"),
        ({"highway": "secondary", "cycleway": "opposite_lane"}, "lane"),
        ({"highway": "secondary", "cycleway": "opposite_track"}, "track"),
        ({"highway": "tertiary", "cycleway:both": "shared_lane"}, "shared"),
        ({"highway": "residential", "bicycle_road": "yes"}, "cycle_street"),
        ({"highway": "residential", "cyclestreet": "yes"}, "cycle_street"),
        ({"highway": "residential", "cycleway": "no"}, None),
    ],
)
def test_osm_tags_map_to_canonical_cycle_types(tags, expected):
    assert osm_cycle_type(tags) == expected


def test_real_overpass_export_is_mapped_and_its_unmapped_values_are_counted():
    vf = get_connector("vector_file")
    path = realdata("cycling_routes", "charlotte_osm_overpass_cycle_network_excerpt.geojson")
    r = parse_checked(vf, vf.read_file(str(path), {}), {"layer": "cycle_route"})
    types = [p["cycle_type"] for p in r.features.properties]
    assert types.count("lane") > 100 and types.count("track") > 0 and types.count("path") > 0
    other = types.count("other")
    assert sum(r.unmapped["cycle_type"].values()) == other > 0  # every "other" is listed with its value
    assert r.unmapped["cycle_type"]["cycleway=no"] > 0


def test_overpass_routes_stored_before_the_mapping_are_read_from_their_tags():
    # the overpass kind wrote only "facility"; the dashboard's figures now read the canonical type
    assert cycle_type_of({"highway": "cycleway", "facility": "track"}) == "track"
    assert cycle_type_of({"cycle_type": "greenway"}) == "greenway"  # the demo's own canonical value
    assert cycle_type_of({"cycle_type": "Radweg"}) == "other"
    assert cycle_type_of(None) == "other"


CITY = """
[city]
name = "Wien"
slug = "wien"
centre = [48.2, 16.37]

[[sources]]
name = "radwege"
kind = "csv"
layer = "cycle_route"
attributes = { cycle_type = { field = "TYP", values = { "Radweg" = "track", "Mehrzweckstreifen" = "lane", "Radfahrstreifen" = "lane" } } }
[sources.params]
geometry_field = "wkt"
id_field = "id"
"""


def test_a_portal_table_maps_its_own_type_field_and_lists_what_it_does_not_name(engine, tmp_path):
    csv = tmp_path / "radwege.csv"
    csv.write_text(
        'id,TYP,wkt\n1,Radweg,"LINESTRING (16.37 48.2, 16.38 48.21)"\n2,Mehrzweckstreifen,"LINESTRING (16.37 48.2, 16.36 48.19)"\n'
        '3,Radroute,"LINESTRING (16.30 48.2, 16.31 48.2)"\n4,Radroute,"LINESTRING (16.31 48.2, 16.32 48.2)"\n'
        '5,,"LINESTRING (16.32 48.2, 16.33 48.2)"\n',
        encoding="utf-8",
    )
    city = CityConfig.model_validate(tomllib.loads(CITY))
    out = import_file(engine, "csv", str(csv), source=city.source("radwege"))
    assert out["unmapped"] == {"cycle_type": {"Radroute": 2, "(empty)": 1}}
    with engine.connect() as conn:
        run = conn.execute(select(RefreshRun).order_by(RefreshRun.id.desc())).first()
    assert run.unmapped == {"cycle_type": {"Radroute": 2, "(empty)": 1}}

    from data_sources.store import queries
    from dashboard.ui.kpis import km_by_type

    km = km_by_type(queries.features(engine, "cycle_route"))
    assert set(km) == {"track", "lane", "other"} and km["track"] > 1


def test_a_mapping_to_a_value_that_is_not_canonical_stops_start_up_in_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(CITY.replace('"Radweg" = "track"', '"Radweg" = "separated"'), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sources.0.attributes: .*'separated' is not a canonical value; use one of"):
        load_city(bad)


def test_about_lists_the_unmapped_values_with_their_counts(engine, tmp_path):
    from dashboard.app import create_app
    from data_sources.config import Settings
    from tests.support import render_page

    csv = tmp_path / "radwege.csv"
    csv.write_text(
        'id,TYP,wkt\n1,Radweg,"LINESTRING (16.37 48.2, 16.38 48.21)"\n3,Radroute,"LINESTRING (16.30 48.2, 16.31 48.2)"\n'
        '4,Radroute,"LINESTRING (16.31 48.2, 16.32 48.2)"\n',
        encoding="utf-8",
    )
    city = CityConfig.model_validate(tomllib.loads(CITY))
    import_file(engine, "csv", str(csv), source=city.source("radwege"))
    app = create_app(city=city, settings=Settings.from_env({"CITYDASH_DATA_DIR": str(tmp_path)}), engine=engine)
    text = json.dumps(render_page(app.server.test_client(), "/about"), ensure_ascii=False)
    assert 'Values counted as \\"other\\"' in text
    assert '"Radroute"' in text and '"2"' in text and '"cycle_type"' in text
