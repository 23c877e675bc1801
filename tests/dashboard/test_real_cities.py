"""Acceptance cities (issue 21): real files from ../shared/realdata, configured by the TOMLs in tests/cities/, read
as a citizen reads them. Expected figures are counted from the files here, independently of the connectors.

Each source names its file in ``params.url`` (relative to the TOML). The connectors' fetch does not read local
paths yet for every kind, so the files go through ``import_file`` (the connector's own file reader and parse);
for GBFS the station_information.json beside the discovery file (its station_status.json is read with it)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import shapely
from flask.testing import FlaskClient
from sqlalchemy import Engine

from dashboard.pages.home import map_layers
from data_sources.config import CityConfig, Settings, SourceConfig, load_city
from data_sources.store.districts import sync_districts
from data_sources.store.footprint import footprint, outside_counts
from data_sources.store.models import Feature
from data_sources.refresh import import_file
from data_sources.store.db import assign_districts, open_store
from tests.support import ROOT, render_page, realdata
from tests.dashboard.pages.test_home import _find, _text

CITIES = ROOT / "tests" / "cities"


def _city(name: str, *needs: str) -> CityConfig:
    for parts in needs:
        realdata(*parts.split("/"))  # skip cleanly where ../shared/realdata is absent
    return load_city(CITIES / f"{name}.toml")


def _payload(city: CityConfig, source: SourceConfig) -> Path:
    path = city.resolve(source.params["url"])
    return path.with_name("station_information.json") if source.kind == "gbfs" and path.name == "gbfs.json" else path


def _load(city: CityConfig, tmp: Path) -> tuple[Engine, dict[str, dict]]:
    """The city's store, filled from its files as `citydash import` would; and each source's import summary."""
    engine = open_store(f"sqlite:///{tmp / (city.city.slug + '.sqlite')}")
    sync_districts(engine, city)
    fp = footprint(engine, city)
    summaries = {
        s.name: import_file(engine, s.kind, str(_payload(city, s)), source=s, footprint=fp) for s in city.sources
    }
    assign_districts(engine, Feature)
    return engine, summaries


def _client(city: CityConfig, engine: Engine, tmp: Path) -> FlaskClient:
    from dashboard.app import create_app

    settings = Settings.from_env({"CITYDASH_DATA_DIR": str(tmp), "CITYDASH_SECRET_KEY": "test-secret"})
    return create_app(city=city, settings=settings, engine=engine).server.test_client()


def _card(page: dict, key: str) -> str:
    return _text(_find(page, lambda c: c["props"].get("id") == f"kpi-{key}" and c["type"] == "Section")[0])


def _inside_box(lat: float, lon: float, bounds: tuple[tuple[float, float], tuple[float, float]]) -> bool:
    (s, w), (n, e) = bounds
    return s <= lat <= n and w <= lon <= e


# --- Chicago: Divvy GBFS, Evanston outside the city limits ------------------------------------------------------


def test_chicago_counts_its_own_divvy_stations_and_dates_the_snapshot(tmp_path):
    city = _city("chicago", "gbfs/chicago_divvy_v2.3/station_information.json")
    folder = realdata("gbfs", "chicago_divvy_v2.3")
    info = json.loads((folder / "station_information.json").read_text())["data"]["stations"]
    status = {s["station_id"]: s for s in json.loads((folder / "station_status.json").read_text())["data"]["stations"]}
    inside = {s["station_id"] for s in info if _inside_box(s["lat"], s["lon"], city.city.bounds)}
    newest = max(s["last_reported"] for s in status.values())
    recent = [status[i] for i in inside if i in status and status[i]["last_reported"] > newest - 3 * 3600]
    assert (len(info), len(inside)) == (1811, 1797)  # 14 Evanston stations lie north of the city limits

    engine, summaries = _load(city, tmp_path)
    assert summaries["divvy"]["outside"] == 14 and summaries["divvy"]["features"] == 1811
    assert outside_counts(engine) == {"divvy": 14}
    assert len(map_layers(engine)["bike_station"]) == 1797  # the map counts the city's stations only

    client = _client(city, engine, tmp_path)
    home = render_page(client, "/")
    cycling = _card(home, "cycling")
    day = datetime.fromtimestamp(newest, timezone.utc).astimezone().strftime("%Y")  # the snapshot is from 2025
    assert day == "2025" and "Latest reading: 29 Jan 2025" in cycling
    assert f"Bike share: {sum(s['num_bikes_available'] for s in recent):,} bikes" in cycling
    assert f"{sum(s['num_docks_available'] for s in recent):,} free docks" in cycling
    text = _text(home)
    assert "Bike share now" not in text and "doing today?" not in text and "How is Chicago doing?" in text

    kpis = client.get("/api/v1/kpis").get_json()["kpis"]
    share = kpis["cycling"]["detail"]["bike_share"]
    assert share["as_of"] == datetime.fromtimestamp(newest, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert share["stale"] is True and share["stations"] == len(recent) and kpis["cycling"]["stale"] is True

    es = _text(render_page(client, "/", "?lang=es"))
    assert "Última lectura: 29 ene 2025" in es and "ahora" not in es.split("Bicicleta compartida")[0][-40:]

    about = _text(render_page(client, "/about"))
    assert "Outside the city" in about and "14 places from these sources lie outside the city's bounds" in about


# --- Mexico City: clip to the alcaldías --------------------------------------------------------------------------


def test_mexico_city_places_ecobici_in_its_alcaldias(tmp_path):
    city = _city(
        "mexico_city",
        "boundaries/mexico_city_alcaldias.geojson",
        "gbfs/mexico_city_ecobici_station_information_2023-08-09.json",
    )
    shapes = json.loads(realdata("boundaries", "mexico_city_alcaldias.geojson").read_text())["features"]
    stations = json.loads(realdata("gbfs", "mexico_city_ecobici_station_information_2023-08-09.json").read_text())[
        "data"
    ]["stations"]
    area = shapely.union_all([shapely.geometry.shape(f["geometry"]) for f in shapes])
    inside = [s for s in stations if area.intersects(shapely.Point(s["lon"], s["lat"]))]
    assert (len(shapes), len(stations), len(inside)) == (16, 491, 491)

    engine, summaries = _load(city, tmp_path)
    assert summaries["ecobici"]["features"] == 491 and summaries["ecobici"]["outside"] == 0
    layer = map_layers(engine)["bike_station"]
    assert len(layer) == 491 and layer["district_id"].notna().all()  # every station in an alcaldía

    client = _client(city, engine, tmp_path)
    cycling = _text(render_page(client, "/cycling"))  # Spanish by default; no station status, so no readings
    assert "No hay lecturas" in cycling or "Sin lecturas" in cycling or "ninguna lectura" in cycling
    card = _card(render_page(client, "/"), "cycling")
    assert "anclajes libres" not in card.split("¿Qué significa")[0]  # no bike-share figure, current or not
    assert "Fuera de la ciudad" in _text(render_page(client, "/about"))


# --- Aberdeen: an archive day, and newer stations in Germany that must not count --------------------------------


def test_aberdeen_air_is_its_own_sensor_of_2018_not_germany_in_2019(tmp_path):
    city = _city(
        "aberdeen",
        "sensor_community/archive_2018-07-08_sds011_sensor_15092_aberdeen.csv",
        "sensor_community/airrohr_v1_data_luftdatenpumpe_upstream_2019-04-25.json",
    )
    rows = realdata("sensor_community", "archive_2018-07-08_sds011_sensor_15092_aberdeen.csv").read_text().splitlines()
    last = rows[-1].split(";")
    assert last[5] == "2018-07-08T23:58:22" and last[9] == "1.97"  # 00:58 on 9 July in Aberdeen (BST)

    engine, summaries = _load(city, tmp_path)
    assert summaries["sc-archive"]["outside"] == 0 and summaries["sc-live"]["outside"] == 2  # Berlin, Stuttgart
    assert len(map_layers(engine)["air_station"]) == 1

    client = _client(city, engine, tmp_path)
    air = _card(render_page(client, "/"), "air")
    assert air.startswith("Air quality") and "Air quality now" not in air
    assert "Latest reading: 9 Jul 2018" in air and "2.0 µg/m³" in air  # not Berlin's 16.8 of 2019
    kpis = client.get("/api/v1/kpis").get_json()["kpis"]["air"]
    assert kpis["as_of"] == "2018-07-08T23:58:22Z" and kpis["stale"] is True and kpis["detail"]["stations"] == 1

    page = _text(render_page(client, "/air"))
    assert "Latest reading: 9 Jul 2018" in page and "averaged" in page  # opens on the data, not on an empty week
    about = _text(render_page(client, "/about"))
    assert "2 places from these sources lie outside the city's bounds" in about


def test_every_file_the_acceptance_cities_use_is_in_provenance():
    """The TOMLs point only at files that exist in ../shared/realdata and that PROVENANCE.md describes."""
    provenance = realdata("PROVENANCE.md").read_text(encoding="utf-8")
    used = []
    for toml in sorted(CITIES.glob("*.toml")):
        city = load_city(toml)
        used += [city.resolve(s.params["url"]) for s in city.sources]
        if city.districts is not None:
            used.append(city.resolve(city.districts.file))
    assert len(used) == 5
    for path in used:
        assert path.resolve().is_file(), path
        rel = path.resolve().relative_to(realdata().resolve()).as_posix()
        assert rel in provenance or f"{path.parent.name}/*.json" in provenance, rel
