"""Who may come in: one user on 127.0.0.1, or a team behind Streamlit's own OIDC login.

The app listens on 127.0.0.1 by default (.streamlit/config.toml), so on one machine nobody else
can reach it and no login is needed. A team server listens on a network address and must have a
login: an `[auth]` section in `.streamlit/secrets.toml` for `st.login` (any OpenID Connect
provider: Google, Microsoft Entra, Okta, Keycloak, Dex...). Why st.login and not an
authenticating reverse proxy: it is part of Streamlit already (plus Authlib), it needs no second
server to run and configure, and the identity reaches the script as `st.user`, so jobs and
reviews can record who did them. A proxy remains possible: set WORKBENCH_LOGIN=proxy to say one
is in front, and the app then serves on a network address without its own login.

app.py calls `entry(...)` once per script run and does what it says; this module never imports
streamlit.

    entry = login.entry(address="0.0.0.0", auth=secrets.get("auth"), user=st.user.to_dict())
    entry.must_log_in, entry.refused, entry.actor
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class Entry:
    must_log_in: bool = False  # show the login button and stop
    refused: str | None = None  # why the app must not serve at all (show it and stop)
    actor: str | None = None  # who is in, recorded on jobs and review actions


def login_configured(auth: Mapping | None) -> bool:
    """Whether secrets.toml has an [auth] section st.login can use (one provider or several)."""
    if not auth:
        return False
    if auth.get("client_id") and auth.get("server_metadata_url"):
        return True
    return any(isinstance(v, Mapping) and v.get("client_id") for v in auth.values())


def identity(user: Mapping) -> str | None:
    """The name recorded for a logged-in user: the e-mail, else the user name, else the subject."""
    for key in ("email", "preferred_username", "name", "sub"):
        if user.get(key):
            return str(user[key])
    return None


def entry(address: str | None, auth: Mapping | None, user: Mapping) -> Entry:
    """What the app does for this script run, given where it listens, its [auth] and st.user."""
    if login_configured(auth):
        if not user.get("is_logged_in"):
            return Entry(must_log_in=True)
        return Entry(actor=identity(user))
    if os.environ.get("WORKBENCH_LOGIN") == "proxy":
        return Entry()  # the authenticating proxy in front decides who comes in
    if address and address not in LOOPBACK:
        return Entry(refused=(
            f"This app listens on {address}, where anyone on the network could reach it, and no login is "
            "configured. Add an [auth] section to .streamlit/secrets.toml (README: For teams), or listen on "
            "127.0.0.1 (the default in .streamlit/config.toml)."
        ))
    return Entry()
