"""The Samples page, driven with AppTest on the demo data: guard, build with options, summary."""
import pytest
from streamlit.testing.v1 import AppTest

from storage.db import begin
from storage.samples import get_sample_set, read_samples
from tests.pages_support import away_and_back, links, open_page
from workbench.samples import SampleConfig, build_sample_set


def _page(**query) -> AppTest:
    return open_page("pages/samples.py", query)


def test_an_empty_database_says_what_to_do(db_url):
    at = _page()
    assert not at.exception
    assert at.info[0].value == "No search logs or labeled pairs yet: add them on the Data page (or load the demo data there)."


def test_build_from_demo_logs_with_cold_start_and_see_the_summary(demo_db):
    at = _page()
    assert at.selectbox(key="samples_dataset").value == 2  # the logs; the catalog is not offered
    assert len(at.selectbox(key="samples_dataset").options) == 1
    at.number_input(key="samples_cold").set_value(0.1)
    at.number_input(key="samples_seed").set_value(3)
    at.text_input(key="samples_name").set_value("demo clicks")
    at.button(key="samples_build").click().run()
    assert not at.exception
    assert at.success[0].value.startswith("Sample set 1: ")
    assert links(at) == ["Next: 3 Augment: generate augmented samples from this set's train split",
                         "Next: Which augmentation helps? Let one click try the recipes and answer."]
    with begin() as conn:
        stored = get_sample_set(conn, 1)
        samples = read_samples(conn, 1)
    assert stored["name"] == "demo clicks" and stored["config"]["seed"] == 3 and stored["config"]["cold_start_share"] == 0.1
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Train"] == f"{(samples['split'] == 'train').sum():,}"
    assert metrics["Cold start products"] == f"{samples.loc[samples['cold_start'], 'product_id'].nunique():,}"
    balance = at.dataframe[0].value
    assert int(balance["train"].sum()) == (samples["split"] == "train").sum()


def test_a_bad_label_rule_is_shown_not_raised(demo_db):
    at = _page()
    at.text_input(key="samples_label_rule").set_value("cut:2.5").run()
    assert not at.exception
    assert at.error[0].value.startswith("label rule 'cut:2.5' does not fit a logs dataset")  # said before Build
    at.button(key="samples_build").click().run()
    assert not at.exception
    assert at.error[0].value.startswith("label rule 'cut:2.5' does not fit a logs dataset")


def test_the_label_rule_is_said_in_plain_words_as_it_is_typed(demo_db):
    """The rule's mini-language ('clicks:min_clicks=2') was the only description of what a label means."""
    at = _page()
    assert at.caption[0].value.startswith("A query-product pair is relevant (1) when it was clicked at least 1 time or")
    at.text_input(key="samples_label_rule").set_value("clicks:min_clicks=2").run()
    assert "clicked at least 2 times or bought at least 1 time;" in at.caption[0].value
    at.text_input(key="samples_label_rule").set_value("clicks:min_clickz=2").run()
    assert at.error[0].value.replace("\\", "").startswith("label rule 'clicks:min_clickz=2': unknown threshold 'min_clickz'")
    assert not at.exception


def test_a_new_sample_set_is_selected_and_the_choice_survives_a_reload(demo_db):
    build_sample_set(2, SampleConfig(name="older", seed=1))
    at = _page(set=1)
    assert at.selectbox(key="sample_set").value == 1
    at.text_input(key="samples_name").set_value("newer")
    at.button(key="samples_build").click().run()
    assert at.selectbox(key="sample_set").value == 2 and at.query_params["set"] == "2"
    assert _page(set=2).selectbox(key="sample_set").value == 2
    assert _page(set=1).selectbox(key="sample_set").value == 1


def test_what_was_set_aside_is_said_in_words(demo_db):
    at = _page()
    at.button(key="samples_build").click().run()
    caption = at.main.caption[-1].value
    assert "Set aside: " in caption and "{" not in caption



def test_the_build_inputs_survive_a_visit_to_another_page(demo_db):
    """Validation share went back to 0.10 after a visit to 1 Data (audit item 7)."""
    at = _page()
    at.text_input(key="samples_label_rule").set_value("clicks:min_clicks=2")
    at.number_input(key="samples_val").set_value(0.2)
    at.number_input(key="samples_test").set_value(0.15)
    at.number_input(key="samples_cold").set_value(0.05)
    at.number_input(key="samples_seed").set_value(4)
    at.text_input(key="samples_name").set_value("my set").run()
    at = away_and_back(at, "pages/data.py", "pages/samples.py")
    assert not at.exception
    assert at.text_input(key="samples_label_rule").value == "clicks:min_clicks=2"
    assert at.number_input(key="samples_val").value == pytest.approx(0.2)
    assert at.number_input(key="samples_test").value == pytest.approx(0.15)
    assert at.number_input(key="samples_cold").value == pytest.approx(0.05)
    assert at.number_input(key="samples_seed").value == 4
    assert at.text_input(key="samples_name").value == "my set"


def test_a_refused_build_leaves_its_message_and_the_sets_below(demo_db):
    """A refused build left a half-filled progress bar and hid every sample set below it."""
    build_sample_set(2, SampleConfig(name="kept", seed=1))
    at = _page()
    at.number_input(key="samples_val").set_value(0.9)
    at.number_input(key="samples_test").set_value(0.9)
    at.button(key="samples_build").click().run()
    assert not at.exception
    assert at.error[0].value == "the validation and test shares (0.9 + 0.9) leave no queries for train; keep their sum below 1"
    assert not at.get("progress")
    assert at.header[0].value == "Sample sets" and at.selectbox(key="sample_set").format_func(1) == "1: kept"


def test_the_label_rule_and_shares_survive_a_reload(demo_db):
    """A reload emptied the typed label rule: Build then used the default rule without a word."""
    at = _page()
    at.text_input(key="samples_label_rule").set_value("clicks:min_clicks=2")
    at.number_input(key="samples_test").set_value(0.2).run()
    again = _page(**dict(at.query_params))
    assert again.text_input(key="samples_label_rule").value == "clicks:min_clicks=2"
    assert again.number_input(key="samples_test").value == pytest.approx(0.2)
