"""The Data page, driven with AppTest: upload, preview, mapping, ingest, rejected rows, delete, demo."""
from streamlit.testing.v1 import AppTest

from storage import datasets
from storage.db import begin
from tests.conftest import PROJECT_ROOT
from workbench.ingest.outcome import rejected_rows_csv

PAGE = str(PROJECT_ROOT / "pages" / "data.py")
PAIRS = b"search_term,product_uid,product_title,relevance\ndrill,1,Cordless drill,3\nsaw,2,=HYPERLINK(\"x\"),2\n" \
        b"hose,3,Garden hose,11\n"


def _page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    return at


def _upload(at: AppTest, name: str, data: bytes, kind: str = "pairs") -> AppTest:
    at.radio(key="kind").set_value(kind).run()
    at.file_uploader(key="upload").set_value((name, data, "text/csv")).run()
    return at


def test_an_empty_database_says_what_to_do(db_url):
    at = _page()
    assert not at.exception
    assert at.info[0].value == "No datasets yet: upload a file above or load the demo data."


def test_upload_previews_rows_and_guesses_the_mapping(db_url):
    at = _upload(_page(), "train.csv", PAIRS)
    assert not at.exception
    assert at.dataframe[0].value["search_term"].tolist() == ["drill", "saw", "hose"]
    assert at.selectbox(key="map_pairs_query").value == "search_term"
    assert at.selectbox(key="map_pairs_product_id").value == "product_uid"
    assert at.selectbox(key="map_pairs_label").value == "relevance"
    with begin() as conn:
        assert datasets.list_datasets(conn).empty  # preview writes nothing


def test_ingest_shows_counts_rejected_rows_and_their_download(db_url):
    at = _upload(_page(), "train.csv", PAIRS)
    at.button(key="ingest").click().run()
    assert not at.exception
    assert at.success[0].value == "Dataset 1: 1 rows in, 2 set aside."
    assert [m.value for m in at.metric] == ["1", "2", "pairs"]
    rejected = at.dataframe[-1].value
    assert rejected[["line", "column_name", "reason"]].values.tolist() == [
        [3, "product_title", "spreadsheet formula in text"], [4, "relevance", "label out of range"]]
    assert at.get("download_button")[0].proto.label == "Download rejected rows (CSV)"
    csv = rejected_rows_csv(1).decode()
    assert "'=HYPERLINK" in csv and ",=HYPERLINK" not in csv  # the export never runs a formula


def test_a_changed_mapping_is_used(db_url):
    data = b"a,b,c\ndrill,1,E\nsaw,2,I\n"
    at = _upload(_page(), "odd.csv", data)
    assert "no column for 'query'" in at.warning[0].value
    at.selectbox(key="map_pairs_query").set_value("a")
    at.selectbox(key="map_pairs_product_id").set_value("b")
    at.selectbox(key="map_pairs_label").set_value("c")
    at.button(key="ingest").click().run()
    assert not at.exception
    with begin() as conn:
        assert datasets.read_pairs(conn, 1).values.tolist() == [["drill", "1", "E", 3.0], ["saw", "2", "I", 0.0]]


def test_a_bad_file_shows_an_error_and_adds_nothing(db_url):
    at = _upload(_page(), "empty.csv", b"query,product_id,label\n")
    at.button(key="ingest").click().run()
    assert not at.exception
    assert at.error[0].value == "empty.csv has a header but no rows; add rows below the header line"
    with begin() as conn:
        assert datasets.list_datasets(conn).empty


def test_binary_upload_is_refused_at_preview(db_url):
    at = _upload(_page(), "photo.csv", bytes(range(256)) * 10)
    assert at.error[0].value.startswith("photo.csv does not look like a text file")


def test_delete_removes_the_dataset_and_its_rows(demo_db):
    at = _page()
    at.selectbox(key="dataset").set_value(2).run()
    at.button(key="delete").click().run()
    assert not at.exception
    with begin() as conn:
        assert datasets.list_datasets(conn)["id"].tolist() == [1]
        assert datasets.read_events(conn, 2).empty


def test_load_demo_data_from_the_data_page(db_url):
    at = _page()
    at.button(key="load_demo").click().run()
    assert not at.exception
    assert at.success[0].value == "Demo loaded: catalog dataset 1, logs dataset 2."
    with begin() as conn:
        assert sorted(datasets.list_datasets(conn)["kind"]) == ["catalog", "logs"]


def test_file_names_in_messages_are_shown_as_typed_not_as_markdown(db_url):
    at = _upload(_page(), "[click](evil) $x$.csv", b"")
    assert at.error[0].value == ("\\[click\\](evil) \\$x\\$.csv is empty (0 bytes); choose the file again or "
                                 "export it once more")
