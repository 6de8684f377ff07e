"""Sample sets: label rules, the split by query, the cold-start holdout, storage and the CLI (issue 3)."""
from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from storage.db import begin
from storage.samples import get_sample_set, read_samples
from workbench.errors import BadInput
from workbench.queries import query_keys
from workbench.samples import (LabelRule, SampleConfig, build_sample_set, label_events, label_pairs, make_samples,
                               parse_label_rule, product_texts, rule_for)

pytestmark = pytest.mark.both_stores  # each storage test runs on DuckDB and on a real PostgreSQL (tests/stores.py)


@pytest.mark.parametrize("text, expected", [
    ("cut:2.5", LabelRule(kind="cut", threshold=2.5)),
    ("graded", LabelRule(kind="graded")),
    ("graded:round", LabelRule(kind="graded", round_grades=True)),
    ("map:E=3,S=2,C=1,I=0", LabelRule(kind="map", mapping={"E": 3.0, "S": 2.0, "C": 1.0, "I": 0.0})),
    ("clicks:min_clicks=2", LabelRule(kind="clicks", min_clicks=2)),
    ("", None),
])
def test_parse_label_rule(text, expected):
    assert parse_label_rule(text) == expected


@pytest.mark.parametrize("text, message", [
    ("cut:high", "label rule 'cut:high': 'high' is not a number"),
    ("map:E3", "label rule 'map:E3': 'E3' is not RAW=NUMBER"),
    ("graded:floor", "label rule 'graded:floor': 'graded' takes only ':round', got 'floor'"),
    ("clicks:min_views=2", "label rule 'clicks:min_views=2': unknown threshold 'min_views'"),
    ("stars", "label rule 'stars': unknown kind 'stars'"),
])
def test_parse_label_rule_errors_name_the_rule(text, message):
    with pytest.raises(BadInput, match=re.escape(message)):
        parse_label_rule(text)


def test_label_kind_follows_the_rule():
    assert parse_label_rule("cut:2.5").label_kind == "binary"
    assert parse_label_rule("map:E=1,S=1,C=0,I=0").label_kind == "binary"
    assert parse_label_rule("map:E=3,S=2,C=1,I=0").label_kind == "graded"


def test_events_clicked_or_purchased_positive_shown_only_negative():
    events = pd.DataFrame({
        "query": ["drill", "drill", "drill", "drill", "saw", "saw"],
        "product_id": ["p1", "p1", "p2", "p3", "p1", "p2"],
        "clicked": [True, False, False, False, False, True],
        "purchased": [False, False, False, True, False, False],
    })
    labeled, stats = label_events(events, LabelRule(kind="clicks"))
    got = {(q, p): label for q, p, label in labeled.itertuples(index=False)}
    assert got == {("drill", "p1"): 1.0, ("drill", "p2"): 0.0, ("drill", "p3"): 1.0, ("saw", "p1"): 0.0, ("saw", "p2"): 1.0}
    assert stats == {"ambiguous_pairs": 0}
    # Two clicks needed: one click is neither positive nor a shown-only negative.
    labeled, stats = label_events(events, LabelRule(kind="clicks", min_clicks=2, min_purchases=5))
    assert set(labeled["label"]) == {0.0} and stats == {"ambiguous_pairs": 3}


def test_pairs_cut_graded_and_mapping():
    pairs = pd.DataFrame({"query": ["a", "a", "b", "b"], "product_id": ["1", "2", "1", "2"],
                          "label_raw": ["3", "2.33", "E", "I"], "label": [3.0, 2.33, 3.0, 0.0]})
    cut, _ = label_pairs(pairs, parse_label_rule("cut:2.5"))
    assert cut["label"].tolist() == [1.0, 0.0, 1.0, 0.0]
    rounded, _ = label_pairs(pairs, parse_label_rule("graded:round"))
    assert rounded["label"].tolist() == [3.0, 2.0, 3.0, 0.0]
    mapped, stats = label_pairs(pairs, parse_label_rule("map:E=1,I=0"))
    assert mapped["label"].tolist() == [1.0, 0.0] and stats["unlabeled_pairs"] == 2


def test_mapping_that_matches_nothing_names_the_raw_labels():
    pairs = pd.DataFrame({"query": ["a"], "product_id": ["1"], "label_raw": ["Exact"], "label": [2.0]})
    with pytest.raises(BadInput, match=re.escape("label rule 'map:E=3' maps none of the raw labels; the dataset has 'Exact'")):
        label_pairs(pairs, parse_label_rule("map:E=3"))


def test_product_text_adds_brand_and_category_unless_in_the_title():
    products = pd.DataFrame({"product_id": ["1", "2"], "title": ["Toro Mower 22 in.", "Drill"],
                             "brand": ["Toro", "DeWalt"], "category": ["Garden", None]})
    assert product_texts(products)["product_text"].tolist() == ["Toro Mower 22 in. | Garden", "Drill | DeWalt"]


def test_html_character_references_are_decoded_in_titles_brands_and_queries():
    products = pd.DataFrame({"product_id": ["1", "2"], "title": ["Briggs &amp; Stratton Engine", "Baker&#39;s Rack"],
                             "brand": ["Steves &amp; Sons", None]})
    assert product_texts(products)["product_text"].tolist() == ["Briggs & Stratton Engine | Steves & Sons", "Baker's Rack"]
    labeled = pd.DataFrame({"query": ["b&amp;d drill", "r&d lab"], "product_id": ["1", "2"], "label": [1.0, 0.0]})
    frame, _ = make_samples(labeled, products, SampleConfig(val_share=0.0, test_share=0.0))
    assert sorted(frame["query"]) == ["b&d drill", "r&d lab"]


def _labeled(n_queries=60, per_query=4):
    rows = [(f"query {q}" if q % 7 else f"Query  {q // 7}", f"p{(q * per_query + i) % 90}", float(i % 2))
            for q in range(n_queries) for i in range(per_query)]
    labeled = pd.DataFrame(rows, columns=["query", "product_id", "label"]).drop_duplicates(["query", "product_id"])
    products = pd.DataFrame({"product_id": [f"p{i}" for i in range(90)], "title": [f"product {i}" for i in range(90)]})
    return labeled, products


def test_split_is_seeded_and_no_query_is_in_two_splits():
    labeled, products = _labeled()
    frame, summary = make_samples(labeled, products, SampleConfig(seed=3))
    again, _ = make_samples(labeled, products, SampleConfig(seed=3))
    other, _ = make_samples(labeled, products, SampleConfig(seed=4))
    pd.testing.assert_frame_equal(frame, again)
    assert not frame["split"].equals(other["split"])
    splits_per_query = frame.groupby(query_keys(frame["query"]))["split"].nunique()
    assert splits_per_query.max() == 1  # "Query  1" and "query 1" are one query
    assert summary["train"] + summary["val"] + summary["test"] == len(frame) == summary["samples"]
    assert summary["val"] > 0 and summary["test"] > 0


def test_cold_start_products_never_in_train_and_flagged_elsewhere():
    labeled, products = _labeled()
    frame, summary = make_samples(labeled, products, SampleConfig(seed=1, cold_start_share=0.2))
    cold = set(frame.loc[frame["cold_start"], "product_id"])
    assert cold and not cold & set(frame.loc[frame["split"] == "train", "product_id"])
    assert frame.loc[frame["product_id"].isin(cold), "cold_start"].all()
    assert summary["cold_start_products"] == len(cold)
    assert summary["cold_start_samples"] == int(frame["cold_start"].sum())


def test_build_from_demo_logs_stores_the_set(demo_db):
    progress = []
    result = build_sample_set(2, SampleConfig(seed=0, cold_start_share=0.1), on_progress=lambda *a: progress.append(a))
    with begin() as conn:
        stored = get_sample_set(conn, result.sample_set_id)
        samples = read_samples(conn, result.sample_set_id)
    assert stored["config"]["label_kind"] == "binary" and stored["config"]["label_rule"].startswith("clicks")
    assert len(samples) == result.summary["samples"]
    assert set(samples["label"]) == {0.0, 1.0}
    assert samples["product_text"].str.len().min() > 0
    assert not set(samples.loc[samples["cold_start"], "product_id"]) & set(samples.loc[samples["split"] == "train", "product_id"])
    assert progress[-1] == (4, 4, "done")


def test_build_refuses_a_catalog_and_a_rule_for_the_other_kind(demo_db):
    with pytest.raises(BadInput, match=re.escape("dataset 1 (")):
        build_sample_set(1)
    with pytest.raises(BadInput, match=re.escape("label rule 'cut:2.5' does not fit a logs dataset")):
        build_sample_set(2, SampleConfig(label_rule="cut:2.5"))


def test_build_from_graded_pairs_file(db_url, tmp_path):
    from workbench.ingest import ingest_file

    path = tmp_path / "esci.csv"
    rows = ["query,product_id,label,title,brand"] + [
        f"query {q},P{q}{i},{'ESCI'[i]},Title {q} {i},Brand{i}" for q in range(30) for i in range(4)
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    dataset_id = ingest_file(path, kind="pairs").dataset_id
    result = build_sample_set(dataset_id, SampleConfig(label_rule="map:E=3,S=2,C=1,I=0"))
    with begin() as conn:
        samples = read_samples(conn, result.sample_set_id)
        config = get_sample_set(conn, result.sample_set_id)["config"]
    assert config["label_kind"] == "graded"
    assert sorted(samples["label"].unique()) == [0.0, 1.0, 2.0, 3.0]
    assert samples.loc[samples["product_id"] == "P01", "product_text"].item() == "Title 0 1 | Brand1"


def test_cli_samples_build_json(demo_db, cli):
    out = cli("samples", "build", "--dataset", "2", "--seed", "1", "--cold-start", "0.1", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"sample_set_id", "train", "val", "test", "cold_start_products"} <= set(result)
    assert result["sample_set_id"] == 1 and result["cold_start_products"] > 0
    listed = cli("samples", "list", "--json")
    assert [s["id"] for s in json.loads(listed.stdout.strip().splitlines()[-1])["sample_sets"]] == [1]


def test_cli_bad_rule_is_one_line_and_exit_1(demo_db, cli):
    out = cli("samples", "build", "--dataset", "2", "--label-rule", "cut:x")
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1].startswith("error: label rule 'cut:x': 'x' is not a number")


@pytest.mark.parametrize("text, kind, meaning", [
    ("cut:2.5", "pairs", "A pair is relevant (1) when its label is 2.5 or more, otherwise not relevant (0)."),
    ("", "pairs", "Each pair keeps its numeric label as a grade: higher is more relevant."),
    ("graded:round", "pairs", "Each pair keeps its numeric label as a grade, rounded to a whole grade (2.67 becomes 3): higher is more relevant."),
    ("map:E=1,S=0", "pairs", "E becomes 1, S becomes 0; a pair with any other label is set aside."),
    ("clicks:min_purchases=2", "logs", "A query-product pair is relevant (1) when it was clicked at least 1 time or bought at least "
                                       "2 times; shown at least 1 time and never clicked or bought, it is not relevant (0)."),
])  # fmt: skip
def test_a_label_rule_reads_in_plain_words(text, kind, meaning):
    assert rule_for(text, kind).meaning == meaning


def test_a_rule_for_the_other_kind_of_dataset_is_refused_before_any_build():
    with pytest.raises(BadInput, match="label rule 'clicks:.*' does not fit a pairs dataset"):
        rule_for("clicks", "pairs")


def test_what_was_set_aside_reads_in_the_right_number():
    """'1 pairs were duplicates' read as a slip; one and many have their own words."""
    from workbench.wording import DROP_REASONS, SAMPLE_REASONS, in_words

    assert in_words({"duplicate_pairs": 1, "unlabeled_pairs": 3}, SAMPLE_REASONS) == (
        "3 pairs had no label the rule could read; 1 pair was a duplicate")
    assert in_words({"empty": 1, "too_long": 2, "leakage": 0}, DROP_REASONS) == "2 were too long; 1 was empty"
    assert in_words({}, DROP_REASONS) == "nothing"


@pytest.mark.parametrize("text, why", [("cut:abc", "'abc' is not a number"), ("map:E=x,I=0", "'x' is not a number"),
                                       ("clicks:min_clicks=two", "'two' is not a whole number")])
def test_a_label_rule_with_a_word_for_a_number_says_so_in_words(text, why):
    """'could not convert string to float' was Python's text, not ours."""
    with pytest.raises(BadInput, match=f"^label rule '{re.escape(text)}': {why}; expected "):
        parse_label_rule(text)


def test_missing_values_are_empty_cells_on_the_page():
    from workbench.wording import blanks_for_missing

    frame = pd.DataFrame({"id": [1, 2], "catalog": [1.0, None], "category": ["tools", None], "rows": [10, 20]})
    shown = blanks_for_missing(frame)
    assert shown["catalog"].tolist() == ["1", ""] and shown["category"].tolist() == ["tools", ""]
    assert shown["rows"].tolist() == [10, 20] and shown["id"].dtype == frame["id"].dtype  # complete columns unchanged
