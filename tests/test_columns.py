"""Column guessing by meaning as well as by name (issue 13: a label column named
`median_relevance` was not guessed, and the message told a browser user to type CLI syntax)."""
import re

import pytest

from storage import datasets
from storage.db import begin
from workbench.ingest import ingest_file
from workbench.ingest.columns import MissingColumns, guess_columns, guess_mapping, missing_fields

HEADER = ["id", "query", "product_title", "product_description", "median_relevance", "relevance_variance"]


def test_a_relevance_column_with_numeric_grades_is_the_label():
    values = {"median_relevance": ["1", "4", "2"], "relevance_variance": ["0.5", "0", "1.2"]}
    assert guess_columns(HEADER, "pairs", values=values) == {
        "query": "query", "title": "product_title", "label": "median_relevance", "description": "product_description"}


@pytest.mark.parametrize("column, values, guessed", [
    ("human_rating", ["E", "S", "I"], True),
    ("esci_grade_given", ["exact", "partial", "irrelevant"], True),
    ("score_text", ["great", "bad", "ok"], False),  # the name fits, the values do not
    ("comments", ["1", "2"], False),  # the values fit, the name does not
])
def test_a_label_needs_a_fitting_name_and_fitting_values(column, values, guessed):
    mapping = guess_columns(["query", "title", column], "pairs", values={column: values})
    assert (mapping.get("label") == column) is guessed


def test_missing_fields_follow_the_users_choice():
    assert missing_fields({"query": "q", "title": None, "label": None}, "pairs") == ["label", "product_id or title"]
    assert missing_fields({"query": "q", "title": "t", "label": "l"}, "pairs") == []


def test_the_missing_column_message_speaks_the_pages_words():
    with pytest.raises(MissingColumns, match=re.escape(
            "f.csv: no column for 'label' of a pairs file; columns found: 'q', 't'. Choose the column that holds it.")) as e:
        guess_mapping(["q", "t"], "pairs", {"query": "q", "title": "t"}, "f.csv")
    assert e.value.missing == ["label"] and "--mapping" not in str(e.value)


def test_a_file_shaped_like_the_crowdflower_relevance_file_goes_in_without_a_mapping(db_url, tmp_path):
    path = tmp_path / "train.csv"
    path.write_text(",".join(HEADER) + "\n1,bridal shower decorations,Accent Pillow,Red satin,1,0\n"
                    "2,led christmas lights,Set of 10 LED lights,Warm white,4,0\n")
    result = ingest_file(path, kind="pairs")
    assert result.mapping["label"] == "median_relevance" and result.rows_accepted == 2
    with begin() as conn:
        assert datasets.read_pairs(conn, result.dataset_id)["label"].tolist() == [1.0, 4.0]
