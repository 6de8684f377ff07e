"""The Compare page through AppTest, over finished jobs in a real database and real job folders."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from storage import experiments as store
from storage import jobs as job_store
from storage.db import begin
from test_experiments_storage import add_finished_jobs

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "compare.py")


def _settings(at: AppTest) -> list[str]:
    return at.dataframe[0].value["name"].tolist()


def test_without_finished_jobs_the_page_says_what_to_do(db_url):
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert at.info[0].value.startswith("No finished training job yet. Train on **4 Train**")


def test_compare_page_shows_settings_switches_metric_and_slice_and_pins_a_baseline(db_url):
    made = add_finished_jobs({"none": [(6, 2), (6, 3), (7, 2)], "typo": [(11, 10), (12, 11), (11, 11)]})
    at = AppTest.from_file(PAGE, default_timeout=60).run()
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
    assert at.markdown[0].value.startswith("- none: worse than typo on typo/f1")
    at.button(key="pin").click().run()
    assert not at.exception
    with begin() as conn:
        assert store.get_experiment(conn, made["experiment_id"])["baseline_job_id"] == typo_run


def test_a_metric_no_job_has_is_an_error_not_a_crash(db_url):
    with begin() as conn:  # a job that recorded accuracy only, as a job on graded labels has no ROC-AUC
        job_id = job_store.create_job(conn, sample_set_id=1, config={}, setting="none", seed=0, augmented_set_ids=[])
        job_store.set_job_status(conn, job_id, "done", metrics={"accuracy": 0.5}, progress=1.0)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception and _settings(at) == ["none"]
    at.selectbox(key="metric").select("f1").run()
    assert not at.exception
    assert [e.value for e in at.error] == ["no finished job has the metric 'f1'; choose one of accuracy"]
    assert not at.dataframe  # no table of a metric that is not there


@pytest.mark.parametrize("metric", ["roc_auc", "ndcg@10", "mrr"])
def test_every_ranking_metric_renders(db_url, metric):
    add_finished_jobs({"none": [(6, 2), (5, 1)], "synonyms": [(8, 3), (9, 4)]})
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.selectbox(key="metric").select(metric).run()
    assert not at.exception
    table = at.dataframe[0].value
    with begin() as conn:  # each setting's mean is the mean of what its jobs recorded
        jobs = store.list_finished_jobs(conn)
    recorded = jobs.assign(value=[m[metric] for m in jobs["metrics"]]).groupby("setting")["value"].mean()
    assert table["metric"].tolist() == [metric, metric] and table["name"].tolist() == ["none", "synonyms"]
    assert table["mean"].tolist() == pytest.approx([recorded["none"], recorded["synonyms"]])
    assert (table["ci_low"] <= table["mean"]).all() and (table["mean"] <= table["ci_high"]).all()
    assert at.markdown[0].value.replace("\\", "").startswith(f"- synonyms: better than none on {metric}, delta +")



def test_references_are_shown_as_rows_and_lines_and_untrained_level_runs_are_flagged(db_url):
    add_finished_jobs({"none": [(6, 2), (6, 3)], "typo": [(11, 10), (12, 11)]}, references={"zero_shot": (6, 4), "lexical": (3, 3)})
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    refs = at.dataframe[1].value  # settings, then references
    assert refs["name"].tolist() == ["zero-shot", "lexical (BM25)"]
    assert refs["value"].tolist() == pytest.approx([0.5, 0.25])
    assert at.warning[0].value.replace("\\", "").startswith("Not better than the untrained zero-shot model: none.")
    lines = [m.value.replace("\\", "") for m in at.markdown]
    assert lines[0].startswith("- zero-shot (no training): accuracy 0.5000 (95% interval")
    assert any(line.startswith("- typo beats zero-shot on accuracy: +0.4583") for line in lines)
    chart = at.get("plotly_chart")[0].proto.spec
    assert "zero-shot (untrained): 0.5000" in chart and "lexical (BM25) (untrained): 0.2500" in chart


def test_without_references_the_page_says_why(db_url):
    add_finished_jobs({"none": [(6, 2)]})
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert any("No zero-shot or lexical reference" in c.value for c in at.caption)
