"""Counts by reason in plain words, for pages and summaries: {"leakage": 35, "duplicate": 1} ->
'35 matched a validation or test sample (leakage guard); 1 duplicated another candidate'.

    in_words({"leakage": 35}, DROP_REASONS)
"""
from __future__ import annotations

# Why the augment filters dropped a candidate (workbench/augment/filters.py REASONS).
DROP_REASONS = {
    "empty": "were empty",
    "too_short": "were too short",
    "too_long": "were too long",
    "unchanged": "did not change the text",
    "near_duplicate": "were nearly the same as their source",
    "protected_token": "changed a brand, model code, number or unit",
    "leakage": "matched a validation or test sample (leakage guard)",
    "duplicate": "duplicated another candidate",
    "low_score": "scored below the label-keeping threshold",
}

# What a sample set build set aside (workbench/samples.py stats).
SAMPLE_REASONS = {
    "unlabeled_pairs": "pairs had no label the rule could read",
    "duplicate_pairs": "pairs were duplicates",
    "no_product_text": "samples named a product with no text in the catalog",
    "cold_start_dropped_from_train": "train samples were of held-out (cold-start) products",
}


def in_words(counts: dict, words: dict[str, str]) -> str:
    """'35 matched ...; 1 duplicated ...', largest first, zero counts left out; 'nothing' when empty."""
    parts = [f"{int(n):,} {words.get(reason, reason.replace('_', ' '))}"
             for reason, n in sorted(counts.items(), key=lambda kv: -int(kv[1] or 0)) if isinstance(n, (int, float)) and n]
    return "; ".join(parts) if parts else "nothing"
