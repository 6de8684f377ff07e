"""Export of an augmented set: formulas neutralised, BOM for Excel, CSV and Parquet round trips (issue 3)."""
from __future__ import annotations

import io

import pandas as pd
import pytest

from storage import candidates as stored
from storage.db import begin
from storage.samples import create_sample_set, insert_samples
from workbench.augment.export import EXPORT_COLUMNS, export_augmented_set, export_frame, to_csv_bytes
from workbench.escaping import neutralize
from workbench.errors import BadInput, MissingData

pytestmark = pytest.mark.both_stores  # each storage test runs on DuckDB and on a real PostgreSQL (tests/stores.py)

RISKY = ["=HYPERLINK(\"http://x\")", "+1 drill", "-5 ft hose", "@SUM(A1)", "plain 水管 3/4 in."]


@pytest.fixture
def set_id(db_url) -> int:
    samples = pd.DataFrame({"sample_id": [0], "query": ["=cmd|' /C calc'!A0"], "product_id": ["p0"],
                            "product_text": ["Drill"], "category": None, "label": [1.0], "split": "train",
                            "cold_start": False})
    frame = pd.DataFrame({"sample_id": 0, "augmenter": "keyboard_typo", "params": '{"word_p": 0.3}', "seed": 4,
                          "field": "query", "original": "=cmd|' /C calc'!A0", "query": RISKY, "product_id": "p0",
                          "product_text": "Drill", "label": 1.0, "score": [0.9, 0.8, 0.7, 0.6, 0.5]})
    with begin() as conn:
        sample_set = create_sample_set(conn, "s", 1, {}, {})
        insert_samples(conn, sample_set, samples)
        run = stored.create_augment_run(conn, sample_set, {}, 4, 5, {})
        stored.insert_candidates(conn, run, frame)
        stored.set_candidate_status(conn, run, stored.CandidateFilter(), "accepted")
        return stored.save_augmented_set(conn, run, "risky")


def test_neutralize_prefixes_formula_cells_only():
    frame = pd.DataFrame({"query": RISKY, "label": [-1.0, 0.0, 1.0, 2.0, 3.0]})
    out = neutralize(frame)
    assert out["query"].tolist() == ["'=HYPERLINK(\"http://x\")", "'+1 drill", "'-5 ft hose", "'@SUM(A1)", "plain 水管 3/4 in."]
    assert out["label"].tolist() == [-1.0, 0.0, 1.0, 2.0, 3.0]  # numbers stay numbers


def test_csv_round_trip_with_provenance_and_bom(set_id, tmp_path):
    path = export_augmented_set(set_id, tmp_path / "set.csv", excel=True)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig")
    assert list(back.columns) == EXPORT_COLUMNS
    assert back["query"].tolist() == ["'" + q for q in RISKY[:4]] + [RISKY[4]]
    assert back["original"].tolist() == ["'=cmd|' /C calc'!A0"] * 5
    assert back["source_query"].tolist() == ["'=cmd|' /C calc'!A0"] * 5
    assert (back["augmenter"].unique().tolist(), back["seed"].unique().tolist()) == (["keyboard_typo"], [4])
    assert back["params"].unique().tolist() == ['{"word_p": 0.3}']
    assert back["score"].tolist() == [0.9, 0.8, 0.7, 0.6, 0.5]


def test_plain_csv_has_no_bom(set_id):
    assert not to_csv_bytes(export_frame(set_id)).startswith(b"\xef\xbb\xbf")


def test_parquet_round_trip_keeps_values_exactly(set_id, tmp_path):
    path = export_augmented_set(set_id, tmp_path / "set.parquet")
    back = pd.read_parquet(path)
    pd.testing.assert_frame_equal(back, export_frame(set_id), check_dtype=False)
    assert back["query"].tolist() == RISKY


def test_export_refuses_other_suffixes_and_empty_sets(set_id, tmp_path):
    with pytest.raises(BadInput, match=r"set.xlsx: export writes .csv or .parquet, got '.xlsx'"):
        export_augmented_set(set_id, tmp_path / "set.xlsx")
    with begin() as conn:
        run = stored.get_augmented_set(conn, set_id)["augment_run_id"]
        stored.set_candidate_status(conn, run, stored.CandidateFilter(), "rejected")
        empty = stored.save_augmented_set(conn, run, "none")
    with pytest.raises(MissingData, match=f"augmented set {empty} has no samples"):
        export_frame(empty)
