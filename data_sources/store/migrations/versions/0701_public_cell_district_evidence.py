"""comments: district and evidence distance from the public cell, never from the exact point

Before this revision a comment's district came from its exact point (a boundary crossing its public cell told on
which side the author stood) and its evidence distance was measured from the exact point (an annulus around a
known station, finer than the public cell). Both are public. This data migration recomputes them the way
``submit_comment`` now does: the district of the public cell (its centre, else its first vertex in a district)
and the distance from the public point to the evidence's feature, rounded to 50 m. Evidence whose station is not
the nearest of its layer to the public point (so it was chosen by the exact point) loses its distance and
station choice: the reading is dropped, unless the author chose that feature. No schema change.

Revision ID: 0701
Revises: 0601
"""
import json

import h3
import shapely
import sqlalchemy as sa
from alembic import op

revision = "0701"
down_revision = "0601"
branch_labels = None
depends_on = None

DISTANCE_STEP_M = 50  # data_sources.comments.evidence.DISTANCE_STEP_M, frozen here with the migration
CHUNK = 5000


def _district_of_cell(tree, ids: list[int], cell: int) -> int | None:  # noqa: ANN001
    name = h3.int_to_str(int(cell))
    for lat, lon in [h3.cell_to_latlng(name), *h3.cell_to_boundary(name)]:
        hits = tree.query(shapely.Point(lon, lat), predicate="intersects")
        if len(hits):
            return ids[int(min(hits))]
    return None


def _shown(metres: float) -> int:
    return max(DISTANCE_STEP_M, int(round(metres / DISTANCE_STEP_M)) * DISTANCE_STEP_M)


def upgrade() -> None:
    conn = op.get_bind()
    districts = conn.execute(sa.text("SELECT id, geometry FROM districts ORDER BY id")).all()
    ids = [int(r[0]) for r in districts]
    tree = shapely.STRtree(shapely.from_geojson([r[1] for r in districts])) if districts else None
    features = {int(r[0]): (r[1], r[2], r[3]) for r in conn.execute(sa.text("SELECT id, lat, lon, layer FROM features"))}
    by_layer: dict[str, list[tuple[int, float, float]]] = {}
    for fid, (lat, lon, layer) in features.items():
        if lat is not None and lon is not None:
            by_layer.setdefault(layer, []).append((fid, lat, lon))
    nearest_of: dict[tuple[int, str], float] = {}  # (public cell, layer) -> metres to the layer's nearest feature
    as_json = "CAST(:e AS JSON)" if conn.dialect.name == "postgresql" else ":e"
    last = 0
    while True:
        rows = conn.execute(sa.text(
            "SELECT id, h3_r9, public_lat, public_lon, district_id, feature_id, evidence FROM comments "
            "WHERE id > :last ORDER BY id LIMIT :n"), {"last": last, "n": CHUNK}).all()
        if not rows:
            break
        last = rows[-1][0]
        district_updates, evidence_updates = [], []
        for cid, cell, plat, plon, district, feature_id, evidence in rows:
            if tree is not None and cell:
                d = _district_of_cell(tree, ids, cell)
                if d != district:
                    district_updates.append({"i": cid, "d": d})
            ev = json.loads(evidence) if isinstance(evidence, str) else evidence
            if not isinstance(ev, dict) or plat is None or "feature_id" not in ev:
                continue
            fid = int(ev["feature_id"])
            where = features.get(fid)
            new: dict | None = None
            if where is not None and where[0] is not None:
                here = (plat, plon)
                own = h3.great_circle_distance(here, (where[0], where[1]), unit="m")
                key = (cell, where[2])
                if key not in nearest_of:
                    nearest_of[key] = min((h3.great_circle_distance(here, (la, lo), unit="m")
                                           for _f, la, lo in by_layer.get(where[2], [])), default=own)
                nearest = nearest_of[key]
                if feature_id == fid or own <= nearest + 1e-6:
                    new = {**ev, "distance_m": _shown(own)}
            if new != ev:
                evidence_updates.append({"i": cid, "e": json.dumps(new) if new is not None else None})
        if district_updates:
            conn.execute(sa.text("UPDATE comments SET district_id = :d WHERE id = :i"), district_updates)
        if evidence_updates:
            conn.execute(sa.text(f"UPDATE comments SET evidence = {as_json} WHERE id = :i"), evidence_updates)


def downgrade() -> None:
    # The exact-point districts and distances cannot (and should not) be restored.
    pass
