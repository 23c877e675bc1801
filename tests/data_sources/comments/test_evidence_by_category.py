"""Evidence follows the comment's category, whatever the pin or the feature chosen: a cycling comment on a traffic
counter records cyclists per hour from the nearest cycle counter, never that counter's vehicles per hour."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from data_sources.comments.evidence import CATEGORY_METRICS, nearest_reading
from data_sources.comments.records import CommentInput, public_comment, submit_comment
from data_sources.config import CityConfig
from data_sources.store.models import Feature
from tests.support import DEMO_END


def _first(engine: Engine, layer: str) -> tuple[int, float, float]:
    with engine.connect() as c:
        row = c.execute(select(Feature.id, Feature.lat, Feature.lon).where(Feature.layer == layer).limit(1)).one()
    return int(row.id), float(row.lat), float(row.lon)


@pytest.mark.parametrize(
    ("category", "feature_layer"),
    [("cycling", "traffic_counter"), ("air", "cycle_counter"), ("traffic", "air_station"), ("cycling", "bike_station")],
)
def test_a_feature_of_another_kind_does_not_choose_the_evidence(
    demo_engine: Engine, category: str, feature_layer: str
) -> None:
    fid, lat, lon = _first(demo_engine, feature_layer)
    on_feature = nearest_reading(demo_engine, lat, lon, category, DEMO_END, fid)
    free_pin = nearest_reading(demo_engine, lat, lon, category, DEMO_END)
    assert on_feature == free_pin  # choosing that feature changed nothing
    if on_feature is not None:
        assert (on_feature["layer"], on_feature["metric"]) == CATEGORY_METRICS[category]
        assert on_feature["feature_id"] != fid


def test_a_feature_of_the_right_kind_gives_its_own_reading(demo_engine: Engine) -> None:
    fid, lat, lon = _first(demo_engine, "cycle_counter")
    ev = nearest_reading(demo_engine, lat + 0.004, lon, "cycling", DEMO_END, fid)
    assert ev is not None and ev["feature_id"] == fid and ev["metric"] == "cyclists" and ev["unit"] == "cyclists/h"


def test_a_category_without_a_measure_has_no_evidence_even_on_a_station(demo_engine: Engine) -> None:
    fid, lat, lon = _first(demo_engine, "traffic_counter")
    assert nearest_reading(demo_engine, lat, lon, "street", DEMO_END, fid) is None


def test_a_stored_cycling_comment_on_a_traffic_counter_records_cyclists(
    demo_engine: Engine, demo_city: CityConfig
) -> None:
    with demo_engine.connect() as c:
        counters = c.execute(
            select(Feature.id, Feature.lat, Feature.lon).where(Feature.layer == "traffic_counter")
        ).all()
        bikes = c.execute(select(Feature.lat, Feature.lon).where(Feature.layer == "cycle_counter")).all()
    # The traffic counter nearest to a cycle counter, so that a cyclists' reading is in reach.
    fid, lat, lon = min(counters, key=lambda t: min((t.lat - b.lat) ** 2 + (t.lon - b.lon) ** 2 for b in bikes))
    r = submit_comment(
        demo_engine,
        demo_city,
        CommentInput(
            lat=lat,
            lon=lon,
            category="cycling",
            text="No room for bikes at this junction in the morning.",
            feature_id=fid,
            created_at=DEMO_END,
        ),
    )
    ev = public_comment(demo_engine, r.id)["evidence"]
    assert ev is not None and ev["metric"] == "cyclists" and ev["unit"] == "cyclists/h"
