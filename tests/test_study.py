"""The one-click augmentation study (workbench/study.py and `python -m workbench study`): each recipe
generated and accepted by its own score rule, one sweep sized to the time budget, and a plain answer
once the jobs finish. Jobs train a tiny random BERT through the real scheduler."""
from __future__ import annotations

import json

import pytest
from test_train_support import build_tiny_model, store_sample_set, wait_for

from storage import candidates
from storage import jobs as job_store
from storage.db import begin
from workbench import study
from workbench.cli import main
from workbench.errors import BadInput
from workbench.jobs.queue import wait_job
from workbench.jobs.scheduler import is_running

pytestmark = pytest.mark.slow  # trains 12 tiny jobs through the scheduler (about 7 minutes on 2 cores)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return str(build_tiny_model(tmp_path_factory.mktemp("tiny")))


@pytest.fixture
def env(db_url, monkeypatch):
    monkeypatch.setenv("WORKBENCH_SCHEDULER_POLL_S", "0.2")
    monkeypatch.setenv("WORKBENCH_TORCH_THREADS", "1")
    yield db_url
    wait_for(lambda: not is_running(), timeout_s=300)


def test_a_study_accepts_each_recipe_queues_a_sized_sweep_and_answers(env, tiny_model):
    set_id = store_sample_set(n=200)
    result = study.run_study(study.StudyConfig(sample_set_id=set_id, recipes=["typo robustness"], budget_s=600,
                                               model=tiny_model))
    with begin() as conn:
        [saved] = candidates.list_augmented_sets(conn, set_id).to_dict("records")
        run = candidates.summarize_candidates(conn, saved["augment_run_id"])
        jobs = job_store.list_jobs(conn, experiment_id=result.experiment_id).sort_values("id")
    assert result.augmented_set_ids == {"typo robustness": saved["id"]}
    assert saved["size"] == run["candidates"].sum() == run["accepted"].sum() > 0  # what the recipe's filters kept
    assert result.seeds == [0, 1, 2]  # 200 samples fit three seeds of both settings in ten minutes
    assert list(zip(jobs["setting"], jobs["seed"])) == [("none", 0), ("none", 1), ("none", 2),
                                                        ("typo robustness (study)", 0), ("typo robustness (study)", 1),
                                                        ("typo robustness (study)", 2)]
    assert 0 < result.eta_s <= 600 * 1.05
    assert {c["augmented_share"] for c in jobs["config"]} == {0.5}  # none and the recipe train on comparable amounts
    for job_id in result.job_ids:
        assert wait_job(job_id, timeout_s=600)["status"] == "done"
    lines = study.answer(result.experiment_id)
    assert lines and all(line.startswith(("typo robustness (study) ", "Careful: ", "Training helped: ", "The fitted head helped: "))
                     for line in lines)
    assert any("untrained zero-shot model" in line for line in lines)  # every job wrote the references
    assert any("on all test queries" in line for line in lines)


def test_the_cli_step_prints_the_study_as_json(env, tiny_model, capsys):
    set_id = store_sample_set(n=120)
    code = main(["study", "--sample-set", str(set_id), "--recipes", "typo robustness", "--budget-min", "5",
                 "--model", tiny_model, "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"experiment_id", "job_ids", "augmented_set_ids", "seeds", "originals", "eta_s", "dropped"} <= set(out)
    for job_id in out["job_ids"]:
        wait_job(job_id, timeout_s=600)


@pytest.mark.parametrize("recipes, message", [
    ([], "choose at least one recipe to study"),
    (["typos"], "unknown recipe typos; choose from typo robustness, synonyms and paraphrases, cold start, hard negatives"),
])
def test_a_study_without_a_known_recipe_is_refused(db_url, recipes, message):
    with pytest.raises(BadInput, match="^" + message.replace("(", r"\(").replace(")", r"\)") + "$"):
        study.run_study(study.StudyConfig(sample_set_id=1, recipes=recipes))


@pytest.mark.parametrize("delta, low, high, kept_epoch_0, opening", [
    (0.04, 0.01, 0.07, False, "Training helped: none (no augmentation) beats"),
    (0.04, 0.01, 0.07, True, "The fitted head helped: none (no augmentation) beats"),  # the encoder did not learn
    (0.01, -0.02, 0.04, False, "Careful: none (no augmentation) does not clearly beat")])
def test_the_answer_first_says_whether_training_beat_the_untrained_model(delta, low, high, kept_epoch_0, opening):
    from workbench.experiments import Comparison, ReferenceResult, SettingResult

    base = SettingResult("none", "roc_auc", 0.70 + delta, 0.69, 0.75, 3, 0.0, 0.0, 0.0, 1.0, False, "baseline", 10.0, 100.0,
                         [1], delta, low, high, low > 0, kept_epoch_0=kept_epoch_0)  # fmt: skip
    comparison = Comparison("none", "roc_auc", "all", [base], None, None, references=[ReferenceResult("zero-shot", "roc_auc", 0.70, 0.68, 0.72, 300)])
    [line] = study.against_zero_shot(comparison, "ROC-AUC")
    assert line.startswith(opening)
    assert f"ROC-AUC {0.70 + delta:.3f} against 0.700 untrained (difference {delta:+.3f}, 95% interval {low:+.3f} to {high:+.3f})" in line
