"""Both stores for the tests: a DuckDB file per test, or a fresh PostgreSQL database per test.

`db_url` (and `demo_db`) give a DuckDB file in the test's temp folder. A test or module marked
`both_stores` runs twice, once on DuckDB and once on PostgreSQL:

    pytestmark = pytest.mark.both_stores

The PostgreSQL server is real and private to the test session: `initdb` into a temp folder,
listening on a Unix socket only (listen_addresses='', so nothing is reachable over the network),
fsync off. PostgreSQL refuses to run as root, so when the tests run as root (CI) the server runs
as the `postgres` system user that Debian's package creates (`runuser -u postgres`). Every test
gets its own database, created from a template that already holds the schema (and, for
`demo_db`, the demo data), so a test costs a CREATE DATABASE, not a schema build or an ingest.

Binaries come from Debian's `postgresql` package (`make test` installs it when missing). Without
them the PostgreSQL half of each test skips and says why, except under CI=true, where it fails.
"""
from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

PG_USER = "postgres"  # the system user that runs the server when we are root, and the superuser role
STORES = ("duckdb", "postgres")


def pytest_configure(config):
    config.addinivalue_line("markers", "both_stores: run the test on DuckDB and on a real PostgreSQL server")
    config.addinivalue_line("markers", "duckdb_only: in a both_stores module, a test about the DuckDB file itself")
    config.addinivalue_line("markers", "postgres_only: in a both_stores module, a test about the PostgreSQL server")
    config.addinivalue_line("markers", "ray: needs a Ray head; runs only inside a loopback-only network namespace")


def pytest_generate_tests(metafunc):
    marked = metafunc.definition.get_closest_marker
    if "store" in metafunc.fixturenames and marked("both_stores") and not marked("duckdb_only"):
        metafunc.parametrize("store", ["postgres"] if marked("postgres_only") else STORES, indirect=True)


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


class PostgresServer:
    """A throwaway PostgreSQL cluster on a Unix socket in a temp folder."""

    def __init__(self):
        self.initdb, self.pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        self.folder = Path(tempfile.mkdtemp(prefix="workbench-pg-"))
        self.data, self.socket = self.folder / "data", self.folder
        self.as_user = os.geteuid() == 0  # postgres refuses root: run it as the postgres user
        self.names = itertools.count(1)

    def _run(self, *args: str) -> None:
        command = ["runuser", "-u", PG_USER, "--", *args] if self.as_user else list(args)
        proc = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")

    def start(self) -> None:
        if self.as_user:
            shutil.chown(self.folder, PG_USER)
        self._run(self.initdb, "-D", str(self.data), "-U", PG_USER, "--auth=trust", "--encoding=UTF8",
                  "--locale=C", "--no-sync")  # fmt: skip
        self._start()

    def _start(self) -> None:
        options = f"-c listen_addresses='' -k {self.socket} -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(self.pg_ctl, "-D", str(self.data), "-o", options, "-l", str(self.folder / "server.log"), "-w", "start")

    def go_down(self) -> None:
        """Stop serving, closing every connection, as a server restart does (go_up starts it again)."""
        self._run(self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop")

    def go_up(self) -> None:
        self._start()

    def stop(self) -> None:
        try:
            self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{PG_USER}@/{database}?host={self.socket}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(host=str(self.socket), user=PG_USER, dbname="postgres", autocommit=True) as conn:
            conn.execute(sql)

    def create_database(self, template: str = "template0") -> str:
        name = f"test_{os.getpid()}_{next(self.names)}"
        self.admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name

    def drop_database(self, name: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # a leftover scheduler must not hold it


@pytest.fixture(scope="session")
def pg_server():
    """The session's PostgreSQL server (skips without the binaries, fails under CI=true)."""
    if not _pg_bin("initdb") or not _pg_bin("pg_ctl"):
        message = "PostgreSQL server binaries not found (Debian: apt-get install -y postgresql; `make test` does it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


def with_url(url: str, action) -> None:
    """Run `action()` with WORKBENCH_DB_URL pointing at `url` (session fixtures cannot monkeypatch)."""
    old = os.environ.get("WORKBENCH_DB_URL")
    os.environ["WORKBENCH_DB_URL"] = url
    try:
        action()
    finally:
        if old is None:
            os.environ.pop("WORKBENCH_DB_URL")
        else:
            os.environ["WORKBENCH_DB_URL"] = old


@pytest.fixture(scope="session")
def pg_schema_template(pg_server) -> str:
    """A database holding the current schema: each test's database is a copy of it."""
    from storage.db import begin

    name = pg_server.create_database()
    with begin(pg_server.url(name)):
        pass
    return name


@pytest.fixture(scope="session")
def pg_demo_template(pg_server, pg_schema_template) -> str:
    """The demo data ingested once per session into a PostgreSQL template database."""
    from workbench import demo

    name = pg_server.create_database(pg_schema_template)
    with_url(pg_server.url(name), demo.load_demo)
    return name


@pytest.fixture
def store(request) -> str:
    """'duckdb' unless the test is marked both_stores (then each store in turn)."""
    return getattr(request, "param", "duckdb")


def _pg_url(request, monkeypatch, template_fixture: str) -> str:
    server = request.getfixturevalue("pg_server")
    name = server.create_database(request.getfixturevalue(template_fixture))
    request.addfinalizer(lambda: server.drop_database(name))
    url = server.url(name)
    monkeypatch.setenv("WORKBENCH_DB_URL", url)
    return url


@pytest.fixture
def db_url(store, data_dir, monkeypatch, request) -> str:
    """An empty database for this test, also in WORKBENCH_DB_URL for the processes it starts."""
    if store == "postgres":
        return _pg_url(request, monkeypatch, "pg_schema_template")
    url = f"duckdb:///{data_dir / 'workbench.duckdb'}"
    monkeypatch.setenv("WORKBENCH_DB_URL", url)
    return url


@pytest.fixture
def demo_db(store, data_dir, monkeypatch, request) -> str:
    """A database holding the demo catalog (dataset 1) and search logs (dataset 2)."""
    if store == "postgres":
        return _pg_url(request, monkeypatch, "pg_demo_template")
    template = request.getfixturevalue("_demo_template")
    url = f"duckdb:///{data_dir / 'workbench.duckdb'}"
    shutil.copy(template, data_dir / "workbench.duckdb")
    monkeypatch.setenv("WORKBENCH_DB_URL", url)
    return url
