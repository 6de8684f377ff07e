"""Training jobs, their metric rows and experiments (training jobs submitted together: settings x seeds).

A job is a row here plus a folder `data/jobs/<id>/` (workbench/train/folder.py). The scheduler is
the only writer of status, progress and metrics while a job runs; it copies them from the folder
with short-lived connections. status: 'queued' | 'running' | 'done' | 'failed' | 'cancelled'.
"""
from __future__ import annotations

import json

import pandas as pd
from sqlalchemy import Connection, func, select

from storage import tables
from storage.actor import current_actor
from storage.clock import utc_now
from storage.db import read_row
from storage.errors import NotFound

STATUSES = ("queued", "running", "done", "failed", "cancelled")
JOB_COLUMNS = [c.name for c in tables.jobs.columns]
METRIC_COLUMNS = ["job_id", "step", "epoch", "split", "name", "value"]
_JSON_FIELDS = {"config": dict, "metrics": dict, "augmented_set_ids": list}


def _parse(row) -> dict:
    out = dict(row)
    for name, kind in _JSON_FIELDS.items():
        out[name] = json.loads(out[name]) if out.get(name) else kind()
    return out


def create_experiment(conn: Connection, name: str, config: dict) -> int:
    return conn.execute(
        tables.experiments.insert()
        .values(name=name, config=json.dumps(config), created_at=utc_now())
        .returning(tables.experiments.c.id)
    ).scalar_one()


def create_job(
    conn: Connection,
    *,
    sample_set_id: int,
    config: dict,
    setting: str,
    seed: int,
    augmented_set_ids: list[int],
    experiment_id: int | None = None,
) -> int:
    """A queued job; the caller writes its folder and sets job_dir in the same transaction.
    jobs.actor is the current actor (storage/actor.py): who submitted it, when a login is configured."""
    return conn.execute(
        tables.jobs.insert()
        .values(
            experiment_id=experiment_id,
            sample_set_id=sample_set_id,
            augmented_set_ids=json.dumps([int(i) for i in augmented_set_ids]),
            setting=setting,
            seed=seed,
            config=json.dumps(config),
            status="queued",
            progress=0.0,
            actor=current_actor(),
            created_at=utc_now(),
        )
        .returning(tables.jobs.c.id)
    ).scalar_one()


def get_job(conn: Connection, job_id: int) -> dict:
    """The job row with config, metrics and augmented_set_ids parsed from JSON."""
    t = tables.jobs
    return read_row(conn, select(t).where(t.c.id == job_id), f"no job with id {job_id}; `python -m workbench jobs list` shows them",
                    _JSON_FIELDS)


def list_jobs(conn: Connection, experiment_id: int | None = None, statuses: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Jobs newest first, JSON fields parsed; optionally one experiment's or some statuses only."""
    t = tables.jobs
    query = select(t).order_by(t.c.id.desc())
    if experiment_id is not None:
        query = query.where(t.c.experiment_id == experiment_id)
    if statuses is not None:
        query = query.where(t.c.status.in_(list(statuses)))
    rows = [_parse(r) for r in conn.execute(query).mappings().all()]
    return pd.DataFrame(rows, columns=JOB_COLUMNS)


def set_job_status(conn: Connection, job_id: int, status: str, **fields) -> None:
    """Set status and any other job columns (dicts and lists are stored as JSON)."""
    if status not in STATUSES:
        raise ValueError(f"job status must be one of {STATUSES}, got {status!r}")
    unknown = set(fields) - set(JOB_COLUMNS)
    if unknown:
        raise ValueError(f"jobs has no column(s) {sorted(unknown)}")
    values = {k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in fields.items()}
    found = conn.execute(
        tables.jobs.update().where(tables.jobs.c.id == job_id).values(status=status, **values).returning(tables.jobs.c.id)
    ).first()
    if found is None:
        raise NotFound(f"no job with id {job_id}; `python -m workbench jobs list` shows them")


def mark_started(conn: Connection, job_id: int, **fields) -> bool:
    """Record a claimed job's worker (handle, backend, heartbeat) only if the job is still running:
    False when it was cancelled or deleted while its worker was starting."""
    t = tables.jobs
    found = conn.execute(t.update().where(t.c.id == job_id, t.c.status == "running").values(**fields).returning(t.c.id)).first()
    return found is not None


def claim_next_job(conn: Connection) -> dict | None:
    """The oldest queued job, marked running in the same transaction; None when nothing is queued.
    The UPDATE is conditional on the job still being queued, so two schedulers on one PostgreSQL
    database never both take a job (the second one's UPDATE waits, then matches no row)."""
    t = tables.jobs
    for job_id in conn.execute(select(t.c.id).where(t.c.status == "queued").order_by(t.c.id).limit(5)).scalars().all():
        claimed = conn.execute(
            t.update().where(t.c.id == job_id, t.c.status == "queued")
            .values(status="running", started_at=utc_now(), error=None).returning(t.c.id)
        ).first()
        if claimed is not None:
            return get_job(conn, job_id)
    return None


def count_jobs(conn: Connection, statuses: tuple[str, ...]) -> int:
    t = tables.jobs
    return conn.execute(select(func.count()).select_from(t).where(t.c.status.in_(list(statuses)))).scalar_one()


def insert_job_metrics(conn: Connection, job_id: int, rows: list[dict]) -> int:
    """Append metric rows (dicts with step, epoch, split, name, value)."""
    if not rows:
        return 0
    records = [{"job_id": job_id, **{k: r.get(k) for k in METRIC_COLUMNS[1:]}} for r in rows]
    conn.execute(tables.job_metrics.insert(), records)
    return len(records)


def replace_job_metrics(conn: Connection, job_id: int, rows: list[dict]) -> int:
    """Replace all of a job's metric rows (the worker's metrics.jsonl is the source of truth)."""
    conn.execute(tables.job_metrics.delete().where(tables.job_metrics.c.job_id == job_id))
    return insert_job_metrics(conn, job_id, rows)


def read_job_metrics(conn: Connection, job_id: int) -> pd.DataFrame:
    t = tables.job_metrics
    query = select(*[t.c[c] for c in METRIC_COLUMNS]).where(t.c.job_id == job_id).order_by(t.c.split, t.c.name, t.c.step)
    return pd.DataFrame(conn.execute(query).mappings().all(), columns=METRIC_COLUMNS)


def delete_job(conn: Connection, job_id: int) -> None:
    """The job row and its metric rows (the caller removes the folder after the commit)."""
    get_job(conn, job_id)
    conn.execute(tables.job_metrics.delete().where(tables.job_metrics.c.job_id == job_id))
    conn.execute(tables.jobs.delete().where(tables.jobs.c.id == job_id))
