"""The demo city is the same for the same seed, plausible, and never needs the internet."""

import hashlib

import pandas as pd
from sqlalchemy import func, select

from data_sources.demo import load_demo
from data_sources.store.models import Comment, CommentEvent, District, Feature, Observation
from tests.support import DEMO_END


def _fingerprint(engine) -> str:
    h = hashlib.sha256()
    with engine.connect() as c:
        for q in (
            select(Feature.layer, Feature.external_id, Feature.geometry).order_by(Feature.layer, Feature.external_id),
            select(Observation.metric, Observation.time, Observation.value).order_by(
                Observation.metric, Observation.time, Observation.value
            ),
            select(Comment.lat, Comment.lon, Comment.category, Comment.status, Comment.created_at).order_by(
                Comment.created_at, Comment.lat
            ),
        ):
            for row in c.execute(q):
                h.update(repr(tuple(row)).encode())
    return h.hexdigest()


def test_same_seed_same_city_other_seed_other_city(tmp_path, demo_city):
    from data_sources.store.db import open_store

    fps = []
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        eng = open_store(f"sqlite:///{tmp_path / name}.sqlite")
        load_demo(eng, demo_city, seed=seed, n_comments=300, days=3, end=DEMO_END)
        fps.append(_fingerprint(eng))
        eng.dispose()
    assert fps[0] == fps[1]
    assert fps[0] != fps[2]


def test_reload_replaces_rather_than_duplicates(engine, demo_city):
    load_demo(engine, demo_city, seed=5, n_comments=200, days=2, end=DEMO_END)
    counts = load_demo(engine, demo_city, seed=5, n_comments=200, days=2, end=DEMO_END)
    with engine.connect() as c:
        assert c.scalar(select(func.count()).select_from(Comment)) == 200
        assert c.scalar(select(func.count()).select_from(Observation)) == counts["observations"]


def test_demo_city_contents(demo_engine):
    with demo_engine.connect() as c:
        layers = dict(c.execute(select(Feature.layer, func.count()).group_by(Feature.layer)).all())
        assert layers["air_station"] == 40 and layers["traffic_counter"] == 60
        assert layers["bike_station"] == 30 and layers["cycle_route"] >= 10
        assert c.scalar(select(func.count()).select_from(District).where(District.population > 0)) == 12
        assert c.scalar(select(func.count()).select_from(Comment)) == 2000
        statuses = dict(c.execute(select(Comment.status, func.count()).group_by(Comment.status)).all())
        assert set(statuses) == {"new", "acknowledged", "in_progress", "resolved", "closed"}
        # Every comment that moved on from "new" has its history.
        moved = c.scalar(select(func.count()).select_from(Comment).where(Comment.status != "new"))
        with_hist = c.scalar(select(func.count(func.distinct(CommentEvent.comment_id))))
        assert moved == with_hist
        # Most comments fall inside a district (some are on the outskirts); public locations are coarsened, never the exact point.
        assert c.scalar(select(func.count()).select_from(Comment).where(Comment.district_id.is_not(None))) > 1500
        assert c.scalar(select(func.count()).select_from(Comment).where(Comment.lat == Comment.public_lat)) == 0
        pm = pd.DataFrame(
            c.execute(select(Observation.time, Observation.value).where(Observation.metric == "pm25")).all()
        )
        veh = pd.DataFrame(
            c.execute(select(Observation.time, Observation.value).where(Observation.metric == "vehicles")).all()
        )
    assert pm["time"].max() == DEMO_END and len(pm) == 40 * 30 * 24
    assert 3 < pm["value"].median() < 30
    by_hour = veh.groupby(pd.to_datetime(veh["time"]).dt.hour)["value"].mean()
    assert by_hour[8] > 2 * by_hour[3]  # the morning peak is real
