"""Integration: the real bundled MiniLM trains on about 300 samples for one epoch through the
scheduler and a worker process, as the default similarity kind with its references, and its
metrics end up in the database (CPU, a minute or two)."""
from __future__ import annotations

import pytest
from test_train_support import store_sample_set, wait_for

from storage import jobs as store
from storage.db import begin
from workbench.train.folder import JobFolder
from workbench.jobs.queue import submit_job, wait_job
from workbench.train.similarity import ALL_INPUTS
from workbench.jobs.scheduler import is_running
from workbench.train.config import TrainConfig

pytestmark = pytest.mark.slow  # the scheduler and a worker process


def test_the_bundled_model_trains_through_the_scheduler_and_its_metrics_are_stored(db_url, monkeypatch):
    monkeypatch.setenv("WORKBENCH_SCHEDULER_POLL_S", "0.5")
    monkeypatch.setenv("WORKBENCH_TORCH_THREADS", "1")  # the test machine is shared
    set_id = store_sample_set(500)  # 300 train, 100 val, 100 test
    job_id = submit_job(set_id, TrainConfig(epochs=1, batch_size=32))
    done = wait_job(job_id, timeout_s=1200, poll_s=1.0)
    assert done["status"] == "done", done["error"]
    assert done["device"] == "cpu" and done["progress"] == 1.0
    metrics = done["metrics"]
    assert metrics["samples_seen"] == 300 and metrics["best_epoch"] in (0, 1)  # 0: training did not beat the fitted start
    assert set(k for k in metrics if k.startswith("head/")) == {f"head/{name}" for name in ALL_INPUTS}
    assert "vs_zero_shot" in metrics
    for name in ("accuracy", "f1", "roc_auc", "ndcg@10", "mrr", "cold_start/accuracy", "tail/ndcg@10", "typo/f1"):
        assert 0.0 <= metrics[name] <= 1.0, name
    with begin() as conn:
        rows = store.read_job_metrics(conn, job_id)
    assert set(rows["split"]) == {"train", "val", "test", "cold_start", "tail", "typo"}
    stored = rows[rows["split"] == "test"].set_index("name")["value"].to_dict()
    assert stored == pytest.approx({k: metrics[k] for k in stored}, rel=1e-6)
    folder = JobFolder(done["job_dir"])
    assert (folder.model / "model.safetensors").exists() and folder.predictions.exists()
    assert (folder.model / "similarity_head.json").exists()
    assert (folder.path / "references" / "zero_shot.parquet").exists() and (folder.path / "references" / "lexical.parquet").exists()
    assert sorted(rows.loc[rows["split"] == "val", "epoch"].unique()) == [0, 1]  # epoch 0: the calibrated zero-shot start
    wait_for(lambda: not is_running(), timeout_s=60)
