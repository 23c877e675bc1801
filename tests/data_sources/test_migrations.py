"""Upgrades never lose data: the schema comes only from Alembic migrations, and they match the models."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from data_sources.models import Base
from data_sources.store import current_revision, make_engine, migrate


def test_empty_database_upgrades_to_head_and_matches_models(any_url):
    eng = make_engine(any_url)
    assert current_revision(eng) is None
    migrate(eng)
    from alembic.script import ScriptDirectory

    from data_sources.store import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert current_revision(eng) == head
    tables = set(inspect(eng).get_table_names())
    assert {"sources", "features", "observations", "districts", "comments", "comment_events", "officials", "audit_log"} <= tables
    with eng.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    assert diff == [], f"models and migrations differ; add a migration: {diff}"
    migrate(eng)  # a second start is a no-op
    eng.dispose()


def test_upgrade_keeps_rows(engine):
    from data_sources.store import upsert_source

    upsert_source(engine, "kept", "csv")
    migrate(engine)
    with engine.connect() as c:
        assert c.exec_driver_sql("select name from sources").scalar() == "kept"


def test_0701_takes_districts_and_evidence_distances_from_public_cells(any_url, demo_city):
    """Rows stored before 0701 (district and evidence distance from the exact point) get them from the public
    cell; an evidence whose station was chosen by the exact point is dropped unless the author chose it."""
    import json

    import h3
    from sqlalchemy import insert, select, update

    from data_sources.comments import CommentInput, submit_comment
    from data_sources.evidence import shown_distance
    from data_sources.models import Comment, District, Feature
    from data_sources.store import open_store, upsert_source

    eng = open_store(any_url)
    clat, clon = h3.cell_to_latlng(h3.latlng_to_cell(48.5, 9.0, 9))
    split = clat + 0.0005  # a boundary ~55 m north of the public point, across the cell

    def box(s: float, n: float) -> str:
        return json.dumps({"type": "Polygon", "coordinates": [[[8.9, s], [9.1, s], [9.1, n], [8.9, n], [8.9, s]]]})

    sid = upsert_source(eng, "stations", "csv")
    with eng.begin() as c:
        south = c.execute(insert(District).values(name="South", geometry=box(48.4, split), lat=48.45, lon=9.0)
                          .returning(District.id)).scalar_one()
        north = c.execute(insert(District).values(name="North", geometry=box(split, 48.6), lat=48.55, lon=9.0)
                          .returning(District.id)).scalar_one()
        near, far = (c.execute(insert(Feature).values(source_id=sid, layer="air_station", external_id=x, name=x,
                                                      geometry="{}", lat=lat, lon=clon).returning(Feature.id)).scalar_one()
                     for x, lat in (("near", clat + 0.01), ("far", clat - 0.012)))
    exact = (clat + 0.001, clon)  # north of the boundary, still in the cell
    ids = [submit_comment(eng, demo_city, CommentInput(lat=exact[0], lon=exact[1], category="street", feature_id=fid,
                                                       text="The street light has been out for a week.")).id
           for fid in (None, None, far)]
    ev = {"metric": "pm25", "value": 12.0, "unit": "µg/m³", "layer": "air_station", "time": "2026-11-16T09:00"}
    with eng.begin() as c:  # as the old code stored them: from the exact point
        for cid, fid in zip(ids, (near, far, far)):
            metres = h3.great_circle_distance(exact, (clat + 0.01 if fid == near else clat - 0.012, clon), unit="m")
            c.execute(update(Comment).where(Comment.id == cid).values(
                district_id=north, evidence={**ev, "feature_id": fid, "distance_m": shown_distance(metres)}))
    from alembic import command

    from data_sources.store import alembic_config

    with eng.begin() as c:  # back to 0601 (later migrations undone), then up again: 0701 runs over these rows
        command.downgrade(alembic_config(c), "0601")
    migrate(eng)
    with eng.connect() as c:
        rows = {r.id: r for r in c.execute(select(Comment.id, Comment.district_id, Comment.evidence).where(Comment.id.in_(ids)))}
    assert {r.district_id for r in rows.values()} == {south}  # the district of the public point
    assert rows[ids[0]].evidence["distance_m"] == shown_distance(
        h3.great_circle_distance((clat, clon), (clat + 0.01, clon), unit="m"))
    assert rows[ids[1]].evidence is None  # "far" was not the nearest station to the public point
    assert rows[ids[2]].evidence["distance_m"] == shown_distance(  # the author chose "far": kept, re-measured
        h3.great_circle_distance((clat, clon), (clat - 0.012, clon), unit="m"))
    eng.dispose()
