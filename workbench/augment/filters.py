"""Filters that decide which augmented candidates are kept, each drop counted by its reason.

Per-row checks (`check_rows`, cheap, run in the worker processes beside the augmenters):
    empty, too_short, too_long   the changed text is empty or outside the length bounds
    unchanged                    the text did not change at all
    near_duplicate               the text differs from its source only in case, spacing or punctuation
    protected_token              a number, size, unit or model code ("128gb", "3/4 in.", "M185") broke
    product_word                 a query rewrite lost a word that the product's text also has
                                 ("wyndham sheffield 60 in" -> "wyndham wakefield 60 in" for a
                                 Sheffield vanity): it would keep a label it no longer deserves
    leakage                      the text matches a val/test query (exactly, after normalising, as a
                                 bag of words, or within one edit), or the candidate pairs a
                                 cold-start product: both would leak evaluation data into training
                                 (pseudo-queries made from a cold-start product's catalog text
                                 alone may pair it: `Augmenter.from_catalog`)
    duplicate                    the (query, product) pair is a sample the set already has
Across candidates (`repeat_reasons`, in the parent after all chunks):
    duplicate                    the same (query, product, text) again
    near_duplicate               the same normalised text for the same product again
Scores (`string_similarity`, the encoder or the teacher in pipeline.py):
    low_score                    the label-preservation score is below the recipe's threshold
    teacher_disagrees            the teacher's expected label is further from the candidate's label
                                 than the margin allows (scorer 'teacher')

Query normalising lives in workbench/queries.py; the review table in workbench/augment/review_table.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from workbench.augment import edits_source, from_catalog, keeps_product_words
from workbench.augment.text import kept_intact, protected_tokens
from workbench.queries import text_key, text_keys

REASONS = ("empty", "too_short", "too_long", "unchanged", "near_duplicate", "protected_token", "product_word",
           "leakage", "duplicate", "low_score", "teacher_disagrees")
SCORERS = ("string", "encoder", "teacher")


@dataclass
class FilterConfig:
    """Filter settings; part of the Recipe and stored with each run."""

    min_chars: int = 2  # shortest query kept, in characters
    max_chars: int = 120  # longest query kept, in characters
    max_product_chars: int = 2000  # longest product text kept
    protect_tokens: bool = True  # drop candidates whose numbers, units or model codes changed
    leakage_guard: bool = True  # drop candidates that match val/test queries or pair cold-start products
    protect_product_words: bool = True  # drop query rewrites that lost a word the product's text also has
    min_score: float = 0.5  # label-preservation score below this is dropped (0 keeps all); scorers string and encoder
    # 'string' (cheap, rapidfuzz: similarity to the source text) | 'encoder' (the sentence encoder, same) |
    # 'teacher' (a model scores the candidate pair itself: every candidate, new pairs included)
    scorer: str = "string"
    encoder_model: str = ""  # encoder name or path; empty = the bundled MiniLM
    teacher_job: int = 0  # the teacher: a finished training job's model; 0 = the zero-shot model fitted on train
    teacher_model: str = ""  # base model of the zero-shot teacher; empty = the bundled MiniLM
    # keep a candidate when the teacher's expected label is within this share of the label range
    # of its own label: score = 1 - distance >= 1 - margin (binary, 0.5: the teacher is on its side)
    teacher_margin: float = 0.5


def bag_key(normalized: str) -> str:
    """The words in sorted order: 'drill bits cordless' for 'cordless drill bits'."""
    return " ".join(sorted(normalized.split()))


def deletion_keys(normalized: str) -> set[str]:
    """The text with each one character deleted (and itself): two texts within one edit share one.

    The symmetric-delete idea behind SymSpell (Garbe 2012): matching these sets finds every pair
    at edit distance one (insert, delete, substitute, adjacent swap) without comparing all pairs.
    """
    return {normalized} | {normalized[:i] + normalized[i + 1:] for i in range(len(normalized))}


SEP = "\x1f"  # joins the parts of a dedupe key; never in user text that passed ingest


@dataclass
class EvalIndex:
    """What a candidate must not match: val/test queries, cold-start products, existing samples."""

    exact: set[str] = field(default_factory=set)
    bags: set[str] = field(default_factory=set)
    deletions: set[str] = field(default_factory=set)
    cold_products: set[str] = field(default_factory=set)
    known: set[str] = field(default_factory=set)  # normalised query + SEP + product_id of every sample

    @classmethod
    def build(cls, samples: pd.DataFrame) -> "EvalIndex":
        """From a sample set's frame (query, product_id, split, cold_start)."""
        queries = text_keys(samples["query"])
        exact = set(queries[(samples["split"] != "train").to_numpy()].unique())
        deletions: set[str] = set()
        for key in exact:
            # One edit on a very short query makes another short word ("tv" -> "t"): too eager.
            if len(key) >= 5:
                deletions |= deletion_keys(key)
        cold = set(samples.loc[samples["cold_start"].astype(bool), "product_id"].astype(str))
        known = set(queries + SEP + samples["product_id"].astype(str))
        return cls(exact=exact, bags={bag_key(k) for k in exact}, deletions=deletions, cold_products=cold, known=known)

    def leaks(self, normalized: str) -> bool:
        if normalized in self.exact or bag_key(normalized) in self.bags:
            return True
        return len(normalized) >= 5 and not self.deletions.isdisjoint(deletion_keys(normalized))


def changed_text(frame: pd.DataFrame) -> pd.Series:
    """The text each candidate changed: its query, or its product text."""
    return frame["product_text"].where(frame["field"] == "product_text", frame["query"]).astype(str)


def check_rows(frame: pd.DataFrame, config: FilterConfig, index: EvalIndex | None) -> tuple[pd.Series, pd.Series]:
    """(reason, dedupe key) per candidate: the first reason it is dropped for ('' to keep it), and
    its normalised (query, product, product text) key for `repeat_reasons`."""
    reasons, keys = [], []
    # Plain lists: iterating Arrow-backed string columns element by element is several times slower.
    columns = [frame[c].astype(str).tolist() for c in ("field", "augmenter", "query", "product_text", "original", "product_id")]
    for field_, augmenter, query, product_text, original, product_id in zip(*columns):
        reason, key = _check(field_, augmenter, query, product_text, original, product_id, config, index)
        reasons.append(reason)
        keys.append(key)
    return pd.Series(reasons, index=frame.index, dtype=object), pd.Series(keys, index=frame.index, dtype=object)


def row_reasons(frame: pd.DataFrame, config: FilterConfig, index: EvalIndex | None) -> pd.Series:
    """The first reason each candidate is dropped for, or '' to keep it (per-row checks only)."""
    return check_rows(frame, config, index)[0]


def _check(field_, augmenter, query, product_text, original, product_id, config, index) -> tuple[str, str]:
    guard = config.leakage_guard and index is not None
    text = product_text if field_ == "product_text" else query
    key_query = text_key(query)
    key = key_query + SEP + product_id + (SEP + text_key(product_text) if field_ == "product_text" else "")
    if guard and product_id in index.cold_products and not from_catalog(augmenter):
        return "leakage", key
    known = field_ != "product_text" and index is not None and key in index.known  # the set has this sample
    if field_ == "product":  # a new pairing (hard negative): no text changed
        return ("duplicate" if known else ""), key
    stripped = text.strip()
    if not stripped:
        return "empty", key
    limit = config.max_chars if field_ == "query" else config.max_product_chars
    if len(stripped) < config.min_chars:
        return "too_short", key
    if len(stripped) > limit:
        return "too_long", key
    if text == original:
        return "unchanged", key
    changed = key_query if field_ == "query" else text_key(text)
    if changed == text_key(original):
        return "near_duplicate", key
    if config.protect_tokens and edits_source(augmenter) and not _intact(original, text):
        return "protected_token", key
    if config.protect_product_words and field_ == "query" and keeps_product_words(augmenter) \
            and not kept_intact(original, product_text, text):
        return "product_word", key
    if guard and field_ == "query" and index.leaks(key_query):
        return "leakage", key
    return ("duplicate" if known else ""), key


@lru_cache(maxsize=262_144)
def _protected(original: str) -> tuple[tuple[str, int], ...]:
    tokens = protected_tokens(original)
    return tuple((t, tokens.count(t)) for t in set(tokens))


def _intact(original: str, augmented: str) -> bool:
    """text.protected_intact, with the source's tokens found once per source text."""
    return all(augmented.count(t) >= n for t, n in _protected(original))


def repeat_reasons(frame: pd.DataFrame, keys: pd.Series) -> pd.Series:
    """'duplicate' / 'near_duplicate' for candidates that repeat an earlier one (the first is kept)."""
    exact = frame.duplicated(["query", "product_id", "product_text"], keep="first").to_numpy()
    near = keys.duplicated(keep="first").to_numpy()
    out = pd.Series("", index=frame.index, dtype=object)
    out[near] = "near_duplicate"
    out[exact] = "duplicate"
    return out


def string_similarity(a: list[str], b: list[str]) -> np.ndarray:
    """Cheap label-preservation score in [0, 1]: the better of character and sorted-word similarity.

    Sorted words make a word swap score 1, as it should: it keeps the meaning of a product query.
    """
    from rapidfuzz import fuzz
    from rapidfuzz.process import cpdist

    if not len(a):
        return np.zeros(0, dtype=np.float32)
    plain = cpdist(a, b, scorer=fuzz.ratio, processor=str.casefold, workers=1)
    sorted_words = cpdist(a, b, scorer=fuzz.token_sort_ratio, processor=str.casefold, workers=1)
    return (np.maximum(plain, sorted_words) / 100.0).astype(np.float32)
