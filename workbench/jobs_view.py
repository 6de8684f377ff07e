"""What the pages show about jobs, read only: the queue table with honest progress, and what the
scheduler is doing right now, for the sidebar.

    table = queue_view()            # progress in [0, 100]; ETA, device, error: a real value or ""
    line = scheduler_state().line   # 'Running job 4; 2 queued' or 'Idle: no jobs queued or running'

Kept apart from workbench/jobs/ (the job service and the scheduler) so that the views can change
with the pages and the service with its backends.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from storage import jobs as store
from storage.db import begin
from workbench.jobs.scheduler import running_pid


def _real(value) -> bool:
    """A value worth showing: not None, not NaN, not an empty string."""
    return value is not None and value == value and str(value).strip() not in ("", "None", "nan")


def progress_percent(progress, status: str) -> float:
    """A job's progress as a percentage in [0, 100]: done is 100, queued is 0, whatever the worker wrote."""
    if status == "done":
        return 100.0
    if not _real(progress):
        return 0.0
    return round(min(max(float(progress), 0.0), 1.0) * 100, 1)


def eta_text(eta_s, progress, status: str) -> str:
    """'12m 5s' while a running job has a real ETA; 'evaluating' once its steps are done; else ''."""
    if status != "running":
        return ""
    if _real(progress) and float(progress) >= 1.0:
        return "evaluating"
    if not _real(eta_s) or float(eta_s) <= 0 or math.isinf(float(eta_s)):
        return ""
    seconds = int(round(float(eta_s)))
    if seconds < 1:  # not done, yet "0m 0s": the rate is not known yet (a fast first phase), so say nothing
        return ""
    return f"{seconds // 3600}h {seconds % 3600 // 60}m" if seconds >= 3600 else f"{seconds // 60}m {seconds % 60}s"


def first_line(error) -> str:
    return str(error).strip().splitlines()[0] if _real(error) else ""


def queue_view() -> pd.DataFrame:
    """Jobs newest first: id, sample set, experiment (None for a job queued alone), setting, seed, status,
    progress % in [0, 100], ETA, device, error."""
    with begin() as conn:
        frame = store.list_jobs(conn)
    rows = [
        {"id": int(r.id), "sample set": int(r.sample_set_id),
         "experiment": int(r.experiment_id) if _real(r.experiment_id) else None, "setting": r.setting,
         "seed": int(r.seed), "status": r.status, "progress %": progress_percent(r.progress, r.status),
         "eta": eta_text(r.eta_s, r.progress, r.status), "device": str(r.device) if _real(r.device) else "",
         "error": first_line(r.error)}
        for r in frame.itertuples()
    ]
    return pd.DataFrame(rows, columns=["id", "sample set", "experiment", "setting", "seed", "status", "progress %", "eta",
                                       "device", "error"])  # fmt: skip


@dataclass
class SchedulerState:
    pid: int | None  # the live scheduler's pid, None when none runs
    running: list[int]  # job ids the database has as running
    queued: int

    @property
    def active(self) -> bool:
        return bool(self.running or self.queued)

    @property
    def line(self) -> str:
        """One sentence for the sidebar, true at the moment it was read."""
        if not self.active:
            return "Idle: no jobs queued or running"
        parts = []
        if self.running:
            parts.append(("Running job " if len(self.running) == 1 else "Running jobs ") + ", ".join(map(str, self.running)))
        if self.queued:
            parts.append(f"{self.queued} queued")
        return "; ".join(parts) + ("" if self.pid else " (starting the job scheduler)")


def scheduler_state() -> SchedulerState:
    """Read the jobs table and the scheduler's lock now (a pid counts only while its process lives and holds the lock)."""
    with begin() as conn:
        running = store.list_jobs(conn, statuses=("running",))["id"].astype(int).tolist()
        queued = store.count_jobs(conn, ("queued",))
    return SchedulerState(pid=running_pid(), running=sorted(running), queued=queued)


def job_notes(job_id: int) -> list[tuple[str, str]]:
    """(kind, text) lines the Train page shows under a job: below zero-shot, and the similarity
    head's weight on each standardised input."""
    from workbench.jobs.queue import job_summary

    details = job_summary(job_id)
    notes = [("warning", f"Job {job_id} is {details['warning']}.")] if details["warning"] else []
    weights = {k.removeprefix("head/"): v for k, v in (details["metrics"] or {}).items() if k.startswith("head/")}
    if weights:
        notes.append(("caption", "Similarity head, weight of each standardised input: "
                      + ", ".join(f"{k} {v:+.3f}" for k, v in weights.items())))
    return notes
