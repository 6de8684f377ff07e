"""Helpers for the training and job tests: a tiny random-config BERT and synthetic samples.

The tiny model (2 layers, hidden size 32) uses the bundled model's real tokenizer, so tests
exercise the real tokenization and loading path in a few CPU steps.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

WORDS = ["red", "drill", "hammer", "blue", "sofa", "lamp", "cordless", "oak", "table", "chair", "rug", "faucet"]


def build_tiny_model(folder: Path) -> Path:
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from workbench.models import bundled_model_dir

    tokenizer = AutoTokenizer.from_pretrained(bundled_model_dir())
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)  # fmt: skip
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_tiny_sentence_encoder(folder: Path, pooling: str = "mean") -> Path:
    """A tiny random BertModel with the sentence-transformers files (modules.json, 1_Pooling) that make
    it a sentence encoder: model kind 'auto' trains it as a similarity model."""
    import json

    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from workbench.models import bundled_model_dir

    torch.manual_seed(0)  # the same random encoder in every session
    tokenizer = AutoTokenizer.from_pretrained(bundled_model_dir())
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)  # fmt: skip
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]  # fmt: skip
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "1_Pooling").mkdir(exist_ok=True)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 32, f"pooling_mode_{pooling}_token{'s' if pooling != 'cls' else ''}": True}))
    return folder


def make_samples(n: int, seed: int = 0, graded: bool = False, queries: int = 20) -> pd.DataFrame:
    """Samples whose label says whether the product text repeats the query's words."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        words = list(rng.choice(WORDS, 2, replace=False))
        query = f"{' '.join(words)} {i % queries}"
        label = float(rng.integers(0, 4 if graded else 2))
        shared = words[: int(label)] if graded else words * int(label)
        other = [w for w in WORDS if w not in words]
        text = " ".join(shared + list(rng.choice(other, 3 - min(3, len(shared)) or 1))) + f" item {i}"
        rows.append({"sample_id": i, "query": query, "product_id": f"p{i}", "product_text": text,
                     "category": "tools", "label": label, "cold_start": i % 7 == 0})  # fmt: skip
    return pd.DataFrame(rows)


def store_sample_set(n: int = 120, graded: bool = False) -> int:
    """A sample set in the test database: 60% train, 20% val, 20% test, split by query."""
    from storage.db import begin
    from storage.samples import create_sample_set, insert_samples

    frame = make_samples(n, graded=graded)
    bucket = frame["query"].str.rsplit(" ", n=1).str[-1].astype(int) % 5
    frame["split"] = np.where(bucket < 3, "train", np.where(bucket == 3, "val", "test"))
    frame.loc[frame["split"] == "train", "cold_start"] = False
    with begin() as conn:
        set_id = create_sample_set(conn, "synthetic", 1, {"label_kind": "graded" if graded else "binary"}, {})
        insert_samples(conn, set_id, frame)
    return set_id


def wait_for(check, timeout_s: float = 240, poll_s: float = 0.5):
    """Poll until check() returns something truthy; fail with a clear message at the timeout.

    Checks that open the database poll slowly: each poll holds the DuckDB file for a moment, and
    the scheduler needs it too."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(poll_s)
    raise AssertionError(f"condition not met within {timeout_s} s: {check.__doc__ or check}")


def process_alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def env_ready() -> None:
    os.environ.setdefault("WORKBENCH_SCHEDULER_POLL_S", "0.2")


def store_augmented_set(sample_set_id: int, name: str = "typos") -> int:
    """An accepted augmented set: every train sample with a changed query, through the review API."""
    from storage import candidates as C
    from storage.db import begin
    from storage.samples import read_samples

    with begin() as conn:
        train = read_samples(conn, sample_set_id, "train")
        frame = train.assign(augmenter="test", params="{}", seed=0, field="query", original=train["query"],
                             query=train["query"] + " x", score=1.0)  # fmt: skip
        run_id = C.create_augment_run(conn, sample_set_id, {"name": name}, 0, len(frame), {})
        C.insert_candidates(conn, run_id, frame)
        C.set_candidate_status(conn, run_id, C.CandidateFilter(), "accepted")
        return C.save_augmented_set(conn, run_id, name)
