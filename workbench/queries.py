"""Query normalising: when two queries count as the same query. One module, two strengths.

    from workbench.queries import query_key, text_key
    query_key("Cordless  Drill")          # 'cordless drill'   case and spacing
    text_key("Garden HOSE, 3/4 in.")      # 'garden hose 3/4 in'   also width and punctuation

`query_key` groups queries: the train/val/test split (workbench/samples.py), log-mined rewrites
and hard-negative evidence (workbench/augment/), so a query and its re-typed twin never land in
two splits. `text_key` is the looser match the augment filters use to call a candidate a near
duplicate of its source, or a leak of a val/test query; it keeps the punctuation inside numbers
("3/4", "1.5") because those name different products. Change what counts as the same query
here, and every step follows.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import pandas as pd

# Punctuation, except . / - between digits (3/4, 1.5, 2-1/2).
_PUNCT = re.compile(r"[^\w\s./-]|(?<!\d)[./-]|[./-](?!\d)")


def query_key(text: str) -> str:
    """Case and spacing do not make a query new: 'Cordless  Drill' -> 'cordless drill'."""
    return " ".join(str(text).casefold().split())


@lru_cache(maxsize=262_144)  # a sample's source text is checked once per candidate made from it
def text_key(text: str) -> str:
    """`query_key` after full-width forms and punctuation (except inside numbers such as 3/4 or
    1.5) are folded: 'Garden HOSE, 3/4 in. (1.5 ft)' -> 'garden hose 3/4 in 1.5 ft'."""
    return query_key(_PUNCT.sub(" ", unicodedata.normalize("NFKC", text)))


def query_keys(values: pd.Series) -> pd.Series:
    """`query_key` over a column, once per distinct value (queries repeat a lot)."""
    return _each_distinct(values, query_key)


def text_keys(values: pd.Series) -> pd.Series:
    """`text_key` over a column, once per distinct value."""
    return _each_distinct(values, text_key)


def _each_distinct(values: pd.Series, key) -> pd.Series:
    values = values.astype(str)
    return values.map({v: key(v) for v in values.unique()})


def typo_share(queries: pd.Series, counts: pd.Series | None = None, max_queries: int = 5000, min_chars: int = 5) -> float:
    """Share of the distinct queries that look like a misspelling of a more frequent one: within
    edit distance 1 or 2 of a query seen more often. Typo-aware training uses it as the typo rate.

    Queries are compared after workbench.lexical's normalising (case, accents, simple plurals), so
    "drills" is not a typo of "drill"; queries under `min_chars` characters are never counted (two
    edits turn "tv" into anything). At most `max_queries` distinct queries, the most frequent, are
    compared (all pairs, by rapidfuzz). 0.0 when there are fewer than two. `counts`: how often each
    of `queries` was searched, when they are distinct already (storage.datasets.count_queries).
    """
    import numpy as np
    from rapidfuzz.distance import Levenshtein
    from rapidfuzz.process import cdist

    from workbench.lexical import words

    keyed = pd.Series(1 if counts is None else counts.to_numpy(), index=[" ".join(words(q)) for q in queries.astype(str)])
    counts = keyed.groupby(level=0).sum().sort_values(ascending=False, kind="stable")
    counts = counts[counts.index != ""].head(max_queries)
    if len(counts) < 2:
        return 0.0
    keys = counts.index.tolist()
    distance = cdist(keys, keys, scorer=Levenshtein.distance, score_cutoff=2, dtype=np.int32, workers=1)
    frequency = counts.to_numpy()
    near = (distance >= 1) & (distance <= 2) & (frequency[None, :] > frequency[:, None])
    long_enough = np.array([len(k) >= min_chars for k in keys])
    return float((near.any(1) & long_enough).mean())
