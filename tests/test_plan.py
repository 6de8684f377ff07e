"""Sizing a job before it is queued (workbench/plan.py) and what the queue and the sidebar show
about jobs (workbench/jobs_view.py): real values or nothing (issue 13: 950% progress, 'None'
device, '0m 0s' during evaluation, 'nan' errors, a sidebar that said idle while a job ran)."""
import math

import pytest

from storage import jobs as store
from storage import samples as store_samples
from storage.db import begin
from workbench import plan
from workbench.errors import BadInput
from workbench.jobs_view import eta_text, progress_percent, queue_view, scheduler_state
from workbench.samples import SampleConfig, build_sample_set


def _job(status: str, **fields) -> int:
    with begin() as conn:
        job_id = store.create_job(conn, sample_set_id=1, config={}, setting="none", seed=0, augmented_set_ids=[])
        store.set_job_status(conn, job_id, status, **fields)
    return job_id


def test_on_cpu_the_demo_is_capped_to_fit_the_budget(demo_db):
    set_id = build_sample_set(2, SampleConfig(seed=0)).sample_set_id
    sized = plan.plan_training(set_id, [], epochs=1, budget_s=600, dev="cpu")
    assert sized.measured_from == "the benchmark figure" and sized.per_s == plan.BENCH_CPU_PER_S["similarity"]
    assert plan.MIN_CAP <= sized.originals < sized.originals_available and sized.max_train == sized.originals
    assert sized.eta_s == pytest.approx(600, rel=0.01)
    everything = plan.plan_training(set_id, [], epochs=3, budget_s=None, dev="cpu")
    assert everything.max_train == 0 and everything.eta_s > 3600  # over an hour: the old default (3 epochs, every sample)
    on_gpu = plan.plan_training(set_id, [], epochs=3, budget_s=600, dev="cuda")
    assert on_gpu.max_train == 0 and on_gpu.originals == on_gpu.originals_available


def test_the_throughput_is_measured_from_the_newest_finished_cpu_job(demo_db):
    set_id = build_sample_set(2, SampleConfig(seed=0)).sample_set_id
    _job("done", device="cpu", metrics={"samples_seen": 900, "train_time_s": 30.0})
    newest = _job("done", device="cpu", metrics={"samples_seen": 600, "train_time_s": 60.0})
    _job("done", device="cuda", metrics={"samples_seen": 90000, "train_time_s": 30.0})
    sized = plan.plan_training(set_id, [], epochs=2, budget_s=300, dev="cpu")
    assert (sized.per_s, sized.measured_from) == (10.0, f"job {newest}")
    assert sized.summary().startswith(f"Trains on {sized.originals:,} of {sized.originals_available:,} original samples, 2 epochs, on CPU")


def test_evaluation_speed_is_measured_from_the_jobs_wall_time(demo_db):
    from datetime import datetime, timedelta

    set_id = build_sample_set(2, SampleConfig(seed=0)).sample_set_id
    with begin() as conn:
        counts = store_samples.count_samples(conn, set_id)
    start = datetime(2026, 1, 1)
    with begin() as conn:
        job_id = store.create_job(conn, sample_set_id=set_id, config={"epochs": 1}, setting="none", seed=0, augmented_set_ids=[])
        # 60 s of training on 600 rows; the other 50 s fitted the head on them, scored val at epochs 0 and 1, test clean and typo.
        store.set_job_status(conn, job_id, "done", device="cpu", metrics={"samples_seen": 600, "train_time_s": 60.0},
                             started_at=start, finished_at=start + timedelta(seconds=110))
    speed = plan.measured_throughput("cpu")
    assert (speed.train_per_s, speed.source) == (10.0, f"job {job_id}")
    assert speed.eval_per_s == pytest.approx((600 + 2 * counts["val"] + 2 * counts["test"]) / 50)
    sized = plan.plan_training(set_id, [], epochs=1, budget_s=600, dev="cpu", references=True)
    references = min(counts["train"], 4000) + 2 * counts["test"]
    assert sized.evaluated == sized.originals + 2 * counts["val"] + 2 * counts["test"] + references
    assert sized.eval_s == pytest.approx(sized.evaluated / speed.eval_per_s)
    assert sized.eta_s == pytest.approx(600, rel=0.01)
    assert plan.reference_cost_s(set_id, "cpu") == pytest.approx(references / speed.eval_per_s)  # no job left references


@pytest.mark.parametrize("text, seeds", [("0, 1, 2", [0, 1, 2]), ("3 1 1", [1, 3])])
def test_sweep_seeds_and_settings(text, seeds):
    assert plan.parse_seeds(text) == seeds
    assert plan.sweep_settings([4, 5], combined=True) == [[], [4], [5], [4, 5]]
    assert plan.sweep_settings([4], combined=True) == [[], [4]]


def test_bad_sweep_seeds_are_named_in_the_pages_words():
    with pytest.raises(BadInput, match=r"^Sweep seeds: write whole numbers separated by commas, e.g. 0, 1, 2 \(got 'a, 1'\)$"):
        plan.parse_seeds("a, 1")


@pytest.mark.parametrize("progress, status, shown", [
    (9.5, "running", 100.0), (-0.2, "running", 0.0), (0.256, "running", 25.6), (None, "queued", 0.0),
    (math.nan, "failed", 0.0), (0.3, "done", 100.0)])
def test_progress_stays_between_0_and_100(progress, status, shown):
    assert progress_percent(progress, status) == shown


@pytest.mark.parametrize("eta_s, progress, status, shown", [
    (125, 0.5, "running", "2m 5s"), (0.0, 1.0, "running", "evaluating"), (0.0, 0.4, "running", ""),
    (None, 0.1, "running", ""), (math.nan, 0.1, "running", ""), (0.4, 0.14, "running", ""), (7300, 0.1, "running", "2h 1m"), (30, 0.5, "queued", "")])
def test_eta_is_a_real_value_or_nothing(eta_s, progress, status, shown):
    assert eta_text(eta_s, progress, status) == shown


def test_the_queue_never_shows_none_nan_or_over_100(db_url):
    _job("running", progress=9.5, eta_s=0.0, device=None, error=None)
    _job("failed", progress=0.4, error="RuntimeError: boom\nTraceback ...", device="cpu")
    table = queue_view()
    assert table.to_dict("records") == [
        {"id": 2, "sample set": 1, "experiment": None, "setting": "none", "seed": 0, "status": "failed", "progress %": 40.0, "eta": "",
         "device": "cpu", "error": "RuntimeError: boom"},
        {"id": 1, "sample set": 1, "experiment": None, "setting": "none", "seed": 0, "status": "running", "progress %": 100.0,
         "eta": "evaluating", "device": "", "error": ""}]


def test_jobs_list_on_the_command_line_shows_the_same_honest_values(db_url, cli):
    import json

    _job("running", progress=0.25, eta_s=None, device=None, error=None)
    result = cli("jobs", "list", "--json")
    assert result.returncode == 0, result.stderr
    [job] = json.loads(result.stdout.strip().splitlines()[-1])["jobs"]
    assert (job["progress %"], job["eta"], job["device"], job["error"], job["backend"]) == (25.0, "", "", "", "")
    assert "NaN" not in result.stdout and "None" not in result.stdout


def test_the_sidebar_line_reads_the_jobs_table_and_the_live_scheduler(db_url):
    assert scheduler_state().line == "Idle: no jobs queued or running"
    _job("running")
    _job("queued")
    state = scheduler_state()
    assert state.pid is None  # no scheduler process holds the lock in this test
    assert state.line == "Running job 1; 1 queued (starting the job scheduler)"


def test_the_study_says_its_time_as_measured_or_as_a_cautious_bound():
    from workbench.study import StudyResult, eta_text

    result = StudyResult(experiment_id=1, job_ids=[1, 2], augmented_set_ids={}, seeds=[0], originals=300, eta_s=590.0)
    assert eta_text(result).startswith("at most about 10 min in all: no job has run on this machine yet")
    result.sized_from = "job 7"
    assert eta_text(result) == "about 10 min in all (speed measured from job 7)"


def test_the_plan_says_when_its_speed_is_only_the_cautious_benchmark_figure(demo_db):
    set_id = build_sample_set(2, SampleConfig(seed=0)).sample_set_id
    before = plan.plan_training(set_id, [], epochs=1, budget_s=600, dev="cpu")
    assert before.summary().endswith("per job (a cautious 11.5 samples/s from the benchmark figure until a job has run here: often sooner).")
    newest = _job("done", device="cpu", metrics={"samples_seen": 600, "train_time_s": 60.0})
    after = plan.plan_training(set_id, [], epochs=1, budget_s=600, dev="cpu")
    assert after.summary().endswith(f"per job (10.0 samples/s measured from job {newest}).")


def test_the_budget_sizes_originals_and_augmented_samples_together(demo_db):
    """Share 0 once meant every augmented sample on top of capped originals: a 2-minute budget
    planned 200 originals + 10,426 augmented, a 20-minute job of 98% augmented rows."""
    import pandas as pd
    from test_train_support import store_augmented_set

    from workbench.train.data import cap_train

    set_id = build_sample_set(2, SampleConfig(seed=0)).sample_set_id
    aug_id = store_augmented_set(set_id)  # one augmented sample per train sample
    with begin() as conn:
        train = store_samples.count_samples(conn, set_id)["train"]
    sized = plan.plan_training(set_id, [aug_id], epochs=1, budget_s=600, dev="cpu")
    assert sized.augmented_available == train and sized.originals < train
    assert sized.augmented == sized.originals and sized.augmented_share == 1.0  # the sets' own proportion, cut alike
    assert sized.eta_s == pytest.approx(600, rel=0.01)  # the whole job fits the budget
    assert sized.summary().startswith(f"Trains on {sized.originals:,} of {train:,} original samples + {sized.augmented:,} of "
                                      f"{train:,} augmented = {2 * sized.originals:,} samples in all (1 augmented per "
                                      "original, the sets' own proportion), 1 epoch, on CPU: about 10 min per job")
    # The worker, given the plan's config values, trains on exactly the planned rows.
    frame = pd.DataFrame({"source": ["sample"] * train + ["augmented"] * train})
    assert len(cap_train(frame, sized.max_train, 0, sized.augmented_share)) == sized.originals + sized.augmented

    half = plan.plan_training(set_id, [aug_id], epochs=1, budget_s=600, augmented_share=0.5, dev="cpu")
    assert (half.augmented, half.augmented_share) == (round(0.5 * half.originals), 0.5)
    assert half.eta_s == pytest.approx(600, rel=0.01)

    short = plan.plan_training(set_id, [aug_id], epochs=1, budget_s=60, dev="cpu")
    assert (short.originals, short.augmented) == (plan.MIN_CAP, plan.MIN_CAP) and short.eta_s > 60
    assert short.summary().endswith(f"That is over the 1 min budget: a job trains on at least {plan.MIN_CAP} original samples "
                                    f"(and their augmented share), and scoring takes about {plan.minutes(short.eval_s)} of it.")
    everything = plan.plan_training(set_id, [aug_id], epochs=1, budget_s=None, dev="cpu")
    assert (everything.augmented, everything.augmented_share, everything.max_train) == (train, 0.0, 0)
    assert f"+ {train:,} of {train:,} augmented = {2 * train:,} samples in all (every augmented sample)" in everything.summary()


def test_the_first_progress_step_gives_no_eta(tmp_path):
    """The first status had a rate of one step per millisecond: the queue read '0m 0s' at 14%."""
    from workbench.train.folder import JobFolder
    from workbench.train.worker import _Progress

    folder = JobFolder(tmp_path)
    _Progress(folder)(1, 7, "step 1 of 7")
    assert folder.status()["progress"] == pytest.approx(1 / 7) and folder.status()["eta_s"] is None
