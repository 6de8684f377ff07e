"""The path for databases that are not DuckDB (PostgreSQL for a team): rows are checked in an
in-memory DuckDB, then written to the real database (COPY on PostgreSQL, SQLAlchemy inserts
elsewhere). Each test runs on a DuckDB file through that path and on a real PostgreSQL server."""
import pytest

from storage import datasets
from storage.db import begin
from workbench.ingest import _ingest
from workbench.ingest.elsewhere import ingest_elsewhere
from workbench.ingest.files import inspect_file


def _ingest_through_sqlalchemy(path, kind, tmp_path, catalog_dataset_id=None):
    work = tmp_path / f"work-{path.stem}"
    work.mkdir()
    with begin() as conn:
        info = inspect_file(path, path.name, work)
        return ingest_elsewhere(conn, info, kind, path.name, None, catalog_dataset_id, lambda *a: None, _ingest)


pytestmark = pytest.mark.both_stores


def test_catalog_and_logs_go_in_through_sqlalchemy_with_the_same_checks(db_url, tmp_path):
    catalog = tmp_path / "catalog.csv"
    catalog.write_text("product_id,title,price,color\np1,Drill,10.5,red\np2,,3,blue\np3,Saw,7,grey\n")
    logs = tmp_path / "logs.csv"
    logs.write_text("query,product_id,position,clicked,timestamp\ndrill,p1,1,1,2026-01-02 03:04:05\n"
                    "saw,p9,2,0,2026-01-02 03:04:05\nsaw,p3,1,0,\n")
    cat = _ingest_through_sqlalchemy(catalog, "catalog", tmp_path)
    log = _ingest_through_sqlalchemy(logs, "logs", tmp_path, catalog_dataset_id=cat.dataset_id)
    assert (cat.dataset_id, cat.rows_accepted, cat.rejections) == (1, 2, {"empty title": 1})
    assert (log.dataset_id, log.rows_accepted, log.rejections) == (2, 2, {"product not in the catalog": 1})
    with begin() as conn:
        products = datasets.read_products(conn, 1)
        logs_products = datasets.read_products(conn, 2)
        events = datasets.read_events(conn, 2)
        rejected = datasets.read_rejected_rows(conn, 2)
        assert datasets.get_dataset(conn, 2)["catalog_dataset_id"] == 1
    assert products[["product_id", "title", "price", "attributes"]].values.tolist() == [
        ["p1", "Drill", 10.5, '{"color":"red"}'], ["p3", "Saw", 7.0, '{"color":"grey"}']]
    # Issue 12: the in-memory check database numbered the logs dataset 1, the catalog's id, so the
    # logs dataset received copies of the catalog's products.
    assert logs_products.empty
    assert events[["query", "product_id", "position", "clicked"]].values.tolist() == [
        ["drill", "p1", 1, True], ["saw", "p3", 1, False]]
    assert str(events["timestamp"][0]) == "2026-01-02 03:04:05"
    assert rejected[["line", "column_name", "reason"]].values.tolist() == [[3, "product_id", "product not in the catalog"]]
