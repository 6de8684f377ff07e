"""The bad-input corpus (issue 6): each file gets a clear message naming the file, line and
column, and leaves the database exactly as it was. Small cases live in tests/bad_input/; large
ones (a 10 MB line, 10,000 columns) are generated here. Also: kill -9 during an ingest leaves no
partial dataset, and a database held by another process is retried, then reported.
"""
import gzip
import io
import json
import os
import re
import zipfile
import signal
import subprocess
import sys

import pytest

from storage import datasets
from storage.db import begin
from tests.conftest import PROJECT_ROOT
from workbench.errors import BadInput
from workbench.ingest import ingest_file

pytestmark = pytest.mark.both_stores  # each test runs on DuckDB and on a real PostgreSQL (tests/stores.py)
CORPUS = PROJECT_ROOT / "tests" / "bad_input"

CASES = [
    ("empty.csv", "catalog", "empty.csv is empty (0 bytes); choose the file again or export it once more"),
    ("header_only.csv", "catalog", "header_only.csv has a header but no rows; add rows below the header line"),
    ("binary.csv", "catalog", "binary.csv does not look like a text file (CSV, TSV, JSON Lines) or Parquet; "
                              "export the data as one of those"),
    ("truncated.csv.gz", "catalog", "truncated.csv.gz is a truncated or damaged gzip file: it ends before its "
                                    "compressed data does; nothing was read from it. Copy or download the file "
                                    "again, or compress it again"),
    ("wrong_delimiter.tsv", "catalog", "wrong_delimiter.tsv, line 1: no tab in the header of a .tsv file, but ',' "
                                      "is there; rename it to .csv or export it with tabs"),
    ("mixed_encodings.csv", "catalog", "mixed_encodings.csv mixes text encodings: line 2 is UTF-8 but line 3 is not "
                                       "(byte 0xE9); save the whole file in one encoding (UTF-8 is best) or choose "
                                       "the encoding yourself"),
    ("duplicate_headers.csv", "catalog", "duplicate_headers.csv, line 1: column 'Title' appears twice (columns 2 and "
                                         "4); rename one so each column has its own name"),
    ("formula_cells.csv", "catalog", "formula_cells.csv: every row was rejected, so nothing was added. Reasons: "
                                     "spreadsheet formula in text (5). First: line 2, column 'title': spreadsheet "
                                     "formula in text; line 3, column 'title': spreadsheet formula in text; line 4, "
                                     "column 'title': spreadsheet formula in text"),
    ("html_in_titles.csv", "catalog", "html_in_titles.csv: every row was rejected, so nothing was added. Reasons: "
                                      "HTML in text (3). First: line 2, column 'title': HTML in text; line 3, column "
                                      "'title': HTML in text; line 4, column 'title': HTML in text"),
    ("bad_prices.csv", "catalog", "bad_prices.csv: every row was rejected, so nothing was added. Reasons: negative "
                                  "or NaN price (3), price is not a number (1). First: line 2, column 'price': "
                                  "negative or NaN price; line 3, column 'price': negative or NaN price; line 4, "
                                  "column 'price': negative or NaN price"),
    ("labels_out_of_range.csv", "pairs", "labels_out_of_range.csv: every row was rejected, so nothing was added. "
                                         "Reasons: label out of range (3), unknown label (1). First: line 2, column "
                                         "'label': label out of range '-1'; line 3, column 'label': label out of range "
                                         "'11'; line 4, column 'label': label out of range 'NaN'"),
]


def _snapshot() -> dict:
    with begin() as conn:
        return datasets.count_table_rows(conn)


@pytest.mark.parametrize("name, kind, message", CASES, ids=[c[0] for c in CASES])
def test_bad_file_gets_a_clear_message_and_leaves_the_database_as_it_was(demo_db, name, kind, message):
    before = _snapshot()
    with pytest.raises(BadInput) as caught:
        ingest_file(CORPUS / name, kind=kind)
    assert str(caught.value) == message
    assert _snapshot() == before


# Issue 14: a gzip cut off after 142 of its bytes went in as 2 rows accepted, 147 rejected. A cut-off
# or damaged archive is refused whole, however much of it decompresses: from a few rows (142 bytes)
# to every row but the trailer (all bytes but one), or every byte with a checksum that disagrees.
CATALOG_ROWS = ("product_id,title,brand\n" + "".join(f"p{i},Cordless drill {i * 7919 % 1000},Acme\n"
                                                       for i in range(150))).encode()
CUT_OFF = "it ends before its compressed data does"
NO_CONTENTS = "its table of contents, kept at the end of a zip, is missing"
BAD_CHECKSUM = "its checksum does not match what it holds"


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def _zip(data: bytes, method=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        archive.writestr("catalog.csv", data)
    return out.getvalue()


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1:]


DAMAGED = [
    ("catalog.csv.gz", lambda: _gzip(CATALOG_ROWS)[:142], CUT_OFF),
    ("catalog.csv.gz", lambda: _gzip(CATALOG_ROWS)[:len(_gzip(CATALOG_ROWS)) // 2], CUT_OFF),
    ("catalog.csv.gz", lambda: _gzip(CATALOG_ROWS)[:-1], CUT_OFF),
    ("catalog.csv.gz", lambda: _flip(_gzip(CATALOG_ROWS), len(_gzip(CATALOG_ROWS)) - 6), BAD_CHECKSUM),
    ("catalog.zip", lambda: _zip(CATALOG_ROWS)[:142], NO_CONTENTS),
    ("catalog.zip", lambda: _zip(CATALOG_ROWS)[:-1], NO_CONTENTS),
    ("catalog.zip", lambda: _flip(_zip(CATALOG_ROWS, zipfile.ZIP_STORED), 1000), BAD_CHECKSUM),
]


@pytest.mark.parametrize("name, build, reason", DAMAGED,
                         ids=["gzip-142-bytes", "gzip-half", "gzip-all-but-1-byte", "gzip-bad-crc", "zip-142-bytes",
                              "zip-all-but-1-byte", "zip-bad-crc"])
def test_a_cut_off_or_damaged_archive_is_refused_whole(demo_db, tmp_path, name, build, reason):
    path = tmp_path / name
    path.write_bytes(build())
    archive, again = ("gzip", "compress it again") if name.endswith(".gz") else ("zip", "zip it again")
    before = _snapshot()
    with pytest.raises(BadInput) as caught:
        ingest_file(path, kind="catalog")
    assert str(caught.value) == (f"{name} is a truncated or damaged {archive} file: {reason}; nothing was read from "
                                 f"it. Copy or download the file again, or {again}")
    assert _snapshot() == before


def test_the_same_archive_whole_goes_in_with_every_row(db_url, tmp_path):
    for name, data in [("catalog.csv.gz", _gzip(CATALOG_ROWS)), ("catalog.zip", _zip(CATALOG_ROWS))]:
        (tmp_path / name).write_bytes(data)
        result = ingest_file(tmp_path / name, kind="catalog", name=name)
        assert (result.rows_accepted, result.rows_rejected) == (150, 0)


def test_a_zstd_file_is_refused_by_name(demo_db, tmp_path):
    path = tmp_path / "catalog.csv.zst"
    path.write_bytes(b"\x28\xb5\x2f\xfd" + CATALOG_ROWS[:100])  # zstd's magic number, then anything
    before = _snapshot()
    with pytest.raises(BadInput, match=re.escape("catalog.csv.zst is compressed with zstd, which the workbench does "
                                                 "not read; decompress it (zstd -d) or compress it with gzip or zip "
                                                 "instead")):
        ingest_file(path, kind="catalog")
    assert _snapshot() == before


def test_a_zip_holding_two_files_is_refused(demo_db, tmp_path):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("catalog.csv", CATALOG_ROWS)
        archive.writestr("notes.txt", b"hello")
    (tmp_path / "two.zip").write_bytes(out.getvalue())
    with pytest.raises(BadInput, match=re.escape("two.zip holds 2 files (catalog.csv, notes.txt); a zip must hold "
                                                 "exactly one CSV, TSV, Parquet or JSON Lines file")):
        ingest_file(tmp_path / "two.zip", kind="catalog")


def test_logs_naming_unknown_products_are_refused(db_url):
    ingest_file(CORPUS / "catalog_for_logs.csv", kind="catalog")
    before = _snapshot()
    message = ("unknown_products.csv: every row was rejected, so nothing was added. Reasons: product not in the "
               "catalog (2). First: line 2, column 'product_id': product not in the catalog; line 3, column "
               "'product_id': product not in the catalog")
    with pytest.raises(BadInput, match=re.escape(message)):
        ingest_file(CORPUS / "unknown_products.csv", kind="logs")
    assert _snapshot() == before


def test_emoji_and_right_to_left_text_go_in_unchanged(db_url):
    result = ingest_file(CORPUS / "emoji_rtl.csv", kind="catalog")
    with begin() as conn:
        products = datasets.read_products(conn, result.dataset_id)
    assert products[["title", "brand"]].values.tolist() == [
        ["Cordless drill 🔨⚡", "Acme"], ["مثقاب لاسلكي", "شركة"], ["מקדחה אלחוטית", "חברה"],
        ["👩‍👩‍👧 family tent", "Zeltwerk"]]


def test_a_10_mb_single_line_is_refused(demo_db, tmp_path):
    path = tmp_path / "one_line.csv"
    path.write_bytes(b"product_id,title\np1," + b"x" * (10 << 20) + b"\n")
    before = _snapshot()
    with pytest.raises(BadInput, match=re.escape("one_line.csv, line 2: longer than 2 MiB, the most one line may "
                                                 "hold; is a quote left open, or are the line breaks missing?")):
        ingest_file(path, kind="catalog")
    assert _snapshot() == before


def test_10000_columns_are_refused(demo_db, tmp_path):
    path = tmp_path / "wide.csv"
    header = ",".join(["product_id", "title"] + [f"c{i}" for i in range(9998)])
    path.write_text(header + "\n" + ",".join(["p1", "Drill"] + ["1"] * 9998) + "\n")
    before = _snapshot()
    with pytest.raises(BadInput, match=re.escape("wide.csv, line 1: 10,000 columns; the workbench takes at most "
                                                 "1,000. Is the delimiter right?")):
        ingest_file(path, kind="catalog")
    assert _snapshot() == before


# The last progress call comes after every row is inserted and before the commit: the child
# waits there, so the kill lands on a transaction that holds all the rows, every time.
KILLED = """
import sys, time
from workbench.ingest import ingest_file
def progress(done, total, message):
    if done == total:
        print("inserted, not committed", flush=True)
        time.sleep(120)
ingest_file(sys.argv[1], kind="logs", on_progress=progress)
print("finished", flush=True)
"""


@pytest.mark.slow  # starts processes
def test_kill_9_during_ingest_leaves_no_partial_dataset(demo_db, tmp_path):
    path = tmp_path / "big_logs.csv"
    with begin() as conn:
        ids = datasets.read_products(conn, 1)["product_id"].tolist()
    rows = "".join(f"query {i % 977},{ids[i % len(ids)]},{i % 10 + 1},{i % 2}\n" for i in range(100_000))
    path.write_text("query,product_id,position,clicked\n" + rows)
    before = _snapshot()
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(path)], stdout=subprocess.PIPE, text=True, env=env,
                            cwd=PROJECT_ROOT)
    assert proc.stdout.readline().strip() == "inserted, not committed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert _snapshot() == before
    with begin() as conn:
        assert datasets.list_datasets(conn)["id"].tolist() == [2, 1]


HOLDER = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(60)"


@pytest.mark.slow  # starts processes
@pytest.mark.duckdb_only  # PostgreSQL has no one-process lock to wait for
def test_a_database_held_by_another_process_is_retried_then_reported(demo_db, tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("product_id,title\np1,Drill\n")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, demo_db.removeprefix("duckdb:///")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        out = subprocess.run([sys.executable, "-m", "workbench", "ingest", "catalog", str(path), "--json"],
                             capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120,
                             env={**os.environ, "WORKBENCH_DB_TIMEOUT_S": "2"})
    finally:
        holder.kill()
        holder.wait()
    message = (f"the database {demo_db.removeprefix('duckdb:///')} is held by another process and "
               "stayed busy for 2 s; close the other program (another app or a DuckDB shell) or set "
               "WORKBENCH_DB_TIMEOUT_S higher")
    assert out.returncode == 1 and json.loads(out.stdout) == {"error": message, "exit_code": 1}
    assert out.stderr == f"error: {message}\n"
    result = ingest_file(path, kind="catalog")  # free again: the same file goes in
    assert result.rows_accepted == 1
