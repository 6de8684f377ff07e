"""Export an augmented set as CSV or Parquet, with provenance, safe to open in a spreadsheet.

    from workbench.augment.export import export_augmented_set
    export_augmented_set(3, "accepted.csv", excel=True)     # UTF-8 with BOM for Excel
    export_augmented_set(3, "accepted.parquet")

Every row traces back to its source: candidate_id, source sample (id, query, product), the field
that changed and its original text, the augmenter, its parameters (JSON), the seed and the score.
CSV goes through workbench.escaping.csv_bytes, so a spreadsheet never runs a cell as a formula
(OWASP "CSV injection"). Parquet keeps the values exactly as stored.
"""
from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from workbench.errors import BadInput, MissingData
from workbench.escaping import csv_bytes

EXPORT_COLUMNS = ["candidate_id", "query", "product_id", "product_text", "label", "augmenter", "params", "seed", "score",
                  "field", "original", "sample_id", "source_query", "source_product_id", "source_product_text"]


def export_frame(augmented_set_id: int, url: str | None = None) -> pd.DataFrame:
    """The augmented set with provenance columns, in EXPORT_COLUMNS order."""
    from storage import candidates
    from storage.db import begin

    with begin(url) as conn:
        candidates.get_augmented_set(conn, augmented_set_id)
        frame = candidates.read_augmented_set(conn, augmented_set_id, provenance=True)
    if frame.empty:
        raise MissingData(f"augmented set {augmented_set_id} has no samples; accept candidates and save the set again")
    return frame[EXPORT_COLUMNS]


to_csv_bytes = csv_bytes  # the Augment page's name for workbench.escaping.csv_bytes


def to_parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def check_export_path(path: str | Path) -> Path:
    """The export path, or BadInput when its suffix is not .csv or .parquet or its folder is missing."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise BadInput(f"{path.name}: export writes .csv or .parquet, got {suffix or 'no suffix'!r}")
    if not path.parent.is_dir():
        raise BadInput(f"{path}: the folder {path.parent} does not exist")
    return path


def export_augmented_set(augmented_set_id: int, path: str | Path, excel: bool = False, url: str | None = None) -> Path:
    """Write the set to `path`; the format follows the suffix (.csv or .parquet)."""
    path = check_export_path(path)
    suffix = path.suffix.lower()
    frame = export_frame(augmented_set_id, url)
    path.write_bytes(to_csv_bytes(frame, excel) if suffix == ".csv" else to_parquet_bytes(frame))
    return path
