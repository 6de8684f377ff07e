"""The demo generator: seeded, deterministic, shaped like a shop's catalog and logs (issue 2)."""
import json

import numpy as np
import pandas as pd
import pytest

from storage import datasets
from storage.db import begin
from workbench import demo

pytestmark = pytest.mark.both_stores  # each storage test runs on DuckDB and on a real PostgreSQL (tests/stores.py)


def _generate(seed: int):
    rng = np.random.default_rng(seed)
    catalog = demo.make_catalog(rng)
    return catalog, demo.make_logs(catalog, rng)


def test_same_seed_gives_the_same_data_and_another_seed_does_not():
    catalog_a, logs_a = _generate(3)
    catalog_b, logs_b = _generate(3)
    pd.testing.assert_frame_equal(catalog_a, catalog_b)
    pd.testing.assert_frame_equal(logs_a, logs_b)
    assert not _generate(4)[1]["search_term"].equals(logs_a["search_term"])


def test_demo_db_holds_catalog_1_and_logs_2_linked(demo_db):
    with begin() as conn:
        catalog, logs = datasets.get_dataset(conn, 1), datasets.get_dataset(conn, 2)
        products, events = datasets.read_products(conn, 1), datasets.read_events(conn, 2)
    assert (catalog["kind"], logs["kind"], logs["catalog_dataset_id"]) == ("catalog", "logs", 1)
    assert len(products) >= 2000 and products["category"].nunique() >= 15
    assert products["brand"].notna().all() and (products["price"] > 0).all()
    attributes = products["attributes"].map(json.loads)
    assert {"color", "material", "size", "capacity"} <= set(attributes.iloc[0])
    assert len(events) >= 50_000 and (logs["rows_rejected"], catalog["rows_rejected"]) == (0, 0)
    never_searched = 1 - events["product_id"].nunique() / len(products)
    assert never_searched >= 0.10


def test_clicks_follow_position_bias_and_queries_have_head_and_tail():
    catalog, logs = _generate(0)
    by_position = logs.groupby("position")["clicked"].mean()
    assert by_position.is_monotonic_decreasing and by_position[1] > 5 * by_position[10]
    per_query = logs.groupby("search_term").size() // demo.RESULTS_PER_SEARCH
    assert per_query.max() >= 100  # head
    assert (per_query == 1).sum() >= 200  # tail: searched once
    titles = " ".join(catalog["title"].str.lower())
    misspelled = [q for q in per_query.index if any(w not in titles for w in q.split())]
    assert len(misspelled) >= 50


def test_clicks_are_driven_by_relevance():
    catalog, logs = _generate(0)
    titles = catalog.set_index("product_id")["title"].str.lower()
    shown = logs.assign(title=logs["product_id"].map(titles))
    matches = shown.apply(lambda r: all(w in r["title"].split() for w in r["search_term"].split()), axis=1)
    top = shown[shown["position"] <= 3]
    matched = top[matches[top.index]]["clicked"].mean()
    unmatched = top[~matches[top.index]]["clicked"].mean()
    assert matched > 2 * unmatched


def test_loading_the_demo_twice_adds_nothing(demo_db):
    again = demo.load_demo()
    assert (again.catalog_dataset_id, again.logs_dataset_id) == (1, 2)
    with begin() as conn:
        assert len(datasets.list_datasets(conn)) == 2
