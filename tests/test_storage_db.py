"""Storage: schema upgrade path, one DuckDB file shared by several processes, clear messages when
the file is busy, newer, or its folder cannot be written (issues 2 and 6)."""
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from sqlalchemy import text

from storage import candidates, datasets, db
from storage import jobs as job_store
from storage.db import begin
from storage.errors import DatabaseBusy, DatabaseUnavailable, SchemaTooNew
from tests.conftest import PROJECT_ROOT


def _path(db_url: str) -> str:
    return db_url.removeprefix("duckdb:///")


def _back_to_schema_4(conn) -> None:
    """Undo schema 5 on a new database: jobs.pid INTEGER again, no backend or actor columns."""
    duck = conn.dialect.name == "duckdb"
    if duck:  # DuckDB refuses ALTER on a table with an index
        conn.execute(text("DROP INDEX ix_jobs_experiment_id"))
    for statement in ("ALTER TABLE jobs DROP COLUMN backend", "ALTER TABLE jobs DROP COLUMN actor",
                      "ALTER TABLE review_actions DROP COLUMN actor", "ALTER TABLE jobs RENAME COLUMN handle TO pid",
                      "ALTER TABLE jobs ALTER COLUMN pid TYPE INTEGER" + ("" if duck else " USING pid::integer")):
        conn.execute(text(statement))
    if duck:
        conn.execute(text("CREATE INDEX ix_jobs_experiment_id ON jobs (experiment_id)"))
    conn.execute(text("UPDATE schema_version SET version = 4"))


def _make_version_1_file(db_url: str) -> None:
    """A file as schema 1 wrote it: 4-byte FLOAT prices and labels, dataset_id indexes, version row 1."""
    with begin() as conn:
        _back_to_schema_4(conn)
    raw = duckdb.connect(_path(db_url))
    for table in ("products", "search_events", "labeled_pairs", "rejected_rows"):
        raw.execute(f"CREATE INDEX ix_{table}_dataset_id ON {table} (dataset_id)")
    schema_1_floats = [("products", "price"), ("labeled_pairs", "label")]
    schema_1_floats += [(t, c) for t, columns in db.DOUBLE_SINCE_4.items() for c in columns]
    for table, column in schema_1_floats:
        indexes = raw.execute("SELECT index_name, sql FROM duckdb_indexes() WHERE table_name = ?", [table]).fetchall()
        for name, _ in indexes:
            raw.execute(f"DROP INDEX {name}")
        raw.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE FLOAT")
        for _, sql in indexes:
            raw.execute(sql)
    raw.execute("INSERT INTO products (dataset_id, product_id, title, price) VALUES (1, 'p1', 'Drill', 164.56)")
    raw.execute("UPDATE schema_version SET version = 1")
    raw.close()
    db._ready.clear()  # as if a new process opened the file


def _column_type(db_url: str, table: str, column: str) -> str:
    raw = duckdb.connect(_path(db_url), read_only=True)
    try:
        return raw.execute("SELECT data_type FROM information_schema.columns WHERE table_name = ? AND column_name = ?",
                           [table, column]).fetchone()[0]
    finally:
        raw.close()


def test_an_older_file_is_upgraded_when_opened_and_keeps_its_rows(db_url):
    _make_version_1_file(db_url)
    assert _column_type(db_url, "products", "price") == "FLOAT"
    with begin() as conn:
        version = conn.execute(db.tables.schema_version.select()).scalar_one()
        products = datasets.read_products(conn, 1)
    assert version == db.SCHEMA_VERSION == 5
    assert _column_type(db_url, "products", "price") == "DOUBLE"
    # Schema 4: labels, scores, progress and metric values are DOUBLE, and their indexes stay.
    assert {_column_type(db_url, t, c) for t, cs in db.DOUBLE_SINCE_4.items() for c in cs} == {"DOUBLE"}
    assert _column_type(db_url, "labeled_pairs", "label") == "DOUBLE"
    assert products[["product_id", "title"]].values.tolist() == [["p1", "Drill"]]
    assert round(products["price"][0], 2) == 164.56
    # Schema 3: the dataset_id indexes that slowed every ingest are gone from DuckDB files.
    raw = duckdb.connect(_path(db_url), read_only=True)
    names = [r[0] for r in raw.execute("SELECT index_name FROM duckdb_indexes() WHERE table_name IN "
                                       "('products', 'search_events', 'labeled_pairs', 'rejected_rows')").fetchall()]
    kept = sorted(r[0] for r in raw.execute("SELECT table_name FROM duckdb_indexes() WHERE table_name IN "
                                            "('samples', 'candidates', 'job_metrics')").fetchall())
    raw.close()
    assert names == []
    assert kept == ["candidates", "job_metrics", "samples"]


@pytest.mark.both_stores
def test_a_schema_4_database_keeps_its_jobs_as_local_ones_with_text_handles(db_url, store):
    with begin() as conn:
        _back_to_schema_4(conn)
        conn.execute(text("INSERT INTO jobs (id, sample_set_id, config, status, pid) VALUES (7, 1, '{}', 'running', 4321)"))
        conn.execute(text("INSERT INTO jobs (id, sample_set_id, config, status) VALUES (8, 1, '{}', 'queued')"))
        conn.execute(text("INSERT INTO review_actions (id, augment_run_id, undone) VALUES (3, 1, false)"))
    db._ready.clear()  # as if a new process opened it
    with begin() as conn:
        version = conn.execute(db.tables.schema_version.select()).scalar_one()
        running, queued = job_store.get_job(conn, 7), job_store.get_job(conn, 8)
        action = candidates.last_review_action(conn, 1)
    assert version == 5
    assert (running["handle"], running["backend"], running["actor"]) == ("4321", "local", None)
    assert (queued["handle"], queued["backend"]) == (None, None)
    assert (action["id"], action["actor"]) == (3, None)


def test_a_newer_file_is_refused_with_a_message_that_says_what_to_do(db_url):
    with begin() as conn:
        conn.execute(db.tables.schema_version.update().values(version=99))
    db._ready.clear()
    message = (f"the database {_path(db_url)} has schema version 99, newer than this workbench's 5; upgrade the "
               "workbench or point WORKBENCH_DB_URL at another database")
    with pytest.raises(SchemaTooNew, match=re.escape(message)):
        with begin():
            pass


WRITER = textwrap.dedent("""
    import sys
    from storage import datasets
    from storage.db import begin
    name, n = sys.argv[1], int(sys.argv[2])
    for i in range(n):
        with begin() as conn:
            datasets.create_dataset(conn, name=f"{name}-{i}", kind="catalog", source_file=None, content_hash=None,
                                    encoding=None, mapping={})
""")

READER = textwrap.dedent("""
    import os, sys, time
    from storage import datasets
    from storage.db import begin
    seen, deadline = [], time.monotonic() + 600  # the writers' end is signalled by a file, not guessed from a clock
    while time.monotonic() < deadline:
        done = os.path.exists(sys.argv[2])  # checked before the read: a read after it sees every row
        with begin() as conn:
            seen.append(len(datasets.list_datasets(conn)))
        if seen[-1] >= int(sys.argv[1]) or done:
            break
    assert seen == sorted(seen), seen
    print(len(seen), seen[-1])
""")


@pytest.mark.slow  # starts processes
def test_two_writer_processes_and_a_reader_share_one_file_and_lose_nothing(db_url, tmp_path):
    with begin():
        pass  # create the schema before the race
    per_writer = 25
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "WORKBENCH_DB_TIMEOUT_S": "60"}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, name, str(per_writer)], cwd=PROJECT_ROOT, env=env,
                              stderr=subprocess.PIPE, text=True) for name in ("a", "b")]
    writers_done = tmp_path / "writers-done"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(2 * per_writer), str(writers_done)], cwd=PROJECT_ROOT,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    for proc in procs:
        assert proc.wait(timeout=600) == 0, proc.stderr.read()
    writers_done.touch()
    out, err = reader.communicate(timeout=600)
    assert reader.returncode == 0, err
    reads, last = map(int, out.split())
    assert reads >= 1 and last == 2 * per_writer
    with begin() as conn:
        names = set(datasets.list_datasets(conn)["name"])
    assert names == {f"{w}-{i}" for w in "ab" for i in range(per_writer)}


HOLDER = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(float(sys.argv[2]))"


def _hold(db_url: str, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, _path(db_url), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


@pytest.mark.slow  # starts processes
def test_a_file_held_by_another_process_is_retried_until_it_is_free(db_url, monkeypatch):
    with begin():
        pass
    monkeypatch.setenv("WORKBENCH_DB_TIMEOUT_S", "60")
    holder = _hold(db_url, 1.5)
    with begin() as conn:
        assert datasets.list_datasets(conn).empty
    assert holder.wait(timeout=30) == 0  # we got in only after the holder let go


@pytest.mark.slow  # starts processes
def test_a_file_held_too_long_is_reported_with_what_to_do(db_url, monkeypatch):
    with begin():
        pass
    monkeypatch.setenv("WORKBENCH_DB_TIMEOUT_S", "1")
    holder = _hold(db_url, 30)
    try:
        message = (f"the database {_path(db_url)} is held by another process and stayed busy for 1 s; close the "
                   "other program (another app or a DuckDB shell) or set WORKBENCH_DB_TIMEOUT_S higher")
        with pytest.raises(DatabaseBusy, match=re.escape(message)):
            with begin():
                pass
    finally:
        holder.kill()
        holder.wait()


def test_a_data_folder_that_cannot_be_created_is_named(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    url = f"duckdb:///{blocker / 'data' / 'workbench.duckdb'}"
    with pytest.raises(DatabaseUnavailable, match=re.escape(f"cannot create the data folder {blocker / 'data'}")):
        with begin(url):
            pass


def _read_only_folder(tmp_path):
    """A folder this process cannot write: chmod for a user; a read-only mount (/proc/sys) for root."""
    if os.geteuid() != 0:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    if os.path.isdir("/proc/sys") and not os.access("/proc/sys", os.W_OK):
        return Path("/proc/sys")
    pytest.skip("no read-only folder to try as root here")


def test_a_read_only_data_folder_gives_a_clear_message(tmp_path):
    folder = _read_only_folder(tmp_path)
    try:
        with pytest.raises(DatabaseUnavailable, match=re.escape(f"the database {folder / 'workbench.duckdb'} is in a "
                                                                "read-only place")):
            with begin(f"duckdb:///{folder / 'workbench.duckdb'}"):
                pass
    finally:
        if folder.is_relative_to(tmp_path):
            folder.chmod(0o755)


@pytest.fixture
def full_disk(tmp_path):
    """A 1 MiB tmpfs as the data folder (needs root and mount; skipped otherwise)."""
    folder = tmp_path / "small-disk"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root); the full-disk message is not checked")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def test_a_full_disk_gives_a_clear_message_and_saves_nothing(full_disk, tmp_path):
    from workbench.ingest import ingest_file

    url = f"duckdb:///{full_disk / 'workbench.duckdb'}"
    big = tmp_path / "catalog.csv"
    big.write_text("product_id,title\n" + "".join(f"p{i},Cordless drill number {i} in red\n" for i in range(60_000)))
    message = (f"the disk holding the database {full_disk / 'workbench.duckdb'} is full, so nothing was saved; free "
               "some space or set WORKBENCH_DATA_DIR to a folder on another disk")
    with pytest.raises(DatabaseUnavailable, match=re.escape(message)):
        ingest_file(big, kind="catalog", url=url)
    with begin(url) as conn:
        counts = datasets.count_table_rows(conn)
    assert counts.pop("schema_version") == 1 and set(counts.values()) == {0}
