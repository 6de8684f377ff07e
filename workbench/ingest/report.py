"""What the Data page and the command line show after ingest: a preview of uploaded bytes, a
dataset's summary, and its rejected rows as a CSV a spreadsheet opens safely.

    csv_bytes = rejected_rows_csv(dataset_id)
"""
from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import pandas as pd

from storage import datasets as store
from storage.db import begin

# A cell starting with one of these runs as a formula in a spreadsheet; a leading ' keeps it text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


MARKDOWN = str.maketrans({ch: "\\" + ch for ch in "\\`*_[]<>$~|"})


def plain(text: str) -> str:
    """User text (file and column names in messages) for st.error/st.caption: markdown, links and
    $math$ shown as typed, never interpreted."""
    return str(text).translate(MARKDOWN)


def neutralize(value):
    """A cell as text a spreadsheet shows but never runs."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def preview_bytes(data: bytes, filename: str, *, kind: str, encoding: str | None = None, rows: int = 5):
    """preview_file for uploaded bytes; the file name only picks the format."""
    from workbench.ingest import preview_file, safe_name

    shown = safe_name(filename)
    suffix = "".join(s for s in Path(shown).suffixes[-2:] if s.isascii() and s[1:].isalnum())
    with tempfile.TemporaryDirectory(prefix="workbench-preview-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        return preview_file(path, kind=kind, display_name=shown, encoding=encoding, rows=rows)


def rejected_rows_csv(dataset_id: int, url: str | None = None) -> bytes:
    """The rejected rows of a dataset as CSV: line, column, reason, then the row's own columns."""
    with begin(url) as conn:
        rejected = store.read_rejected_rows(conn, dataset_id)
    fields = pd.DataFrame([json.loads(raw) if raw else {} for raw in rejected["raw"]], index=rejected.index)
    frame = pd.concat([rejected[["line", "column_name", "reason"]].rename(columns={"column_name": "column"}),
                       fields.add_prefix("row.")], axis=1)
    frame = frame.map(neutralize)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode("utf-8")


def dataset_summary(dataset_id: int, url: str | None = None, sample_rows: int = 100) -> dict:
    """The dataset row, reason -> count, and the first rejected rows (for the page)."""
    with begin(url) as conn:
        return {
            "dataset": store.get_dataset(conn, dataset_id),
            "rejections": store.count_rejections(conn, dataset_id),
            "rejected": store.read_rejected_rows(conn, dataset_id, limit=sample_rows),
        }


def delete_dataset(dataset_id: int, url: str | None = None) -> str:
    """Delete a dataset and every row it brought in; returns what was done, in a sentence."""
    with begin(url) as conn:
        row = store.get_dataset(conn, dataset_id)
        store.delete_dataset(conn, dataset_id)
    return (f"Deleted dataset {dataset_id} ({row['name']}): {row['rows_accepted']:,} rows and "
            f"{row['rows_rejected']:,} rejected rows removed.")
