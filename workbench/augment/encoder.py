"""Sentence encoder for the label-preservation score and embedding neighbours.

Sentence-BERT (Reimers & Gurevych 2019) through sentence-transformers: the model's own modules
(for the bundled MiniLM: mean pooling over the attention mask, then L2 normalisation), length-
sorted batches, inference mode. The default is the bundled MiniLM (`workbench.models`), loaded
offline from its folder; any sentence-transformers or plain transformers encoder name or local
path works too (a plain one gets mean pooling).

What this class adds to SentenceTransformer.encode, because encoding is the expensive part of
scoring candidates on a CPU:
- each distinct text is encoded once per call and kept in an in-memory cache (bounded),
- progress per batch through a callback (for the page and the CLI) instead of a tqdm bar,
- the model comes from workbench/augment/hf.py like every augmenter's: one cache, and one
  error, ModelUnavailable, naming the model when it cannot be loaded offline.

    from workbench.augment.encoder import get_encoder
    enc = get_encoder()                       # the bundled model, cached per model
    vectors = enc.encode(["drill bits", "drill bit set"])   # (2, 384) float32, unit length
    enc.similarity(["drill bits"], ["drill bit set"])       # cosine mapped to [0, 1]
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

from workbench.models import BUNDLED

_ENCODERS: dict[str, "TextEncoder"] = {}
_LOCK = threading.Lock()


class TextEncoder:
    """Encodes texts to unit vectors; see the module docstring.

    Args:
        model: an encoder name or local folder; None or BUNDLED for the bundled MiniLM.
        device: 'cuda' | 'mps' | 'cpu'; None picks the best one present.
        batch_size: texts per forward pass; None: 256 on a GPU, 32 on a CPU (short queries in
            small batches stay in the CPU cache: 32 gave ~15% more texts/s than 128 here).
        max_length: tokens per text (queries and titles are short; 128 keeps long titles cheap).
        cache_size: distinct texts kept in memory (each vector is 384 float32 = 1.5 KB).
    """

    def __init__(self, model: str | None = None, device: str | None = None, batch_size: int | None = None,
                 max_length: int = 128, cache_size: int = 200_000):
        from workbench.augment.hf import SENTENCE_ENCODER, load

        self.model_name = model or BUNDLED
        self.model, _, self.device = load(SENTENCE_ENCODER, self.model_name, "encoder", device)
        self.model.max_seq_length = max_length
        self.batch_size = batch_size or (256 if self.device == "cuda" else 32)
        self.cache_size = cache_size
        self.dim = int(self.model.get_embedding_dimension())
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def encode(self, texts: Sequence[str],
               on_progress: Callable[[int, int, str], None] | None = None) -> np.ndarray:
        """Unit vectors (len(texts), dim) float32; each distinct uncached text is encoded once."""
        texts = [t if isinstance(t, str) else "" for t in texts]
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        # Longest first: the first batch shows the peak memory at once, and padding stays small.
        todo.sort(key=len, reverse=True)
        for start in range(0, len(todo), self.batch_size):
            batch = todo[start:start + self.batch_size]
            for text, vector in zip(batch, self._forward(batch)):
                self._cache[text] = vector
            if on_progress is not None:
                on_progress(min(start + self.batch_size, len(todo)), len(todo), "encoding texts")
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # A text evicted just now (cache smaller than the call) is encoded again; rare and correct.
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        extra = dict(zip(missing, self._forward(missing))) if missing else {}
        return np.stack([self._cache[t] if t in self._cache else extra[t] for t in texts])

    def similarity(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        """Cosine similarity of each pair (a[i], b[i]), mapped from [-1, 1] to [0, 1]."""
        if len(a) != len(b):
            raise ValueError(f"similarity needs two lists of the same length, got {len(a)} and {len(b)}")
        vectors = self.encode(list(a) + list(b))
        cosine = np.einsum("ij,ij->i", vectors[: len(a)], vectors[len(a):])
        return np.clip((cosine + 1.0) / 2.0, 0.0, 1.0).astype(np.float32)

    def _forward(self, batch: list[str]) -> np.ndarray:
        # normalize_embeddings: unit vectors whether or not the model ends in a Normalize module.
        return self.model.encode(batch, batch_size=len(batch), normalize_embeddings=True, convert_to_numpy=True,
                                 show_progress_bar=False).astype(np.float32)


def get_encoder(model: str | None = None, device: str | None = None) -> TextEncoder:
    """The encoder for `model` (None = the bundled MiniLM), loaded once per process."""
    key = f"{model or BUNDLED}@{device or 'auto'}"
    with _LOCK:
        if key not in _ENCODERS:
            _ENCODERS[key] = TextEncoder(model, device=device)
        return _ENCODERS[key]
