"""Datasets (one ingested file each) and their rows: products, search events, labeled pairs,
rejected rows. Reads return DataFrames in one query; the bulk writes of ingest live in
`storage/staging.py`.

    with begin() as conn:
        products = read_products(conn, dataset_id)
"""
from __future__ import annotations

import json

import pandas as pd
from sqlalchemy import Connection, func, select

from storage import bulk, tables
from storage.clock import utc_now
from storage.db import fetch_frame, read_row

PRODUCT_COLUMNS = ["product_id", "title", "description", "category", "brand", "price", "attributes"]
EVENT_COLUMNS = [
    "query", "product_id", "position", "clicked", "added_to_cart", "purchased", "session_id", "timestamp", "user_id",
]
PAIR_COLUMNS = ["query", "product_id", "label_raw", "label"]
REJECTED_COLUMNS = ["line", "column_name", "reason", "raw"]
DATASET_COLUMNS = [
    "id", "name", "kind", "source_file", "encoding", "rows_accepted", "rows_rejected", "catalog_dataset_id", "created_at",
]


def create_dataset(
    conn: Connection,
    *,
    name: str,
    kind: str,
    source_file: str | None,
    content_hash: str | None,
    encoding: str | None,
    mapping: dict,
    catalog_dataset_id: int | None = None,
) -> int:
    return conn.execute(
        tables.datasets.insert()
        .values(
            name=name,
            kind=kind,
            source_file=source_file,
            content_hash=content_hash,
            encoding=encoding,
            mapping=json.dumps(mapping),
            rows_accepted=0,
            rows_rejected=0,
            catalog_dataset_id=catalog_dataset_id,
            created_at=utc_now(),
        )
        .returning(tables.datasets.c.id)
    ).scalar_one()


def set_dataset_counts(conn: Connection, dataset_id: int, rows_accepted: int, rows_rejected: int) -> None:
    t = tables.datasets
    conn.execute(t.update().where(t.c.id == dataset_id).values(rows_accepted=rows_accepted, rows_rejected=rows_rejected))


def find_datasets_by_hash(conn: Connection, content_hash: str, kind: str) -> list[dict]:
    """The datasets that hold exactly these bytes as this kind, oldest first: id, name, encoding,
    mapping (parsed) and catalog_dataset_id, what ingest compares to tell a re-run from new options."""
    t = tables.datasets
    query = (select(t.c.id, t.c.name, t.c.encoding, t.c.mapping, t.c.catalog_dataset_id)
             .where(t.c.content_hash == content_hash, t.c.kind == kind).order_by(t.c.id))
    return [{**row, "mapping": json.loads(row["mapping"]) if row["mapping"] else {}}
            for row in conn.execute(query).mappings()]


def newest_dataset_id(conn: Connection, kind: str) -> int | None:
    t = tables.datasets
    return conn.execute(select(func.max(t.c.id)).where(t.c.kind == kind)).scalar_one()


def get_dataset(conn: Connection, dataset_id: int) -> dict:
    t = tables.datasets
    return read_row(conn, select(t).where(t.c.id == dataset_id),
                    f"no dataset with id {dataset_id}; the Data page or `python -m workbench ingest` adds one",
                    {"mapping": dict})


def list_datasets(conn: Connection, kind: str | None = None) -> pd.DataFrame:
    """Every dataset, newest first, optionally one kind ('catalog' | 'logs' | 'pairs')."""
    t = tables.datasets
    query = select(*[t.c[c] for c in DATASET_COLUMNS]).order_by(t.c.id.desc())
    if kind is not None:
        query = query.where(t.c.kind == kind)
    return pd.DataFrame(conn.execute(query).mappings().all(), columns=DATASET_COLUMNS)


def read_products(conn: Connection, dataset_id: int) -> pd.DataFrame:
    """The products of a catalog (or of a labeled-pairs dataset that carried titles)."""
    t = tables.products
    query = select(*[t.c[c] for c in PRODUCT_COLUMNS]).where(t.c.dataset_id == dataset_id).order_by(t.c.product_id)
    return fetch_frame(conn, query)


def read_events(conn: Connection, dataset_id: int) -> pd.DataFrame:
    """The search events of a logs dataset, in file order."""
    t = tables.search_events
    query = select(*[t.c[c] for c in EVENT_COLUMNS]).where(t.c.dataset_id == dataset_id)
    return fetch_frame(conn, query)


def read_pairs(conn: Connection, dataset_id: int) -> pd.DataFrame:
    """The labeled pairs of a pairs dataset, in file order."""
    t = tables.labeled_pairs
    query = select(*[t.c[c] for c in PAIR_COLUMNS]).where(t.c.dataset_id == dataset_id)
    return fetch_frame(conn, query)


def read_rejected_rows(conn: Connection, dataset_id: int, limit: int | None = None) -> pd.DataFrame:
    """Rows set aside at ingest, by line, with the column and the reason."""
    t = tables.rejected_rows
    query = select(*[t.c[c] for c in REJECTED_COLUMNS]).where(t.c.dataset_id == dataset_id).order_by(t.c.line)
    if limit is not None:
        query = query.limit(limit)
    return fetch_frame(conn, query)


def count_rejections(conn: Connection, dataset_id: int) -> dict[str, int]:
    """Reason -> number of rows set aside for it."""
    t = tables.rejected_rows
    query = select(t.c.reason, func.count()).where(t.c.dataset_id == dataset_id).group_by(t.c.reason)
    return {reason: count for reason, count in conn.execute(query.order_by(func.count().desc(), t.c.reason))}


def delete_dataset(conn: Connection, dataset_id: int) -> None:
    """A dataset and every row it brought in (products, events, pairs, rejected rows)."""
    get_dataset(conn, dataset_id)
    for t in (tables.products, tables.search_events, tables.labeled_pairs, tables.rejected_rows):
        conn.execute(t.delete().where(t.c.dataset_id == dataset_id))
    conn.execute(tables.datasets.delete().where(tables.datasets.c.id == dataset_id))


BATCH_ROWS = 10_000


def read_dataset_rows(conn: Connection, table_name: str, dataset_id: int) -> pd.DataFrame:
    """Every row a dataset put in one of INGEST_TABLES, all columns (to copy it to another database)."""
    t = tables.metadata.tables[table_name]
    return fetch_frame(conn, select(t).where(t.c.dataset_id == dataset_id))


def insert_dataset_rows(conn: Connection, table_name: str, frame: pd.DataFrame) -> None:
    """Insert a frame's rows (columns named as the table's): Arrow on DuckDB, COPY on PostgreSQL,
    else SQLAlchemy in batches."""
    if conn.dialect.name == "postgresql":
        bulk.copy_in(conn, tables.metadata.tables[table_name], frame)
        return
    if conn.dialect.name == "duckdb":
        raw = conn.connection.driver_connection
        raw.register("_new_rows", frame)
        try:
            columns = ", ".join(f'"{c}"' for c in frame.columns)
            raw.execute(f'INSERT INTO "{table_name}" ({columns}) SELECT {columns} FROM _new_rows')
        finally:
            raw.unregister("_new_rows")
        return
    frame = frame.astype(object).where(frame.notna(), None)
    records = frame.to_dict("records")
    for start in range(0, len(records), BATCH_ROWS):
        conn.execute(tables.metadata.tables[table_name].insert(), records[start:start + BATCH_ROWS])


def count_table_rows(conn: Connection) -> dict[str, int]:
    """Rows in every table: a snapshot to prove a failed ingest left the database as it was."""
    return {
        name: conn.execute(select(func.count()).select_from(t)).scalar_one()
        for name, t in sorted(tables.metadata.tables.items())
    }


def count_queries(conn: Connection, dataset_id: int, limit: int = 5000) -> pd.DataFrame:
    """The `limit` most frequent queries of a logs or pairs dataset: query, n (events or pairs), most frequent first."""
    dataset = get_dataset(conn, dataset_id)
    t = tables.search_events if dataset["kind"] == "logs" else tables.labeled_pairs
    n = func.count().label("n")
    query = select(t.c.query, n).where(t.c.dataset_id == dataset_id).group_by(t.c.query).order_by(n.desc(), t.c.query).limit(limit)
    return fetch_frame(conn, query)
