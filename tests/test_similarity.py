"""The similarity model kind: kind resolution, the ordinal head, epoch 0 = zero-shot, strategies,
save and reload, and the lexical signals it takes. Tiny random encoders (CPU, seconds) except where
the bundled MiniLM is named."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from test_train_support import build_tiny_model, build_tiny_sentence_encoder, make_samples

from workbench.lexical import BM25, gram_share, number_share, word_share, words
from workbench.models import BUNDLED
from workbench.train import metrics as M
from workbench.train.config import TrainConfig
from workbench.train.data import encode_pairs
from workbench.train.loop import TrainData, train
from workbench.train.model import load_tokenizer
from workbench.train.similarity import ALL_INPUTS, HEAD_FILE, OrdinalHead, SimilarityModel, apply_strategy, resolve_kind, sentence_pooling


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    torch.set_num_threads(1)
    return str(build_tiny_sentence_encoder(tmp_path_factory.mktemp("tiny-st")))


@pytest.fixture
def data():
    frame = make_samples(150)
    bucket = frame["sample_id"] % 5
    return TrainData(frame[bucket < 3].reset_index(drop=True), frame[bucket == 3].reset_index(drop=True),
                     frame[bucket == 4].reset_index(drop=True))  # fmt: skip


def quick(encoder, **kw) -> TrainConfig:
    return TrainConfig(**{"model": encoder, "model_kind": "similarity", "epochs": 2, "batch_size": 8,
                          "learning_rate": 1e-3, "patience": 0, **kw})  # fmt: skip


def test_auto_kind_is_similarity_for_sentence_encoders_and_cross_encoder_otherwise(encoder, tmp_path):
    assert resolve_kind("auto", BUNDLED) == "similarity"
    assert sentence_pooling(SimilarityModel.load(BUNDLED, [0.0, 1.0]).config._name_or_path) == "mean"
    assert resolve_kind("auto", encoder) == "similarity"
    assert resolve_kind("auto", str(build_tiny_model(tmp_path / "cross"))) == "cross-encoder"
    assert resolve_kind("cross-encoder", encoder) == "cross-encoder"
    cross = build_tiny_model(tmp_path / "cross-with-st-files")  # a cross-encoder that also ships modules.json
    (cross / "modules.json").write_text((Path(encoder) / "modules.json").read_text())
    shutil.copytree(Path(encoder) / "1_Pooling", cross / "1_Pooling")
    assert resolve_kind("auto", str(cross)) == "cross-encoder"


def test_a_job_below_zero_shot_says_so():
    from workbench.jobs.queue import zero_shot_warning

    assert zero_shot_warning({"vs_zero_shot": -0.031}) == "worse than the untrained zero-shot model on its early-stopping metric (test -0.0310)"
    assert zero_shot_warning({"vs_zero_shot": 0.01}) is None and zero_shot_warning({}) is None


def test_ordinal_head_recovers_the_order_of_graded_labels():
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.normal(size=(2000, 1)), dtype=torch.float32)
    latent = 2.0 * x[:, 0] + torch.tensor(rng.logistic(size=2000), dtype=torch.float32)
    labels = torch.bucketize(latent, torch.tensor([-1.5, 0.0, 1.5]))  # 4 ordered classes
    head = OrdinalHead(("cosine",), 4)
    head.fit(x, labels)
    probs = head(x).exp()
    assert torch.allclose(probs.sum(1), torch.ones(2000), atol=1e-5)
    assert torch.all(torch.diff(head.thresholds()) > 0)
    assert head.weights()["cosine"] == pytest.approx(2.0, rel=0.15)  # the generating slope
    assert head.thresholds().tolist() == pytest.approx([-1.5, 0.0, 1.5], abs=0.25)  # the generating cuts


def test_epoch_zero_equals_the_zero_shot_reference(encoder, data):
    """With the cosine as the only input, epoch 0 is exactly the calibrated zero-shot model: its
    val metrics equal the zero-shot reference's on the same samples (test = val here)."""
    same = TrainData(data.train, data.val, data.val)
    result = train(quick(encoder, epochs=1, lexical_inputs=False), same)
    epoch0 = result.val_history[0]
    assert epoch0["epoch"] == 0
    zero_shot = result.references["zero_shot"]
    expected = M.compute_metrics(zero_shot[zero_shot["variant"] == "clean"], [0.0, 1.0])
    for name, value in expected.items():
        assert epoch0[name] == pytest.approx(value, abs=1e-6), name


@pytest.mark.slow  # the bundled MiniLM, 2 epochs on 600 pairs: a few minutes on a shared CPU
def test_a_short_run_on_demo_data_improves_val_roc_auc_over_epoch_zero(demo_db):
    """Demo search logs -> samples -> the bundled model as a similarity model: one epoch beats the
    fitted zero-shot start (cosine only, so the gain is the encoder's) on validation ROC-AUC."""
    from storage.db import begin
    from storage.samples import read_samples
    from workbench.samples import SampleConfig, build_sample_set

    built = build_sample_set(2, SampleConfig(val_share=0.2, test_share=0.1))
    with begin() as conn:
        frames = {s: read_samples(conn, built.sample_set_id, s) for s in ("train", "val")}
    train_frame = frames["train"].sample(n=600, random_state=0)
    val = frames["val"].sample(n=300, random_state=0)
    config = TrainConfig(model_kind="similarity", epochs=2, batch_size=16, learning_rate=5e-5, lexical_inputs=False,
                         references=False, patience=0)  # fmt: skip
    result = train(config, TrainData(train_frame, val, val.head(20)))
    roc = [h["roc_auc"] for h in result.val_history]
    assert [h["epoch"] for h in result.val_history] == [0, 1, 2]
    assert roc[1] > roc[0] + 0.02, roc  # measured: 0.676 -> 0.712 after the first of two epochs
    assert result.best_epoch > 0


def test_saved_similarity_model_reloads_and_predicts_the_same(encoder, data, tmp_path):
    result = train(quick(encoder, epochs=1), data, out_dir=tmp_path / "job")
    folder = tmp_path / "job" / "model"
    assert json.loads((folder / HEAD_FILE).read_text())["head"]["inputs"] == list(ALL_INPUTS)
    assert (folder / "modules.json").exists() and (folder / "1_Pooling" / "config.json").exists()
    model = SimilarityModel.load(str(folder), [0.0, 1.0]).eval()
    tokenizer = load_tokenizer(str(folder))
    test = result.predictions[result.predictions["variant"] == "clean"].merge(data.test[["sample_id", "product_text"]], on="sample_id")
    enc = encode_pairs(test, tokenizer, 128, [0.0, 1.0], model.lexical_inputs(test["query"], test["product_text"]))
    with torch.no_grad():
        probs = model(**{k: v for k, v in enc.batch(np.arange(len(enc)), 0).items() if k != "labels"}).logits.exp()
    assert np.allclose(probs[:, 1].numpy(), test["prob"].to_numpy(), atol=1e-5)
    assert result.metrics["head/cosine"] == pytest.approx(model.head.weights()["cosine"])


@pytest.mark.parametrize("strategy", ["head", "lora"])
def test_head_and_lora_strategies_train_only_what_they_should(encoder, strategy):
    model = apply_strategy(SimilarityModel.load(encoder, [0.0, 1.0]), strategy, lora_r=4, lora_alpha=8)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    head = {"head.weight", "head.first"}  # binary: no threshold gaps to learn
    if strategy == "head":
        assert trainable - {"head.gaps"} == head
    else:
        assert head <= trainable
        encoder_params = trainable - head - {"head.gaps"}
        assert encoder_params and all("lora_" in n for n in encoder_params)


def test_head_strategy_changes_only_the_head_weights(encoder, data, tmp_path):
    before = SimilarityModel.load(encoder, [0.0, 1.0]).encoder.state_dict()
    train(quick(encoder, epochs=1, strategy="head"), data, out_dir=tmp_path / "job")
    after = SimilarityModel.load(str(tmp_path / "job" / "model"), [0.0, 1.0])
    assert all(torch.equal(before[k], v) for k, v in after.encoder.state_dict().items())


def test_graded_labels_train_with_ordinal_thresholds(encoder):
    frame = make_samples(150, graded=True)
    bucket = frame["sample_id"] % 5
    result = train(quick(encoder, epochs=1), TrainData(frame[bucket < 3], frame[bucket == 3], frame[bucket == 4]))
    assert {"accuracy", "f1", "ndcg@10", "roc_auc"} <= set(result.metrics)  # roc_auc: over grades
    assert set(result.predictions["pred"]) <= {0.0, 1.0, 2.0, 3.0}


def test_similarity_trains_with_fgm_and_the_out_of_memory_fallback(encoder, data):
    logs = []
    result = train(quick(encoder, epochs=1, adversarial=True, simulated_memory_tokens=60), data, log=logs.append)
    assert any("out of memory with micro-batches of 8" in line for line in logs)
    assert np.isfinite(result.metrics["accuracy"])


# --- lexical signals ------------------------------------------------------------------------------


def test_words_normalise_case_accents_and_simple_plurals():
    assert words("Café DRILLS, 3/4 in. Glass") == ["cafe", "drill", "3", "4", "in", "glass"]


def test_word_share_and_bm25_on_hand_checkable_pairs():
    assert word_share(["red drills", "blue", ""], ["Red drill set", "green", "x"]).tolist() == [1.0, 0.0, 0.0]
    corpus = ["red drill", "blue drill", "red lamp", "oak table"]
    bm25 = BM25.fit(corpus)
    n, df_red, df_drill = 4, 2, 2
    idf = np.log1p((n - df_red + 0.5) / (df_red + 0.5))
    assert bm25.idf["red"] == pytest.approx(idf) and bm25.idf["drill"] == pytest.approx(np.log1p((n - df_drill + 0.5) / (df_drill + 0.5)))
    # tf 1, dl = avgdl = 2: each matching word adds idf * (k1 + 1) / (1 + k1) = idf
    scores = bm25.score(["red drill", "red drill", "purple"], ["red drill", "oak table", "red lamp"])
    assert scores[0] == pytest.approx(bm25.idf["red"] + bm25.idf["drill"])
    assert scores[1] == 0.0 and scores[2] == 0.0
    assert BM25.from_dict(json.loads(json.dumps(bm25.to_dict()))).score(["red"], ["red lamp"]) == pytest.approx(bm25.score(["red"], ["red lamp"]))


def test_gram_share_keeps_a_typo_close_and_number_share_checks_codes_on_hand_checkable_pairs():
    # "drill": trigrams " dr", "dri", "ril", "ill", "ll " (padded); "drils" -> "dril": " dr", "dri", "ril", "il " -> 3 of 4 found
    assert gram_share(["drils", "drill", "", "oak"], ["Cordless Drill", "drill", "x", "red lamp"]).tolist() == [0.75, 1.0, 0.0, 0.0]
    assert word_share(["drils"], ["Cordless Drill"]).tolist() == [0.0]  # the typo loses the word, not its trigrams
    codes = number_share(["vanity 60 in", "18v drill", "18v 1/2 in drill", "red lamp"],
                         ["Sheffield 60 in. Vanity", "12V Drill", "18V Drill 1/2 in.", "Lamp"])  # fmt: skip
    assert codes.tolist() == [1.0, 0.0, 1.0, 1.0]  # "18v" is missing from a 12V drill; no codes: nothing contradicts
    assert number_share(["60 in vanity 48"], ["60 in vanity"]).tolist() == [0.5]


def test_bm25_scores_texts_outside_the_corpus_with_the_frozen_statistics():
    bm25 = BM25.fit(["red drill", "blue drill"])
    assert bm25.score(["red"], ["red red sofa"])[0] > 0
    assert bm25.score(["sofa"], ["red red sofa"])[0] == 0.0  # not in the corpus vocabulary


def test_references_are_the_same_for_every_seed_and_setting_but_the_jobs_head_fits_every_row(encoder, data):
    """Zero-shot and lexical use the original samples only, fixed seeds and one typo variant. The
    job's own head (epoch 0) is fitted on every training row, augmented ones included."""
    augmented = pd.concat([data.train.assign(source="sample"), data.train.assign(source="augmented:1", query=data.train["query"] + " x")])
    logs: list[str] = []
    one = train(quick(encoder, epochs=1, seed=0), TrainData(data.train.assign(source="sample"), data.val, data.test))
    two = train(quick(encoder, epochs=1, seed=3), TrainData(augmented, data.val, data.test), log=logs.append)
    for name in ("zero_shot", "lexical"):
        pd.testing.assert_frame_equal(one.references[name], two.references[name])
    assert f"head fitted on {len(augmented)} training samples" in " ".join(logs)
    assert one.val_history[0]["epoch"] == two.val_history[0]["epoch"] == 0
    assert one.val_history[0]["loss"] != pytest.approx(two.val_history[0]["loss"], abs=1e-6)  # another head


def test_scoring_encodes_each_distinct_text_once_and_equals_the_forward_pass(encoder, data):
    """Search logs repeat queries and products: predict_probs encodes each distinct text once, and
    its probabilities and loss are the forward pass's."""
    from workbench.train.steps import MicroBatcher, predict_probs, unique_vectors

    frame = pd.concat([data.val, data.val.assign(product_text=data.val["product_text"].iloc[::-1].to_numpy())], ignore_index=True)
    model = SimilarityModel.load(encoder, [0.0, 1.0]).eval()
    model.bm25 = BM25.fit(frame["product_text"])
    tokenizer = load_tokenizer(encoder)
    enc = encode_pairs(frame, tokenizer, 64, [0.0, 1.0], model.lexical_inputs(frame["query"], frame["product_text"]))
    batcher = MicroBatcher(8, 0, lambda text: None)
    vectors, rows = unique_vectors(model, enc.query, batcher, torch.device("cpu"), tokenizer.pad_token_id)
    assert len(vectors) == frame["query"].nunique() < len(frame) and len(rows) == len(frame)
    probs, loss = predict_probs(model, enc, batcher, torch.device("cpu"), tokenizer.pad_token_id, 2)
    with torch.no_grad():
        batch = enc.batch(np.arange(len(enc)), tokenizer.pad_token_id)
        log_probs = model(**{k: v for k, v in batch.items() if k != "labels"}).logits
    assert np.allclose(probs, log_probs.exp().numpy(), atol=1e-5)
    assert loss == pytest.approx(float(torch.nn.functional.nll_loss(log_probs, batch["labels"])), abs=1e-5)
