"""The Compare page through AppTest, over finished jobs in a real database and real job folders."""
import json

import pandas as pd
from streamlit.testing.v1 import AppTest

import pytest

from storage import experiments as store
from storage import jobs as job_store
from storage.db import begin
from test_experiments_storage import add_finished_jobs
from tests.pages_support import open_page


PAGE = "pages/compare.py"


def _predict_one_class(job_id: int) -> None:
    """Rewrite a finished job's predictions as a model that answers 0 for every sample."""
    with begin() as conn:
        folder = job_store.get_job(conn, job_id)["job_dir"]
    frame = pd.read_parquet(f"{folder}/predictions.parquet")
    frame.assign(pred=0.0, prob=0.3, score=0.3).to_parquet(f"{folder}/predictions.parquet")


def _settings(at: AppTest) -> list[str]:
    return at.dataframe[0].value["name"].tolist()


def test_without_finished_jobs_the_page_says_what_to_do(db_url):
    at = open_page(PAGE)
    assert not at.exception
    assert at.info[0].value.startswith("No finished training job yet. Train on **4 Train**")


def test_compare_page_shows_settings_switches_metric_and_slice_and_pins_a_baseline(db_url):
    made = add_finished_jobs({"none": [(6, 2), (6, 3), (7, 2)], "typo": [(11, 10), (12, 11), (11, 11)]})
    at = open_page(PAGE)
    assert not at.exception
    assert _settings(at) == ["none", "typo"]
    assert at.markdown[0].value.startswith("- typo: better than none on accuracy, delta +")
    assert [b.label for b in at.get("download_button")] == ["Download table (CSV)", "Download report (HTML)"]
    assert len(at.get("plotly_chart")) == 5

    at.selectbox(key="metric").select("f1")
    at.selectbox(key="slice").select("typo").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert table["metric"].tolist() == ["typo/f1", "typo/f1"]
    assert bool(table.loc[table["name"] == "typo", "significant"].iloc[0])

    at.selectbox(key="experiment").select(made["experiment_id"]).run()
    typo_run = made["jobs"]["typo"][0]
    at.selectbox(key="baseline").select(typo_run).run()
    lines = [m.value for m in at.markdown]
    assert lines[0].startswith("- typo helped on all test queries: ")  # the answer, against 'none', at the top
    assert any(line.startswith("- none: worse than typo on typo/f1") for line in lines)
    at.button(key="pin").click().run()
    assert not at.exception
    with begin() as conn:
        assert store.get_experiment(conn, made["experiment_id"])["baseline_job_id"] == typo_run


def test_a_metric_no_job_has_is_an_error_not_a_crash(db_url):
    with begin() as conn:  # a job that recorded accuracy only, as a job on graded labels has no ROC-AUC
        job_id = job_store.create_job(conn, sample_set_id=1, config={}, setting="none", seed=0, augmented_set_ids=[])
        job_store.set_job_status(conn, job_id, "done", metrics={"accuracy": 0.5}, progress=1.0)
    at = open_page(PAGE)
    assert not at.exception and _settings(at) == ["none"]
    at.selectbox(key="metric").select("f1").run()
    assert not at.exception
    assert [e.value for e in at.error] == ["no finished job has the metric 'f1'; choose one of accuracy"]
    assert not at.dataframe  # no table of a metric that is not there


@pytest.mark.parametrize("metric", ["roc_auc", "ndcg@10", "mrr"])
def test_every_ranking_metric_renders(db_url, metric):
    add_finished_jobs({"none": [(6, 2), (5, 1)], "synonyms": [(8, 3), (9, 4)]})
    at = open_page(PAGE)
    at.selectbox(key="metric").select(metric).run()
    assert not at.exception
    table = at.dataframe[0].value
    with begin() as conn:  # each setting's mean is the mean of what its jobs recorded
        jobs = store.list_finished_jobs(conn)
    recorded = jobs.assign(value=[m[metric] for m in jobs["metrics"]]).groupby("setting")["value"].mean()
    assert table["metric"].tolist() == [metric, metric] and table["name"].tolist() == ["none", "synonyms"]
    assert table["mean"].tolist() == pytest.approx([recorded["none"], recorded["synonyms"]])
    assert (table["ci_low"] <= table["mean"]).all() and (table["mean"] <= table["ci_high"]).all()
    lines = [m.value.replace("\\", "") for m in at.markdown]
    assert any(line.startswith(f"- synonyms: better than none on {metric}, delta +") for line in lines), lines


def test_runs_that_learned_one_class_are_flagged_not_reported_as_results(db_url):
    made = add_finished_jobs({"none": [(6, 2), (6, 3)], "typo": [(6, 2), (6, 3)]})
    for job_id in made["jobs"]["none"] + made["jobs"]["typo"]:
        _predict_one_class(job_id)
    at = open_page(PAGE)
    assert not at.exception
    warnings = [w.value for w in at.warning]
    first = made["jobs"]["none"][0]
    assert warnings[0] == (f"Run #{first} (none, seed 0) predicts one class for every test sample: accuracy 0.6667 "
                           "equals the share of the most common label (0.6667). It has not learned the task; do not "
                           "read its figures, or a difference between such runs, as a result.")
    assert warnings[4].startswith('Every run is degenerate, so "no significant difference" here says nothing')
    assert at.markdown[0].value.startswith("- The baseline none learned one class")
    assert at.markdown[1].value.startswith("- typo: no result, every run of it learned one class")


def test_imbalanced_labels_open_on_roc_auc_and_the_cost_note_is_shown(db_url):
    made = add_finished_jobs({"none": [(6, 2)], "typo": [(8, 3)]})
    for job_id in made["jobs"]["none"] + made["jobs"]["typo"]:  # keep every other query's positive: 1 in 6 positive
        with begin() as conn:
            folder = job_store.get_job(conn, job_id)["job_dir"]
        frame = pd.read_parquet(f"{folder}/predictions.parquet")
        frame.loc[(frame["label"] == 1.0) & (frame["sample_id"] % 6 != 0), "label"] = 0.0
        frame.to_parquet(f"{folder}/predictions.parquet")
    at = open_page(PAGE)
    assert not at.exception
    assert at.selectbox(key="metric").value == "roc_auc"
    assert [w.value for w in at.warning] == ["The labels are imbalanced (the smaller class is 17% of the test samples): accuracy rewards "
                                             "guessing the common label, so Compare opens on ROC-AUC.",
                                             "Settings with one seed have no interval over seeds (n=1); their deltas are "
                                             "still tested over the test queries. A sweep with several seeds gives the interval."]
    assert any(c.value.startswith("Times were taken on a shared machine whose load was not recorded") for c in at.caption)


def test_graded_labels_with_one_product_per_query_open_on_roc_auc_over_grades(db_url):
    made = add_finished_jobs({"none": [(6, 2)], "typo": [(8, 3)]})
    for job_id in made["jobs"]["none"] + made["jobs"]["typo"]:  # ESCI-like: every sample its own query, grades 0 to 2
        with begin() as conn:
            folder = job_store.get_job(conn, job_id)["job_dir"]
        frame = pd.read_parquet(f"{folder}/predictions.parquet")
        frame["label"] = (frame["sample_id"] % 3).astype(float)
        frame["query"] = frame["query"] + " " + frame["sample_id"].astype(str)
        frame.assign(prob=float("nan")).to_parquet(f"{folder}/predictions.parquet")
    at = open_page(PAGE)
    assert not at.exception
    assert at.selectbox(key="metric").value == "roc_auc"
    assert any(w.value.startswith("Most test queries have products of one grade only") for w in at.warning)
    assert _settings(at) == ["none", "typo"]


def test_references_are_shown_as_rows_and_lines_and_untrained_level_runs_are_flagged(db_url):
    add_finished_jobs({"none": [(6, 2), (6, 3)], "typo": [(11, 10), (12, 11)]}, references={"zero_shot": (6, 4), "lexical": (3, 3)})
    at = open_page(PAGE)
    assert not at.exception
    at.selectbox(key="metric").select("accuracy").run()
    refs = at.dataframe[1].value  # settings, then references
    assert refs["name"].tolist() == ["zero-shot", "lexical (BM25)"]
    assert refs["value"].tolist() == pytest.approx([0.5, 0.25])
    warnings = [w.value.replace("\\", "") for w in at.warning]
    assert any(w.startswith("Not better than the untrained zero-shot model: none.") for w in warnings), warnings
    lines = [m.value.replace("\\", "") for m in at.markdown]
    assert any(line.startswith("- zero-shot (no training): accuracy 0.5000 (95% interval") for line in lines), lines
    assert any(line.startswith("- typo beats zero-shot on accuracy: +0.4583") for line in lines), lines
    chart = at.get("plotly_chart")[0].proto.spec
    assert "zero-shot (untrained): 0.5000" in chart and "lexical (BM25) (untrained): 0.2500" in chart
    # Every column has a readable header (the page once showed ci_low, p_value, n_seeds as they are stored).
    for table in at.dataframe[:2]:
        shown = {name: column.get("label") for name, column in json.loads(table.proto.columns).items()}
        assert all(shown.get(name) for name in table.value.columns), shown
    shown = json.loads(at.dataframe[0].proto.columns)
    assert shown["ci_low"]["label"] == "95% interval, low" and shown["p_value"]["label"] == "p-value"


def test_without_references_the_page_says_why(db_url):
    add_finished_jobs({"none": [(6, 2)]})
    at = open_page(PAGE)
    assert not at.exception
    assert any("No zero-shot or lexical reference" in c.value for c in at.caption)


def test_on_imbalanced_labels_a_run_is_judged_on_how_it_ranks_not_on_the_cut(db_url):
    """83/17-like labels open on ROC-AUC: a run whose probabilities rank the positives first but all
    sit below 0.5 is a result (its accuracy is flagged as unreadable); a run whose scores are all
    equal ranks like chance and is degenerate."""
    made = add_finished_jobs({"none": [(6, 2)], "typo": [(8, 3)]})
    ranks, flat = made["jobs"]["none"][0], made["jobs"]["typo"][0]
    for job_id in (ranks, flat):
        with begin() as conn:
            folder = job_store.get_job(conn, job_id)["job_dir"]
        frame = pd.read_parquet(f"{folder}/predictions.parquet")
        frame.loc[(frame["label"] == 1.0) & (frame["sample_id"] % 6 != 0), "label"] = 0.0
        prob = 0.2 + 0.2 * frame["label"] if job_id == ranks else pd.Series(0.3, index=frame.index)
        frame.assign(pred=0.0, prob=prob, score=prob).to_parquet(f"{folder}/predictions.parquet")
    at = open_page(PAGE)
    assert not at.exception
    assert at.selectbox(key="metric").value == "roc_auc"
    warnings = [w.value.replace("\\", "") for w in at.warning]
    assert warnings[0] == (f"Run #{flat} (typo, seed 0) ranks like chance: all its scores are equal. It has not learned "
                           "the task; do not read its figures, or a difference between such runs, as a result.")
    assert warnings[1].startswith(f"Run #{ranks} ranks the test samples (its ROC-AUC is a result) but puts every sample on "
                                  "one side of the 0.5 cut")
    assert not any(w.startswith(f"Run #{ranks} (") for w in warnings)  # not said to rank like chance


def test_a_setting_that_kept_epoch_0_is_not_credited_to_augmentation_and_one_seed_has_no_interval(db_url):
    """Every typo job kept epoch 0 (training did not beat the fitted zero-shot head): the page said the
    setting 'beats zero-shot', which reads as 'training on typos helped'; only the head's fit (augmented
    rows included) can differ. One seed showed a zero-width
    '95% interval', and nothing gave the accuracy of always answering the most common label."""
    from workbench import experiments

    made = add_finished_jobs({"none": [(6, 2)], "typo": [(11, 10)]}, references={"zero_shot": (6, 4), "lexical": (3, 3)})
    with begin() as conn:
        for job_id in made["jobs"]["typo"]:
            metrics = job_store.get_job(conn, job_id)["metrics"] | {"best_epoch": 0}
            job_store.set_job_status(conn, job_id, "done", metrics=metrics)
    at = open_page(PAGE)
    at.selectbox(key="metric").select("accuracy").run()
    assert not at.exception
    warnings = [w.value for w in at.warning]
    assert ("Every job of typo kept epoch 0: training the encoder did not beat the fitted zero-shot head on val, so its "
            "model is that head: the untrained encoder, with the head over cosine and lexical signals fitted on the "
            "training samples, augmented ones included. The encoder did not learn from the augmented samples: any "
            "difference from the other settings comes from the head's fit alone.") in warnings
    assert ("Always answering the most common label scores accuracy 0.6667 on this test split; below it: none (0.5000), "
            "zero-shot (0.5000), lexical (BM25) (0.2500). Those models answer worse than that guess.") in warnings
    assert ("Settings with one seed have no interval over seeds (n=1); their deltas are still tested over the test "
            "queries. A sweep with several seeds gives the interval.") in warnings
    lines = [m.value.replace("\\", "") for m in at.markdown]
    assert any(line.startswith("- typo beats zero-shot on accuracy (kept epoch 0: the untrained encoder with its head "
                               "fitted on these samples; any effect is the head's fit): +0.4167") for line in lines), lines
    assert any(line.startswith("- typo: better than none on accuracy (kept epoch 0: the untrained encoder") and
               line.endswith("paired bootstrap over 12 test queries, 1 seed: no interval over seeds)") for line in lines), lines
    table = at.dataframe[0].value
    assert table["ci_low"].isna().all() and table["ci_high"].isna().all()  # no zero-width interval
    assert table["kept_epoch_0"].tolist() == [False, True]
    assert "always the most common label: 0.6667" in at.get("plotly_chart")[0].proto.spec
    as_json = experiments.load_comparison(metric="accuracy", n_boot=200).as_dict()  # what compare --json prints
    assert [s["kept_epoch_0"] for s in as_json["settings"]] == [False, True]
    assert as_json["majority_share"] == pytest.approx(2 / 3) and as_json["settings"][0]["ci_low"] is None


def test_a_link_or_reload_with_an_experiment_opens_that_experiment(db_url):
    """?experiment=1 showed "All finished jobs": None is an option, so the URL was never read (and the Study
    hands over to Compare with exactly that link)."""
    made = add_finished_jobs({"none": [(6, 2), (6, 3)], "typo": [(11, 10), (12, 11)]})
    at = open_page(PAGE, {"experiment": made["experiment_id"]})
    assert not at.exception
    assert at.selectbox(key="experiment").value == made["experiment_id"]
    assert at.subheader[0].value == "The answer so far"
    at.selectbox(key="experiment").select(0).run()  # back to all jobs: the URL follows
    assert at.selectbox(key="experiment").value == 0 and at.query_params["experiment"] == "0"
    assert at.selectbox(key="experiment").format_func(0) == "All finished jobs"  # not the placeholder "Choose an option"
    at.run()
    assert at.selectbox(key="experiment").value == 0 and "The answer so far" not in [h.value for h in at.subheader]


def test_jobs_of_two_sample_sets_are_compared_one_set_at_a_time(db_url):
    """'All finished jobs' pooled two sample sets (two test splits) into one setting's seeds and called it significant."""
    add_finished_jobs({"none": [(6, 2), (6, 3)], "typo": [(11, 10), (12, 11)]}, experiment=None)
    with begin() as conn:
        job_id = job_store.create_job(conn, sample_set_id=2, config={}, setting="none", seed=0, augmented_set_ids=[])
        job_store.set_job_status(conn, job_id, "done", metrics={"accuracy": 0.5}, progress=1.0)
    at = open_page(PAGE)
    assert not at.exception
    assert at.selectbox(key="compare_set").options == ["2: ", "1: "]  # newest first; these sets have no stored row
    assert _settings(at) == ["none"]
    at.selectbox(key="compare_set").select(1).run()
    assert not at.exception and _settings(at) == ["none", "typo"] and at.query_params["set"] == "1"
    assert at.markdown[0].value.startswith("- typo: better than none on accuracy")


def test_the_answer_and_the_table_give_one_interval_for_one_difference(db_url):
    """The answer's bootstrap used 500 replicates and the table's 2,000: one difference had two upper bounds."""
    from workbench import experiments, study

    made = add_finished_jobs({"none": [(6, 2), (6, 3)], "typo": [(9, 10), (10, 11)]})
    typo = next(s for s in experiments.load_comparison(made["experiment_id"], metric="accuracy").settings if s.name == "typo")
    lines = study.answer(made["experiment_id"], metric="accuracy")
    assert any(f"between {typo.delta_ci_low:+.3f} and {typo.delta_ci_high:+.3f}; 2 seeds" in line for line in lines), lines
