"""Mined negatives: catalog products a retriever ranks high for a query, left for the teacher to judge.

Technique: hard-negative mining with a retriever (Karpukhin et al. 2020, DPR, arXiv 2004.04906:
BM25 top passages that are not the answer; Xiong et al. 2021, ANCE) and denoised by a cross-check
model, as RocketQA does (Qu et al. 2021, arXiv 2010.08191): a product the retriever ranks high is
often relevant after all, so each mined pair is proposed with the lowest label and kept only when
the teacher (the recipe's scorer 'teacher', workbench/train/teacher.py) scores it low too. Unlike
`hard_negative`, no logs are needed: it works on labeled pairs data.

For each positive train sample, the catalog (every product text the sample set and the catalog
know) is ranked for its query by BM25 (workbench.lexical, statistics over that catalog) or by the
sentence encoder's cosine; products already paired with the query in any split, the source's own
product and held-out products (cold-start, or only in val/test) are skipped; `per_sample` are
drawn among the `top_k` best with the sample's own generator.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from workbench.augment.base import Augmenter, Candidate, Sample, SampleRandom
from workbench.augment.catalog import blocked_products, label_range, prepared, product_text_map
from workbench.errors import BadInput, MissingData
from workbench.queries import query_key, query_keys

BLOCK = 256  # queries ranked at once: a dense block of (BLOCK, catalog) scores


@dataclass
class MinedNegativeParams:
    per_sample: int = field(default=1, metadata={"help": "Negatives to pair with each positive source sample."})
    top_k: int = field(default=10, metadata={"help": "Draw among this many best-ranked products (after the skipped ones)."})
    ranker: str = field(default="bm25", metadata={"help": "'bm25' (lexical, cheap) or 'encoder' (the sentence encoder's cosine; use it for Chinese: BM25's words keep a Chinese run whole)."})
    model: str = field(default="", metadata={"help": "Encoder for ranker 'encoder': name or local folder; empty: the bundled MiniLM."})


class MinedNegative(Augmenter):
    """Pair a positive sample's query with a product a retriever ranks high for it (label = the lowest).

    Args:
        per_sample, top_k, ranker, model: see Params help.
    Requirements: context.samples and/or context.products (the product texts); the encoder for
        ranker 'encoder'. Offline. Meant for the teacher scorer, which keeps only the pairs it
        also scores low: without it many mined "negatives" are relevant products.
    Inputs: train samples; positives (label above the lowest) are the anchors. Output field
        'product': same query, another product, label = the lowest label.
    Example:
        >>> MinedNegative(context=AugmentContext(samples=all_samples, products=catalog)).augment(train, SampleRandom(0, "mined_negative"))
    """

    name = "mined_negative"
    Params = MinedNegativeParams
    edits_source = False

    def augment(self, samples: list[Sample], rng: SampleRandom) -> list[Candidate]:
        if self.params.ranker not in ("bm25", "encoder"):
            raise BadInput(f"mined_negative: ranker must be 'bm25' or 'encoder', got {self.params.ranker!r}")
        texts = prepared(self, "texts", lambda: product_text_map(self.context))
        if not texts:
            raise MissingData("mined_negative needs product texts: a sample set (context.samples) or a catalog (context.products)")
        low, _ = label_range(self.context, samples)
        blocked = prepared(self, "blocked", lambda: blocked_products(self.context))
        ids = prepared(self, "ids", lambda: sorted(pid for pid in texts if pid not in blocked))
        paired = prepared(self, "paired", self._paired)
        anchors = [s for s in samples if s.label > low]
        queries = list(dict.fromkeys(s.query for s in anchors))
        ranked = self._rank(queries, ids, texts)
        out: list[Candidate] = []
        for sample in anchors:
            skip = paired.get(query_key(sample.query), set()) | {sample.product_id}
            top = [pid for pid in ranked[sample.query] if pid not in skip][: max(self.params.top_k, self.params.per_sample)]
            if not top:
                continue
            r = rng(sample.sample_id)
            for pid in r.sample(top, min(self.params.per_sample, len(top))):
                out.append(self.candidate(sample, rng, field="product", product_id=pid, product_text=texts[pid], label=low))
        return out

    def _paired(self) -> dict[str, set[str]]:
        """Normalised query -> products it is paired with in any split."""
        frame = self.context.samples
        out: dict[str, set[str]] = {}
        if frame is not None and len(frame):
            for q, p in zip(query_keys(frame["query"]), frame["product_id"].astype(str)):
                out.setdefault(q, set()).add(p)
        return out

    def _rank(self, queries: list[str], ids: list[str], texts: dict[str, str]) -> dict[str, list[str]]:
        """Per query, the best-ranked product ids (enough to skip the paired ones), best first."""
        if not queries or not ids:
            return {q: [] for q in queries}
        corpus = [texts[pid] for pid in ids]
        k = min(len(ids), self.params.top_k + 20)
        if self.params.ranker == "bm25":
            from workbench.lexical import BM25

            bm25 = prepared(self, "bm25", lambda: BM25.fit(corpus))
            score = lambda block: bm25.matrix(block, corpus).toarray()  # noqa: E731
        else:
            from workbench.augment.encoder import get_encoder

            encoder = get_encoder(self.params.model or None)
            vectors = prepared(self, "vectors", lambda: encoder.encode(corpus))
            score = lambda block: encoder.encode(block) @ vectors.T  # noqa: E731
        out: dict[str, list[str]] = {}
        for start in range(0, len(queries), BLOCK):
            block = queries[start: start + BLOCK]
            scores = score(block)
            top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
            for row, query in enumerate(block):
                order = sorted(top[row], key=lambda j: (-scores[row, j], ids[j]))  # ties by id: deterministic
                out[query] = [ids[j] for j in order if scores[row, j] > 0]
        return out
