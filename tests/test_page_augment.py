"""The Augment page, driven with AppTest on the demo data: recipe, generate, review, bulk accept,
undo, accept above a score, save, download (issue 3)."""
import io

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from storage import candidates as stored
from storage.db import begin
from tests.conftest import PROJECT_ROOT
from workbench.samples import SampleConfig, build_sample_set

PAGE = str(PROJECT_ROOT / "pages" / "augment.py")


def _page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.run()
    return at


def count(run_id, **where):
    with begin() as conn:
        return stored.count_candidates(conn, run_id, stored.CandidateFilter(**where))


@pytest.fixture
def sample_set(demo_db) -> int:
    return build_sample_set(2, SampleConfig(seed=0)).sample_set_id


def test_without_a_sample_set_the_page_says_what_to_do(db_url):
    at = _page()
    assert not at.exception
    assert at.info[0].value == "No sample sets yet: build one on the Samples page first."


def test_generate_review_undo_save_and_download(sample_set):
    at = _page()
    assert at.selectbox(key="augment_preset").value == "typo robustness"
    at.number_input(key="augment_max_sources").set_value(60)
    at.button(key="augment_generate").click().run()
    assert not at.exception
    assert at.success[0].value.startswith("Run 1: ")
    run_id = 1
    total = count(run_id)
    assert total > 0
    table = at.dataframe[1].value
    assert {"original", "augmented («changed»)", "score", "params", "seed"} <= set(table.columns)
    assert table["augmented («changed»)"].str.contains("«").any()

    # Filter to one augmenter, accept everything matching, then undo it.
    at.multiselect(key="review_augmenters").set_value(["keyboard_typo"]).run()
    typos = count(run_id, augmenters=["keyboard_typo"])
    assert set(at.dataframe[1].value["augmenter"]) == {"keyboard_typo"}
    at.button(key="review_accept_matching").click().run()
    assert not at.exception
    assert count(run_id, status="accepted") == typos
    at.button(key="review_undo").click().run()
    assert count(run_id, status="accepted") == 0 and at.success[-1].value.startswith("Undid 'Accept all")

    # Reject two selected rows; accept everything scoring >= 0.9.
    ids = at.dataframe[1].value["id"].tolist()[:2]
    at.multiselect(key="review_selected").set_value(ids).run()
    at.button(key="review_reject_selected").click().run()
    assert count(run_id, status="rejected") == 2
    at.number_input(key="review_accept_score").set_value(0.9).run()
    at.button(key="review_accept_above").click().run()
    accepted = count(run_id, status="accepted")
    assert accepted == count(run_id, min_score=0.9) - count(run_id, min_score=0.9, status="rejected") > 0  # rejects stay

    # Save and download.
    at.text_input(key="save_name").set_value("typos 0.9").run()
    at.button(key="save_set").click().run()
    assert not at.exception
    with begin() as conn:
        saved = stored.list_augmented_sets(conn)
    assert saved["name"].tolist() == ["typos 0.9"] and saved["size"].tolist() == [accepted]
    assert at.selectbox(key="download_set").value == saved["id"][0]
    assert [b.proto.label for b in at.get("download_button")] == ["Download CSV", "Download Parquet"]


def test_bad_parameters_json_is_shown(sample_set):
    at = _page()
    at.text_area(key="augment_params").set_value("{not json")
    at.button(key="augment_generate").click().run()
    assert not at.exception
    assert at.error[0].value == "parameters (JSON), line 1, column 2: Expecting property name enclosed in double quotes"
    at.text_area(key="augment_params").set_value('{"word_swap": {"word_p": 0.2}}')
    at.button(key="augment_generate").click().run()
    assert at.error[0].value == ("parameters (JSON): word_swap not among the chosen augmenters; "
                                 "add them or remove their parameters")


def test_a_teacher_scored_run_shows_suggestions_protected_words_and_the_typo_rate(sample_set, tmp_path):
    """Issue 11: the teacher's score, its suggestion and the words a rewrite left alone, per candidate."""
    from tests.test_train_support import build_tiny_sentence_encoder
    from workbench.augment.pipeline import run_recipe
    from workbench.augment.recipes import recipe_from_dict

    encoder = str(build_tiny_sentence_encoder(tmp_path / "teacher"))
    run_recipe(sample_set, recipe_from_dict({"seed": 0, "max_source_samples": 80, "steps": [{"augmenter": "wordnet_synonym"}],
                                             "filters": {"scorer": "teacher", "teacher_model": encoder, "teacher_margin": 0.4}}))
    at = _page()
    assert not at.exception
    assert at.caption[0].value.startswith("Typo rate in the logs: ")
    table = at.dataframe[1].value
    assert set(table["suggest"]) == {"accept"}  # the run kept only what the teacher agreed with
    assert (table["score"] >= 0.6).all()
    assert table["protected"].str.len().gt(0).any()
    assert at.number_input(key="review_accept_score").value == pytest.approx(0.6)
    at.radio(key="augment_scorer_typo robustness").set_value("teacher").run()
    assert not at.exception
    assert at.selectbox(key="augment_teacher").value == 0
