"""The shipped real-city configurations validate and use only keyless connectors."""

import pytest

from data_sources.ingest.connectors import get_connector
from data_sources.config import CITIES_DIR, load_city

NEEDS_A_KEY = {"openaq"}


@pytest.mark.parametrize("name", ["glasgow", "utrecht"])
def test_real_city_config_loads(name):
    city = load_city(CITIES_DIR / f"{name}.toml")
    assert city.city.slug == name and not city.city.demo
    kinds = {s.kind for s in city.sources}
    assert {"sensor_community", "overpass"} <= kinds
    assert not kinds & NEEDS_A_KEY
    for s in city.sources:
        get_connector(s.kind)  # every kind resolves


def test_utrecht_sensorthings_filter_is_passed_through():
    s = load_city(CITIES_DIR / "utrecht.toml").source("rivm-samenmeten")
    assert s.params["filter"].startswith("st_within(") and s.params["base_url"].endswith("/v1.0")
