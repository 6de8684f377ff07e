"""What users do with jobs: submit, sweep, cancel, resume, delete, wait, show.

    from workbench.jobs.queue import submit_job
    job_id = submit_job(sample_set_id=1, config=TrainConfig(epochs=1), augmented_set_ids=[2])

Submit writes the job folder (config.json and frozen Parquet copies of train = the train split
plus the chosen augmented sets, val and test) and the job row together: the folder is written
under a temporary name and renamed inside the transaction that creates the row, so a failure
leaves neither. Then it starts the scheduler if none runs.
"""
from __future__ import annotations

import shutil
import time
import uuid

import pandas as pd

from storage import candidates, samples
from storage import jobs as store
from storage.clock import utc_now
from storage.db import begin
from workbench.errors import BadInput, MissingData
from workbench.jobs.backend import get_backend
from workbench.train.folder import JobFolder, jobs_dir
from workbench.jobs.reuse import copy_references
from workbench.jobs.scheduler import ensure_scheduler, is_running
from workbench.models import model_positions, resolve_model
from workbench.train.config import TrainConfig

FINISHED = ("done", "failed", "cancelled")
TRAIN_COLUMNS = ["sample_id", "query", "product_id", "product_text", "label", "cold_start", "source"]
WARM_START_DIR = "init_model"  # the warm start model, copied into the folder: the worker reads only its folder



def setting_name(conn, augmented_set_ids: list[int]) -> str:
    """'none' for the train split alone, else the augmented sets' names joined by ' + '."""
    if not augmented_set_ids:
        return "none"
    return " + ".join(candidates.get_augmented_set(conn, i)["name"] for i in augmented_set_ids)


def training_frames(conn, sample_set_id: int, augmented_set_ids: list[int]) -> dict[str, pd.DataFrame]:
    """train (the train split plus the augmented sets), val and test of a sample set."""
    samples.get_sample_set(conn, sample_set_id)
    frames = {split: samples.read_samples(conn, sample_set_id, split) for split in ("train", "val", "test")}
    for split, frame in frames.items():
        if frame.empty and split != "test":
            raise MissingData(f"sample set {sample_set_id} has no {split} samples; rebuild it with a {split} share above 0")
    if frames["train"]["label"].nunique() < 2:
        raise BadInput(f"the train split of sample set {sample_set_id} has one label only "
                       f"({frames['train']['label'].iloc[0]:g}); rebuild it with a label rule that gives two")
    train = [frames["train"].assign(source="sample")]
    for set_id in augmented_set_ids:
        info = candidates.get_augmented_set(conn, set_id)
        if info["sample_set_id"] != sample_set_id:
            raise BadInput(f"augmented set {set_id} ('{info['name']}') belongs to sample set {info['sample_set_id']}, not {sample_set_id}")
        extra = candidates.read_augmented_set(conn, set_id)
        train.append(extra.assign(cold_start=False, source=f"augmented:{set_id}"))
    frames["train"] = pd.concat([f[TRAIN_COLUMNS] for f in train], ignore_index=True)
    frames["test"] = frames["test"].assign(source="sample")
    return frames


def submit_job(
    sample_set_id: int,
    config: TrainConfig,
    augmented_set_ids: list[int] | tuple = (),
    experiment_id: int | None = None,
    warm_start_job_id: int | None = None,
    start_scheduler: bool = True,
) -> int:
    """Queue one training job; returns its id."""
    config.validate()
    positions = model_positions(config.model)  # a model that cannot load fails here, not in the worker
    if positions and config.max_length > positions:
        raise BadInput(f"training config field 'max_length': {config.model} takes at most {positions} tokens, got {config.max_length}")
    if config.warm_start and not warm_start_job_id:
        resolve_model(config.warm_start)  # a folder given by hand must hold a saved model
    augmented_set_ids = [int(i) for i in augmented_set_ids]
    with begin() as conn:
        frames = training_frames(conn, sample_set_id, augmented_set_ids)
        setting = setting_name(conn, augmented_set_ids)
        warm = store.get_job(conn, warm_start_job_id) if warm_start_job_id else None
    if warm is not None and (warm["status"] != "done" or not JobFolder(warm["job_dir"]).model.exists()):
        raise BadInput(f"warm start: job {warm_start_job_id} is {warm['status']} and has no saved model; pick a finished job")
    values = config.to_dict() | ({"warm_start": WARM_START_DIR} if warm else {})
    tmp = JobFolder(jobs_dir() / f".new-{uuid.uuid4().hex}")
    try:
        tmp.write_inputs(values, frames)
        copy_references(tmp.path, sample_set_id, values)
        if warm is not None:
            shutil.copytree(JobFolder(warm["job_dir"]).model, tmp.path / WARM_START_DIR)
        with begin() as conn:
            job_id = store.create_job(conn, sample_set_id=sample_set_id, config=values, setting=setting,
                                      seed=config.seed, augmented_set_ids=augmented_set_ids, experiment_id=experiment_id)  # fmt: skip
            final = jobs_dir() / str(job_id)
            if final.exists():  # a folder left by an older database: keep it, out of the way
                final.rename(final.with_name(f"{job_id}.orphan-{int(time.time())}"))
            tmp.path.rename(final)
            store.set_job_status(conn, job_id, "queued", job_dir=str(final))
    finally:
        shutil.rmtree(tmp.path, ignore_errors=True)
    if start_scheduler:
        ensure_scheduler()
    return job_id


def run_sweep(sample_set_id: int, config: TrainConfig, settings: list[list[int]], seeds: list[int], name: str) -> tuple[int, list[int]]:
    """One experiment with a job per (augmentation setting, seed) cell; returns (experiment_id, job ids)."""
    if not settings or not seeds:
        raise BadInput("a sweep needs at least one setting and one seed")
    sweep = {"sample_set_id": sample_set_id, "settings": settings, "seeds": seeds, "config": config.to_dict()}
    with begin() as conn:
        experiment_id = store.create_experiment(conn, name, sweep)
    job_ids = []
    for setting in settings:
        for seed in seeds:
            cell = TrainConfig.from_dict(config.to_dict() | {"seed": int(seed)})
            job_ids.append(submit_job(sample_set_id, cell, setting, experiment_id=experiment_id, start_scheduler=False))
    ensure_scheduler()
    return experiment_id, job_ids


def cancel_job(job_id: int) -> dict:
    """Cancel a queued job, or stop a running one and its whole process group."""
    with begin() as conn:
        job = store.get_job(conn, job_id)
        if job["status"] in FINISHED:
            raise BadInput(f"job {job_id} is {job['status']}; only queued or running jobs can be cancelled")
        # Marked first, so the scheduler does not take the ending worker for a failure.
        store.set_job_status(conn, job_id, "cancelled", error="cancelled by the user", finished_at=utc_now())
    if job["status"] == "running" and job["handle"]:
        backend = get_backend(job["backend"])  # the backend it was submitted with, not today's setting
        if backend.owns(job["handle"], job["job_dir"]):
            backend.cancel(job["handle"])
    return job_summary(job_id)


def resume_job(job_id: int) -> dict:
    """Queue a failed or cancelled job again; the worker continues after its last checkpoint."""
    with begin() as conn:
        job = store.get_job(conn, job_id)
        if job["status"] not in ("failed", "cancelled"):
            raise BadInput(f"job {job_id} is {job['status']}; only failed or cancelled jobs can be resumed")
        JobFolder(job["job_dir"]).clear_outcome()
        store.set_job_status(conn, job_id, "queued", error=None, handle=None, eta_s=None, finished_at=None)
    ensure_scheduler()
    return job_summary(job_id)


def delete_job(job_id: int) -> None:
    """Delete a job's row, metric rows and folder (a running job is cancelled first)."""
    with begin() as conn:
        job = store.get_job(conn, job_id)
    if job["status"] in ("queued", "running"):
        cancel_job(job_id)
    with begin() as conn:
        store.delete_job(conn, job_id)
    if job["job_dir"]:
        shutil.rmtree(job["job_dir"], ignore_errors=True)


def job_summary(job_id: int) -> dict:
    """What `jobs show` prints: job_id, status, metrics (test), error, and progress details."""
    with begin() as conn:
        job = store.get_job(conn, job_id)
    keys = ("setting", "seed", "progress", "eta_s", "device", "job_dir", "backend", "handle", "actor", "created_at",
            "started_at", "finished_at")
    summary = {"job_id": job["id"], "status": job["status"], "metrics": job["metrics"], "error": job["error"]} | {k: job[k] for k in keys}
    return summary | {"warning": zero_shot_warning(job["metrics"] or {})}


def zero_shot_warning(metrics: dict) -> str | None:
    """A finished job whose test figure is below the untrained base model's says so (None otherwise)."""
    delta = metrics.get("vs_zero_shot")
    if delta is None or delta >= 0:
        return None
    return f"worse than the untrained zero-shot model on its early-stopping metric (test {delta:+.4f})"


def wait_job(job_id: int, timeout_s: float | None = None, poll_s: float = 1.0) -> dict:
    """Block until the job is done, failed or cancelled (or timeout_s passes); returns job_summary."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        summary = job_summary(job_id)
        if summary["status"] in FINISHED or (deadline is not None and time.monotonic() > deadline):
            return summary
        if not is_running():  # e.g. the machine restarted: pick the queue up again
            ensure_scheduler()
        time.sleep(poll_s)


def log_tail(job_id: int, lines: int = 30) -> str:
    """The worker's log: its folder's log.txt, or what its backend kept (Ray's driver log)."""
    with begin() as conn:
        job = store.get_job(conn, job_id)
    if not job["job_dir"]:
        return ""
    if job["handle"] and job["backend"] not in (None, "local"):
        return get_backend(job["backend"]).logs(job["handle"], job["job_dir"], lines)
    return JobFolder(job["job_dir"]).log_tail(lines)


def active_jobs() -> int:
    with begin() as conn:
        return store.count_jobs(conn, ("queued", "running"))


def ended_jobs() -> int:
    """Jobs done, failed or cancelled: a page that follows jobs redraws when this changes."""
    with begin() as conn:
        return store.count_jobs(conn, ("done", "failed", "cancelled"))


def start_scheduler_if_needed() -> bool:
    """After an app restart: queued or running jobs with no scheduler get one. True if started."""
    return active_jobs() > 0 and ensure_scheduler()


def job_curves(job_id: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training loss by step, validation metrics by epoch: one column per metric)."""
    with begin() as conn:
        rows = store.read_job_metrics(conn, job_id)
    loss = rows[rows["split"] == "train"].sort_values("step")[["step", "value"]].rename(columns={"value": "loss"})
    val = rows[rows["split"] == "val"].pivot_table(index="epoch", columns="name", values="value")
    return loss.set_index("step"), val
