"""What every page shares (not a page: app.py does not list it): user text shown as typed, core
and storage errors shown as messages instead of tracebacks, a message that survives st.rerun,
readable table headers, links to the next step, and redrawing as jobs end. Inputs whose value
lives in the URL and the session are in pages/inputs.py.

    with shown_errors():
        result = build_sample_set(...)
    flash(f"Sample set {result.sample_set_id}: ...")
"""
from __future__ import annotations

import contextlib

import streamlit as st

from storage.errors import StorageError
from workbench.errors import WorkbenchError
from workbench.escaping import plain
from workbench.jobs.queue import active_jobs, ended_jobs

STEPS = {  # the flow's pages, in order: path -> title (app.py lists the same files)
    "pages/home.py": "Home", "pages/data.py": "1 Data", "pages/samples.py": "2 Samples",
    "pages/augment.py": "3 Augment", "pages/review.py": "3b Review", "pages/train.py": "4 Train",
    "pages/compare.py": "5 Compare", "pages/study.py": "Which augmentation helps?",
}


@contextlib.contextmanager
def shown_errors():
    """Run one call into the core; a WorkbenchError or StorageError (a busy database too) becomes
    st.error with the message as typed, and the page stops there."""
    try:
        yield
    except (WorkbenchError, StorageError) as e:
        st.error(plain(e))
        st.stop()


def attempted(call):
    """call(), or None after showing its WorkbenchError or StorageError as st.error: the rest of the
    page still renders (a bad upload no longer hid the dataset list, the picker and Delete)."""
    try:
        return call()
    except (WorkbenchError, StorageError) as e:
        st.error(plain(e))
        return None


def say(text: str, kind: str = "success") -> None:
    """st.success / st.info / st.warning / st.error with user text shown as typed (no markdown)."""
    getattr(st, kind)(plain(text))


def flash(text: str, kind: str = "success") -> None:
    """A message for the next run (after st.rerun): shown once by show_flash(), after any flashed before it."""
    st.session_state.setdefault("_flash", []).append((text, kind))


def show_flash() -> None:
    for text, kind in st.session_state.pop("_flash", []):
        say(text, kind)


def column_headers(table, columns: dict[str, tuple[str, str | None]]) -> dict:
    """st.dataframe column_config from `columns`, field -> (header, format): None for text, a printf
    format ('%.4f') for a number, a date format ('YYYY-MM-DD HH:mm') for a time. The values stay as they are."""
    def config(label, fmt):
        if fmt is None:
            return st.column_config.Column(label)
        if fmt.startswith("%"):
            return st.column_config.NumberColumn(label, format=fmt)
        return st.column_config.DatetimeColumn(label, format=fmt)

    return {c: config(label, fmt) for c, (label, fmt) in columns.items() if c in table}


def next_step(page: str, why: str = "", **query) -> None:
    """A link to the next page of the flow (st.page_link) saying why to go there; `query` opens
    that page with these selections (e.g. run=3)."""
    title = STEPS[page]  # 'Which augmentation helps?' takes no colon after it, and what follows starts a sentence
    why = (f" {why[0].upper()}{why[1:]}." if title.endswith("?") else f": {why}") if why else ""
    st.page_link(page, label=f"Next: {title}{why}", icon=":material/arrow_forward:",
                 query_params={k: str(v) for k, v in query.items()} or None)


def confirmed(label: str, key: str, target, question: str, where=st) -> bool:
    """A destructive action in two clicks: the button asks `question` about `target`; True once the
    user answers yes for that same target (another selection asks again)."""
    asking = f"_{key}_asking"
    if where.button(label, key=key):
        st.session_state[asking] = target
    if st.session_state.get(asking) != target:
        return False
    where.warning(plain(question))
    yes, no = where.columns(2)
    if yes.button("Yes, " + label[0].lower() + label[1:], key=f"{key}_yes", type="primary"):
        del st.session_state[asking]
        return True
    if no.button("No, keep it", key=f"{key}_no"):
        del st.session_state[asking]
        st.rerun()
    return False


def follow_jobs(every_s: float = 5) -> bool:
    """While jobs are queued or running, redraw the whole page each time another one ends, so what a
    page built from jobs shows (Compare, the Train page's queue) follows without a reload. Returns
    whether any job is active."""
    active = active_jobs() > 0
    if active:
        st.fragment(_rerun_when_one_ends, run_every=every_s)(ended_jobs())
    return active


def _rerun_when_one_ends(ended_before: int) -> None:
    try:
        ended = ended_jobs()
    except StorageError:  # the database is busy this moment: the next tick reads it
        return
    if ended != ended_before:
        st.rerun()
