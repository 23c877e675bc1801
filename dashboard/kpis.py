"""Key figures for the home page, as pure functions of DataFrames (tested against hand-computed values)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import Engine

from dashboard import queries

WHO_PM25_24H = 15.0  # µg/m³, WHO 2021 air quality guideline, 24-hour mean (99th percentile)
# How old the newest reading may be and still count as "now".
NOW_WINDOW = timedelta(hours=3)


@dataclass
class Kpi:
    key: str
    value: float | None
    unit: str = ""
    band: str = "none"  # good | fair | poor | none: drives the card's colour and icon
    detail: dict | None = None
    updated: datetime | None = None


def air_now(last24h: pd.DataFrame, now: datetime) -> Kpi:
    """Median of each station's latest PM2.5 (within NOW_WINDOW), and the share of stations whose 24-hour mean
    is above the WHO guideline. ``last24h``: feature_id, time, value for the 24 h up to ``now``."""
    if last24h.empty:
        return Kpi("air", None, "µg/m³")
    recent = last24h[last24h["time"] > now - NOW_WINDOW]
    if recent.empty:
        return Kpi("air", None, "µg/m³", detail={"stale": True}, updated=last24h["time"].max())
    latest = recent.sort_values("time").groupby("feature_id").tail(1)
    median = float(latest["value"].median())
    means = last24h.groupby("feature_id")["value"].mean()
    share = float((means > WHO_PM25_24H).mean())
    band = "good" if median <= WHO_PM25_24H else ("fair" if median <= 2 * WHO_PM25_24H else "poor")
    return Kpi("air", median, "µg/m³", band,
               {"stations": int(latest["feature_id"].nunique()), "share_above_who": share, "guideline": WHO_PM25_24H},
               latest["time"].max())


def traffic_now(history: pd.DataFrame, at: datetime) -> Kpi:
    """Vehicles counted in the hour ``at`` against the usual for that hour and weekday: per counter, the median
    of the previous weeks at the same hour, summed over the counters that reported now."""
    now = history[history["time"] == at]
    past = history[history["time"] < at]
    if now.empty or past.empty:
        return Kpi("traffic", None, "vehicles/h")
    usual_per = past.groupby("feature_id")["value"].median()
    common = now[now["feature_id"].isin(usual_per.index)]
    total = float(common["value"].sum())
    usual = float(usual_per.loc[common["feature_id"]].sum())
    ratio = total / usual if usual else None
    band = "none" if ratio is None else ("good" if ratio < 0.9 else "fair" if ratio <= 1.1 else "poor")
    return Kpi("traffic", total, "vehicles/h", band,
               {"usual": usual, "ratio": ratio, "counters": int(common["feature_id"].nunique())}, at)


def network_km(geometries: list) -> float:
    """Length in km of line geometries (EPSG:4326), measured in the local UTM zone."""
    if not geometries:
        return 0.0
    g = gpd.GeoSeries(geometries, crs=4326)
    return float(g.to_crs(g.estimate_utm_crs()).length.sum() / 1000)


def cycle_km(engine: Engine) -> Kpi:
    f = queries.features(engine, "cycle_route")
    km = network_km(list(shapely.from_geojson(f["geometry"].tolist()))) if len(f) else None
    by_type: dict[str, float] = {}
    if len(f):
        types = f["properties"].map(lambda p: (p or {}).get("cycle_type", "other"))
        for t, grp in f.groupby(types):
            by_type[str(t)] = network_km(list(shapely.from_geojson(grp["geometry"].tolist())))
    return Kpi("cycling", km, "km", "none", {"by_type": by_type})


def home_kpis(engine: Engine) -> dict[str, Kpi]:
    out: dict[str, Kpi] = {}
    t = queries.latest_time(engine, "pm25")
    if t is not None:
        out["air"] = air_now(queries.observations(engine, "pm25", t - timedelta(hours=24), t), t)
    else:
        out["air"] = Kpi("air", None, "µg/m³")
    t = queries.latest_time(engine, "vehicles")
    out["traffic"] = traffic_now(queries.hour_of_week_history(engine, "vehicles", t), t) if t else Kpi("traffic", None)
    out["cycling"] = cycle_km(engine)
    out["comments"] = Kpi("comments", float(queries.open_comment_count(engine)), "")
    return out
