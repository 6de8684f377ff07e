"""The Augment and Review pages, driven with AppTest on the demo data: recipe, generate, then on
Review: the run by name, drop reasons in words, rows picked in the table, bulk actions that act on
exactly the on-screen filter and say how many rows first, undo, save, download (issues 3, 13)."""
import pytest
from streamlit.testing.v1 import AppTest

from storage import candidates as stored
from storage.db import begin
from tests.pages_support import away_and_back, links, open_page
from workbench.samples import SampleConfig, build_sample_set


def count(run_id, **where):
    with begin() as conn:
        return stored.count_candidates(conn, run_id, stored.CandidateFilter(**where))


@pytest.fixture
def sample_set(demo_db) -> int:
    return build_sample_set(2, SampleConfig(seed=0)).sample_set_id


def _generate(sources: int = 60) -> AppTest:
    at = open_page("pages/augment.py")
    at.number_input(key="augment_max_sources").set_value(sources)
    return at.button(key="augment_generate").click().run()


def _select_rows(at: AppTest, positions: list[int]) -> AppTest:
    at.session_state[at.session_state["_review_table"]] = {"selection": {"rows": positions, "columns": [], "cells": []}}
    return at.run()


def test_without_a_sample_set_the_page_says_what_to_do(db_url):
    at = open_page("pages/augment.py")
    assert not at.exception
    assert at.info[0].value == "No sample sets yet: build one on the Samples page first."
    review = open_page("pages/review.py")
    assert not review.exception and review.info[0].value == "No candidates yet: generate some on 3 Augment."


def test_generate_says_what_was_dropped_in_words_and_links_to_its_review(sample_set):
    at = _generate()
    assert not at.exception
    message = at.success[0].value
    assert message.startswith("Run 1: ") and "Dropped: " in message and "{" not in message
    assert links(at) == ["Next: 3b Review: review, accept and save run 1's candidates"]


def test_review_acts_on_exactly_the_rows_on_screen(sample_set):
    _generate()
    at = open_page("pages/review.py", {"run": 1})
    assert not at.exception
    assert at.selectbox(key="review_run").format_func(1).startswith("Run 1: typo robustness (")
    assert "Dropped by the filters: " in at.main.caption[0].value and "{" not in at.main.caption[0].value
    table = at.dataframe[1].value
    assert {"original", "augmented («changed»)", "score", "params", "seed"} <= set(table.columns)

    # The filter on screen: one augmenter. "Accept pending >= 0.9" counts and acts on that augmenter only
    # (issue 13: it accepted 758 rows across every augmenter while the view showed 289).
    at.multiselect(key="review_augmenters").set_value(["keyboard_typo"]).run()
    at.number_input(key="review_accept_score").set_value(0.9).run()
    typos_high = count(1, augmenters=["keyboard_typo"], min_score=0.9)
    assert count(1, min_score=0.9) > typos_high > 0
    button = at.button(key="review_accept_above")
    assert button.label == f"Accept {typos_high:,} pending matching, score at least 0.9"
    button.click().run()
    assert count(1, status="accepted") == typos_high == count(1, status="accepted", augmenters=["keyboard_typo"])
    assert at.success[0].value.startswith(f"Accept {typos_high:,} pending matching, score at least 0.9: {typos_high:,} rows")

    # Undo, then accept every match of the filter: the button names the count first.
    at.button(key="review_undo").click().run()
    assert count(1, status="accepted") == 0 and at.success[0].value.startswith("Undid 'Accept")
    typos = count(1, augmenters=["keyboard_typo"])
    assert at.button(key="review_accept_matching").label == f"Accept all {typos:,} matching"
    at.button(key="review_accept_matching").click().run()
    assert count(1, status="accepted") == typos


def test_rows_are_picked_in_the_table_itself(sample_set):
    _generate()
    at = open_page("pages/review.py", {"run": 1})
    assert at.button(key="review_reject_selected").disabled  # nothing picked yet
    ids = at.dataframe[1].value["id"].tolist()
    at = _select_rows(at, [0, 2])
    assert at.button(key="review_reject_selected").label == "Reject 2 selected"
    at.button(key="review_reject_selected").click().run()
    with begin() as conn:
        rejected = stored.read_candidates_page(conn, 1, stored.CandidateFilter(status="rejected"))
    assert rejected["candidate_id"].tolist() == [ids[0], ids[2]]


def test_a_selection_never_outlives_the_rows_it_picked(sample_set):
    """Ticks were kept by position: a tick on page 1's first row became page 3's first row, and
    "Reject 1 selected" rejected a candidate the user never saw picked."""
    _generate()
    at = open_page("pages/review.py", {"run": 1})
    assert count(1) > 50  # two pages
    at = _select_rows(at, [0])
    assert at.button(key="review_reject_selected").label == "Reject 1 selected"
    at.number_input(key="review_page").set_value(2).run()  # another page
    assert at.button(key="review_reject_selected").label == "Reject 0 selected"
    assert at.button(key="review_reject_selected").disabled
    at.number_input(key="review_page").set_value(1).run()  # and back: the tick is gone, not restored by position
    assert at.button(key="review_reject_selected").disabled

    at = _select_rows(at, [0])
    at.selectbox(key="review_status").set_value("pending").run()  # another filter
    assert at.button(key="review_accept_selected").disabled

    ids = at.dataframe[1].value["id"].tolist()
    at = _select_rows(at, [1])
    at.button(key="review_accept_selected").click().run()  # an action: the rows change under the same positions
    assert at.success[0].value == "Accept 1 selected: 1 row now accepted."
    assert at.button(key="review_accept_selected").disabled and at.button(key="review_reject_selected").disabled
    with begin() as conn:
        accepted = stored.read_candidates_page(conn, 1, stored.CandidateFilter(status="accepted"))
    assert accepted["candidate_id"].tolist() == [ids[1]]


def test_save_selects_the_new_set_and_links_to_train(sample_set):
    _generate()
    at = open_page("pages/review.py", {"run": 1})
    at.button(key="review_accept_matching").click().run()
    accepted = count(1, status="accepted")
    at.text_input(key="save_name").set_value("typos").run()
    assert at.button(key="save_set").label == f"Save {accepted:,} accepted as a set"
    at.button(key="save_set").click().run()
    assert not at.exception
    assert at.success[0].value == f"Saved augmented set 1: {accepted:,} samples."
    assert at.selectbox(key="download_set").value == 1
    assert at.selectbox(key="download_set").format_func(1) == f"1: typos ({accepted:,} samples)"  # names repeat, ids do not
    # The same accepted candidates again would make an identical copy: Save is off, and says why.
    assert at.button(key="save_set").disabled
    assert f"These {accepted:,} accepted candidates are saved as augmented set 1." in [c.value for c in at.caption]
    with begin() as conn:
        assert stored.list_augmented_sets(conn)["id"].tolist() == [1]
    assert links(at) == ["Next: 4 Train: train with and without this set"]
    assert "augmented=1" in at.get("page_link")[0].proto.query_string.split("&")  # Train opens with the set chosen
    assert [b.proto.label for b in at.get("download_button")] == ["Download CSV", "Download Parquet"]


def test_bad_parameters_json_is_shown(sample_set):
    at = open_page("pages/augment.py")
    at.text_area(key="augment_params").set_value("{not json")
    at.button(key="augment_generate").click().run()
    assert not at.exception
    assert at.error[0].value == "parameters (JSON), line 1, column 2: Expecting property name enclosed in double quotes"
    at.text_area(key="augment_params").set_value('{"word_swap": {"word_p": 0.2}}')
    at.button(key="augment_generate").click().run()
    assert at.error[0].value == ("parameters (JSON): word\\_swap not among the chosen augmenters; "
                                 "add them or remove their parameters")



def test_the_recipe_survives_a_visit_to_another_page(sample_set):
    """Source samples went back to 2000 and Parameters to {} after a visit to 3b Review (audit item 7)."""
    at = open_page("pages/augment.py")
    preset = at.selectbox(key="augment_preset").value
    at.number_input(key="augment_max_sources").set_value(300)
    at.number_input(key="augment_seed").set_value(7)
    at.text_area(key="augment_params").set_value('{"keyboard_typo": {"rate": 0.2}}')
    at.multiselect(key=f"augment_steps_{preset}").set_value(["keyboard_typo"])
    at.number_input(key=f"augment_per_sample_{preset}").set_value(3)
    at.slider(key=f"augment_min_score_{preset}").set_value(0.8).run()
    at = away_and_back(at, "pages/review.py", "pages/augment.py")
    assert not at.exception
    assert at.number_input(key="augment_max_sources").value == 300
    assert at.number_input(key="augment_seed").value == 7
    assert at.text_area(key="augment_params").value == '{"keyboard_typo": {"rate": 0.2}}'
    assert at.multiselect(key=f"augment_steps_{preset}").value == ["keyboard_typo"]
    assert at.number_input(key=f"augment_per_sample_{preset}").value == 3
    assert at.slider(key=f"augment_min_score_{preset}").value == pytest.approx(0.8)
    at.selectbox(key="augment_preset").set_value("by hand").run()
    at = away_and_back(at, "pages/samples.py", "pages/augment.py")
    assert at.selectbox(key="augment_preset").value == "by hand"


def test_a_bad_parameter_is_shown_and_the_rest_of_the_page_stays(sample_set):
    """A parameter error ended the page: no runs, no Review link, and an empty "Starting" bar above it (item 10)."""
    at = _generate()
    at.text_area(key="augment_params").set_value('{"keyboard_typo": {"wordp": 0.2}}')
    at.button(key="augment_generate").click().run()
    assert not at.exception
    assert "augmenter 'keyboard\\_typo' has no parameter(s) wordp; known: " in at.error[0].value
    assert not at.get("progress")
    assert not at.success  # no new run
    assert at.button(key="augment_generate").label == "Generate"
    assert links(at) == ["Next: 3b Review: review, accept and save run 1's candidates"]
    assert at.text_area(key="augment_params").value == '{"keyboard_typo": {"wordp": 0.2}}'  # still there to fix
    with begin() as conn:
        assert stored.list_augment_runs(conn, sample_set)["id"].tolist() == [1]


def test_a_teacher_scored_run_shows_suggestions_protected_words_and_the_typo_rate(sample_set, tmp_path):
    """Issue 11: the teacher's score, its suggestion and the words a rewrite left alone, per candidate."""
    from tests.test_train_support import build_tiny_sentence_encoder
    from workbench.augment.pipeline import run_recipe
    from workbench.augment.recipes import recipe_from_dict

    encoder = str(build_tiny_sentence_encoder(tmp_path / "teacher"))
    run = run_recipe(sample_set, recipe_from_dict({"seed": 0, "max_source_samples": 80, "steps": [{"augmenter": "wordnet_synonym"}],
                                                   "filters": {"scorer": "teacher", "teacher_model": encoder, "teacher_margin": 0.4}}))
    at = open_page("pages/augment.py")
    assert not at.exception
    assert any(c.value.startswith("Typo rate in the logs: ") for c in at.caption)
    at.radio(key="augment_scorer_typo robustness").set_value("teacher").run()
    assert not at.exception
    assert at.selectbox(key="augment_teacher").value == 0
    review = open_page("pages/review.py", {"run": run.augment_run_id})
    assert not review.exception
    table = review.dataframe(key=review.session_state["_review_table"]).value
    assert set(table["suggest"]) == {"accept"}  # the run kept only what the teacher agreed with
    assert (table["score"] >= 0.6).all()
    assert table["protected"].str.len().gt(0).any()
    assert review.number_input(key="review_accept_score").value == pytest.approx(0.6)
