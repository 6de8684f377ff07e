"""The SQL of ingest: load a file into a temporary table with DuckDB's own readers, number its
lines as an editor shows them, check every row in one query, and copy the accepted rows and the
rejected ones (with reason, line and column) into the real tables.

Every function takes the raw DuckDB connection first: inside `storage.db.begin()` that is
`conn.connection.driver_connection`, so the whole ingest is one transaction. No row passes
through Python. Column names from the file are always quoted with `quote()`; values and paths are
bound parameters.
"""
from __future__ import annotations

import duckdb

STAGE, REJECTS, REJECT_SCANS, REJECTED = "_stage", "_rejects", "_reject_scans", "_rejected"

# A spreadsheet would run these as formulas: =anything, @ or +/- before a function call, or +/-
# before a DDE link ('cmd|...'). A title such as "-10% off (2 pack)" stays text.
FORMULA = r"^\s*(=|[@+\-]\s*[A-Za-z_][A-Za-z0-9_.]*\s*[(|!]|[+\-][^|]*\|)"
HTML_TAG = r"<\s*/?\s*[A-Za-z!][^>]*>"
SCRIPT = r"(?i)(<\s*script|javascript:|\son[a-z]+\s*=)"

PARSE_ERRORS = {
    "MISSING COLUMNS": "too few columns",
    "TOO MANY COLUMNS": "too many columns",
    "UNQUOTED VALUE": "unbalanced quotes",
    "LINE SIZE OVER MAXIMUM": "line too long",
    "INVALID ENCODING": "invalid text encoding",
    "INVALID STATE": "unreadable row",
    "CAST": "unreadable value",
}


def quote(name: str) -> str:
    """A column name from a file, as a SQL identifier (never spliced in unquoted)."""
    return '"' + str(name).replace('"', '""') + '"'


def literal(text: str) -> str:
    """A string as a SQL literal (views take no bound parameters), quotes doubled."""
    return "'" + str(text).replace("'", "''") + "'"


def _limit(rows: int | None) -> str:
    return f" LIMIT {int(rows)}" if rows is not None else ""


def stage_csv(raw: duckdb.DuckDBPyConnection, path: str, delimiter: str, max_line_bytes: int,
              rows: int | None = None) -> list[str]:
    """Load a CSV/TSV as text columns; malformed rows go to the rejects table. Returns the columns.
    rows: only the first rows (a preview stops reading there)."""
    raw.execute(
        f"CREATE TEMP TABLE {STAGE} AS SELECT * FROM read_csv(?, header = true, all_varchar = true, "
        "delim = ?, quote = '\"', escape = '\"', max_line_size = ?, store_rejects = true, "
        f"rejects_table = '{REJECTS}', rejects_scan = '{REJECT_SCANS}', auto_detect = true){_limit(rows)}",
        [path, delimiter, max_line_bytes],
    )
    return _columns(raw)


def stage_parquet(raw: duckdb.DuckDBPyConnection, path: str, rows: int | None = None) -> list[str]:
    raw.execute(f"CREATE TEMP TABLE {STAGE} AS SELECT * FROM read_parquet(?){_limit(rows)}", [path])
    return _columns(raw)


def stage_jsonl(raw: duckdb.DuckDBPyConnection, path: str, rows: int | None = None) -> list[str]:
    raw.execute(
        f"CREATE TEMP TABLE {STAGE} AS SELECT * FROM read_json(?, format = 'newline_delimited', "
        f"records = true, sample_size = -1){_limit(rows)}",
        [path],
    )
    return _columns(raw)


def stage_frame(raw: duckdb.DuckDBPyConnection, frame) -> list[str]:
    """Stage an in-memory frame (pandas or Arrow), for the fallback when a reader cannot."""
    raw.register("_frame", frame)
    raw.execute(f"CREATE TEMP TABLE {STAGE} AS SELECT * FROM _frame")
    raw.unregister("_frame")
    return _columns(raw)


def _columns(raw: duckdb.DuckDBPyConnection) -> list[str]:
    return [row[0] for row in raw.execute(f"DESCRIBE {STAGE}").fetchall()]


def count_staged(raw: duckdb.DuckDBPyConnection) -> int:
    return raw.execute(f"SELECT count(*) FROM {STAGE}").fetchone()[0]


def parse_rejects(raw: duckdb.DuckDBPyConnection) -> list[tuple[int, int, str, str, str]]:
    """Rows the CSV reader could not split: (record number, byte offset, reason, column, text)."""
    exists = raw.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [REJECTS]).fetchone()[0]
    if not exists:
        return []
    rows = raw.execute(
        f"SELECT line, line_byte_position, error_type::VARCHAR, column_name, csv_line FROM {REJECTS} "
        "ORDER BY line"
    ).fetchall()
    return [(int(r[0]), int(r[1] or 0), PARSE_ERRORS.get(r[2], r[2].lower()), r[3], r[4] or "") for r in rows]


def newlines_in_fields(raw: duckdb.DuckDBPyConnection, columns: list[str]) -> int:
    """How many line breaks sit inside quoted fields (then a row spans several editor lines)."""
    total = " + ".join(f"coalesce(len({quote(c)}) - len(replace({quote(c)}, chr(10), '')), 0)" for c in columns)
    return int(raw.execute(f"SELECT coalesce(sum({total}), 0) FROM {STAGE}").fetchone()[0])


def line_expression(raw: duckdb.DuckDBPyConnection, columns: list[str], *, first_line: int, multiline: bool,
                    skipped: list[tuple[int, int]]) -> str:
    """SQL for `_line` over `_stage s`: the editor line where each staged row starts.

    first_line: the line of the first data row. multiline: some fields hold line breaks.
    skipped: rows the reader set aside, as (staged rows before it, lines it spans), in file order.
    """
    # Inside a transaction DuckDB numbers new rows from a large offset; file order is kept.
    base = raw.execute(f"SELECT coalesce(min(rowid), 0) FROM {STAGE}").fetchone()[0]
    line = f"{first_line} + (s.rowid - {int(base)})"
    if multiline:
        inner = " + ".join(f"coalesce(len(s.{quote(c)}) - len(replace(s.{quote(c)}, chr(10), '')), 0)" for c in columns)
        line += f" + coalesce(sum({inner}) OVER (ORDER BY s.rowid ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)"
    if skipped:
        raw.execute("CREATE TEMP TABLE _skipped (before BIGINT, lines BIGINT)")
        raw.executemany("INSERT INTO _skipped VALUES (?, ?)", skipped)
        line += f" + coalesce((SELECT sum(lines) FROM _skipped k WHERE k.before <= s.rowid - {int(base)}), 0)"
    return line


def _text(column: str | None, trim: bool = True) -> str:
    """A file column as text, NULL when empty; trimmed where stray spaces would break a match."""
    if not column:
        return "CAST(NULL AS VARCHAR)"
    value = f"CAST({quote(column)} AS VARCHAR)"
    return f"nullif(trim({value}), '')" if trim else f"nullif({value}, '')"


def _text_checks(field: str, html: bool) -> list[tuple[str, str, str]]:
    checks = [
        (f"strpos({field}, chr(0)) > 0", "NUL byte in text", field),
        (f"regexp_matches({field}, '{FORMULA}')", "spreadsheet formula in text", field),
    ]
    if html:
        checks.append((f"contains({field}, '<') AND regexp_matches({field}, '{HTML_TAG}')", "HTML in text", field))
    else:
        checks.append((f"(contains({field}, '<') OR contains({field}, ':') OR contains({field}, '=')) "
                       f"AND regexp_matches({field}, '{SCRIPT}')", "script in text", field))
    return checks


def check_rows(raw: duckdb.DuckDBPyConnection, kind: str, mapping: dict[str, str], columns: list[str], *,
               line: str, catalog_dataset_id: int | None = None, label_names: dict[str, float] | None = None,
               label_max: float = 10.0) -> None:
    """Build `_checked`: one row per staged row with our fields, `_reason` and `_field` (None = accepted)."""
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
    checks: list[tuple[str, str, str]] = []
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
        derived += ["try_cast(label AS DOUBLE) AS label_number", f"{grade} AS label_grade"]
        checks += [("query IS NULL", "missing query", "query"),
                   ("product_id IS NULL AND title IS NULL", "missing product_id and title", "product_id"),
                   ("label IS NULL", "missing label", "label")]
        checks += _text_checks("query", html=True) + _text_checks("title", html=True)
        checks += [("label_number IS NULL AND label_grade IS NULL", "unknown label", "label"),
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


def first_rejections(raw: duckdb.DuckDBPyConnection, mapping: dict[str, str], limit: int = 3) -> list[tuple]:
    rows = raw.execute(
        f"SELECT _line, _field, _reason FROM {REJECTED} ORDER BY _line LIMIT ?", [limit]
    ).fetchall()
    return [(line, mapping.get(field, field), reason) for line, field, reason in rows]


def insert_accepted(raw: duckdb.DuckDBPyConnection, kind: str, dataset_id: int) -> None:
    """Copy the accepted rows into products / search_events / labeled_pairs, in file order."""
    ok = f"FROM _derived ANTI JOIN {REJECTED} USING (_rid) WHERE true"
    # Joins and windows may reorder rows; sorting on the row number keeps file order.
    in_order = "ORDER BY _rid"
    if kind == "catalog":
        raw.execute(
            "INSERT INTO products (dataset_id, product_id, title, description, category, brand, price, attributes) "
            f"SELECT ?, product_id, title, description, category, brand, price_value, attributes {ok} {in_order}",
            [dataset_id],
        )
    elif kind == "logs":
        raw.execute(
            "INSERT INTO search_events (dataset_id, query, product_id, position, clicked, added_to_cart, purchased, "
            "session_id, timestamp, user_id) SELECT ?, query, product_id, position_value, clicked_value, "
            f"added_to_cart_value, purchased_value, session_id, timestamp_value, user_id {ok} {in_order}",
            [dataset_id],
        )
    else:
        pid = "coalesce(product_id, 't' || substr(md5(title), 1, 12))"
        raw.execute(
            "INSERT INTO labeled_pairs (dataset_id, query, product_id, label_raw, label) "
            f"SELECT ?, query, {pid}, label, coalesce(label_number, label_grade) {ok} {in_order}",
            [dataset_id],
        )
        # Pairs that carry titles also bring their products (the first title seen for an id).
        raw.execute(
            "INSERT INTO products (dataset_id, product_id, title, description, category, brand, attributes) "
            "SELECT ?, pid, arg_min(title, _line), arg_min(description, _line), arg_min(category, _line), "
            f"arg_min(brand, _line), arg_min(attributes, _line) FROM (SELECT *, {pid} AS pid {ok} AND title IS NOT NULL) "
            "GROUP BY pid ORDER BY min(_line)",
            [dataset_id],
        )


def insert_rejected(raw: duckdb.DuckDBPyConnection, dataset_id: int, mapping: dict[str, str], columns: list[str],
                    parse_rejected: list[tuple[int, str, str | None, str]]) -> None:
    """Store rejected rows: the checked ones (raw = the row as JSON) and the ones the reader could not split."""
    pairs = ", ".join(f"?, CAST(s.{quote(c)} AS VARCHAR)" for c in columns)
    field_to_column = "CASE " + " ".join(f"WHEN c._field = ? THEN ?" for _ in mapping) + " ELSE c._field END" \
        if mapping else "c._field"
    params: list = [dataset_id]
    for ours, theirs in mapping.items():
        params += [ours, theirs]
    params += list(columns)
    raw.execute(
        "INSERT INTO rejected_rows (dataset_id, line, column_name, reason, raw) "
        f"SELECT ?, c._line, {field_to_column}, c._reason, json_object({pairs}) "
        f"FROM {REJECTED} c JOIN {STAGE} s ON s.rowid = c._rid ORDER BY c._line",
        params,
    )
    if parse_rejected:
        raw.executemany(
            "INSERT INTO rejected_rows (dataset_id, line, column_name, reason, raw) VALUES (?, ?, ?, ?, json_object('text', ?))",
            [(dataset_id, line, column, reason, text) for line, reason, column, text in parse_rejected],
        )


def drop_staging(raw: duckdb.DuckDBPyConnection) -> None:
    for name in ("_mapped",):
        raw.execute(f"DROP VIEW IF EXISTS {name}")
    for name in (REJECTED, "_derived", STAGE, REJECTS, REJECT_SCANS, "_skipped"):
        raw.execute(f"DROP TABLE IF EXISTS {name}")
