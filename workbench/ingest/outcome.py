"""What came of an ingest, as the Data page shows it: a dataset's summary (rows in, reasons, the
first rejected rows) and all its rejected rows as a CSV a spreadsheet opens safely.

    summary = dataset_summary(dataset_id)
    data = rejected_rows_csv(dataset_id)
"""
from __future__ import annotations

import json

import pandas as pd

from storage import datasets as store
from storage.db import begin
from workbench.escaping import csv_bytes
from workbench.wording import count_of


def rejected_rows_csv(dataset_id: int, url: str | None = None) -> bytes:
    """The rejected rows of a dataset as CSV: line, column, reason, then the row's own columns."""
    with begin(url) as conn:
        rejected = store.read_rejected_rows(conn, dataset_id)
    fields = pd.DataFrame([json.loads(raw) if raw else {} for raw in rejected["raw"]], index=rejected.index)
    frame = pd.concat([rejected[["line", "column_name", "reason"]].rename(columns={"column_name": "column"}),
                       fields.add_prefix("row.")], axis=1)
    return csv_bytes(frame)


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
    return (f"Deleted dataset {dataset_id} ({row['name']}): {count_of(row['rows_accepted'], 'row')} and "
            f"{count_of(row['rows_rejected'], 'rejected row')} removed.")
