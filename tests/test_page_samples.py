"""The Samples page, driven with AppTest on the demo data: guard, build with options, summary."""
from streamlit.testing.v1 import AppTest

from storage.db import begin
from storage.samples import get_sample_set, read_samples
from tests.conftest import PROJECT_ROOT

PAGE = str(PROJECT_ROOT / "pages" / "samples.py")


def _page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    return at


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
    at.text_input(key="samples_label_rule").set_value("cut:2.5")
    at.button(key="samples_build").click().run()
    assert not at.exception
    assert at.error[0].value.startswith("label rule 'cut:2.5' does not fit a logs dataset")
