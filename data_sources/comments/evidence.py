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
    """The evidence dict for a comment placed at (lat, lon) at ``at``, or None when nothing relevant is measured.

    The comment's category chooses the kind of reading (a cycling comment gets cyclists per hour, never vehicles),
    from the nearest feature of that kind, wherever the pin is. A chosen feature (``feature_id``) gives its own
    reading only when it measures what the category is about; otherwise it changes nothing."""
    layer_metric = CATEGORY_METRICS.get(category)
    if layer_metric is None:
        return None
    at_minute = at.replace(second=0, microsecond=0)
    if feature_id is not None:
        own = _candidate_readings(engine, category, at_minute, feature_id)
        if own:
            return choose_reading(own, lat, lon, at, max_distance_m=float("inf"))
    return choose_reading(_candidate_readings(engine, category, at_minute, None), lat, lon, at)


@cached(
    TTLCache(maxsize=256, ttl=CANDIDATES_TTL),
    lock=threading.Lock(),
    key=lambda engine, *rest: (store_key(engine), *rest),
)
def _candidate_readings(engine: Engine, category: str, at: datetime, feature_id: int | None) -> list[dict]:
    """For each feature of the category's layer (or only the one feature, when it is of that layer), its latest
    reading of the day before ``at`` and its reading of the hour of ``at``."""
    layer, metric = CATEGORY_METRICS[category]
    feature_cond = Feature.layer == layer
    if feature_id is not None:
        feature_cond = feature_cond & (Feature.id == feature_id)
    with engine.connect() as conn:
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
