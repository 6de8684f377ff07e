"""What a job may take from an earlier job of the same sample set instead of computing it again.

    copy_references(job_folder, sample_set_id, config)   # at submit, and again when the job starts

The zero-shot and lexical references depend only on the sample set's original samples, the base
model and the max length (REFERENCE_KEYS), never on a job's augmentation, seed or strategy. Submit
copies them from the newest finished job that has them; the scheduler tries again just before a
worker starts, so the jobs of a sweep queued together compute them once, not once each.
"""
from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from storage.db import begin

REFERENCES_DIR = "references"
REFERENCE_KEYS = ("model", "max_length")  # with the sample set, what the references depend on
REFERENCE_FILES = ("zero_shot.parquet", "lexical.parquet")


def has_references(folder: Path) -> bool:
    return all((folder / REFERENCES_DIR / name).exists() for name in REFERENCE_FILES)


def cached_references(sample_set_id: int, config: dict | None) -> Path | None:
    """The references folder of the newest finished job of this sample set with the same base model
    and max length (config None: any), if any."""
    from storage.experiments import list_finished_jobs

    with begin() as conn:
        jobs = list_finished_jobs(conn, sample_set_id=sample_set_id)
    for job_config, job_dir in zip(reversed(list(jobs["config"])), reversed(list(jobs["job_dir"]))):
        same = config is None or all(job_config.get(k) == config.get(k) for k in REFERENCE_KEYS)
        if same and has_references(Path(str(job_dir))):
            return Path(str(job_dir)) / REFERENCES_DIR
    return None


def copy_references(folder: Path, sample_set_id: int, config: dict) -> bool:
    """Copy an earlier job's references into `folder` unless it has them; True when it has them now.
    The copy lands under a temporary name and is renamed, so a worker never reads half of it."""
    if has_references(folder):
        return True
    if not config.get("references", True):
        return False
    cached = cached_references(sample_set_id, config)
    if cached is None:
        return False
    tmp = folder / f".{REFERENCES_DIR}-{uuid.uuid4().hex}"
    try:
        shutil.copytree(cached, tmp)
        shutil.rmtree(folder / REFERENCES_DIR, ignore_errors=True)  # a partial folder of a worker that died
        tmp.rename(folder / REFERENCES_DIR)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return True
