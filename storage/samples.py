"""Sample sets and their samples (query-product pairs with a label, a split and a cold-start flag)."""
from __future__ import annotations

import json

import pandas as pd
from sqlalchemy import Connection, func, select

from storage import bulk, tables
from storage.clock import utc_now
from storage.db import fetch_frame, read_frame, read_row

SAMPLE_COLUMNS = ["sample_id", "query", "product_id", "product_text", "category", "label", "split", "cold_start"]


def create_sample_set(conn: Connection, name: str, dataset_id: int, config: dict, summary: dict) -> int:
    return conn.execute(
        tables.sample_sets.insert()
        .values(
            name=name,
            dataset_id=dataset_id,
            config=json.dumps(config),
            summary=json.dumps(summary),
            created_at=utc_now(),
        )
        .returning(tables.sample_sets.c.id)
    ).scalar_one()


def insert_samples(conn: Connection, sample_set_id: int, samples: pd.DataFrame) -> int:
    """Insert a frame with SAMPLE_COLUMNS in one statement (Arrow on DuckDB, COPY on PostgreSQL)."""
    frame = samples[SAMPLE_COLUMNS].copy()
    frame.insert(0, "sample_set_id", sample_set_id)
    frame["cold_start"] = frame["cold_start"].astype(bool)
    frame["label"] = frame["label"].astype(float)
    if conn.dialect.name == "duckdb":
        raw = conn.connection.driver_connection
        raw.register("_new_samples", frame)
        try:
            raw.execute(f"INSERT INTO samples ({', '.join(frame.columns)}) SELECT * FROM _new_samples")
        finally:
            raw.unregister("_new_samples")
    elif conn.dialect.name == "postgresql":
        bulk.copy_in(conn, tables.samples, frame)
    else:
        conn.execute(tables.samples.insert(), frame.to_dict("records"))
    return len(frame)


def get_sample_set(conn: Connection, sample_set_id: int) -> dict:
    t = tables.sample_sets
    return read_row(conn, select(t).where(t.c.id == sample_set_id),
                    f"no sample set with id {sample_set_id}; `python -m workbench samples list` shows them",
                    {"config": dict, "summary": dict})


def list_sample_sets(conn: Connection) -> pd.DataFrame:
    t = tables.sample_sets
    return read_frame(conn, select(t.c.id, t.c.name, t.c.dataset_id, t.c.summary, t.c.created_at).order_by(t.c.id.desc()))


def read_samples(conn: Connection, sample_set_id: int, split: str | None = None, limit: int | None = None) -> pd.DataFrame:
    """The samples of a set, optionally one split or the first `limit`, ordered by sample_id, as a DataFrame."""
    t = tables.samples
    query = select(*[t.c[c] for c in SAMPLE_COLUMNS]).where(t.c.sample_set_id == sample_set_id)
    if split is not None:
        query = query.where(t.c.split == split)
    query = query.order_by(t.c.sample_id)
    if limit is not None:
        query = query.limit(int(limit))
    return fetch_frame(conn, query)


def delete_sample_set(conn: Connection, sample_set_id: int) -> None:
    conn.execute(tables.samples.delete().where(tables.samples.c.sample_set_id == sample_set_id))
    conn.execute(tables.sample_sets.delete().where(tables.sample_sets.c.id == sample_set_id))


def count_samples(conn: Connection, sample_set_id: int) -> dict[str, int]:
    """Samples per split: {'train': n, 'val': n, 'test': n} (0 for an empty split)."""
    t = tables.samples
    rows = conn.execute(select(t.c.split, func.count()).where(t.c.sample_set_id == sample_set_id).group_by(t.c.split)).all()
    return {"train": 0, "val": 0, "test": 0} | {split: int(n) for split, n in rows}
