"""Security rules and concurrent use (issue: end to end and hardening).

Security: the server keeps XSRF protection and an upload limit; no page renders HTML from user
text; every subprocess gets an argument list, never a shell string. Concurrency: two app sessions
and the command line working on one database file at once lose nothing.
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from storage import datasets
from storage.db import begin
from storage.samples import list_sample_sets
from tests.pages_support import open_page

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(p for d in ("app.py", "pages", "workbench", "storage", "bench") for p in ([ROOT / d] if d.endswith(".py") else (ROOT / d).rglob("*.py")))


def test_server_config_keeps_xsrf_protection_and_limits_uploads():
    server = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]
    assert server["enableXsrfProtection"] is True
    assert 0 < server["maxUploadSize"] <= 1000


def _calls(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            yield node


def test_no_page_or_module_renders_raw_html():
    offenders = [
        f"{path.relative_to(ROOT)}:{call.lineno}"
        for path in SOURCES
        for call in _calls(path)
        for kw in call.keywords
        if kw.arg == "unsafe_allow_html" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False)
    ]
    assert offenders == []


NASTY = "</script><script>alert(1)</script> **bold** [link](http://e.x) $x$ <img src=x onerror=alert(2)>"


def test_user_text_is_shown_as_typed_on_compare_and_in_the_report(db_url):
    """A setting named with HTML and markdown (set names are user text) is escaped wherever it is
    shown: the HTML report, and the Compare page's summary lines and messages."""
    import html

    from test_experiments_storage import add_finished_jobs

    from workbench import experiments, report
    from workbench.escaping import plain

    made = add_finished_jobs({"none": [(6, 2), (5, 1)], NASTY: [(8, 3), (9, 4)]})
    page = report.html_report(experiments.load_comparison(n_boot=100))
    assert "<script>alert" not in page and "<img src=x" not in page and html.escape(NASTY) in page
    at = AppTest.from_file(str(ROOT / "pages" / "compare.py"), default_timeout=60).run()
    assert not at.exception
    line = at.markdown[0].value
    assert line.startswith(f"- {plain(NASTY)}: better than none") and "\\*\\*bold\\*\\*" in line
    at.selectbox(key="experiment").select(made["experiment_id"]).run()
    at.selectbox(key="baseline").select(made["jobs"][NASTY][0]).run()
    at.button(key="pin").click().run()
    assert plain(NASTY) in at.success[0].value and "[link](http" not in at.success[0].value


def test_subprocesses_get_argument_lists_never_a_shell():
    offenders = []
    for path in SOURCES:
        for call in _calls(path):
            name = ast.unparse(call.func)
            if any(kw.arg == "shell" for kw in call.keywords):
                offenders.append(f"{path.relative_to(ROOT)}:{call.lineno} passes shell=")
            if name.split(".")[-1] in {"Popen", "run", "call", "check_call", "check_output"} and name.startswith("subprocess"):
                first = call.args[0] if call.args else None
                if isinstance(first, (ast.Constant, ast.JoinedStr, ast.BinOp)):
                    offenders.append(f"{path.relative_to(ROOT)}:{call.lineno} passes a command string")
            if name in {"os.system", "os.popen"}:
                offenders.append(f"{path.relative_to(ROOT)}:{call.lineno} uses {name}")
    assert offenders == []


def _cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "workbench", *args, "--json"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow  # starts processes
def test_two_app_sessions_and_the_command_line_at_once_lose_nothing(demo_db, tmp_path):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("query,product_title,relevance\n" + "".join(f"drill {i},Cordless drill model D{i},{1 + i % 3}\n" for i in range(400)))
    # The command line: an ingest and a sample-set build, each its own process.
    ingest = _cli("ingest", "pairs", str(pairs), "--name", "cli pairs")
    build = _cli("samples", "build", "--dataset", "2", "--seed", "7")
    # Two app sessions meanwhile: one builds a sample set, the other keeps reading the Data page.
    builder = open_page("pages/samples.py", timeout_s=300)
    reader = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    reader.switch_page("pages/data.py")
    builder.selectbox(key="samples_dataset").set_value(2)
    builder.number_input(key="samples_seed").set_value(3)
    builder.button(key="samples_build").click().run()
    for _ in range(3):
        reader.run()
        assert not reader.exception
    outputs = [process.communicate(timeout=600) for process in (ingest, build)]

    assert not builder.exception
    assert [p.returncode for p in (ingest, build)] == [0, 0], [err for _, err in outputs]
    ingested = json.loads(outputs[0][0].splitlines()[-1])
    built = json.loads(outputs[1][0].splitlines()[-1])
    assert ingested["rows_accepted"] == 400
    with begin() as conn:
        sets = list_sample_sets(conn)
        assert len(datasets.read_pairs(conn, ingested["dataset_id"])) == 400
    assert len(sets) == 2 and built["sample_set_id"] in sets["id"].tolist()
    summaries = [json.loads(s) for s in sets["summary"]]
    assert all(s["samples"] == s["train"] + s["val"] + s["test"] > 0 for s in summaries)


def test_pages_show_text_built_at_run_time_only_through_the_escaping_helper():
    """Issue 14: set names and error messages carrying user input reached st.markdown and st.error unescaped.
    A message element may take a literal (or a module constant); anything built at run time goes through say()."""
    shown = {"error", "success", "warning", "info", "markdown", "caption", "write", "text"}
    offenders = []
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        if path.name == "ui.py":  # the helper itself: plain() before st.*
            continue
        for call in _calls(path):
            name = ast.unparse(call.func)
            if name.split(".")[-1] in shown and name.startswith(("st.", "left.", "right.", "where.")) and call.args:
                first = call.args[0]
                branches = [first.body, first.orelse] if isinstance(first, ast.IfExp) else [first]
                if not all(isinstance(b, (ast.Constant, ast.Attribute)) for b in branches):
                    offenders.append(f"{path.relative_to(ROOT)}:{call.lineno} {ast.unparse(call)[:60]}")
    assert offenders == []
