"""Bad values a user types into the command line and recipe files are refused before any work,
with one line naming the flag, file or field, and with --json as one JSON object too (session 6's
audit of the headless path)."""
from __future__ import annotations

import json
import re

import pytest

from storage.db import begin
from storage.samples import list_sample_sets
from workbench.augment.recipes import load_recipe, recipe_from_dict
from workbench.errors import BadInput, ModelUnavailable
from workbench.samples import SampleConfig, build_sample_set, parse_label_rule


def last_json(out) -> dict:
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- --json errors --------------------------------------------------------------------------


def test_a_core_error_with_json_is_one_json_object_too(data_dir, cli, tmp_path):
    out = cli("ingest", "pairs", tmp_path / "nope.csv", "--json")
    assert out.returncode == 1
    assert out.stderr == f"error: {tmp_path / 'nope.csv'}: no such file\n"
    assert last_json(out) == {"error": f"{tmp_path / 'nope.csv'}: no such file", "exit_code": 1}


def test_a_usage_error_with_json_keeps_argparse_exit_2_and_says_why(data_dir, cli):
    out = cli("ingest", "stuff", "x.csv", "--json")
    assert out.returncode == 2
    assert out.stderr.startswith("usage: python -m workbench ingest")
    assert last_json(out) == {"error": "python -m workbench ingest: argument kind: invalid choice: 'stuff' "
                                       "(choose from 'catalog', 'logs', 'pairs')", "exit_code": 2}  # fmt: skip


def test_without_json_an_error_prints_nothing_on_stdout(data_dir, cli):
    out = cli("jobs", "show")
    assert out.returncode == 1 and out.stdout == ""


# --- recipes --------------------------------------------------------------------------------

STEP = {"augmenter": "keyboard_typo"}


@pytest.mark.parametrize("recipe, message", [
    ({"steps": 5}, "recipe, steps: expected a list of"),
    ({"steps": [{"augmenter": "keyboard_typo", "params": ["word_p"]}]}, "recipe, steps[0], params: expected an object"),
    ({"steps": [STEP], "filters": 5}, "recipe, filters: expected an object such as"),
    ({"steps": [STEP], "filters": [1]}, "recipe, filters: expected an object such as"),
    ({"steps": [STEP], "filters": {"teacher_margin": "x"}}, "recipe, filters.teacher_margin: expected a number, got 'x'"),
    ({"steps": [STEP], "filters": {"min_score": 1.5}}, "recipe, filters.min_score: expected a number in [0, 1], got 1.5"),
    ({"steps": [STEP], "filters": {"protect_tokens": "no"}}, "recipe, filters.protect_tokens: expected true or false, got 'no'"),
    ({"steps": [{"augmenter": "keyboard_typo", "params": {"word_p": "high"}}]},
     "recipe, steps[0]: augmenter 'keyboard_typo', parameter word_p: expected a number, got 'high'"),
    ({"steps": [{"augmenter": "keyboard_typo", "params": {"word_p": 5}}]},
     "parameter word_p: expected a number in [0, 1], got 5"),
    ({"steps": [{"augmenter": "keyboard_typo", "params": {"word_max": -3}}]},
     "parameter word_max: expected a number at least 1, got -3"),
    ({"steps": [{"augmenter": "keyboard_typo", "params": {"per_sample": 0}}]},
     "parameter per_sample: expected a number at least 1, got 0"),
    ({"steps": [{"augmenter": "keyboard_typo", "params": {"per_sample": 1.5}}]},
     "parameter per_sample: expected a whole number, got 1.5"),
    ({"steps": [{"augmenter": "hard_negative", "params": {"min_query_overlap": float("nan")}}]},
     "parameter min_query_overlap: expected a number in [0, 1], got nan"),
])  # fmt: skip
def test_a_recipe_field_of_the_wrong_type_or_range_is_named(recipe, message):
    with pytest.raises(BadInput, match=re.escape(message)):
        recipe_from_dict(recipe)


def test_in_range_parameters_pass_and_are_kept():
    recipe = recipe_from_dict({"steps": [{"augmenter": "keyboard_typo", "params": {"word_p": 0.2, "word_max": 2}}],
                               "filters": {"min_score": 0.0, "teacher_margin": 1}})  # fmt: skip
    assert recipe.steps[0].params == {"word_p": 0.2, "word_max": 2}
    assert recipe.filters.teacher_margin == 1


def test_recipe_files_with_a_bom_in_latin_1_or_a_folder(tmp_path):
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps({"steps": [STEP]}).encode())
    assert load_recipe(bom).steps[0].augmenter == "keyboard_typo"
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"name": "caf\xe9", "steps": [{"augmenter": "keyboard_typo"}]}')
    with pytest.raises(BadInput, match=re.escape("latin.json, byte 13: not UTF-8 text; save the recipe as UTF-8")):
        load_recipe(latin)
    with pytest.raises(BadInput, match=re.escape(f"recipe file {tmp_path} is a folder")):
        load_recipe(tmp_path)


@pytest.mark.parametrize("flags, message", [
    (["--seed", "-1"], "--seed: expected 0 or more, got -1"),
    (["--max-sources", "-5"], "--max-sources: expected 0 or more, got -5"),
    (["--accept-above", "nan"], "--accept-above: a score is in [0, 1], got nan"),
    (["--accept-above", "2"], "--accept-above: a score is in [0, 1], got 2.0"),
    (["--accept-all", "--out", "out.xlsx"], "out.xlsx: export writes .csv or .parquet, got '.xlsx'"),
])  # fmt: skip
def test_augment_flags_are_checked_before_anything_is_stored(demo_sample_set, cli, flags, message):
    out = cli("augment", "--sample-set", demo_sample_set, "--preset", "typo robustness", *flags, "--json")
    assert out.returncode == 1
    assert last_json(out)["error"] == message
    from storage.candidates import list_augment_runs

    with begin() as conn:
        assert list_augment_runs(conn).empty


def test_augment_out_in_a_missing_folder_is_refused_before_generating(demo_sample_set, cli, tmp_path):
    target = tmp_path / "missing" / "out.csv"
    out = cli("augment", "--sample-set", demo_sample_set, "--preset", "typo robustness", "--accept-all", "--out", target)
    assert out.stderr.strip() == f"error: {target}: the folder {target.parent} does not exist"
    from storage.candidates import list_augment_runs

    with begin() as conn:
        assert list_augment_runs(conn).empty


# --- sample sets no model can learn from ----------------------------------------------------


@pytest.mark.parametrize("text, message", [
    ("cut:", "a cut needs a finite threshold, e.g. 'cut:2.5'"),
    ("cut:nan", "a cut needs a finite threshold"),
    ("cut:inf", "a cut needs a finite threshold"),
    ("clicks:min_clicks=-5", "min_clicks must be at least 1, got -5"),
    ("clicks:min_impressions=0", "min_impressions must be at least 1, got 0"),
])  # fmt: skip
def test_label_rules_that_mean_nothing_are_refused(text, message):
    with pytest.raises(BadInput, match=re.escape(message)):
        parse_label_rule(text)


@pytest.fixture
def graded_pairs(db_url, tmp_path) -> int:
    from workbench.ingest import ingest_file

    path = tmp_path / "pairs.csv"
    rows = ["query,product_id,label,title"] + [f"query {q},P{q}{i},{1 + i},Title {q} {i}" for q in range(40) for i in range(3)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return ingest_file(path, kind="pairs").dataset_id


def test_a_cut_above_every_label_is_refused_with_the_labels_range(graded_pairs):
    with pytest.raises(BadInput) as caught:
        build_sample_set(graded_pairs, SampleConfig(label_rule="cut:9"))
    assert str(caught.value).startswith("label rule 'cut:9' gives every train sample the label 0 (")
    assert str(caught.value).endswith("a model learns from two labels or more: the raw labels run from 1 to 3, "
                                      "so choose a cut above the lowest and at most the highest")  # fmt: skip
    with begin() as conn:
        assert list_sample_sets(conn).empty  # nothing half-written


def test_a_val_share_that_rounds_to_no_query_is_refused(graded_pairs):
    with pytest.raises(BadInput, match=re.escape("val share 0.001 of 40 queries rounds to no query; use at least 0.025, "
                                                 "or 0 for no val split")):  # fmt: skip
        build_sample_set(graded_pairs, SampleConfig(label_rule="cut:2", val_share=0.001))


# --- train: checked at submit, not in the worker --------------------------------------------


@pytest.mark.parametrize("flags, message", [
    (["--model", "/nonexistent/model"], "model folder /nonexistent/model does not exist"),
    (["--model", "no-such-org/no-such-model"], "model 'no-such-org/no-such-model' is neither a local model folder nor "
                                               "in the Hugging Face cache"),
    (["--max-length", "100000"], "training config field 'max_length': bundled:all-MiniLM-L6-v2 takes at most 512 "
                                 "tokens, got 100000"),
    (["--weight-decay", "nan"], "training config field 'weight_decay': must be a finite number, got nan"),
    (["--learning-rate", "inf"], "training config field 'learning_rate': must be a finite number, got inf"),
    (["--max-grad-norm", "-1"], "training config field 'max_grad_norm': must be 0 or more, got -1.0"),
    (["--lora-alpha", "0"], "training config field 'lora_alpha': must be at least 1, got 0"),
])  # fmt: skip
def test_train_refuses_at_submit(demo_sample_set, cli, flags, message):
    out = cli("train", "--sample-set", demo_sample_set, *flags, "--json")
    assert out.returncode == 1
    assert last_json(out)["error"].startswith(message)
    from storage.jobs import list_jobs

    with begin() as conn:
        assert list_jobs(conn).empty


def test_a_warm_start_folder_that_is_not_there_is_refused():
    from workbench.models import resolve_model

    with pytest.raises(ModelUnavailable, match=re.escape("model folder /no/such/job/model does not exist")):
        resolve_model("/no/such/job/model")


def test_a_stored_sample_set_with_one_train_label_is_refused_at_submit(db_url):
    # Sample sets built before build_sample_set refused them are still in users' databases.
    import numpy as np
    from test_train_support import make_samples

    from storage.samples import create_sample_set, insert_samples
    from workbench.jobs.queue import submit_job
    from workbench.train.config import TrainConfig

    frame = make_samples(60).assign(split=lambda f: np.where(f.index % 5 < 3, "train", np.where(f.index % 5 == 3, "val", "test")))
    frame.loc[frame["split"] == "train", "label"] = 0.0
    with begin() as conn:
        set_id = create_sample_set(conn, "one label", 1, {"label_kind": "binary"}, {})
        insert_samples(conn, set_id, frame)
    with pytest.raises(BadInput, match=re.escape(f"the train split of sample set {set_id} has one label only (0); "
                                                 "rebuild it with a label rule that gives two")):  # fmt: skip
        submit_job(set_id, TrainConfig(), start_scheduler=False)


def test_augment_on_a_missing_sample_set_fails_before_loading_the_augmenters(data_dir):
    """`augment --sample-set 999` took 25 s to fail: reading the recipe imports nlpaug and transformers first."""
    import subprocess
    import sys

    probe = ("import sys; from workbench.cli import main\n"
             "code = main(['augment', '--sample-set', '999', '--preset', 'typo robustness', '--json'])\n"
             "print(code, 'nlpaug' in sys.modules, 'transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    lines = out.stdout.strip().splitlines()
    assert json.loads(lines[-2]) == {"error": "no sample set with id 999; `python -m workbench samples list` shows them",
                                     "exit_code": 1}
    assert lines[-1] == "1 False False"
