import geopandas as gpd
import pytest
import shapely

from data_sources.ingest.types import SourceError
from data_sources.ingest.connectors import get_connector

vf = get_connector("vector_file")


def test_real_osm_derived_geojson(realdata):
    path = realdata("cycling_routes/charlotte_osm_overpass_cycle_network_excerpt.geojson")
    r = vf.parse(vf.read_file(str(path), {}), {"layer": "cycle_route"})
    # 5 route relations + 250 ways
    assert len(r.features) == 255
    first = r.features.iloc[0]
    assert first["name"] == "McAlpine Creek Greenway" and first.external_id == "10384554"
    assert first.properties["tags"]["cycle_network"] == "US:NC:Mecklenburg"
    assert first.geometry.coords[0] == (-80.7812216, 35.1275414)


def test_fixture_geojson_keeps_ids_and_skips_empty_geometry(fixture_path):
    r = vf.parse(str(fixture_path("vector/routes.geojson")), {})
    assert list(r.features.external_id) == ["r1", "r2"]
    assert r.skipped == 1
    assert r.features.iloc[0].properties == {"id": "r1", "name": "Kelvin Walkway", "surface": "asphalt"}


def test_geopackage_in_british_grid_is_reprojected(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"ref": ["a"], "title": ["Canal path"]},
        geometry=[shapely.LineString([(258000, 666000), (259000, 666500)])],
        crs="EPSG:27700",
    )
    gdf.to_file(tmp_path / "routes.gpkg", layer="routes", driver="GPKG")
    r = vf.parse(str(tmp_path / "routes.gpkg"), {"file_layer": "routes", "id_field": "ref", "name_field": "title"})
    line = r.features.geometry.iloc[0]
    assert r.features.crs.to_epsg() == 4326
    assert 55.8 < line.coords[0][1] < 55.9 and -4.3 < line.coords[0][0] < -4.2
    assert r.features.iloc[0]["name"] == "Canal path"


def test_fetch_by_url_reads_the_bytes(fake_session, fixture_path):
    s = fake_session([(r"routes\.geojson$", {"file": fixture_path("vector/routes.geojson")})])
    r = vf.parse(vf.fetch(s, {"url": "https://example.org/routes.geojson"}), {})
    assert len(r.features) == 2


def test_unreadable_file_and_missing_id_field(tmp_path, fixture_path):
    bad = tmp_path / "x.geojson"
    bad.write_text("{not json")
    with pytest.raises(SourceError, match="not a readable vector file"):
        vf.parse(str(bad), {})
    with pytest.raises(SourceError, match="id_field"):
        vf.parse(str(fixture_path("vector/routes.geojson")), {"id_field": "route_id"})


def test_shapefile_on_disk_and_zipped_by_url(tmp_path, fake_session):
    import io
    import zipfile

    gdf = gpd.GeoDataFrame(
        {"ref": ["a", "b"], "name": ["Towpath", "Park path"]},
        geometry=[
            shapely.LineString([(-4.3, 55.87), (-4.29, 55.875)]),
            shapely.LineString([(-4.25, 55.85), (-4.25, 55.84)]),
        ],
        crs="EPSG:4326",
    )
    gdf.to_file(tmp_path / "routes.shp")
    r = vf.parse(str(tmp_path / "routes.shp"), {"id_field": "ref"})
    assert list(r.features.external_id) == ["a", "b"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for f in tmp_path.glob("routes.*"):
            z.write(f, f.name)
    s = fake_session([(r"routes\.zip$", {"body": buf.getvalue()})])
    r = vf.parse(vf.fetch(s, {"url": "https://example.org/routes.zip"}), {"id_field": "ref"})
    assert list(r.features["name"]) == ["Towpath", "Park path"]
