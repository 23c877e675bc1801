"""Key figures for the home page, as pure functions of DataFrames (tested against hand-computed values).

Observation frames have the columns ``feature_id, time, value`` (naive UTC, the store's convention). Each KPI
function takes the rows it needs and a "now", and returns a ``Kpi``; ``home_kpis`` does the reading.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import geopandas as gpd
import pandas as pd
import shapely

from data_sources.ingest.standards import EAQI_BANDS, eaqi_band, who_guideline
from data_sources.store import queries
from data_sources.store.db import utcnow

if TYPE_CHECKING:
    from sqlalchemy import Engine
from data_sources.config import CityConfig
from data_sources.ingest.attributes import cycle_type_of
from data_sources.operations import is_stale, window_of
from data_sources.store.db import utc_iso

WHO_PM25_24H = who_guideline("pm25", "24h")  # 15 µg/m³, WHO 2021 air quality guideline, 24-hour mean
# How old the newest reading may be and still count as "now".
NOW_WINDOW = timedelta(hours=3)
# How many earlier same weekdays make "the usual" for this hour (traffic) or for today so far (cycling).
USUAL_WEEKS = 4
# Traffic within ±10 % of the usual counts as "as usual".
USUAL_TOLERANCE = 0.10


@dataclass
class Kpi:
    key: str
    value: float | None
    unit: str = ""
    band: str = "none"  # drives the card's colour and its band word; vocabulary depends on the KPI
    detail: dict = field(default_factory=dict)
    updated: datetime | None = None
    # The second clock: the time of the newest reading the figure uses (not when its source was fetched), and
    # whether that is older than its source's freshness window (set by ``with_staleness``, at each request).
    as_of: datetime | None = None
    stale: bool = False

    def __post_init__(self) -> None:
        if self.as_of is None and self.updated is not None:
            self.as_of = parse_as_of(self.updated)


def _latest(frame: pd.DataFrame, now: datetime) -> pd.DataFrame:
    """Each feature's newest row within NOW_WINDOW before ``now``."""
    recent = frame[(frame["time"] > now - NOW_WINDOW) & (frame["time"] <= now)]
    return recent.sort_values("time").groupby("feature_id").tail(1)


def station_eaqi(last24h: dict[str, pd.DataFrame], now: datetime) -> pd.Series:
    """Each station's European Air Quality Index band: the worst of its pollutants, PM on the 24-hour mean and
    gases on the latest hourly value, as the EEA index defines them. ``last24h``: metric -> 24 h of rows."""
    per_metric = {}
    for metric, frame in last24h.items():
        if frame.empty:
            continue
        if metric in ("pm25", "pm10"):
            vals = frame.groupby("feature_id")["value"].mean()
        else:
            vals = _latest(frame, now).set_index("feature_id")["value"]
        per_metric[metric] = vals.map(lambda v, m=metric: eaqi_band(m, v))
    if not per_metric:
        return pd.Series(dtype=object)
    bands = pd.DataFrame(per_metric)
    rank = bands.apply(lambda col: col.map(lambda b: EAQI_BANDS.index(b) if isinstance(b, str) else -1))
    worst = rank.max(axis=1)
    return worst[worst >= 0].map(lambda i: EAQI_BANDS[int(i)])


def median_band(bands: pd.Series) -> str:
    """The middle band of many stations (lower middle for an even count), so one bad station cannot set it."""
    if bands.empty:
        return "none"
    ranks = sorted(EAQI_BANDS.index(b) for b in bands)
    return EAQI_BANDS[ranks[(len(ranks) - 1) // 2]]


def air_now(last24h: pd.DataFrame, now: datetime, bands: pd.Series | None = None) -> Kpi:
    """Median of each station's latest PM2.5 (within NOW_WINDOW), the share of stations whose 24-hour mean is
    above the WHO guideline, and the city's European AQI band (the median station's band, from ``bands``)."""
    if last24h.empty:
        return Kpi("air", None, "µg/m³")
    latest = _latest(last24h, now)
    if latest.empty:
        return Kpi("air", None, "µg/m³", detail={"stale": True}, updated=last24h["time"].max())
    means = last24h.groupby("feature_id")["value"].mean()
    share = float((means > WHO_PM25_24H).mean())
    if bands is None:
        bands = means.map(lambda v: eaqi_band("pm25", v))
    return Kpi(
        "air",
        float(latest["value"].median()),
        "µg/m³",
        median_band(bands.dropna()),
        {"stations": int(latest["feature_id"].nunique()), "share_above_who": share, "guideline": WHO_PM25_24H},
        latest["time"].max(),
    )


def usual_band(ratio: float | None) -> str:
    if ratio is None:
        return "none"
    if ratio > 1 + USUAL_TOLERANCE:
        return "busier"
    if ratio < 1 - USUAL_TOLERANCE:
        return "quieter"
    return "usual"


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
    return Kpi(
        "traffic",
        total,
        "vehicles/h",
        usual_band(ratio),
        {"usual": usual, "ratio": ratio, "counters": int(common["feature_id"].nunique())},
        at,
    )


def local_midnight(now: datetime, tz: str) -> datetime:
    """The start of ``now``'s day in the city's time zone, as naive UTC."""
    local = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(tz))
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return start.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def counts_today(history: pd.DataFrame, now: datetime, tz: str) -> Kpi:
    """Cyclists counted today so far (local midnight to ``now``) against the usual: the median, over the
    previous USUAL_WEEKS same weekdays, of the count over the same stretch of the day. Only counters that
    reported today are compared."""
    start = local_midnight(now, tz)
    today = history[(history["time"] >= start) & (history["time"] <= now)]
    if today.empty:
        return Kpi("cycle_counts", None, "cyclists")
    counters = today["feature_id"].unique()
    totals = []
    for k in range(1, USUAL_WEEKS + 1):
        lo, hi = start - timedelta(weeks=k), now - timedelta(weeks=k)
        past = history[(history["time"] >= lo) & (history["time"] <= hi) & history["feature_id"].isin(counters)]
        if not past.empty:
            totals.append(float(past["value"].sum()))
    total = float(today["value"].sum())
    usual = float(pd.Series(totals).median()) if totals else None
    ratio = total / usual if usual else None
    return Kpi(
        "cycle_counts",
        total,
        "cyclists",
        usual_band(ratio),
        {"usual": usual, "ratio": ratio, "counters": int(len(counters))},
        today["time"].max().to_pydatetime(),
    )


def network_km(geometries: list) -> float:
    """Length in km of line geometries (EPSG:4326), measured in the local UTM zone."""
    if not geometries:
        return 0.0
    g = gpd.GeoSeries(geometries, crs=4326)
    return float(g.to_crs(g.estimate_utm_crs()).length.sum() / 1000)


def km_by_type(routes: pd.DataFrame) -> dict[str, float]:
    """Cycle network length per canonical cycle type (data_sources/ingest/attributes.py: the source's mapped
    ``cycle_type``, else what OSM tags say, else ``other``), longest first."""
    if routes.empty:
        return {}
    types = routes["properties"].map(cycle_type_of)
    out = {str(t): network_km(list(shapely.from_geojson(grp["geometry"].tolist()))) for t, grp in routes.groupby(types)}
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def bikes_now(bikes: pd.DataFrame, docks: pd.DataFrame, now: datetime) -> dict:
    """Bikes and free docks across the stations that reported within NOW_WINDOW."""
    b, d = _latest(bikes, now), _latest(docks, now)
    if b.empty and d.empty:
        return {}
    return {
        "bikes": float(b["value"].sum()),
        "docks": float(d["value"].sum()),
        "stations": int(pd.concat([b["feature_id"], d["feature_id"]]).nunique()),
        "updated": max(x for x in (b["time"].max(), d["time"].max()) if pd.notna(x)).to_pydatetime(),
    }


def cycling(routes: pd.DataFrame, bike_share: dict, counts: Kpi, network_as_of: datetime | None = None) -> Kpi:
    """Network km by type, bike share now and today's counts; ``detail`` stays plain JSON (the API serves it).
    Each sub-figure carries its own ``as_of`` (ISO 8601 UTC) and ``stale``."""
    by_type = km_by_type(routes)
    km = sum(by_type.values()) if by_type else None
    updated = max([t for t in (bike_share.get("updated"), counts.updated) if t is not None], default=None)
    share = {k: v for k, v in bike_share.items() if k != "updated"}
    if share:
        share.update(as_of=utc_iso(bike_share.get("updated")), stale=False)
    today = {"value": counts.value, "band": counts.band, **counts.detail}
    if counts.value is not None:
        today.update(as_of=utc_iso(counts.as_of), stale=False)
    network = {"km": km, "as_of": utc_iso(network_as_of) if km is not None else None, "stale": False}
    return Kpi(
        "cycling",
        km,
        "km",
        counts.band,
        {"by_type": by_type, "network": network, "bike_share": share, "counts_today": today},
        updated,
    )


def parse_as_of(value: object) -> datetime | None:
    """A figure's ``as_of`` (a datetime, a Timestamp or the ISO 8601 text kept in ``detail``) as naive UTC."""
    if value is None or value == "":
        return None
    ts = pd.Timestamp(value)
    return (ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts).to_pydatetime()


# Which layer feeds each figure and sub-figure: its freshness window is that of the layer's sources.
FIGURE_LAYERS = {
    "air": "air_station",
    "traffic": "traffic_counter",
    "network": "cycle_route",
    "bike_share": "bike_station",
    "counts_today": "cycle_counter",
}


def with_staleness(values: dict[str, Kpi], windows: dict[str, timedelta], now: datetime) -> dict[str, Kpi]:
    """The KPIs with ``stale`` set from their ``as_of`` against ``windows`` (figure or sub-figure key -> window,
    see FIGURE_LAYERS) at ``now``. Pure: the (cached) KPIs are not changed; staleness comes with time alone, so it
    is worked out at every request. A card is stale when its figure is, or, for cycling, any of its sub-figures."""
    default = max(windows.values(), default=timedelta(hours=3))
    out: dict[str, Kpi] = {}
    for key, k in values.items():
        if key == "cycling":
            detail = dict(k.detail)
            any_stale = False
            for sub in ("network", "bike_share", "counts_today"):
                part = dict(detail.get(sub) or {})
                if part.get("as_of"):
                    part["stale"] = is_stale(parse_as_of(part["as_of"]), windows.get(sub, default), now)
                    any_stale = any_stale or part["stale"]
                detail[sub] = part
            out[key] = replace(k, detail=detail, stale=any_stale)
        elif key in FIGURE_LAYERS:
            out[key] = replace(k, stale=k.value is not None and is_stale(k.as_of, windows.get(key, default), now))
        else:
            out[key] = k
    return out


def participation(comments: pd.DataFrame, now: datetime, tz: str) -> Kpi:
    """Comments created this calendar month (city time), the share of them answered, and the median hours to
    the first answer among the answered ones. ``comments``: created_at, first_response_at (naive UTC)."""
    local = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(tz))
    month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    start = month_start.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    month = comments[(comments["created_at"] >= start) & (comments["created_at"] <= now)]
    n = len(month)
    answered = month[month["first_response_at"].notna() & (month["first_response_at"] <= now)]
    hours = (
        pd.to_datetime(answered["first_response_at"]) - pd.to_datetime(answered["created_at"])
    ).dt.total_seconds() / 3600
    # "Updated": the newest comment or answer (not the clock), so the figure changes only when the data does.
    seen = pd.concat([comments["created_at"], comments["first_response_at"]]).dropna()
    seen = seen[seen <= now]
    return Kpi(
        "participation",
        float(n),
        "comments",
        "none",
        {
            "answered_share": (len(answered) / n) if n else None,
            "median_hours_to_answer": float(hours.median()) if len(hours) else None,
            "month_start": start.isoformat(),
        },
        seen.max().to_pydatetime() if len(seen) else None,
    )


def home_kpis(engine: Engine, tz: str = "UTC", now: datetime | None = None) -> dict[str, Kpi]:
    """Every home KPI. Readings are taken at each metric's newest time; participation at ``now`` (the clock)."""
    return {**reading_kpis(engine, tz), "participation": participation_now(engine, tz, now)}


def participation_now(engine: Engine, tz: str = "UTC", now: datetime | None = None) -> Kpi:
    now = now or utcnow()
    return participation(queries.comment_times(engine, now - timedelta(days=32)), now, tz)


def reading_kpis(engine: Engine, tz: str = "UTC") -> dict[str, Kpi]:
    """The KPIs of measured data (air, traffic, cycling): they change with readings, not with comments."""
    out: dict[str, Kpi] = {}
    t = queries.latest_time(engine, "pm25")
    if t is not None:
        last24 = {m: queries.observations(engine, m, t - timedelta(hours=24), t) for m in ("pm25", "pm10", "no2")}
        out["air"] = air_now(last24["pm25"], t, station_eaqi(last24, t))
    else:
        out["air"] = Kpi("air", None, "µg/m³")
    t = queries.latest_time(engine, "vehicles")
    out["traffic"] = (
        traffic_now(queries.hour_of_week_history(engine, "vehicles", t), t) if t else Kpi("traffic", None, "vehicles/h")
    )
    t_bikes = queries.latest_time(engine, "bikes_available")
    share = {}
    if t_bikes is not None:
        since = t_bikes - NOW_WINDOW
        share = bikes_now(
            queries.observations(engine, "bikes_available", since, t_bikes),
            queries.observations(engine, "docks_available", since, t_bikes),
            t_bikes,
        )
    t = queries.latest_time(engine, "cyclists")
    counts = (
        counts_today(
            queries.observations(engine, "cyclists", local_midnight(t, tz) - timedelta(weeks=USUAL_WEEKS), t), t, tz
        )
        if t
        else Kpi("cycle_counts", None, "cyclists")
    )
    out["cycling"] = cycling(
        queries.features(engine, "cycle_route"), share, counts, queries.layer_updated(engine, "cycle_route")
    )
    return out


def figure_windows(engine: Engine, city: CityConfig) -> dict[str, timedelta]:
    """Each figure's freshness window (FIGURE_LAYERS key -> window): the longest of its layer's sources'."""
    return {key: window_of(city, queries.layer_source_names(engine, [layer])) for key, layer in FIGURE_LAYERS.items()}


def current_kpis(engine: Engine, city: CityConfig, now: datetime | None = None) -> dict[str, Kpi]:
    """Every home KPI with its ``as_of`` and ``stale`` judged at ``now`` (the API's key figures; participation, a
    count of this calendar month's comments, always goes by the wall clock, as on the home page)."""
    return with_staleness(home_kpis(engine, city.city.timezone), figure_windows(engine, city), now or utcnow())
