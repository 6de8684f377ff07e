"""Malformed rows go to the rejected rows with their line, and the good rows go in (issue 13: one
unclosed quote rejected a whole file with DuckDB's sniffer message and a temporary path)."""
import pytest

from storage import datasets
from storage.db import begin
from workbench.ingest import ingest_file, preview_file

GOOD = [f"item {i},{i},{i % 4}" for i in range(40)]


def _file(tmp_path, lines: list[bytes | str], name="pairs.csv"):
    path = tmp_path / name
    path.write_bytes(b"query,product_id,label\n" + b"".join((x if isinstance(x, bytes) else x.encode()) + b"\n" for x in lines))
    return path


def _rejected(dataset_id):
    with begin() as conn:
        frame = datasets.read_rejected_rows(conn, dataset_id)
    return frame[["line", "reason"]].values.tolist()


@pytest.mark.parametrize("bad, reason", [
    ('"saw,2,2', "unbalanced quotes"),  # the quote never closes: the reader would swallow the rest of the file
    ("saw,2,2,extra,more", "too many columns"),
    ("saw", "too few columns"),
    (b"caf\xc3\xa9 s\xff\xfew,2,2", "invalid text encoding"),  # bad bytes in one line of a UTF-8 file
])
def test_one_bad_line_is_rejected_with_its_line_and_the_rest_goes_in(db_url, tmp_path, bad, reason):
    path = _file(tmp_path, ["café,100,1", *GOOD[:20], bad, *GOOD[20:]])
    result = ingest_file(path, kind="pairs")
    assert (result.rows_accepted, result.rows_rejected, result.rejections) == (41, 1, {reason: 1})
    assert _rejected(result.dataset_id) == [[23, reason]]  # header, café, 20 good rows, then the bad one
    assert result.encoding == "utf-8"
    with begin() as conn:
        assert datasets.read_pairs(conn, result.dataset_id)["query"].iloc[0] == "café"


def test_an_unclosed_quote_keeps_its_text_in_the_report_and_never_shows_an_engine_message(db_url, tmp_path):
    path = _file(tmp_path, [*GOOD[:3], '"saw,2,2', *GOOD[3:6]])
    preview = preview_file(path, kind="pairs")
    assert preview.rows["query"].tolist() == ["item 0", "item 1", "item 2", "item 3", "item 4"] and preview.problem is None
    result = ingest_file(path, kind="pairs")
    with begin() as conn:
        row = datasets.read_rejected_rows(conn, result.dataset_id).iloc[0]
    assert (row["line"], row["reason"], row["raw"]) == (5, "unbalanced quotes", '{"text":"\\"saw,2,2"}')
    assert result.rows_accepted == 6



def test_an_ascii_file_with_one_damaged_line_rejects_that_line_rather_than_reading_all_as_latin_1(db_url, tmp_path):
    """No UTF-8 sequence anywhere, one line of stray bytes: read as Latin-1 it would go in as silent
    garbage ("sÿþw"); read as UTF-8 the damaged line goes to the report with its line number."""
    path = _file(tmp_path, [*GOOD[:10], b"s\xff\xfew,2,2", *GOOD[10:]])
    result = ingest_file(path, kind="pairs")
    assert result.encoding == "utf-8"
    assert (result.rows_accepted, result.rejections) == (40, {"invalid text encoding": 1})
    assert _rejected(result.dataset_id) == [[12, "invalid text encoding"]]


def test_two_stray_quotes_on_whole_rows_are_rejected_and_the_rows_between_go_in(db_url, tmp_path):
    """'"bolt saw' opens a quoted field at a field's start and 'blade",' closes one: the reader would
    read the five rows between as part of one field and lose them without a word."""
    path = _file(tmp_path, [*GOOD[:10], '"bolt saw,50,1', *GOOD[10:15], 'blade",51,2', *GOOD[15:]])
    result = ingest_file(path, kind="pairs")
    assert (result.rows_accepted, result.rejections) == (40, {"unbalanced quotes": 2})
    assert _rejected(result.dataset_id) == [[12, "unbalanced quotes"], [18, "unbalanced quotes"]]


def test_quotes_inside_words_and_a_real_multi_line_field_are_read_as_written(db_url, tmp_path):
    path = _file(tmp_path, [*GOOD[:5], 'bolt 12" saw,50,1', *GOOD[5:10], 'blade 6" x,51,2', '"two line\nquery, with a comma",52,1', *GOOD[10:]])
    result = ingest_file(path, kind="pairs")
    assert (result.rows_accepted, result.rows_rejected) == (43, 0)
    with begin() as conn:
        queries = set(datasets.read_pairs(conn, result.dataset_id)["query"])
    assert {'bolt 12" saw', 'blade 6" x', "two line\nquery, with a comma"} <= queries
