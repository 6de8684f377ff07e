"""Ingest defects of the headless CLI audit (/tmp/audit-cli/report.md, items 2, 3, 8, 9, 12, 13): JSON
Lines columns of mixed types, whitespace other than spaces, decimal-comma labels, one bad JSON line
or NUL byte, workbooks and folders, and re-ingesting the same bytes with other options."""
import io
import json
import re
import zipfile

import pytest

from storage import datasets
from storage.db import begin
from storage.errors import NotFound
from tests.conftest import PROJECT_ROOT
from workbench.errors import BadInput
from workbench.ingest import ingest_bytes, ingest_file, preview_file

pytestmark = pytest.mark.both_stores  # each test runs on DuckDB and on a real PostgreSQL (tests/stores.py)
CORPUS = PROJECT_ROOT / "tests" / "bad_input"


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


# --- item 8: values of whitespace other than spaces --------------------------------------------------


def test_tabs_line_breaks_and_unicode_spaces_are_stripped_and_whitespace_alone_is_blank(db_url, tmp_path):
    path = _write(tmp_path, "pairs.csv", (
        "query,product_id,title,label\n"
        "\tdrill\u00a0,p1,\u3000Drill A\t,3\n"  # line 2: stripped
        "\t,p2,Drill B,2\n"                    # line 3: a tab only
        "\u00a0\u2003,p3,Drill C,1\n"          # line 4: no-break and em spaces only
        '"\r\n",p4,Drill D,1\n'                # lines 5-6: a quoted line break only
        "saw,p5,\t,0\n"                        # line 7: the title a tab: no title, like an empty one
    ))
    result = ingest_file(path, kind="pairs")
    assert (result.rows_accepted, result.rejections) == (2, {"missing query": 3})
    assert _rejected(result.dataset_id) == [[3, "query", "missing query"], [4, "query", "missing query"],
                                            [5, "query", "missing query"]]
    assert _read(result.dataset_id)[["query", "product_id"]].values.tolist() == [["drill", "p1"], ["saw", "p5"]]
    assert _read(result.dataset_id, "products")[["product_id", "title"]].values.tolist() == [["p1", "Drill A"]]


def test_a_catalog_title_of_tabs_is_an_empty_title(db_url, tmp_path):
    result = ingest_file(_write(tmp_path, "catalog.csv", "product_id,title\np1,Drill\np2,\t\t\n\u00a0p3,Saw\n"),
                         kind="catalog")
    assert (result.rows_accepted, _rejected(result.dataset_id)) == (2, [[3, "title", "empty title"]])
    assert _read(result.dataset_id, "products")["product_id"].tolist() == ["p1", "p3"]


# --- item 9: decimal-comma labels --------------------------------------------------------------------


@pytest.mark.parametrize("name, text", [
    ("semicolon.csv", "query;product_id;label\ndrill;p1;2,5\nsaw;p2;3\nhose;p3;0,33\nlamp;p4;1,000\n"),
    ("quoted.csv", 'query,product_id,label\ndrill,p1,"2,5"\nsaw,p2,3\nhose,p3,"0,33"\nlamp,p4,"1,000"\n'),
])
def test_labels_with_a_decimal_comma_are_read_when_every_label_is_written_so(db_url, tmp_path, name, text):
    """'2,5' shows the column uses a decimal comma, so '1,000' beside it is 1.0, not a thousand."""
    result = ingest_file(_write(tmp_path, name, text), kind="pairs")
    assert (result.rows_accepted, result.rows_rejected) == (4, 0)
    pairs = _read(result.dataset_id)
    assert pairs[["label_raw", "label"]].values.tolist() == [["2,5", 2.5], ["3", 3.0], ["0,33", 0.33],
                                                              ["1,000", 1.0]]


def test_a_decimal_comma_beside_decimal_points_is_rejected_per_row_with_its_own_reason(db_url, tmp_path):
    path = _write(tmp_path, "mixed.csv", 'query,product_id,label\ndrill,p1,2.5\nsaw,p2,"2,5"\nhose,p3,3\n')
    result = ingest_file(path, kind="pairs")
    assert (result.rows_accepted, result.rejections) == (2, {"decimal comma in label": 1})
    assert _rejected(result.dataset_id) == [[3, "label", "decimal comma in label"]]
    assert json.loads(_read(result.dataset_id, "rejected_rows")["raw"][0])["label"] == "2,5"


@pytest.mark.parametrize("text, message", [
    ("query;product_id;label\ndrill;p1;2,5\nsaw;p2;high\n",
     "labels.csv: every row was rejected, so nothing was added. Reasons: decimal comma in label (1), unknown label "
     "(1). First: line 2, column 'label': decimal comma in label '2,5'; line 3, column 'label': unknown label 'high'. "
     "Labels such as '2,5' have a decimal comma, which is read only when every label of the column is a number "
     "written that way, and 'high' is not: write the labels with a decimal point (2.5)"),
    # '1,000' alone may be 1.0 or a thousand: not guessed.
    ('query,product_id,label\ndrill,p1,"1,000"\nsaw,p2,"2,333"\n',
     "labels.csv: every row was rejected, so nothing was added. Reasons: unknown label (2). First: line 2, column "
     "'label': unknown label '1,000'; line 3, column 'label': unknown label '2,333'. '1,000' could have a decimal "
     "comma or a thousands separator: write it with a decimal point (1.000) or without the comma (1000)"),
])
def test_labels_still_unknown_are_shown_with_their_value_row_and_the_decimal_comma(db_url, tmp_path, text, message):
    with pytest.raises(BadInput) as caught:
        ingest_file(_write(tmp_path, "labels.csv", text), kind="pairs")
    assert str(caught.value) == message
    with begin() as conn:
        assert datasets.list_datasets(conn).empty


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


def test_a_nul_byte_in_a_csv_row_rejects_that_row_only(db_url, tmp_path):
    path = _write(tmp_path, "pairs.csv", b'query,product_id,title,label\ndrill,p1,Drill,3\nwood,p2,"a\x00b",1\n'
                                         b"saw,p\x003,Saw,2\nhose,p4,Hose,1\n")
    result = ingest_file(path, kind="pairs")
    assert (result.rows_accepted, result.rejections) == (2, {"NUL byte in text": 2})
    assert _rejected(result.dataset_id) == [[3, "title", "NUL byte in text"], [4, "product_id", "NUL byte in text"]]
    assert _read(result.dataset_id)["product_id"].tolist() == ["p1", "p4"]


def test_the_nul_byte_corpus_file_rejects_its_one_row(db_url):
    result = ingest_file(CORPUS / "nul_bytes.csv", kind="catalog")
    assert (result.rows_accepted, _rejected(result.dataset_id)) == (1, [[3, "title", "NUL byte in text"]])


def test_a_nul_byte_in_the_header_still_refuses_the_file_naming_the_line(db_url, tmp_path):
    with pytest.raises(BadInput, match=re.escape("header.csv, line 1: NUL byte in the text; a text file has none")):
        ingest_file(_write(tmp_path, "header.csv", b"query,prod\x00uct_id,label\ndrill,p1,3\n"), kind="pairs")


# --- item 13: a workbook, a directory ----------------------------------------------------------------


def _xlsx() -> bytes:
    """The parts of a real .xlsx (a zip), as Excel writes them."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for part in ("[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/worksheets/sheet1.xml"):
            archive.writestr(part, "<?xml version='1.0'?><x/>")
    return out.getvalue()


WORKBOOK = ("{} is a spreadsheet workbook (Excel); the workbench does not read workbooks. Save the sheet as CSV "
            "UTF-8 (in Excel: File > Save As > CSV UTF-8) and ingest that file")


@pytest.mark.parametrize("name", ["pairs.xlsx", "renamed.zip", "no_suffix"])
def test_an_excel_workbook_is_refused_by_name_or_content(db_url, tmp_path, name):
    with pytest.raises(BadInput) as caught:
        ingest_file(_write(tmp_path, name, _xlsx()), kind="pairs")
    assert str(caught.value) == WORKBOOK.format(name)


def test_an_uploaded_workbook_is_refused_with_the_users_file_name(db_url):
    with pytest.raises(BadInput) as caught:
        ingest_bytes(_xlsx(), "Book1.xlsx", kind="pairs")
    assert str(caught.value) == WORKBOOK.format("Book1.xlsx")


def test_a_directory_is_named_as_one(db_url, tmp_path):
    with pytest.raises(BadInput) as caught:
        ingest_file(tmp_path, kind="pairs")
    assert str(caught.value) == (f"{tmp_path} is a directory, not a file; give the path of a CSV, TSV, Parquet or "
                                 "JSON Lines file")


# --- item 2: the same bytes again, with other options ------------------------------------------------


PAIRS = "query,title,product_id,label\ndrill,Cordless drill,p1,3\nsaw,Hand saw,p2,1\n"


def test_the_same_bytes_with_another_mapping_make_a_new_dataset_and_a_true_rerun_does_not(db_url, tmp_path):
    path = _write(tmp_path, "pairs.csv", PAIRS)
    first = ingest_file(path, kind="pairs")
    other = {"query": "title", "product_id": "product_id", "label": "label"}
    second = ingest_file(path, kind="pairs", mapping=other)
    assert (second.already_present, second.dataset_id, second.mapping) == (False, first.dataset_id + 1, other)
    assert _read(second.dataset_id)["query"].tolist() == ["Cordless drill", "Hand saw"]
    # Identical options again, the guess spelled out, or the encoding named: nothing new.
    for again in (ingest_file(path, kind="pairs"), ingest_file(path, kind="pairs", mapping=first.mapping),
                  ingest_file(path, kind="pairs", encoding="UTF-8", name="pairs.csv")):
        assert (again.already_present, again.dataset_id) == (True, first.dataset_id)
    again = ingest_file(path, kind="pairs", mapping=other)
    assert (again.already_present, again.dataset_id) == (True, second.dataset_id)
    with begin() as conn:
        assert len(datasets.list_datasets(conn)) == 2


def test_the_same_bytes_in_another_encoding_make_a_new_dataset(db_url, tmp_path):
    path = _write(tmp_path, "pairs.csv", "query,product_id,label\ncafé crème,p1,3\n")
    wrong = ingest_file(path, kind="pairs", encoding="latin-1")
    right = ingest_file(path, kind="pairs")
    assert (right.already_present, right.encoding) == (False, "utf-8") and right.dataset_id != wrong.dataset_id
    assert _read(wrong.dataset_id)["query"][0] == "cafÃ© crÃ¨me"
    assert _read(right.dataset_id)["query"][0] == "café crème"


def test_the_same_bytes_under_another_name_are_refused_naming_the_dataset(db_url, tmp_path):
    path = _write(tmp_path, "pairs.csv", PAIRS)
    first = ingest_file(path, kind="pairs")
    with pytest.raises(BadInput) as caught:
        ingest_file(path, kind="pairs", name="My new name")
    assert str(caught.value) == (
        f"pairs.csv was ingested before as dataset {first.dataset_id} ('pairs.csv') with the same mapping and "
        "encoding, so nothing was added and the name 'My new name' was not given to it. Use dataset "
        f"{first.dataset_id}, or delete it on the Data page and ingest the file again")
    with begin() as conn:
        assert datasets.list_datasets(conn)["name"].tolist() == ["pairs.csv"]


def test_logs_ingested_again_check_the_catalog_first_and_another_catalog_makes_a_new_dataset(db_url, tmp_path):
    one = ingest_file(_write(tmp_path, "one.csv", "product_id,title\np1,Drill\n"), kind="catalog")
    two = ingest_file(_write(tmp_path, "two.csv", "product_id,title\np1,Drill\np2,Saw\n"), kind="catalog")
    path = _write(tmp_path, "logs.csv", "query,product_id\ndrill,p1\nsaw,p2\n")
    first = ingest_file(path, kind="logs", catalog_dataset_id=two.dataset_id)
    with pytest.raises(NotFound, match="no dataset with id 99"):
        ingest_file(path, kind="logs", catalog_dataset_id=99)
    assert ingest_file(path, kind="logs").already_present  # the newest catalog is two, as before
    other = ingest_file(path, kind="logs", catalog_dataset_id=one.dataset_id)
    assert (other.already_present, other.rows_accepted, other.rejections) == (False, 1,
                                                                              {"product not in the catalog": 1})
    assert other.dataset_id != first.dataset_id


def test_pairs_that_repeat_or_retitle_a_product_are_kept_and_said(db_url, tmp_path):
    """A product id with two titles silently kept one, and repeated pairs were counted only at sample build."""
    path = _write(tmp_path, "pairs.csv", "query,product_id,title,label\n"
                                         "drill,p1,Cordless Drill,3\n"
                                         "saw,p2,Circular Saw,1\n"
                                         "drill,p1,Cordless Drill 18V,2\n"
                                         "saw,p2,Circular Saw,2\n"
                                         "hammer,p3,Claw Hammer,3\n")
    result = ingest_file(path, kind="pairs")
    assert result.rows_accepted == 5 and result.rows_rejected == 0
    assert result.notices == [
        "2 rows repeat an earlier row's query and product; a sample set keeps each pair once, with the mean of its labels.",
        "1 product id comes with more than one title; the first title in the file is kept "
        "(e.g. 'p1': 'Cordless Drill', then 'Cordless Drill 18V').",
    ]
    with begin() as conn:
        products = datasets.read_products(conn, result.dataset_id)
    assert products.set_index("product_id")["title"].to_dict() == {"p1": "Cordless Drill", "p2": "Circular Saw",
                                                                   "p3": "Claw Hammer"}
    clean = ingest_file(_write(tmp_path, "clean.csv", "query,product_id,title,label\ndrill,p1,Drill,3\nsaw,p2,Saw,1\n"),
                        kind="pairs")
    assert clean.notices == []


def test_a_label_column_that_mixes_numbers_and_names_is_kept_and_said(db_url, tmp_path):
    """'3' and 'E' in one column were both read (E as 3) without a word: two scales may have been mixed."""
    path = _write(tmp_path, "mixed.csv", "query,product_id,label\ndrill,p1,3\nsaw,p2,E\nhammer,p3,2\nnail,p4,I\nbolt,p5,e\n")
    result = ingest_file(path, kind="pairs")
    assert result.rows_accepted == 5
    assert result.notices == ["The label column mixes numbers (2 rows) with names (3 rows: 'E' as 3, 'I' as 0). Check "
                              "that the numbers are on the names' scale, or fix the file and ingest it again."]
    assert ingest_file(_write(tmp_path, "names.csv", "query,product_id,label\ndrill,p1,E\nsaw,p2,I\n"), kind="pairs").notices == []
