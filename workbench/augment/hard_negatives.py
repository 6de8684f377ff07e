"""Hard negatives: products close to a query's positive that shoppers saw and passed over.

Technique: hard-negative mining for ranking (Karpukhin et al. 2020, DPR, arXiv 2004.04906; Xiong
et al. 2021, ANCE): negatives that look like the positive teach a model more than random ones.
Here the evidence is the shop's own: a product counts as a negative for a query when it was
shown for that query (or a textually close one: typo and word-order variants) and never
clicked or bought, or was labeled with the lowest grade. It is hard when it is in the positive's
category or its title shares words with the positive's title.

A new pair is made only when it is not a sample already, the product is never a positive for
the query or a close one, and the product is not held out (cold-start, or only in val/test).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from workbench.augment.base import Augmenter, Candidate, Sample, SampleRandom
from workbench.augment.catalog import blocked_products, label_range, prepared, product_text_map
from workbench.augment.text import words
from workbench.errors import MissingData
from workbench.queries import query_key, query_keys


@dataclass
class HardNegativeParams:
    per_sample: int = field(default=1, metadata={"help": "Negatives to pair with each positive source sample."})
    min_query_overlap: float = field(default=0.5, metadata={"help": "Queries sharing at least this share of words (Jaccard) pool their evidence."})
    min_title_overlap: float = field(default=0.3, metadata={"help": "A product outside the positive's category needs this title word overlap (Jaccard)."})
    top_k: int = field(default=5, metadata={"help": "Draw among this many hardest negatives."})


class HardNegative(Augmenter):
    """Pair a positive sample's query with a hard negative product (label = the lowest grade).

    Args:
        per_sample, min_query_overlap, min_title_overlap, top_k: see Params help.
    Requirements: context.events (search logs) and/or context.samples (labels); context.products
        for titles and categories of products outside the sample set. Offline.
    Inputs: train samples; positives (label above the lowest) are the anchors. Output field
        'product': same query, another product_id and product_text, label = lowest label.
        Chinese queries and titles are compared by jieba words.
    Example:
        >>> HardNegative(context=AugmentContext(events=logs, samples=all_samples, products=catalog)).augment(train, SampleRandom(0, "hard_negative"))
    """

    name = "hard_negative"
    Params = HardNegativeParams
    edits_source = False

    def augment(self, samples: list[Sample], rng: SampleRandom) -> list[Candidate]:
        if (self.context.events is None or not len(self.context.events)) and (
                self.context.samples is None or not len(self.context.samples)):
            raise MissingData("hard_negative needs search logs (context.events) or labeled samples (context.samples)")
        low, _ = label_range(self.context, samples)
        evidence = prepared(self, "evidence", lambda: _Evidence(self.context, low))
        texts = prepared(self, "texts", lambda: product_text_map(self.context))
        categories = prepared(self, "categories", lambda: _categories(self.context))
        blocked = prepared(self, "blocked", lambda: blocked_products(self.context))
        title_words: dict[str, frozenset[str]] = prepared(self, "title_words", dict)

        def tw(pid: str, fallback: str = "") -> frozenset[str]:
            if pid not in title_words:
                title_words[pid] = frozenset(words(texts.get(pid, fallback)))
            return title_words[pid]

        out: list[Candidate] = []
        for sample in samples:
            if sample.label <= low:
                continue
            nq = query_key(sample.query)
            close = evidence.close_queries(nq, self.params.min_query_overlap)
            positives = set().union(*(evidence.positive.get(q, ()) for q in close))
            pool = set().union(*(evidence.negative.get(q, ()) for q in close))
            pool -= positives | blocked | evidence.paired.get(nq, set()) | {sample.product_id}
            anchor_words = tw(sample.product_id, sample.product_text)
            anchor_category = sample.category or categories.get(sample.product_id)
            ranked = []
            for pid in pool:
                if pid not in texts:
                    continue  # a product we cannot show has no text to train on
                same = anchor_category is not None and categories.get(pid) == anchor_category
                overlap = _jaccard(anchor_words, tw(pid))
                if same or overlap >= self.params.min_title_overlap:
                    ranked.append((-(same + overlap), pid))
            if not ranked:
                continue
            ranked.sort()
            top = [pid for _, pid in ranked[: max(self.params.top_k, self.params.per_sample)]]
            r = rng(sample.sample_id)
            for pid in r.sample(top, min(self.params.per_sample, len(top))):
                out.append(self.candidate(sample, rng, field="product", product_id=pid, product_text=texts[pid], label=low))
        return out


class _Evidence:
    """Per normalised query: products with negative evidence, positives, and existing sample pairs."""

    def __init__(self, context, low: float):
        self.negative: dict[str, set[str]] = {}
        self.positive: dict[str, set[str]] = {}
        self.paired: dict[str, set[str]] = {}
        events = context.events
        if events is not None and len(events):
            frame = pd.DataFrame({"q": query_keys(events["query"]), "p": events["product_id"].astype(str)})
            engaged = events["clicked"].fillna(False).astype(bool) if "clicked" in events else False
            if "purchased" in events:
                engaged = engaged | events["purchased"].fillna(False).astype(bool)
            frame["engaged"] = engaged
            grouped = frame.groupby(["q", "p"], sort=False)["engaged"].any().reset_index()
            for q, p, e in grouped.itertuples(index=False):
                (self.positive if e else self.negative).setdefault(q, set()).add(p)
        samples = context.samples
        if samples is not None and len(samples):
            for q, p, label, split in zip(query_keys(samples["query"]), samples["product_id"].astype(str),
                                          samples["label"].astype(float), samples["split"]):
                self.paired.setdefault(q, set()).add(p)
                if label > low:
                    self.positive.setdefault(q, set()).add(p)
                elif split == "train":  # val/test labels stay out of training data
                    self.negative.setdefault(q, set()).add(p)
        self.query_words = {q: frozenset(words(q)) for q in set(self.negative) | set(self.positive)}
        self.by_word: dict[str, set[str]] = {}
        for q, ws in self.query_words.items():
            for w in ws:
                self.by_word.setdefault(w, set()).add(q)

    def close_queries(self, nq: str, min_overlap: float) -> set[str]:
        mine = self.query_words.get(nq) or frozenset(words(nq))
        near = set().union(*(self.by_word.get(w, ()) for w in mine)) if mine else set()
        return {q for q in near if _jaccard(mine, self.query_words[q]) >= min_overlap} | {nq}


def _categories(context) -> dict[str, str]:
    out: dict[str, str] = {}
    for frame in (context.products, context.samples):
        if frame is not None and len(frame) and "category" in frame:
            part = frame[["product_id", "category"]].dropna()
            out.update(zip(part["product_id"].astype(str), part["category"].astype(str)))
    return out


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0
