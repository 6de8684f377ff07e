"""Predictions frames: what a job (and each reference) writes for the test split, and Compare reads.

One row per (test sample, variant): variant 'clean' is the test split as it is, 'typo' the same
samples with seeded keyboard typos in every query. Columns: PREDICTION_COLUMNS.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.train import metrics as M


TYPO_SEED = 0  # one typo variant per test split: every job and reference is scored on the same misspellings


def test_variants(test: pd.DataFrame, seed: int = TYPO_SEED) -> list[tuple[str, pd.DataFrame]]:
    """The test split as scored: clean, and every query with seeded keyboard typos; tail flags set."""
    base = test.copy()
    for name, default in (("sample_id", None), ("product_id", ""), ("cold_start", False)):
        if name not in base:
            base[name] = range(len(base)) if default is None else default
    base["tail_query"] = base["query"].isin(M.tail_queries(base))
    typo = base.assign(query=[M.keyboard_typos(q, seed) for q in base["query"]])
    return [("clean", base), ("typo", typo)]


def scored(frame: pd.DataFrame, probs: np.ndarray, classes: list[float]) -> pd.DataFrame:
    """The frame plus score (expected label), pred (most likely label) and prob (binary: P(top class))."""
    values = np.asarray(classes, dtype=float)
    out = frame.copy()
    out["score"] = probs @ values
    out["pred"] = values[probs.argmax(1)]
    out["prob"] = probs[:, -1].astype(float) if len(classes) == 2 else np.nan
    return out


PREDICTION_COLUMNS = ["sample_id", "query", "product_id", "label", "score", "pred", "prob", "cold_start", "tail_query", "variant"]


def as_predictions(frames: list[pd.DataFrame]) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame(columns=PREDICTION_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    out["cold_start"] = out["cold_start"].astype(bool)
    return out[PREDICTION_COLUMNS]
