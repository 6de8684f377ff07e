"""Ingest defects of the headless CLI audit (/tmp/audit-cli/report.md, items 2, 3, 8, 9, 12, 13): JSON
Lines columns of mixed types, whitespace other than spaces, decimal-comma labels, one bad JSON line
or NUL byte, workbooks and folders, and re-ingesting the same bytes with other options."""
import json

import pytest

from storage import datasets
from storage.db import begin
from workbench.errors import BadInput
from workbench.ingest import ingest_file, preview_file

pytestmark = pytest.mark.both_stores  # each test runs on DuckDB and on a real PostgreSQL (tests/stores.py)


def _write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def _jsonl(*rows) -> str:
    return "".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows)


def _read(dataset_id, what="pairs"):
    with begin() as conn:
        return getattr(datasets, f"read_{what}")(conn, dataset_id)


def _rejected(dataset_id):
    frame = _read(dataset_id, "rejected_rows")[["line", "column_name", "reason"]].astype(object)
    return frame.where(frame.notna(), None).values.tolist()  # no column: None on DuckDB, NaN from PostgreSQL


# --- item 3: JSON Lines columns that are numbers on some lines and strings on others ----------------


def test_json_lines_values_are_read_as_text_whatever_other_lines_hold(db_url, tmp_path):
    path = _write(tmp_path, "mixed.jsonl", _jsonl(
        {"query": "drill", "product_id": "1000", "title": "Drill", "label": 3.0},
        {"query": "saw", "product_id": 1001, "title": "Saw", "label": "3.0", "product_extra": {"nested": [1, 2]}},
        {"query": "hose", "product_id": "1002", "title": "Hose", "label": "2.5"},
        {"query": "lamp", "product_id": 1003, "title": "Lamp", "label": 1},
    ))
    result = ingest_file(path, kind="pairs")
    assert (result.rows_accepted, result.rows_rejected) == (4, 0)
    pairs = _read(result.dataset_id)
    assert pairs["product_id"].tolist() == ["1000", "1001", "1002", "1003"]  # no '"1000"' with its quotes
    assert pairs["label_raw"].tolist() == ["3.0", "3.0", "2.5", "1"]
    assert pairs["label"].tolist() == [3.0, 3.0, 2.5, 1.0]
    products = _read(result.dataset_id, "products").set_index("product_id")
    assert json.loads(products.loc["1001", "attributes"]) == {"product_extra": '{"nested":[1,2]}'}  # JSON, not repr


def test_json_lines_product_ids_of_either_type_match_the_catalog(db_url, tmp_path):
    catalog = ingest_file(_write(tmp_path, "catalog.csv", "product_id,title\n1000,Drill\n1001,Saw\n"), kind="catalog")
    logs = ingest_file(_write(tmp_path, "logs.jsonl", _jsonl({"query": "drill", "product_id": "1000"},
                                                             {"query": "saw", "product_id": 1001})),
                       kind="logs", catalog_dataset_id=catalog.dataset_id)
    assert (logs.rows_accepted, logs.rejections) == (2, {})
    assert _read(logs.dataset_id, "events")["product_id"].tolist() == ["1000", "1001"]


# --- item 12: one bad JSON line, a NUL byte in one row -----------------------------------------------


GOOD_LINES = [{"query": f"item {i}", "product_id": f"p{i}", "label": i % 4} for i in range(6)]


def test_a_json_line_that_is_not_an_object_is_rejected_with_its_line_and_the_rest_goes_in(db_url, tmp_path):
    text = _jsonl("", *GOOD_LINES[:2], '{"query": "saw", "label": ', *GOOD_LINES[2:4], "", "[1, 2, 3]",
                  *GOOD_LINES[4:])
    path = _write(tmp_path, "pairs.jsonl", text)
    preview = preview_file(path, kind="pairs")
    assert preview.rows["query"].tolist() == ["item 0", "item 1", "item 2", "item 3", "item 4"]
    result = ingest_file(path, kind="pairs")
    assert (result.rows_accepted, result.rejections) == (6, {"malformed JSON": 1, "not a JSON object": 1})
    # Line 1 and line 7 are empty; the lines after them keep their numbers.
    assert _rejected(result.dataset_id) == [[4, None, "malformed JSON"], [8, None, "not a JSON object"]]
    raw = [json.loads(text) for text in _read(result.dataset_id, "rejected_rows")["raw"]]
    assert raw == [{"text": '{"query": "saw", "label": '}, {"text": "[1, 2, 3]"}]
    pairs = _read(result.dataset_id)
    assert pairs["query"].tolist() == [f"item {i}" for i in range(6)]


def test_json_lines_rows_rejected_by_a_check_keep_their_line_after_empty_lines(db_url, tmp_path):
    path = _write(tmp_path, "pairs.jsonl", _jsonl(GOOD_LINES[0], "", "", {"query": "", "product_id": "p9", "label": 1},
                                                  GOOD_LINES[1]))
    result = ingest_file(path, kind="pairs")
    assert _rejected(result.dataset_id) == [[4, "query", "missing query"]]


@pytest.mark.parametrize("name, text, message", [
    ("pairs.json", json.dumps(GOOD_LINES, indent=1),
     "pairs.json is a JSON array, not JSON Lines; the workbench reads JSON Lines, one object per line. Save it as "
     "JSON Lines (pandas: to_json(orient='records', lines=True)) or as CSV"),
    ("pairs.jsonl", '{\n  "query": "drill",\n  "label": 1\n}\n',
     "pairs.jsonl: no line is a JSON object (line 1: malformed JSON); JSON Lines holds one object per line"),
])
def test_a_json_array_or_a_pretty_printed_object_gets_a_message_saying_so(db_url, tmp_path, name, text, message):
    with pytest.raises(BadInput) as caught:
        ingest_file(_write(tmp_path, name, text), kind="pairs")
    assert str(caught.value) == message
