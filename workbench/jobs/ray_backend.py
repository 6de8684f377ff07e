"""The Ray backend: the same worker command, submitted to a Ray cluster through its job API.

    WORKBENCH_JOB_BACKEND=ray RAY_ADDRESS=http://HEAD:8265 streamlit run app.py

Each job becomes one Ray job whose entrypoint is `PYTHON -m workbench.train --job-dir DIR`, with
the project on PYTHONPATH; the handle is its submission id (`workbench-<job id>-<random>`). The
worker reads and writes only its folder, so the folder must be on storage every Ray node sees at
the same path: put WORKBENCH_DATA_DIR on a shared mount (NFS, a cluster file system). When it is
not shared, the worker on another node finds no config.json and the job fails saying so (the
driver log is in jobs.error). Ray (2.60, `requirements-ray.txt`) is imported only here.

Settings (environment):
    RAY_ADDRESS               the cluster's dashboard address, e.g. http://10.0.0.5:8265
    WORKBENCH_RAY_PYTHON      the cluster's Python with the workbench's requirements installed
                              (default: this Python, right for a head on this machine or the same image)
    WORKBENCH_RAY_PROJECT_DIR this checkout as the cluster sees it (default: this checkout's path)
    WORKBENCH_RAY_GPUS        GPUs per job, Ray's entrypoint_num_gpus (default 0; may be fractional)
    WORKBENCH_RAY_CPUS        CPUs per job, Ray's entrypoint_num_cpus (default 1)
    WORKBENCH_RAY_JOBS        jobs the scheduler keeps submitted at once (default 4); Ray queues
                              what the cluster has no room for as PENDING
"""
from __future__ import annotations

import os
import shlex
import time
import uuid
from pathlib import Path

from workbench.jobs.backend import PROJECT_ROOT, JobBackend, worker_command
from workbench.train.folder import JobFolder

STOP_WAIT_S = 60.0  # cancel waits this long for Ray to report the job stopped
FINISHED = ("STOPPED", "SUCCEEDED", "FAILED")
PASSED_ON = ("WORKBENCH_TORCH_THREADS", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HOME")  # to the worker


class RayBackend(JobBackend):
    """Workers as Ray jobs (ray.job_submission.JobSubmissionClient)."""

    name = "ray"

    def __init__(self, address: str | None = None):
        self.address = address or os.environ.get("RAY_ADDRESS")
        self._client = None

    @property
    def client(self):
        # Connected on first use: a scheduler adopting a Ray job while the cluster restarts
        # should wait on the job's heartbeat, not fail at start-up.
        if self._client is None:
            from ray.job_submission import JobSubmissionClient

            self._client = JobSubmissionClient(self.address)
        return self._client

    def submit(self, job_dir: Path, env: dict[str, str] | None = None) -> str:
        python = os.environ.get("WORKBENCH_RAY_PYTHON") or None
        project = os.environ.get("WORKBENCH_RAY_PROJECT_DIR") or str(PROJECT_ROOT)
        env_vars = {k: os.environ[k] for k in PASSED_ON if k in os.environ}
        env_vars |= {k: v for k, v in (env or {}).items() if k != "CUDA_VISIBLE_DEVICES"}  # Ray assigns GPUs
        env_vars["PYTHONPATH"] = project
        return self.client.submit_job(
            entrypoint=shlex.join(worker_command(Path(job_dir), python)),
            submission_id=f"workbench-{Path(job_dir).name}-{uuid.uuid4().hex[:8]}",
            runtime_env={"env_vars": env_vars},
            entrypoint_num_gpus=float(os.environ.get("WORKBENCH_RAY_GPUS", "0")),
            entrypoint_num_cpus=float(os.environ.get("WORKBENCH_RAY_CPUS", "1")),
        )

    def _state(self, handle: str) -> str | None:
        """Ray's status name, None when Ray does not know the job (a restarted cluster), raising
        when the cluster cannot be reached."""
        try:
            return str(self.client.get_job_status(handle).value)
        except RuntimeError as e:
            if "404" in str(e) or "does not exist" in str(e):
                return None
            raise

    def status(self, handle: str) -> str:
        try:
            state = self._state(handle)
        except Exception:  # noqa: BLE001 - unreachable: say running, and let the heartbeat decide
            return "running"
        return "exited" if state is None or state in FINISHED else "running"

    def exit_code(self, handle: str) -> int | None:
        try:
            return self.client.get_job_info(handle).driver_exit_code
        except Exception:  # noqa: BLE001 - gone with a restarted cluster, or unreachable
            return None

    def cancel(self, handle: str) -> None:
        try:
            self.client.stop_job(handle)
            deadline = time.monotonic() + STOP_WAIT_S
            while time.monotonic() < deadline and self._state(handle) not in (None, *FINISHED):
                time.sleep(0.5)
        except Exception:  # noqa: BLE001 - an unreachable cluster cannot be asked; the job row is what counts
            return

    def logs(self, handle: str | None, job_dir: Path, lines: int = 50) -> str:
        """The worker's own log.txt; the Ray driver's output when that is empty (a worker that
        could not start, or a folder this machine does not see)."""
        own = JobFolder(job_dir).log_tail(lines)
        if own or not handle:
            return own
        try:
            return "\n".join(self.client.get_job_logs(handle).splitlines()[-lines:])
        except Exception:  # noqa: BLE001
            return ""

    def slots(self) -> list[str | None]:
        return [None] * int(os.environ.get("WORKBENCH_RAY_JOBS", "4"))
