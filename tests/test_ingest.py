"""Ingest: formats, encodings, column guessing and mapping, rejected rows, re-ingest (issue 2)."""
import gzip
import json
import re

import pandas as pd
import pytest

from storage import datasets
from storage.db import begin
from tests.conftest import shared_file
from workbench.errors import BadInput, MissingData
from workbench.ingest import guess_mapping, ingest_bytes, ingest_file, preview_file

pytestmark = pytest.mark.both_stores  # each test runs on DuckDB and on a real PostgreSQL (tests/stores.py)

CATALOG = (
    "product_id,title,price,color,brand\n"
    "p1,Red drill,10.5,red,Acme\n"
    "p2,,3,blue,Acme\n"
    'p3,"Multi\nline title",abc,green,Bolt\n'
    "p1,Red drill,10.5,red,Acme\n"
    "p1,Blue drill,10.5,red,Acme\n"
    "p4,Saw,-1,grey\n"
    "p5,Hammer,7,black,Bolt\n"
)


def _write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def test_catalog_rows_that_fail_checks_are_set_aside_with_editor_line_and_column(db_url, tmp_path):
    result = ingest_file(_write(tmp_path, "catalog.csv", CATALOG), kind="catalog")
    assert (result.rows_accepted, result.rows_rejected) == (2, 5)
    assert result.rejections == {"empty title": 1, "price is not a number": 1, "duplicate row": 1,
                                 "duplicate product_id with different content": 1, "too few columns": 1}
    with begin() as conn:
        products = datasets.read_products(conn, result.dataset_id)
        rejected = datasets.read_rejected_rows(conn, result.dataset_id)
    assert products[["product_id", "title", "brand", "price"]].values.tolist() == [
        ["p1", "Red drill", "Acme", 10.5], ["p5", "Hammer", "Bolt", 7.0]]
    assert json.loads(products["attributes"][0]) == {"color": "red"}
    # Line 4 holds p3 whose title spans two lines, so p1's repeats sit on lines 6 and 7.
    assert rejected[["line", "column_name", "reason"]].values.tolist() == [
        [3, "title", "empty title"],
        [4, "price", "price is not a number"],
        [6, "product_id", "duplicate row"],
        [7, "product_id", "duplicate product_id with different content"],
        [8, "brand", "too few columns"],
    ]
    assert json.loads(rejected["raw"][1])["title"] == "Multi\nline title"


def test_reingesting_the_same_bytes_returns_the_dataset_already_there(db_url, tmp_path):
    path = _write(tmp_path, "catalog.csv", CATALOG)
    first = ingest_file(path, kind="catalog")
    again = ingest_file(_write(tmp_path, "renamed.csv", CATALOG), kind="catalog")
    assert again.already_present and again.dataset_id == first.dataset_id
    assert again.rejections == first.rejections
    with begin() as conn:
        assert len(datasets.list_datasets(conn)) == 1
        assert len(datasets.read_products(conn, first.dataset_id)) == 2


def test_column_names_are_guessed_from_common_spellings():
    columns = ["id", "product_uid", "product_title", "search_term", "relevance"]
    assert guess_mapping(columns, "pairs") == {
        "query": "search_term", "product_id": "product_uid", "title": "product_title", "label": "relevance"}
    assert guess_mapping(["SKU", "Product Name", "Brand Name"], "catalog") == {
        "product_id": "SKU", "title": "Product Name", "brand": "Brand Name"}


def test_a_mapping_overrides_the_guess_and_odd_column_names_stay_quoted(db_url, tmp_path):
    odd = 'x"); DROP TABLE products; --'
    text = f'item,"{odd.replace(chr(34), chr(34) * 2)}"\nA1,Lamp\nA2,Desk\n'
    result = ingest_file(_write(tmp_path, "odd.csv", text), kind="catalog",
                         mapping={"product_id": "item", "title": odd})
    assert result.rows_accepted == 2 and result.mapping == {"product_id": "item", "title": odd}
    with begin() as conn:
        assert datasets.read_products(conn, result.dataset_id)["title"].tolist() == ["Lamp", "Desk"]


def test_a_missing_required_column_names_the_file_and_the_columns_found(db_url, tmp_path):
    path = _write(tmp_path, "items.csv", "sku,name_of_thing\n1,x\n")
    message = ("items.csv: no column for 'title' of a catalog file; columns found: 'sku', 'name_of_thing'. "
               "Choose the column that holds it.")
    with pytest.raises(BadInput, match=re.escape(message)):
        ingest_file(path, kind="catalog")


def test_a_mapping_naming_a_column_the_file_lacks_is_refused(db_url, tmp_path):
    path = _write(tmp_path, "items.csv", "sku,title\n1,x\n")
    with pytest.raises(BadInput, match=re.escape("items.csv: mapping says 'product_id' is column 'item', but the "
                                                 "file has no such column; columns found: 'sku', 'title'")):
        ingest_file(path, kind="catalog", mapping={"product_id": "item"})


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030", "gbk", "latin-1"])
def test_encodings_are_detected(db_url, tmp_path, encoding):
    titles = {"utf-8-sig": "Café ☕", "gb18030": "无线电钻 充电式 锂电池", "gbk": "不锈钢 厨房 水龙头 单把手",
              "latin-1": "Crème brûlée torch façade"}
    title = titles[encoding]
    rows = "".join(f"p{i},{title} {i}\n" for i in range(40))
    result = ingest_file(_write(tmp_path, "c.csv", "product_id,title\n" + rows, encoding), kind="catalog")
    expected = {"gbk": "gb18030"}.get(encoding, encoding)
    assert result.rows_accepted == 40 and result.encoding == expected
    with begin() as conn:
        assert datasets.read_products(conn, result.dataset_id)["title"][0] == f"{title} 0"


def test_the_user_can_choose_the_encoding(db_url, tmp_path):
    path = _write(tmp_path, "c.csv", "product_id,title\np1,Ærø Straße\n", "cp1252")
    result = ingest_file(path, kind="catalog", encoding="cp1252")
    assert result.encoding == "cp1252"
    with begin() as conn:
        assert datasets.read_products(conn, result.dataset_id)["title"].tolist() == ["Ærø Straße"]


def test_tsv_parquet_json_lines_and_gzip_give_the_same_rows(db_url, tmp_path):
    frame = pd.DataFrame({"query": ["drill", "saw", "hose"], "product_id": ["p1", "p2", "p3"],
                          "label": ["E", "I", "S"]})
    paths = [
        _write(tmp_path, "p.tsv", frame.to_csv(sep="\t", index=False)),
        _write(tmp_path, "p.jsonl", frame.to_json(orient="records", lines=True)),
        _write(tmp_path, "p.csv.gz", gzip.compress(frame.to_csv(index=False).encode())),
    ]
    frame.to_parquet(tmp_path / "p.parquet", index=False)
    paths.append(tmp_path / "p.parquet")
    seen = []
    for path in paths:
        result = ingest_file(path, kind="pairs")
        with begin() as conn:
            seen.append(datasets.read_pairs(conn, result.dataset_id).values.tolist())
    assert seen == [[["drill", "p1", "E", 3.0], ["saw", "p2", "I", 0.0], ["hose", "p3", "S", 2.0]]] * 4


def test_labels_exact_partial_irrelevant_are_graded_2_1_0_and_unknown_labels_are_rejected(db_url, tmp_path):
    text = "query,title,label\ndrill,Drill A,Exact\ndrill,Drill B,partial\nsaw,Saw,Irrelevant\nsaw,Saw 2,maybe\n" \
           "saw,Saw 3,11\n"
    result = ingest_file(_write(tmp_path, "p.csv", text), kind="pairs")
    assert result.rejections == {"unknown label": 1, "label out of range": 1}
    with begin() as conn:
        pairs = datasets.read_pairs(conn, result.dataset_id)
        products = datasets.read_products(conn, result.dataset_id)
    assert pairs["label"].tolist() == [2.0, 1.0, 0.0]
    # Pairs with titles and no product_id get an id made from the title, and bring their products.
    assert set(pairs["product_id"]) == set(products["product_id"]) and len(products) == 3
    assert pairs["product_id"].str.fullmatch("t[0-9a-f]{12}").all()
    assert sorted(products["title"]) == ["Drill A", "Drill B", "Saw"]


def test_logs_rows_naming_products_outside_the_catalog_are_rejected(db_url, tmp_path):
    catalog = ingest_file(_write(tmp_path, "c.csv", "product_id,title\np1,Drill\np2,Saw\n"), kind="catalog")
    logs = ("search_term,product_id,position,clicked,timestamp\n"
            "drill,p1,1,1,2026-01-01 10:00:00\nsaw,p9,2,0,2026-01-01 10:00:00\n"
            "saw,p2,x,0,2026-01-01\nsaw,p2,1,maybe,1767261600\n")
    result = ingest_file(_write(tmp_path, "l.csv", logs), kind="logs")
    assert result.rejections == {"product not in the catalog": 1, "position is not a whole number >= 0": 1,
                                 "clicked is not yes/no": 1}
    with begin() as conn:
        events = datasets.read_events(conn, result.dataset_id)
        assert datasets.get_dataset(conn, result.dataset_id)["catalog_dataset_id"] == catalog.dataset_id
        rejected = datasets.read_rejected_rows(conn, result.dataset_id)
    assert events[["query", "product_id", "position", "clicked"]].values.tolist() == [["drill", "p1", 1, True]]
    assert rejected[["line", "column_name"]].values.tolist() == [[3, "product_id"], [4, "position"], [5, "clicked"]]


def test_logs_without_any_catalog_say_to_ingest_one_first(db_url, tmp_path):
    with pytest.raises(MissingData, match="ingest the catalog first"):
        ingest_file(_write(tmp_path, "l.csv", "query,product_id\nx,p1\n"), kind="logs")


def test_uploaded_bytes_use_the_file_name_for_display_only(db_url, tmp_path):
    result = ingest_bytes(b"product_id,title\np1,Drill\n", "../../etc/evil name.csv", kind="catalog")
    with begin() as conn:
        row = datasets.get_dataset(conn, result.dataset_id)
    assert (row["source_file"], row["name"]) == ("evil name.csv", "evil name.csv")
    assert not (tmp_path / "etc").exists()


def test_preview_shows_first_rows_and_the_guess_without_writing(db_url, tmp_path):
    path = _write(tmp_path, "p.csv", "search_term,product_uid,relevance\ndrill,1,3\nsaw,2,1\n")
    preview = preview_file(path, kind="pairs", rows=1)
    assert preview.columns == ["search_term", "product_uid", "relevance"]
    assert preview.rows.values.tolist() == [["drill", "1", "3"]]
    assert preview.mapping == {"query": "search_term", "product_id": "product_uid", "label": "relevance"}
    with begin() as conn:
        assert datasets.list_datasets(conn).empty


def test_cli_json_has_the_contract_keys_and_a_rejected_file_exits_non_zero(db_url, tmp_path, cli):
    good = cli("ingest", "catalog", str(_write(tmp_path, "c.csv", CATALOG)), "--json")
    assert good.returncode == 0, good.stderr
    out = json.loads(good.stdout.strip().splitlines()[-1])
    assert {k: out[k] for k in ("dataset_id", "kind", "rows_accepted", "rows_rejected")} == {
        "dataset_id": 1, "kind": "catalog", "rows_accepted": 2, "rows_rejected": 5}
    assert out["rejections"]["empty title"] == 1
    bad = cli("ingest", "catalog", str(_write(tmp_path, "empty.csv", "")), "--json")
    message = "empty.csv is empty (0 bytes); choose the file again or export it once more"
    assert (bad.returncode, bad.stderr) == (1, f"error: {message}\n")
    assert json.loads(bad.stdout) == {"error": message, "exit_code": 1}


def test_home_depot_train_goes_in_as_labeled_pairs_with_titles(db_url):
    result = ingest_file(shared_file("home_depot/train.csv"), kind="pairs")
    assert (result.rows_accepted, result.rows_rejected) == (74_067, 0)
    with begin() as conn:
        pairs = datasets.read_pairs(conn, result.dataset_id)
        products = datasets.read_products(conn, result.dataset_id)
    assert pairs["query"].nunique() == 11_795 and len(products) == 54_667
    assert pairs["label"].between(1, 3).all() and abs(pairs["label"].mean() - 2.38) < 0.01


def test_esci_pairs_keep_three_languages_and_grade_esci_labels(db_url):
    result = ingest_file(shared_file("esci/esci_combined_pairs.csv"), kind="pairs")
    assert result.rows_accepted == 3353
    with begin() as conn:
        pairs = datasets.read_pairs(conn, result.dataset_id)
        products = datasets.read_products(conn, result.dataset_id)
    grades = pairs.groupby("label_raw")["label"].first().to_dict()
    assert grades == {"E": 3.0, "S": 2.0, "C": 1.0, "I": 0.0}
    assert products["title"].str.contains("[\u3040-\u30ff\u4e00-\u9fff]").any()  # Japanese
    assert products["title"].str.contains("[ñáéíóú]").any()  # Spanish
    assert "product_locale" in json.loads(products["attributes"][0])


@pytest.mark.parametrize("mapping, message", [
    ("{bad", 'error: --mapping is not JSON (Expecting property name enclosed in double quotes); write it as '
             '{"query": "search_term"}\n'),
    ("[1]", 'error: --mapping must be a JSON object of our field -> file column, e.g. {"query": "search_term"}\n'),
])
def test_cli_refuses_a_mapping_that_is_not_a_json_object(db_url, tmp_path, mapping, message, cli):
    out = cli("ingest", "catalog", str(_write(tmp_path, "c.csv", CATALOG)), "--mapping", mapping, "--json")
    assert (out.returncode, out.stderr) == (1, message)
    assert json.loads(out.stdout) == {"error": message.removeprefix("error: ").rstrip("\n"), "exit_code": 1}


def test_json_lines_rows_are_numbered_by_their_line(db_url, tmp_path):
    text = '{"query": "drill", "product_id": "p1", "label": 1}\n{"query": "", "product_id": "p2", "label": 0}\n' \
           '{"query": "saw", "product_id": "p3", "label": 0}\n'
    result = ingest_file(_write(tmp_path, "p.jsonl", text), kind="pairs")
    with begin() as conn:
        rejected = datasets.read_rejected_rows(conn, result.dataset_id)
    assert rejected[["line", "column_name", "reason"]].values.tolist() == [[2, "query", "missing query"]]
    assert result.rows_accepted == 2


@pytest.mark.parametrize("encoding, newline", [("utf-8", "\n"), ("utf-16", "\n"), ("utf-8", "\r\n")])
def test_empty_lines_and_unsplittable_rows_keep_later_line_numbers_right(db_url, tmp_path, encoding, newline):
    text = "product_id,title,price\np1,Drill,1\n\np2,Saw\n\np3,,2\np4,Lamp,x\n".replace("\n", newline)
    result = ingest_file(_write(tmp_path, "c.csv", text, encoding), kind="catalog")
    with begin() as conn:
        rejected = datasets.read_rejected_rows(conn, result.dataset_id)
    assert rejected[["line", "reason"]].values.tolist() == [
        [4, "too few columns"], [6, "empty title"], [7, "price is not a number"]]
