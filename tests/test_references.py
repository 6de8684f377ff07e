"""The references at submit: a job of a sample set that already has them gets a copy in its folder,
so its worker reads them instead of encoding the test split again."""
from __future__ import annotations

import pandas as pd
from test_train_support import store_sample_set

from storage import jobs as job_store
from storage.db import begin
from workbench.jobs.queue import submit_job
from workbench.train.config import TrainConfig
from workbench.train.folder import JobFolder


def finish_with_references(job_id: int, marker: float) -> None:
    """Mark a job done with a references folder, as its worker would have left it."""
    with begin() as conn:
        folder = JobFolder(job_store.get_job(conn, job_id)["job_dir"])
        (folder.path / "references").mkdir()
        for name in ("zero_shot", "lexical"):
            pd.DataFrame({"score": [marker]}).to_parquet(folder.path / "references" / f"{name}.parquet")
        job_store.set_job_status(conn, job_id, "done", metrics={"accuracy": 0.5})


def test_a_new_job_of_the_same_sample_set_and_model_gets_the_references_copied(db_url):
    set_id = store_sample_set(60)
    first = submit_job(set_id, TrainConfig(max_length=64), start_scheduler=False)
    finish_with_references(first, 0.25)
    same = submit_job(set_id, TrainConfig(max_length=64, seed=3, epochs=1), start_scheduler=False)
    other = submit_job(set_id, TrainConfig(max_length=32), start_scheduler=False)
    with begin() as conn:
        folders = {j: JobFolder(job_store.get_job(conn, j)["job_dir"]) for j in (same, other)}
    copied = folders[same].path / "references" / "zero_shot.parquet"
    assert pd.read_parquet(copied)["score"].tolist() == [0.25]
    assert not (folders[other].path / "references").exists()  # another max length: computed by its worker


def test_a_sweep_queued_before_any_job_finished_reuses_the_first_jobs_references_when_the_next_starts(db_url, data_dir, tiny_model):
    """Submit had nothing to copy (no job had finished); the scheduler copies them in as it starts the
    next worker, so a sweep computes its references once, not once per job."""
    from workbench.jobs.queue import cancel_job
    from workbench.jobs.scheduler import Scheduler

    set_id = store_sample_set(60)
    first, second = (submit_job(set_id, TrainConfig(model=tiny_model, max_length=64, seed=s), start_scheduler=False) for s in (0, 1))
    with begin() as conn:
        assert not (JobFolder(job_store.get_job(conn, second)["job_dir"]).path / "references").exists()
        assert job_store.claim_next_job(conn)["id"] == first
    finish_with_references(first, 0.75)
    with begin() as conn:
        job = job_store.claim_next_job(conn)
    assert job["id"] == second
    Scheduler().start(job)
    try:
        copied = JobFolder(job["job_dir"]).path / "references" / "lexical.parquet"
        assert pd.read_parquet(copied)["score"].tolist() == [0.75]
    finally:
        cancel_job(second)
