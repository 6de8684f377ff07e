"""Who may come in (issue 12): 127.0.0.1 without a login, a network address only with one, and a
real OIDC login through st.login against a local identity provider (tests/idp_stub.py) in
Debian's Chromium, after which the reviews the user makes record who made them."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

from workbench.login import Entry, entry

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
AUTH = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "s", "client_id": "workbench",
        "client_secret": "x", "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}
REFUSED = ("This app listens on 0.0.0.0, where anyone on the network could reach it, and no login is configured. "
           "Add an [auth] section to .streamlit/secrets.toml (README: For teams), or listen on 127.0.0.1 (the "
           "default in .streamlit/config.toml).")


@pytest.mark.parametrize("address, auth, user, expected", [
    ("127.0.0.1", None, {}, Entry()),
    ("localhost", {}, {"is_logged_in": False}, Entry()),
    ("0.0.0.0", None, {}, Entry(refused=REFUSED)),
    ("0.0.0.0", AUTH, {"is_logged_in": False}, Entry(must_log_in=True)),
    ("127.0.0.1", AUTH, {"is_logged_in": False}, Entry(must_log_in=True)),
    ("0.0.0.0", AUTH, {"is_logged_in": True, "email": "ana@example.com", "sub": "1"}, Entry(actor="ana@example.com")),
    ("0.0.0.0", {"google": {"client_id": "a"}}, {"is_logged_in": True, "sub": "42"}, Entry(actor="42")),
])
def test_who_may_come_in(address, auth, user, expected):
    assert entry(address, auth, user) == expected


def test_an_authenticating_proxy_in_front_lets_a_network_address_serve_without_our_login(monkeypatch):
    monkeypatch.setenv("WORKBENCH_LOGIN", "proxy")
    assert entry("0.0.0.0", None, {}) == Entry()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _review_run() -> int:
    """A sample set with 4 train samples and 6 pending candidates, stored directly."""
    from storage import candidates
    from storage.db import begin
    from storage.samples import create_sample_set, insert_samples

    samples = pd.DataFrame({"sample_id": range(4), "query": [f"query {i}" for i in range(4)],
                            "product_id": [f"p{i}" for i in range(4)], "product_text": [f"product {i}" for i in range(4)],
                            "category": None, "label": 1.0, "split": "train", "cold_start": False})
    frame = pd.DataFrame({"sample_id": [i % 4 for i in range(6)], "augmenter": "keyboard_typo", "params": "{}", "seed": 0,
                          "field": "query", "original": [f"query {i % 4}" for i in range(6)],
                          "query": [f"qurey {i}" for i in range(6)], "product_id": [f"p{i % 4}" for i in range(6)],
                          "product_text": [f"product {i % 4}" for i in range(6)], "label": 1.0, "score": 0.9})
    with begin() as conn:
        set_id = create_sample_set(conn, "s", 1, {"label_kind": "binary"}, {})
        insert_samples(conn, set_id, samples)
        run_id = candidates.create_augment_run(conn, set_id, {"name": "r"}, 0, len(frame), {})
        candidates.insert_candidates(conn, run_id, frame)
    return run_id


@contextmanager
def app_behind_oidc(data_dir, tmp_path, **provider):
    """streamlit run app.py with [auth] pointing at a local provider; yields (browser tab, app URL, provider)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (make test installs it: apt-get install chromium)")
    from idp_stub import CLIENT_ID, CLIENT_SECRET, IdentityProvider
    from playwright.sync_api import sync_playwright

    app = f"http://127.0.0.1:{_free_port()}"
    with IdentityProvider(**provider) as idp:
        secrets = tmp_path / "secrets.toml"
        secrets.write_text(
            f'[auth]\nredirect_uri = "{app}/oauth2callback"\ncookie_secret = "a-long-random-test-secret"\n'
            f'client_id = "{CLIENT_ID}"\nclient_secret = "{CLIENT_SECRET}"\n'
            f'server_metadata_url = "{idp.url}/.well-known/openid-configuration"\n'
        )
        log = open(data_dir / "streamlit.log", "w")
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", app.rsplit(":", 1)[1],
             "--server.address", "127.0.0.1", "--server.headless", "true", "--secrets.files", str(secrets)],
            cwd=ROOT, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"{app}/_stcore/health", timeout=2)
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError(f"streamlit did not start: {(data_dir / 'streamlit.log').read_text()[-2000:]}")
                    time.sleep(0.5)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=[
                    "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync"])
                tab = browser.new_page(viewport={"width": 1400, "height": 1000})
                tab.set_default_timeout(60_000)
                tab.goto(app)
                yield tab, app, idp
                browser.close()
        finally:
            os.killpg(server.pid, 15)
            server.wait(timeout=30)


def test_a_team_member_logs_in_through_oidc_and_their_review_records_who_did_it(db_url, data_dir, tmp_path):
    from storage import candidates
    from storage.db import begin

    run_id = _review_run()
    with app_behind_oidc(data_dir, tmp_path, user={"sub": "u-1", "email": "ana@example.com", "name": "Ana"}) as (tab, _, _):
        # Nothing of the app before logging in: only the login button.
        assert tab.get_by_role("link", name="3 Augment").count() == 0
        tab.get_by_role("button", name="Log in").click()
        tab.get_by_text("ana@example.com", exact=True).wait_for()  # under "Signed in as"
        tab.get_by_role("link", name="3b Review").click()
        tab.get_by_role("button", name=re.compile(r"Accept all 6 matching")).click()
        tab.get_by_text(re.compile(r"Accept all 6 matching: 6 rows now accepted")).first.wait_for()
    with begin() as conn:
        action = candidates.last_review_action(conn, run_id)
    assert (action["description"], action["actor"]) == ("Accept all 6 matching", "ana@example.com")


def test_an_id_token_for_another_client_does_not_log_anyone_in(db_url, data_dir, tmp_path):
    with app_behind_oidc(data_dir, tmp_path, user={"sub": "u-2", "email": "eve@example.com"}, audience="other-app") as (tab, app, idp):
        with tab.expect_navigation(url=f"{app}/"):  # to the provider, back to the callback, then home
            tab.get_by_role("button", name="Log in").click()
        tab.get_by_role("button", name="Log in").wait_for()
        assert tab.get_by_text("Signed in as").count() == 0
        assert tab.get_by_role("link", name="3 Augment").count() == 0
        assert idp.tokens_issued == 1  # the provider issued a token, and Authlib refused it
