"""Ingest into a database that is not DuckDB (PostgreSQL for a team).

The file is read and checked exactly as on DuckDB, in an in-memory DuckDB that holds the schema;
the accepted and rejected rows then go to the real database through SQLAlchemy in batches, inside
the caller's one transaction.
"""
from __future__ import annotations

from sqlalchemy import Connection, create_engine
from sqlalchemy.pool import StaticPool

from storage import datasets as store
from storage import tables
from storage.db import INGEST_TABLES


def ingest_elsewhere(conn: Connection, info, kind: str, name: str, mapping: dict | None,
                     catalog_dataset_id: int | None, progress, ingest_duckdb):
    engine = create_engine("duckdb:///:memory:", poolclass=StaticPool)
    with engine.begin() as memory:
        tables.metadata.create_all(memory)
        if catalog_dataset_id is not None:
            known = store.read_products(conn, catalog_dataset_id)[["product_id", "title"]]
            store.insert_dataset_rows(memory, "products", known.assign(dataset_id=catalog_dataset_id))
        raw = memory.connection.driver_connection
        result = ingest_duckdb(memory, raw, info, kind, name, mapping, catalog_dataset_id, progress)
        row = store.get_dataset(memory, result.dataset_id)
        dataset_id = store.create_dataset(conn, name=name, kind=kind, source_file=info.name,
                                          content_hash=info.sha256, encoding=info.encoding,
                                          mapping=row["mapping"], catalog_dataset_id=catalog_dataset_id)
        for table_name in INGEST_TABLES:
            frame = store.read_dataset_rows(memory, table_name, result.dataset_id)
            store.insert_dataset_rows(conn, table_name, frame.assign(dataset_id=dataset_id))
        store.set_dataset_counts(conn, dataset_id, result.rows_accepted, result.rows_rejected)
    engine.dispose()
    result.dataset_id = dataset_id
    return result
