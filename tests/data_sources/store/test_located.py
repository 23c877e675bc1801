"""Features and comments share their H3 cells and district through the ``Located`` mixin; the tables stay as the
migrations made them, column for column and in the same order (what a ``SELECT`` of the table hands pandas)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, inspect

from data_sources.store.models import H3_RESOLUTIONS, Comment, Feature, Located

LOCATED_COLUMNS = [*(f"h3_r{r}" for r in H3_RESOLUTIONS), "district_id"]


@pytest.mark.parametrize("model", [Feature, Comment])
def test_located_tables_have_the_migrated_columns_in_the_migrated_order(any_engine: Engine, model: type) -> None:
    table = model.__table__
    migrated = inspect(any_engine).get_columns(table.name)
    assert [c.name for c in table.columns] == [c["name"] for c in migrated]
    names = [c.name for c in table.columns]
    start = names.index("h3_r6")
    assert names[start : start + len(LOCATED_COLUMNS)] == LOCATED_COLUMNS  # one block, right after the location


def test_the_district_is_a_foreign_key_that_only_comments_index(any_engine: Engine) -> None:
    assert issubclass(Feature, Located) and issubclass(Comment, Located)
    for model, indexed in ((Feature, False), (Comment, True)):
        fks = {fk["constrained_columns"][0]: fk for fk in inspect(any_engine).get_foreign_keys(model.__tablename__)}
        assert fks["district_id"]["referred_table"] == "districts"
        assert fks["district_id"]["options"].get("ondelete") == "SET NULL"
        indexed_columns = {c for ix in inspect(any_engine).get_indexes(model.__tablename__) for c in ix["column_names"]}
        assert ("district_id" in indexed_columns) is indexed
        assert bool(model.__table__.c.district_id.index) is indexed
