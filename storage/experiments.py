"""Reads for Compare: finished jobs with their metrics, their curves, experiments, the pinned baseline.

The jobs and job_metrics tables are written by storage/jobs.py (training); this module only reads
them, plus one write: which job an experiment pins as its baseline.
"""
from __future__ import annotations

import json

import pandas as pd
from sqlalchemy import Connection, select

from storage import tables
from storage.db import read_frame, read_row
from storage.errors import NotFound

FINISHED_JOB_COLUMNS = [
    "id", "experiment_id", "sample_set_id", "augmented_set_ids", "setting", "seed",
    "config", "metrics", "job_dir", "finished_at",
]  # fmt: skip


def list_finished_jobs(conn: Connection, experiment_id: int | None = None, sample_set_id: int | None = None) -> pd.DataFrame:
    """Jobs with status 'done', oldest first; config and metrics parsed from JSON into dicts."""
    t = tables.jobs
    query = select(*[t.c[c] for c in FINISHED_JOB_COLUMNS]).where(t.c.status == "done").order_by(t.c.id)
    if experiment_id is not None:
        query = query.where(t.c.experiment_id == experiment_id)
    if sample_set_id is not None:
        query = query.where(t.c.sample_set_id == sample_set_id)
    frame = pd.DataFrame(conn.execute(query).mappings().all(), columns=FINISHED_JOB_COLUMNS)
    for column in ("config", "metrics"):
        frame[column] = [json.loads(text) if text else {} for text in frame[column]]
    frame["augmented_set_ids"] = [json.loads(text) if text else [] for text in frame["augmented_set_ids"]]
    return frame


def read_metrics_of_jobs(conn: Connection, job_ids: list[int]) -> pd.DataFrame:
    """Every job_metrics row (curves, test and slice metrics) of the given jobs, in order."""
    t = tables.job_metrics
    columns = ["job_id", "step", "epoch", "split", "name", "value"]
    if not job_ids:
        return pd.DataFrame(columns=columns)
    query = (
        select(*[t.c[c] for c in columns])
        .where(t.c.job_id.in_([int(i) for i in job_ids]))
        .order_by(t.c.job_id, t.c.split, t.c.name, t.c.step, t.c.epoch)
    )
    return pd.DataFrame(conn.execute(query).mappings().all(), columns=columns)


def list_experiments(conn: Connection) -> pd.DataFrame:
    """Experiments, newest first, with how many of their jobs are done."""
    t = tables.experiments
    return read_frame(conn, select(t.c.id, t.c.name, t.c.baseline_job_id, t.c.created_at).order_by(t.c.id.desc()))


def get_experiment(conn: Connection, experiment_id: int) -> dict:
    t = tables.experiments
    return read_row(conn, select(t).where(t.c.id == experiment_id),
                    f"no experiment with id {experiment_id}; `python -m workbench compare --json` lists all finished jobs",
                    {"config": dict})


def set_baseline_job(conn: Connection, experiment_id: int, job_id: int | None) -> None:
    """Pin `job_id`'s setting as the experiment's baseline; None returns to the setting 'none' (no augmented set)."""
    get_experiment(conn, experiment_id)
    if job_id is not None:
        found = conn.execute(select(tables.jobs.c.id).where(tables.jobs.c.id == job_id)).first()
        if found is None:
            raise NotFound(f"no job with id {job_id} to pin as the baseline of experiment {experiment_id}")
    t = tables.experiments
    conn.execute(t.update().where(t.c.id == experiment_id).values(baseline_job_id=job_id))
