"""Lexical signals between a query and a product text: BM25 and the shares of query words,
character trigrams and numbers found.

    bm25 = BM25.fit(catalog_texts)            # corpus statistics: document frequencies, mean length
    scores = bm25.score(queries, texts)       # one BM25 score per (query, text) pair
    ranks = bm25.matrix(queries, catalog)     # every catalog text for every query (sparse)
    share = word_share(queries, texts)        # share of each query's words found in its text
    grams = gram_share(queries, texts)        # share of its character trigrams (survives typos, compounds)
    codes = number_share(queries, texts)      # share of its numbers and model codes (1 when it has none)

Words are normalised the same way everywhere (`words`): case folded, accents stripped, split on
anything that is not a letter or digit, and a simple plural "s" dropped ("drills" = "drill").

Why our own BM25 on scikit-learn's CountVectorizer rather than a BM25 package (bm25s, rank-bm25):
those score only the documents they indexed. A model whose head takes BM25 as an input must score
any pair against frozen corpus statistics, so that a saved model predicts the same later on texts
it never indexed. The statistics are plain data (`to_dict` / `from_dict`) saved with the model.
The formula is Lucene's: idf = ln(1 + (N - df + 0.5) / (df + 0.5)),
tf-part = tf (k1 + 1) / (tf + k1 (1 - b + b dl / avgdl)).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer

_WORD = re.compile(r"[^\W_]+")


def normalize_word(word: str) -> str:
    """casefold, strip accents, drop a simple plural 's' (not 'ss', not short words)."""
    word = unicodedata.normalize("NFKD", word.casefold())
    word = "".join(ch for ch in word if not unicodedata.combining(ch))
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    return word


def words(text: str) -> list[str]:
    """The normalised words of a text, in order."""
    return [normalize_word(w) for w in _WORD.findall(str(text))]


def shares(queries, texts, units, none: float = 0.0) -> np.ndarray:
    """Per pair: the share of the query's units (a set from `units(text)`) that the text's units
    hold; `none` for a query with no units."""
    out = np.full(len(queries), none, dtype=np.float64)
    for i, (q, t) in enumerate(zip(queries, texts)):
        wanted = units(q)
        if wanted:
            out[i] = len(wanted & units(t)) / len(wanted)
    return out


def word_share(queries, texts) -> np.ndarray:
    """Per pair: the share of the query's distinct words that also occur in the text (0 for no words)."""
    return shares(queries, texts, lambda text: set(words(text)))


def trigrams(text: str) -> set[str]:
    """Character trigrams of the normalised words joined by spaces, padded with a space at each end."""
    joined = f" {' '.join(words(text))} "
    return {joined[i : i + 3] for i in range(len(joined) - 2)} if joined.strip() else set()


def gram_share(queries, texts) -> np.ndarray:
    """Per pair: the share of the query's character trigrams found in the text's. A typo ("drils")
    or a split compound ("dish washer") keeps most of its trigrams where word_share drops to 0."""
    return shares(queries, texts, trigrams)


def number_share(queries, texts) -> np.ndarray:
    """Per pair: the share of the query's numbers and model codes (words holding a digit: "60",
    "18v", "sc141") that occur in the text; 1 when the query has none (nothing to contradict)."""
    return shares(queries, texts, lambda text: {w for w in words(text) if any(ch.isdigit() for ch in w)}, none=1.0)


@dataclass
class BM25:
    """Corpus statistics for BM25: the vocabulary's idf, the mean document length, k1 and b."""

    idf: dict[str, float]
    avgdl: float
    k1: float = 1.2
    b: float = 0.75

    @classmethod
    def fit(cls, corpus, k1: float = 1.2, b: float = 0.75) -> "BM25":
        docs = sorted({str(t) for t in corpus})
        if not docs:
            return cls({}, 1.0, k1, b)
        counts = _vectorizer().fit(docs)
        matrix = counts.transform(docs)
        df = np.asarray((matrix > 0).sum(axis=0)).ravel()
        n = len(docs)
        idf = np.log1p((n - df + 0.5) / (df + 0.5))
        vocab = counts.get_feature_names_out()
        return cls({str(w): float(v) for w, v in zip(vocab, idf)}, float(matrix.sum() / n), k1, b)

    def score(self, queries, texts) -> np.ndarray:
        """BM25 of each text for its query; words outside the corpus vocabulary add nothing."""
        queries, texts = [str(q) for q in queries], [str(t) for t in texts]
        if not queries:
            return np.zeros(0)
        vocab = list(self.idf)
        if not vocab:
            return np.zeros(len(queries))
        counts = _vectorizer(vocabulary=vocab)
        tf = counts.transform(texts).tocsr().astype(np.float64)
        present = (counts.transform(queries) > 0).astype(np.float64)  # each query word once
        dl = np.array([len(words(t)) for t in texts], dtype=np.float64)
        norm = self.k1 * (1 - self.b + self.b * dl / self.avgdl)
        tf = tf.tocoo()
        weighted = tf.data * (self.k1 + 1) / (tf.data + norm[tf.row])
        idf = np.array([self.idf[w] for w in vocab])
        contrib = np.zeros(len(texts))
        mask = np.asarray(present[tf.row, tf.col]).ravel() > 0
        np.add.at(contrib, tf.row[mask], weighted[mask] * idf[tf.col[mask]])
        return contrib

    def matrix(self, queries, texts):
        """BM25 of every text for every query: a sparse (queries, texts) matrix, for ranking a catalog."""
        queries, texts = [str(q) for q in queries], [str(t) for t in texts]
        vocab = list(self.idf)
        counts = _vectorizer(vocabulary=vocab or ["_"])
        tf = counts.transform(texts).tocoo().astype(np.float64)
        dl = np.array([len(words(t)) for t in texts], dtype=np.float64)
        norm = self.k1 * (1 - self.b + self.b * dl / self.avgdl)
        idf = np.array([self.idf[w] for w in vocab]) if vocab else np.zeros(1)
        tf.data = tf.data * (self.k1 + 1) / (tf.data + norm[tf.row]) * idf[tf.col]
        present = (counts.transform(queries) > 0).astype(np.float64)
        return (present @ tf.tocsr().T).tocsr()

    def to_dict(self) -> dict:
        return {"idf": self.idf, "avgdl": self.avgdl, "k1": self.k1, "b": self.b}

    @classmethod
    def from_dict(cls, values: dict) -> "BM25":
        return cls(dict(values["idf"]), float(values["avgdl"]), float(values["k1"]), float(values["b"]))


def _vectorizer(vocabulary=None) -> CountVectorizer:
    return CountVectorizer(tokenizer=words, lowercase=False, token_pattern=None, vocabulary=vocabulary)
