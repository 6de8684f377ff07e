"""Training core: config, batches, metrics and the loop on a tiny random-config BERT (CPU, seconds)."""
from __future__ import annotations

import argparse
import re

import numpy as np
import pandas as pd
import pytest
import torch
from test_train_support import make_samples

from workbench.errors import BadInput
from workbench.train import metrics as M
from workbench.train.config import TrainConfig, add_config_arguments, config_from_args, field_help
from workbench.train.data import collate, encode, length_grouped_batches
from workbench.train.loop import PREDICTION_COLUMNS, TrainData, train


@pytest.fixture
def data():
    frame = make_samples(150)
    bucket = frame["sample_id"] % 5
    return TrainData(frame[bucket < 3], frame[bucket == 3].reset_index(drop=True), frame[bucket == 4].reset_index(drop=True))


def quick(tiny_model, **kw) -> TrainConfig:
    return TrainConfig(**{"model": tiny_model, "epochs": 2, "batch_size": 8, "learning_rate": 1e-3, **kw})


# --- config -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values, message",
    [
        ({"strategy": "half"}, "training config field 'strategy': expected one of ['full', 'head', 'lora'], got 'half'"),
        ({"epochs": 0}, "training config field 'epochs': must be at least 1, got 0"),
        ({"learning_rate": 0.0}, "training config field 'learning_rate': must be above 0, got 0.0"),
        ({"max_train": -5}, "training config field 'max_train': must be 0 or more, got -5"),
        ({"epoch": 3}, "training config: unknown field(s) ['epoch']"),
    ],
)
def test_bad_config_names_the_field(values, message):
    with pytest.raises(BadInput, match=re.escape(message)):
        TrainConfig.from_dict(values)


def test_config_round_trips_through_json_dict_and_cli_flags():
    config = TrainConfig(epochs=4, strategy="lora", adversarial=True)
    assert TrainConfig.from_dict(config.to_dict()) == config
    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    args = parser.parse_args(["--epochs", "4", "--strategy", "lora", "--adversarial"])
    assert config_from_args(args) == config
    assert field_help("epochs") in " ".join(parser.format_help().split())


# --- batches ----------------------------------------------------------------------------


def test_length_grouped_batches_cover_every_sample_once_with_similar_lengths():
    lengths = np.random.default_rng(0).integers(5, 120, size=1000)
    batches = length_grouped_batches(lengths, 16, np.random.default_rng(1))
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(1000))
    assert all(len(b) <= 16 for b in batches)
    # Within a batch the spread of lengths is far below the spread of a random batch.
    spread = np.mean([lengths[b].max() - lengths[b].min() for b in batches])
    assert spread < 10
    assert length_grouped_batches(lengths, 16, np.random.default_rng(1))[0].tolist() == batches[0].tolist()


def test_collate_pads_only_to_the_longest_sample_in_the_batch(tiny_model):
    from transformers import AutoTokenizer

    frame = pd.DataFrame({"query": ["drill", "red cordless drill with battery"], "product_text": ["x", "a b c d e f g"], "label": [0.0, 1.0]})
    enc = encode(frame, AutoTokenizer.from_pretrained(tiny_model), 128, [0.0, 1.0])
    batch = collate(enc, np.array([0, 1]), pad_id=0)
    assert batch["input_ids"].shape == (2, int(enc.lengths.max()))
    assert batch["attention_mask"].sum(1).tolist() == enc.lengths.tolist()
    assert batch["labels"].tolist() == [0, 1]
    # On CUDA widths round up to a multiple of 8; the mask still covers only the real tokens.
    rounded = collate(enc, np.array([0, 1]), pad_id=0, multiple=8)
    assert rounded["input_ids"].shape[1] % 8 == 0 and rounded["input_ids"].shape[1] >= int(enc.lengths.max())
    assert rounded["attention_mask"].sum(1).tolist() == enc.lengths.tolist()
    assert (rounded["input_ids"][:, : batch["input_ids"].shape[1]] == batch["input_ids"]).all()


# --- metrics ----------------------------------------------------------------------------


def test_ranking_metrics_match_hand_computation():
    frame = pd.DataFrame({
        "query": ["a", "a", "a", "b", "b"],
        "label": [0.0, 1.0, 1.0, 1.0, 0.0],
        "score": [0.9, 0.8, 0.1, 0.7, 0.2],
        "pred": [1.0, 1.0, 0.0, 1.0, 0.0],
        "prob": [0.9, 0.8, 0.1, 0.7, 0.2],
    })  # fmt: skip
    out = M.compute_metrics(frame, [0.0, 1.0])
    # query a: gains [0, 1, 1] ranked as is: DCG = 1/log2(3) + 1/log2(4); IDCG = 1 + 1/log2(3)
    ndcg_a = (1 / np.log2(3) + 0.5) / (1 + 1 / np.log2(3))
    assert out["ndcg@10"] == pytest.approx((ndcg_a + 1.0) / 2)
    assert out["mrr"] == pytest.approx((1 / 2 + 1) / 2)
    assert out["accuracy"] == pytest.approx(3 / 5)
    assert out["roc_auc"] == pytest.approx(2 / 6)  # positive above negative in 2 of 6 pairs


def test_keyboard_typos_are_seeded_and_change_the_text():
    assert M.keyboard_typos("cordless drill", seed=3) == M.keyboard_typos("cordless drill", seed=3)
    assert M.keyboard_typos("cordless drill", seed=3) != "cordless drill"
    assert len(M.keyboard_typos("cordless drill", seed=3)) == len("cordless drill")
    assert M.keyboard_typos("123", seed=3) == "123"


# --- the loop ---------------------------------------------------------------------------


def test_train_writes_checkpoints_model_predictions_and_reports(tiny_model, data, tmp_path):
    progress, rows, messages = [], [], []
    result = train(quick(tiny_model), data, out_dir=tmp_path, on_progress=lambda *a: progress.append(a),
                   on_metrics=rows.extend, log=messages.append)  # fmt: skip
    assert {"accuracy", "f1", "roc_auc", "ndcg@10", "mrr", "typo/accuracy", "cold_start/f1", "tail/mrr"} <= set(result.metrics)
    assert result.metrics["samples_seen"] == 2 * len(data.train)
    assert progress[-1][0] == progress[-1][1] == 2 * -(-len(data.train) // 8)
    assert {r["split"] for r in rows} == {"train", "val", "test", "cold_start", "tail", "typo"}
    assert [r["epoch"] for r in rows if r["split"] == "val" and r["name"] == "loss"] == [1, 2]
    for name in ("checkpoints/last.pt", "checkpoints/best.pt", "model/config.json", "model/classes.json", "predictions.parquet"):
        assert (tmp_path / name).exists(), name
    predictions = pd.read_parquet(tmp_path / "predictions.parquet")
    assert list(predictions.columns) == PREDICTION_COLUMNS
    assert sorted(predictions["variant"].unique()) == ["clean", "typo"]
    assert len(predictions) == 2 * len(data.test)
    assert messages[0] == "device: cpu"


def test_graded_labels_give_one_class_per_grade_and_expected_label_scores(tiny_model, tmp_path):
    frame = make_samples(100, graded=True)
    data = TrainData(frame[:60], frame[60:80], frame[80:])
    result = train(quick(tiny_model, epochs=1), data)
    clean = result.predictions[result.predictions["variant"] == "clean"]
    assert result.metrics["roc_auc"] == pytest.approx(M.concordance(clean["label"], clean["score"]))  # over grades
    scores = result.predictions["score"]
    assert scores.between(0, 3).all() and result.predictions["prob"].isna().all()
    assert set(result.predictions["pred"].unique()) <= {0.0, 1.0, 2.0, 3.0}


def test_head_strategy_trains_only_the_head(tiny_model, data, tmp_path):
    from transformers import AutoModelForSequenceClassification

    train(quick(tiny_model, strategy="head", epochs=1), data, out_dir=tmp_path)
    before = AutoModelForSequenceClassification.from_pretrained(tiny_model).state_dict()
    after = AutoModelForSequenceClassification.from_pretrained(tmp_path / "model").state_dict()
    assert torch.equal(before["bert.encoder.layer.0.attention.self.query.weight"], after["bert.encoder.layer.0.attention.self.query.weight"])
    assert not torch.equal(before["classifier.weight"], after["classifier.weight"])


def test_lora_with_adversarial_training_saves_a_plain_merged_model(tiny_model, data, tmp_path):
    from transformers import AutoModelForSequenceClassification

    result = train(quick(tiny_model, strategy="lora", adversarial=True, epochs=1), data, out_dir=tmp_path)
    assert "accuracy" in result.metrics
    merged = AutoModelForSequenceClassification.from_pretrained(tmp_path / "model").state_dict()
    before = AutoModelForSequenceClassification.from_pretrained(tiny_model).state_dict()
    key = "bert.encoder.layer.0.attention.self.query.weight"
    assert key in merged and not torch.equal(before[key], merged[key])  # the adapters were merged in


def test_out_of_memory_halves_the_micro_batch_and_training_goes_on(tiny_model, data):
    messages = []
    longest = 100  # samples are 11 to 17 tokens: 8 of the longer ones do not fit, 4 always do
    result = train(quick(tiny_model, epochs=1, simulated_memory_tokens=longest), data, log=messages.append)
    halvings = [m for m in messages if m.startswith("out of memory")]
    assert halvings and halvings[0].startswith("out of memory with micro-batches of 8; continuing with 4")
    assert result.metrics["samples_seen"] == len(data.train)


def test_out_of_memory_with_one_sample_per_micro_batch_fails_clearly(tiny_model, data):
    with pytest.raises(torch.OutOfMemoryError, match="out of memory even with one sample per micro-batch"):
        train(quick(tiny_model, epochs=1, simulated_memory_tokens=3), data)


def test_early_stopping_stops_after_patience_epochs_without_improvement(tiny_model, data):
    messages = []
    # A learning rate this small changes nothing measurable: val never improves after epoch 1.
    result = train(quick(tiny_model, epochs=6, patience=1, learning_rate=1e-9, early_stopping_metric="accuracy"), data, log=messages.append)
    assert result.best_epoch == 1
    assert [h["epoch"] for h in result.val_history] == [1, 2]
    assert "early stop: val accuracy did not improve for 1 epochs" in messages


def test_a_run_with_a_checkpoint_continues_after_its_epoch(tiny_model, data, tmp_path):
    train(quick(tiny_model, epochs=1), data, out_dir=tmp_path)
    messages = []
    result = train(quick(tiny_model, epochs=2), data, out_dir=tmp_path, log=messages.append)
    assert any(m.startswith("resuming after epoch 1") for m in messages)
    assert [h["epoch"] for h in result.val_history] == [1, 2]
    assert result.metrics["samples_seen"] == 2 * len(data.train)


def test_max_train_caps_the_training_samples(tiny_model, data):
    result = train(quick(tiny_model, epochs=1, max_train=20), data)
    assert result.metrics["samples_seen"] == 20


def test_warm_start_continues_from_a_saved_model(tiny_model, data, tmp_path):
    from transformers import AutoModelForSequenceClassification

    train(quick(tiny_model, epochs=1), data, out_dir=tmp_path / "first")
    # The second job trains the head only, so its encoder is exactly the one it started from.
    train(quick(tiny_model, epochs=1, strategy="head", warm_start=str(tmp_path / "first" / "model")), data,
          out_dir=tmp_path / "second")
    base, first, second = (AutoModelForSequenceClassification.from_pretrained(path).state_dict()
                           for path in (tiny_model, tmp_path / "first" / "model", tmp_path / "second" / "model"))
    key = "bert.encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(base[key], first[key])  # the first job trained the encoder
    assert torch.equal(first[key], second[key])  # the second started from the first job's weights, not the base's


@pytest.mark.parametrize(
    "value, best, loss, best_loss, expected",
    [(1.0, 1.0, 0.50, 0.60, True),  # nDCG@10 saturated: the clearly lower loss picks the weights
     (1.0, 1.0, 0.59995, 0.6, False),  # a loss within 1e-4 is no reason to move
     (0.9, 1.0, 0.10, 0.60, False),  # a worse metric is never a tie
     (1.0, None, 0.5, None, False)],  # the first epoch is 'better', not a tie
)
def test_a_tied_metric_keeps_the_weights_with_clearly_lower_validation_loss(value, best, loss, best_loss, expected):
    from workbench.train.loop import is_tie_with_lower_loss

    assert is_tie_with_lower_loss(value, best, loss, best_loss) is expected
