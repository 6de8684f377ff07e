"""What every page shares (not a page: app.py does not list it): user text shown as typed, core
and storage errors shown as messages instead of tracebacks, a message that survives st.rerun,
selections kept in the URL so a reload keeps them, and links to the next step.

Form inputs pass persist_state="session" (Streamlit 1.67): Streamlit otherwise drops a widget's value
when a run does not draw it, so a visit to another page reset them. Pass no value= with a key that
is also set through st.session_state (Streamlit warns).

    with shown_errors():
        result = build_sample_set(...)
    flash(f"Sample set {result.sample_set_id}: ...")
    set_id = pick("Sample set", ids, key="sample_set", param="set", chosen=new_id)
"""
from __future__ import annotations

import contextlib

import streamlit as st

from storage.db import begin
from storage.errors import StorageError
from workbench.errors import WorkbenchError
from workbench.escaping import plain
from workbench.train.config import AT_LEAST_ONE, value_from_text

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


def pick(label: str, options: list, *, key: str, param: str, chosen=None, format_func=str, **kw):
    """A selectbox whose choice lives in the URL (?param=value), so a reload or a link opens it, and
    in the session, so a visit to another page (which leaves the URL's query behind) keeps it.

    chosen: an item just created; it is selected and shown (the page follows the user).
    One key on several pages ('sample_set' on Samples, Augment, Train and Study) carries the choice
    from page to page: the set in use is the one the next page opens on.
    Which wins: the new item, then a URL value that pick did not write itself (a link, a reload),
    then the session's choice, then the first option.
    """
    by_text = {str(o): o for o in options}
    in_url, written = st.query_params.get(param), f"_{key}_in_url"
    if chosen is not None and chosen in options:
        st.session_state[key] = chosen
    elif in_url is not None and in_url != st.session_state.get(written) and in_url in by_text:
        st.session_state[key] = by_text[in_url]
    elif key not in st.session_state or st.session_state[key] not in options:
        st.session_state[key] = options[0] if options else None
    value = st.selectbox(label, options, key=key, format_func=format_func, persist_state="session", **kw)
    if value is None:
        st.query_params.pop(param, None)
    else:
        st.query_params[param] = str(value)
    st.session_state[written] = st.query_params.get(param)
    return value


def next_step(page: str, why: str = "", **query) -> None:
    """A link to the next page of the flow (st.page_link) saying why to go there; `query` opens
    that page with these selections (e.g. run=3)."""
    title = STEPS[page]  # 'Which augmentation helps?' takes no colon after it, and what follows starts a sentence
    why = (f" {why[0].upper()}{why[1:]}." if title.endswith("?") else f": {why}") if why else ""
    st.page_link(page, label=f"Next: {title}{why}", icon=":material/arrow_forward:",
                 query_params={k: str(v) for k, v in query.items()} or None)


def config_form(cls, names: list[str], defaults, prefix: str, columns: int = 4) -> dict:
    """One widget per dataclass field in `names` (label, help and choices from the field's metadata).
    A value the user changed lives in the URL (?{prefix}{field}=value), so a reload keeps it, and in the
    session (persist_state), so a visit to another page keeps it too."""
    import dataclasses

    values, cols = {}, st.columns(columns)
    for i, f in enumerate(f for f in dataclasses.fields(cls) if f.name in names):
        col, default, key = cols[i % columns], getattr(defaults, f.name), f"{prefix}{f.name}"
        number = isinstance(default, (int, float)) and not isinstance(default, bool)
        least = 1 if f.name in AT_LEAST_ONE else 0  # a batch size of 0 is refused at the box
        _seed(key, default, f.metadata.get("choices"), (least, None) if number else None)
        kw = {"help": f.metadata["help"], "key": key, "persist_state": "session"}  # kept while on other pages
        if f.metadata.get("choices"):
            values[f.name] = col.selectbox(f.metadata["label"], f.metadata["choices"], **kw)
        elif isinstance(default, bool):
            values[f.name] = col.checkbox(f.metadata["label"], **kw)
        elif number:
            step, fmt = (1, None) if isinstance(default, int) else (default / 5 or 0.1, "%g")  # lr steps by 1e-5
            values[f.name] = col.number_input(f.metadata["label"], min_value=type(default)(least), step=step, format=fmt, **kw)
        else:
            values[f.name] = col.text_input(f.metadata["label"], **kw)
        _to_url(key, values[f.name], default)
    return values


def kept(draw, label: str, *args, key: str, default, choices=None, bounds=None, **kw):
    """draw(label, *args, key=key, **kw), e.g. st.number_input or a column's, whose value lives in the
    URL (?key=value: a reload keeps it) and in the session (persist_state: a visit to another page
    keeps it). Give the widget's default as `default`, never as its value argument (Streamlit warns
    when a widget has both a value argument and a value set through the session); `choices` are a
    selectbox's options, `bounds` a number box's (min, max), which a URL value is held within."""
    _seed(key, default, choices, bounds)
    value = draw(label, *args, key=key, persist_state="session", **kw)
    _to_url(key, value, default)
    return value


def _seed(key: str, default, choices=None, bounds=None) -> None:
    """The widget's value before its first draw in this session: the URL's (a reload, a link), as the
    default's type, or the default."""
    if key in st.session_state:
        return
    value = value_from_text(st.query_params[key], default, choices) if key in st.query_params else default
    if bounds is not None:  # a box refuses a value outside its range with an exception, not a message
        low, high = bounds
        value = max(value, type(default)(low)) if low is not None else value
        value = min(value, type(default)(high)) if high is not None else value
    st.session_state[key] = value


def _to_url(key: str, value, default) -> None:
    if value == default:
        st.query_params.pop(key, None)
    else:
        st.query_params[key] = str(value)


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


def follow_jobs(every_s: float = 5) -> None:
    """While jobs are queued or running, redraw the whole page each time another one ends, so a page
    built from finished jobs (Compare) fills in without a reload. Nothing to do when none is active."""
    if _job_count(("queued", "running")):
        st.fragment(_rerun_when_one_ends, run_every=every_s)(_job_count(ENDED))


ENDED = ("done", "failed", "cancelled")


def _job_count(statuses: tuple[str, ...]) -> int:
    from storage.jobs import count_jobs

    with begin() as conn:
        return count_jobs(conn, statuses)


def _rerun_when_one_ends(ended_before: int) -> None:
    try:
        ended = _job_count(ENDED)
    except StorageError:  # the database is busy this moment: the next tick reads it
        return
    if ended != ended_before:
        st.rerun()
