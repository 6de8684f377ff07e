"""The home page: what the tool does, where the user is, and 'Load demo data' on an empty database."""
from streamlit.testing.v1 import AppTest

from storage import datasets
from storage.db import begin
from tests.conftest import PROJECT_ROOT


def _home() -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "pages" / "home.py"), default_timeout=120)
    at.run()
    return at


def test_an_empty_database_offers_the_demo_and_loading_it_fills_the_data_step(db_url):
    at = _home()
    assert not at.exception
    assert at.title[0].value == "Search Augmentation Workbench"
    assert at.info[0].value.startswith("The database is empty.")
    at.button(key="load_demo").click().run()
    assert not at.exception
    assert at.success[0].value.startswith("Loaded the demo: catalog dataset 1, logs dataset 2.")
    with begin() as conn:
        assert len(datasets.list_datasets(conn)) == 2


def test_with_data_the_home_page_names_the_next_step(demo_db):
    at = _home()
    assert not at.exception
    assert not at.button  # no demo button once there is data
    assert at.metric[0].value == "2"
    assert at.success[0].value == "Next step: 2 Samples."
