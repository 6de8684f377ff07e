"""Where workers run: the JobBackend interface and the local subprocess backend.

A backend starts `python -m workbench.train --job-dir DIR` somewhere and can say whether it is
still running, stop it, and show its log. The local backend starts it as a subprocess from an
argument list (no shell) in its own process group, so cancelling kills the worker and anything
it started. A cluster engine (Ray Jobs) can implement the same four methods with the same command.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from pathlib import Path

import psutil

from workbench.jobs.folder import JobFolder

CANCEL_GRACE_S = 3.0  # SIGTERM first; whatever is left of the group after this gets SIGKILL


def worker_command(job_dir: Path) -> list[str]:
    return [sys.executable, "-m", "workbench.train", "--job-dir", str(job_dir)]


class JobBackend(ABC):
    @abstractmethod
    def submit(self, job_dir: Path, env: dict[str, str] | None = None) -> int:
        """Start the worker for a job folder; returns a handle (the local backend: the pid)."""

    @abstractmethod
    def status(self, handle: int) -> str:
        """'running' or 'exited'."""

    @abstractmethod
    def cancel(self, handle: int) -> None:
        """Stop the worker and everything it started; returns when they are gone."""

    def logs(self, job_dir: Path, lines: int = 50) -> str:
        return JobFolder(job_dir).log_tail(lines)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _group_members(pgid: int) -> list[psutil.Process]:
    members = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                members.append(proc)
        except (ProcessLookupError, psutil.NoSuchProcess, PermissionError):
            continue
    return members


class LocalBackend(JobBackend):
    """Workers as local subprocesses; the scheduler keeps the Popen objects to reap them."""

    def __init__(self):
        self.children: dict[int, subprocess.Popen] = {}

    def submit(self, job_dir: Path, env: dict[str, str] | None = None) -> int:
        folder = JobFolder(job_dir)
        with folder.log.open("ab") as log:
            proc = subprocess.Popen(
                worker_command(job_dir),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: cancel kills the whole group
                env={**os.environ, **(env or {})},
                cwd=Path(__file__).resolve().parents[2],
            )
        self.children[proc.pid] = proc
        return proc.pid

    def exit_code(self, handle: int) -> int | None:
        """The worker's exit code once it ended (negative: killed by that signal); None while running."""
        proc = self.children.get(handle)
        return proc.poll() if proc is not None else None

    def status(self, handle: int) -> str:
        proc = self.children.get(handle)
        if proc is not None:
            return "running" if proc.poll() is None else "exited"
        return "running" if _alive(handle) else "exited"

    def cancel(self, handle: int) -> None:
        pgid = handle  # start_new_session: the worker leads its own group
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(pgid, sig)
            except (ProcessLookupError, PermissionError):
                return
            deadline = time.monotonic() + CANCEL_GRACE_S
            while time.monotonic() < deadline:
                if handle in self.children:
                    self.children[handle].poll()
                if not _group_members(pgid):
                    return
                time.sleep(0.1)
