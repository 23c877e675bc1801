"""Evidence for a comment: the nearest relevant reading for its place and hour, recorded when it is placed.

"PM2.5 at the nearest station, 400 m away: 23 µg/m³ at 08:00" turns a complaint into a comment on the city's own
open data. The lookup reads the store; choosing the reading and the distance shown are pure functions.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import h3
from cachetools import TTLCache, cached
from sqlalchemy import Engine, func, select

from data_sources.store.db import store_key
from data_sources.store.models import Feature, Observation

# Which reading speaks to which category: (layer, metric). Categories without a measured counterpart get none.
CATEGORY_METRICS: dict[str, tuple[str, str]] = {
    "air": ("air_station", "pm25"),
    "traffic": ("traffic_counter", "vehicles"),
    "noise": ("traffic_counter", "vehicles"),
    "cycling": ("cycle_counter", "cyclists"),
    "walking": ("traffic_counter", "vehicles"),
}
MAX_DISTANCE_M = 2000  # a station further away says little about this place
MAX_AGE = timedelta(hours=24)  # prefer the reading of that hour; fall back to the latest of the last day
DISTANCE_STEP_M = 50  # distances shown rounded, so the evidence does not reveal the exact spot


def shown_distance(metres: float) -> int:
    return max(DISTANCE_STEP_M, int(round(metres / DISTANCE_STEP_M)) * DISTANCE_STEP_M)


def choose_reading(
    candidates: list[dict], lat: float, lon: float, at: datetime, max_distance_m: float = MAX_DISTANCE_M
) -> dict | None:
    """The reading to attach, from ``candidates`` (feature_id, name, lat, lon, time, value, unit, metric).

    Nearest feature with a reading wins; for that feature, the reading of the same hour as ``at`` if there is
    one, else its latest before ``at``. Pure: tested by hand-computed examples.
    """
    hour = at.replace(minute=0, second=0, microsecond=0)
    best: dict | None = None
    best_key: tuple | None = None
    for c in candidates:
        if c["time"] > at + timedelta(hours=1) or c["time"] < at - MAX_AGE:
            continue
        d = h3.great_circle_distance((lat, lon), (c["lat"], c["lon"]), unit="m")
        if d > max_distance_m:
            continue
        same_hour = c["time"].replace(minute=0, second=0, microsecond=0) == hour
        key = (round(d, 1), not same_hour, -c["time"].timestamp())
        if best_key is None or key < best_key:
            best, best_key = {**c, "distance_m": d}, key
    if best is None:
        return None
    return {
        "metric": best["metric"],
        "value": float(best["value"]),
        "unit": best["unit"],
        "feature_id": int(best["feature_id"]),
        "feature_name": best["name"],
        "layer": best.get("layer"),
        "distance_m": shown_distance(best["distance_m"]),
        "time": best["time"].isoformat(timespec="minutes"),
    }


# A stream of comments asks for the same candidates again and again: each process keeps them per store, layer and
# minute for CANDIDATES_TTL seconds (a reading that arrives meanwhile is used from the next minute on).
CANDIDATES_TTL = 60.0


def nearest_reading(
    engine: Engine, lat: float, lon: float, category: str, at: datetime, feature_id: int | None = None
) -> dict | None:
    """The evidence dict for a comment placed at (lat, lon) at ``at``, or None when nothing relevant is measured."""
    if feature_id is None and category not in CATEGORY_METRICS:
        return None
    cands = _candidate_readings(
        engine, category if feature_id is None else None, at.replace(second=0, microsecond=0), feature_id
    )
    return choose_reading(
        cands, lat, lon, at, max_distance_m=float("inf") if feature_id is not None else MAX_DISTANCE_M
    )


@cached(
    TTLCache(maxsize=256, ttl=CANDIDATES_TTL),
    lock=threading.Lock(),
    key=lambda engine, *rest: (store_key(engine), *rest),
)
def _candidate_readings(engine: Engine, category: str | None, at: datetime, feature_id: int | None) -> list[dict]:
    """For each feature of the relevant layer (or the one feature), its latest reading of the day before ``at`` and
    its reading of the hour of ``at``."""
    layer_metric = CATEGORY_METRICS.get(category)
    with engine.connect() as conn:
        if feature_id is not None:
            # A comment on a feature: that feature's own reading, whatever the category (when it measures one).
            layer = conn.scalar(select(Feature.layer).where(Feature.id == feature_id))
            metric = next((m for lyr, m in CATEGORY_METRICS.values() if lyr == layer), None)
            if metric is None:
                return []
            feature_cond = Feature.id == feature_id
            layer_metric = (layer, metric)
        else:
            feature_cond = Feature.layer == layer_metric[0]
        layer, metric = layer_metric
        latest = (
            select(Observation.feature_id, func.max(Observation.time).label("t"))
            .where(
                Observation.metric == metric,
                Observation.time <= at + timedelta(hours=1),
                Observation.time >= at - MAX_AGE,
            )
            .group_by(Observation.feature_id)
            .subquery()
        )
        same_hour = at.replace(minute=0, second=0, microsecond=0)
        q = (
            select(
                Feature.id,
                Feature.name,
                Feature.lat,
                Feature.lon,
                Feature.layer,
                Observation.time,
                Observation.value,
                Observation.unit,
                Observation.metric,
            )
            .join(Observation, Observation.feature_id == Feature.id)
            .join(latest, latest.c.feature_id == Feature.id)
            .where(
                feature_cond,
                Observation.metric == metric,
                (Observation.time == latest.c.t) | (Observation.time == same_hour),
            )
        )
        rows = conn.execute(q).all()
    return [
        {
            "feature_id": r.id,
            "name": r.name,
            "lat": r.lat,
            "lon": r.lon,
            "layer": r.layer,
            "time": r.time,
            "value": r.value,
            "unit": r.unit,
            "metric": r.metric,
        }
        for r in rows
    ]
