"""Ingest a catalog, search logs or labeled pairs from CSV, TSV, Parquet or JSON Lines (plain, gzip or zip).

    from workbench.ingest import ingest_file
    result = ingest_file("train.csv", kind="pairs")          # -> IngestResult
    python -m workbench ingest pairs ../shared/data/home_depot/train.csv --json

The file goes in whole or not at all: one transaction creates the dataset, copies the accepted
rows and stores the rejected ones with reason, line and column. Rows stream through DuckDB's own
readers (never row by row in Python). The same bytes ingested again as the same kind, with the same
mapping, encoding and catalog, return the dataset already there (already_present); other options
make a new dataset. A file whose every row is rejected, or that cannot be read, raises BadInput
naming the file, line and column, and leaves the database as it was.
"""
from __future__ import annotations

import codecs
import dataclasses
import functools
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import duckdb
import pandas as pd

from storage import datasets as store
from storage import checks, staging
from storage.db import begin, quiet
from workbench.errors import BadInput, MissingData
from workbench.ingest.columns import (FIELDS, KINDS, LABEL_MAX, LABEL_WORDS, guess_columns, guess_mapping, label_names,
                                      missing_fields, normalise)
from workbench.ingest.files import MAX_LINE_BYTES, FileInfo, inspect_file
from workbench.ingest.lines import (blank_lines, json_line_problems, lines_at, row_starts, set_lines_aside,
                                    stray_quote_pairs, unclosed_quote_lines)
from workbench.wording import count_of

Progress = Callable[[int, int, str], None]

__all__ = ["KINDS", "FIELDS", "IngestResult", "Preview", "ingest_file", "ingest_bytes", "preview_file",
           "preview_bytes", "guess_mapping", "missing_fields"]


@dataclass
class IngestResult:
    dataset_id: int
    kind: str
    name: str
    rows_accepted: int
    rows_rejected: int
    rejections: dict[str, int] = field(default_factory=dict)  # reason -> count
    encoding: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)  # our field -> the file's column
    already_present: bool = False  # the same bytes with the same options were ingested before; nothing was added
    notices: list[str] = field(default_factory=list)  # kept rows worth a word (pairs: repeats, a product with two titles)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Preview:
    columns: list[str]
    rows: pd.DataFrame  # the first rows, as text
    mapping: dict[str, str]  # the guess (our field -> file column), as far as it goes
    encoding: str | None
    problem: str | None = None  # why no full mapping could be guessed


def safe_name(name: str | None) -> str:
    """An uploaded file's name for display: the base name only, never a path."""
    base = Path(str(name or "upload").replace("\\", "/")).name.strip() or "upload"
    return "".join(ch for ch in base if ch.isprintable())[:200]


def ingest_file(path: str | Path, *, kind: str, name: str | None = None, mapping: dict[str, str] | None = None,
                encoding: str | None = None, catalog_dataset_id: int | None = None, display_name: str | None = None,
                on_progress: Progress | None = None, url: str | None = None) -> IngestResult:
    """Ingest one file as a dataset of `kind` ('catalog' | 'logs' | 'pairs').

    name: the dataset's name (default: the file's).
    mapping: our field -> the file's column, for columns the guess gets wrong.
    encoding: the file's text encoding; detected when None.
    catalog_dataset_id: logs only, the catalog their product ids refer to (default: the newest).
    display_name: the name shown in messages (uploads pass the user's file name; never a path).

    Bytes ingested before as this kind come back as that dataset (already_present) when the mapping,
    the encoding and the catalog are the same, since the rows would be too; when one differs they
    make a new dataset. A name given that differs from that dataset's is refused (BadInput saying
    which dataset holds the file), rather than dropped without a word.
    """
    path = Path(path)
    if kind not in KINDS:
        raise BadInput(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    if path.is_dir():
        raise BadInput(f"{path} is a directory, not a file; give the path of a CSV, TSV, Parquet or JSON Lines file")
    if not path.is_file():
        raise BadInput(f"{path}: no such file")
    shown = safe_name(display_name or path.name)
    progress = on_progress or (lambda done, total, message: None)
    workdir = Path(tempfile.mkdtemp(prefix="workbench-ingest-"))
    try:
        progress(0, 4, f"reading {shown}")
        info = inspect_file(path, shown, workdir, encoding)
        info, set_aside = _set_aside(info, workdir)
        with begin(url) as conn:
            if kind == "logs":
                catalog_dataset_id = _catalog_for_logs(conn, catalog_dataset_id)
            same = [d for d in store.find_datasets_by_hash(conn, info.sha256, kind)
                    if (_codec(d["encoding"]), d["catalog_dataset_id"]) == (_codec(info.encoding), catalog_dataset_id)]
            already = functools.partial(_already_present, conn, same, name, shown)
            if conn.dialect.name == "duckdb":
                raw = conn.connection.driver_connection
                return _ingest(conn, raw, info, kind, name or shown, mapping, catalog_dataset_id, progress, set_aside,
                               already)
            return _ingest_elsewhere(conn, info, kind, name or shown, mapping, catalog_dataset_id, progress, set_aside,
                                     already)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def ingest_bytes(data: bytes, filename: str, **options) -> IngestResult:
    """Ingest uploaded bytes (the Data page's one call). The file name is for display and format only."""
    shown = safe_name(filename)
    suffix = "".join(s for s in Path(shown).suffixes[-2:] if s.lower() in (".csv", ".tsv", ".tab", ".txt", ".gz",
                                                                          ".zip", ".zst", ".parquet", ".pq", ".jsonl",
                                                                          ".ndjson", ".json"))
    with tempfile.TemporaryDirectory(prefix="workbench-upload-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        return ingest_file(path, display_name=shown, **options)  # the dataset is named after `shown` by default


def preview_bytes(data: bytes, filename: str, *, kind: str, encoding: str | None = None, rows: int = 5):
    """preview_file for uploaded bytes; the file name only picks the format."""
    shown = safe_name(filename)
    suffix = "".join(s for s in Path(shown).suffixes[-2:] if s.isascii() and s[1:].isalnum())
    with tempfile.TemporaryDirectory(prefix="workbench-preview-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        return preview_file(path, kind=kind, display_name=shown, encoding=encoding, rows=rows)


def preview_file(path: str | Path, *, kind: str, display_name: str | None = None, encoding: str | None = None,
                 mapping: dict[str, str] | None = None, rows: int = 5) -> Preview:
    """The columns, the first rows and the guessed mapping, without writing anything."""
    path = Path(path)
    shown = safe_name(display_name or path.name)
    workdir = Path(tempfile.mkdtemp(prefix="workbench-preview-"))
    try:
        info, _ = _set_aside(inspect_file(path, shown, workdir, encoding), workdir)
        raw = quiet(duckdb.connect())
        try:
            columns = _stage(raw, info, rows)
            head = staging.read_staged(raw).astype("string")
        finally:
            raw.close()
        values = {c: head[c].tolist() for c in columns}
        guess = guess_columns(columns, kind, mapping, values)
        try:
            problem = None if guess_mapping(columns, kind, guess, shown, values) else None
        except BadInput as e:
            problem = str(e)
        return Preview(columns=columns, rows=head, mapping=guess, encoding=info.encoding, problem=problem)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _already_present(conn, same: list[dict], name: str | None, shown: str, mapping: dict) -> IngestResult | None:
    """The dataset of `same` (these bytes, this kind, encoding and catalog) that has this mapping too,
    if there is one. A name given that is not its name is refused, naming the dataset."""
    found = next((d for d in same if d["mapping"] == mapping), None)
    if found is None:
        return None
    if name is not None and name != found["name"]:
        raise BadInput(f"{shown} was ingested before as dataset {found['id']} ({found['name']!r}) with the same "
                       f"mapping and encoding, so nothing was added and the name {name!r} was not given to it. Use "
                       f"dataset {found['id']}, or delete it on the Data page and ingest the file again")
    return _existing(conn, found["id"])


def _codec(encoding: str | None) -> str | None:
    """An encoding's canonical name ('UTF-8', 'utf8' -> 'utf-8'), to compare what was chosen."""
    try:
        return codecs.lookup(encoding).name if encoding else encoding
    except LookupError:
        return encoding


def _existing(conn, dataset_id: int) -> IngestResult:
    row = store.get_dataset(conn, dataset_id)
    return IngestResult(dataset_id=dataset_id, kind=row["kind"], name=row["name"], rows_accepted=row["rows_accepted"],
                        rows_rejected=row["rows_rejected"], rejections=store.count_rejections(conn, dataset_id),
                        encoding=row["encoding"], mapping=row["mapping"], already_present=True)


def _catalog_for_logs(conn, catalog_dataset_id: int | None) -> int:
    if catalog_dataset_id is None:
        catalog_dataset_id = store.newest_dataset_id(conn, "catalog")
        if catalog_dataset_id is None:
            raise MissingData("search logs refer to products of a catalog, and there is none yet; ingest the "
                              "catalog first (python -m workbench ingest catalog FILE)")
    elif store.get_dataset(conn, catalog_dataset_id)["kind"] != "catalog":
        raise BadInput(f"dataset {catalog_dataset_id} is not a catalog; pass the id of a catalog dataset")
    return catalog_dataset_id


def _set_aside(info: FileInfo, workdir: Path) -> tuple[FileInfo, dict[int, tuple[str, str]]]:
    """Lines that would make the reader misread or refuse the file are set aside in a copy, so they
    land in the rejected rows with their line, and every other row goes in. Returns the info to
    read and line -> (reason, original text)."""
    if info.format == "jsonl":
        return _set_aside_bad_json(info, workdir)
    if info.format not in ("csv", "tsv"):
        return info, {}
    info, texts = _set_aside_open_quotes(info, workdir)
    return info, {line: ("unbalanced quotes", text) for line, text in texts.items()}


def _set_aside_open_quotes(info: FileInfo, workdir: Path) -> tuple[FileInfo, dict[int, str]]:
    """A quote that never closes makes the reader take the rest of the file for one field (or give
    up on the file); two stray quotes on lines that are whole rows make it take every row between
    them for one field. Such lines are replaced in a copy by a row the reader rejects. Returns the
    info to read and line -> original text."""
    with info.path.open("rb") as f:
        header = f.readline()
    width = max(len(info.columns), header.count(info.delimiter.encode()) + 1)
    lines = sorted(set(unclosed_quote_lines(info.path)) | set(stray_quote_pairs(info.path, info.delimiter.encode(), width)))
    if not lines:
        return info, {}
    fixed = workdir / f"quotes-set-aside.{info.format}"
    texts = set_lines_aside(info.path, fixed, lines, b"x" + (info.delimiter.encode() + b"x") * width)  # one field too many
    return dataclasses.replace(info, path=fixed), texts


def _set_aside_bad_json(info: FileInfo, workdir: Path) -> tuple[FileInfo, dict[int, tuple[str, str]]]:
    """JSON Lines: the keys of its objects become info.columns. One line that is not a JSON object
    makes the reader refuse the whole file, so such lines are emptied in a copy (the reader skips
    empty lines), and go to the rejected rows with their line."""
    raw = quiet(duckdb.connect())
    try:
        try:
            return dataclasses.replace(info, columns=staging.jsonl_columns(raw, str(info.path))), {}
        except duckdb.Error as e:
            error = e
        bad, objects = json_line_problems(info.path)
        if not bad:
            raise _reader_failure(info, error) from error
        first = min(bad)
        if not objects:
            raise BadInput(f"{info.name}: no line is a JSON object (line {first}: {bad[first]}); JSON Lines holds one "
                           "object per line")
        fixed = workdir / "json-set-aside.jsonl"
        texts = set_lines_aside(info.path, fixed, sorted(bad), b"")
        try:
            columns = staging.jsonl_columns(raw, str(fixed))
        except duckdb.Error as e:
            raise _reader_failure(info, e) from e
        return dataclasses.replace(info, path=fixed, columns=columns), {n: (bad[n], texts[n]) for n in bad}
    finally:
        raw.close()


# What a reader's failure means, in words; the engine's own message and paths never reach the user.
READER_FAILURES = {"sniff": "its columns could not be told apart; check the delimiter and the quotes",
                   "parquet": "the Parquet data is damaged or not Parquet", "json": "a line is not a JSON object"}


def _stage(raw, info: FileInfo, rows: int | None = None) -> list[str]:
    """Load the file (or its first rows) into the staging table; reader errors become BadInput."""
    try:
        if info.format == "parquet":
            return staging.stage_parquet(raw, str(info.path), rows)
        if info.format == "jsonl":
            return staging.stage_jsonl(raw, str(info.path), info.columns, rows)  # columns: _set_aside_bad_json
        return staging.stage_csv(raw, str(info.path), info.delimiter, MAX_LINE_BYTES, rows)
    except duckdb.Error as e:
        raise _reader_failure(info, e) from e


def _reader_failure(info: FileInfo, error: Exception) -> BadInput:
    text = str(error).lower()
    why = next((words for key, words in READER_FAILURES.items() if key in text), "it is not in the expected layout")
    return BadInput(f"{info.name} cannot be read as {info.format.upper()}: {why}")


def _ingest(conn, raw, info: FileInfo, kind: str, name: str, mapping: dict | None, catalog_dataset_id: int | None,
            progress: Progress, set_aside: dict[int, tuple[str, str]] | None = None,
            already: Callable[[dict], IngestResult | None] | None = None) -> IngestResult:
    """already: the dataset that holds this file with this mapping, if any (see ingest_file)."""
    columns = _stage(raw, info)
    labelish = [c for c in columns if any(w in normalise(c) for w in LABEL_WORDS)]  # a few values to guess by meaning
    mapping = guess_mapping(columns, kind, mapping, info.name, {c: list(staging.distinct_lower(raw, c, 20)) for c in labelish})
    if already is not None and (found := already(mapping)) is not None:
        staging.drop_staging(raw)
        return found
    staged = staging.count_staged(raw)
    parse_rejected, line = _number_lines(raw, info, columns, staged, set_aside or {})
    if staged == 0 and not parse_rejected:
        raise BadInput(f"{info.name} has a header but no rows; add rows below the header line")
    progress(1, 4, f"checking {staged + len(parse_rejected):,} rows")
    names, commas, decimal_comma = None, None, False
    if kind == "pairs":
        names = label_names(staging.distinct_lower(raw, mapping["label"]))
        commas = checks.label_commas(raw, mapping["label"])
        decimal_comma = commas["comma"] is not None and commas["other"] is None
    checks.check_rows(raw, kind, mapping, columns, line=line, catalog_dataset_id=catalog_dataset_id,
                       label_names=names, label_max=LABEL_MAX, decimal_comma=decimal_comma)
    reasons = checks.count_reasons(raw)
    accepted = staged - sum(reasons.values())
    for _, reason, _, _ in parse_rejected:
        reasons[reason] = reasons.get(reason, 0) + 1
    rejected = sum(reasons.values())
    if accepted == 0:
        raise BadInput(_all_rejected(info.name, raw, mapping, reasons, parse_rejected,
                                     None if decimal_comma else commas))
    progress(2, 4, f"writing {accepted:,} rows")
    dataset_id = store.create_dataset(conn, name=name, kind=kind, source_file=info.name, content_hash=info.sha256,
                                      encoding=info.encoding, mapping=mapping, catalog_dataset_id=catalog_dataset_id)
    notices = pair_notices(staging.pair_repeats(raw), staging.label_mix(raw)) if kind == "pairs" else []
    staging.insert_accepted(raw, kind, dataset_id)
    staging.insert_rejected(raw, dataset_id, mapping, columns, parse_rejected)
    store.set_dataset_counts(conn, dataset_id, accepted, rejected)
    staging.drop_staging(raw)
    progress(4, 4, f"{accepted:,} rows in, {rejected:,} set aside")
    return IngestResult(dataset_id=dataset_id, kind=kind, name=name, rows_accepted=accepted, rows_rejected=rejected,
                        rejections=dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))), encoding=info.encoding,
                        mapping=mapping, notices=notices)


def pair_notices(repeats: dict, labels: dict) -> list[str]:
    """staging.pair_repeats and staging.label_mix in sentences: rows kept that a user may not expect
    to be read as they are."""
    notices, n, m = [], repeats["repeated_pairs"], repeats["retitled_products"]
    if labels["numbers"] and labels["names"]:
        named = sum(rows for rows, _ in labels["names"].values())
        read = ", ".join(f"{name!r} as {grade:g}" for name, (_, grade) in list(labels["names"].items())[:4])
        notices.append(f"The label column mixes numbers ({count_of(labels['numbers'], 'row')}) with names "
                       f"({count_of(named, 'row')}: {read}{', ...' if len(labels['names']) > 4 else ''}). Check that "
                       "the numbers are on the names' scale, or fix the file and ingest it again.")
    if n:
        notices.append(f"{count_of(n, 'row')} {'repeats' if n == 1 else 'repeat'} an earlier row's query and product; "
                       "a sample set keeps each pair once, with the mean of its labels.")
    if m:
        first = repeats["example"]
        notices.append(f"{count_of(m, 'product id')} {'comes' if m == 1 else 'come'} with more than one title; the first "
                       f"title in the file is kept (e.g. {first['product_id']!r}: {first['titles'][0]!r}, "
                       f"then {first['titles'][1]!r}).")
    return notices


def _number_lines(raw, info: FileInfo, columns: list[str], staged: int,
                  set_aside: dict[int, tuple[str, str]]) -> tuple[list[tuple], str]:
    """The rows the reader did not stage as (line, reason, column, text), and the SQL of each staged
    row's editor line. set_aside: line -> (reason, text) of the lines _set_aside took out."""
    if info.format == "jsonl":
        # Every line is a staged row, an empty line (the reader skips those) or one set aside (emptied).
        lines = info.newlines + (0 if info.ends_with_newline else 1)
        empty = set(set_aside) | (set(blank_lines(info.path)) if lines > staged + len(set_aside) else set())
        skipped = [(line - 1 - i, 1) for i, line in enumerate(sorted(empty))]
        out = [(line, reason, None, text) for line, (reason, text) in sorted(set_aside.items())]
        return out, staging.line_expression(raw, columns, first_line=1, multiline=False, skipped=skipped)
    if info.format != "csv" and info.format != "tsv":
        return [], staging.line_expression(raw, columns, first_line=1, multiline=False, skipped=[])
    rejects = staging.parse_rejects(raw)
    records = staged + len(rejects)
    lines = info.newlines + (0 if info.ends_with_newline else 1)
    spans = sum(_span(text) for _, _, _, _, text in rejects) - len(rejects)
    # More lines than rows: empty lines, or rows spanning lines; the usual file has neither.
    empty = blank_lines(info.path) if lines > records + 1 + spans else []
    multiline = lines > records + 1 + spans + len(empty) and staging.newlines_in_fields(raw, columns) > 0
    starts = lines_at(info.path, row_starts(info.path, [offset for _, offset, _, _, _ in rejects]))
    out = [(line, reason, column, text.strip("\r\n")[:10_000]) for line, (_, _, reason, column, text) in zip(starts, rejects)]
    out = [(line, set_aside[line][0], None, set_aside[line][1]) if line in set_aside else (line, reason, column, text)
           for line, reason, column, text in out]
    if multiline:
        # Rows span several lines: place the reader's rejects by record number (empty lines are not
        # accounted for in this case).
        skipped = [(record - 2 - j, _span(text)) for j, (record, _, _, _, text) in enumerate(rejects)]
    else:
        # Every line after the header is a staged row, an empty line or a rejected row.
        gaps = sorted([(line, _span(text)) for line, _, _, text in out] + [(b, 1) for b in empty])
        skipped, used = [], 0
        for line, span in gaps:
            skipped.append((line - 2 - used, span))
            used += span
    return out, staging.line_expression(raw, columns, first_line=2, multiline=multiline, skipped=skipped)


def _span(text: str) -> int:
    """Editor lines a row the reader set aside covers (its text may carry line breaks around it)."""
    return 1 + text.strip("\r\n").count("\n")


def _all_rejected(name: str, raw, mapping: dict, reasons: dict[str, int], parse_rejected: list,
                  commas: dict | None = None) -> str:
    """The message for a file whose every row was rejected: the reasons, the first rows (with the
    label, when the label is why) and, for labels with a comma, why they were not read as numbers."""
    counts = ", ".join(f"{reason} ({n:,})" for reason, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:5])
    first = [(line, column, reason, None) for line, reason, column, _ in parse_rejected[:3]]
    if not first:
        first = checks.first_rejections(raw, mapping)
    where = "; ".join(f"line {line}" + (f", column {column!r}" if column else "") + f": {reason}"
                      + (f" {value!r}" if value is not None else "") for line, column, reason, value in first[:3])
    hint = _comma_hint(commas) if {"unknown label", "decimal comma in label"} & set(reasons) else ""
    return f"{name}: every row was rejected, so nothing was added. Reasons: {counts}. First: {where}{hint}"


def _comma_hint(commas: dict | None) -> str:
    """Why labels with a comma were not read as numbers (checks.label_commas says how they are written)."""
    if not commas:
        return ""
    if commas["comma"] is not None and commas["other"] is not None:
        return (f". Labels such as {commas['comma']!r} have a decimal comma, which is read only when every label of "
                f"the column is a number written that way, and {commas['other']!r} is not: write the labels with a "
                "decimal point (2.5)")
    if commas["thousands"] is not None:
        value = commas["thousands"]
        return (f". {value!r} could have a decimal comma or a thousands separator: write it with a decimal point "
                f"({value.replace(',', '.')}) or without the comma ({value.replace(',', '')})")
    return ""


def _ingest_elsewhere(conn, info: FileInfo, kind: str, name: str, mapping: dict | None,
                      catalog_dataset_id: int | None, progress: Progress, set_aside: dict[int, tuple[str, str]],
                      already: Callable[[dict], IngestResult | None]) -> IngestResult:
    """Non-DuckDB databases: check in an in-memory DuckDB, then insert the rows through SQLAlchemy."""
    from workbench.ingest.elsewhere import ingest_elsewhere

    return ingest_elsewhere(conn, info, kind, name, mapping, catalog_dataset_id, progress,
                            functools.partial(_ingest, set_aside=set_aside, already=already))
