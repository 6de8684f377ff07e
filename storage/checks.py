"""The checks of ingest, in SQL: map the staged text columns to our fields, type them, and store
the verdict (reason and field) of every row that fails a check in `_rejected`. Accepted rows are
everything else in `_derived`; `storage/staging.py` copies them.
"""
from __future__ import annotations

import duckdb

from storage.staging import REJECTED, STAGE, literal, quote, stripped

# A spreadsheet would run these as formulas: =anything, @ or +/- before a function call, or +/-
# before a DDE link ('cmd|...'). A title such as "-10% off (2 pack)" stays text.
FORMULA = r"^\s*(=|[@+\-]\s*[A-Za-z_][A-Za-z0-9_.]*\s*[(|!]|[+\-][^|]*\|)"
HTML_TAG = r"<\s*/?\s*[A-Za-z!][^>]*>"
SCRIPT = r"(?i)(<\s*script|javascript:|\son[a-z]+\s*=)"
# Labels written with digits and at most one comma ('3', '2,5'); a comma value that could as well be
# a thousands separator ('1,000', '2,333'); a value that is no number with a point ('2.5', 'Exact').
COMMA_NUMBER = r"^[+-]?[0-9]*,[0-9]+$"
THOUSANDS = r"^[+-]?[1-9][0-9]{0,2}(,[0-9]{3})+$"
DIGITS_OR_COMMA = r"^[+-]?([0-9]+|[0-9]*,[0-9]+)$"


def _text(column: str | None, trim: bool = True) -> str:
    """A file column as text, NULL when empty; trimmed where stray whitespace (spaces, tabs, line
    breaks, no-break spaces) would break a match, so a value of whitespace alone is empty."""
    if not column:
        return "CAST(NULL AS VARCHAR)"
    value = f"CAST({quote(column)} AS VARCHAR)"
    return f"nullif({stripped(value)}, '')" if trim else f"nullif({value}, '')"


def _text_checks(field: str, html: bool) -> list[tuple[str, str, str]]:
    checks = [(f"regexp_matches({field}, '{FORMULA}')", "spreadsheet formula in text", field)]
    if html:
        checks.append((f"contains({field}, '<') AND regexp_matches({field}, '{HTML_TAG}')", "HTML in text", field))
    else:
        checks.append((f"(contains({field}, '<') OR contains({field}, ':') OR contains({field}, '=')) "
                       f"AND regexp_matches({field}, '{SCRIPT}')", "script in text", field))
    return checks


def check_rows(raw: duckdb.DuckDBPyConnection, kind: str, mapping: dict[str, str], columns: list[str], *,
               line: str, catalog_dataset_id: int | None = None, label_names: dict[str, float] | None = None,
               label_max: float = 10.0, decimal_comma: bool = False) -> None:
    """Build `_checked`: one row per staged row with our fields, `_reason` and `_field` (None = accepted).
    decimal_comma: read numeric labels with a decimal comma ('2,5' is 2.5; see label_commas)."""
    fields = {
        "catalog": ["product_id", "title", "description", "category", "brand", "price"],
        "logs": ["query", "product_id", "position", "clicked", "added_to_cart", "purchased", "session_id",
                 "timestamp", "user_id"],
        "pairs": ["query", "product_id", "title", "label", "description", "brand", "category"],
    }[kind]
    trimmed = {"product_id", "title", "query", "label", "category", "brand"}
    select = [f"{_text(mapping.get(f), f in trimmed)} AS {f}" for f in fields]
    extra = [c for c in columns if c not in mapping.values()]
    if kind == "pairs":
        extra = [c for c in extra if c.lower().startswith("product_")]
    attrs = "json_object(" + ", ".join(f"{literal(c)}, CAST({quote(c)} AS VARCHAR)" for c in extra) + ")" \
        if extra else "NULL"
    # Views until the one table that holds the checked rows: DuckDB reads the file's rows once.
    raw.execute(
        f"CREATE TEMP VIEW _mapped AS SELECT s.rowid AS _rid, {line} AS _line, {', '.join(select)}, "
        f"{attrs} AS attributes FROM {STAGE} s"
    )
    # A NUL byte (a damaged export) in any field rejects its row, before any other check.
    checks: list[tuple[str, str, str]] = [(f"strpos({f}, chr(0)) > 0", "NUL byte in text", f)
                                          for f in fields if mapping.get(f)]
    derived = ["*"]
    if kind == "catalog":
        price = "try_cast(replace(replace(price, '$', ''), ',', '') AS DOUBLE)"
        derived.append(f"{price} AS price_value")
        checks += [("product_id IS NULL", "missing product_id", "product_id"),
                   ("title IS NULL", "empty title", "title")]
        checks += _text_checks("title", html=True) + _text_checks("brand", html=True)
        checks += _text_checks("category", html=True) + _text_checks("description", html=False)
        checks += [("price IS NOT NULL AND price_value IS NULL", "price is not a number", "price"),
                   ("isnan(price_value) OR isinf(price_value) OR price_value < 0", "negative or NaN price", "price")]
    elif kind == "logs":
        derived += [
            "try_cast(position AS BIGINT) AS position_value",
            *[f"{_flag(f)} AS {f}_value" for f in ("clicked", "added_to_cart", "purchased")],
            # A date-time, or seconds since 1970 (only numbers take the slower second path).
            "CASE WHEN contains(timestamp, '-') OR contains(timestamp, '/') OR contains(timestamp, ':') "
            "THEN try_cast(timestamp AS TIMESTAMP) WHEN try_cast(timestamp AS DOUBLE) BETWEEN 0 AND 4e9 "
            "THEN make_timestamp(CAST(try_cast(timestamp AS DOUBLE) * 1e6 AS BIGINT)) END AS timestamp_value",
            "k._known",
        ]
        checks += [("query IS NULL", "missing query", "query"), ("product_id IS NULL", "missing product_id", "product_id")]
        checks += _text_checks("query", html=True)
        checks += [("position IS NOT NULL AND (position_value IS NULL OR position_value < 0)",
                    "position is not a whole number >= 0", "position")]
        checks += [(f"{f} IS NOT NULL AND {f}_value IS NULL", f"{f} is not yes/no", f)
                   for f in ("clicked", "added_to_cart", "purchased")]
        checks += [("timestamp IS NOT NULL AND timestamp_value IS NULL", "timestamp is not a date-time", "timestamp"),
                   ("_known IS NULL", "product not in the catalog", "product_id")]
    else:
        # Label names come from our own scales (columns.py), never from the file.
        names = " ".join(f"WHEN {literal(name)} THEN {float(grade)}" for name, grade in (label_names or {}).items())
        grade = f"CASE lower(label) {names} END" if names else "CAST(NULL AS DOUBLE)"
        number = "replace(label, ',', '.')" if decimal_comma else "label"
        derived += [f"try_cast({number} AS DOUBLE) AS label_number", f"{grade} AS label_grade"]
        checks += [("query IS NULL", "missing query", "query"),
                   ("product_id IS NULL AND title IS NULL", "missing product_id and title", "product_id"),
                   ("label IS NULL", "missing label", "label")]
        checks += _text_checks("query", html=True) + _text_checks("title", html=True)
        unknown = "label_number IS NULL AND label_grade IS NULL"
        comma = f"regexp_matches(label, '{COMMA_NUMBER}') AND NOT regexp_matches(label, '{THOUSANDS}')"
        checks += [(f"{unknown} AND {comma}", "decimal comma in label", "label"),
                   (unknown, "unknown label", "label"),
                   (f"isnan(label_number) OR label_number < 0 OR label_number > {float(label_max)}", "label out of range",
                    "label")]
    joins = ""
    if kind == "logs":
        joins = ("LEFT JOIN (SELECT DISTINCT product_id, true AS _known FROM products "
                 f"WHERE dataset_id = {int(catalog_dataset_id)}) k USING (product_id)")
    reason = "CASE " + " ".join(f"WHEN {cond} THEN '{why}'" for cond, why, _ in checks) + " END"
    column = "CASE " + " ".join(f"WHEN {cond} THEN '{field}'" for cond, _, field in checks) + " END"
    # The mapped and typed rows are computed once (_derived); the verdicts of rejected rows are
    # stored apart, and accepted rows go into the real table by an anti-join on them.
    raw.execute(f"CREATE TEMP TABLE _derived AS SELECT {', '.join(derived)} FROM _mapped m {joins}")
    verdict = f"SELECT *, {reason} AS _reason, {column} AS _field FROM _derived"
    if kind == "catalog":
        # Among rows that passed, a repeated product_id is an exact duplicate or a conflict.
        sig = "md5(concat_ws(chr(31), title, description, category, brand, price, attributes))"
        verdict = (
            "SELECT _rid, _line, CASE WHEN _reason IS NOT NULL THEN _reason "
            "WHEN _n > 1 AND _sig = _first_sig THEN 'duplicate row' "
            "WHEN _n > 1 THEN 'duplicate product_id with different content' END AS _reason, "
            "CASE WHEN _reason IS NULL AND _n > 1 THEN 'product_id' ELSE _field END AS _field FROM ("
            f"SELECT *, {sig} AS _sig, "
            "row_number() OVER (PARTITION BY product_id, _reason IS NULL ORDER BY _line) AS _n, "
            f"first_value({sig}) OVER (PARTITION BY product_id, _reason IS NULL ORDER BY _line) AS _first_sig "
            f"FROM ({verdict}))"
        )
    raw.execute(f"CREATE TEMP TABLE {REJECTED} AS SELECT _rid, _line, _reason, _field FROM ({verdict}) "
                "WHERE _reason IS NOT NULL")


def _flag(field: str) -> str:
    """A yes/no column as a boolean; '1'/'0' take the fast path. NULL when it is neither."""
    return (f"CASE {field} WHEN '1' THEN true WHEN '0' THEN false ELSE {_slow_flag(field)} END")


def _slow_flag(field: str) -> str:
    low = f"lower({field})"
    return (f"CASE WHEN {low} IN ('1', 'true', 't', 'yes', 'y') THEN true "
            f"WHEN {low} IN ('0', 'false', 'f', 'no', 'n') THEN false "
            f"WHEN try_cast({field} AS BIGINT) >= 0 THEN try_cast({field} AS BIGINT) > 0 END")


def count_reasons(raw: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Reason -> rows rejected for it (every staged row not counted here is accepted)."""
    rows = raw.execute(f"SELECT _reason, count(*) FROM {REJECTED} GROUP BY _reason ORDER BY count(*) DESC").fetchall()
    return {reason: int(n) for reason, n in rows}


def label_commas(raw: duckdb.DuckDBPyConnection, column: str) -> dict[str, str | None]:
    """How a label column writes its numbers, each the first such value in the file or None:
    'comma': a decimal comma ('2,5', '0,333'); 'thousands': a comma that may as well separate
    thousands ('1,000', '2,333'); 'other': a value that is not digits with at most one comma
    ('2.5', 'Exact'). Labels are read with a decimal comma when 'comma' is set and 'other' is not."""
    value = stripped(f"CAST({quote(column)} AS VARCHAR)")
    is_comma, is_thousands = f"regexp_matches(v, '{COMMA_NUMBER}')", f"regexp_matches(v, '{THOUSANDS}')"
    comma, thousands, other = raw.execute(
        f"SELECT arg_min(v, r) FILTER (WHERE {is_comma} AND NOT {is_thousands}), "
        f"arg_min(v, r) FILTER (WHERE {is_thousands}), "
        f"arg_min(v, r) FILTER (WHERE NOT regexp_matches(v, '{DIGITS_OR_COMMA}')) "
        f"FROM (SELECT rowid AS r, {value} AS v FROM {STAGE}) WHERE v <> ''"
    ).fetchone()
    return {"comma": comma, "thousands": thousands, "other": other}


def first_rejections(raw: duckdb.DuckDBPyConnection, mapping: dict[str, str], limit: int = 3) -> list[tuple]:
    """The first rejected rows as (line, the file's column, reason, the label when the label is why)."""
    label = "d.label" if "label" in mapping else "NULL"  # only pairs have one
    rows = raw.execute(
        f"SELECT c._line, c._field, c._reason, CASE WHEN c._field = 'label' THEN {label} END "
        f"FROM {REJECTED} c JOIN _derived d ON d._rid = c._rid ORDER BY c._line LIMIT ?", [limit]
    ).fetchall()
    return [(line, mapping.get(field, field), reason, value) for line, field, reason, value in rows]
