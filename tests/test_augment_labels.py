"""Augmentation that keeps the label (issue 11): product-aware rewrites, the teacher check on every
candidate, teacher-labeled new pairs (pseudo-queries, mined negatives), and the typo rate estimate.

The teacher here is the zero-shot teacher over a tiny random sentence encoder: its cosine is noise,
so what it knows comes from the lexical inputs (BM25, word share) its head is fitted on, which is
enough to tell whether a query still names the product.
"""
from __future__ import annotations

import json
import re

import pandas as pd
import pytest
import torch
from test_train_support import build_tiny_sentence_encoder

from storage import candidates as stored
from storage.db import begin
from storage.samples import read_samples
from workbench.augment import AugmentContext, SampleRandom, get
from workbench.augment.pipeline import generate_candidates, run_recipe, source_samples, teacher_check
from workbench.augment.recipes import recipe_from_dict
from workbench.augment.text import kept_words, protected_words
from workbench.errors import BadInput
from workbench.lexical import words
from workbench.queries import typo_share
from workbench.train.config import TrainConfig
from workbench.train.loop import TrainData, clean_twins, train
from workbench.train.teacher import Teacher


@pytest.fixture(scope="module")
def encoder(tmp_path_factory) -> str:
    torch.set_num_threads(1)
    return str(build_tiny_sentence_encoder(tmp_path_factory.mktemp("tiny-teacher")))


@pytest.fixture
def samples(demo_sample_set) -> pd.DataFrame:
    with begin() as conn:
        return read_samples(conn, demo_sample_set)


def relevance_samples() -> pd.DataFrame:
    """Train samples whose label says whether the product text has the query's words."""
    products = {"p1": "Sheffield 60 in. vanity in white", "p2": "Wakefield 48 in. vanity in grey",
                "p3": "Cordless drill 20V kit", "p4": "Riding mower 42 in. deck", "p5": "Oak dining table"}
    queries = {"p1": "sheffield vanity", "p2": "wakefield vanity", "p3": "cordless drill", "p4": "riding mower",
               "p5": "oak table"}
    rows = []
    for i, (pid, query) in enumerate(queries.items()):
        for j, (other, text) in enumerate(products.items()):
            rows.append({"sample_id": 10 * i + j, "query": query, "product_id": other, "product_text": text,
                         "label": float(pid == other), "split": "train", "cold_start": False})
    return pd.DataFrame(rows * 3).assign(sample_id=lambda f: range(len(f)))


# --- 1. product-aware rewrites ---------------------------------------------------------------


def test_kept_words_are_the_query_words_the_product_text_has_after_normalising():
    assert kept_words("Wyndham Sheffield 60 in", "Wyndham Collection Sheffield 60 in. Vanity") == \
        frozenset({"wyndham", "sheffield", "60", "in"})
    assert kept_words("riding mowers", "Riding Mower 42 in. deck") == frozenset({"riding", "mower"})
    assert protected_words("wyndham sheffield 60 in vanity", "Sheffield vanity by Wyndham") == \
        ["wyndham", "sheffield", "60 in", "vanity"]


def changed_words(original: str, rewritten: str) -> set[str]:
    return set(words(original)) - set(words(rewritten))


def demo_context(samples) -> AugmentContext:
    from storage.samples import get_sample_set
    from workbench.augment.pipeline import load_context

    with begin() as conn:
        return load_context(conn, get_sample_set(conn, 1), samples, {})


@pytest.mark.parametrize("augmenter", ["wordnet_synonym", "embedding_neighbour", "word_swap"])
def test_rewrites_never_change_a_word_the_product_text_has(samples, augmenter):
    """Property over the demo train split: every candidate keeps each query word its product's text has."""
    context = demo_context(samples)
    train = source_samples(samples, recipe_from_dict({"seed": 0, "steps": [{"augmenter": augmenter}]}))
    made = get(augmenter)(context=context).augment(train, SampleRandom(0, augmenter))
    assert len(made) > 20
    by_id = {s.sample_id: s for s in train}
    shared_rewrites = 0
    for c in made:
        source = by_id[c.sample_id]
        kept = kept_words(source.query, source.product_text)
        assert not kept & changed_words(source.query, c.query), (source.query, c.query, source.product_text)
        shared_rewrites += bool(kept)
    assert shared_rewrites > 10  # the property was tested on queries that share words with their product


def test_masked_lm_never_masks_a_word_the_product_text_has(bundled_model_dir, tmp_path):
    """The masked LM path with a tiny random BERT MLM (any filler it draws is fine: what is masked matters)."""
    from transformers import AutoTokenizer, BertConfig, BertForMaskedLM

    tokenizer = AutoTokenizer.from_pretrained(bundled_model_dir)
    BertForMaskedLM(BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                               intermediate_size=64)).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    train = [s for s in source_samples(relevance_samples(), recipe_from_dict({"seed": 0, "steps": [{"augmenter": "masked_lm"}]}))]
    masked = get("masked_lm")(get("masked_lm").Params(model=str(tmp_path), per_sample=2, top_k=50))
    made = masked.augment(train, SampleRandom(0, "masked_lm"))
    by_id = {s.sample_id: s for s in train}
    assert len(made) > 10
    for c in made:
        source = by_id[c.sample_id]
        assert not kept_words(source.query, source.product_text) & changed_words(source.query, c.query)
    # A negative's query shares no word with its product, so its words may change: some did.
    assert any(by_id[c.sample_id].label == 0.0 for c in made)


def test_the_filter_drops_a_paraphrase_that_lost_a_product_word():
    from workbench.augment.filters import FilterConfig, row_reasons

    frame = pd.DataFrame({"field": ["query", "query"], "augmenter": ["llm_paraphrase", "llm_paraphrase"],
                          "query": ["wyndham wakefield 60 in", "sheffield bath vanity 60 in"],
                          "product_text": ["Wyndham Sheffield 60 in. Vanity"] * 2,
                          "original": ["wyndham sheffield 60 in", "sheffield vanity 60 in"], "product_id": ["p1", "p1"]})
    assert row_reasons(frame, FilterConfig(), None).tolist() == ["product_word", ""]
    assert row_reasons(frame, FilterConfig(protect_product_words=False), None).tolist() == ["", ""]


# --- 2. the teacher check ---------------------------------------------------------------------


def test_the_teacher_check_drops_a_candidate_whose_label_flipped(encoder):
    train = relevance_samples()
    teacher = Teacher.zero_shot(train, base=encoder)
    candidates = pd.DataFrame({
        "query": ["sheffield bathroom vanity", "wakefield vanity", "cordless drill"],  # kept, flipped, flipped
        "product_id": ["p1", "p1", "p4"],
        "product_text": ["Sheffield 60 in. vanity in white", "Sheffield 60 in. vanity in white", "Riding mower 42 in. deck"],
        "label": [1.0, 1.0, 1.0],
        "score": [float("nan")] * 3,
    })
    kept, dropped = teacher_check(candidates, teacher, margin=0.5)
    assert dropped == 2
    assert kept["query"].tolist() == ["sheffield bathroom vanity"]
    assert kept["score"].iloc[0] > 0.5
    # The same pair labeled 0 (a negative): the teacher agrees with a negative for the flipped ones.
    negatives, dropped = teacher_check(candidates.assign(label=0.0), teacher, margin=0.5)
    assert negatives["query"].tolist() == ["wakefield vanity", "cordless drill"] and dropped == 1


def test_teacher_scores_are_stored_on_every_candidate_and_accept_above_takes_them(demo_sample_set, encoder):
    recipe = recipe_from_dict({"name": "teacher", "seed": 0, "max_source_samples": 150,
                               "steps": [{"augmenter": "wordnet_synonym"}, {"augmenter": "hard_negative"}],
                               "filters": {"scorer": "teacher", "teacher_model": encoder, "teacher_margin": 0.5}})
    result = run_recipe(demo_sample_set, recipe, accept_above=0.5)
    with begin() as conn:
        page = stored.read_candidates_page(conn, result.augment_run_id, None, 0, 10_000)
    assert len(page) == result.candidates > 0 and set(page["augmenter"]) == {"wordnet_synonym", "hard_negative"}
    assert page["score"].notna().all() and page["score"].between(0.5, 1.0).all()
    assert result.accepted == result.candidates  # every kept candidate has a score >= 1 - margin


# --- 3. new pairs labeled by the teacher -------------------------------------------------------


def test_pseudo_queries_and_mined_negatives_carry_teacher_scores(demo_sample_set, samples, encoder):
    recipe = recipe_from_dict({"name": "new pairs", "seed": 0, "max_source_samples": 300, "per_sample": 2,
                               "steps": [{"augmenter": "pseudo_query"}, {"augmenter": "mined_negative"}],
                               "filters": {"scorer": "teacher", "teacher_model": encoder, "teacher_margin": 0.5}})
    result = run_recipe(demo_sample_set, recipe)
    with begin() as conn:
        page = stored.read_candidates_page(conn, result.augment_run_id, None, 0, 100_000)
    assert set(page["augmenter"]) == {"pseudo_query", "mined_negative"}
    assert page["score"].notna().all() and (page["score"] >= 0.5).all()
    assert set(page.loc[page["augmenter"] == "mined_negative", "label"]) == {0.0}
    assert set(page.loc[page["augmenter"] == "pseudo_query", "label"]) == {1.0}
    assert result.dropped.get("teacher_disagrees", 0) > 0  # Doc2Query--: the teacher dropped some
    cold = set(samples.loc[samples["cold_start"], "product_id"])
    pseudo = set(page.loc[page["augmenter"] == "pseudo_query", "product_id"])
    assert pseudo & cold  # cold-start products get pseudo-queries from their catalog text
    assert not cold & set(page.loc[page["augmenter"] == "mined_negative", "product_id"])  # never as negatives
    heldout = set(samples.loc[samples["split"] != "train", "query"].str.lower())
    assert not heldout & set(page["query"].str.lower())


# --- 5. determinism -----------------------------------------------------------------------------


def test_the_same_recipe_and_seed_give_identical_teacher_checked_candidates(samples, encoder):
    recipe = {"seed": 3, "max_source_samples": 200, "steps": [{"augmenter": "wordnet_synonym"}, {"augmenter": "word_swap"},
              {"augmenter": "keyboard_typo", "params": {"rate": 0.3}}, {"augmenter": "mined_negative"}],
              "filters": {"scorer": "teacher", "teacher_model": encoder}}
    teacher = Teacher.zero_shot(samples, base=encoder)
    one, dropped_one, _ = generate_candidates(samples, recipe_from_dict(recipe), demo_context(samples), workers=1, teacher=teacher)
    two, dropped_two, _ = generate_candidates(samples, recipe_from_dict(recipe), demo_context(samples), workers=2, chunk_size=37,
                                              teacher=Teacher.zero_shot(samples, base=encoder))
    pd.testing.assert_frame_equal(one, two, check_exact=False, atol=1e-5)
    assert dropped_one == dropped_two and len(one) > 50


# --- 4. typo-aware training ----------------------------------------------------------------------


def test_the_typo_share_counts_queries_within_two_edits_of_a_more_frequent_one():
    queries = pd.Series(["cordless drill"] * 5 + ["cordles drill", "cordless drills"] + ["riding mower"] * 3
                        + ["ridng mower", "tv", "tvs", "lamp"])
    # distinct after normalising: cordless drill (6, "drills" is its plural), cordles drill, riding mower,
    # ridng mower, tv, tvs, lamp; the two misspellings are typos, "tvs" is too short to count.
    assert typo_share(queries) == pytest.approx(2 / 7)
    assert typo_share(pd.Series(["lamp"])) == 0.0


def test_typo_rate_makes_candidates_for_that_share_of_positives_and_negatives_alike(samples):
    train = source_samples(samples, recipe_from_dict({"seed": 0, "steps": [{"augmenter": "keyboard_typo"}]}))
    cls = get("keyboard_typo")
    made = cls(cls.Params(rate=0.25)).augment(train, SampleRandom(0, "keyboard_typo"))
    every = cls().augment(train, SampleRandom(0, "keyboard_typo"))
    assert 0.2 < len(made) / len(every) < 0.3
    labels = {s.sample_id: s.label for s in train}
    assert {labels[c.sample_id] for c in made} == {0.0, 1.0}


def typo_training_frames():
    from test_train_support import make_samples
    from workbench.train import metrics as M

    frame = make_samples(120).assign(source="sample")
    bucket = frame["sample_id"] % 5
    train = frame[bucket < 3]
    typos = train.assign(query=[M.keyboard_typos(q, 1) for q in train["query"]], source="augmented:1")
    return TrainData(pd.concat([train, typos], ignore_index=True), frame[bucket == 3].reset_index(drop=True),
                     frame[bucket == 4].reset_index(drop=True))


def test_the_consistency_loss_pairs_each_typo_with_its_clean_sample_and_changes_training(encoder):
    data = typo_training_frames()
    twins = clean_twins(data.train)
    n = len(data.train) // 2
    assert (twins[n:] == range(n)).all() and (twins[:n] == -1).all()

    def run(weight):
        lines = []
        config = TrainConfig(model=encoder, model_kind="similarity", epochs=1, batch_size=16, learning_rate=1e-3,
                             patience=0, references=False, consistency_weight=weight)
        result = train(config, data, log=lines.append)
        return result, lines

    plain, _ = run(0.0)
    pulled, lines = run(2.0)
    assert f"typo consistency (weight 2): {n} augmented query rewrites pulled toward their clean source sample" in lines
    assert pulled.metrics["samples_seen"] == plain.metrics["samples_seen"] == 2 * n
    assert pulled.val_history[-1]["loss"] != plain.val_history[-1]["loss"]  # the extra loss changed the weights


def test_the_consistency_weight_is_recorded_in_the_job_config(tiny_model, db_url):
    import json

    from storage import jobs as job_store
    from test_train_support import store_sample_set
    from workbench.train.folder import JobFolder
    from workbench.jobs.queue import submit_job

    set_id = store_sample_set()
    job_id = submit_job(set_id, TrainConfig(model=tiny_model, epochs=1, consistency_weight=0.5), start_scheduler=False)
    with begin() as conn:
        job = job_store.get_job(conn, job_id)
    assert job["config"]["consistency_weight"] == 0.5
    assert json.loads(JobFolder(job["job_dir"]).config.read_text())["consistency_weight"] == 0.5
    with pytest.raises(BadInput, match=re.escape("training config field 'consistency_weight': must be 0 or more, got -1.0")):
        TrainConfig(consistency_weight=-1.0).validate()


def test_a_finished_jobs_model_is_the_teacher_from_the_command_line(db_url, encoder, cli):
    """`augment --teacher JOB_ID`: the job's saved similarity model scores every candidate."""
    from storage import jobs as job_store
    from test_train_support import store_sample_set
    from workbench.jobs.queue import submit_job
    from workbench.train.worker import run

    set_id = store_sample_set()
    job_id = submit_job(set_id, TrainConfig(model=encoder, model_kind="similarity", epochs=1, batch_size=16,
                                            references=False), start_scheduler=False)
    with begin() as conn:
        job_dir = job_store.get_job(conn, job_id)["job_dir"]
    out = cli("augment", "--sample-set", set_id, "--preset", "typo robustness", "--teacher", job_id, "--json")
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1] == f"error: teacher job {job_id} is queued; pick a finished training job"
    assert run(job_dir) == 0  # the worker, in this process (the scheduler would mark the job done)
    with begin() as conn:
        job_store.set_job_status(conn, job_id, "done")
    out = cli("augment", "--sample-set", set_id, "--preset", "typo robustness", "--teacher", job_id, "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    with begin() as conn:
        run_row = stored.get_augment_run(conn, result["augment_run_id"])
        page = stored.read_candidates_page(conn, result["augment_run_id"], None, 0, 10_000)
    assert run_row["recipe"]["filters"]["scorer"] == "teacher" and run_row["recipe"]["filters"]["teacher_job"] == job_id
    assert len(page) == result["candidates"] > 0 and page["score"].between(0.5, 1.0).all()
    teacher = Teacher.from_job(job_dir, job_id)
    assert (teacher.kind, teacher.name, teacher.classes) == ("similarity", f"job {job_id}", [0.0, 1.0])
