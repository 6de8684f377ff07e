"""User text made safe for where it is shown: markdown on a page, cells in a spreadsheet.

    from workbench.escaping import plain, csv_bytes
    st.error(plain(message))                 # markdown, links and $math$ shown as typed
    csv_bytes(frame, excel=True)             # a CSV download that a spreadsheet never runs

Every CSV the workbench hands out (rejected rows, an augmented set, the Compare table) goes
through `csv_bytes`: a text cell starting with =, +, -, @, a tab or a carriage return gets a
leading apostrophe, so a spreadsheet shows it as text instead of running it (OWASP "CSV
injection"); numbers stay numbers. Ingest is stricter in another way: storage/checks.py rejects
rows whose text *is* a formula (its FORMULA pattern, in SQL), while a title such as
"-10% off" goes in and is only escaped on the way out.
"""
from __future__ import annotations

import io

import pandas as pd

# A cell starting with one of these runs as a formula in a spreadsheet; a leading ' keeps it text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MARKDOWN = str.maketrans({ch: "\\" + ch for ch in "\\`*_[]<>$~|"})


def plain(text: str) -> str:
    """User text (file and column names in messages) for st.error/st.caption: markdown, links and
    $math$ shown as typed, never interpreted."""
    return str(text).translate(MARKDOWN)


def neutralize(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells starting with a formula character get a leading apostrophe; numbers stay numbers."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype.kind in "biufcmM":
            continue
        values = out[column]
        text = values.astype(str)
        risky = values.map(lambda v: isinstance(v, str)).astype(bool) & text.str.startswith(FORMULA_START)
        if risky.any():
            out[column] = values.astype(object).where(~risky, "'" + text)
    return out


def csv_bytes(frame: pd.DataFrame, excel: bool = False) -> bytes:
    """CSV with formulas neutralised; excel=True adds a UTF-8 BOM so Excel reads accents and CJK."""
    buffer = io.StringIO()
    neutralize(frame).to_csv(buffer, index=False)
    return buffer.getvalue().encode("utf-8-sig" if excel else "utf-8")
