"""The pieces the training loop calls: micro-batching with the out-of-memory fallback,
one optimizer step (with optional FGM), prediction, and checkpoints.

Out of memory: a batch runs as micro-batches whose gradients add up (scaled by their share of
the batch), so when CUDA runs out of memory the micro-batch halves, the batch is run again from
zero gradients, and the optimizer still sees the same batch and the same learning-rate schedule.
`simulated_memory_tokens` raises the same torch.OutOfMemoryError on any device when a micro-batch
holds more tokens than allowed, so the fallback can be exercised on CPU.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from workbench.train.data import Encoded, PairEncoded, collate, sequential_batches


class MicroBatcher:
    """Runs a function over micro-batches of a batch, halving them on out-of-memory."""

    def __init__(self, batch_size: int, simulated_memory_tokens: int, log: Callable[[str], None]):
        self.batch_size = batch_size
        self.micro = batch_size
        self.limit = simulated_memory_tokens
        self.log = log

    def parts(self, data: Encoded, index: np.ndarray) -> list[np.ndarray]:
        parts = [index[i : i + self.micro] for i in range(0, len(index), self.micro)]
        for part in parts:
            tokens = len(part) * int(data.lengths[part].max())
            if self.limit and tokens > self.limit:
                raise torch.OutOfMemoryError(
                    f"simulated out of memory: {len(part)} samples x {int(data.lengths[part].max())} tokens "
                    f"= {tokens} > simulated_memory_tokens {self.limit}"
                )
        return parts

    def run(self, data: Encoded, index: np.ndarray, fn: Callable[[list[np.ndarray]], object], on_retry: Callable[[], None]):
        """fn(parts) over the whole batch; on out-of-memory: on_retry(), halve, run it again."""
        while True:
            try:
                return fn(self.parts(data, index))
            except torch.OutOfMemoryError as e:
                on_retry()
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                if self.micro <= 1:
                    raise torch.OutOfMemoryError(
                        f"out of memory even with one sample per micro-batch ({e}); lower max_length or use a smaller model"
                    ) from e
                old, self.micro = self.micro, max(1, self.micro // 2)
                self.log(
                    f"out of memory with micro-batches of {old}; continuing with {self.micro} "
                    f"(gradients add up over micro-batches, so each optimizer step still sees {self.batch_size} samples)"
                )


def autocast(device: torch.device):
    """bf16 autocast on CUDA; full precision elsewhere (bf16 on CPU is slower, MPS support varies)."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _forward_loss(model, batch: dict, device: torch.device, weight: float) -> torch.Tensor:
    inputs = {k: v.to(device, non_blocking=True) for k, v in batch.items() if k != "labels"}
    with autocast(device):
        logits = model(**inputs).logits
    return F.cross_entropy(logits.float(), batch["labels"].to(device)) * weight


def pad_multiple(device) -> int:
    return 8 if device.type == "cuda" else 1


def train_batch(model, data: Encoded, parts: list[np.ndarray], device, pad_id: int, fgm=None,
                clean_of: np.ndarray | None = None, consistency: float = 0.0) -> float:
    """Forward and backward over the micro-batches of one batch; returns the batch's mean loss.

    With `consistency` > 0, each row that has a clean twin (`clean_of[row]` >= 0: an augmented query
    rewrite and its source sample) also adds consistency x KL(clean || rewrite): the rewrite's class
    distribution is pulled toward the clean query's, which is the target (no gradient through it)."""
    total = sum(len(p) for p in parts)
    loss_sum = 0.0
    for part in parts:
        batch = data.batch(part, pad_id, pad_multiple(device))
        loss = _forward_loss(model, batch, device, len(part) / total)
        loss.backward()
        loss_sum += float(loss.detach())
        if fgm is not None and fgm.attack():
            _forward_loss(model, batch, device, len(part) / total).backward()
            fgm.restore()
        rows = part[clean_of[part] >= 0] if consistency > 0 and clean_of is not None else part[:0]
        if len(rows):
            loss = consistency_loss(model, data, rows, clean_of[rows], device, pad_id) * consistency * len(rows) / total
            loss.backward()
            loss_sum += float(loss.detach())
    return loss_sum


def consistency_loss(model, data: Encoded, rows: np.ndarray, clean: np.ndarray, device, pad_id: int) -> torch.Tensor:
    """Mean KL divergence from the clean rows' class distribution (a fixed target) to the rewrites'."""

    def log_probs(index):
        batch = data.batch(index, pad_id, pad_multiple(device))
        inputs = {k: v.to(device, non_blocking=True) for k, v in batch.items() if k != "labels"}
        with autocast(device):
            return F.log_softmax(model(**inputs).logits.float(), -1)

    with torch.no_grad():
        target = log_probs(clean)
    return F.kl_div(log_probs(rows), target, log_target=True, reduction="batchmean")


@torch.no_grad()
def predict_probs(model, data: Encoded, batcher: MicroBatcher, device, pad_id: int, n_classes: int) -> tuple[np.ndarray, float]:
    """Class probabilities per sample (in the data's order) and the mean cross-entropy loss.
    `data` is an Encoded (cross-encoder) or a PairEncoded (similarity model)."""
    if isinstance(data, PairEncoded):
        return predict_pair_probs(model, data, batcher, device, pad_id)
    model.eval()
    probs = np.zeros((len(data), n_classes), dtype=np.float32)
    loss_sum = 0.0
    for index in sequential_batches(data.lengths, batcher.micro * 2):  # no gradients: room for twice as many

        def run(parts):
            out = []
            for part in parts:
                batch = data.batch(part, pad_id, pad_multiple(device))
                inputs = {k: v.to(device) for k, v in batch.items() if k != "labels"}
                with autocast(device):
                    logits = model(**inputs).logits.float()
                loss = F.cross_entropy(logits, batch["labels"].to(device), reduction="sum")
                out.append((part, torch.softmax(logits, -1).cpu().numpy(), float(loss)))
            return out

        for part, p, loss in batcher.run(data, index, run, on_retry=lambda: None):
            probs[part] = p
            loss_sum += loss
    model.train()
    return probs, loss_sum / max(1, len(data))


@torch.no_grad()
def unique_vectors(model, side: Encoded, batcher: MicroBatcher, device, pad_id: int) -> tuple[torch.Tensor, np.ndarray]:
    """(pooled vector of each distinct token sequence, the row of each sample's sequence in it)."""
    rows: dict[tuple, int] = {}
    where = np.array([rows.setdefault(tuple(ids), len(rows)) for ids in side.input_ids], dtype=np.int64)
    first = np.unique(where, return_index=True)[1]  # a sample holding each distinct sequence, in row order
    distinct = Encoded([side.input_ids[i] for i in first], [side.token_type_ids[i] for i in first],
                       np.zeros(len(first), dtype=np.int64), side.lengths[first])  # fmt: skip
    vectors = torch.zeros(len(first), model.config.hidden_size)
    for index in sequential_batches(distinct.lengths, batcher.micro * 2):

        def run(parts):
            for part in parts:
                batch = collate(distinct, part, pad_id, pad_multiple(device))
                with autocast(device):
                    out = model.embed(batch["input_ids"].to(device), batch["attention_mask"].to(device), batch["token_type_ids"].to(device))
                vectors[torch.from_numpy(part)] = out.float().cpu()

        batcher.run(distinct, index, run, on_retry=lambda: None)
    return vectors, where


@torch.no_grad()
def predict_pair_probs(model, data: PairEncoded, batcher: MicroBatcher, device, pad_id: int) -> tuple[np.ndarray, float]:
    """The similarity model's predict_probs with each distinct query and product text encoded once:
    search logs repeat a query over many products and a product over many queries, so scoring a
    split costs its distinct texts, not twice its pairs. The same vectors and head as the forward pass."""
    model.eval()
    queries, q_row = unique_vectors(model, data.query, batcher, device, pad_id)
    products, p_row = unique_vectors(model, data.product, batcher, device, pad_id)
    cosine = F.cosine_similarity(queries[torch.from_numpy(q_row)], products[torch.from_numpy(p_row)], dim=-1)
    inputs = torch.cat([cosine[:, None], torch.from_numpy(data.lexical.astype(np.float32))], 1).to(device)
    log_probs = model.head(inputs).float()
    loss = F.nll_loss(log_probs, torch.from_numpy(data.labels).to(device), reduction="mean") if len(data) else torch.tensor(0.0)
    model.train()
    return log_probs.exp().cpu().numpy(), float(loss)


def save_checkpoint(path: Path, state: dict) -> None:
    """Write then rename, so a kill during the write never leaves a broken checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict | None:
    if not path.exists():
        return None
    return torch.load(path, map_location="cpu", weights_only=False)


def checkpoint_step(path: Path) -> int | None:
    """The optimizer step a checkpoint holds, without reading its tensors into memory."""
    if not path.exists():
        return None
    return int(torch.load(path, map_location="cpu", weights_only=False, mmap=True)["step"])
