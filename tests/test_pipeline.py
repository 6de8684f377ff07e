"""The augment pipeline: determinism across processes, train split only, the leakage guard,
provenance that regenerates a candidate, storage in one run, the CLI (issue 3)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd
import pytest

import workbench.augment as registry
from storage import candidates as stored
from storage.db import begin
from storage.samples import read_samples
from workbench.augment import Augmenter, SampleRandom, get
from workbench.augment.pipeline import generate_candidates, run_recipe, source_samples
from workbench.augment.recipes import recipe_from_dict, save_recipe

TYPOS = {"name": "typos", "seed": 7, "max_source_samples": 120,
         "steps": [{"augmenter": "keyboard_typo"}, {"augmenter": "char_edit"}, {"augmenter": "word_swap"}]}


@pytest.fixture
def sample_set(demo_sample_set) -> int:
    return demo_sample_set


@pytest.fixture
def samples(sample_set) -> pd.DataFrame:
    with begin() as conn:
        return read_samples(conn, sample_set)


def test_same_recipe_same_candidates_in_one_process_or_two(samples):
    recipe = recipe_from_dict(TYPOS)
    one, dropped_one, generated_one = generate_candidates(samples, recipe, workers=1)
    two, dropped_two, generated_two = generate_candidates(samples, recipe, workers=2, chunk_size=17)
    pd.testing.assert_frame_equal(one, two)
    assert (dropped_one, generated_one) == (dropped_two, generated_two)
    assert len(one) > 100
    other, _, _ = generate_candidates(samples, recipe_from_dict({**TYPOS, "seed": 8}), workers=1)
    assert not one["query"].equals(other["query"])


def test_candidates_come_from_the_train_split_only(samples):
    frame, _, _ = generate_candidates(samples, recipe_from_dict({**TYPOS, "max_source_samples": 600}), workers=2)
    train_ids = set(samples.loc[samples["split"] == "train", "sample_id"])
    assert set(frame["sample_id"]) <= train_ids
    assert len(set(frame["sample_id"])) > 300


def test_per_sample_sets_how_many_each_augmenter_makes(samples):
    recipe = recipe_from_dict({**TYPOS, "steps": [{"augmenter": "keyboard_typo"}], "per_sample": 3,
                               "filters": {"min_score": 0}})
    frame, dropped, generated = generate_candidates(samples, recipe, workers=1)
    assert frame.groupby("sample_id").size().max() == 3
    assert generated == len(frame) + sum(dropped.values())


@dataclass
class EchoParams:
    text: str = field(default="", metadata={"help": "The query every candidate gets."})


class Echo(Augmenter):
    """Writes a fixed query: stands in for a paraphraser that happens to produce an evaluation query."""

    name = "echo"
    Params = EchoParams

    def augment(self, samples, rng):
        return [self.candidate(s, rng, query=self.params.text) for s in samples]


def test_leakage_guard_drops_val_and_test_queries(samples, monkeypatch):
    monkeypatch.setitem(registry.REGISTRY, "echo", f"{__name__}:Echo")
    test_query = samples.loc[samples["split"] == "test", "query"].iloc[0]
    recipe = recipe_from_dict({"seed": 0, "max_source_samples": 50,
                               "steps": [{"augmenter": "echo", "params": {"text": test_query.upper() + "!"}}]})
    frame, dropped, generated = generate_candidates(samples, recipe, workers=1)
    assert frame.empty and dropped == {"leakage": 50} and generated == 50


class Retitle(Echo):
    """Writes new text, like a pseudo-query from a title: says so with `edits_source = False`."""

    name = "retitle"
    edits_source = False


@pytest.mark.parametrize("name, cls, dropped", [("echo", Echo, {"protected_token": 10}), ("retitle", Retitle, {})])
def test_only_edits_of_the_source_are_held_to_its_protected_tokens(samples, monkeypatch, name, cls, dropped):
    # The class attribute decides, whatever the augmenter is called.
    monkeypatch.setitem(registry.REGISTRY, name, f"{__name__}:{cls.__name__}")
    train = samples[samples["split"] == "train"].head(10).assign(query="cordless drill 18v")
    recipe = recipe_from_dict({"seed": 0, "steps": [{"augmenter": name, "params": {"text": "cordless drill"}}],
                               "filters": {"leakage_guard": False, "min_score": 0}})
    frame, reasons, _ = generate_candidates(train, recipe, workers=1)
    assert reasons == dropped and len(frame) == 10 - sum(dropped.values())


def test_run_stores_candidates_with_provenance_that_regenerates_them(sample_set, samples):
    progress = []
    result = run_recipe(sample_set, recipe_from_dict(TYPOS), on_progress=lambda *a: progress.append(a))
    assert progress and progress[-1][2].startswith("storing")
    with begin() as conn:
        run = stored.get_augment_run(conn, result.augment_run_id)
        page = stored.read_candidates_page(conn, result.augment_run_id, limit=1000)
    assert run["candidates"] == result.candidates == len(page) and run["dropped"] == result.dropped
    assert run["recipe"]["steps"][0]["augmenter"] == "keyboard_typo"
    assert set(page["status"]) == {"pending"}
    row = page.iloc[0]
    source = samples.set_index("sample_id").loc[row["sample_id"]]
    assert row["source_query"] == source["query"] == row["original"]
    # Regenerate from what was stored: augmenter, params, seed, source sample.
    cls = get(row["augmenter"])
    augmenter = cls(cls.Params(**json.loads(row["params"])))
    sample = [s for s in source_samples(samples, recipe_from_dict(TYPOS)) if s.sample_id == row["sample_id"]]
    again = augmenter.augment(sample, SampleRandom(int(row["seed"]), row["augmenter"]))
    assert row["query"] in [c.query for c in again]


def test_accept_above_saves_an_augmented_set(sample_set):
    result = run_recipe(sample_set, recipe_from_dict(TYPOS), accept_above=0.9, set_name="typos 0.9")
    with begin() as conn:
        accepted = stored.count_candidates(conn, result.augment_run_id, stored.CandidateFilter(status="accepted"))
        above = stored.count_candidates(conn, result.augment_run_id, stored.CandidateFilter(min_score=0.9))
        info = stored.get_augmented_set(conn, result.augmented_set_id)
        members = stored.read_augmented_set(conn, result.augmented_set_id)
    assert result.accepted == accepted == above == info["size"] == len(members) > 0
    assert info["name"] == "typos 0.9"
    assert list(members.columns) == ["candidate_id", "sample_id", "augmenter", "query", "product_id", "product_text", "label"]


def test_cli_augment_json_and_csv(sample_set, tmp_path, cli):
    recipe_file = save_recipe(recipe_from_dict(TYPOS), tmp_path / "recipe.json")
    out_file = tmp_path / "accepted.csv"
    out = cli("augment", "--sample-set", sample_set, "--recipe", recipe_file, "--accept-above", "0.8", "--out", out_file,
              "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"augment_run_id", "augmented_set_id", "candidates", "accepted", "dropped"} <= set(result)
    exported = pd.read_csv(out_file)
    assert len(exported) == result["accepted"] > 0
    assert {"source_query", "augmenter", "params", "seed", "score", "original"} <= set(exported.columns)


def test_cli_augment_bad_recipe_names_the_file_and_field(sample_set, tmp_path, cli):
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps({"steps": [{"augmenter": "keyboard_typo", "params": {"speed": 2}}]}))
    out = cli("augment", "--sample-set", sample_set, "--recipe", path)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1] == (
        "error: recipe.json, steps[0]: augmenter 'keyboard_typo' has no parameter(s) speed; "
        "known: char_max, min_char, per_sample, rate, word_max, word_p")


def test_chinese_samples_go_through_the_pipeline_with_tokens_protected():
    queries = ["华为手机 128gb 黑色", "蓝牙耳机 降噪", "小米 电饭煲 3升", "不锈钢 保温杯 500ml", "儿童 自行车 16寸",
               "无线 鼠标 静音", "笔记本 电脑 包", "led 台灯 护眼"]
    samples = pd.DataFrame({"sample_id": range(len(queries)), "query": queries,
                            "product_id": [f"p{i}" for i in range(len(queries))],
                            "product_text": [f"商品 {i}" for i in range(len(queries))], "category": None,
                            "label": 1.0, "split": ["train"] * 6 + ["val", "test"], "cold_start": False})
    recipe = recipe_from_dict({"seed": 1, "per_sample": 3, "filters": {"min_score": 0},
                               "steps": [{"augmenter": "ocr_confusion"}, {"augmenter": "char_edit"},
                                         {"augmenter": "word_swap"}, {"augmenter": "word_split"}]})
    frame, dropped, generated = generate_candidates(samples, recipe, workers=1)
    again, _, _ = generate_candidates(samples, recipe, workers=2, chunk_size=2)
    pd.testing.assert_frame_equal(frame, again)
    assert set(frame["augmenter"]) == {"ocr_confusion", "char_edit", "word_swap", "word_split"}
    assert set(frame["sample_id"]) <= set(range(6))
    for original, query in zip(frame["original"], frame["query"]):
        for token in ("128gb", "3升", "500ml", "16寸"):
            assert token not in original or token in query


def test_hard_negatives_get_the_catalog_as_context_and_accept_all_takes_unscored(sample_set, samples):
    recipe = recipe_from_dict({"name": "hard negatives", "max_source_samples": 200, "steps": [{"augmenter": "hard_negative"}],
                               "filters": {"min_score": 0.0, "scorer": "string"}})
    result = run_recipe(sample_set, recipe, accept_all=True, set_name="negatives")
    with begin() as conn:
        members = stored.read_augmented_set(conn, result.augmented_set_id)
    assert result.accepted == result.candidates == len(members) > 0
    assert set(members["label"]) == {0.0} and set(members["augmenter"]) == {"hard_negative"}
    known = set(zip(samples["query"], samples["product_id"]))
    assert not known & set(zip(members["query"], members["product_id"]))  # new pairings only
    cold = set(samples.loc[samples["cold_start"], "product_id"])
    assert not cold & set(members["product_id"])  # the leakage guard keeps cold-start products out


def test_encoder_scores_when_the_recipe_asks(samples, bundled_model_dir):
    from tests.test_encoder import mean_pooled

    recipe = recipe_from_dict({"seed": 0, "max_source_samples": 30, "steps": [{"augmenter": "keyboard_typo"}],
                               "filters": {"scorer": "encoder", "min_score": 0.0}})
    frame, _, _ = generate_candidates(samples, recipe, workers=1)
    # Expected: cosine of hand-pooled vectors of the bundled model, mapped from [-1, 1] to [0, 1].
    original, changed = (mean_pooled(frame[c].tolist(), bundled_model_dir) for c in ("original", "query"))
    expected = (1 + (original * changed).sum(axis=1)) / 2
    assert len(frame) > 10 and frame["score"].tolist() == pytest.approx(expected.tolist(), abs=1e-5)
    strict = recipe_from_dict({**recipe.to_dict(), "filters": {"scorer": "encoder", "min_score": float(sorted(frame["score"])[5])}})
    kept, dropped, _ = generate_candidates(samples, strict, workers=1)
    assert dropped["low_score"] == 5 and len(kept) == len(frame) - 5
