"""Counts by reason in plain words, for pages and summaries: {"leakage": 35, "empty": 1} ->
'35 matched a validation or test sample (leakage guard); 1 was empty'.

    in_words({"leakage": 35}, DROP_REASONS)
"""
from __future__ import annotations

# Why the augment filters dropped a candidate (workbench/augment/filters.py REASONS): for one, for many.
DROP_REASONS = {
    "empty": ("was empty", "were empty"),
    "too_short": ("was too short", "were too short"),
    "too_long": ("was too long", "were too long"),
    "unchanged": ("did not change the text",) * 2,
    "near_duplicate": ("was nearly the same as its source", "were nearly the same as their source"),
    "protected_token": ("changed a brand, model code, number or unit",) * 2,
    "leakage": ("matched a validation or test sample (leakage guard)",) * 2,
    "duplicate": ("duplicated another candidate",) * 2,
    "low_score": ("scored below the label-keeping threshold",) * 2,
}

# What a sample set build set aside (workbench/samples.py stats): for one, for many.
SAMPLE_REASONS = {
    "unlabeled_pairs": ("pair had no label the rule could read", "pairs had no label the rule could read"),
    "duplicate_pairs": ("pair was a duplicate", "pairs were duplicates"),
    "no_product_text": ("sample named a product with no text in the catalog", "samples named a product with no text in the catalog"),
    "cold_start_dropped_from_train": ("train sample was of a held-out (cold-start) product",
                                      "train samples were of held-out (cold-start) products"),
}


# The Data page's datasets table: field -> (header, format), as pages.ui.column_headers reads them.
DATASET_COLUMNS = {"source_file": ("file", None), "rows_accepted": ("rows in", "%d"), "rows_rejected": ("set aside", "%d"),
                   "catalog_dataset_id": ("catalog", None), "created_at": ("added", "YYYY-MM-DD HH:mm")}


def count_of(n: int, one: str, many: str | None = None) -> str:
    """'1 row', '2 rows', '1,204 sample sets': a count with its noun in the right number."""
    return f"{int(n):,} {one if int(n) == 1 else many or one + 's'}"


def in_words(counts: dict, words: dict[str, tuple[str, str]]) -> str:
    """'35 matched ...; 1 was empty', largest first, zero counts left out; 'nothing' when empty."""
    def phrase(reason, n):
        one, many = words.get(reason, (reason.replace("_", " "),) * 2)
        return count_of(n, one, many)

    parts = [phrase(reason, n) for reason, n in sorted(counts.items(), key=lambda kv: -int(kv[1] or 0))
             if isinstance(n, (int, float)) and n]
    return "; ".join(parts) if parts else "nothing"


def blanks_for_missing(frame):
    """A table for the page with missing values as empty cells: the page showed "None" where a dataset
    has no catalog or encoding, or a product no category. Only columns with a missing value change,
    to text ("3", not "3.0")."""
    def text(value) -> str:
        if value is None or value != value:
            return ""
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)

    out = frame.copy()
    for column in out.columns[out.isna().any()]:
        out[column] = out[column].map(text)
    return out
