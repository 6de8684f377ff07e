"""The Data page, driven with AppTest: upload, preview, mapping, ingest, rejected rows, delete, demo."""
from streamlit.testing.v1 import AppTest

from storage import datasets
from storage.db import begin
from tests.pages_support import links, open_page
from workbench.ingest.outcome import rejected_rows_csv
PAIRS = b"search_term,product_uid,product_title,relevance\ndrill,1,Cordless drill,3\nsaw,2,=HYPERLINK(\"x\"),2\n" \
        b"hose,3,Garden hose,11\n"


def _page(**query) -> AppTest:
    return open_page("pages/data.py", query)


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


def test_what_ingest_kept_but_a_user_may_not_expect_is_said_after_the_counts(db_url):
    at = _upload(_page(), "pairs.csv", b"search_term,product_uid,product_title,relevance\n"
                                       b"drill,1,Drill,3\ndrill,1,Drill,2\nsaw,2,Saw,1\n")
    at.button(key="ingest").click().run()
    assert not at.exception
    assert at.success[0].value == "Dataset 1: 3 rows in, 0 set aside."
    assert [i.value for i in at.info] == [
        "1 row repeats an earlier row's query and product; a sample set keeps each pair once, with the mean of its labels."]


def test_ingest_shows_counts_rejected_rows_and_their_download(db_url):
    at = _upload(_page(), "train.csv", PAIRS)
    at.button(key="ingest").click().run()
    assert not at.exception
    assert at.success[0].value == "Dataset 1: 1 row in, 2 set aside."
    assert [m.value for m in at.metric] == ["1", "2", "pairs"]
    assert at.selectbox(key="dataset").value == 1 and at.query_params["dataset"] == "1"
    assert links(at) == ["Next: 2 Samples: label these and split them by query"]
    rejected = at.dataframe[-1].value
    assert rejected[["line", "column_name", "reason"]].values.tolist() == [
        [3, "product_title", "spreadsheet formula in text"], [4, "relevance", "label out of range"]]
    assert at.get("download_button")[0].proto.label == "Download rejected rows (CSV)"
    csv = rejected_rows_csv(1).decode()
    assert "'=HYPERLINK" in csv and ",=HYPERLINK" not in csv  # the export never runs a formula


def test_a_changed_mapping_is_used(db_url):
    data = b"a,b,c\ndrill,1,E\nsaw,2,I\n"
    at = _upload(_page(), "odd.csv", data)
    assert at.warning[0].value == "Choose a column for query and label and product\\_id or title above (fields marked \\* are needed)."
    labels = [at.selectbox(key=f"map_pairs_{name}").label for name in ("query", "product_id", "title", "label", "description")]
    assert labels == ["query *", "product_id (or title) *", "title (or product_id) *", "label *", "description"]  # the marks agree
    assert at.button(key="ingest").disabled
    at.selectbox(key="map_pairs_query").set_value("a").run()
    assert at.warning[0].value.startswith("Choose a column for label and product")
    at.selectbox(key="map_pairs_product_id").set_value("b")
    at.selectbox(key="map_pairs_label").set_value("c").run()
    assert not at.warning  # the message clears once every required field has a column
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


def test_delete_asks_first_then_says_what_it_did(demo_db):
    at = _page()
    at.selectbox(key="dataset").set_value(2).run()
    at.button(key="delete").click().run()
    assert not at.exception
    assert at.warning[0].value == "Delete dataset 2 (Demo search logs (seed 0)) and its 60,000 rows? This cannot be undone."
    with begin() as conn:
        assert len(datasets.list_datasets(conn)) == 2  # nothing deleted on the first click
    at.button(key="delete_yes").click().run()
    assert not at.exception
    assert at.success[0].value == "Deleted dataset 2 (Demo search logs (seed 0)): 60,000 rows and 0 rejected rows removed."
    with begin() as conn:
        assert datasets.list_datasets(conn)["id"].tolist() == [1]
        assert datasets.read_events(conn, 2).empty


def test_load_demo_data_from_the_data_page(db_url):
    at = _page()
    at.button(key="load_demo").click().run()
    assert not at.exception
    assert at.success[0].value == "Demo loaded: catalog dataset 1, logs dataset 2."
    assert at.selectbox(key="dataset").value == 2  # the page follows: the new logs are selected
    at.button(key="load_demo").click().run()  # a second click adds nothing, and says so
    assert at.success[0].value == "The demo was already here (catalog dataset 1, logs dataset 2); nothing added."
    with begin() as conn:
        assert sorted(datasets.list_datasets(conn)["kind"]) == ["catalog", "logs"]


def test_file_names_in_messages_are_shown_as_typed_not_as_markdown(db_url):
    at = _upload(_page(), "[click](evil) $x$.csv", b"")
    assert at.error[0].value == ("\\[click\\](evil) \\$x\\$.csv is empty (0 bytes); choose the file again or "
                                 "export it once more")


def test_the_selected_dataset_survives_a_reload_through_the_url(demo_db):
    at = _page()
    at.selectbox(key="dataset").set_value(1).run()
    assert at.query_params["dataset"] == "1"
    reloaded = _page(dataset=1)
    assert reloaded.selectbox(key="dataset").value == 1
    assert _page().selectbox(key="dataset").value == 2  # without it: the newest


def test_a_newly_ingested_file_is_selected_not_the_one_selected_before(demo_db):
    at = _page(dataset=1)
    at = _upload(at, "train.csv", PAIRS)
    at.button(key="ingest").click().run()
    assert at.selectbox(key="dataset").value == 3
    assert at.metric[2].value == "pairs"


def test_a_bad_upload_shows_its_error_and_keeps_the_rest_of_the_page(demo_db):
    """The error used to stop the page: the dataset list, the picker and Delete were gone until the file was removed."""
    at = _upload(_page(), "broken.parquet", b"PAR1 not really parquet")
    assert not at.exception
    assert len(at.error) == 1 and at.error[0].value.startswith("broken.parquet ")
    assert [h.value for h in at.header] == ["Datasets"]
    assert at.selectbox(key="dataset").value == 2 and at.button(key="delete").label == "Delete dataset 2"
    at = _upload(_page(), "empty.csv", b"query,product_id,label\n")
    at.button(key="ingest").click().run()  # refused at ingest: the same
    assert at.error[0].value == "empty.csv has a header but no rows; add rows below the header line"
    assert at.selectbox(key="dataset").value == 2 and not at.get("progress")  # no stranded "Reading" bar
