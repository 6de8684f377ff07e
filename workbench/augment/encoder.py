"""Sentence encoder for the label-preservation score and embedding neighbours.

Sentence-BERT style (Reimers & Gurevych 2019): a BERT-family encoder, mean pooling over the
attention mask, L2-normalised. The default is the bundled MiniLM (`workbench.models`), loaded
offline from its folder; any transformers encoder name or local path works too.

Cost control, because encoding is the expensive part of scoring candidates on a CPU:
- each distinct text is encoded once per call and kept in an in-memory cache (bounded),
- texts are sorted by length before batching so that padding stays small,
- `torch.inference_mode`, and the GPU when there is one.

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

from workbench.errors import ModelUnavailable
from workbench.models import BUNDLED, resolve_model

_ENCODERS: dict[str, "TextEncoder"] = {}
_LOCK = threading.Lock()


def pick_device(preferred: str | None = None) -> str:
    """'cuda', then 'mps', then 'cpu', unless the caller names one."""
    import torch

    if preferred:
        return preferred
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


class TextEncoder:
    """Encodes texts to unit vectors; see the module docstring.

    Args:
        model: a transformers encoder name or local folder; None or BUNDLED for the bundled MiniLM.
        device: 'cuda' | 'mps' | 'cpu'; None picks the best one present.
        batch_size: texts per forward pass; None: 256 on a GPU, 32 on a CPU (short queries in
            small batches stay in the CPU cache: 32 gave ~15% more texts/s than 128 here).
        max_length: tokens per text (queries and titles are short; 128 keeps long titles cheap).
        cache_size: distinct texts kept in memory (each vector is 384 float32 = 1.5 KB).
    """

    def __init__(self, model: str | None = None, device: str | None = None, batch_size: int | None = None,
                 max_length: int = 128, cache_size: int = 200_000):
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.model_name = model or BUNDLED
        path = resolve_model(model)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            self.model = AutoModel.from_pretrained(path)
        except (OSError, ValueError) as e:
            raise ModelUnavailable(
                f"cannot load encoder {self.model_name!r} offline ({e.__class__.__name__}: {e}); "
                "give a local folder with a saved transformers model, or leave it empty for the bundled one"
            ) from e
        self.device = pick_device(device)
        self.model.to(self.device).eval()
        self.batch_size = batch_size or (256 if self.device == "cuda" else 32)
        self.max_length = max_length
        self.cache_size = cache_size
        self.dim = int(self.model.config.hidden_size)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._torch = torch

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
        torch = self._torch
        inputs = self.tokenizer(batch, padding=True, truncation=True, max_length=self.max_length,
                                return_tensors="pt").to(self.device)
        with torch.inference_mode():
            hidden = self.model(**inputs).last_hidden_state
            mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled.float(), dim=-1)
        return pooled.cpu().numpy().astype(np.float32)


def get_encoder(model: str | None = None, device: str | None = None) -> TextEncoder:
    """The encoder for `model` (None = the bundled MiniLM), loaded once per process."""
    key = f"{model or BUNDLED}@{device or 'auto'}"
    with _LOCK:
        if key not in _ENCODERS:
            _ENCODERS[key] = TextEncoder(model, device=device)
        return _ENCODERS[key]
