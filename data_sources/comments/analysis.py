"""Analysis for the officials' workspace: comment counts per H3 cell, hotspots (Getis-Ord Gi*), rates per
district and emerging hotspots. Pure functions over the store; no Dash.

Counts come from ``comment_cell_counts`` (kept by triggers, see migration 0601), so one filter change reads
a few hundred thousand pre-counted rows at most instead of every comment. A text filter cannot use the
pre-counted table: it scans ``comments`` (the slower path, a LIKE over published comments).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import h3
import numpy as np
import pandas as pd
from sqlalchemy import Engine, and_, func, select
from sqlalchemy.engine import Connection

from data_sources.comments.ledger import rebuild_ledger
from data_sources.store.db import district_locator
from data_sources.store.models import (
    H3_RESOLUTIONS,
    Comment,
    CommentCellCount,
    CommentCellCountsPause,
    Department,
    District,
)

EPOCH_MONDAY = date(1970, 1, 5)


def week_of(t: datetime | date) -> int:
    """Monday-based week number, the same as the triggers compute in SQL."""
    d = t.date() if isinstance(t, datetime) else t
    return ((d - date(1970, 1, 1)).days + 3) // 7


def week_start(week: int) -> date:
    return EPOCH_MONDAY + timedelta(days=7 * (week - 1))


# The triggers' week, in SQL (migration 0601 holds the same expressions, frozen with the triggers).
_SQL_WEEK = {
    "sqlite": "((CAST(julianday(created_at) - 2440587.5 AS INTEGER) + 3) / 7)",
    "postgresql": "((floor(extract(epoch from created_at) / 86400)::int + 3) / 7)",
}


def rebuild_cell_counts(conn: Connection) -> None:
    """Recount ``comment_cell_counts`` from the comments (inside the caller's transaction)."""
    conn.execute(CommentCellCount.__table__.delete())
    conn.exec_driver_sql(
        "INSERT INTO comment_cell_counts (week, category, status, district_id, h3_r6, h3_r7, h3_r8, h3_r9, n) "
        f"SELECT {_SQL_WEEK[conn.dialect.name]}, category, status, COALESCE(district_id, 0), COALESCE(h3_r6, 0), "
        "COALESCE(h3_r7, 0), COALESCE(h3_r8, 0), COALESCE(h3_r9, 0), count(*) FROM comments "
        "WHERE moderation = 'published' GROUP BY 1, 2, 3, 4, 5, 6, 7, 8"
    )


@contextmanager
def paused_cell_counts(engine: Engine) -> Any:
    """For bulk loads: the per-row triggers (heatmap counts and the ledger's summaries) stand still, and the
    counts are rebuilt once at the end (in the same transaction that lifts the pause, so nothing written
    meanwhile is missed on SQLite)."""
    with engine.begin() as conn:
        conn.execute(
            CommentCellCountsPause.__table__.insert().values(id=1).prefix_with("OR IGNORE", dialect="sqlite")
            if conn.dialect.name == "sqlite"
            else CommentCellCountsPause.__table__.insert().from_select(
                ["id"], select(1).where(~select(CommentCellCountsPause.id).exists())
            )
        )
    try:
        yield
    finally:
        with engine.begin() as conn:
            rebuild_cell_counts(conn)
            # The ledger's triggers (0803) share the pause. Still paused: rebuilding updates every comment's ledger
            # state, which would otherwise fire the summary triggers once per comment. One transaction: the
            # pause ends with the rebuilt counts.
            rebuild_ledger(conn)
            conn.execute(CommentCellCountsPause.__table__.delete())


def resolution_for_zoom(zoom: float | None) -> int:
    """Coarser cells when zoomed out: about 10-40 px per cell on screen."""
    z = 11.0 if zoom is None else float(zoom)
    if z < 10:
        return 6
    if z < 11.5:
        return 7
    if z < 13:
        return 8
    return 9


@dataclass(frozen=True)
class HeatFilter:
    categories: tuple[str, ...] = ()  # empty: all
    statuses: tuple[str, ...] = ()
    districts: tuple[int, ...] = ()
    week_from: int | None = None
    week_to: int | None = None  # inclusive
    text: str = ""
    resolution: int = 8

    def __post_init__(self) -> None:
        if self.resolution not in H3_RESOLUTIONS:
            raise ValueError(f"resolution must be one of {H3_RESOLUTIONS}")


def comment_conditions(f: HeatFilter) -> list:
    """The same filter over ``comments`` (exports, the text path)."""
    cond = [Comment.moderation == "published"]
    if f.categories:
        cond.append(Comment.category.in_(f.categories))
    if f.statuses:
        cond.append(Comment.status.in_(f.statuses))
    if f.districts:
        cond.append(Comment.district_id.in_(f.districts))
    if f.week_from is not None:
        cond.append(Comment.created_at >= datetime.combine(week_start(f.week_from), datetime.min.time()))
    if f.week_to is not None:
        cond.append(Comment.created_at < datetime.combine(week_start(f.week_to + 1), datetime.min.time()))
    if f.text.strip():
        # LIKE escapes: the officer's text is matched literally.
        t = f.text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        cond.append(func.lower(Comment.text).like(f"%{t}%", escape="\\"))
    return cond


def _count_conditions(f: HeatFilter, districts: bool = True) -> list:
    """The filter over the pre-counted table (everything but text)."""
    t = CommentCellCount
    cond = []
    if f.categories:
        cond.append(t.category.in_(f.categories))
    if f.statuses:
        cond.append(t.status.in_(f.statuses))
    if districts and f.districts:
        cond.append(t.district_id.in_(f.districts))
    # "week + 0": an expression, so the planner keeps walking the covering index led by the cell instead of
    # switching to the unique key (led by week) and sorting every row for the GROUP BY.
    if f.week_from is not None:
        cond.append(t.week + 0 >= f.week_from)
    if f.week_to is not None:
        cond.append(t.week + 0 <= f.week_to)
    return cond


def cell_counts(engine: Engine, f: HeatFilter) -> pd.DataFrame:
    """Published comments per H3 cell at ``f.resolution``: columns cell (int), n. Cells with none are absent."""
    if f.text.strip():
        col = getattr(Comment, f"h3_r{f.resolution}")
        q = (
            select(col.label("cell"), func.count().label("n"))
            .where(and_(*comment_conditions(f)), col.is_not(None))
            .group_by(col)
        )
    else:
        t = CommentCellCount
        col = getattr(t, f"h3_r{f.resolution}")
        total = func.sum(t.n)
        q = (
            select(col.label("cell"), total.label("n"))
            .where(col != 0, *_count_conditions(f))
            .group_by(col)
            .having(total > 0)
        )
    with engine.connect() as conn:
        rows = conn.execute(q).all()
    return pd.DataFrame(
        {"cell": np.array([r[0] for r in rows], dtype=np.int64), "n": np.array([r[1] for r in rows], dtype=np.int64)}
    )


def week_range(engine: Engine) -> tuple[int, int] | None:
    """The first and last week with a published comment. ORDER BY ... LIMIT 1 walks the unique key (led by the
    week) from either end and stops at the first live row; min()/max() with the n > 0 filter read every row."""
    t = CommentCellCount
    live = select(t.week).where(t.n > 0).limit(1)
    with engine.connect() as conn:
        lo = conn.scalar(live.order_by(t.week.asc()))
        hi = conn.scalar(live.order_by(t.week.desc()))
    return None if lo is None or hi is None else (int(lo), int(hi))


def cell_centres(cells: Any) -> tuple[np.ndarray, np.ndarray]:
    ll = np.array([h3.cell_to_latlng(h3.int_to_str(int(c))) for c in cells], dtype=float).reshape(-1, 2)
    return ll[:, 0], ll[:, 1]


def cells_geojson(cells: Any) -> dict:
    """Hexagon outlines (5-decimal coordinates, ~1 m) keyed by the H3 id string."""
    feats = []
    for c in cells:
        s = h3.int_to_str(int(c))
        ring = [[round(lon, 5), round(lat, 5)] for lat, lon in h3.cell_to_boundary(s)]
        feats.append(
            {
                "type": "Feature",
                "id": s,
                "properties": {},
                "geometry": {"type": "Polygon", "coordinates": [ring + ring[:1]]},
            }
        )
    return {"type": "FeatureCollection", "features": feats}


def all_cells(engine: Engine, resolution: int) -> np.ndarray:
    """Every cell that has ever held a published comment (the hexagon outlines the browser caches)."""
    col = getattr(CommentCellCount, f"h3_r{resolution}")
    with engine.connect() as conn:
        return np.array(conn.scalars(select(col).where(col != 0).distinct().order_by(col)).all(), dtype=np.int64)


# --- Getis-Ord Gi* ------------------------------------------------------------------------------------------


@dataclass
class GiStar:
    z: np.ndarray
    p: np.ndarray  # two-sided, normal approximation

    def classes(self, alpha: float = 0.05) -> np.ndarray:
        """'hot', 'cold' or '' per cell at significance ``alpha`` (no multiple-testing correction)."""
        return np.where(self.p < alpha, np.where(self.z > 0, "hot", "cold"), "")


def gi_star(x: np.ndarray, neighbours: list[np.ndarray]) -> GiStar:
    """Getis-Ord Gi* with binary weights, each location its own neighbour (Getis & Ord 1992; Ord & Getis 1995).

    ``neighbours[i]``: indices j with w_ij = 1, including i itself.

        Gi* = (sum_j w_ij x_j - xbar * W_i) / (S * sqrt((n * W_i - W_i^2) / (n - 1)))

    with W_i = sum_j w_ij (binary weights: sum_j w_ij^2 = W_i), xbar the mean and S = sqrt(mean(x^2) - xbar^2).
    """
    x = np.asarray(x, dtype=float)
    n = len(x)
    if n < 3:
        return GiStar(np.zeros(n), np.ones(n))
    xbar = x.mean()
    s = math.sqrt(max((x * x).mean() - xbar * xbar, 0.0))
    if s == 0:
        return GiStar(np.zeros(n), np.ones(n))
    local = np.array([x[nb].sum() for nb in neighbours])
    w = np.array([len(nb) for nb in neighbours], dtype=float)
    z = (local - xbar * w) / (s * np.sqrt((n * w - w * w) / (n - 1)))
    z = np.where(np.isfinite(z), z, 0.0)
    p = np.array([math.erfc(abs(v) / math.sqrt(2)) for v in z])
    return GiStar(z, p)


def hotspots(counts: pd.DataFrame, ring: int = 1, study_area: np.ndarray | None = None) -> pd.DataFrame:
    """Gi* over H3 cells: neighbours are the cells within ``ring`` steps. The study area is ``study_area`` if
    given, else the counted cells and their rings (so empty cells around a cluster count as zeros).
    Returns cell, n, z, p, hotspot ('hot'/'cold'/'')."""
    if len(counts) == 0:
        return pd.DataFrame(columns=["cell", "n", "z", "p", "hotspot"])
    counted = dict(zip(counts["cell"].astype(np.int64).tolist(), counts["n"].tolist()))
    if study_area is None:
        area: set[int] = set(counted)
        for c in counted:
            area.update(h3.str_to_int(k) for k in h3.grid_disk(h3.int_to_str(c), ring))
        cells = np.array(sorted(area), dtype=np.int64)
    else:
        cells = np.unique(np.concatenate([np.asarray(study_area, np.int64), np.array(list(counted), np.int64)]))
    index = {int(c): i for i, c in enumerate(cells)}
    x = np.array([counted.get(int(c), 0) for c in cells], dtype=float)
    nbs = [
        np.array(
            [index[k] for k in (h3.str_to_int(s) for s in h3.grid_disk(h3.int_to_str(int(c)), ring)) if k in index]
        )
        for c in cells
    ]
    g = gi_star(x, nbs)
    return pd.DataFrame({"cell": cells, "n": x.astype(np.int64), "z": g.z, "p": g.p, "hotspot": g.classes()})


# --- rates and trends ---------------------------------------------------------------------------------------


def district_rates(engine: Engine, f: HeatFilter) -> pd.DataFrame:
    """Comments per 1,000 residents per district (district, population, n, per_1000)."""
    t = CommentCellCount
    cond = _count_conditions(f, districts=False)
    with engine.connect() as conn:
        counts = dict(conn.execute(select(t.district_id, func.sum(t.n)).where(*cond).group_by(t.district_id)).all())
        ds = conn.execute(select(District.id, District.name, District.population).order_by(District.name)).all()
    rows = []
    for did, name, pop in ds:
        if f.districts and did not in f.districts:
            continue
        n = int(counts.get(did, 0) or 0)
        rows.append(
            {
                "district_id": did,
                "district": name,
                "population": pop,
                "n": n,
                "per_1000": (n * 1000 / pop) if pop else float("nan"),
            }
        )
    return pd.DataFrame(rows, columns=["district_id", "district", "population", "n", "per_1000"])


def emerging_hotspots(engine: Engine, resolution: int, now: datetime, min_count: int = 5) -> pd.DataFrame:
    """Cells whose comments in the last 4 weeks clearly exceed their mean over the 12 weeks before.

    "Clearly": more than the previous mean plus 2 Poisson standard deviations (sqrt of the mean, at least 1),
    and at least ``min_count``. Returns cell, recent, previous_mean, ratio, sorted by excess."""
    this = week_of(now)
    recent = cell_counts(engine, HeatFilter(week_from=this - 3, week_to=this, resolution=resolution))
    prev = cell_counts(engine, HeatFilter(week_from=this - 15, week_to=this - 4, resolution=resolution))
    df = (
        recent.rename(columns={"n": "recent"})
        .merge(prev.rename(columns={"n": "prev"}), on="cell", how="left")
        .fillna({"prev": 0})
    )
    df["previous_mean"] = df["prev"] / 3.0  # three previous 4-week "months"
    threshold = df["previous_mean"] + 2 * np.sqrt(np.maximum(df["previous_mean"], 1.0))
    df["ratio"] = df["recent"] / np.maximum(df["previous_mean"], 1.0)
    out = df[(df["recent"] >= min_count) & (df["recent"] > threshold)].copy()
    out["excess"] = out["recent"] - out["previous_mean"]
    return out.sort_values("excess", ascending=False)[["cell", "recent", "previous_mean", "ratio"]].reset_index(
        drop=True
    )


def indicator_per_cell(features: pd.DataFrame, resolution: int, value_col: str = "value") -> dict[int, float]:
    """Mean of ``value_col`` over the point features (lat, lon) in each cell at ``resolution``."""
    if features is None or len(features) == 0 or value_col not in features:
        return {}
    f = features.dropna(subset=["lat", "lon", value_col])
    cells = [h3.str_to_int(h3.latlng_to_cell(a, b, resolution)) for a, b in zip(f["lat"], f["lon"])]
    return {int(k): float(v) for k, v in f[value_col].groupby(cells).mean().items()}


def cells_version(engine: Engine) -> int:
    """The newest id in ``comment_cell_counts``: changes whenever a comment moves a cell's count."""
    with engine.connect() as conn:
        return int(conn.scalar(select(func.max(CommentCellCount.id))) or 0)


EXPORT_COLUMNS = [
    "id",
    "created_at",
    "category",
    "status",
    "department",
    "district",
    "support_count",
    "text",
    "lat",
    "lon",
    "first_response_at",
    "resolved_at",
]


def export_rows(engine: Engine, f: HeatFilter, limit: int = 200_000) -> Iterator[dict[str, Any]]:
    """The officials' export: the comments the filter selects, oldest first, as dicts of ``EXPORT_COLUMNS``."""
    c = Comment
    q = (
        select(
            c.id,
            c.created_at,
            c.category,
            c.status,
            Department.name,
            District.name,
            c.support_count,
            c.text,
            c.lat,
            c.lon,
            c.first_response_at,
            c.resolved_at,
        )
        .join(Department, Department.id == c.department_id, isouter=True)
        .join(District, District.id == c.district_id, isouter=True)
        .where(and_(*comment_conditions(f)))
        .order_by(c.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        for row in conn.execute(q):
            yield dict(zip(EXPORT_COLUMNS, row))


def cell_places(engine: Engine, cells: list[int]) -> dict[int, tuple[str | None, float, float]]:
    """For H3 cells: the district holding each cell's centre (None outside every district) and the centre."""
    if not cells:
        return {}
    centres = np.array([h3.cell_to_latlng(h3.int_to_str(int(c))) for c in cells])
    ids = district_locator(engine)(centres[:, 0], centres[:, 1])
    with engine.connect() as conn:
        names = dict(conn.execute(select(District.id, District.name)).all())
    return {int(c): (names.get(int(d)), float(lat), float(lon)) for c, d, (lat, lon) in zip(cells, ids, centres)}
