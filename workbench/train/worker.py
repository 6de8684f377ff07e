"""The job worker: train from a job folder, write progress and results back into it.

    python -m workbench.train --job-dir data/jobs/7

It reads only the folder (config.json, the frozen Parquet splits, checkpoints) and writes only
into it (status.json, heartbeat, metrics.jsonl, log.txt, checkpoints/, model/,
predictions.parquet). It never opens the database, so the same command runs under the local
scheduler or a cluster engine. A folder with checkpoints/last.pt continues after that epoch.
Exit status: 0 done, 1 failed (the reason is in status.json and log.txt).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from workbench.train.folder import HEARTBEAT_S, JobFolder

STATUS_EVERY_S = 1.0  # progress is rewritten at most this often; the scheduler polls about as often


def _logger(folder: JobFolder) -> logging.Logger:
    logger = logging.getLogger(f"workbench.worker.{folder.path}")
    logger.setLevel(logging.INFO)
    handler = logging.FileHandler(folder.log, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    logger.addHandler(handler)
    logger.propagate = False
    return logger


def _heartbeat(folder: JobFolder, stop: threading.Event) -> None:
    # A thread, not the loop: one long step (a big batch, a checkpoint write) must not look dead.
    while not stop.is_set():
        folder.beat()
        stop.wait(HEARTBEAT_S)


class _Progress:
    """on_progress for the loop: status.json with progress and an ETA, written at most once a second."""

    def __init__(self, folder: JobFolder):
        self.folder = folder
        self.started = time.monotonic()
        self.first_done: int | None = None
        self.written = 0.0

    def __call__(self, done: int, total: int, message: str) -> None:
        now = time.monotonic()
        if self.first_done is None:
            self.first_done, self.started = done - 1, now - 1e-3
        if now - self.written < STATUS_EVERY_S and done < total:
            return
        elapsed = now - self.started
        rate = (done - self.first_done) / elapsed
        # No ETA from the first step alone: its rate is one step over a millisecond, and the queue read "0m 0s" at 14%.
        eta_s = (total - done) / rate if rate > 0 and elapsed >= STATUS_EVERY_S else None
        self.folder.write_status(progress=done / max(1, total), eta_s=eta_s, message=message)
        self.written = now


def run(job_dir: Path) -> int:
    folder = JobFolder(job_dir)
    if not folder.config.exists():
        raise SystemExit(f"{folder.config} does not exist: --job-dir must be a job folder written at submit")
    log = _logger(folder)
    stop = threading.Event()
    threading.Thread(target=_heartbeat, args=(folder, stop), daemon=True).start()
    folder.write_status(state="running", pid=os.getpid(), progress=0.0, message="loading", error=None)
    log.info(f"worker {os.getpid()} started on {folder.path}")
    try:
        # Imported here so that a broken install is reported in status.json like any failure.
        from workbench.train.config import TrainConfig
        from workbench.train.loop import TrainData, train
        from workbench.train.steps import checkpoint_step

        threads = int(os.environ.get("WORKBENCH_TORCH_THREADS", "0"))
        if threads > 0:  # on a shared machine, fewer threads than cores avoids spinning on busy cores
            import torch

            torch.set_num_threads(threads)
        values = folder.read_config()
        values.setdefault("model_kind", "cross-encoder")  # folders written before the similarity kind existed
        config = TrainConfig.from_dict(values)
        from workbench.models import pick_device

        folder.write_status(device=pick_device(config.device))  # the queue shows it while the job runs, not once done
        if config.warm_start and not Path(config.warm_start).is_absolute():
            config.warm_start = str(folder.path / config.warm_start)  # copied in at submit
        data = TrainData(*(folder.read_split(name) for name in ("train", "val", "test")))
        step = checkpoint_step(folder.checkpoints / "last.pt")
        if step is not None:
            folder.keep_metrics(step)  # the resumed run records later rows again
        result = train(config, data, out_dir=folder.path, on_progress=_Progress(folder),
                       on_metrics=folder.append_metrics, log=log.info)  # fmt: skip
        folder.write_status(state="done", progress=1.0, eta_s=0.0, device=result.device, metrics=result.metrics, message="done")
        log.info("done")
        return 0
    except Exception as e:  # any failure ends as a readable reason in status.json
        log.exception("failed")
        folder.write_status(state="failed", error=f"{type(e).__name__}: {e}", message="failed")
        return 1
    finally:
        stop.set()
