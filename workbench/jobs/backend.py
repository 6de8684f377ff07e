"""Where workers run: the JobBackend interface, the local subprocess backend, and the choice.

A backend starts `python -m workbench.train --job-dir DIR` somewhere and, given the handle it
returned (a string: a pid here, a submission id on Ray), says whether it still runs, how it
ended, stops it, and shows its log. The job row records the backend's name and the handle, so
cancel, resume and adopt go through the backend the job was submitted with, whatever
WORKBENCH_JOB_BACKEND says today.

    backend = get_backend()            # WORKBENCH_JOB_BACKEND: 'local' (default) or 'ray'
    handle = backend.submit(job_dir, env={})

The local backend starts the worker as a subprocess from an argument list (no shell) in its own
process group, so cancelling kills the worker and anything it started. The Ray backend is
`workbench/jobs/ray_backend.py` (imported only when asked for: ray is an optional install).
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from pathlib import Path

import psutil

from workbench.errors import BadInput
from workbench.train.folder import JobFolder

CANCEL_GRACE_S = 3.0  # SIGTERM first; whatever is left of the group after this gets SIGKILL
BACKENDS = ("local", "ray")
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def worker_command(job_dir: Path, python: str | None = None) -> list[str]:
    return [python or sys.executable, "-m", "workbench.train", "--job-dir", str(job_dir)]


class JobBackend(ABC):
    name: str  # stored on the job row ('local' | 'ray')

    @abstractmethod
    def submit(self, job_dir: Path, env: dict[str, str] | None = None) -> str:
        """Start the worker for a job folder; returns its handle."""

    @abstractmethod
    def status(self, handle: str) -> str:
        """'running' (also: waiting for resources) or 'exited' (also: unknown to the backend)."""

    @abstractmethod
    def exit_code(self, handle: str) -> int | None:
        """The worker's exit code once it ended (negative: killed by that signal); None while it
        runs or when the backend cannot tell."""

    @abstractmethod
    def cancel(self, handle: str) -> None:
        """Stop the worker and everything it started; returns when they are gone."""

    def owns(self, handle: str, job_dir: str) -> bool:
        """Whether the handle still names this job's worker (a pid can be reused)."""
        return True

    def logs(self, handle: str | None, job_dir: Path, lines: int = 50) -> str:
        return JobFolder(job_dir).log_tail(lines)

    def slots(self) -> list[str | None]:
        """One entry per job that may run at once: a GPU index for CUDA_VISIBLE_DEVICES, or None."""
        return [None]


def get_backend(name: str | None = None) -> JobBackend:
    """The backend called `name`, or the one WORKBENCH_JOB_BACKEND names (default 'local')."""
    name = name or os.environ.get("WORKBENCH_JOB_BACKEND") or "local"
    if name == "local":
        return LocalBackend()
    if name == "ray":
        from workbench.jobs.ray_backend import RayBackend

        return RayBackend()
    raise BadInput(f"WORKBENCH_JOB_BACKEND={name!r} is not a job backend; use one of {', '.join(BACKENDS)}")


def process_alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def group_members(pgid: int) -> list[psutil.Process]:
    """The live processes of a process group (a cancelled worker's group must end up empty)."""
    members = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                members.append(proc)
        except (ProcessLookupError, psutil.NoSuchProcess, PermissionError):
            continue
    return members


def gpu_count() -> int:
    """GPUs the workers may use, from nvidia-smi (the scheduler itself does not import torch)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return len([d for d in visible.split(",") if d.strip() and d.strip() != "-1"])
    if not shutil.which("nvidia-smi"):
        return 0
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return len([line for line in out.splitlines() if line.startswith("GPU ")])


class LocalBackend(JobBackend):
    """Workers as local subprocesses; the backend keeps the Popen objects to reap them."""

    name = "local"

    def __init__(self):
        self.children: dict[str, subprocess.Popen] = {}

    def submit(self, job_dir: Path, env: dict[str, str] | None = None) -> str:
        folder = JobFolder(job_dir)
        with folder.log.open("ab") as log:
            proc = subprocess.Popen(
                worker_command(job_dir),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: cancel kills the whole group
                env={**os.environ, **(env or {})},
                cwd=PROJECT_ROOT,
            )
        self.children[str(proc.pid)] = proc
        return str(proc.pid)

    def exit_code(self, handle: str) -> int | None:
        proc = self.children.get(handle)
        return proc.poll() if proc is not None else None  # not our child: an earlier scheduler's

    def status(self, handle: str) -> str:
        proc = self.children.get(handle)
        if proc is not None:
            return "running" if proc.poll() is None else "exited"
        return "running" if process_alive(int(handle)) else "exited"

    def owns(self, handle: str, job_dir: str) -> bool:
        try:
            return str(job_dir) in " ".join(psutil.Process(int(handle)).cmdline())
        except (psutil.Error, ValueError):
            return False

    def cancel(self, handle: str) -> None:
        pgid = int(handle)  # start_new_session: the worker leads its own group
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(pgid, sig)
            except (ProcessLookupError, PermissionError):
                return
            deadline = time.monotonic() + CANCEL_GRACE_S
            while time.monotonic() < deadline:
                if handle in self.children:
                    self.children[handle].poll()
                if not group_members(pgid):
                    return
                time.sleep(0.1)

    def slots(self) -> list[str | None]:
        gpus = gpu_count()
        return [str(i) for i in range(gpus)] if gpus else [None] * int(os.environ.get("WORKBENCH_CPU_JOBS", "1"))
