"""The store: schema (models), Alembic migrations, engine and upserts, district polygons, reads as DataFrames."""
