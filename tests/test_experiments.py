"""Aggregation over seeds and the paired bootstrap over test queries, on hand-checkable numbers."""
import math
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, roc_auc_score

from workbench import experiments as ex
from workbench.errors import BadInput


def predictions(correct_by_query: dict[str, list[bool]], *, variant: str = "clean", start_id: int = 0) -> pd.DataFrame:
    """A predictions.parquet frame: one sample per entry, label 1 for even ids, pred right or wrong."""
    rows, sample_id = [], start_id
    for query, correct in correct_by_query.items():
        for ok in correct:
            label = float(sample_id % 2 == 0)
            pred = label if ok else 1 - label
            rows.append({"sample_id": sample_id, "query": query, "product_id": f"p{sample_id}", "label": label,
                         "score": pred, "pred": pred, "prob": 0.25 + 0.5 * pred, "cold_start": sample_id % 3 == 0,
                         "tail_query": False, "variant": variant})  # fmt: skip
            sample_id += 1
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    "values, expected",
    [
        ([0.7, 0.8, 0.9], (0.7, 0.9)),  # 3 seeds: each extreme is drawn with p = 1/27 > 2.5%, so [min, max]
        ([0.6, 0.6, 0.6], (0.6, 0.6)),
        ([0.5], (float("nan"), float("nan"))),  # one seed: no interval over seeds, not a zero-width one
        ([0.5, float("nan"), 0.7, 0.9], (0.5, 0.9)),  # NaN (a seed without the figure) is dropped
    ],
)
def test_bootstrap_ci_of_the_mean_on_fixed_numbers(values, expected):
    assert ex.bootstrap_ci(values, seed=0) == pytest.approx(expected, nan_ok=True)


def test_bootstrap_ci_is_seeded_and_narrower_than_the_range_for_many_seeds():
    values = np.arange(20) / 20
    low, high = ex.bootstrap_ci(values, seed=3)
    assert (low, high) == ex.bootstrap_ci(values, seed=3)
    assert 0.0 < low < values.mean() < high < 0.95
    assert all(math.isnan(v) for v in ex.bootstrap_ci([]))


def test_aggregate_groups_by_setting_in_order_with_mean_interval_and_cost():
    runs = pd.DataFrame({
        "job_id": [1, 2, 3, 4, 5, 6], "setting": ["none"] * 3 + ["typo"] * 3, "seed": [0, 1, 2] * 2,
        "accuracy": [0.70, 0.80, 0.90, 0.80, 0.85, 0.90], "train_time_s": [10, 20, 30, 40, 50, 60],
        "samples_seen": [100] * 3 + [200] * 3,
    })  # fmt: skip
    table = ex.aggregate(runs, "accuracy")
    assert table["name"].tolist() == ["none", "typo"]
    assert table["mean"].tolist() == pytest.approx([0.80, 0.85])
    assert table["std"].tolist() == pytest.approx([0.1, 0.05])
    assert table["ci_low"].tolist() == pytest.approx([0.7, 0.8])
    assert table["ci_high"].tolist() == pytest.approx([0.9, 0.9])
    assert table["n_seeds"].tolist() == [3, 3]
    assert table["train_time_s"].tolist() == [20.0, 50.0]
    assert table["samples_seen"].tolist() == [100.0, 200.0]
    assert table["job_ids"].tolist() == [[1, 2, 3], [4, 5, 6]]


def test_paired_bootstrap_counts_queries_not_samples():
    # Ten queries of two samples. The baseline is wrong on q5..q9, the setting right everywhere: the
    # per-query gain is 0 or 1, so a draw's delta is Binomial(10, 1/2) / 10. P(X <= 1) = 1.1% and
    # P(X <= 2) = 5.5%, so the interval is [0.2, 0.8]; P(delta <= 0) = 1/1024.
    base = predictions({f"q{i}": [i < 5, i < 5] for i in range(10)})
    better = predictions({f"q{i}": [True, True] for i in range(10)})
    test = ex.paired_bootstrap([better], [base], "accuracy", n_boot=4000, seed=0)
    assert test["delta"] == pytest.approx(0.5)
    assert (test["low"], test["high"]) == pytest.approx((0.2, 0.8))
    assert test["p_value"] < 0.01
    assert test["n_queries"] == 10


def test_paired_bootstrap_of_identical_runs_is_exactly_zero():
    base = predictions({f"q{i}": [i % 2 == 0, True] for i in range(6)})
    test = ex.paired_bootstrap([base], [base.copy()], "f1", n_boot=500)
    assert (test["delta"], test["low"], test["high"], test["p_value"]) == (0.0, 0.0, 0.0, 1.0)


def test_paired_bootstrap_two_queries_by_hand():
    # Gain +1 on q1, 0 on q0: a draw holds q1 twice (1/4), once (1/2) or never (1/4) -> delta 1, .5, 0.
    base = predictions({"q0": [True], "q1": [False]})
    better = predictions({"q0": [True], "q1": [True]})
    test = ex.paired_bootstrap([better], [base], "accuracy", n_boot=2000, seed=1)
    assert (test["delta"], test["low"], test["high"]) == pytest.approx((0.5, 0.0, 1.0))


def test_paired_bootstrap_averages_a_setting_over_its_seeds():
    base = predictions({"q0": [False], "q1": [False]})
    seed_a = predictions({"q0": [True], "q1": [False]})
    seed_b = predictions({"q0": [True], "q1": [True]})
    assert ex.paired_bootstrap([seed_a, seed_b], [base], "accuracy", n_boot=10)["delta"] == pytest.approx(0.75)


def test_typo_slice_pairs_misspelled_rows_with_their_clean_query():
    clean = predictions({"drill": [True, True], "saw": [True]})
    typo = predictions({"dril": [False, True], "sawe": [False]}).assign(variant="typo")
    rows = ex.slice_rows(pd.concat([clean, typo]), "typo")
    assert rows["query_key"].tolist() == ["drill", "drill", "saw"]
    assert rows["query"].tolist() == ["dril", "dril", "sawe"]
    assert ex.slice_rows(pd.concat([clean, typo]), "cold_start")["sample_id"].tolist() == [0]


def test_metrics_from_predictions_match_scikit_learn_and_weights_repeat_queries():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"query_key": [f"q{i % 7}" for i in range(40)], "label": rng.integers(0, 2, 40).astype(float),
                          "prob": rng.choice([0.1, 0.4, 0.6, 0.9], 40)})  # fmt: skip
    frame["pred"] = (frame["prob"] > 0.5).astype(float)
    frame["score"] = frame["prob"]
    keys = pd.Index(sorted(frame["query_key"].unique()))
    counts = np.array([[1, 1, 1, 1, 1, 1, 1], [2, 0, 1, 3, 0, 1, 0]], dtype=float)
    weight = counts[1][keys.get_indexer(frame["query_key"])]
    f1 = ex.metric_replicates(frame, "f1", keys, counts)
    auc = ex.metric_replicates(frame, "roc_auc", keys, counts)
    assert f1[0] == pytest.approx(f1_score(frame["label"], frame["pred"], average="macro"))
    assert auc[0] == pytest.approx(roc_auc_score(frame["label"], frame["prob"]))  # ties count half
    assert auc[1] == pytest.approx(roc_auc_score(frame["label"], frame["prob"], sample_weight=weight))
    mask = weight > 0
    expected_f1 = f1_score(frame["label"][mask], frame["pred"][mask], average="macro", sample_weight=weight[mask])
    assert f1[1] == pytest.approx(expected_f1)


def test_concordance_is_roc_auc_for_two_labels_and_orders_every_pair_of_grades():
    from workbench.train.metrics import concordance

    rng = np.random.default_rng(1)
    labels, scores = rng.integers(0, 2, 60).astype(float), rng.choice([0.1, 0.3, 0.5, 0.8], 60)
    assert concordance(labels, scores) == pytest.approx(roc_auc_score(labels, scores))
    # Grades 0, 1, 2, 2: five pairs differ; the 0 is below all three, the 1 ties one 2 (half) and is below the
    # other; the two 2s are no pair -> 4.5 / 5.
    assert concordance(np.array([0.0, 1.0, 2.0, 2.0]), np.array([0.1, 0.5, 0.5, 0.9])) == pytest.approx(4.5 / 5)
    assert concordance(np.array([1.0, 1.0]), np.array([0.2, 0.3])) != concordance(np.array([1.0, 1.0]), np.array([0.2, 0.3]))  # NaN
    # Bootstrap counts weigh samples as if repeated.
    graded, score = rng.integers(0, 4, 30).astype(float), rng.random(30)
    counts = rng.integers(0, 3, 30)
    weighted = concordance(graded, score, np.vstack([np.ones(30), counts]))
    assert weighted[0] == pytest.approx(concordance(graded, score))
    assert weighted[1] == pytest.approx(concordance(np.repeat(graded, counts), np.repeat(score, counts)))


def test_graded_metrics_carry_roc_auc_over_grades_and_say_when_queries_cannot_be_ranked():
    from workbench.train.config import TrainConfig
    from workbench.train.metrics import compute_metrics, ranks_within_queries

    one_each = pd.DataFrame({"query": ["a", "b", "c", "d"], "label": [3.0, 2.0, 0.0, 3.0], "score": [2.5, 1.0, 1.5, 0.5],
                             "pred": [3.0, 1.0, 2.0, 0.0]})  # fmt: skip
    metrics = compute_metrics(one_each, [0.0, 1.0, 2.0, 3.0])
    assert metrics["ndcg@10"] == 1.0  # any order of one product is ideal
    assert metrics["roc_auc"] == pytest.approx(2 / 5)  # of 5 pairs with different grades, (a,b) and (a,c) are right
    assert not ranks_within_queries(one_each)
    several = pd.DataFrame({"query": ["a", "a", "b", "b"], "label": [2.0, 0.0, 1.0, 1.0]})
    assert ranks_within_queries(several, share=0.5) and not ranks_within_queries(several, share=0.6)
    config = TrainConfig()
    assert (config.stop_metric(4, True), config.stop_metric(4, False), config.stop_metric(2, True)) == ("ndcg@10", "roc_auc", "roc_auc")
    assert TrainConfig(early_stopping_metric="loss").stop_metric(4, False) == "loss"


def test_ndcg_at_10_and_mrr_per_query_by_hand():
    rows = pd.DataFrame({"query_key": ["a", "a", "b", "b", "c"], "label": [0.0, 1.0, 1.0, 0.0, 0.0],
                         "score": [0.9, 0.1, 0.8, 0.2, 0.5]})  # fmt: skip
    keys = pd.Index(["a", "b", "c"])
    # a: the relevant item is second -> nDCG 1/log2(3), RR 1/2; b: first -> 1, 1; c has nothing relevant: left out.
    ndcg = ex.metric_replicates(rows, "ndcg@10", keys, np.ones((1, 3)))
    mrr = ex.metric_replicates(rows, "mrr", keys, np.ones((1, 3)))
    assert ndcg[0] == pytest.approx((1 / np.log2(3) + 1) / 2)
    assert mrr[0] == pytest.approx(0.75)


def _runs():
    return pd.DataFrame({
        "job_id": [1, 2, 3, 4], "setting": ["none", "none", "typo", "typo"], "seed": [0, 1, 0, 1],
        "accuracy": [0.5, 0.5, 1.0, 1.0], "typo/accuracy": [0.25, 0.35, 0.5, 0.6],
        "train_time_s": [10.0, 12.0, 20.0, 22.0], "samples_seen": [100, 100, 180, 180],
    })  # fmt: skip


def test_compare_tests_each_setting_against_the_baseline_with_predictions():
    base = predictions({f"q{i}": [i < 5, i < 5] for i in range(10)})
    better = predictions({f"q{i}": [True, True] for i in range(10)})
    preds = {1: base, 2: base, 3: better, 4: better}
    result = ex.compare(_runs(), preds, metric="accuracy", n_boot=4000)
    none, typo = result.settings
    assert (none.name, none.delta, none.significant, none.test) == ("none", 0.0, False, "baseline")
    assert (typo.name, typo.mean, typo.n_seeds, typo.delta) == ("typo", 1.0, 2, 0.5)
    assert (typo.delta_ci_low, typo.delta_ci_high) == pytest.approx((0.2, 0.8))
    assert typo.significant and typo.test == "paired bootstrap over 10 test queries"
    assert result.table()["name"].tolist() == ["none", "typo"]
    as_dict = result.as_dict()
    assert set(as_dict["settings"][0]) >= {"name", "metric", "mean", "ci_low", "ci_high", "n_seeds", "delta", "significant"}
    assert as_dict["baseline"] == "none"


def test_a_metric_a_job_did_not_store_is_computed_from_its_predictions():
    base = predictions({f"q{i}": [i < 5, i < 5] for i in range(10)})
    better = predictions({f"q{i}": [True, True] for i in range(10)})
    runs = _runs().assign(roc_auc=[0.5, np.nan, np.nan, np.nan])  # jobs 2 to 4 trained before the metric was stored
    result = ex.compare(runs, {1: base, 2: base, 3: better, 4: better}, metric="roc_auc", n_boot=500)
    none, typo = result.settings
    assert none.mean == pytest.approx(0.5) and typo.mean == pytest.approx(1.0)
    assert list(result.runs["roc_auc"]) == pytest.approx([0.5, 0.5, 1.0, 1.0])


def test_compare_falls_back_to_seeds_without_predictions_and_reads_slices():
    result = ex.compare(_runs(), {}, metric="accuracy", slice_="typo", baseline="typo", n_boot=1000)
    none = result.settings[0]
    assert none.metric == "typo/accuracy" and none.test == "bootstrap over seeds"
    assert none.delta == pytest.approx(-0.25)
    assert (none.delta_ci_low, none.delta_ci_high) == pytest.approx((-0.35, -0.15))
    assert none.significant
    slices = result.slices.set_index(["setting", "slice"])["mean"]
    assert slices.to_dict() == pytest.approx({("none", "all"): 0.5, ("typo", "all"): 1.0, ("none", "typo"): 0.3, ("typo", "typo"): 0.55})


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"metric": "roc_auc"}, "no finished job has the metric 'roc_auc'; choose one of accuracy, samples_seen, train_time_s"),
        ({"baseline": "synonyms"}, "baseline setting 'synonyms' has no finished job; choose one of none, typo"),
        ({"slice_": "rare"}, "unknown slice 'rare'; choose one of all, cold_start, tail, typo"),
    ],
)
def test_compare_bad_choices_name_what_exists(kwargs, message):
    with pytest.raises(BadInput, match=re.escape(message)):
        ex.compare(_runs(), {}, **kwargs)


def test_settings_are_identified_by_augmented_set_ids_and_shown_by_name():
    # Issue 14: two sets both named "typos" merged into one setting on Compare.
    jobs = pd.DataFrame({"id": [1, 2, 3, 4, 5], "seed": [0, 0, 1, 0, 0],
                         "setting": [None, "typos", "typos", "typos", "synonyms"],
                         "augmented_set_ids": [[], [3], [3], [5], [7]],
                         "metrics": [{"f1": 0.5}, {"f1": 0.6}, {"f1": 0.62}, {"f1": 0.4}, {"f1": 0.55}]})
    runs = ex.runs_frame(jobs)
    assert runs["setting"].tolist() == ["none", "typos (sets 3)", "typos (sets 3)", "typos (sets 5)", "synonyms"]
    table = ex.aggregate(runs, "f1", n_boot=200)
    assert table["name"].tolist() == ["none", "typos (sets 3)", "typos (sets 5)", "synonyms"]
    assert table["n_seeds"].tolist() == [1, 2, 1, 1]
