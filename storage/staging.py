"""The SQL of ingest: load a file into a temporary table with DuckDB's own readers, number its
lines as an editor shows them, and copy the accepted rows and the rejected ones (with reason,
line and column) into the real tables. The checks themselves are in `storage/checks.py`.

Every function takes the raw DuckDB connection first: inside `storage.db.begin()` that is
`conn.connection.driver_connection`, so the whole ingest is one transaction. No row passes
through Python. Column names from the file are always quoted with `quote()`; values and paths are
bound parameters.
"""
from __future__ import annotations

import duckdb

STAGE, REJECTS, REJECT_SCANS, REJECTED = "_stage", "_rejects", "_reject_scans", "_rejected"

PARSE_ERRORS = {
    "MISSING COLUMNS": "too few columns",
    "TOO MANY COLUMNS": "too many columns",
    "UNQUOTED VALUE": "unbalanced quotes",
    "LINE SIZE OVER MAXIMUM": "line too long",
    "INVALID ENCODING": "invalid text encoding",
    "INVALID STATE": "unreadable row",
    "CAST": "unreadable value",
}
# What Python's str.strip() strips: spaces, tabs, line breaks, no-break and other Unicode spaces
# (DuckDB's trim() alone strips only the space).
WHITESPACE = "".join(ch for ch in map(chr, range(0x3001)) if ch.isspace())


def quote(name: str) -> str:
    """A column name from a file, as a SQL identifier (never spliced in unquoted)."""
    return '"' + str(name).replace('"', '""') + '"'


def literal(text: str) -> str:
    """A string as a SQL literal (views take no bound parameters), quotes doubled."""
    return "'" + str(text).replace("'", "''") + "'"


def stripped(value: str) -> str:
    """SQL for a text value without the whitespace around it (WHITESPACE)."""
    return f"trim({value}, {literal(WHITESPACE)})"


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


def jsonl_columns(raw: duckdb.DuckDBPyConnection, path: str) -> list[str]:
    """The keys of a JSON Lines file's objects, in the order they first appear (reads every line;
    a line that is not a JSON object raises duckdb.Error)."""
    rows = raw.execute("DESCRIBE SELECT * FROM read_json(?, format = 'newline_delimited', records = true, "
                       "sample_size = -1)", [path]).fetchall()
    return [row[0] for row in rows]


def stage_jsonl(raw: duckdb.DuckDBPyConnection, path: str, columns: list[str], rows: int | None = None) -> list[str]:
    """Load JSON Lines with every value as text, whatever other lines hold: a string without its
    quotes, a number as written, an object or a list as JSON. (Left to guess the types, the reader
    made a column that was a number on some lines and a string on others JSON, and its strings kept
    their quotes: product id '"1000"', label '"3.0"'.)"""
    types = "{" + ", ".join(f"{literal(c)}: 'VARCHAR'" for c in columns) + "}"
    raw.execute(
        f"CREATE TEMP TABLE {STAGE} AS SELECT * FROM read_json(?, format = 'newline_delimited', "
        f"records = true, columns = {types}){_limit(rows)}",
        [path],
    )
    return _columns(raw)


def _columns(raw: duckdb.DuckDBPyConnection) -> list[str]:
    return [row[0] for row in raw.execute(f"DESCRIBE {STAGE}").fetchall()]


def read_staged(raw: duckdb.DuckDBPyConnection):
    """The staged rows as a DataFrame (for a preview, staged with a row limit)."""
    return raw.execute(f"SELECT * FROM {STAGE}").df()


def distinct_lower(raw: duckdb.DuckDBPyConnection, column: str, limit: int = 1000) -> set[str]:
    """Up to `limit` distinct values of a staged column, trimmed and lower case (the label scale)."""
    value = stripped(f"CAST({quote(column)} AS VARCHAR)")
    rows = raw.execute(f"SELECT DISTINCT lower({value}) FROM {STAGE} LIMIT ?", [limit]).fetchall()
    return {row[0] for row in rows if row[0]}


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
    out, seen = [], set()
    for r in rows:  # a row with two columns too many is reported twice: one reject per row
        if r[0] not in seen:
            seen.add(r[0])
            out.append((int(r[0]), int(r[1] or 0), PARSE_ERRORS.get(r[2], r[2].lower()), r[3], r[4] or ""))
    return out


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


# The checked rows that were not rejected (`AND ...` narrows them further).
ACCEPTED = f"FROM _derived ANTI JOIN {REJECTED} USING (_rid) WHERE true"
# A labeled pair's product: its id, or one made from its title when the file has titles only.
PAIR_PRODUCT_ID = "coalesce(product_id, 't' || substr(md5(title), 1, 12))"


def pair_repeats(raw: duckdb.DuckDBPyConnection) -> dict:
    """What the accepted pairs hold twice: rows repeating an earlier row's query and product
    ('repeated_pairs'), and product ids given more than one title ('retitled_products', with the
    first such id and its first two titles in file order as 'example')."""
    repeated = raw.execute(f"SELECT count(*) - count(DISTINCT ({PAIR_PRODUCT_ID}, query)) {ACCEPTED}").fetchone()[0]
    titled = (f"SELECT {PAIR_PRODUCT_ID} AS pid, title, min(_line) AS first {ACCEPTED} AND title IS NOT NULL "
              "GROUP BY pid, title")
    retitled = raw.execute(f"SELECT pid, list(title ORDER BY first)[1:2], min(first) AS seen FROM ({titled}) "
                           "GROUP BY pid HAVING count(*) > 1 ORDER BY seen").fetchall()
    example = {"product_id": retitled[0][0], "titles": list(retitled[0][1])} if retitled else None
    return {"repeated_pairs": int(repeated), "retitled_products": len(retitled), "example": example}


def label_mix(raw: duckdb.DuckDBPyConnection) -> dict:
    """Accepted pairs' labels by how they were read: 'numbers' (rows), and 'names', each label name
    (as first written) -> [rows, the grade it was read as], most rows first."""
    numbers = raw.execute(f"SELECT count(*) {ACCEPTED} AND label_number IS NOT NULL").fetchone()[0]
    names = raw.execute(f"SELECT arg_min(label, _line), count(*) AS n, any_value(label_grade) {ACCEPTED} AND label_number IS NULL "
                        "AND label_grade IS NOT NULL GROUP BY lower(label) ORDER BY n DESC, min(_line)").fetchall()
    return {"numbers": int(numbers), "names": {name: [int(n), float(grade)] for name, n, grade in names}}


def insert_accepted(raw: duckdb.DuckDBPyConnection, kind: str, dataset_id: int) -> None:
    """Copy the accepted rows into products / search_events / labeled_pairs, in file order."""
    # Joins and windows may reorder rows; sorting on the row number keeps file order.
    in_order = "ORDER BY _rid"
    if kind == "catalog":
        raw.execute(
            "INSERT INTO products (dataset_id, product_id, title, description, category, brand, price, attributes) "
            f"SELECT ?, product_id, title, description, category, brand, price_value, attributes {ACCEPTED} {in_order}",
            [dataset_id],
        )
    elif kind == "logs":
        raw.execute(
            "INSERT INTO search_events (dataset_id, query, product_id, position, clicked, added_to_cart, purchased, "
            "session_id, timestamp, user_id) SELECT ?, query, product_id, position_value, clicked_value, "
            f"added_to_cart_value, purchased_value, session_id, timestamp_value, user_id {ACCEPTED} {in_order}",
            [dataset_id],
        )
    else:
        pid = PAIR_PRODUCT_ID
        raw.execute(
            "INSERT INTO labeled_pairs (dataset_id, query, product_id, label_raw, label) "
            f"SELECT ?, query, {pid}, label, coalesce(label_number, label_grade) {ACCEPTED} {in_order}",
            [dataset_id],
        )
        # Pairs that carry titles also bring their products (the first title seen for an id).
        raw.execute(
            "INSERT INTO products (dataset_id, product_id, title, description, category, brand, attributes) "
            "SELECT ?, pid, arg_min(title, _line), arg_min(description, _line), arg_min(category, _line), "
            f"arg_min(brand, _line), arg_min(attributes, _line) FROM (SELECT *, {pid} AS pid {ACCEPTED} AND title IS NOT NULL) "
            "GROUP BY pid ORDER BY min(_line)",
            [dataset_id],
        )


def insert_rejected(raw: duckdb.DuckDBPyConnection, dataset_id: int, mapping: dict[str, str], columns: list[str],
                    parse_rejected: list[tuple[int, str, str | None, str]]) -> None:
    """Store rejected rows: the checked ones (raw = the row as JSON) and the ones the reader could not split."""
    pairs = ", ".join(f"?, CAST(s.{quote(c)} AS VARCHAR)" for c in columns)
    field_to_column = "CASE " + " ".join("WHEN c._field = ? THEN ?" for _ in mapping) + " ELSE c._field END" \
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
