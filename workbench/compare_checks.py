"""What Compare must say before anyone reads its numbers: runs that learned nothing, the metric that
suits the labels, and what the cost figures can and cannot tell.

    checks = check_runs(experiment_id)       # warnings in words, and the metric to open with
    checks.default_metric, checks.warnings

A run is judged on what the page reads for its labels. Balanced binary labels are read on accuracy:
a run whose accuracy equals the share of the most common label (within half a point), or whose
predictions are all one class, has learned to answer one class. Imbalanced binary and graded labels
are read on how the scores rank (ROC-AUC; nDCG@10 for grades, or ROC-AUC over grades where most
queries have one judged product): there a run is degenerate when its scores rank
like chance (ROC-AUC within AUC_TOLERANCE of 0.5, or a rank correlation with the grades within it of
0) or are all equal. A run that ranks well but puts every sample on one side of the 0.5 cut is not
degenerate; its accuracy and F1 are flagged as unreadable instead. A degenerate run's figures are
not results, and "no significant difference" between two such runs says nothing about augmentation.
Kept apart from workbench/experiments.py (the statistics) so the two change independently.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from workbench.experiments import METRICS, job_folder, read_predictions
from workbench.train.metrics import ranks_within_queries

METRIC_NAMES = {"roc_auc": "ROC-AUC", "ndcg@10": "nDCG@10", "f1": "macro-F1", "mrr": "MRR", "accuracy": "accuracy"}
TOLERANCE = 0.005  # accuracy within half a point of the majority share counts as "equal"
IMBALANCED = 0.25  # a binary test split whose smaller class is rarer than this is imbalanced (83/17 is)
AUC_TOLERANCE = 0.02  # ROC-AUC within this of 0.5 (or a rank correlation within it of 0) ranks like chance
RANKING_METRICS = ("roc_auc", "ndcg@10", "mrr")


@dataclass
class RunCheck:
    job_id: int
    setting: str
    seed: int
    accuracy: float | None
    majority_share: float | None
    one_class: bool  # every prediction is the same class
    ranking: float | None = None  # binary: ROC-AUC of prob; graded: Spearman correlation of score and label
    constant: bool = False  # every score is the same: nothing is ranked
    read_on_ranking: bool = False  # the labels are read on a ranking metric (imbalanced binary, graded)

    @property
    def guesses_majority(self) -> bool:
        equal = None not in (self.accuracy, self.majority_share) and abs(self.accuracy - self.majority_share) <= TOLERANCE
        return self.one_class or bool(equal)

    @property
    def ranks_like_chance(self) -> bool:
        chance = 0.5 if self.ranking is not None and self.ranking > 0.25 else 0.0  # ROC-AUC or a correlation
        return self.constant or (self.ranking is not None and abs(self.ranking - chance) <= AUC_TOLERANCE)

    @property
    def degenerate(self) -> bool:
        return self.ranks_like_chance if self.read_on_ranking else self.guesses_majority

    @property
    def cut_unreadable(self) -> bool:
        """Ranks (so it is a result) but answers one class at the 0.5 cut: accuracy and F1 say nothing."""
        return self.read_on_ranking and not self.degenerate and self.guesses_majority


@dataclass
class Checks:
    default_metric: str  # what Compare opens with for these labels
    label_kind: str  # 'binary', 'imbalanced binary', 'graded' or 'unknown'
    minority_share: float | None
    runs: list[RunCheck] = field(default_factory=list)

    @property
    def degenerate(self) -> list[RunCheck]:
        return [r for r in self.runs if r.degenerate]

    @property
    def warnings(self) -> list[str]:
        """Plain sentences for the top of the page and the report."""
        out = []
        for r in self.degenerate:
            if r.read_on_ranking:
                figure = "all its scores are equal" if r.constant or r.ranking is None else \
                    (f"ROC-AUC {r.ranking:.4f}" if self.label_kind != "graded" else f"rank correlation with the grades {r.ranking:+.4f}")
                out.append(f"Run #{r.job_id} ({r.setting}, seed {r.seed}) ranks like chance: {figure}. It has not learned "
                           "the task; do not read its figures, or a difference between such runs, as a result.")
                continue
            how = "predicts one class for every test sample" if r.one_class else "answers like a majority-class guess"
            figure = f"accuracy {r.accuracy:.4f} equals the share of the most common label ({r.majority_share:.4f})" \
                if r.accuracy is not None and r.majority_share is not None else "its predictions are all one class"
            out.append(f"Run #{r.job_id} ({r.setting}, seed {r.seed}) {how}: {figure}. It has not learned the task; "
                       "do not read its figures, or a difference between such runs, as a result.")
        cut = [r for r in self.runs if r.cut_unreadable]
        if cut:
            ids = ", ".join(f"#{r.job_id}" for r in cut[:8]) + (" and more" if len(cut) > 8 else "")
            metric = METRIC_NAMES.get(self.default_metric, self.default_metric)
            out.append(f"Run {ids} ranks the test samples (its {metric} is a result) but puts every sample on one side of "
                       "the 0.5 cut: its accuracy and macro-F1 equal a majority guess and say nothing. Read a ranking metric."
                       if len(cut) == 1 else
                       f"Runs {ids} rank the test samples (their {metric} is a result) but put every sample on one side of "
                       "the 0.5 cut: their accuracy and macro-F1 equal a majority guess and say nothing. Read a ranking metric.")
        if len(self.degenerate) > 1 and len(self.degenerate) == len(self.runs):
            out.append('Every run is degenerate, so "no significant difference" here says nothing about augmentation: '
                       "train longer, on more samples, or with a higher learning rate.")
        if self.label_kind == "graded" and self.default_metric == "roc_auc":
            out.append("Most test queries have products of one grade only (often one judged product each): any model "
                       "ranks those ideally, so nDCG@10 and MRR say little here. Compare opens on ROC-AUC over grades: "
                       "of the pairs of test samples with different grades, the share the model orders right.")
        if self.label_kind == "imbalanced binary":
            out.append(f"The labels are imbalanced (the smaller class is {self.minority_share:.0%} of the test samples): accuracy rewards "
                       f"guessing the common label, so Compare opens on {METRIC_NAMES.get(self.default_metric, self.default_metric)}.")
        return out


def label_profile(predictions: pd.DataFrame) -> tuple[str, float | None, str]:
    """(label kind, the smaller class's share for binary labels, the metric that suits them)."""
    clean = predictions[predictions["variant"].fillna("clean") == "clean"].dropna(subset=["label"])
    labels = clean["label"]
    values = sorted(labels.unique())
    if len(values) > 2:  # one judged product per query: nDCG@10 is 1 for any model, so ROC-AUC over grades
        return "graded", None, "ndcg@10" if ranks_within_queries(clean) else "roc_auc"
    if len(values) < 2:
        return "unknown", None, "accuracy"
    minority = float(labels.value_counts(normalize=True).min())
    return ("imbalanced binary", minority, "roc_auc") if minority < IMBALANCED else ("binary", minority, "accuracy")


def ranking_quality(clean: pd.DataFrame) -> tuple[float | None, bool]:
    """(ROC-AUC of prob for binary labels, else the Spearman correlation of score and label; whether
    every score is equal). None when the labels hold one value."""
    labels = clean["label"].astype(float)
    values = sorted(labels.unique())
    scores = clean["prob"] if len(values) == 2 and clean["prob"].notna().all() else clean["score"]
    scores = scores.astype(float).to_numpy()
    constant = bool(len(scores) and np.ptp(scores) == 0)
    if len(values) < 2:
        return None, constant
    if len(values) == 2:
        return float(roc_auc_score(labels == values[1], scores)), constant
    rho = pd.Series(scores).rank().corr(labels.reset_index(drop=True).rank())
    return (0.0 if pd.isna(rho) else float(rho)), constant


def check_run(job_id: int, setting: str, seed: int, predictions: pd.DataFrame | None, read_on_ranking: bool = False) -> RunCheck:
    if predictions is None or predictions.empty:
        return RunCheck(job_id, setting, seed, None, None, False)
    clean = predictions[predictions["variant"].fillna("clean") == "clean"]
    majority = float(clean["label"].value_counts(normalize=True).max())
    accuracy = float((clean["pred"].astype(float) == clean["label"].astype(float)).mean())
    ranking, constant = ranking_quality(clean)
    return RunCheck(job_id, setting, seed, accuracy, majority, clean["pred"].nunique() == 1 and clean["label"].nunique() > 1,
                    ranking, constant, read_on_ranking)  # fmt: skip


def check_jobs(jobs: pd.DataFrame) -> Checks:
    """Checks over finished jobs (columns id, setting, seed, job_dir), reading each predictions.parquet."""
    read = [(job, read_predictions(job_folder(int(job.id), job.job_dir))) for job in jobs.itertuples()]
    profile = next((label_profile(p) for _, p in read if p is not None), ("unknown", None, "accuracy"))
    kind, minority, metric = profile
    runs = [check_run(int(job.id), str(job.setting), int(job.seed), p, read_on_ranking=metric in RANKING_METRICS) for job, p in read]
    return Checks(default_metric=metric if metric in METRICS else "accuracy", label_kind=kind, minority_share=minority, runs=runs)


def check_runs(experiment_id: int | None = None) -> Checks:
    """check_jobs over the finished jobs of one experiment (None: every finished job)."""
    from storage import experiments as store
    from storage.db import begin

    with begin() as conn:
        jobs = store.list_finished_jobs(conn, experiment_id)
    return check_jobs(jobs)


COST_NOTE = ("Times were taken on a shared machine whose load was not recorded, so they are not comparable "
             "between runs; the cost chart compares samples seen (training steps x batch), which load does not change.")


def default_baseline(jobs: pd.DataFrame, pinned: int | None) -> int:
    """The run Compare measures against: the pinned one, else the first run of setting 'none', else the first run."""
    ids = jobs["id"].astype(int).tolist()
    if pinned is not None and int(pinned) in ids:
        return int(pinned)
    plain = jobs.loc[jobs["setting"] == "none", "id"]
    return int(plain.iloc[0]) if len(plain) else ids[0]


def summary(lines: list[str], comparison, checks: Checks) -> list[str]:
    """The comparison's summary lines, each setting whose every run is degenerate marked as no result."""
    dead = {s.name for s in comparison.settings
            if s.job_ids and all(r.degenerate for r in checks.runs if r.job_id in s.job_ids)}
    out = []
    for line in lines:
        name = line.split(":", 1)[0]
        out.append(f"{name}: no result, every run of it learned one class ({line.split(': ', 1)[1]})" if name in dead else line)
    if comparison.baseline in dead:
        out.insert(0, f"The baseline {comparison.baseline} learned one class: no delta against it is a result.")
    return out
