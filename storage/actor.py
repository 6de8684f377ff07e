"""Who is doing this write: the logged-in user, recorded on jobs and review actions (schema 5).

The app sets it once per script run from its login (app.py, through workbench/login.py); the
command line takes WORKBENCH_ACTOR when set. Without a login it is None and the columns stay
NULL. A context variable, not a global: every Streamlit session runs its script in its own
thread, so two users never see each other's name.

    with acting_as("ana@example.com"):
        submit_job(...)          # jobs.actor = 'ana@example.com'
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

_actor: ContextVar[str | None] = ContextVar("workbench_actor", default=None)


def current_actor() -> str | None:
    return _actor.get() or os.environ.get("WORKBENCH_ACTOR") or None


def set_actor(name: str | None) -> None:
    """For the app's script run: this thread's writes are done by `name` from here on."""
    _actor.set(name or None)


@contextmanager
def acting_as(name: str | None) -> Iterator[None]:
    token = _actor.set(name or None)
    try:
        yield
    finally:
        _actor.reset(token)
