"""Samples to batches: tokenize once, group similar lengths, pad each batch only to its longest.

Padding every batch to a fixed 128 tokens spends most of the compute on pad tokens (e-commerce
queries and titles are short). `length_grouped_batches` shuffles the samples, cuts them into
chunks of many batches, sorts each chunk by length and shuffles the resulting batches: every
batch holds samples of similar length, the order still changes each epoch, and `collate` pads
to the batch's own longest sample.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

CHUNK_BATCHES = 50  # batches per sorted chunk: large enough to group lengths, small enough to stay random


@dataclass
class Encoded:
    """Tokenized samples: one list of token ids per sample, and the class index of each label."""

    input_ids: list[list[int]]
    token_type_ids: list[list[int]]
    labels: np.ndarray  # class index per sample
    lengths: np.ndarray

    def __len__(self) -> int:
        return len(self.input_ids)

    def batch(self, index: np.ndarray, pad_id: int, multiple: int = 1) -> dict[str, torch.Tensor]:
        return collate(self, index, pad_id, multiple)


@dataclass
class PairEncoded:
    """Query and product text tokenized apart (the similarity model), plus the head's lexical inputs.

    `lengths` (query + product tokens) drives length grouping and the out-of-memory limit; each
    side of a batch is padded to its own longest text."""

    query: Encoded
    product: Encoded
    lexical: np.ndarray  # (n, inputs after cosine)
    labels: np.ndarray
    lengths: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def batch(self, index: np.ndarray, pad_id: int, multiple: int = 1) -> dict[str, torch.Tensor]:
        out = {"lexical": torch.from_numpy(self.lexical[index].astype(np.float32)), "labels": torch.from_numpy(self.labels[index])}
        for side, enc in (("query", self.query), ("product", self.product)):
            for key, value in collate(enc, index, pad_id, multiple).items():
                if key != "labels":
                    out[f"{side}_{key}"] = value
        return out


def class_values(*frames: pd.DataFrame) -> list[float]:
    """The distinct label values over all splits, sorted: the classifier's classes."""
    values = sorted({float(v) for frame in frames for v in frame["label"].tolist()})
    return values


def encode(frame: pd.DataFrame, tokenizer, max_length: int, classes: list[float]) -> Encoded:
    """Tokenize (query, product_text) as a sentence pair, truncating the longer side first."""
    enc = tokenizer(
        frame["query"].astype(str).tolist(),
        frame["product_text"].astype(str).tolist(),
        truncation="longest_first",
        max_length=max_length,
    )
    index = {value: i for i, value in enumerate(classes)}
    labels = np.array([index[float(v)] for v in frame["label"].tolist()], dtype=np.int64)
    ids = enc["input_ids"]
    types = enc.get("token_type_ids") or [[0] * len(x) for x in ids]
    return Encoded(ids, types, labels, np.array([len(x) for x in ids], dtype=np.int64))


def encode_pairs(frame: pd.DataFrame, tokenizer, max_length: int, classes: list[float], lexical: np.ndarray) -> PairEncoded:
    """Tokenize queries and product texts apart, each truncated to max_length."""
    index = {value: i for i, value in enumerate(classes)}
    labels = np.array([index[float(v)] for v in frame["label"].tolist()], dtype=np.int64)
    sides = []
    for column in ("query", "product_text"):
        ids = tokenizer(frame[column].astype(str).tolist(), truncation=True, max_length=max_length)["input_ids"]
        sides.append(Encoded(ids, [[0] * len(x) for x in ids], labels, np.array([len(x) for x in ids], dtype=np.int64)))
    return PairEncoded(sides[0], sides[1], np.asarray(lexical, dtype=np.float32).reshape(len(frame), -1), labels,
                       sides[0].lengths + sides[1].lengths)  # fmt: skip


def length_grouped_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Every index once, in batches of similar length, in a random order."""
    order = rng.permutation(len(lengths))
    chunk = batch_size * CHUNK_BATCHES
    batches = []
    for start in range(0, len(order), chunk):
        part = order[start : start + chunk]
        part = part[np.argsort(-lengths[part], kind="stable")]
        batches += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def sequential_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Evaluation order: sorted by length (no randomness needed), so padding stays small."""
    order = np.argsort(-lengths, kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def collate(data: Encoded, index: np.ndarray, pad_id: int, multiple: int = 1) -> dict[str, torch.Tensor]:
    """Pad the chosen samples to the longest among them, rounded up to `multiple` (8 on CUDA: fewer
    distinct shapes for the GPU libraries to plan for, and tensor-core friendly widths)."""
    lengths = data.lengths[index]
    width = -(-int(lengths.max()) // multiple) * multiple
    ids = np.full((len(index), width), pad_id, dtype=np.int64)
    types = np.zeros((len(index), width), dtype=np.int64)
    for row, i in enumerate(index):
        ids[row, : lengths[row]] = data.input_ids[i]
        types[row, : lengths[row]] = data.token_type_ids[i]
    return {
        "input_ids": torch.from_numpy(ids),
        "token_type_ids": torch.from_numpy(types),
        "attention_mask": torch.from_numpy((np.arange(width) < lengths[:, None]).astype(np.int64)),
        "labels": torch.from_numpy(data.labels[index]),
    }


def cap_train(frame: pd.DataFrame, max_train: int, seed: int, augmented_share: float = 0.0) -> pd.DataFrame:
    """The training rows: at most max_train original samples (source 'sample'; 0 = all), a seeded
    random choice, plus the augmented rows: all of them, or with augmented_share > 0 at most
    share x the originals kept (a seeded choice). The cap never crowds augmented rows out."""
    augmented = frame["source"].astype(str).str.startswith("augmented") if "source" in frame else pd.Series(False, index=frame.index)
    originals, extra = frame[~augmented], frame[augmented]
    if max_train and len(originals) > max_train:
        originals = originals.sample(n=max_train, random_state=seed)
    if augmented_share > 0 and len(extra) > round(augmented_share * len(originals)):
        extra = extra.sample(n=round(augmented_share * len(originals)), random_state=seed)
    return pd.concat([originals, extra]).sort_index() if len(extra) else originals.sort_index()
