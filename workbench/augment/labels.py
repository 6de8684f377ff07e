"""What the Augment page shows about keeping labels: the teachers to pick from, the typo rate of
the logs, and a suggestion per candidate from the teacher's score.

    teacher_choices(sample_set_id)      # {0: 'zero-shot ...', job_id: 'job 7: none, seed 0 ...'}
    typo_rate(sample_set_id)            # share of the logs' queries that look like typos of another
    suggestions(scores, margin)         # 'accept' / 'reject' / '' per candidate

The page calls these and renders; the work is in workbench.queries (typo_share), the pipeline's
teacher check and workbench/train/teacher.py.
"""
from __future__ import annotations

import pandas as pd

ZERO_SHOT = "zero-shot: the base model, its head fitted on this sample set's train split"


def teacher_choices(sample_set_id: int, url: str | None = None) -> dict[int, str]:
    """0 (the zero-shot teacher) and every finished training job of the sample set, newest first."""
    from storage import jobs
    from storage.db import begin

    with begin(url) as conn:
        done = jobs.list_jobs(conn, statuses=("done",))
    done = done[done["sample_set_id"] == sample_set_id] if len(done) else done
    out = {0: ZERO_SHOT}
    for row in done.itertuples():
        metrics = row.metrics if isinstance(row.metrics, dict) else {}
        figure = f", test ROC-AUC {metrics['roc_auc']:.3f}" if "roc_auc" in metrics else ""
        out[int(row.id)] = f"job {row.id}: {row.setting}, seed {row.seed}{figure}"
    return out


def typo_rate(sample_set_id: int, url: str | None = None) -> float:
    """The typo rate of the sample set's dataset: queries.typo_share over its most frequent queries."""
    from storage import datasets, samples
    from storage.db import begin
    from workbench.queries import typo_share

    with begin(url) as conn:
        dataset_id = samples.get_sample_set(conn, sample_set_id)["dataset_id"]
        counts = datasets.count_queries(conn, dataset_id)
    return typo_share(counts["query"], counts["n"]) if len(counts) else 0.0


def suggestions(scores: pd.Series, margin: float = 0.5) -> pd.Series:
    """'accept' where the teacher agrees with the label within the margin (score >= 1 - margin),
    'reject' below, '' for candidates without a score."""
    out = pd.Series("", index=scores.index, dtype=object)
    known = scores.notna()
    out[known] = ["accept" if s >= 1.0 - margin - 1e-9 else "reject" for s in scores[known]]
    return out


def teacher_margin(run: dict) -> float | None:
    """The teacher margin of an augment run (storage.candidates.get_augment_run) whose scorer was the
    teacher, else None: its scores are the teacher's, and the suggestions follow from them."""
    recipe = run.get("recipe") or {}
    filters = recipe.get("filters", {}) if isinstance(recipe, dict) else {}
    return float(filters.get("teacher_margin", 0.5)) if filters.get("scorer") == "teacher" else None
