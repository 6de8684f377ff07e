"""Which of a file's columns is which of ours: the fields of each kind, their common spellings,
and the guess (overridable by a mapping the user gives, our field -> the file's column).
Also the names of text labels (E/S/C/I, Exact/Partial/Irrelevant) and their grades.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from workbench.errors import BadInput

KINDS = ("catalog", "logs", "pairs")


@dataclass(frozen=True)
class Field:
    name: str
    required: bool
    spellings: tuple[str, ...]  # normalised (lower case, '_' between words), most likely first


_PRODUCT_ID = ("product_id", "product_uid", "productid", "item_id", "itemid", "sku", "asin", "pid", "product")
_TITLE = ("title", "product_title", "product_name", "name", "item_name", "item_title")
_QUERY = ("query", "search_term", "search_query", "query_text", "searchterm", "keyword", "keywords", "term", "q")

FIELDS: dict[str, tuple[Field, ...]] = {
    "catalog": (
        Field("product_id", True, _PRODUCT_ID + ("id",)),
        Field("title", True, _TITLE),
        Field("description", False, ("description", "product_description", "desc", "long_description", "details")),
        Field("category", False, ("category", "product_category", "category_name", "department", "product_type")),
        Field("brand", False, ("brand", "product_brand", "manufacturer", "brand_name", "make", "vendor")),
        Field("price", False, ("price", "product_price", "sale_price", "list_price", "unit_price", "cost")),
    ),
    "logs": (
        Field("query", True, _QUERY),
        Field("product_id", True, _PRODUCT_ID),
        Field("position", False, ("position", "rank", "pos", "slot", "result_position")),
        Field("clicked", False, ("clicked", "click", "clicks", "is_click", "is_clicked")),
        Field("added_to_cart", False, ("added_to_cart", "add_to_cart", "atc", "carted", "cart")),
        Field("purchased", False, ("purchased", "purchase", "bought", "ordered", "converted", "order")),
        Field("session_id", False, ("session_id", "session", "sessionid")),
        Field("timestamp", False, ("timestamp", "time", "ts", "event_time", "datetime", "date", "created_at")),
        Field("user_id", False, ("user_id", "user", "userid", "customer_id", "visitor_id")),
    ),
    # Pairs need product_id and/or title: both optional here, one of them is checked in guess_mapping.
    "pairs": (
        Field("query", True, _QUERY),
        Field("product_id", False, _PRODUCT_ID),
        Field("title", False, _TITLE),
        Field("label", True, ("label", "relevance", "esci_label", "grade", "relevance_label", "judgment",
                              "judgement", "rating", "score", "rel")),
        Field("description", False, ("description", "product_description")),
        Field("brand", False, ("brand", "product_brand")),
        Field("category", False, ("category", "product_category")),
    ),
}

# Text labels, lower case -> grade. ESCI (E/S/C/I -> 3/2/1/0) unless the file says 'partial',
# which marks the three-grade Exact/Partial/Irrelevant scale (2/1/0).
ESCI_LABELS = {"e": 3.0, "exact": 3.0, "s": 2.0, "substitute": 2.0, "c": 1.0, "complement": 1.0,
               "i": 0.0, "irrelevant": 0.0}
EPI_LABELS = {"exact": 2.0, "partial": 1.0, "irrelevant": 0.0}
BINARY_LABELS = {"relevant": 1.0, "not relevant": 0.0, "yes": 1.0, "no": 0.0, "true": 1.0, "false": 0.0,
                 "positive": 1.0, "negative": 0.0}
LABEL_MAX = 10.0  # numeric grades live in [0, LABEL_MAX]; anything else is 'label out of range'


def label_names(distinct_lower: set[str]) -> dict[str, float]:
    """The text-label scale a file uses, from its distinct labels (lower case)."""
    scale = dict(BINARY_LABELS)
    scale.update(EPI_LABELS if "partial" in distinct_lower else ESCI_LABELS)
    return scale


def normalise(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


class MissingColumns(BadInput):
    """Required fields with no column; `missing` names them (the command line adds its --mapping hint)."""

    def __init__(self, message: str, missing: list[str]):
        super().__init__(message)
        self.missing = missing


# Words that say what a column means when no common spelling matches (guess by meaning).
LABEL_WORDS = ("relevance", "score", "grade", "rating", "label", "judg")
MEANING_WORDS = {"query": ("query", "search"), "product_id": ("product_id", "item_id", "product_uid", "sku"),
                 "title": ("title", "product_name")}


def looks_like_labels(values: list) -> bool:
    """Numeric grades or E/S/C/I-like text labels (the sample of a column's values)."""
    seen = [str(v).strip().lower() for v in values if v is not None and str(v).strip() not in ("", "nan", "None", "<NA>")]
    if not seen:
        return False
    known = set(ESCI_LABELS) | set(EPI_LABELS) | set(BINARY_LABELS)
    numeric = sum(_is_number(v) for v in seen)
    return numeric == len(seen) or sum(v in known for v in seen) == len(seen)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def guess_columns(columns: list[str], kind: str, mapping: dict[str, str] | None = None,
                  values: dict[str, list] | None = None) -> dict[str, str]:
    """Our field -> the file's column, as far as it can be guessed (never raises for a missing field):
    the user's mapping first, then the common spellings, then by meaning: a name containing one of a
    field's words, and for a label, a name with relevance/score/grade/rating whose values (from
    `values`, a few rows per column) are numbers or E/S/C/I-like labels."""
    fields = {f.name: f for f in FIELDS[kind]}
    out = {k: v for k, v in (mapping or {}).items() if v not in (None, "") and k in fields and v in columns}
    taken = set(out.values())
    by_norm: dict[str, str] = {}
    for column in columns:
        by_norm.setdefault(normalise(column), column)
    for field in fields.values():
        for spelling in () if field.name in out else field.spellings:
            column = by_norm.get(spelling)
            if column is not None and column not in taken:
                out[field.name] = column
                taken.add(column)
                break
    for name, words in [*MEANING_WORDS.items(), ("label", LABEL_WORDS)]:
        if name not in fields or name in out:
            continue
        for norm, column in by_norm.items():
            fits = name != "label" or values is None or looks_like_labels(list(values.get(column, [])))
            if column not in taken and any(w in norm for w in words) and fits:
                out[name] = column
                taken.add(column)
                break
    return {f: out[f] for f in fields if f in out}


def missing_fields(mapping: dict[str, str | None], kind: str) -> list[str]:
    """The required fields a mapping leaves without a column ('product_id or title' for pairs)."""
    fields = FIELDS[kind]
    missing = [f.name for f in fields if f.required and not mapping.get(f.name)]
    if kind == "pairs" and not mapping.get("product_id") and not mapping.get("title"):
        missing.append("product_id or title")
    return missing


def guess_mapping(columns: list[str], kind: str, mapping: dict[str, str] | None = None,
                  source: str = "the file", values: dict[str, list] | None = None) -> dict[str, str]:
    """Our field -> the file's column: the user's mapping first, then the guess (guess_columns).

    Raises BadInput naming the file when the mapping names a column or a field that does not
    exist, and MissingColumns when a required field has no column.
    """
    if kind not in FIELDS:
        raise BadInput(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    fields = {f.name for f in FIELDS[kind]}
    for ours, theirs in {k: v for k, v in (mapping or {}).items() if v not in (None, "")}.items():
        if ours not in fields:
            raise BadInput(f"mapping names {ours!r}, which is not a {kind} field; fields: {', '.join(fields)}")
        if theirs not in columns:
            raise BadInput(f"{source}: mapping says {ours!r} is column {theirs!r}, but the file has no such "
                           f"column; columns found: {_show(columns)}")
    out = guess_columns(columns, kind, mapping, values)
    missing = missing_fields(out, kind)
    if missing:
        raise MissingColumns(
            f"{source}: no column for {' and '.join(repr(m) for m in missing)} of a {kind} file; columns found: "
            f"{_show(columns)}. Choose the column that holds {'it' if len(missing) == 1 else 'each'}.", missing)
    return out


def _show(columns: list[str], most: int = 12) -> str:
    shown = ", ".join(repr(c) for c in columns[:most])
    return shown + (f" and {len(columns) - most} more" if len(columns) > most else "")
