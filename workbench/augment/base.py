"""The Augmenter interface: what every augmenter takes and returns.

An augmenter has a stable `name`, a `Params` dataclass (typed fields with defaults; each field's
`metadata["help"]` is the help text the page and the CLI show), class attributes that say what
it can do (`runs_in_pool`, `edits_source`: the pipeline and the filters read these, never the
name), and one method:

    augment(samples, rng) -> list[Candidate]

`rng` hands out one `random.Random` per source sample (`rng(sample.sample_id)`), derived from
the recipe seed, the augmenter name and the sample id. So the same sample set + recipe + seed
gives identical candidates however the samples are batched or split across processes, and no
augmenter touches global random state.

Every Candidate carries its provenance (source sample, augmenter, params, seed) so that any
accepted sample can be traced and regenerated. Candidates come from the train split only; the
pipeline (workbench/augment/pipeline.py) enforces that and applies the filters.
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
import random
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd


@dataclass(frozen=True)
class Sample:
    """One labeled query-product pair from the train split."""

    sample_id: int
    query: str
    product_id: str
    product_text: str
    label: float
    category: str | None = None


@dataclass
class Candidate:
    """One augmented sample and where it came from."""

    sample_id: int  # the source sample
    augmenter: str
    params: dict[str, Any]
    seed: int
    field: str  # what changed: 'query' | 'product_text' | 'product' (a new pairing, e.g. a hard negative)
    original: str  # the text before the change (the query, the product text, or the product id)
    query: str
    product_id: str
    product_text: str
    label: float
    score: float | None = None  # label-preservation score in [0, 1], filled by the pipeline


@dataclass
class AugmentContext:
    """What augmenters may look at beyond the samples they change. All optional.

    products: the catalog (product_id, title, description, category, brand, price, attributes).
    events: search logs (query, product_id, position, clicked, purchased, session_id).
    samples: the whole sample set, every split (sample_id, query, product_id, product_text,
        label, split, cold_start); augmenters must not copy val/test text into candidates.
    settings: user settings, e.g. the LLM endpoint (url, model, api_key) and device.
    """

    products: pd.DataFrame | None = None
    events: pd.DataFrame | None = None
    samples: pd.DataFrame | None = None
    settings: dict[str, Any] = field(default_factory=dict)


class SampleRandom:
    """One seeded random generator per source sample, independent of batching and order."""

    def __init__(self, seed: int, augmenter: str):
        self.seed = seed
        self.augmenter = augmenter

    def __call__(self, sample_id: int) -> random.Random:
        key = f"{self.seed}:{self.augmenter}:{sample_id}".encode()
        return random.Random(int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big"))


class Augmenter:
    """Base class. Subclasses set `name` and `Params` and implement `augment`."""

    name: ClassVar[str]
    Params: ClassVar[type]  # a dataclass; field metadata["help"] is the help text
    # Pure Python, no model and no AugmentContext: the pipeline may run it in worker processes.
    runs_in_pool: ClassVar[bool] = False
    # Candidates are edits of their source text (True), or new text: a pseudo-query, a mined
    # rewrite, another product (False). Only edits are checked for broken protected tokens,
    # scored by similarity to their source and shown with the changed words marked.
    edits_source: ClassVar[bool] = True
    # It rewrites the query (synonyms, neighbours, word swap, masked LM, back-translation, LLM
    # paraphrase): query words the product's text also has are left alone (text.kept_words), and
    # the filters drop a rewrite that lost one.
    keeps_product_words: ClassVar[bool] = False
    # Its candidates are made from catalog text alone (pseudo-queries from titles), never from a
    # held-out product's logs or labels: it may pair cold-start products (the filters allow it).
    from_catalog: ClassVar[bool] = False

    def __init__(self, params: Any = None, context: AugmentContext | None = None):
        self.params = params if params is not None else self.Params()
        self.context = context or AugmentContext()

    def augment(self, samples: list[Sample], rng: SampleRandom) -> list[Candidate]:
        raise NotImplementedError

    def params_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.params)

    def candidate(self, sample: Sample, rng: SampleRandom, **changes: Any) -> Candidate:
        """A Candidate from `sample` with `changes` (query=..., product_text=..., ...) applied."""
        changed = changes.pop("field", None) or next(iter(changes))
        original = changes.pop("original", None)
        if original is None:
            original = getattr(sample, changed if changed != "product" else "product_id")
        values = {
            "query": sample.query,
            "product_id": sample.product_id,
            "product_text": sample.product_text,
            "label": sample.label,
        }
        values.update(changes)
        return Candidate(
            sample_id=sample.sample_id,
            augmenter=self.name,
            params=self.params_dict(),
            seed=rng.seed,
            field=changed,
            original=original,
            **values,
        )


# Parameter ranges, by name, for every augmenter's Params and the recipe's FilterConfig.
SHARES = {"word_p", "rate", "min_overlap", "min_query_overlap", "min_title_overlap", "min_similarity", "min_score",
          "teacher_margin"}  # fmt: skip
AT_LEAST_ONE = {"per_sample", "word_max", "char_max", "top_k", "batch_size", "num_beams", "concurrency", "max_tokens",
                "max_new_tokens", "max_length", "max_products", "max_vocab", "max_senses", "max_chars"}  # fmt: skip


def check_params(params) -> None:
    """Raise ValueError("NAME: ...") for the first field of a parameters dataclass whose value has
    another type than its default's, or is out of range: shares in [0, 1], counts and sizes at
    least 1, every other number finite and at least 0."""
    for f in dataclasses.fields(params):
        value, default = getattr(params, f.name), f.default
        if isinstance(default, bool) or isinstance(value, bool):
            if not isinstance(value, bool) or not isinstance(default, bool):
                raise ValueError(f"{f.name}: expected {'true or false' if isinstance(default, bool) else 'a number'}, got {value!r}")
        elif isinstance(default, (int, float)):
            if not isinstance(value, (int, float)) or (isinstance(default, int) and not isinstance(value, int)):
                raise ValueError(f"{f.name}: expected {'a whole number' if isinstance(default, int) else 'a number'}, got {value!r}")
            low, high = (0, 1) if f.name in SHARES else (1 if f.name in AT_LEAST_ONE else 0, math.inf)
            if not (math.isfinite(value) and low <= value <= high):
                limits = f"in [{low}, {high}]" if high < math.inf else f"at least {low}"
                raise ValueError(f"{f.name}: expected a number {limits}, got {value!r}")
        elif isinstance(default, str) and not isinstance(value, str):
            raise ValueError(f"{f.name}: expected text, got {value!r}")
