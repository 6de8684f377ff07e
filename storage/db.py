"""Short-lived connections with retry, and the schema version check.

DuckDB lets one process hold a database file at a time, even for reads. So no process keeps a
connection open: every read or write is `with begin() as conn:` which opens a connection, retries
with backoff while another process (the app, the scheduler, the command line) holds the file,
runs one transaction and closes. The training worker never opens the database at all.

    from storage.db import begin
    with begin() as conn:
        conn.execute(...)

`WORKBENCH_DB_URL` takes any SQLAlchemy URL; the default is `data/workbench.duckdb` under
`WORKBENCH_DATA_DIR` (default: `data/` in the project root).
"""
from __future__ import annotations

import json
import os
import random
import time
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator

import duckdb
import pandas as pd
from sqlalchemy import Connection, Engine, create_engine, event, inspect, select, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool

from storage import bulk, tables
from storage.errors import DatabaseBusy, DatabaseUnavailable, NotFound, SchemaTooNew

SCHEMA_VERSION = 5
INGEST_TABLES = ("products", "search_events", "labeled_pairs", "rejected_rows")


def _upgrade_to_2(conn: Connection) -> None:
    """Prices and numeric labels become DOUBLE (a 4-byte FLOAT turned 164.56 into 164.559998)."""
    for table, column in ((tables.products, "price"), (tables.labeled_pairs, "label")):
        # DuckDB refuses ALTER on a table with an index: drop them first (schema 3 leaves them out).
        if conn.dialect.name == "duckdb":
            _drop_dataset_index(conn, table.name)
        conn.execute(text(f"ALTER TABLE {table.name} ALTER COLUMN {column} TYPE DOUBLE PRECISION"))


def _upgrade_to_3(conn: Connection) -> None:
    """DuckDB files lose the dataset_id indexes of the ingest tables (zone maps do their job, and
    keeping the index up to date doubled the cost of an ingest)."""
    if conn.dialect.name == "duckdb":
        for name in INGEST_TABLES:
            _drop_dataset_index(conn, name)


DOUBLE_SINCE_4 = {
    "samples": ("label",),
    "candidates": ("label", "score"),
    "jobs": ("progress", "eta_s"),
    "job_metrics": ("epoch", "value"),
}


def _upgrade_to_4(conn: Connection) -> None:
    """Labels, scores, progress and metric values become DOUBLE (a 4-byte FLOAT read 0.7 back as
    0.699999988, which showed in curves and the review table)."""
    for table_name, columns in DOUBLE_SINCE_4.items():
        # DuckDB refuses ALTER on a table with an index: drop, alter, create it again.
        indexes = []
        if conn.dialect.name == "duckdb":
            query = text("SELECT sql FROM duckdb_indexes() WHERE table_name = :t")
            indexes = list(conn.execute(query, {"t": table_name}).scalars())
            _drop_dataset_index(conn, table_name)
        for column in columns:
            conn.execute(text(f"ALTER TABLE {table_name} ALTER COLUMN {column} TYPE DOUBLE PRECISION"))
        for sql in indexes:
            conn.execute(text(sql))


def _upgrade_to_5(conn: Connection) -> None:
    """Jobs name their backend and carry its handle as text (a Ray submission id is not a pid);
    jobs and review actions record who did them when a login is configured."""
    # DuckDB refuses ALTER on a table with an index: drop, alter, create it again.
    indexes = []
    if conn.dialect.name == "duckdb":
        query = text("SELECT sql FROM duckdb_indexes() WHERE table_name = 'jobs'")
        indexes = list(conn.execute(query).scalars())
        _drop_dataset_index(conn, "jobs")
    conn.execute(text("ALTER TABLE jobs ALTER COLUMN pid TYPE VARCHAR"))
    conn.execute(text("ALTER TABLE jobs RENAME COLUMN pid TO handle"))
    conn.execute(text("ALTER TABLE jobs ADD COLUMN backend VARCHAR"))
    conn.execute(text("ALTER TABLE jobs ADD COLUMN actor VARCHAR"))
    # Every job before schema 5 was started by the local backend.
    conn.execute(text("UPDATE jobs SET backend = 'local' WHERE handle IS NOT NULL"))
    conn.execute(text("ALTER TABLE review_actions ADD COLUMN actor VARCHAR"))
    for sql in indexes:
        conn.execute(text(sql))


def _drop_dataset_index(conn: Connection, table_name: str) -> None:
    query = text("SELECT index_name FROM duckdb_indexes() WHERE table_name = :t")
    for name in list(conn.execute(query, {"t": table_name}).scalars()):
        conn.execute(text(f'DROP INDEX "{name}"'))


# version -> function that upgrades a file from version-1 to version. They all run in one
# transaction with the version bump, so a failed upgrade leaves the file as it was.
UPGRADES: dict[int, Callable[[Connection], None]] = {
    2: _upgrade_to_2, 3: _upgrade_to_3, 4: _upgrade_to_4, 5: _upgrade_to_5,
}

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    return Path(os.environ.get("WORKBENCH_DATA_DIR", PROJECT_ROOT / "data")).resolve()


def default_url() -> str:
    return os.environ.get("WORKBENCH_DB_URL") or f"duckdb:///{data_dir() / 'workbench.duckdb'}"


def describe(url: str | None = None) -> str:
    """Where the database is, for the sidebar and for error messages (no password)."""
    url = url or default_url()
    if url.startswith("duckdb:///"):
        return url.removeprefix("duckdb:///")
    return create_engine(url, poolclass=NullPool).url.render_as_string(hide_password=True)


def quiet(dbapi_connection, _record=None):
    """DuckDB draws a progress bar on stdout for a query over 2 s, even into a pipe: it would land
    before the command line's --json line (and in a job's log). Every DuckDB connection turns it off:
    the engines through their connect event, a raw duckdb.connect() by calling this."""
    dbapi_connection.cursor().execute("SET enable_progress_bar = false")
    return dbapi_connection


@lru_cache(maxsize=None)
def get_engine(url: str) -> Engine:
    if url.startswith("duckdb:///") and ":memory:" not in url:
        path = Path(url.removeprefix("duckdb:///"))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise DatabaseUnavailable(f"cannot create the data folder {path.parent}: {e.strerror}") from e
    # NullPool: closing a connection really closes the file, so other processes can open it.
    engine = create_engine(url, poolclass=NullPool)
    if url.startswith("duckdb:"):
        event.listen(engine, "connect", quiet)
    return engine


def _is_lock_error(e: Exception) -> bool:
    text = str(e).lower()
    return "lock" in text and ("conflicting" in text or "could not set" in text)


def _connect(engine: Engine, timeout_s: float) -> Connection:
    deadline = time.monotonic() + timeout_s
    delay_s = 0.02
    while True:
        try:
            return engine.connect()
        except (OperationalError, DBAPIError) as e:
            if not _is_lock_error(e):
                raise DatabaseUnavailable(_unavailable(engine, e)) from e
            if time.monotonic() > deadline:
                raise DatabaseBusy(
                    f"the database {describe(str(engine.url))} is held by another process and stayed "
                    f"busy for {timeout_s:.0f} s; close the other program (another app or a DuckDB "
                    "shell) or set WORKBENCH_DB_TIMEOUT_S higher"
                ) from e
            # Jitter keeps two waiting processes from retrying in lock-step.
            time.sleep(delay_s * (0.5 + random.random()))
            delay_s = min(delay_s * 2, 0.5)


def _unavailable(engine: Engine, e: Exception) -> str:
    """Why the database cannot be opened, in words that say what to fix."""
    where = describe(str(engine.url))
    url = str(engine.url)
    if url.startswith("duckdb:///") and ":memory:" not in url:
        path = Path(url.removeprefix("duckdb:///"))
        if not path.parent.is_dir():
            return f"the data folder {path.parent} does not exist; create it or set WORKBENCH_DATA_DIR"
        if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            return (f"the database {where} is in a read-only place; make {path.parent} writable or set "
                    "WORKBENCH_DATA_DIR to a folder you can write")
    return f"cannot open the database {where}: {getattr(e, 'orig', e)}"


_ready: set[str] = set()


@contextmanager
def begin(url: str | None = None) -> Iterator[Connection]:
    """One short transaction on a fresh connection; commits on success, rolls back on error."""
    url = url or default_url()
    engine = get_engine(url)
    timeout_s = float(os.environ.get("WORKBENCH_DB_TIMEOUT_S", "30"))
    conn = _connect(engine, timeout_s)
    try:
        if url not in _ready:
            with conn.begin():
                ensure_schema(conn)
            _ready.add(url)
        with conn.begin():
            yield conn
    except (DBAPIError, duckdb.Error) as e:
        if "no space left" in str(e).lower():
            raise DatabaseUnavailable(
                f"the disk holding the database {describe(url)} is full, so nothing was saved; free some space "
                "or set WORKBENCH_DATA_DIR to a folder on another disk"
            ) from e
        raise
    finally:
        conn.close()


def ensure_schema(conn: Connection) -> int:
    """Create the tables on a new database, upgrade an older one, refuse a newer one."""
    existing = set(inspect(conn).get_table_names())
    if "schema_version" not in existing:
        tables.metadata.create_all(conn)
        conn.execute(tables.schema_version.insert().values(version=SCHEMA_VERSION))
        return SCHEMA_VERSION
    found = conn.execute(select(tables.schema_version.c.version)).scalar_one()
    if found > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"the database {describe(str(conn.engine.url))} has schema version {found}, newer than "
            f"this workbench's {SCHEMA_VERSION}; upgrade the workbench or point WORKBENCH_DB_URL "
            "at another database"
        )
    for version in range(found + 1, SCHEMA_VERSION + 1):
        UPGRADES[version](conn)
        conn.execute(tables.schema_version.update().values(version=version))
    # Tables added without an upgrade step (new, empty tables) are created here.
    tables.metadata.create_all(conn, checkfirst=True)
    return SCHEMA_VERSION


def read_row(conn: Connection, query, missing: str, json_fields: dict[str, type] | None = None) -> dict:
    """The one row `query` selects, as a dict with its JSON text columns parsed (an empty one
    becomes the given type's empty value, {} or []); NotFound(missing) when there is none."""
    row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFound(missing)
    out = dict(row)
    for name, kind in (json_fields or {}).items():
        out[name] = json.loads(out[name]) if out.get(name) else kind()
    return out


def read_frame(conn: Connection, query) -> pd.DataFrame:
    """A small SELECT as a DataFrame whose columns are the query's, also when no row matches."""
    return pd.DataFrame(conn.execute(query).mappings().all(), columns=list(query.selected_columns.keys()))


def fetch_frame(conn: Connection, query) -> pd.DataFrame:
    """A large SELECT as a DataFrame in one query, columns as the query's: DuckDB's own fetch on
    DuckDB, COPY on PostgreSQL (storage/bulk.py), rows through SQLAlchemy elsewhere."""
    if conn.dialect.name == "postgresql":
        return bulk.copy_out(conn, query)
    if conn.dialect.name != "duckdb":
        return read_frame(conn, query)
    columns = list(query.selected_columns.keys())
    compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
    frame = conn.connection.driver_connection.execute(str(compiled)).df()
    return frame[columns] if len(frame.columns) else pd.DataFrame(columns=columns)
