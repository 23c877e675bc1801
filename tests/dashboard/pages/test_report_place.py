"""/report over HTTP: a tapped point stays exactly where it was tapped (the server never snaps it to a station),
the stations near a pin are offered as explicit choices, and the evidence stored with a comment follows its
category, whatever feature was chosen."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, insert, select

from dashboard.pages.report import feature_choices, near_features
from data_sources.comments.records import public_comment
from data_sources.store.db import utcnow
from data_sources.store.models import Feature, Observation
from tests.dashboard.pages.test_home import _find, _text
from tests.support import dash_update

M = 1 / 111_195  # degrees of latitude in one metre (on the mean Earth radius)


def _choose(client: Any, click: dict | None, near: list | None = None, trig: str = "report-click.data") -> dict:
    body = {
        "output": "..report-pin.data...report-feature.value...report-district.value..",
        "outputs": [
            {"id": "report-pin", "property": "data"},
            {"id": "report-feature", "property": "value"},
            {"id": "report-district", "property": "value"},
        ],
        "inputs": [
            {"id": "report-click", "property": "data", "value": click},
            near or [],
            {"id": "report-feature", "property": "value", "value": None},
            {"id": "report-district", "property": "value", "value": None},
        ],
        "state": [],
        "changedPropIds": [trig],
    }
    r = client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json")
    assert r.status_code in (200, 204), r.data[:300]
    return r.get_json()["response"] if r.status_code == 200 else {}


def _station(engine: Engine, layer: str = "traffic_counter") -> Any:
    with engine.connect() as c:
        return c.execute(
            select(Feature.id, Feature.name, Feature.lat, Feature.lon).where(Feature.layer == layer)
        ).first()


def test_near_features_by_hand() -> None:
    f = pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "name": ["a", "b", "c", "d"],
            "layer": ["air_station", "bike_station", "traffic_counter", "cycle_counter"],
            "lat": [48.5 + 100 * M, 48.5 + 250 * M, 48.5 + 400 * M, 48.5 - 20 * M],
            "lon": [9.0, 9.0, 9.0, 9.0],
        }
    )
    near = near_features(f, 48.5, 9.0, radius_m=300)
    assert [n["id"] for n in near] == [4, 1, 2]
    assert [round(n["distance_m"]) for n in near] == [20, 100, 250]
    assert near_features(f, 48.5, 9.0, radius_m=300, most=1)[0]["name"] == "d"
    assert near_features(f.iloc[0:0], 48.5, 9.0) == []


def test_a_tap_on_a_station_keeps_the_tapped_point(client: Any, demo_engine: Engine) -> None:
    st = _station(demo_engine)
    tap = {"lat": st.lat + 3e-5, "lon": st.lon - 2e-5, "source": "map"}
    out = _choose(client, tap)
    assert out["report-pin"]["data"] == {"lat": tap["lat"], "lon": tap["lon"], "source": "map"}
    assert out["report-feature"]["value"] is None  # not a comment on the station


def test_the_stations_near_the_pin_are_offered_and_a_press_chooses_one(client: Any, demo_engine: Engine) -> None:
    st = _station(demo_engine)
    r = dash_update(
        client,
        "..report-place.children...report-duplicates.children..",
        [
            {"id": "report-pin", "property": "data", "value": {"lat": st.lat + 50 * M, "lon": st.lon, "source": "map"}},
            {"id": "report-category", "property": "value", "value": "traffic"},
        ],
        state=[{"id": "report-lang", "property": "data", "value": "en"}],
    )
    place = r.get_json()["response"]["report-place"]["children"]
    buttons = _find(place, lambda c: isinstance(c["props"].get("id"), dict))
    assert {"type": "report-near", "id": st.id} in [b["props"]["id"] for b in buttons]
    assert f"Comment on {st.name} (50 m away)" in _text(place)
    pressed = {"id": {"type": "report-near", "id": st.id}, "property": "n_clicks", "value": 1}
    key = json.dumps({"id": st.id, "type": "report-near"}, separators=(",", ":")) + ".n_clicks"
    out = _choose(client, None, [pressed], key)
    assert out["report-pin"]["data"]["feature_id"] == st.id and out["report-feature"]["value"] == st.id
    assert (out["report-pin"]["data"]["lat"], out["report-pin"]["data"]["lon"]) == pytest.approx((st.lat, st.lon))
    # The list drawn anew (n_clicks all None) chooses nothing.
    assert _choose(client, None, [{**pressed, "value": None}], key) == {}


def test_a_cycling_comment_on_a_traffic_counter_stores_cyclists_not_vehicles(client: Any, demo_engine: Engine) -> None:
    with demo_engine.connect() as c:
        counters = c.execute(
            select(Feature.id, Feature.lat, Feature.lon).where(Feature.layer == "traffic_counter")
        ).all()
        bikes = c.execute(select(Feature.id, Feature.lat, Feature.lon).where(Feature.layer == "cycle_counter")).all()
    st = min(counters, key=lambda t: min((t.lat - b.lat) ** 2 + (t.lon - b.lon) ** 2 for b in bikes))
    bike = min(bikes, key=lambda b: (st.lat - b.lat) ** 2 + (st.lon - b.lon) ** 2)
    # Readings of this hour for both, so that the comment, sent now, has evidence of each kind to choose from.
    hour = utcnow().replace(minute=0, second=0, microsecond=0)
    with demo_engine.begin() as c:
        c.execute(
            insert(Observation),
            [
                {"feature_id": st.id, "time": hour, "metric": "vehicles", "value": 640.0, "unit": "vehicles/h"},
                {"feature_id": bike.id, "time": hour, "metric": "cyclists", "value": 85.0, "unit": "cyclists/h"},
            ],
        )
    body = {
        "pin": {"lat": st.lat, "lon": st.lon, "feature_id": st.id},
        "category": "cycling",
        "text": "Cars park in the cycle lane beside this counter.",
        "client_key": "evidence-by-category-1",
        "lang": "en",
    }
    r = client.post("/report/send", json=body)
    assert r.status_code == 200, r.data[:300]
    ev = public_comment(demo_engine, r.get_json()["id"])["evidence"]
    assert ev is not None and (ev["metric"], ev["value"], ev["feature_id"]) == ("cyclists", 85.0, bike.id)


def test_feature_choices_by_hand() -> None:
    f = pd.DataFrame({"id": [1, 2, 3, 4], "name": ["Bridge St", "Abbey Rd", "Bridge Park", "Canal"]})
    assert feature_choices(f, None, None) == []  # nothing drawn up front
    assert feature_choices(f, None, 4) == [{"label": "Canal", "value": 4}]  # the chosen one keeps its name
    assert [o["value"] for o in feature_choices(f, " bridge ", None)] == [3, 1]  # by name, any case
    assert [o["value"] for o in feature_choices(f, "bridge", 4)] == [4, 3, 1]
    assert [o["value"] for o in feature_choices(f, "r", None, most=2)] == [2, 3]


def test_the_search_box_offers_what_is_typed(client: Any, demo_engine: Engine) -> None:
    st = _station(demo_engine)
    r = dash_update(
        client,
        "report-feature.options",
        [{"id": "report-feature", "property": "search_value", "value": st.name[:6].upper()}],
        state=[{"id": "report-feature", "property": "value", "value": None}],
    )
    options = r.get_json()["response"]["report-feature"]["options"]
    assert {"label": st.name, "value": st.id} in options and len(options) <= 20
    assert all(st.name[:6].casefold() in o["label"].casefold() for o in options)
