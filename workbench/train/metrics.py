"""Evaluation metrics and slices.

Classification: accuracy, macro-F1, ROC-AUC. For graded labels ROC-AUC is its generalisation, the
concordance: of the pairs of samples with different grades, the share the scores put in the grades'
order (`concordance`); for binary labels the two are the same number. Ranking, per query, averaged
over queries: nDCG@10 with the label as the gain (2^label - 1) and MRR of the first relevant
product (relevant = a label above the lowest class). The ranking score is the expected label.

nDCG@10 tells models apart only where a query holds products of different grades: a query with one
judged product (most of the ESCI samples) is ranked ideally by any model. `ranks_within_queries`
says whether a split has enough such queries to be read on nDCG@10.

Slices of the test split: `cold_start` (products held out of training), `tail` (queries with the
fewest samples: at or below the 33rd percentile of samples per query) and `typo` (every test
query perturbed by seeded keyboard noise, `keyboard_typos`).
"""
from __future__ import annotations

import math
import random

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, roc_auc_score

TOP_K = 10
TYPO_RATE = 0.1  # chance that a letter is replaced by a neighbouring key
SLICES = ("cold_start", "tail", "typo")

_ROWS = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]
_NEIGHBOURS: dict[str, str] = {}
for r, row in enumerate(_ROWS):
    for c, ch in enumerate(row):
        near = [row[i] for i in (c - 1, c + 1) if 0 <= i < len(row)]
        near += [_ROWS[rr][i] for rr in (r - 1, r + 1) if 0 <= rr < 3 for i in (c - 1, c) if 0 <= i < len(_ROWS[rr])]
        _NEIGHBOURS[ch] = "".join(near)


def keyboard_typos(text: str, seed: int, rate: float = TYPO_RATE) -> str:
    """Replace letters by a neighbouring QWERTY key with probability `rate`; at least one per text.

    Seeded per text, so the same query always gets the same typos for a given seed.

    Kept apart from the `keyboard_typo` augmenter (nlpaug's KeyboardAug) on purpose: this makes the
    typo slice a model is judged on, and the augmenter makes training rows. If one generator made
    both, a typo-aware model would be scored on the very noise it was trained on; and the slice
    must stay the same across nlpaug versions, so that runs of different months compare.
    """
    rng = random.Random(f"{seed}:{text}")
    letters = [i for i, ch in enumerate(text) if ch.lower() in _NEIGHBOURS]
    if not letters:
        return text
    chosen = [i for i in letters if rng.random() < rate] or [rng.choice(letters)]
    chars = list(text)
    for i in chosen:
        new = rng.choice(_NEIGHBOURS[chars[i].lower()])
        chars[i] = new.upper() if chars[i].isupper() else new
    return "".join(chars)


def tail_queries(frame: pd.DataFrame) -> set[str]:
    """Queries with the fewest samples (at or below the 33rd percentile of samples per query)."""
    counts = frame.groupby("query").size()
    if counts.empty:
        return set()
    cut = max(1.0, float(np.percentile(counts.to_numpy(), 33)))
    return set(counts[counts <= cut].index)


def ndcg_at_k(labels: np.ndarray, scores: np.ndarray, k: int = TOP_K) -> float | None:
    """nDCG@k of one query; None when no product has a gain (the query says nothing)."""
    gains = np.power(2.0, labels) - 1.0
    ideal = np.sort(gains)[::-1][:k]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    idcg = float((ideal * discounts[: len(ideal)]).sum())
    if idcg <= 0:
        return None
    order = np.argsort(-scores, kind="stable")[:k]
    return float((gains[order] * discounts[: len(order)]).sum()) / idcg


def reciprocal_rank(relevant: np.ndarray, scores: np.ndarray) -> float | None:
    if not relevant.any():
        return None
    order = np.argsort(-scores, kind="stable")
    return 1.0 / (int(np.argmax(relevant[order])) + 1)


def concordance(labels: np.ndarray, scores: np.ndarray, weights: np.ndarray | None = None):
    """Of the pairs of samples with different labels, the share whose scores order them as the labels
    do, ties counted half: ROC-AUC for binary labels, its generalisation (the concordance index) for
    grades. With `weights` (replicates x samples, e.g. bootstrap counts) one value per replicate."""
    labels, scores = np.asarray(labels, dtype=float), np.asarray(scores, dtype=float)
    w = np.ones((1, len(labels))) if weights is None else np.asarray(weights, dtype=float)
    order = np.argsort(scores, kind="stable")
    s, y, w = scores[order], labels[order], w[:, order]
    _, starts, group = np.unique(s, return_index=True, return_inverse=True)
    right, pairs = np.zeros(len(w)), np.zeros(len(w))
    for grade in np.unique(y)[1:]:  # each sample against every sample of a lower grade
        upper, lower = w * (y == grade), w * (y < grade)
        below = (np.cumsum(lower, axis=1) - lower)[:, starts]  # lower-grade weight strictly below each score
        tied = np.add.reduceat(lower, starts, axis=1)
        right += (upper * (below[:, group] + 0.5 * tied[:, group])).sum(axis=1)
        pairs += upper.sum(axis=1) * lower.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = right / pairs
    return float(out[0]) if weights is None else out


def ranks_within_queries(frame: pd.DataFrame, share: float = 0.5) -> bool:
    """Whether at least `share` of the queries that hold a gain also hold two different labels: then
    nDCG@10 can tell models apart on this split."""
    labels = frame.groupby("query", sort=False)["label"]
    has_gain = labels.max() > frame["label"].min()
    return bool(has_gain.any() and (labels.nunique()[has_gain] > 1).mean() >= share)


def compute_metrics(frame: pd.DataFrame, classes: list[float]) -> dict[str, float]:
    """Metrics of predictions: columns query, label, score, pred and (binary) prob."""
    if frame.empty:
        return {}
    labels = frame["label"].to_numpy(dtype=float)
    out = {
        "accuracy": float((frame["pred"].to_numpy(dtype=float) == labels).mean()),
        "f1": float(f1_score(labels.astype(str), frame["pred"].to_numpy(dtype=float).astype(str), average="macro")),
    }
    if len(classes) == 2 and "prob" in frame and len(set(labels)) == 2:
        out["roc_auc"] = float(roc_auc_score(labels == classes[1], frame["prob"].to_numpy(dtype=float)))
    elif len(classes) > 2 and len(set(labels)) > 1:
        out["roc_auc"] = concordance(labels, frame["score"].to_numpy(dtype=float))
    lowest = min(classes)
    ndcgs, rrs = [], []
    for _, group in frame.groupby("query", sort=False):
        graded = group["label"].to_numpy(dtype=float) - lowest  # the lowest class has no gain
        scores = group["score"].to_numpy(dtype=float)
        ndcg = ndcg_at_k(graded, scores)
        rr = reciprocal_rank(graded > 0, scores)
        if ndcg is not None:
            ndcgs.append(ndcg)
        if rr is not None:
            rrs.append(rr)
    if ndcgs:
        out["ndcg@10"] = float(np.mean(ndcgs))
    if rrs:
        out["mrr"] = float(np.mean(rrs))
    return {k: v for k, v in out.items() if not math.isnan(v)}


def slice_metrics(predictions: pd.DataFrame, classes: list[float]) -> dict[str, dict[str, float]]:
    """Metrics per slice of the test predictions (columns variant, cold_start, tail_query)."""
    clean = predictions[predictions["variant"] == "clean"]
    return {
        "cold_start": compute_metrics(clean[clean["cold_start"].astype(bool)], classes),
        "tail": compute_metrics(clean[clean["tail_query"].astype(bool)], classes),
        "typo": compute_metrics(predictions[predictions["variant"] == "typo"], classes),
    }
