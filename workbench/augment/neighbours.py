"""Embedding neighbours: swap a query word for a near word from the catalog's own vocabulary.

Technique: word replacement by embedding nearest neighbours (Wang & Yang 2015, "That's so
annoying!!!", EMNLP; nlpaug's WordEmbsAug), with two changes for a shop: the vocabulary is the
words of the catalog's titles (so a replacement is a word the shop actually uses: "couch" only
if some title says couch), and the vectors come from the bundled sentence encoder (MiniLM,
offline) applied to single words, so no word-vector file is needed.

Cost: one encoder pass over the vocabulary (capped by `max_vocab`, most frequent words first)
and one over the distinct query words, then a matrix product; both cached by the encoder.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from workbench.augment.base import Augmenter, Candidate, Sample, SampleRandom
from workbench.augment.catalog import need, prepared
from workbench.augment.text import STOPWORDS, join_like, kept_words, locked, protected_tokens, split_tokens, words


@dataclass
class NeighbourParams:
    per_sample: int = field(default=1, metadata={"help": "Candidates to make from each source sample."})
    top_k: int = field(default=3, metadata={"help": "Draw the replacement among this many nearest words."})
    min_similarity: float = field(default=0.6, metadata={"help": "Least cosine similarity of a word and its replacement."})
    min_count: int = field(default=2, metadata={"help": "A catalog word must appear in this many titles."})
    max_vocab: int = field(default=10000, metadata={"help": "Keep this many most frequent catalog words (each is encoded once)."})
    skip_inflections: bool = field(default=True, metadata={"help": "Skip neighbours that only add or drop an ending (drill -> drills)."})
    keep_attributes: bool = field(default=True, metadata={"help": "Never swap brand names or attribute values (colours, materials): 'beige' -> 'grey' names another product."})
    model: str = field(default="", metadata={"help": "Encoder name or local folder; empty: the bundled MiniLM."})


class EmbeddingNeighbour(Augmenter):
    """Replace one query word by one of its nearest catalog words ("couch cover" -> "sofa cover").

    Args:
        per_sample, top_k, min_similarity, min_count, max_vocab, skip_inflections, model: see Params help.
    Requirements: context.products (the catalog titles); the bundled encoder (ships with the
        install) or a local encoder folder; torch. Offline; the GPU when present.
    Inputs: Sample.query, English or Chinese (jieba words). Protected tokens, words the
        product's text also has, stopwords, one-letter words, brand names and attribute values (keep_attributes) stay.
    Example:
        >>> EmbeddingNeighbour(context=AugmentContext(products=catalog)).augment(train, SampleRandom(0, "embedding_neighbour"))
    """

    name = "embedding_neighbour"
    Params = NeighbourParams
    keeps_product_words = True

    def augment(self, samples: list[Sample], rng: SampleRandom) -> list[Candidate]:
        from workbench.augment.encoder import get_encoder

        products = need(self.context, "products", self.name)
        fixed = prepared(self, "fixed", lambda: _attribute_words(products) if self.params.keep_attributes else set())
        vocab = prepared(self, "vocab", lambda: [w for w in self._vocabulary(products) if w not in fixed])
        if not vocab:
            return []
        encoder = get_encoder(self.params.model or None)
        tokenized = {s.sample_id: split_tokens(s.query) for s in samples}
        asked = sorted({t.lower() for tokens, protected, _ in tokenized.values() for t in tokens
                        if t not in protected and _usable(t) and t.lower() not in fixed})
        neighbours = self._neighbours(asked, vocab, encoder)
        out: list[Candidate] = []
        for sample in samples:
            tokens, protected, spaced = tokenized[sample.sample_id]
            kept = kept_words(sample.query, sample.product_text)
            slots = [i for i, t in enumerate(tokens) if t not in protected and not locked(t, kept) and neighbours.get(t.lower())]
            if not slots:
                continue
            r = rng(sample.sample_id)
            seen = {sample.query}
            for _ in range(self.params.per_sample):
                i = r.choice(slots)
                new = list(tokens)
                new[i] = r.choice(neighbours[tokens[i].lower()])
                text = join_like(new, spaced)
                if text not in seen:
                    seen.add(text)
                    out.append(self.candidate(sample, rng, query=text))
        return out

    def _vocabulary(self, products) -> list[str]:
        counts: Counter[str] = Counter()
        for title in products["title"].fillna("").astype(str):
            blocked = {t.lower() for t in protected_tokens(title)}
            counts.update({w for w in words(title) if _usable(w) and w not in blocked})
        kept = [w for w, n in counts.most_common(self.params.max_vocab) if n >= self.params.min_count]
        return sorted(kept)

    def _neighbours(self, asked: list[str], vocab: list[str], encoder) -> dict[str, list[str]]:
        if not asked:
            return {}
        vocab_vectors = encoder.encode(vocab)
        asked_vectors = encoder.encode(asked)
        similarity = asked_vectors @ vocab_vectors.T
        k = min(len(vocab), self.params.top_k + 8)  # a few spare for the ones skipped below
        top = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        out: dict[str, list[str]] = {}
        for row, word in enumerate(asked):
            order = sorted(top[row], key=lambda j: (-similarity[row, j], vocab[j]))
            found = []
            for j in order:
                other = vocab[j]
                if other == word or similarity[row, j] < self.params.min_similarity:
                    continue
                if self.params.skip_inflections and (other.startswith(word) or word.startswith(other)):
                    continue
                found.append(other)
                if len(found) >= self.params.top_k:
                    break
            if found:
                out[word] = found
        return out


def _attribute_words(products) -> set[str]:
    """Words of brand names and attribute values (colour, material, size...) in the catalog."""
    import json

    out: set[str] = set()
    if "brand" in products:
        for brand in products["brand"].dropna().astype(str).unique():
            out.update(words(brand))
    if "attributes" in products:
        for text in products["attributes"].dropna().astype(str).unique():
            try:
                data = json.loads(text)
            except ValueError:
                continue
            if isinstance(data, dict):
                for value in data.values():
                    if isinstance(value, str):
                        out.update(words(value))
    return out


def _usable(word: str) -> bool:
    return len(word) >= 2 and word.lower() not in STOPWORDS and not any(c.isdigit() for c in word)
