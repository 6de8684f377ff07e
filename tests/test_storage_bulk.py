"""Bulk rows in and out (storage/bulk.py: COPY on PostgreSQL): awkward values come back exactly
as they went in, on both stores."""
import math

import pandas as pd
import pytest

from storage import datasets
from storage.db import begin

pytestmark = pytest.mark.both_stores

AWKWARD = pd.DataFrame({
    "dataset_id": [1, 1, 1, 1],
    "product_id": ["007", "p,2", 'p"3', "p4"],
    "title": ["", "two\nlines", 'a "quoted" title, with a comma', "水管 3/4 in. ✓"],
    "description": [None, "NULL", "\\N", "tab\there"],
    "category": [None, None, "", "tools"],
    "brand": ["Acme", None, None, None],
    "price": [1.5, None, 0.0, 1e-9],
    "attributes": ['{"a": 1}', None, "{}", None],
})


def test_awkward_values_survive_a_bulk_insert_and_read(db_url):
    with begin() as conn:
        datasets.insert_dataset_rows(conn, "products", AWKWARD)
    with begin() as conn:
        back = datasets.read_products(conn, 1)
    expected = AWKWARD.drop(columns="dataset_id").sort_values("product_id").reset_index(drop=True)
    text = ["product_id", "title", "description", "category", "brand", "attributes"]
    assert back[text].astype(object).where(back[text].notna(), None).values.tolist() == \
        expected[text].astype(object).where(expected[text].notna(), None).values.tolist()
    # Sorted by product_id: 007, p"3, p,2, p4.
    prices = back["price"].tolist()
    assert prices[:2] == [1.5, 0.0] and math.isnan(prices[2]) and prices[3] == 1e-9


def test_a_read_that_matches_nothing_has_the_query_columns(db_url):
    with begin() as conn:
        assert list(datasets.read_products(conn, 99).columns) == datasets.PRODUCT_COLUMNS
        assert datasets.read_products(conn, 99).empty
