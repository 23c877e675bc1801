"""Upgrades never lose data: the schema comes only from Alembic migrations, and they match the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from data_sources.store.models import Base
from data_sources.store.db import current_revision, make_engine, migrate
from data_sources.store.partitions import include_object


def test_empty_database_upgrades_to_head_and_matches_models(any_url):
    eng = make_engine(any_url)
    assert current_revision(eng) is None
    migrate(eng)
    from alembic.script import ScriptDirectory

    from data_sources.store.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert current_revision(eng) == head
    tables = set(inspect(eng).get_table_names())
    assert {
        "sources",
        "features",
        "observations",
        "districts",
        "comments",
        "comment_events",
        "officials",
        "audit_log",
    } <= tables
    with eng.connect() as conn:
        opts = {"compare_type": False, "include_object": include_object}  # the PostgreSQL-only month partitions
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
    assert diff == [], f"models and migrations differ; add a migration: {diff}"
    migrate(eng)  # a second start is a no-op
    eng.dispose()


def test_upgrade_keeps_rows(engine):
    from data_sources.store.db import upsert_source

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

    from data_sources.comments.records import CommentInput, submit_comment
    from data_sources.comments.evidence import shown_distance
    from data_sources.store.models import Comment, District, Feature
    from data_sources.store.db import open_store, upsert_source

    eng = open_store(any_url)
    clat, clon = h3.cell_to_latlng(h3.latlng_to_cell(48.5, 9.0, 9))
    split = clat + 0.0005  # a boundary ~55 m north of the public point, across the cell

    def box(s: float, n: float) -> str:
        return json.dumps({"type": "Polygon", "coordinates": [[[8.9, s], [9.1, s], [9.1, n], [8.9, n], [8.9, s]]]})

    sid = upsert_source(eng, "stations", "csv")
    with eng.begin() as c:
        south = c.execute(
            insert(District).values(name="South", geometry=box(48.4, split), lat=48.45, lon=9.0).returning(District.id)
        ).scalar_one()
        north = c.execute(
            insert(District).values(name="North", geometry=box(split, 48.6), lat=48.55, lon=9.0).returning(District.id)
        ).scalar_one()
        near, far = (
            c.execute(
                insert(Feature)
                .values(source_id=sid, layer="air_station", external_id=x, name=x, geometry="{}", lat=lat, lon=clon)
                .returning(Feature.id)
            ).scalar_one()
            for x, lat in (("near", clat + 0.01), ("far", clat - 0.012))
        )
    exact = (clat + 0.001, clon)  # north of the boundary, still in the cell
    ids = [
        submit_comment(
            eng,
            demo_city,
            CommentInput(
                lat=exact[0],
                lon=exact[1],
                category="street",
                feature_id=fid,
                text="The street light has been out for a week.",
            ),
        ).id
        for fid in (None, None, far)
    ]
    ev = {"metric": "pm25", "value": 12.0, "unit": "µg/m³", "layer": "air_station", "time": "2026-11-16T09:00"}
    with eng.begin() as c:  # as the old code stored them: from the exact point
        for cid, fid in zip(ids, (near, far, far)):
            metres = h3.great_circle_distance(exact, (clat + 0.01 if fid == near else clat - 0.012, clon), unit="m")
            c.execute(
                update(Comment)
                .where(Comment.id == cid)
                .values(district_id=north, evidence={**ev, "feature_id": fid, "distance_m": shown_distance(metres)})
            )
    from alembic import command

    from data_sources.store.db import alembic_config

    with eng.begin() as c:  # back to 0601 (later migrations undone), then up again: 0701 runs over these rows
        command.downgrade(alembic_config(c), "0601")
    migrate(eng)
    with eng.connect() as c:
        rows = {
            r.id: r
            for r in c.execute(select(Comment.id, Comment.district_id, Comment.evidence).where(Comment.id.in_(ids)))
        }
    assert {r.district_id for r in rows.values()} == {south}  # the district of the public point
    assert rows[ids[0]].evidence["distance_m"] == shown_distance(
        h3.great_circle_distance((clat, clon), (clat + 0.01, clon), unit="m")
    )
    assert rows[ids[1]].evidence is None  # "far" was not the nearest station to the public point
    assert rows[ids[2]].evidence["distance_m"] == shown_distance(  # the author chose "far": kept, re-measured
        h3.great_circle_distance((clat, clon), (clat - 0.012, clon), unit="m")
    )
    eng.dispose()


def test_upgrading_from_an_older_schema_keeps_every_row_that_points_at_a_changed_table(any_url):
    """An upgrade loses nothing through foreign keys: on SQLite, a migration that rebuilt a table (Alembic's batch
    mode: copy, drop, rename) would fire ON DELETE CASCADE and SET NULL on every row pointing at it. Rows that
    point at features, officials and comments survive the upgrade from 0601 to head, and the way back."""
    from alembic import command
    from sqlalchemy import text

    from data_sources.store.db import alembic_config

    eng = make_engine(any_url)
    migrate(eng, "0601")
    with eng.begin() as c:
        c.execute(
            text(
                "insert into sources(id,name,kind,title,publisher,licence,attribution,url) "
                "values(1,'s','csv','','','','','')"
            )
        )
        c.execute(
            text(
                "insert into features(id,source_id,layer,external_id,name,geometry,lat,lon,properties) "
                "values(1,1,'air_station','x','x','{}',1,1,'{}')"
            )
        )
        c.execute(
            text("insert into observations(feature_id,time,metric,value,unit) values(1,'2024-01-01','pm25',1,'u')")
        )
        c.execute(
            text(
                "insert into officials(id,email,password_hash,role,active,created_at) "
                "values(1,'a@city.example','x','admin',true,'2024-01-01')"
            )
        )
        c.execute(
            text(
                "insert into comments(id,created_at,updated_at,lat,lon,public_lat,public_lon,category,text,status,"
                "moderation,support_count,flag_count,origin,feature_id) values(1,'2024-01-01','2024-01-01',1,1,1,1,"
                "'air','The air smells of smoke.','new','published',0,0,'web',1)"
            )
        )
        c.execute(
            text("insert into comment_events(comment_id,created_at,kind,official_id) values(1,'2024-01-01','status',1)")
        )

    def kept() -> tuple:
        with eng.connect() as c:
            return (
                c.execute(text("select count(*) from observations")).scalar(),
                c.execute(text("select feature_id from comments")).scalar(),
                c.execute(text("select official_id from comment_events")).scalar(),
            )

    migrate(eng)
    assert kept() == (1, 1, 1)
    with eng.begin() as c:
        command.downgrade(alembic_config(c), "0601")
    assert kept() == (1, 1, 1)
    eng.dispose()
