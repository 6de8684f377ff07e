"""Log-mined query rewrites: queries whose clicks land on the same products rewrite each other.

Technique: query rewriting from click graphs (Beeferman & Berger 2000, "Agglomerative clustering
of a search engine query log"; Jones et al. 2006, "Generating query substitutions"): two queries
that lead shoppers to the same products ask for the same thing, so "couch cover" and "sofa
slipcover" can stand in for each other in a training sample. Overlap is the Jaccard index of
the two queries' clicked (or bought) product sets.

Leakage: a query of the val or test split is never used as a rewrite, so no evaluation query
enters training through this door.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from workbench.augment.base import Augmenter, Candidate, Sample, SampleRandom
from workbench.augment.catalog import heldout_queries, label_range, need, prepared
from workbench.queries import query_key, query_keys


@dataclass
class RewriteParams:
    per_sample: int = field(default=1, metadata={"help": "Rewrites to make from each source sample."})
    min_overlap: float = field(default=0.3, metadata={"help": "Least Jaccard overlap of the two queries' clicked products."})
    min_shared: int = field(default=2, metadata={"help": "Least number of clicked products the two queries share."})
    top_k: int = field(default=5, metadata={"help": "Draw among this many best rewrites of a query."})
    positives_only: bool = field(default=True, metadata={"help": "Rewrite only positive samples: a shared click says nothing about a negative."})


class LogMinedRewrite(Augmenter):
    """Replace the query by another query whose clicks land on the same products.

    Args:
        per_sample, min_overlap, min_shared, top_k: see Params help.
    Requirements: context.events (search logs with clicked and/or purchased); context.samples
        to keep val/test queries out. Offline.
    Inputs: Sample.query in any language (queries compare case- and space-insensitively).
        Only positive samples by default. Output field 'query', same product and label; the rewrite is written as shoppers typed it
        (its most frequent spelling in the logs).
    Example:
        >>> LogMinedRewrite(context=AugmentContext(events=logs, samples=all_samples)).augment(train, SampleRandom(0, "query_rewrite"))
    """

    name = "query_rewrite"
    Params = RewriteParams
    edits_source = False

    def augment(self, samples: list[Sample], rng: SampleRandom) -> list[Candidate]:
        events = need(self.context, "events", self.name)
        rewrites = prepared(self, "rewrites", lambda: self._mine(events))
        low, _ = label_range(self.context, samples)
        out: list[Candidate] = []
        for sample in samples:
            if self.params.positives_only and sample.label <= low:
                continue
            options = rewrites.get(query_key(sample.query))
            if not options:
                continue
            r = rng(sample.sample_id)
            for text in r.sample(options, min(self.params.per_sample, len(options))):
                out.append(self.candidate(sample, rng, query=text))
        return out

    def _mine(self, events: pd.DataFrame) -> dict[str, list[str]]:
        """normalised query -> its best rewrites (as typed), best first, held-out queries removed."""
        engaged = events["clicked"].fillna(False).astype(bool) if "clicked" in events else pd.Series(False, index=events.index)
        if "purchased" in events:
            engaged = engaged | events["purchased"].fillna(False).astype(bool)
        clicks = events.loc[engaged, ["query", "product_id"]].copy()
        if clicks.empty:
            return {}
        clicks["q"] = query_keys(clicks["query"])
        clicks["product_id"] = clicks["product_id"].astype(str)
        clicks["query"] = clicks["query"].astype(str).str.strip()
        counts = clicks.groupby(["q", "query"]).size().reset_index(name="n").sort_values(["q", "n", "query"], ascending=[True, False, True])
        spelling = dict(zip(counts.drop_duplicates("q")["q"], counts.drop_duplicates("q")["query"]))
        products = clicks.groupby("q")["product_id"].agg(frozenset).to_dict()
        by_product: dict[str, list[str]] = {}
        for q, ps in products.items():
            for p in ps:
                by_product.setdefault(p, []).append(q)
        blocked = heldout_queries(self.context)
        out: dict[str, list[str]] = {}
        for q, ps in products.items():
            shared: dict[str, int] = {}
            for p in ps:
                for other in by_product[p]:
                    if other != q:
                        shared[other] = shared.get(other, 0) + 1
            scored = []
            for other, n in shared.items():
                overlap = n / len(ps | products[other])
                if n >= self.params.min_shared and overlap >= self.params.min_overlap and other not in blocked:
                    scored.append((-overlap, -n, other))
            if scored:
                scored.sort()
                out[q] = [spelling[other] for _, _, other in scored[: self.params.top_k]]
        return out
