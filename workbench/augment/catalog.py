"""What the domain augmenters read from an AugmentContext: catalog texts, labels, held-out parts.

The leakage rules live here so that every augmenter applies the same ones:
- products that appear in any sample (train, val or test) are "searched"; pseudo-queries are
  only made for catalog products that appear in no sample at all;
- a product that is held out (cold_start) or appears only in val/test is never paired with a
  train query (hard negatives, pseudo-queries);
- a query of the val or test split is never emitted as a candidate (log-mined rewrites).
"""
from __future__ import annotations

import pandas as pd

from workbench.augment.base import AugmentContext, Sample
from workbench.errors import MissingData
from workbench.queries import query_keys


def prepared(augmenter, key: str, build):
    """`build()` once per augmenter instance: the pipeline reuses one instance over many chunks
    of samples, and the context (catalog, logs, sample set) does not change between them."""
    cache = augmenter.__dict__.setdefault("_prepared", {})
    if key not in cache:
        cache[key] = build()
    return cache[key]


def need(context: AugmentContext, what: str, augmenter: str) -> pd.DataFrame:
    frame = getattr(context, what)
    if frame is None or len(frame) == 0:
        hint = {"products": "a catalog dataset", "events": "search logs", "samples": "the sample set"}[what]
        raise MissingData(f"{augmenter} needs {hint} (AugmentContext.{what} is empty); build the sample set from a catalog and logs")
    return frame


def product_text_map(context: AugmentContext) -> dict[str, str]:
    """product_id -> product text as the sample set writes it (samples first, else the catalog)."""
    out: dict[str, str] = {}
    if context.products is not None and len(context.products):
        from workbench.samples import product_texts

        texts = product_texts(context.products)
        out.update(zip(texts["product_id"].astype(str), texts["product_text"].astype(str)))
    if context.samples is not None and len(context.samples):
        frame = context.samples.drop_duplicates("product_id")
        out.update(zip(frame["product_id"].astype(str), frame["product_text"].astype(str)))
    return out


def blocked_products(context: AugmentContext) -> set[str]:
    """Products that must not be paired with a train query: cold-start, or only in val/test."""
    frame = context.samples
    if frame is None or not len(frame):
        return set()
    ids = frame["product_id"].astype(str)
    cold = set(ids[frame["cold_start"].astype(bool)]) if "cold_start" in frame else set()
    in_train = set(ids[frame["split"] == "train"]) if "split" in frame else set(ids)
    return cold | (set(ids) - in_train)


def heldout_queries(context: AugmentContext) -> set[str]:
    """Normalised queries of the val and test splits."""
    frame = context.samples
    if frame is None or not len(frame) or "split" not in frame:
        return set()
    return set(query_keys(frame.loc[frame["split"] != "train", "query"]))


def label_range(context: AugmentContext, samples: list[Sample]) -> tuple[float, float]:
    """(lowest, highest) label of the sample set: (0, 1) binary, e.g. (0, 3) graded."""
    if context.samples is not None and len(context.samples):
        labels = context.samples["label"].astype(float)
    else:
        labels = pd.Series([s.label for s in samples], dtype=float)
    if not len(labels):
        return 0.0, 1.0
    return float(labels.min()), float(labels.max())
