"""Review in storage: filter, page, count, accept/reject one, a list or every match, undo, save a set (issue 3)."""
from __future__ import annotations

import pandas as pd
import pytest

from storage import candidates as stored
from storage.actor import acting_as
from storage.db import begin
from storage.errors import NotFound
from storage.samples import create_sample_set, insert_samples
from storage.candidates import CandidateFilter as F

pytestmark = pytest.mark.both_stores  # each test runs on DuckDB and on a real PostgreSQL (tests/stores.py)


@pytest.fixture
def run_id(db_url) -> int:
    """4 train samples; 40 candidates: 20 keyboard typos scored 0.00..0.19, 20 word swaps scored 0.50..0.88."""
    samples = pd.DataFrame({"sample_id": range(4), "query": [f"query {i}" for i in range(4)],
                            "product_id": [f"p{i}" for i in range(4)], "product_text": [f"product {i}" for i in range(4)],
                            "category": None, "label": [1.0, 0.0, 1.0, 0.0], "split": "train", "cold_start": False})
    frame = pd.DataFrame({
        "sample_id": [i % 4 for i in range(40)],
        "augmenter": ["keyboard_typo"] * 20 + ["word_swap"] * 20,
        "params": '{"per_sample": 1}', "seed": 0, "field": "query",
        "original": [f"query {i % 4}" for i in range(40)],
        "query": [f"qurey {i}" for i in range(40)],
        "product_id": [f"p{i % 4}" for i in range(40)],
        "product_text": [f"product {i % 4}" for i in range(40)],
        "label": [float(i % 2) for i in range(40)],
        "score": [i / 100 for i in range(20)] + [0.5 + i / 50 for i in range(20)],
    })
    with begin() as conn:
        set_id = create_sample_set(conn, "s", 1, {"label_kind": "binary"}, {})
        insert_samples(conn, set_id, samples)
        run = stored.create_augment_run(conn, set_id, {"name": "r"}, 0, len(frame), {"duplicate": 2})
        stored.insert_candidates(conn, run, frame)
    return run


def count(run_id, **where) -> int:
    with begin() as conn:
        return stored.count_candidates(conn, run_id, F(**where))


def act(run_id, where, status):
    with begin() as conn:
        return stored.set_candidate_status(conn, run_id, where, status, f"{status} test")


def undo(run_id):
    with begin() as conn:
        return stored.undo_last_action(conn, run_id)


def test_filter_and_page_in_sql(run_id):
    assert count(run_id) == 40
    assert count(run_id, augmenters=["word_swap"]) == 20
    assert count(run_id, min_score=0.5) == 20
    assert count(run_id, min_score=0.1, max_score=0.6) == 15
    with begin() as conn:
        page = stored.read_candidates_page(conn, run_id, F(augmenters=["keyboard_typo"]), offset=5, limit=10)
    assert page["query"].tolist() == [f"qurey {i}" for i in range(5, 15)]
    assert page["source_query"].tolist() == [f"query {i % 4}" for i in range(5, 15)]


def test_accept_one_a_list_and_every_match(run_id):
    with begin() as conn:
        first = stored.read_candidates_page(conn, run_id, limit=3)["candidate_id"].tolist()
    assert act(run_id, F(ids=first[:1]), "accepted")[1] == 1
    assert act(run_id, F(ids=first), "rejected")[1] == 3
    assert act(run_id, F(augmenters=["word_swap"], min_score=0.8), "accepted")[1] == 5
    assert (count(run_id, status="accepted"), count(run_id, status="rejected"), count(run_id, status="pending")) == (5, 3, 32)


def test_undo_restores_the_statuses_of_the_last_action_only(run_id):
    act(run_id, F(min_score=0.1), "accepted")  # 10 typos (0.10..0.19) and all 20 swaps
    assert count(run_id, status="accepted") == 30
    act(run_id, F(), "rejected")
    assert count(run_id, status="rejected") == 40
    undone = undo(run_id)
    assert undone["description"] == "rejected test" and undone["restored"] == 40
    assert (count(run_id, status="accepted"), count(run_id, status="pending")) == (30, 10)
    assert undo(run_id)["restored"] == 30
    assert count(run_id, status="pending") == 40
    assert undo(run_id) is None


def test_a_review_action_records_who_did_it_when_someone_is_logged_in(run_id):
    act(run_id, F(min_score=0.8), "accepted")
    with begin() as conn:
        assert stored.last_review_action(conn, run_id)["actor"] is None  # no login: nobody to name
    with acting_as("ana@example.com"):
        act(run_id, F(), "rejected")
    with begin() as conn:
        action = stored.last_review_action(conn, run_id)
    assert (action["description"], action["actor"]) == ("rejected test", "ana@example.com")


def test_summary_counts_by_augmenter(run_id):
    act(run_id, F(min_score=0.8), "accepted")
    with begin() as conn:
        summary = stored.summarize_candidates(conn, run_id)
        augmenters = stored.list_augmenters(conn, run_id)
    assert augmenters == ["keyboard_typo", "word_swap"]
    assert summary[["augmenter", "candidates", "pending", "accepted", "rejected"]].values.tolist() == [
        ["keyboard_typo", 20, 20, 0, 0], ["word_swap", 20, 15, 5, 0]]
    assert summary["mean_score"].tolist() == pytest.approx([0.095, 0.69])


def test_save_accepted_as_a_named_set(run_id):
    act(run_id, F(min_score=0.8), "accepted")
    with begin() as conn:
        set_id = stored.save_augmented_set(conn, run_id, "swaps")
        info = stored.get_augmented_set(conn, set_id)
        members = stored.read_augmented_set(conn, set_id)
        listed = stored.list_augmented_sets(conn, sample_set_id=info["sample_set_id"])
        provenance = stored.read_augmented_set(conn, set_id, provenance=True)
    assert (info["name"], info["size"], info["augment_run_id"]) == ("swaps", 5, run_id)
    assert members["query"].tolist() == [f"qurey {i}" for i in range(35, 40)]
    assert listed["id"].tolist() == [set_id]
    assert provenance["source_query"].tolist() == [f"query {i % 4}" for i in range(35, 40)]
    # Later review changes do not change a saved set.
    act(run_id, F(), "rejected")
    with begin() as conn:
        assert len(stored.read_augmented_set(conn, set_id)) == 5


def test_saving_the_same_accepted_candidates_twice_names_the_set_instead_of_copying_it(run_id):
    from workbench import review

    act(run_id, F(min_score=0.8), "accepted")
    assert review.saved_as(run_id) is None
    set_id, _, made = review.save(run_id, "swaps")
    assert made and review.saved_as(run_id) == set_id  # the page turns Save off and says which set holds them
    again, message, made = review.save(run_id, "swaps again")
    assert (again, made) == (set_id, False)
    assert message == (f"Not saved: augmented set {set_id} already holds these 5 accepted samples. Accept or reject "
                       "candidates to save a different set.")
    act(run_id, F(), "rejected")
    assert review.saved_as(run_id) is None  # the accepted candidates changed: Save is on again


def test_unknown_ids_are_named(db_url):
    with begin() as conn, pytest.raises(NotFound, match="no augmented set with id 9"):
        stored.get_augmented_set(conn, 9)
    with begin() as conn, pytest.raises(NotFound, match="no augment run with id 9"):
        stored.get_augment_run(conn, 9)
