"""Ingest into a database that is not DuckDB (PostgreSQL for a team).

The file is read and checked exactly as on DuckDB, in an in-memory DuckDB that holds the schema;
the accepted and rejected rows then go to the real database inside the caller's one transaction
(COPY on PostgreSQL, see storage/bulk.py; SQLAlchemy inserts in batches elsewhere).

The catalog that logs refer to is copied into the in-memory database under CATALOG_IN_MEMORY, an
id its sequence never hands out: the in-memory database numbers the new dataset 1, so a catalog
copied under its real id 1 used to have its products copied out again as the new dataset's.
"""
from __future__ import annotations

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.pool import StaticPool

from storage import datasets as store
from storage import tables
from storage.db import INGEST_TABLES, quiet

CATALOG_IN_MEMORY = 0  # sequences start at 1, so this never names the dataset being ingested


def ingest_elsewhere(conn: Connection, info, kind: str, name: str, mapping: dict | None,
                     catalog_dataset_id: int | None, progress, ingest_duckdb):
    engine = create_engine("duckdb:///:memory:", poolclass=StaticPool)
    event.listen(engine, "connect", quiet)
    with engine.begin() as memory:
        # Only what an ingest touches: the whole schema's DDL cost more than the checks on a small file.
        tables.metadata.create_all(memory, tables=[tables.datasets, *(tables.metadata.tables[n] for n in INGEST_TABLES)])
        memory_catalog = None
        if catalog_dataset_id is not None:
            known = store.read_products(conn, catalog_dataset_id)[["product_id", "title"]]
            store.insert_dataset_rows(memory, "products", known.assign(dataset_id=CATALOG_IN_MEMORY))
            memory_catalog = CATALOG_IN_MEMORY
        raw = memory.connection.driver_connection
        result = ingest_duckdb(memory, raw, info, kind, name, mapping, memory_catalog, progress)
        if result.already_present:  # a dataset of the real database already holds these rows
            return result
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
