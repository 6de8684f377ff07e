"""Each filter of the augment pipeline, the leakage guard, the string score and change marking (issue 3)."""
from __future__ import annotations

import pandas as pd
import pytest

from workbench.augment.filters import (EvalIndex, FilterConfig, check_rows, repeat_reasons, row_reasons,
                                       string_similarity)
from workbench.augment.review_table import mark_changes
from workbench.queries import query_key, text_key

SAMPLES = pd.DataFrame({
    "sample_id": [0, 1, 2, 3, 4],
    "query": ["cordless drill 18v", "samsung galaxy 128gb", "garden hose 3/4 in.", "led bulb", "hose reel cart"],
    "product_id": ["p0", "p1", "p2", "p9", "p3"],
    "split": ["train", "train", "val", "test", "test"],
    "cold_start": [False, False, False, True, False],
})


def candidate(query, original="cordless drill 18v", augmenter="keyboard_typo", field="query", product_id="p0",
              product_text="DeWalt drill"):
    return {"sample_id": 0, "augmenter": augmenter, "field": field, "original": original, "query": query,
            "product_id": product_id, "product_text": product_text, "label": 1.0, "score": None}


@pytest.mark.parametrize("row, reason", [
    (candidate("cordles drill 18v"), ""),
    (candidate("   "), "empty"),
    (candidate("d"), "too_short"),
    (candidate("cordless drill 18v " + "x" * 120), "too_long"),
    (candidate("cordless drill 18v"), "unchanged"),
    (candidate("Cordless  Drill, 18V"), "near_duplicate"),
    (candidate("cordless drill 18b"), "protected_token"),  # "18v" is a size: a typo there changes the product
    (candidate("samsung galaxy 128 gb", original="samsung galaxy 128gb"), "protected_token"),
    (candidate("Garden Hose 3/4 in.", original="garden hse 3/4 in."), "leakage"),  # the val query, normalised
    (candidate("garden hoze 3/4 in.", original="garden hse 3/4 in."), "leakage"),  # one edit from the val query
    (candidate("cart hose reel", original="reel hose cart", augmenter="word_swap"), "leakage"),  # same words
    (candidate("led bulbs", original="led bulb", product_id="p9"), "leakage"),  # p9 is a cold-start product
    (candidate("cordless drill 18v", field="product", product_id="p1"), ""),  # a new pairing: no text check
    (candidate("hammer drill set", augmenter="pseudo_query", original="cordless drill 18v"), ""),  # new text: no token check
])
def test_row_reasons(row, reason):
    frame = pd.DataFrame([row])
    assert row_reasons(frame, FilterConfig(), EvalIndex.build(SAMPLES)).tolist() == [reason]


def test_guards_can_be_switched_off():
    frame = pd.DataFrame([candidate("cordless drill 18b"), candidate("garden hoze 3/4 in.", original="garden hse 3/4 in.")])
    config = FilterConfig(protect_tokens=False, leakage_guard=False)
    assert row_reasons(frame, config, EvalIndex.build(SAMPLES)).tolist() == ["", ""]


def test_product_text_length_bound_is_its_own():
    frame = pd.DataFrame([candidate("q", field="product_text", original="DeWalt drill", product_text="DeWalt drll " * 10)])
    assert row_reasons(frame, FilterConfig(max_product_chars=50), None).tolist() == ["too_long"]


def test_duplicates_keep_the_first_and_drop_known_samples():
    frame = pd.DataFrame([
        candidate("cordles drill 18v"),
        candidate("cordles drill 18v"),  # exact repeat
        candidate("Cordles drill 18v!"),  # same after normalising
        candidate("cordless drill 18v", field="product", product_id="p1"),  # pairing that is not a sample yet
        candidate("samsung galaxy 128gb", field="product", product_id="p1"),  # that sample exists already
    ])
    reasons, keys = check_rows(frame, FilterConfig(), EvalIndex.build(SAMPLES))
    assert reasons.tolist() == ["", "", "", "", "duplicate"]
    assert repeat_reasons(frame[:4], keys[:4]).tolist() == ["", "duplicate", "near_duplicate", ""]


def test_text_key_folds_punctuation_but_keeps_numbers_whole():
    assert text_key("Garden  HOSE, 3/4 in. (1.5 ft)") == "garden hose 3/4 in 1.5 ft"
    assert text_key("ＬＥＤ　bulb") == "led bulb"  # full-width letters and spaces


def test_query_key_folds_case_and_spacing_only():
    assert query_key("  Garden  HOSE, 3/4 in. ") == "garden hose, 3/4 in."


def test_string_similarity_scores_a_word_swap_as_the_same():
    scores = string_similarity(["cordless drill", "cordless drill", "cordless drill"],
                               ["drill cordless", "cordles drill", "garden hose"])
    assert scores[0] == pytest.approx(1.0)
    assert 0.9 < scores[1] < 1.0
    assert scores[2] < 0.5


@pytest.mark.parametrize("original, augmented, marked", [
    ("cordless drill 18v", "cordles drill 18v", "«cordles» drill 18v"),
    ("red garden hose", "garden hose", "«-red» garden hose"),
    ("dishwasher", "dish washer", "«dish» «washer»"),
    ("<b>x</b> =SUM(A1)", "<b>y</b> =SUM(A1)", "«<b>y</b>» =SUM(A1)"),  # text as it is: never HTML
    ("华为手机 128gb", "华为手札 128gb", "华为手«札» 128gb"),  # Chinese: by character
    ("蓝牙耳机", "蓝牙 耳机", "蓝牙耳机"),  # a split only adds a space: no word changed
])
def test_mark_changes(original, augmented, marked):
    assert mark_changes(original, augmented) == marked
