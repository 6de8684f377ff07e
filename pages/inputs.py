"""Inputs whose value lives in the URL (?key=value: a reload or a link opens it) and in the session
(persist_state="session", Streamlit 1.67: without it Streamlit drops a widget's value when a run does
not draw it, so a visit to another page reset it). Not a page.

The value is seeded into st.session_state before the widget's first draw, and the widget gets no
value argument: Streamlit warns when a widget has both.

    set_id = pick("Sample set", ids, key="sample_set", param="set", chosen=new_id)
    budget = kept(col.number_input, "Time budget (minutes)", min_value=1, key="train_budget", default=10, bounds=(1, None))
    values = config_form(TrainConfig, ["epochs", "seed"], defaults, "train_")
"""
from __future__ import annotations

import dataclasses

import streamlit as st

from workbench.train.config import AT_LEAST_ONE, value_from_text


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


def config_form(cls, names: list[str], defaults, prefix: str, columns: int = 4) -> dict:
    """One widget per dataclass field in `names` (label, help and choices from the field's metadata).
    A value the user changed lives in the URL (?{prefix}{field}=value), so a reload keeps it, and in the
    session (persist_state), so a visit to another page keeps it too."""
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
