"""What the indicator pages (air, traffic, cycling) show, as pure functions: the page state parsed from and written to
the URL, the city or district time series, the district comparison, the usual range and the one-line summary.

The state lives in the URL (``?metric=pm25&district=3&from=2026-11-09&to=2026-11-16``) so a view can be shared;
anything missing or invalid falls back to a default instead of failing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pandas as pd

from dashboard.i18n import N_
from data_sources.ingest.standards import who_guideline


@dataclass(frozen=True)
class Metric:
    key: str
    label: str  # English message id
    unit: str
    layer: str
    agg: str  # how stations combine into one city line: "median" (air) or "mean" (per counter / per station)


@dataclass(frozen=True)
class Indicator:
    key: str
    title: str
    metrics: tuple[Metric, ...]
    intro: str


INDICATORS = {
    "air": Indicator(
        "air",
        N_("Air quality"),
        (
            Metric("pm25", N_("Fine particles (PM2.5)"), N_("µg/m³"), "air_station", "median"),
            Metric("pm10", N_("Particles (PM10)"), N_("µg/m³"), "air_station", "median"),
            Metric("no2", N_("Nitrogen dioxide (NO2)"), N_("µg/m³"), "air_station", "median"),
        ),
        N_(
            "How clean the air is at the city's monitoring stations, against the WHO guideline and the European Air Quality Index."
        ),
    ),
    "traffic": Indicator(
        "traffic",
        N_("Traffic"),
        (Metric("vehicles", N_("Motor vehicles"), N_("vehicles/h"), "traffic_counter", "mean"),),
        N_(
            "How many vehicles pass the city's counters, per counter and hour, against the usual for that hour and weekday."
        ),
    ),
    "cycling": Indicator(
        "cycling",
        N_("Cycling"),
        (
            Metric("cyclists", N_("Cycle counts"), N_("cyclists/h"), "cycle_counter", "mean"),
            Metric("bikes_available", N_("Bike-share bikes available"), N_("bikes"), "bike_station", "mean"),
        ),
        N_("How many people cycle past the city's counters, and how many shared bikes are free at the stations."),
    ),
}
DEFAULT_DAYS = 7
# Ten years: ranges past a year read monthly rollups (data_sources/store/rollups.py), a few rows per station.
MAX_DAYS = 3653


@dataclass(frozen=True)
class State:
    metric: str
    district: int | None
    start: date
    end: date  # inclusive

    def query(self, lang: str | None = None) -> str:
        q = {"metric": self.metric, "from": self.start.isoformat(), "to": self.end.isoformat()}
        if self.district is not None:
            q["district"] = str(self.district)
        if lang:
            q["lang"] = lang
        return "?" + urlencode(q)

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, datetime.min.time())

    @property
    def until(self) -> datetime:
        """The last second of ``end`` (queries include their upper bound)."""
        return datetime.combine(self.end, datetime.max.time()).replace(microsecond=0)


# Dates a page may show: a query or a callback may send any ISO date, but year 1 or 9999 is no period of data
# (and arithmetic on them overflows).
FIRST_DATE, LAST_DATE = date(1970, 1, 1), date(2999, 12, 31)


def _one(query: dict, key: str) -> str | None:
    v = query.get(key)
    if isinstance(v, list):
        v = v[0] if v else None
    return v if isinstance(v, str) and v else None


def _date(v: str | None) -> date | None:
    try:
        d = date.fromisoformat(v) if v else None
    except ValueError:
        return None
    return d if d is None or FIRST_DATE <= d <= LAST_DATE else None


def parse_state(indicator: Indicator, query: dict, latest: datetime | None, districts: set[int]) -> State:
    """The page state from a parsed query string (``parse_qs`` lists or plain values)."""
    metrics = [m.key for m in indicator.metrics]
    metric = _one(query, "metric")
    metric = metric if metric in metrics else metrics[0]
    d = _one(query, "district")
    district = int(d) if d and re.fullmatch(r"[0-9]{1,10}", d) and int(d) in districts else None
    last = (latest or datetime.utcnow()).date()
    end = _date(_one(query, "to")) or last
    start = _date(_one(query, "from")) or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        start, end = end, start
    start = max(start, end - timedelta(days=MAX_DAYS - 1))
    return State(metric, district, start, end)


def with_changes(state: State, **changes: Any) -> State:
    return replace(state, **changes)


def metric_of(indicator: Indicator, key: str) -> Metric:
    return next((m for m in indicator.metrics if m.key == key), indicator.metrics[0])


def guideline(metric: str) -> float | None:
    """The WHO 2021 24-hour guideline for a pollutant, drawn on its charts."""
    return who_guideline(metric, "24h")


def frequency(state: State) -> str:
    """Hourly points up to 10 days (a month of hourly points is unreadable on a phone), daily up to a year,
    monthly beyond."""
    days = (state.end - state.start).days
    return "h" if days < 10 else "D" if days < 366 else "MS"


# What the store reads for each frequency: the readings themselves, or each feature's daily or monthly means
# from the rollups (data_sources/store/rollups.py).
RESOLUTION_OF = {"h": "raw", "D": "day", "MS": "month"}
# What a citizen is told about the points of a chart that are not single readings.
RESOLUTION_NOTES = {
    "D": N_(
        "Daily means: each point is the mean of a day's readings at each station or counter, combined across the area."
    ),
    "MS": N_(
        "Monthly means: each point is the mean of a month's readings at each station or counter, combined across the area, and is dated by the month's first day."
    ),
}


def city_series(obs: pd.DataFrame, agg: str, freq: str = "h") -> pd.DataFrame:
    """One line for the city (or one district): per hour, the median or mean across features, then averaged to
    ``freq``. ``obs``: feature_id, time, value."""
    if obs.empty:
        return pd.DataFrame({"time": pd.Series(dtype="datetime64[ns]"), "value": pd.Series(dtype=float)})
    per_hour = obs.groupby("time")["value"].agg(agg)
    if freq != "h":
        per_hour = per_hour.resample(freq).mean().dropna()
    return per_hour.rename("value").reset_index()


def district_values(obs: pd.DataFrame, districts: pd.DataFrame) -> pd.DataFrame:
    """Mean per district over the period (name, value, features), highest first; districts without data omitted.
    ``obs``: readings (feature_id, district_id, value) or rollups (also n, their readings)."""
    if obs.empty:
        return pd.DataFrame(columns=["district_id", "name", "value", "features"])
    if "n" in obs.columns:  # rollups: each bucket's mean weighs as many readings as it holds
        obs = obs.assign(value=obs["value"] * obs["n"])
    g = obs.dropna(subset=["district_id"]).groupby("district_id")
    mean = g["value"].sum() / g["n"].sum() if "n" in obs.columns else g["value"].mean()
    out = pd.DataFrame({"value": mean, "features": g["feature_id"].nunique()}).reset_index()
    out["district_id"] = out["district_id"].astype(int)
    names = districts.set_index("id")["name"]
    out["name"] = out["district_id"].map(names)
    return out.dropna(subset=["name"]).sort_values("value", ascending=False).reset_index(drop=True)


def usual_range(history: pd.DataFrame, times: pd.Series, agg: str) -> pd.DataFrame:
    """For each hour in ``times``, the 25th-75th percentile of the city value at the same hour and weekday over
    the ``history`` (feature_id, time, value) - the grey "usual" ribbon behind a traffic or cycling line."""
    if history.empty or len(times) == 0:
        return pd.DataFrame(columns=["time", "low", "high"])
    per_hour = history.groupby("time")["value"].agg(agg)
    how = pd.DataFrame({"v": per_hour.values, "dow": per_hour.index.dayofweek, "hour": per_hour.index.hour})
    q = how.groupby(["dow", "hour"])["v"].quantile([0.25, 0.75]).unstack()
    t = pd.to_datetime(pd.Series(times))
    keys = pd.MultiIndex.from_arrays([t.dt.dayofweek, t.dt.hour])
    found = q.reindex(keys)
    return pd.DataFrame({"time": t.values, "low": found[0.25].values, "high": found[0.75].values}).dropna()


def summary_numbers(series: pd.DataFrame, dvals: pd.DataFrame, limit: float | None) -> dict:
    """The figures the one-line summary states: mean, peak and when, the highest district, hours above ``limit``."""
    if series.empty:
        return {}
    peak = series.loc[series["value"].idxmax()]
    out = {
        "mean": float(series["value"].mean()),
        "peak": float(peak["value"]),
        "peak_time": peak["time"].to_pydatetime(),
        "points": int(len(series)),
    }
    if len(dvals):
        out["top_district"] = str(dvals.iloc[0]["name"])
        out["top_value"] = float(dvals.iloc[0]["value"])
    if limit is not None:
        out["share_above"] = float((series["value"] > limit).mean())
    return out
