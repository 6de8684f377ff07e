"""Jobs: storage, submit, and the real scheduler and worker processes (tiny model, CPU).

Cancel, kill -9 recovery, resume and the out-of-memory fallback run real subprocesses: the
scheduler started the way the app starts it, workers in their own process groups.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from test_train_support import process_alive, store_augmented_set, store_sample_set, wait_for

from storage import jobs as store
from storage.actor import acting_as
from storage.db import begin
from storage.errors import NotFound
from workbench.errors import BadInput
from workbench.jobs.backend import group_members
from workbench.train.folder import JobFolder
from workbench.jobs.queue import cancel_job, delete_job, job_summary, resume_job, submit_job, wait_job
from workbench.jobs.scheduler import Scheduler, is_running
from workbench.train.config import TrainConfig

pytestmark = pytest.mark.both_stores  # each test runs on DuckDB and on a real PostgreSQL (tests/stores.py)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def env(db_url, data_dir, monkeypatch):
    monkeypatch.setenv("WORKBENCH_SCHEDULER_POLL_S", "0.2")
    monkeypatch.setenv("WORKBENCH_TORCH_THREADS", "1")  # the test machine is shared
    yield db_url
    wait_for(lambda: not is_running(), timeout_s=120)  # the scheduler exits once nothing is left


def quick(tiny_model, **kw) -> TrainConfig:
    return TrainConfig(**{"model": tiny_model, "epochs": 1, "batch_size": 8, "learning_rate": 1e-3, **kw})


def job(job_id: int) -> dict:
    with begin() as conn:
        return store.get_job(conn, job_id)


# --- storage ----------------------------------------------------------------------------


def test_job_rows_round_trip_and_claim_takes_the_oldest_queued(db_url):
    with begin() as conn:
        experiment = store.create_experiment(conn, "sweep", {"seeds": [0, 1]})
        first = store.create_job(conn, sample_set_id=1, config={"epochs": 1}, setting="none", seed=0, augmented_set_ids=[], experiment_id=experiment)
        second = store.create_job(conn, sample_set_id=1, config={"epochs": 1}, setting="a + b", seed=1, augmented_set_ids=[2, 3])
        claimed = store.claim_next_job(conn)
        store.insert_job_metrics(conn, first, [{"step": 1, "epoch": 0.5, "split": "train", "name": "loss", "value": 0.7}])
        store.set_job_status(conn, first, "done", metrics={"accuracy": 0.9})
    with begin() as conn:
        assert claimed["id"] == first and claimed["status"] == "running"
        assert store.get_job(conn, first)["metrics"] == {"accuracy": 0.9}
        assert store.get_job(conn, second)["augmented_set_ids"] == [2, 3]
        assert store.list_jobs(conn, experiment_id=experiment)["id"].tolist() == [first]
        # job_metrics.value is a DOUBLE (storage/tables.py): a curve point comes back exactly.
        assert store.read_job_metrics(conn, first).to_dict("records") == [
            {"job_id": first, "step": 1, "epoch": 0.5, "split": "train", "name": "loss", "value": 0.7}
        ]
        store.delete_job(conn, first)
        with pytest.raises(NotFound, match="no job with id 1; `python -m workbench jobs list` shows them"):
            store.get_job(conn, first)
        with pytest.raises(ValueError, match="job status must be one of"):
            store.set_job_status(conn, second, "paused")


@pytest.mark.postgres_only
def test_two_schedulers_on_one_postgresql_never_claim_the_same_job(db_url):
    from sqlalchemy import text

    from storage.db import get_engine

    with begin() as conn:
        job_id = store.create_job(conn, sample_set_id=1, config={}, setting="none", seed=0, augmented_set_ids=[])
    first = get_engine(db_url).connect()
    transaction = first.begin()
    assert store.claim_next_job(first)["id"] == job_id  # claimed, not committed yet
    second: dict = {}

    def claim():
        with begin() as conn:
            second["job"] = store.claim_next_job(conn)

    thread = threading.Thread(target=claim)
    thread.start()
    def waiting_on_a_lock():  # a fresh transaction per look: pg_stat_activity is a per-transaction snapshot
        with begin() as conn:
            return conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")).scalar()

    wait_for(waiting_on_a_lock)  # the second claim waits on the first one's row lock
    transaction.commit()
    first.close()
    thread.join(timeout=60)
    assert second == {"job": None}
    assert job(job_id)["status"] == "running"


def test_submit_writes_the_folder_with_train_plus_augmented_sets(env, data_dir, tiny_model):
    set_id = store_sample_set()
    extra = store_augmented_set(set_id, "typos")
    job_id = submit_job(set_id, quick(tiny_model), [extra], start_scheduler=False)
    row = job(job_id)
    folder = JobFolder(row["job_dir"])
    assert row["status"] == "queued" and row["setting"] == "typos" and row["augmented_set_ids"] == [extra]
    assert folder.path == data_dir / "jobs" / str(job_id)
    train = folder.read_split("train")
    assert (train["source"] == "sample").sum() == (train["source"] == f"augmented:{extra}").sum() > 0
    assert folder.read_config()["model"] == tiny_model
    delete_job(job_id)
    assert not folder.path.exists()


def test_a_job_records_who_submitted_it_when_someone_is_logged_in(env, tiny_model):
    set_id = store_sample_set()
    anonymous = submit_job(set_id, quick(tiny_model), start_scheduler=False)
    with acting_as("ana@example.com"):
        named = submit_job(set_id, quick(tiny_model), start_scheduler=False)
    assert (job(anonymous)["actor"], job(named)["actor"]) == (None, "ana@example.com")
    assert job_summary(named)["actor"] == "ana@example.com"


def test_submit_with_another_sample_sets_augmented_set_writes_nothing(env, data_dir, tiny_model):
    first, second = store_sample_set(), store_sample_set()
    extra = store_augmented_set(first)
    with pytest.raises(BadInput, match=rf"augmented set {extra} \('typos'\) belongs to sample set {first}, not {second}"):
        submit_job(second, quick(tiny_model), [extra])
    with begin() as conn:
        assert store.list_jobs(conn).empty
    assert not (data_dir / "jobs").exists() or not any(
        p.name[0].isdigit() or p.name.startswith(".new") for p in (data_dir / "jobs").iterdir()
    )


# --- the scheduler and workers, for real -----------------------------------------------


def cli(*args: str) -> tuple[int, dict]:
    proc = subprocess.run([sys.executable, "-m", "workbench", *args, "--json"], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow  # starts processes
def test_cli_train_queues_a_job_and_jobs_wait_reports_the_test_metrics(env, tiny_model):
    set_id = store_sample_set()
    code, queued = cli("train", "--sample-set", str(set_id), "--model", tiny_model, "--epochs", "2", "--batch-size", "8")
    assert code == 0 and queued["status"] == "queued" and set(queued) >= {"job_id", "status"}
    code, done = cli("jobs", "wait", str(queued["job_id"]))
    assert code == 0, done
    assert done["status"] == "done" and done["error"] is None
    assert {"accuracy", "f1", "roc_auc", "ndcg@10", "mrr", "typo/accuracy", "best_epoch", "samples_seen"} <= set(done["metrics"])
    with begin() as conn:
        rows = store.read_job_metrics(conn, queued["job_id"])
    assert sorted(rows[rows["split"] == "val"]["epoch"].unique().tolist()) == [1.0, 2.0]
    test = rows[rows["split"] == "test"].set_index("name")["value"].to_dict()
    assert test == pytest.approx({k: done["metrics"][k] for k in test}, rel=1e-6)
    code, shown = cli("jobs", "show", str(queued["job_id"]))
    assert code == 0 and shown["status"] == "done" and shown["device"] == "cpu"
    assert (shown["backend"], shown["actor"]) == ("local", None)
    code, listed = cli("jobs", "list")
    assert code == 0 and [(j["id"], j["status"], j["backend"]) for j in listed["jobs"]] == [(queued["job_id"], "done", "local")]


@pytest.mark.slow  # starts a worker
def test_a_job_cancelled_while_its_worker_starts_stays_cancelled_and_the_worker_is_stopped(env, tiny_model):
    """The scheduler claims a job (running, no worker yet); the user cancels it then, which finds no
    worker to stop; the worker the scheduler then starts is stopped again, and the job stays cancelled."""
    set_id = store_sample_set()
    job_id = submit_job(set_id, quick(tiny_model, epochs=2000, patience=0), start_scheduler=False)
    with begin() as conn:
        claimed = store.claim_next_job(conn)
    assert claimed["id"] == job_id and claimed["handle"] is None
    assert cancel_job(job_id)["status"] == "cancelled"
    scheduler = Scheduler()
    scheduler.start(claimed)
    assert job_id not in scheduler.running
    with begin() as conn:
        job = store.get_job(conn, job_id)
    assert (job["status"], job["handle"]) == ("cancelled", None)
    assert _workers_of(job["job_dir"]) == []


def _workers_of(job_dir: str) -> list[int]:
    """Live processes whose command line names this job folder (a zombie's is empty)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if f"--job-dir {job_dir}" in command:
            found.append(int(pid))
    return found


@pytest.mark.slow  # starts processes
def test_cancel_stops_the_worker_and_its_process_group(env, tiny_model):
    set_id = store_sample_set()
    job_id = submit_job(set_id, quick(tiny_model, epochs=2000, patience=0))  # runs until stopped: no early stop
    row = wait_for(lambda: (r := job(job_id))["status"] == "running" and (r["progress"] or 0) > 0 and r)
    summary = cancel_job(job_id)
    assert summary["status"] == "cancelled" and summary["error"] == "cancelled by the user"
    assert row["backend"] == "local"
    assert not process_alive(int(row["handle"]))
    assert group_members(int(row["handle"])) == []
    with pytest.raises(BadInput, match=f"job {job_id} is cancelled; only queued or running jobs can be cancelled"):
        cancel_job(job_id)
    wait_for(lambda: not is_running(), timeout_s=60)
    assert job(job_id)["status"] == "cancelled"  # the scheduler did not take the kill for a failure


@pytest.mark.slow  # starts processes
def test_a_worker_killed_with_kill_9_fails_the_job_and_resume_continues_from_the_checkpoint(env, tiny_model):
    set_id = store_sample_set()
    job_id = submit_job(set_id, quick(tiny_model, epochs=4, patience=0))
    folder = JobFolder(job(job_id)["job_dir"])
    wait_for(lambda: (folder.checkpoints / "last.pt").exists(), timeout_s=300, poll_s=0.02)
    pid = int(job(job_id)["handle"])
    os.killpg(pid, signal.SIGSTOP)  # freeze it, so it cannot finish before the kill
    os.kill(pid, signal.SIGKILL)
    failed = wait_for(lambda: (r := job(job_id))["status"] == "failed" and r)
    assert failed["error"].startswith("the worker was killed by signal 9; Resume continues from the last checkpoint\n--- log tail ---\n")
    assert "worker" in failed["error"].split("--- log tail ---")[1]

    resume_job(job_id)
    done = wait_job(job_id, timeout_s=300, poll_s=0.5)
    assert done["status"] == "done", done["error"]
    assert "resuming after epoch" in folder.log.read_text()
    with begin() as conn:
        rows = store.read_job_metrics(conn, job_id)
    val_loss = rows[(rows["split"] == "val") & (rows["name"] == "loss")]
    assert val_loss["epoch"].tolist() == [1.0, 2.0, 3.0, 4.0]  # each epoch once, none lost or repeated


@pytest.mark.slow  # starts processes
def test_out_of_memory_in_a_worker_halves_the_batch_and_the_job_finishes(env, tiny_model):
    set_id = store_sample_set()
    job_id = submit_job(set_id, quick(tiny_model, simulated_memory_tokens=100))
    done = wait_job(job_id, timeout_s=300, poll_s=0.5)
    assert done["status"] == "done", done["error"]
    log = JobFolder(done["job_dir"]).log.read_text()
    assert "out of memory with micro-batches of 8; continuing with 4" in log


@pytest.mark.slow  # starts processes
def test_a_failing_worker_marks_the_job_failed_with_its_reason(env, tiny_model, tmp_path):
    set_id = store_sample_set()
    broken = tmp_path / "weights-and-tokenizer-lost"  # passes the submit check (its config.json reads), fails to load
    broken.mkdir()
    shutil.copy(Path(tiny_model) / "config.json", broken / "config.json")
    job_id = submit_job(set_id, quick(str(broken)))
    failed = wait_job(job_id, timeout_s=300, poll_s=0.5)
    assert failed["status"] == "failed"
    assert failed["error"].startswith(f"ModelUnavailable: cannot load the encoder {str(broken)!r}")
    assert "; Resume runs it again once that is fixed" in failed["error"]


@pytest.mark.slow  # starts processes
def test_a_job_left_running_by_a_dead_scheduler_and_worker_is_failed_on_the_next_start(env, tiny_model):
    set_id = store_sample_set()
    job_id = submit_job(set_id, quick(tiny_model), start_scheduler=False)
    dead = subprocess.Popen(["true"])
    dead.wait()
    folder = JobFolder(job(job_id)["job_dir"])
    folder.heartbeat.write_text(f"{1.0} {dead.pid}")  # the last heartbeat: long ago
    with begin() as conn:
        store.set_job_status(conn, job_id, "running", handle=str(dead.pid), backend="local")
    subprocess.run([sys.executable, "-m", "workbench.jobs.scheduler"], cwd=ROOT, timeout=300, check=True)
    failed = job(job_id)
    assert failed["status"] == "failed"
    assert failed["error"].startswith("the worker is gone; its last heartbeat was ")
    assert "s ago; Resume starts it again" in failed["error"]


@pytest.mark.slow  # starts processes
def test_a_job_trained_elsewhere_from_a_copy_of_its_folder_is_adopted_as_done(env, tiny_model, tmp_path):
    # The worker needs only the folder, so a job can train on another machine (bench/accuracy_gpu.py):
    # the folder goes there, the worker runs, the result files come back, the scheduler adopts the job.
    set_id = store_sample_set()
    job_id = submit_job(set_id, quick(tiny_model), start_scheduler=False)
    folder = JobFolder(job(job_id)["job_dir"])
    remote = tmp_path / "elsewhere"
    shutil.copytree(folder.path, remote)
    subprocess.run([sys.executable, "-m", "workbench.train", "--job-dir", str(remote)], cwd=ROOT, timeout=300, check=True)
    for name in ("status.json", "metrics.jsonl", "predictions.parquet"):
        shutil.copy2(remote / name, folder.path / name)
    with begin() as conn:
        store.set_job_status(conn, job_id, "running", handle=None)
    Scheduler().adopt()
    done = job(job_id)
    assert done["status"] == "done" and done["error"] is None
    assert done["metrics"] == json.loads((remote / "status.json").read_text())["metrics"]
    with begin() as conn:
        stored = store.read_job_metrics(conn, job_id)
    assert len(stored) == len((remote / "metrics.jsonl").read_text().splitlines()) > 0


@pytest.mark.slow  # starts processes
def test_a_hung_worker_is_killed_and_its_job_failed_when_heartbeats_stop(env, tiny_model, monkeypatch):
    monkeypatch.setenv("WORKBENCH_HEARTBEAT_TIMEOUT_S", "20")  # short, yet above a slow import of torch
    set_id = store_sample_set()
    job_id = submit_job(set_id, quick(tiny_model, epochs=2000, patience=0))  # runs until stopped: no early stop
    row = wait_for(lambda: (r := job(job_id))["status"] == "running" and (r["progress"] or 0) > 0 and r)
    os.killpg(int(row["handle"]), signal.SIGSTOP)  # alive but silent, as a hung worker is
    failed = wait_for(lambda: (r := job(job_id))["status"] == "failed" and r)
    assert failed["error"].startswith("the worker sent no heartbeat for over 20 s and was killed")
    assert not process_alive(int(row["handle"]))


@pytest.mark.postgres_only
def test_a_job_goes_on_while_postgresql_restarts_and_ends_done(env, data_dir, tiny_model, pg_server):
    # The worker never opens the database; the scheduler waits for the server and catches up.
    job_id = submit_job(store_sample_set(), quick(tiny_model, epochs=3, patience=0))
    wait_for(lambda: (r := job(job_id))["status"] == "running" and (r["progress"] or 0) > 0 and r)
    scheduler_log = data_dir / "jobs" / "scheduler.log"
    pg_server.go_down()
    try:
        wait_for(lambda: "database unavailable, retrying" in scheduler_log.read_text(), timeout_s=120)
    finally:
        pg_server.go_up()
    done = wait_job(job_id, timeout_s=600, poll_s=0.5)
    assert done["status"] == "done", done["error"]
    with begin() as conn:
        rows = store.read_job_metrics(conn, job_id)
    assert rows[(rows["split"] == "val") & (rows["name"] == "loss")]["epoch"].tolist() == [1.0, 2.0, 3.0]


def test_cli_train_on_a_missing_sample_set_fails_with_one_clear_line(env, cli):
    proc = cli("train", "--sample-set", "99", "--json")
    assert proc.returncode == 1
    assert json.loads(proc.stdout) == {"error": "no sample set with id 99; `python -m workbench samples list` shows them", "exit_code": 1}
    assert proc.stderr == "error: no sample set with id 99; `python -m workbench samples list` shows them\n"
