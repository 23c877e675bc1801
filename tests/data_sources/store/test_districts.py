import json
import shutil

import pytest
from sqlalchemy import select

from data_sources.ingest.types import SourceError
from data_sources.config import CityConfig
from data_sources.store.districts import load_districts, sync_districts
from data_sources.store.models import District, Feature
from data_sources.refresh import refresh


def _city(tmp_path, fixture_path, **districts):
    path = tmp_path / "wards.geojson"
    if not path.exists():
        shutil.copy(fixture_path("vector/districts_bng.geojson"), path)
    cfg = {
        "file": "wards.geojson",
        "name_field": "ward",
        "population_field": "pop",
        "code_field": "ward_code",
        **districts,
    }
    return CityConfig.model_validate(
        {"city": {"name": "T", "slug": "t", "centre": [55.86, -4.25]}, "districts": cfg, "path": tmp_path / "t.toml"}
    )


def _districts(engine):
    with engine.connect() as conn:
        return {r.name: r for r in conn.execute(select(District)).all()}


def test_loads_once_and_again_only_when_the_file_changes(engine, tmp_path, fixture_path):
    city = _city(tmp_path, fixture_path)
    assert sync_districts(engine, city) == 2
    d = _districts(engine)
    assert d["North"].population == 12000 and d["North"].code == "W01"
    assert d["North"].area_km2 == pytest.approx(4.0, rel=0.01)  # 2 km x 2 km of British National Grid
    assert 55.8 < d["North"].lat < 55.9
    assert sync_districts(engine, city) == 0

    doc = json.loads((tmp_path / "wards.geojson").read_text())
    doc["features"][0]["properties"]["pop"] = 12500
    (tmp_path / "wards.geojson").write_text(json.dumps(doc))
    assert sync_districts(engine, city) == 2
    assert _districts(engine)["North"].population == 12500


def test_refresh_loads_districts_and_places_features(engine, tmp_path, fixture_path, fake_session):
    city = _city(tmp_path, fixture_path).model_copy(update={"sources": []})
    from data_sources.refresh import import_file

    # A point inside "North" (BNG 259000 E, 667000 N is about 55.873 N, -4.239 W).
    csv = tmp_path / "p.csv"
    csv.write_text("id,lat,lon\na,55.8735,-4.2395\nb,10,10\n")
    import_file(engine, "csv", str(csv), params={"id_field": "id", "lat_field": "lat", "lon_field": "lon"})
    report = refresh(engine, city, fake_session([]))
    assert report.ok and report.districts_loaded == 2
    with engine.connect() as conn:
        placed = dict(
            conn.execute(
                select(Feature.external_id, District.name).join(
                    District, Feature.district_id == District.id, isouter=True
                )
            ).all()
        )
    assert placed == {"a": "North", "b": None}


def test_a_wrong_field_name_is_reported_and_sources_still_run(engine, tmp_path, fixture_path, fake_session):
    city = _city(tmp_path, fixture_path, name_field="wardname")
    with pytest.raises(SourceError, match="districts.name_field = 'wardname' is not a field"):
        sync_districts(engine, city)
    report = refresh(engine, city, fake_session([]))
    assert not report.ok and report.districts_error.startswith("districts: ")


@pytest.mark.parametrize(
    ("file", "name_field", "count", "one"),
    [
        ("boundaries/mexico_city_alcaldias.geojson", "nomgeo", 16, "Iztacalco"),
        ("boundaries/curitiba_bairros.geojson", "nome", 75, "ÁGUA VERDE"),
    ],
)
def test_real_boundary_files(realdata, file, name_field, count, one):
    gdf = load_districts(realdata(file), name_field)
    assert len(gdf) == count and one in set(gdf["name"])
    assert gdf.crs.to_epsg() == 4326 and gdf.is_valid.all()


def test_a_comment_district_is_a_function_of_its_public_cell():
    """cell_districts: the centre's district, else the first vertex's; never a point inside the cell."""
    import h3
    import numpy as np

    from data_sources.store.db import cell_districts

    cell = h3.latlng_to_cell(48.5, 9.0, 9)
    clat, _clon = h3.cell_to_latlng(cell)

    def north_is_two(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:  # a boundary along the centre's parallel
        return np.where(np.asarray(lat) > clat + 1e-9, 2, 1)

    def only_north(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:  # the centre is in no district
        return np.where(np.asarray(lat) > clat + 1e-9, 2, 0)

    assert cell_districts(north_is_two, [h3.str_to_int(cell)]).tolist() == [1]
    assert cell_districts(only_north, [h3.str_to_int(cell)]).tolist() == [2]
    assert cell_districts(lambda lat, lon: np.zeros(len(lat), dtype=np.int64), [h3.str_to_int(cell)]).tolist() == [0]
    assert cell_districts(north_is_two, []).tolist() == []
