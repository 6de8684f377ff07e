"""Pseudo-queries for products nobody has searched for, from their title, brand, category and attributes.

Technique: synthetic queries for documents, as doc2query (Nogueira et al. 2019, arXiv 1904.08375)
and InPars (Bonifacio et al. 2022) do with a model; here offline with templates over the
catalog fields, the way shoppers write product queries ("acme cordless drill", "red office
chair", "cordless drill 20v"). `llm_pseudo_query` (llm.py) is the model-based version.

Which products: catalog products that appear in no sample of any split (never searched at all),
and (`cold_start`, on by default) the sample set's cold-start products: they are held out of
train to measure how the model does on products with no search history, and that is exactly the
case pseudo-queries are for. A pseudo-query is made from the product's catalog text alone, never
from its queries or labels, so it is what a shop has for a new product (the class says so with
`from_catalog`, which lets the leakage guard pass the product); the guard still drops any
pseudo-query that matches a val/test query. Other products of the val or test split never get one.
Cold-start products come first under `max_products`.

Provenance: a candidate needs a source sample. Each such product is tied to one train sample
(a positive one of the same category when there is one, else any positive), chosen by a hash of
the product id over the whole train split, so the choice does not depend on batching; the
candidate's `original` is the product's title, the text the query was made from.
"""
from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass, field

import pandas as pd

from workbench.augment.base import Augmenter, Candidate, Sample, SampleRandom
from workbench.augment.catalog import label_range, need, prepared, product_text_map
from workbench.augment.text import has_cjk, join_tokens, protected_tokens, split_tokens

_FILLER = frozenset("a an and for in of on the to with w/ by from".split())


@dataclass
class PseudoQueryParams:
    per_sample: int = field(default=2, metadata={"help": "Pseudo-queries to make for each never-searched product (the recipe's count per source)."})
    max_products: int = field(default=5000, metadata={"help": "At most this many never-searched products (lowest product ids first)."})
    cold_start: bool = field(default=True, metadata={"help": "Also the sample set's cold-start products (held out of train), first: new products are what pseudo-queries are for."})
    lowercase: bool = field(default=True, metadata={"help": "Lower-case the queries, as most shoppers type them."})


class PseudoQuery(Augmenter):
    """New (pseudo-query, product) samples for catalog products that have no samples at all.

    Args:
        per_sample (queries per product), max_products, lowercase: see Params help.
    Requirements: context.products (the catalog) and context.samples (the whole sample set, to
        know which products were searched and which are held out). Offline.
    Inputs: the train samples (only as provenance anchors). Output field 'query', label = the
        sample set's highest label (1 binary, the top grade graded), product_id = the new product.
        Chinese titles are segmented with jieba; words join without spaces.
    Example:
        >>> PseudoQuery(context=AugmentContext(products=catalog, samples=all_samples)).augment(train, SampleRandom(0, "pseudo_query"))
    """

    name = "pseudo_query"
    Params = PseudoQueryParams
    edits_source = False
    from_catalog = True

    def augment(self, samples: list[Sample], rng: SampleRandom) -> list[Candidate]:
        top, chosen, catalog = assign_unsearched(self, samples, self.params.max_products)
        if not chosen:
            return []
        texts = prepared(self, "texts", lambda: product_text_map(self.context))
        self._kinds = prepared(self, "kinds", lambda: _Kinds(catalog))
        by_id = {s.sample_id: s for s in samples}
        out: list[Candidate] = []
        for sample_id, rows in chosen.items():
            sample = by_id[sample_id]
            r = rng(sample_id)
            for product in rows:
                for query in self.queries(product, r):
                    out.append(self.candidate(sample, rng, field="query", original=str(product["title"]), query=query,
                                              product_id=product["product_id"],
                                              product_text=texts.get(product["product_id"], str(product["title"])),
                                              label=top))
        return out

    def queries(self, product: pd.Series, r: random.Random) -> list[str]:
        """Up to per_sample distinct queries for one product, drawn from its fields with `r`."""
        title = str(product.get("title") or "")
        brand = _clean(product.get("brand"))
        category = _leaf(product.get("category"))
        words = _content_words(title, brand)
        codes = protected_tokens(title)
        values = _attribute_values(product.get("attributes"))
        value_words = {w.lower() for v in values for w in v.split()}  # "copper" is what it is made of, not what it is
        kind_words = [w for w in words if w.lower() not in value_words]
        head = self._kinds.head(kind_words, category) if hasattr(self, "_kinds") else _last_word(kind_words, category)
        options = []
        if brand and head:
            options.append([brand, head])
        if len(words) >= 2:
            start = r.randrange(0, max(1, len(words) - 2))
            options.append(words[start: start + r.choice([2, 3])])
        if values and head:
            options.append([r.choice(values), head])
        if codes and head:
            options.append([head, r.choice(codes)])
        if brand and codes:
            options.append([brand, r.choice(codes)])
        if category and head and category.rstrip("s")[:4] not in head:
            options.append([head, category] if has_cjk(category) else [category, head])
        r.shuffle(options)
        out: list[str] = []
        for parts in options:
            query = _no_repeats(join_tokens([p for p in parts if p]))
            query = query.lower() if self.params.lowercase else query
            if query and query not in out and query != title.lower():
                out.append(query)
            if len(out) >= self.params.per_sample:
                break
        return out


def assign_unsearched(augmenter: Augmenter, samples: list[Sample], max_products: int):
    """(top label, {anchor sample_id in `samples`: [product rows]}, catalog) for never-searched products.

    Never-searched: in the catalog and in no sample of any split (see the module docstring).
    The anchor of each product is fixed over the whole train split, so batching does not matter.
    """
    top, every, catalog = prepared(augmenter, "assignment", lambda: _assign_all(augmenter, samples, max_products))
    present = {s.sample_id for s in samples}  # this batch makes the products of its anchors; other batches the rest
    return top, {anchor: rows for anchor, rows in every.items() if anchor in present}, catalog


def _assign_all(augmenter: Augmenter, samples: list[Sample], max_products: int):
    products = need(augmenter.context, "products", augmenter.name)
    everything = need(augmenter.context, "samples", augmenter.name)
    _, top = label_range(augmenter.context, samples)
    catalog = products.assign(product_id=products["product_id"].astype(str)).drop_duplicates("product_id")
    anchors = _anchors(everything, top)
    if not anchors:
        return top, {}, catalog
    searched = set(everything["product_id"].astype(str))
    cold = set(everything.loc[everything["cold_start"].astype(bool), "product_id"].astype(str)) \
        if getattr(augmenter.params, "cold_start", False) and "cold_start" in everything else set()
    fresh = catalog[~catalog["product_id"].isin(searched - cold)]
    fresh = fresh.assign(_warm=~fresh["product_id"].isin(cold)).sort_values(["_warm", "product_id"]).head(max_products)
    fresh = fresh.drop(columns="_warm")
    every: dict[int, list[pd.Series]] = {}
    for _, product in fresh.iterrows():
        every.setdefault(_pick_anchor(anchors, product), []).append(product)
    return top, every, catalog


def _anchors(everything: pd.DataFrame, top: float) -> dict[str, list[int]]:
    """category -> sorted positive train sample ids ('' holds them all)."""
    train = everything[(everything["split"] == "train") & (everything["label"].astype(float) >= top)]
    if "cold_start" in train:
        train = train[~train["cold_start"].astype(bool)]
    if train.empty:
        return {}
    out: dict[str, list[int]] = {"": sorted(int(i) for i in train["sample_id"])}
    if "category" in train:
        for category, group in train.groupby(train["category"].fillna("").astype(str)):
            if category:
                out[category] = sorted(int(i) for i in group["sample_id"])
    return out


def _pick_anchor(anchors: dict[str, list[int]], product: pd.Series) -> int:
    pool = anchors.get(str(product.get("category") or ""), anchors[""])
    digest = hashlib.blake2b(str(product["product_id"]).encode(), digest_size=8).digest()
    return pool[int.from_bytes(digest, "big") % len(pool)]


def _clean(value) -> str:
    return "" if value is None or pd.isna(value) else str(value).strip()


def _leaf(category) -> str:
    """'Tools > Power Tools > Drills' -> 'drills'."""
    text = _clean(category)
    return re.split(r"\s*(?:>|/|\||›)\s*", text)[-1].strip().lower() if text else ""


def _content_words(title: str, brand: str) -> list[str]:
    """Title words without fillers and the brand; a size or code ("20 amp") stays one word."""
    cleaned = re.sub(r"[,;|()\[\]]+", " ", title)
    return [w for w in split_tokens(cleaned).tokens if w.lower() not in _FILLER and w.lower() != brand.lower()]


def _no_repeats(query: str) -> str:
    """'metal metal drill' -> 'metal drill' (a value that is also part of the head)."""
    seen: list[str] = []
    for word in query.split(" "):
        if word not in seen:
            seen.append(word)
    return " ".join(seen)


class _Kinds:
    """What kind of product a title names: its words most typical of its category.

    score(word) = share of the category's titles holding it - share of all titles holding it,
    so "saw" scores high in Saws while colours, brands and "modern" score near zero.
    """

    def __init__(self, catalog: pd.DataFrame):
        self.share: dict[str, dict[str, float]] = {}
        titles = [set(w.lower() for w in _content_words(str(t), "")) for t in catalog["title"].fillna("")]
        overall = _shares(titles)
        categories = catalog["category"].fillna("").astype(str).map(_leaf) if "category" in catalog else [""] * len(titles)
        by_category: dict[str, list[set[str]]] = {}
        for category, words in zip(categories, titles):
            by_category.setdefault(category, []).append(words)
        for category, group in by_category.items():
            inside = _shares(group)
            self.share[category] = {w: v - overall.get(w, 0.0) for w, v in inside.items()}

    def head(self, words: list[str], category: str) -> str:
        scores = self.share.get(category, {})
        plain = [w for w in words if w.isalpha() or has_cjk(w)]
        if not plain or not category:
            return _last_word(words, category)
        best = max(range(len(plain)), key=lambda i: (scores.get(plain[i].lower(), 0.0), i))
        if scores.get(plain[best].lower(), 0.0) <= 0.1:
            return _last_word(words, category)
        if best > 0 and scores.get(plain[best - 1].lower(), 0.0) > 0.15:
            return join_tokens([plain[best - 1], plain[best]])
        return plain[best]


def _shares(groups: list[set[str]]) -> dict[str, float]:
    counts: dict[str, int] = {}
    for words in groups:
        for w in words:
            counts[w] = counts.get(w, 0) + 1
    return {w: c / len(groups) for w, c in counts.items()} if groups else {}


def _last_word(words: list[str], category: str) -> str:
    plain = [w for w in words if w.isalpha() or has_cjk(w)]
    return plain[-1] if plain else category


def _attribute_values(attributes) -> list[str]:
    text = _clean(attributes)
    if not text:
        return []
    try:
        data = json.loads(text)
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    return [str(v).strip() for v in data.values() if isinstance(v, (str, int, float)) and str(v).strip() and len(str(v)) <= 30]
