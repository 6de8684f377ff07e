"""Shared fixtures: a real DuckDB file per test, the demo data, the bundled model, shared data.

Every test that touches storage gets its own database through `db_url` (a DuckDB file in a temp
dir, or with the both_stores marker also a PostgreSQL database: tests/stores.py), which also
points WORKBENCH_DB_URL and WORKBENCH_DATA_DIR at it, so subprocesses the test starts (the CLI,
the scheduler, a worker) use the same database.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
# db_url, demo_db and the PostgreSQL server for tests marked both_stores live in tests/stores.py.
from stores import db_url, demo_db, pg_demo_template, pg_schema_template, pg_server, store  # noqa: F401
from stores import pytest_configure, pytest_generate_tests  # noqa: F401

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def _demo_template(tmp_path_factory) -> Path:
    """The demo data ingested once per test session; tests get a copy of the file."""
    from workbench import demo

    folder = tmp_path_factory.mktemp("demo")
    url = f"duckdb:///{folder / 'workbench.duckdb'}"
    old = os.environ.get("WORKBENCH_DB_URL")
    os.environ["WORKBENCH_DB_URL"] = url
    try:
        demo.load_demo()
    finally:
        if old is None:
            os.environ.pop("WORKBENCH_DB_URL")
        else:
            os.environ["WORKBENCH_DB_URL"] = old
    return folder / "workbench.duckdb"


def shared_file(relative: str) -> Path:
    """A file from ../shared/data, or skip the test saying plainly that it is missing."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"real data missing: {path} (see ../shared/data/README.md)")
    return path


@pytest.fixture(scope="session")
def bundled_model_dir() -> Path:
    from workbench.models import bundled_model_dir as find

    return find()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can tell a failed test (screenshots)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
