"""End to end in a real browser: `streamlit run app.py` driven by Playwright in Debian's Chromium.

The user's whole path: load the demo data, build samples, generate augmentations, accept in bulk,
save and download the CSV (and check what is in it), queue a small training job and see it
finish, open Compare and see the chart. On failure a screenshot is saved under
test-artifacts/. Chromium comes from Debian (`make test` installs it); no browser is downloaded.
"""
from __future__ import annotations

import csv
import io
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"

pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]  # a Streamlit server and Chromium


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def app_url(data_dir, db_url):
    port = _free_port()
    log = open(data_dir / "streamlit.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(f"streamlit did not start: {(data_dir / 'streamlit.log').read_text()[-2000:]}")
            time.sleep(0.5)
    yield url
    os.killpg(server.pid, 15)
    server.wait(timeout=30)


@pytest.fixture
def page(app_url, request):
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (make test installs it: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000})
        tab = context.new_page()
        tab.set_default_timeout(60_000)
        tab.goto(app_url)
        yield tab
        if getattr(request.node, "rep_call", None) is None or request.node.rep_call.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        browser.close()


def _goto(page, title: str):
    page.get_by_role("link", name=title).click()
    page.get_by_role("heading", name=title.split(" ", 1)[1]).first.wait_for()


def _set_number(page, label: str, value):
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    page.wait_for_timeout(500)


def _wait_text(page, pattern: str, timeout_s: float = 120):
    page.get_by_text(re.compile(pattern)).first.wait_for(timeout=timeout_s * 1000)


def test_whole_flow_in_a_real_browser(page, data_dir):
    # 1. Home: load the demo data.
    page.get_by_role("button", name="Load demo data").click()
    _wait_text(page, r"Loaded the demo")

    # 2. Samples: small val and test splits keep the training job short.
    _goto(page, "2 Samples")
    _set_number(page, "Validation share of queries", 0.05)
    _set_number(page, "Test share of queries", 0.05)
    page.get_by_role("button", name="Build sample set").click()
    _wait_text(page, r"Sample set 1: [\d,]+ samples")

    # 3. Augment: the typo preset on 300 source samples, accept every candidate, save, download.
    _goto(page, "3 Augment")
    _set_number(page, "Source samples (0 = all train)", 300)
    page.get_by_role("button", name="Generate").click()
    _wait_text(page, r"Run 1: [\d,]+ candidates kept")
    page.get_by_role("button", name=re.compile(r"Accept all [\d,]+ matching")).click()
    _wait_text(page, r"Accept all [\d,]+ matching: [\d,]+ rows")
    page.get_by_label("Name of the accepted set").fill("typos")
    page.get_by_label("Name of the accepted set").press("Enter")
    page.get_by_role("button", name="Save accepted as a set").click()
    _wait_text(page, r"Saved augmented set 1: [\d,]+ samples")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert len(rows) > 100
    assert {"candidate_id", "sample_id", "augmenter", "params", "seed", "original", "query", "label"} <= set(rows[0])
    assert {row["augmenter"] for row in rows} <= {"keyboard_typo", "char_edit", "ocr_confusion", "word_swap", "word_split", "word_delete"}
    assert all(row["query"] != row["original"] for row in rows)

    # 4. Train: one small job on the train split plus nothing else; watch it finish.
    _goto(page, "4 Train")
    _set_number(page, "Epochs", 1)
    _set_number(page, "Max training samples", 120)
    page.get_by_role("button", name="Queue job").click()
    _wait_text(page, r"Queued job 1\.")
    _wait_text(page, r"test: accuracy \d", timeout_s=600)  # the worker's last log lines

    # 5. Compare: once the scheduler has recorded the job as done, the metric chart is drawn.
    _goto(page, "5 Compare")
    for _ in range(60):
        if page.locator(".js-plotly-plot").count():
            break
        page.wait_for_timeout(2000)
        page.reload()
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    page.get_by_role("button", name="Download report (HTML)").wait_for()
