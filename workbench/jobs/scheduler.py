"""The scheduler: runs queued jobs, watches them, records what they report.

    python -m workbench.jobs.scheduler      (the app and `python -m workbench train` start it)

Only one runs at a time: it holds an exclusive lock on `data/jobs/scheduler.lock` (which also
holds its pid), and the lock goes away with the process however it ends. Each tick it:
  1. claims queued jobs while there is capacity (one per GPU; on CPU one, or
     WORKBENCH_CPU_JOBS) and starts their workers through the backend, first copying in the
     references an earlier job of the sample set computed (workbench.jobs.reuse);
  2. for each running job copies progress, ETA, device and metric rows from the job folder into
     the database (short-lived connections);
  3. marks a job done or failed when its worker ended (the reason and the log tail go to
     jobs.error), or failed when its heartbeat is older than HEARTBEAT_TIMEOUT_S (the worker is
     killed first);
and it exits when nothing is queued or running. Jobs left 'running' by an earlier scheduler are
adopted: watched through their heartbeat and their handle, by the backend that started them
(the job row names it), whichever backend new jobs go to.
"""
from __future__ import annotations

import fcntl
import logging
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy.exc import OperationalError

from storage import jobs as store
from storage.clock import utc_now
from storage.db import begin
from storage.errors import DatabaseBusy, DatabaseUnavailable, NotFound
from workbench.jobs.backend import JobBackend, get_backend, process_alive
from workbench.jobs.reuse import copy_references
from workbench.train.folder import JobFolder, jobs_dir

HEARTBEAT_TIMEOUT_S = float(os.environ.get("WORKBENCH_HEARTBEAT_TIMEOUT_S", "30"))
POLL_S = float(os.environ.get("WORKBENCH_SCHEDULER_POLL_S", "1.0"))
# A database server that restarts (PostgreSQL) is waited for this long; workers go on meanwhile.
OUTAGE_S = float(os.environ.get("WORKBENCH_DB_OUTAGE_S", "600"))
LOG_TAIL_LINES = 20

log = logging.getLogger("workbench.scheduler")


def lock_path() -> Path:
    return jobs_dir() / "scheduler.lock"



class Scheduler:
    def __init__(self, backend: JobBackend | None = None):
        self.backend = backend or get_backend()  # new jobs go here
        self.backends = {self.backend.name: self.backend}  # by name: each job's own backend
        self.slots = self.backend.slots()
        self.running: dict[int, dict] = {}  # job id -> {handle, backend, slot, folder, metric_lines}

    def backend_of(self, name: str | None) -> JobBackend:
        name = name or "local"
        if name not in self.backends:
            self.backends[name] = get_backend(name)
        return self.backends[name]

    # --- one tick ------------------------------------------------------------------------

    def tick(self) -> None:
        for job_id in list(self.running):
            self.watch(job_id)
        while len(self.running) < len(self.slots):
            with begin() as conn:
                job = store.claim_next_job(conn)
            if job is None:
                break
            self.start(job)

    def start(self, job: dict) -> None:
        free = [s for s in self.slots if s not in {r["slot"] for r in self.running.values()}]
        slot = free[0] if free else None
        env = {"CUDA_VISIBLE_DEVICES": slot} if slot is not None else {}
        folder = JobFolder(job["job_dir"])
        backend = self.backend
        try:  # a sweep's jobs are queued together: the first to finish left references for the rest
            copy_references(folder.path, job["sample_set_id"], job["config"])
        except (OSError, ValueError, DatabaseBusy) as e:
            log.info(f"job {job['id']}: computes its own references ({e})")
        try:
            if job["backend"]:  # a resumed job goes back to the backend it was submitted with
                backend = self.backend_of(job["backend"])
            handle = backend.submit(folder.path, env)
        except Exception as e:  # noqa: BLE001 - any backend's refusal (OSError, a cluster's error) fails the job
            with begin() as conn:
                store.set_job_status(conn, job["id"], "failed", error=f"could not start the worker ({backend.name}): {e}",
                                     backend=backend.name, finished_at=utc_now())  # fmt: skip
            return
        with begin() as conn:
            started = store.mark_started(conn, job["id"], handle=handle, backend=backend.name, heartbeat_at=utc_now())
        if not started:  # cancelled (or deleted) between the claim and now: its cancel saw no worker to stop
            log.info(f"job {job['id']}: cancelled while its worker started; stopping worker {handle}")
            backend.cancel(handle)
            return
        self.running[job["id"]] = {"handle": handle, "backend": backend, "slot": slot, "folder": folder, "metric_lines": -1}
        log.info(f"job {job['id']}: started worker {handle} on {backend.name}")

    def adopt(self) -> None:
        """Jobs marked running by an earlier scheduler: watch the live ones, fail the dead."""
        with begin() as conn:
            left = store.list_jobs(conn, statuses=("running",))
        for job in left.to_dict("records"):
            if job["id"] in self.running:
                continue
            try:
                backend = self.backend_of(job["backend"])
            except Exception as e:  # noqa: BLE001 - e.g. ray no longer installed: say so on the job
                with begin() as conn:
                    store.set_job_status(conn, job["id"], "failed", error=f"cannot reach its backend {job['backend']}: {e}", finished_at=utc_now())
                continue
            self.running[job["id"]] = {"handle": job["handle"], "backend": backend, "slot": None,
                                       "folder": JobFolder(job["job_dir"]), "metric_lines": -1}  # fmt: skip
            self.watch(job["id"])

    def watch(self, job_id: int) -> None:
        info = self.running[job_id]
        folder, handle, backend = info["folder"], info["handle"], info["backend"]
        exited = handle is None or backend.status(handle) == "exited"
        age = folder.heartbeat_age_s()
        hung = not exited and age is not None and age > HEARTBEAT_TIMEOUT_S
        if hung:
            log.info(f"job {job_id}: no heartbeat for {age:.0f} s, stopping worker {handle}")
            backend.cancel(handle)
            exited = True
        # Read after the exit check: a worker seen as exited has written everything it will.
        status, rows = folder.status(), folder.read_metrics()
        with begin() as conn:
            try:
                job = store.get_job(conn, job_id)
            except NotFound:
                job = None
            if job is None or job["status"] != "running":  # cancelled or deleted by the app or the command line
                self.running.pop(job_id)
                return
            if len(rows) != info["metric_lines"]:
                store.replace_job_metrics(conn, job_id, rows)
                info["metric_lines"] = len(rows)
            fields = {"progress": status.get("progress"), "eta_s": status.get("eta_s"), "device": status.get("device") or job["device"]}
            if age is not None:
                fields["heartbeat_at"] = datetime.fromtimestamp(time.time() - age, timezone.utc).replace(tzinfo=None)
            if not exited:
                store.set_job_status(conn, job_id, "running", **fields)
                return
            if status.get("state") == "done":
                store.set_job_status(conn, job_id, "done", **fields, metrics=status.get("metrics") or {}, error=None, finished_at=utc_now())
            else:
                store.set_job_status(conn, job_id, "failed", **fields, error=self.failure(info, status, hung, age), finished_at=utc_now())
        # Forgotten only once the outcome is committed: a database that fails now keeps it watched.
        self.running.pop(job_id)
        log.info(f"job {job_id}: {'done' if status.get('state') == 'done' else 'failed'}")

    def failure(self, info: dict, status: dict, hung: bool, age: float | None) -> str:
        folder, handle, backend = info["folder"], info["handle"], info["backend"]
        code = backend.exit_code(handle) if handle else None
        if status.get("state") == "failed" and status.get("error"):
            reason = status["error"]
        elif hung:
            reason = f"the worker sent no heartbeat for over {HEARTBEAT_TIMEOUT_S:.0f} s and was killed"
        elif code is not None and code < 0:
            reason = f"the worker was killed by signal {-code}"
        elif code is not None:
            reason = f"the worker exited with code {code} without finishing"
        else:  # not our child: a worker started by an earlier scheduler
            last = f"; its last heartbeat was {age:.0f} s ago" if age is not None else ""
            reason = f"the worker is gone{last}"
        resumable = (folder.checkpoints / "last.pt").exists()
        hint = "; Resume continues from the last checkpoint" if resumable else "; Resume starts it again"
        if reason.startswith(("BadInput:", "MissingData:", "ModelUnavailable:")):  # the same run fails the same way
            hint = "; Resume runs it again once that is fixed"
        tail = backend.logs(handle, folder.path, LOG_TAIL_LINES)
        return f"{reason}{hint}\n--- log tail ---\n{tail}" if tail else reason + hint

    # --- the process ----------------------------------------------------------------------

    def pending(self) -> bool:
        with begin() as conn:
            return store.count_jobs(conn, ("queued",)) > 0 or bool(self.running)


def _try_lock() -> int | None:
    """The lock file's descriptor when we got the lock, None when another scheduler holds it."""
    path = lock_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


def _unlock(fd: int) -> None:
    os.ftruncate(fd, 0)
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def is_running() -> bool:
    fd = _try_lock()
    if fd is None:
        return True
    _unlock(fd)
    return False


def running_pid() -> int | None:
    """The scheduler's pid when one runs (for the sidebar), else None."""
    try:
        pid = int(lock_path().read_text().strip() or 0)
    except (FileNotFoundError, ValueError):
        return None
    return pid if pid and process_alive(pid) and is_running() else None


def ensure_scheduler() -> bool:
    """Start a scheduler process unless one runs; True when this call started one."""
    if is_running():
        return False
    out = (jobs_dir() / "scheduler.log").open("ab")
    subprocess.Popen(
        [sys.executable, "-m", "workbench.jobs.scheduler"],
        stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True,  # outlives the app or the command that started it
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    out.close()
    return True


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s scheduler %(process)d: %(message)s")
    fd = _try_lock()
    if fd is None:
        return 0  # another scheduler runs
    scheduler = Scheduler()
    scheduler.adopt()
    down_since = None
    while True:
        try:
            scheduler.tick()
            busy = scheduler.pending()
            down_since = None
        except DatabaseBusy as e:  # another process held the file for long: try again next tick
            log.info(f"database busy, retrying: {e}")
            time.sleep(POLL_S)
            continue
        except (DatabaseUnavailable, OperationalError) as e:  # a server restarting: wait, within reason
            down_since = down_since or time.monotonic()
            if time.monotonic() - down_since > OUTAGE_S:
                log.info(f"database unavailable for over {OUTAGE_S:.0f} s, exiting (the next scheduler adopts the jobs): {e}")
                return 1
            log.info(f"database unavailable, retrying: {e}")
            time.sleep(max(POLL_S, 1.0))
            continue
        if not busy:
            # Release, then look once more: a job queued in between would otherwise wait for the
            # next start, because its submitter saw the lock held and started no scheduler.
            _unlock(fd)
            try:
                again = scheduler.pending()
            except DatabaseBusy:
                again = True
            if not again:
                return 0
            fd = _try_lock()
            if fd is None:
                return 0
            continue
        time.sleep(POLL_S)


if __name__ == "__main__":
    sys.exit(main())
