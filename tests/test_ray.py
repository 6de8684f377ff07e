"""The Ray job backend against a real Ray head (issue 12): submit, status, logs, exit code, a
failing worker, cancel, a scheduler restart that adopts a running Ray job, and one small
training job that ends done with its metrics in the database.

Ray binds the machine's own network address even when told 127.0.0.1, so these tests run only
inside a network namespace that has nothing but loopback; anywhere else they refuse to start Ray:

    unshare -n sh -c 'ip link set lo up && .venv/bin/python -m pytest -m ray -q'    (as root; `make test-ray`)

One head (1 CPU, usage statistics off, dashboard on 127.0.0.1) serves the whole session; it
takes 15 to 20 s to start. It runs as its own process group and is stopped by that group's id.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest
from test_train_support import build_tiny_model, store_sample_set, wait_for

from storage import jobs as store
from storage.db import begin
from workbench.jobs.backend import LocalBackend
from workbench.jobs.queue import cancel_job, resume_job, submit_job, wait_job
from workbench.jobs.scheduler import Scheduler, is_running
from workbench.train.config import TrainConfig
from workbench.train.folder import JobFolder

pytestmark = pytest.mark.ray
RAY = Path(sys.executable).with_name("ray")


def only_loopback() -> bool:
    """True inside a network namespace whose only interface is lo (what `unshare -n` gives)."""
    return [name for _, name in socket.if_nameindex()] == ["lo"]


@pytest.fixture(scope="session")
def ray_address():
    """One Ray head for the session, inside this loopback-only namespace; its dashboard address."""
    if not only_loopback():
        message = ("Ray tests run only in a network namespace with nothing but loopback (Ray binds the machine's "
                   "address): unshare -n sh -c 'ip link set lo up && .venv/bin/python -m pytest -m ray' (make test-ray)")
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    pytest.importorskip("ray", reason="Ray is not installed (pip install -r requirements-ray.txt; make test does it)")
    temp = Path(tempfile.mkdtemp(prefix="wbray-", dir="/tmp"))  # short: Ray's socket paths have a length limit
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    head = subprocess.Popen(
        [str(RAY), "start", "--head", "--block", "--num-cpus=1", "--node-ip-address=127.0.0.1",
         "--dashboard-host=127.0.0.1", "--include-dashboard=true", "--disable-usage-stats",
         f"--temp-dir={temp}", f"--object-store-memory={100 * 2**20}"],
        env=env, stdout=open(temp / "head.log", "w"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    address = "http://127.0.0.1:8265"
    started = time.monotonic()
    try:
        from ray.job_submission import JobSubmissionClient

        while True:
            try:
                JobSubmissionClient(address).list_jobs()
                break
            except Exception:  # noqa: BLE001 - not up yet
                if head.poll() is not None or time.monotonic() - started > 180:
                    raise RuntimeError(f"the Ray head did not start:\n{(temp / 'head.log').read_text()[-3000:]}")
                time.sleep(1)
        print(f"Ray head up in {time.monotonic() - started:.1f} s", file=sys.stderr)
        yield address
    finally:
        _stop_head(head, temp)


def _stop_head(head: subprocess.Popen, temp: Path) -> None:
    """SIGTERM, then SIGKILL, to the head's process group and to the processes of this session's
    Ray temp folder (job entrypoints run in their own groups); never `ray stop`, which kills by name."""
    def ours() -> list[psutil.Process]:
        found = []
        for proc in psutil.process_iter(["pid", "cmdline"]):
            try:
                if proc.pid != os.getpid() and (os.getpgid(proc.pid) == head.pid or str(temp) in " ".join(proc.info["cmdline"] or [])):
                    found.append(proc)
            except (psutil.Error, ProcessLookupError):
                continue
        return found

    for sig in (signal.SIGTERM, signal.SIGKILL):
        for proc in ours():
            try:
                proc.send_signal(sig)
            except psutil.Error:
                continue
        psutil.wait_procs(ours(), timeout=15)
    head.wait(timeout=30)
    subprocess.run(["rm", "-rf", str(temp)], check=False)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return str(build_tiny_model(tmp_path_factory.mktemp("tiny")))


@pytest.fixture
def on_ray(ray_address, db_url, monkeypatch):
    monkeypatch.setenv("WORKBENCH_JOB_BACKEND", "ray")
    monkeypatch.setenv("RAY_ADDRESS", ray_address)
    monkeypatch.setenv("WORKBENCH_SCHEDULER_POLL_S", "0.2")
    monkeypatch.setenv("WORKBENCH_TORCH_THREADS", "1")
    yield ray_address
    wait_for(lambda: not is_running(), timeout_s=120)


def quick(tiny_model, **kw) -> TrainConfig:
    return TrainConfig(**{"model": tiny_model, "epochs": 1, "batch_size": 8, "learning_rate": 1e-3, **kw})


def job(job_id: int) -> dict:
    with begin() as conn:
        return store.get_job(conn, job_id)


def test_the_backend_submits_reports_the_exit_code_and_shows_the_driver_log(on_ray, tmp_path):
    from workbench.jobs.ray_backend import RayBackend

    backend = RayBackend()
    folder = tmp_path / "7"
    folder.mkdir()  # no config.json: the worker refuses the folder and exits
    handle = backend.submit(folder)
    assert handle.startswith("workbench-7-")
    wait_for(lambda: backend.status(handle) == "exited", timeout_s=120)
    assert backend.exit_code(handle) == 1
    assert f"{folder}/config.json does not exist: --job-dir must be a job folder written at submit" in backend.logs(handle, folder)


@pytest.mark.both_stores  # the team set-up: PostgreSQL and Ray together
def test_a_small_training_job_on_ray_ends_done_with_its_metrics_in_the_database(on_ray, tiny_model):
    job_id = submit_job(store_sample_set(), quick(tiny_model, epochs=2))
    done = wait_job(job_id, timeout_s=600, poll_s=0.5)
    assert done["status"] == "done", done["error"]
    row = job(job_id)
    assert row["backend"] == "ray" and row["handle"].startswith(f"workbench-{job_id}-")
    assert set(done["metrics"]) >= {"accuracy", "f1", "ndcg@10"}
    with begin() as conn:
        rows = store.read_job_metrics(conn, job_id)
    assert rows[(rows["split"] == "val") & (rows["name"] == "loss")]["epoch"].tolist() == [1.0, 2.0]


def test_a_failing_worker_on_ray_fails_the_job_with_its_reason_and_resume_goes_back_to_ray(on_ray, tiny_model, tmp_path,
                                                                                         monkeypatch):
    broken = tmp_path / "weights-and-tokenizer-lost"  # passes the submit check (its config.json reads), fails to load
    broken.mkdir()
    shutil.copy(Path(tiny_model) / "config.json", broken / "config.json")
    job_id = submit_job(store_sample_set(), quick(str(broken)))
    failed = wait_job(job_id, timeout_s=300, poll_s=0.5)
    assert failed["status"] == "failed"
    assert failed["error"].startswith(f"ModelUnavailable: cannot load the encoder {str(broken)!r}")
    first = job(job_id)["handle"]
    monkeypatch.setenv("WORKBENCH_JOB_BACKEND", "local")  # new jobs would run here now; this one goes back to Ray
    resume_job(job_id)
    again = wait_job(job_id, timeout_s=300, poll_s=0.5)
    row = job(job_id)
    assert again["status"] == "failed" and again["error"].startswith("ModelUnavailable")
    assert row["backend"] == "ray" and row["handle"].startswith(f"workbench-{job_id}-") and row["handle"] != first


def test_cancel_stops_the_ray_job(on_ray, tiny_model):
    from ray.job_submission import JobSubmissionClient

    job_id = submit_job(store_sample_set(), quick(tiny_model, epochs=2000, patience=0))  # runs until stopped
    row = wait_for(lambda: (r := job(job_id))["status"] == "running" and (r["progress"] or 0) > 0 and r, timeout_s=300)
    summary = cancel_job(job_id)
    assert summary["status"] == "cancelled" and summary["error"] == "cancelled by the user"
    assert str(JobSubmissionClient(on_ray).get_job_status(row["handle"]).value) == "STOPPED"
    wait_for(lambda: not is_running(), timeout_s=60)
    assert job(job_id)["status"] == "cancelled"  # the scheduler did not take the stop for a failure


def test_a_restarted_scheduler_adopts_the_running_ray_job_through_ray(on_ray, tiny_model, monkeypatch):
    job_id = submit_job(store_sample_set(), quick(tiny_model, epochs=3), start_scheduler=False)
    first = Scheduler()  # new jobs go to Ray
    first.tick()
    started = job(job_id)
    assert started["status"] == "running" and started["backend"] == "ray"
    del first  # the scheduler process ends; the Ray job goes on
    # The next scheduler sends new jobs to the local backend, yet watches this one through Ray.
    monkeypatch.setenv("WORKBENCH_JOB_BACKEND", "local")
    second = Scheduler(LocalBackend())
    second.adopt()
    assert second.running[job_id]["backend"].name == "ray"
    deadline = time.monotonic() + 600
    while job(job_id)["status"] == "running" and time.monotonic() < deadline:
        second.tick()
        time.sleep(0.5)
    done = job(job_id)
    assert done["status"] == "done", done["error"]
    assert done["handle"] == started["handle"] and JobFolder(done["job_dir"]).predictions.exists()
