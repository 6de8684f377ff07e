"""storage/datasets.py: the read functions other parts build on (the contract in the brief)."""
import re

import pytest

from storage import datasets
from storage.db import begin
from storage.errors import NotFound

pytestmark = pytest.mark.both_stores  # each test runs on DuckDB and on a real PostgreSQL (tests/stores.py)


def test_reads_return_the_contract_columns(demo_db):
    with begin() as conn:
        assert list(datasets.read_products(conn, 1).columns) == [
            "product_id", "title", "description", "category", "brand", "price", "attributes"]
        assert list(datasets.read_events(conn, 2).columns) == [
            "query", "product_id", "position", "clicked", "added_to_cart", "purchased", "session_id", "timestamp",
            "user_id"]
        assert list(datasets.read_pairs(conn, 2).columns) == ["query", "product_id", "label_raw", "label"]
        assert datasets.read_pairs(conn, 2).empty


def test_list_datasets_newest_first_and_by_kind(demo_db):
    with begin() as conn:
        assert datasets.list_datasets(conn)["id"].tolist() == [2, 1]
        assert datasets.list_datasets(conn, kind="logs")[["id", "kind", "catalog_dataset_id"]].values.tolist() == [
            [2, "logs", 1]]
        assert datasets.list_datasets(conn, kind="pairs").empty


def test_get_dataset_of_an_unknown_id_says_where_datasets_come_from(db_url):
    message = "no dataset with id 7; the Data page or `python -m workbench ingest` adds one"
    with begin() as conn, pytest.raises(NotFound, match=re.escape(message)):
        datasets.get_dataset(conn, 7)


def test_delete_dataset_removes_its_rows_and_nothing_else(demo_db):
    with begin() as conn:
        before = datasets.count_table_rows(conn)
        datasets.delete_dataset(conn, 2)
        after = datasets.count_table_rows(conn)
    assert after["search_events"] == 0 and after["datasets"] == 1
    assert after["products"] == before["products"] and before["search_events"] >= 50_000
