"""The job folder protocol: everything a worker reads and writes lives in `data/jobs/<id>/`.

Written at submit (by the app or the command line):
    config.json                 the TrainConfig as JSON
    train.parquet, val.parquet, test.parquet   frozen copies of the data (train = the train split
                                plus the chosen accepted augmented sets)
Written by the worker (`python -m workbench.train --job-dir DIR`):
    status.json                 state ('running' | 'done' | 'failed'), progress, eta_s, device,
                                message, metrics (final), error
    heartbeat                   "<unix time> <pid>", rewritten every HEARTBEAT_S seconds
    metrics.jsonl               one metric row per line: step, epoch, split, name, value
    log.txt                     human-readable log (the scheduler also sends stdout/stderr here)
    checkpoints/last.pt, checkpoints/best.pt, model/, predictions.parquet

Every JSON file is written to a temporary name and renamed, so a reader never sees half a file.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pandas as pd

HEARTBEAT_S = 2.0
SPLITS = ("train", "val", "test")


def jobs_dir() -> Path:
    """Where job folders live: data/jobs/ under WORKBENCH_DATA_DIR (data/jobs/<id>/ per job)."""
    from storage.db import data_dir

    return data_dir() / "jobs"


def write_json(path: Path, value: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(value, default=str))
    os.replace(tmp, path)


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


class JobFolder:
    """Paths and small readers/writers for one job's folder."""

    def __init__(self, path: Path | str):
        self.path = Path(path)

    config = property(lambda self: self.path / "config.json")
    status_file = property(lambda self: self.path / "status.json")
    heartbeat = property(lambda self: self.path / "heartbeat")
    metrics = property(lambda self: self.path / "metrics.jsonl")
    log = property(lambda self: self.path / "log.txt")
    checkpoints = property(lambda self: self.path / "checkpoints")
    model = property(lambda self: self.path / "model")
    predictions = property(lambda self: self.path / "predictions.parquet")

    def split(self, name: str) -> Path:
        return self.path / f"{name}.parquet"

    # --- written at submit ----------------------------------------------------------------

    def write_inputs(self, config: dict, frames: dict[str, pd.DataFrame]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        for name in SPLITS:
            frames[name].to_parquet(self.split(name), index=False)
        write_json(self.config, config)

    def read_config(self) -> dict:
        return json.loads(self.config.read_text())

    def read_split(self, name: str) -> pd.DataFrame:
        return pd.read_parquet(self.split(name))

    # --- written by the worker -----------------------------------------------------------

    def status(self) -> dict:
        return read_json(self.status_file)

    def write_status(self, **fields) -> None:
        write_json(self.status_file, {**self.status(), **fields, "updated_at": time.time()})

    def beat(self) -> None:
        tmp = self.heartbeat.with_name(".heartbeat.tmp")
        tmp.write_text(f"{time.time()} {os.getpid()}")
        os.replace(tmp, self.heartbeat)

    def heartbeat_age_s(self) -> float | None:
        """Seconds since the last heartbeat, None when there never was one."""
        try:
            return time.time() - float(self.heartbeat.read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None

    def append_metrics(self, rows: list[dict]) -> None:
        with self.metrics.open("a") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")
            f.flush()

    def read_metrics(self) -> list[dict]:
        """Every complete metrics line (a line being written when we read is skipped)."""
        if not self.metrics.exists():
            return []
        rows = []
        for line in self.metrics.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return rows

    def keep_metrics(self, step: int) -> None:
        """Drop rows recorded after `step`: a resumed run records them again."""
        rows = [r for r in self.read_metrics() if r.get("step", 0) <= step and r["split"] in ("train", "val")]
        tmp = self.metrics.with_name(".metrics.tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
        os.replace(tmp, self.metrics)

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def clear_outcome(self) -> None:
        """Before a resume: forget the previous run's final state, keep checkpoints and logs."""
        for path in (self.status_file, self.heartbeat, self.predictions):
            path.unlink(missing_ok=True)
