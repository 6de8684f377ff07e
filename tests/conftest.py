"""Shared fixtures: a real DuckDB file per test, the demo data, the bundled and tiny models,
shared data, the command line in-process.

Every test that touches storage gets its own database through `db_url` (a DuckDB file in a temp
dir, or with the both_stores marker also a PostgreSQL database: tests/stores.py), which also
points WORKBENCH_DB_URL and WORKBENCH_DATA_DIR at it, so subprocesses the test starts (the CLI,
the scheduler, a worker) use the same database. What is slow to build (the demo data, a sample
set of it, the tiny model) is built once per session and copied into each test.

Tests that start processes (a scheduler, a worker, a browser, a second writer) are marked
`slow`: `make test-fast` leaves them out, `make test` runs everything.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
# db_url, demo_db and the PostgreSQL server for tests marked both_stores live in tests/stores.py.
from stores import db_url, demo_db, pg_demo_template, pg_schema_template, pg_server, store  # noqa: F401
from stores import pytest_configure, pytest_generate_tests  # noqa: F401
from stores import with_url

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


# --- session templates: built once, each test gets its own copy ---------------------------


def _build_database(folder: Path, build, start_from: Path | None = None) -> Path:
    """A database file in `folder` made by `build()` (from a copy of `start_from`, if given)."""
    path = folder / "workbench.duckdb"
    if start_from is not None:
        shutil.copy(start_from, path)
    with_url(f"duckdb:///{path}", build)
    return path


@pytest.fixture(scope="session")
def _demo_template(tmp_path_factory) -> Path:
    """The demo data ingested once per test session; tests get a copy of the file."""
    from workbench import demo

    return _build_database(tmp_path_factory.mktemp("demo"), demo.load_demo)


@pytest.fixture(scope="session")
def _demo_sample_set_template(tmp_path_factory, _demo_template) -> Path:
    from workbench.samples import SampleConfig, build_sample_set

    return _build_database(tmp_path_factory.mktemp("demo-samples"),
                           lambda: build_sample_set(2, SampleConfig(seed=0, cold_start_share=0.1)), _demo_template)


@pytest.fixture
def demo_sample_set(_demo_sample_set_template, db_url) -> int:
    """demo_db plus sample set 1, built from the demo logs (seed 0, 10% cold-start products)."""
    shutil.copy(_demo_sample_set_template, db_url.removeprefix("duckdb:///"))
    return 1


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    """A tiny random-config BERT (bundled tokenizer) saved once per session: training in seconds."""
    import torch

    from tests.test_train_support import build_tiny_model

    torch.set_num_threads(1)  # the test machine is shared; one thread avoids spinning on busy cores
    return str(build_tiny_model(tmp_path_factory.mktemp("tiny")))


# --- the command line, in this process ------------------------------------------------------


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys):
    """Run `python -m workbench ARGS` in this process, like subprocess.run with capture_output:
    the same parser, handlers and error edge, without a second interpreter importing everything.
    (tests/test_ingest_bad_input.py runs the real `python -m workbench` once, in a subprocess.)"""
    from workbench.cli import main

    def run(*args) -> CliResult:
        capsys.readouterr()
        try:
            code = main([str(a) for a in args])
        except SystemExit as e:  # argparse: --help, or a usage error
            code = e.code if isinstance(e.code, int) else 1
        out = capsys.readouterr()
        return CliResult(code, out.out, out.err)

    return run


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
