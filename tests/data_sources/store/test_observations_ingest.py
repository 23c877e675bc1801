"""The observations write path at scale: COPY on PostgreSQL, one executemany on SQLite; months partitions on
PostgreSQL (created ahead, by imports, the default one), retention, and the migration that partitions an
existing table without losing a row."""

from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
from alembic import command
from sqlalchemy import func, select, text

from data_sources.store.db import (
    alembic_config,
    make_engine,
    migrate,
    observation_frame,
    open_store,
    upsert_observations,
    upsert_source,
)
from data_sources.store.models import Feature, Observation
from data_sources.store.partitions import (
    DEFAULT_PARTITION,
    drop_months_before,
    ensure_months,
    existing_months,
    maintain_observations,
)


def _features(engine, n: int = 3) -> dict[str, int]:
    sid = upsert_source(engine, "stations", "csv")
    with engine.begin() as c:
        for i in range(n):
            c.execute(
                Feature.__table__.insert().values(
                    source_id=sid,
                    layer="air_station",
                    external_id=f"s{i}",
                    name=f"S{i}",
                    geometry='{"type":"Point","coordinates":[0,0]}',
                    lat=0,
                    lon=0,
                    properties={},
                )
            )
        return dict(c.execute(select(Feature.external_id, Feature.id)).all())


def _hourly(ids: list[str], start: str, hours: int, metric: str = "pm25", seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    times = pd.date_range(start, periods=hours, freq="h", tz="UTC")
    return pd.DataFrame(
        {
            "external_id": np.repeat(ids, hours),
            "time": np.tile(times, len(ids)),
            "metric": metric,
            "value": rng.gamma(2.0, 5.0, hours * len(ids)).round(3),
            "unit": "µg/m³",
        }
    )


def _stored(engine) -> list[tuple]:
    with engine.connect() as c:
        return [
            tuple(r)
            for r in c.execute(
                select(
                    Observation.feature_id, Observation.time, Observation.metric, Observation.value, Observation.unit
                ).order_by(Observation.feature_id, Observation.metric, Observation.time)
            )
        ]


def test_the_rows_stored_are_exactly_the_rows_given_and_a_second_import_adds_nothing(any_engine):
    """Values to the last bit, units with commas, quotes and empty text, times across a month boundary; the same
    payload twice is stored once."""
    ids = _features(any_engine)
    df = pd.concat(
        [
            _hourly(list(ids), "2026-01-31T20:00:00Z", 10),
            pd.DataFrame(
                {
                    "external_id": ["s0", "s1", "s2"],
                    "time": ["2026-02-03T00:00:00Z"] * 3,
                    "metric": ["pm25", 'odd "metric", with comma', "pm25"],
                    "value": [0.1 + 0.2, -1e-300, 123456789.123456789],
                    "unit": ["", "a,b", '"quoted"'],
                }
            ),
        ]
    )
    assert upsert_observations(any_engine, ids, df) == len(df) == 33
    expected = sorted(
        (ids[r.external_id], pd.Timestamp(r.time).tz_convert(None).to_pydatetime(), r.metric, r.value, r.unit)
        for r in df.itertuples()
    )
    assert sorted(_stored(any_engine)) == expected
    assert upsert_observations(any_engine, ids, df) == 0
    assert sorted(_stored(any_engine)) == expected


def test_conflicting_rows_keep_the_stored_value_and_count_only_the_new_ones(any_engine):
    ids = _features(any_engine)
    first = _hourly(["s0"], "2026-03-01T00:00:00Z", 48)
    assert upsert_observations(any_engine, ids, first) == 48
    again = _hourly(["s0", "s1"], "2026-03-02T00:00:00Z", 48, seed=9)  # s0's first 24 h are stored already
    assert upsert_observations(any_engine, ids, again) == 24 + 48
    with any_engine.connect() as c:
        kept = c.execute(
            select(Observation.value).where(
                Observation.feature_id == ids["s0"], Observation.time == datetime(2026, 3, 2, 5)
            )
        ).scalar_one()
    assert kept == first.loc[29, "value"]  # the stored value, not the re-import's
    assert len(_stored(any_engine)) == 48 + 24 + 48


def test_a_command_line_import_shows_a_progress_bar(engine, capsys):
    ids = _features(engine, 2)
    df = _hourly(list(ids), "2025-01-01T00:00:00Z", 20_000)
    assert upsert_observations(engine, ids, df, progress=True) == 40_000
    assert "40000/40000" in capsys.readouterr().err
    assert upsert_observations(engine, ids, df) == 0
    assert "observations" not in capsys.readouterr().err  # no bar unless asked (the web app never asks)


@pytest.fixture
def pg_engine(any_url):
    if not any_url.startswith("postgresql"):
        pytest.skip("partitions are PostgreSQL's")
    eng = open_store(any_url)
    yield eng
    eng.dispose()


def _partition_of(engine, when: datetime) -> str:
    with engine.connect() as c:
        return c.execute(
            text("SELECT tableoid::regclass::text FROM observations WHERE time = :t LIMIT 1"), {"t": when}
        ).scalar_one()


@pytest.mark.postgres
def test_an_import_creates_the_months_it_writes_and_moves_early_rows_out_of_the_default_partition(pg_engine):
    ids = _features(pg_engine)
    with pg_engine.begin() as c:  # a row of a month without partition (as any other writer could store it)
        c.execute(
            Observation.__table__.insert().values(
                feature_id=ids["s0"], time=datetime(2019, 5, 3, 7), metric="no2", value=4.0, unit="µg/m³"
            )
        )
    assert _partition_of(pg_engine, datetime(2019, 5, 3, 7)) == DEFAULT_PARTITION
    with pg_engine.connect() as c:
        assert date(2019, 5, 1) not in existing_months(c)
    df = _hourly(list(ids), "2019-05-31T22:00:00Z", 4)  # May and June 2019
    assert upsert_observations(pg_engine, ids, df) == 12
    assert _partition_of(pg_engine, datetime(2019, 5, 31, 23)) == "observations_201905"
    assert _partition_of(pg_engine, datetime(2019, 6, 1, 1)) == "observations_201906"
    assert _partition_of(pg_engine, datetime(2019, 5, 3, 7)) == "observations_201905"  # moved, not lost
    with pg_engine.connect() as c:
        assert c.execute(text(f"SELECT count(*) FROM {DEFAULT_PARTITION}")).scalar_one() == 0
        assert c.execute(select(func.count()).select_from(Observation)).scalar_one() == 13
    assert ensure_months(pg_engine, [date(2019, 5, 1)]) == []  # already there


@pytest.mark.postgres
def test_the_refresh_worker_creates_months_ahead_and_a_far_future_row_still_finds_a_home(pg_engine):
    done = maintain_observations(pg_engine, datetime(2031, 11, 15, 12), 0)
    assert done["created"] == [
        "observations_203111",
        "observations_203112",
        "observations_203201",
        "observations_203202",
    ]
    assert maintain_observations(pg_engine, datetime(2031, 11, 20), 0)["created"] == []
    ids = _features(pg_engine, 1)
    with pg_engine.begin() as c:
        c.execute(
            Observation.__table__.insert().values(
                feature_id=ids["s0"], time=datetime(2099, 1, 1), metric="pm25", value=1.0, unit="µg/m³"
            )
        )
    assert _partition_of(pg_engine, datetime(2099, 1, 1)) == DEFAULT_PARTITION


def test_retention_removes_only_the_months_before_the_cutoff(any_engine):
    ids = _features(any_engine, 1)
    df = _hourly(["s0"], "2025-10-01T00:00:00Z", 24 * (31 + 30 + 31 + 31))  # October 2025 to January 2026
    assert upsert_observations(any_engine, ids, df) == len(df)
    done = maintain_observations(any_engine, datetime(2026, 1, 10), retention_months=2)  # keep Nov 2025 onwards
    with any_engine.connect() as c:
        oldest = c.execute(select(func.min(Observation.time))).scalar_one()
        left = c.execute(select(func.count()).select_from(Observation)).scalar_one()
    assert oldest == datetime(2025, 11, 1)
    assert left == 24 * (30 + 31 + 31)
    if any_engine.dialect.name == "postgresql":
        assert done["dropped"] == ["observations_202510"]
        with any_engine.connect() as c:
            months = existing_months(c)
        assert date(2025, 10, 1) not in months and date(2025, 11, 1) in months
    else:
        assert done["deleted"] == 24 * 31
    assert drop_months_before(any_engine, date(2025, 11, 1))["deleted"] == 0  # nothing more to remove


@pytest.mark.postgres
def test_migration_0801_partitions_an_existing_table_keeping_every_row(any_url):
    """Rows stored before 0801 (an ordinary table) are all there after it, in their months' partitions; new rows
    get new ids from the same sequence; and the way back keeps them too."""
    if not any_url.startswith("postgresql"):
        pytest.skip("0801 changes PostgreSQL only")
    eng = make_engine(any_url)
    migrate(eng, "0703")
    ids = _features(eng)
    df = pd.concat([_hourly(list(ids), "2023-12-25T00:00:00Z", 24 * 20), _hourly(list(ids), "2026-02-01", 5, "no2")])
    # written as the code of 0703 could: an ordinary table, no partitions and no rollups (0802) yet
    frame = observation_frame(ids, df)
    with eng.begin() as c:
        c.execute(
            Observation.__table__.insert(), frame.assign(time=frame["time"].dt.to_pydatetime()).to_dict("records")
        )
    assert len(frame) == len(df)
    before = _stored(eng)
    with eng.connect() as c:
        assert c.execute(text("SELECT relkind FROM pg_class WHERE relname = 'observations'")).scalar_one() == "r"
        top = c.execute(select(func.max(Observation.id))).scalar_one()
    migrate(eng)
    assert _stored(eng) == before
    with eng.connect() as c:
        assert c.execute(text("SELECT relkind FROM pg_class WHERE relname = 'observations'")).scalar_one() == "p"
        assert {date(2023, 12, 1), date(2024, 1, 1), date(2026, 2, 1)} <= existing_months(c)
        assert c.execute(text(f"SELECT count(*) FROM {DEFAULT_PARTITION}")).scalar_one() == 0
        brin = c.execute(text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_observations_time_brin'"))
        assert "brin" in brin.scalar_one()
    assert _partition_of(eng, datetime(2023, 12, 31, 23)) == "observations_202312"
    assert upsert_observations(eng, ids, _hourly(["s0"], "2026-02-01T05:00:00Z", 1, "no2")) == 1
    with eng.connect() as c:
        assert c.execute(select(func.max(Observation.id))).scalar_one() == top + 1
    after = _stored(eng)
    with eng.begin() as c:
        command.downgrade(alembic_config(c), "0703")
    assert _stored(eng) == after
    with eng.connect() as c:
        assert c.execute(text("SELECT relkind FROM pg_class WHERE relname = 'observations'")).scalar_one() == "r"
    eng.dispose()


@pytest.mark.postgres
def test_a_long_reader_never_holds_an_import_up_its_rows_wait_in_the_default_partition(pg_engine, monkeypatch):
    """Another transaction is reading observations (a long query): creating a month needs the default partition
    to itself and would queue every later reader behind it, so the partition change gives up after
    LOCK_TIMEOUT_MS, the rows go to the default partition, and the next month creation moves them."""
    import time

    from data_sources.store import partitions

    monkeypatch.setattr(partitions, "LOCK_TIMEOUT_MS", 300)
    ids = _features(pg_engine)
    with pg_engine.connect() as busy:
        busy.exec_driver_sql("BEGIN")
        busy.exec_driver_sql("SELECT count(*) FROM observations")  # its locks last until its transaction ends
        t0 = time.perf_counter()
        assert upsert_observations(pg_engine, ids, _hourly(["s0"], "2018-03-01T00:00:00Z", 3)) == 3
        assert time.perf_counter() - t0 < 10
        busy.exec_driver_sql("ROLLBACK")
    assert _partition_of(pg_engine, datetime(2018, 3, 1, 1)) == DEFAULT_PARTITION
    assert ensure_months(pg_engine, [date(2018, 3, 1)]) == [date(2018, 3, 1)]
    assert _partition_of(pg_engine, datetime(2018, 3, 1, 1)) == "observations_201803"


def test_the_refresh_worker_applies_the_retention_setting(tmp_path):
    """CITYDASH_OBSERVATIONS_RETENTION_MONTHS=1: on its first tick the worker removes what is older than last
    month, and says so."""
    import json
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from data_sources.store.db import utcnow
    from data_sources.store.partitions import add_months, month_start

    root = Path(__file__).resolve().parents[3]
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    engine = open_store(url)
    ids = _features(engine, 1)
    cutoff = add_months(month_start(utcnow()), -1)
    old = datetime(cutoff.year, cutoff.month, 1) - pd.Timedelta(hours=5)
    assert upsert_observations(engine, ids, _hourly(["s0"], old.isoformat() + "Z", 10)) == 10  # 5 before, 5 after
    env = {
        **os.environ,
        "PYTHONPATH": str(root),
        "CITYDASH_DATA_DIR": str(tmp_path),
        "CITYDASH_DATABASE_URL": url,
        "CITYDASH_CITY": str(root / "cities" / "demo.toml"),
        "CITYDASH_OBSERVATIONS_RETENTION_MONTHS": "1",
        "CITYDASH_OBSERVATIONS_ARCHIVE_DIR": str(tmp_path / "archive"),
    }
    p = subprocess.Popen(
        [sys.executable, "-m", "dashboard.cli", "refresh", "--every", "1h"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = p.stdout.readline()
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    name = f"observations-{old.year:04d}-{old.month:02d}.csv.gz"
    assert json.loads(first)["observations"] == {"created": [], "dropped": [], "deleted": 5, "archived": [name]}
    with engine.connect() as c:
        assert c.execute(select(func.min(Observation.time))).scalar_one() == datetime(cutoff.year, cutoff.month, 1)
    assert len(pd.read_csv(tmp_path / "archive" / name)) == 5
    engine.dispose()


def _archive(path) -> list[tuple]:
    import csv
    import gzip

    with gzip.open(path, "rt", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["feature_id", "time", "metric", "value", "unit"]
    return [(int(fid), datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ"), m, float(v), u) for fid, t, m, v, u in rows[1:]]


def test_retention_archives_every_reading_it_removes_first_and_never_overwrites_an_archive(any_engine, tmp_path):
    """With an archive folder, the readings retention removes are written first, one gzip CSV per month, to the
    last bit (odd metrics and units included; on PostgreSQL also rows that waited in the default partition); a
    late reading of a month archived before gets a file of its own."""
    ids = _features(any_engine, 2)
    df = pd.concat(
        [
            _hourly(list(ids)[:2], "2025-10-30T00:00:00Z", 24 * 5),  # end of October, start of November
            pd.DataFrame(
                {
                    "external_id": ["s1", "s1"],
                    "time": ["2025-10-02T00:00:00Z", "2025-10-02T01:00:00Z"],
                    "metric": ['odd "metric", with comma', "pm25"],
                    "value": [0.1 + 0.2, -1e-300],
                    "unit": ["a,b", '"quoted"'],
                }
            ),
        ]
    )
    assert upsert_observations(any_engine, ids, df) == len(df)
    with any_engine.begin() as c:  # written around upsert_observations: on PostgreSQL no month 2018-03 exists
        c.execute(
            Observation.__table__.insert(),
            [
                {"feature_id": ids["s0"], "time": datetime(2018, 3, 5, h), "metric": "no2", "value": h, "unit": ""}
                for h in range(3)
            ],
        )
    before = _stored(any_engine)
    removed = sorted(r for r in before if r[1] < datetime(2025, 11, 1))
    folder = tmp_path / "archive"
    done = maintain_observations(any_engine, datetime(2026, 1, 10), retention_months=2, archive_dir=folder)
    assert done["archived"] == ["observations-2018-03.csv.gz", "observations-2025-10.csv.gz"]
    archived = sorted(
        _archive(folder / "observations-2018-03.csv.gz") + _archive(folder / "observations-2025-10.csv.gz")
    )
    assert archived == removed and len(removed) == 3 + 2 * 48 + 2
    assert _stored(any_engine) == [r for r in before if r[1] >= datetime(2025, 11, 1)]
    assert sorted(p.name for p in folder.iterdir()) == done["archived"]  # no temporary file left

    first = (folder / "observations-2025-10.csv.gz").read_bytes()
    late = _hourly(["s0"], "2025-10-15T00:00:00Z", 1, metric="no2")
    assert upsert_observations(any_engine, ids, late) == 1
    again = drop_months_before(any_engine, date(2025, 11, 1), folder)
    assert again["archived"] == ["observations-2025-10.2.csv.gz"]
    assert _archive(folder / "observations-2025-10.2.csv.gz") == [
        (ids["s0"], datetime(2025, 10, 15), "no2", late.loc[0, "value"], "µg/m³")
    ]
    assert (folder / "observations-2025-10.csv.gz").read_bytes() == first


def test_an_archive_that_cannot_be_written_removes_nothing(any_engine, tmp_path):
    ids = _features(any_engine, 1)
    assert upsert_observations(any_engine, ids, _hourly(["s0"], "2025-10-30T00:00:00Z", 72)) == 72
    before = _stored(any_engine)
    (tmp_path / "here").mkdir()
    blocked = tmp_path / "here" / "not-a-folder"
    blocked.write_text("a file where the archive folder should be")
    with pytest.raises(OSError):
        drop_months_before(any_engine, date(2025, 11, 1), blocked)
    assert _stored(any_engine) == before
    assert list((tmp_path / "here").iterdir()) == [blocked]


def test_an_archive_that_fails_half_way_leaves_no_file_and_removes_nothing(any_engine, tmp_path, monkeypatch):
    """The disk fills while the second month is written: the first month's file goes too, and every reading stays."""
    import os

    from data_sources.store import partitions

    ids = _features(any_engine, 1)
    assert upsert_observations(any_engine, ids, _hourly(["s0"], "2025-09-25T00:00:00Z", 24 * 40)) == 960
    before = _stored(any_engine)
    renamed, real_replace = [], os.replace

    def replace(src, dst):
        if renamed:
            raise OSError(28, "No space left on device")
        renamed.append(dst)
        real_replace(src, dst)

    monkeypatch.setattr(partitions.os, "replace", replace)
    with pytest.raises(OSError, match="No space"):
        drop_months_before(any_engine, date(2025, 11, 1), tmp_path / "archive")
    assert [p.name for p in renamed] == ["observations-2025-09.csv.gz"]  # written, then removed again
    assert list((tmp_path / "archive").iterdir()) == []
    assert _stored(any_engine) == before


@pytest.mark.postgres
def test_an_archived_month_goes_back_into_postgresql_with_copy(pg_engine, tmp_path):
    """README's way back: COPY the file into observations (as psql's \\copy does); the readings are as they were."""
    import gzip

    ids = _features(pg_engine, 2)
    assert upsert_observations(pg_engine, ids, _hourly(list(ids)[:2], "2025-10-20T00:00:00Z", 24 * 20)) == 960
    before = _stored(pg_engine)
    done = drop_months_before(pg_engine, date(2025, 11, 1), tmp_path)
    assert done["archived"] == ["observations-2025-10.csv.gz"] and len(_stored(pg_engine)) < len(before)
    with pg_engine.begin() as c, c.connection.driver_connection.cursor() as cur:
        with cur.copy(
            "COPY observations (feature_id, time, metric, value, unit) FROM STDIN WITH (FORMAT csv, HEADER)"
        ) as copy:
            copy.write(gzip.decompress((tmp_path / "observations-2025-10.csv.gz").read_bytes()))
    assert _stored(pg_engine) == before


@pytest.mark.postgres
def test_a_partitioned_store_restores_from_its_backup_and_a_bad_file_changes_nothing(pg_engine, tmp_path):
    from data_sources.operations import backup, restore

    ids = _features(pg_engine)
    assert upsert_observations(pg_engine, ids, _hourly(list(ids), "2024-12-31T20:00:00Z", 8)) == 24
    kept = _stored(pg_engine)
    dump = backup(pg_engine, tmp_path / "b.dump")
    assert upsert_observations(pg_engine, ids, _hourly(["s0"], "2025-03-01T00:00:00Z", 5)) == 5
    restore(pg_engine, dump)
    assert _stored(pg_engine) == kept
    assert _partition_of(pg_engine, datetime(2025, 1, 1, 1)) == "observations_202501"
    bad = tmp_path / "bad.dump"
    bad.write_bytes(b"not a dump")
    with pytest.raises(RuntimeError, match="pg_restore failed"):
        restore(pg_engine, bad)
    assert _stored(pg_engine) == kept


def _rollup_rows(engine, feature_id: int) -> int:
    from data_sources.store.models import ObservationRollup

    with engine.connect() as c:
        return c.scalar(select(func.count()).where(ObservationRollup.feature_id == feature_id))


def test_a_reading_for_a_feature_that_does_not_exist_fails_its_whole_statement(any_engine):
    """Writes that go around upsert_observations (which drops unknown features) are still checked by the store:
    on PostgreSQL once per statement (migration 0904), on SQLite by its foreign key."""
    from sqlalchemy.exc import IntegrityError

    ids = _features(any_engine, 1)
    rows = [
        {"feature_id": ids["s0"], "time": datetime(2026, 3, 1, h), "metric": "pm25", "value": 1.0, "unit": ""}
        for h in range(3)
    ]
    rows[1]["feature_id"] = max(ids.values()) + 1000
    with pytest.raises(IntegrityError), any_engine.begin() as c:
        c.execute(Observation.__table__.insert(), rows)
    assert _stored(any_engine) == []


def test_deleting_a_feature_deletes_its_readings_and_rollups_and_keeps_the_others(any_engine):
    ids = _features(any_engine, 3)
    assert upsert_observations(any_engine, ids, _hourly(list(ids), "2026-03-01T00:00:00Z", 30)) == 90
    with any_engine.begin() as c:
        c.execute(Feature.__table__.delete().where(Feature.id.in_([ids["s0"], ids["s1"]])))
    assert {r[0] for r in _stored(any_engine)} == {ids["s2"]}
    assert len(_stored(any_engine)) == 30
    assert _rollup_rows(any_engine, ids["s0"]) == 0
    assert _rollup_rows(any_engine, ids["s2"]) > 0


@pytest.mark.postgres
def test_a_feature_being_written_cannot_be_deleted_until_the_import_commits(pg_engine):
    """The statement-level check (migration 0904) locks the features it wrote readings for, as the foreign key
    did: a delete of one waits for the import's commit, then takes its readings with it; an id never changes."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    ids = _features(pg_engine, 2)
    with pg_engine.connect() as importer, pg_engine.connect() as deleter:
        importer.exec_driver_sql("BEGIN")
        importer.execute(
            Observation.__table__.insert(),
            [{"feature_id": ids["s0"], "time": datetime(2026, 3, 1), "metric": "pm25", "value": 2.0, "unit": ""}],
        )
        deleter.exec_driver_sql("BEGIN")
        deleter.exec_driver_sql("SET LOCAL lock_timeout = '300ms'")
        with pytest.raises(OperationalError, match="lock timeout"):
            deleter.execute(Feature.__table__.delete().where(Feature.id == ids["s0"]))
        deleter.exec_driver_sql("ROLLBACK")
        # the other feature was not written: nothing holds it
        deleter.exec_driver_sql("BEGIN")
        deleter.execute(Feature.__table__.delete().where(Feature.id == ids["s1"]))
        deleter.exec_driver_sql("ROLLBACK")
        importer.exec_driver_sql("COMMIT")
    assert len(_stored(pg_engine)) == 1
    with pytest.raises(DBAPIError, match="does not change"), pg_engine.begin() as c:
        c.execute(Feature.__table__.update().where(Feature.id == ids["s0"]).values(id=ids["s0"] + 1000))
    with pg_engine.begin() as c:
        c.execute(Feature.__table__.delete().where(Feature.id == ids["s0"]))
    assert _stored(pg_engine) == []


@pytest.mark.postgres
def test_migration_0904_trades_the_foreign_key_for_statement_checks_and_back(pg_engine):
    """0904 drops observations' foreign key (a lookup and lock per reading) for statement-level triggers; its
    downgrade restores the foreign key, and every reading stays."""

    def state() -> tuple[int, int]:
        with pg_engine.connect() as c:
            fks = c.scalar(
                text("SELECT count(*) FROM pg_constraint WHERE conname = 'fk_observations_feature_id_features'")
            )
            triggers = c.scalar(
                text(
                    "SELECT count(*) FROM pg_trigger WHERE tgname LIKE ANY (ARRAY['observations_feature_check%', "
                    "'features_delete_observations', 'features_keep_id'])"
                )
            )
        return fks, triggers

    ids = _features(pg_engine, 2)
    assert upsert_observations(pg_engine, ids, _hourly(list(ids), "2026-03-01T00:00:00Z", 5)) == 10
    before = _stored(pg_engine)
    assert state() == (0, 4)
    with pg_engine.begin() as c:
        command.downgrade(alembic_config(c), "0903")
    assert state()[0] >= 1 and state()[1] == 0  # the partitioned table's key and its partitions' copies
    assert _stored(pg_engine) == before
    migrate(pg_engine)
    assert state() == (0, 4)
    assert _stored(pg_engine) == before
