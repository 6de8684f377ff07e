"""The training loop: fine-tune a sentence-pair classifier on (query, product text) samples.

    from workbench.train.loop import TrainData, train
    result = train(TrainConfig(epochs=2), TrainData(train_df, val_df, test_df), out_dir=Path("run"))

The job worker runs it as `python -m workbench.train --job-dir DIR`. The order is fixed:
seed -> data -> model -> optimizer/schedule -> for epoch (train, evaluate, checkpoint) -> test and
save. Progress goes to `on_progress(done, total, message)`, metric rows to `on_metrics(rows)`,
messages to `log(text)`; nothing is printed. With `out_dir`, a checkpoint is written each epoch
(`checkpoints/last.pt`) plus the best (`checkpoints/best.pt`), and a run that finds `last.pt`
continues after the epoch it holds.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch
from transformers import get_linear_schedule_with_warmup

from workbench.errors import MissingData
from workbench.train import metrics as M
from workbench.train.config import TrainConfig
from workbench.train.data import cap_train, class_values, encode, encode_pairs, length_grouped_batches
from workbench.models import pick_device
from workbench.train.model import FGM, load_model, load_tokenizer, save_model, trainable_parameters
from workbench.lexical import BM25
from workbench.train.predictions import PREDICTION_COLUMNS, as_predictions, scored, test_variants  # noqa: F401 (PREDICTION_COLUMNS re-exported)
from workbench.train.references import class_index, column, cosines, head_fit_sample, references
from workbench.train.similarity import ALL_INPUTS, SimilarityModel, resolve_kind
from workbench.train.similarity import apply_strategy as similarity_strategy
from workbench.train.steps import MicroBatcher, load_checkpoint, predict_probs, save_checkpoint, train_batch


@dataclass
class TrainData:
    """Frames with query, product_text, label (+ sample_id, product_id, cold_start for test)."""

    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame


@dataclass
class TrainResult:
    metrics: dict[str, float]  # final test metrics, slices as 'cold_start/<name>', run figures
    best_epoch: int
    device: str
    predictions: pd.DataFrame
    val_history: list[dict] = field(default_factory=list)
    model_kind: str = "cross-encoder"
    references: dict[str, pd.DataFrame] = field(default_factory=dict)  # zero_shot, lexical: test predictions
    head_weights: dict[str, float] = field(default_factory=dict)  # similarity: each head input's weight


def _nothing(*args) -> None:
    pass


def is_tie_with_lower_loss(value: float | None, best: float | None, loss: float | None, best_loss: float | None) -> bool:
    """The chosen metric ties the best and the validation loss is clearly lower. nDCG@10 and MRR
    sit at 1.0 when most queries have one relevant product; without this the first epoch's
    weights would stay 'best' forever."""
    return value is not None and value == best and None not in (loss, best_loss) and loss < best_loss - 1e-4


def is_better(value: float | None, best: float | None, metric: str) -> bool:
    if value is None:
        return False
    if best is None:
        return True
    return value < best if metric == "loss" else value > best


def train(
    config: TrainConfig,
    data: TrainData,
    out_dir: Path | None = None,
    on_progress: Callable[[int, int, str], None] = _nothing,
    on_metrics: Callable[[list[dict]], None] = _nothing,
    log: Callable[[str], None] = _nothing,
) -> TrainResult:
    config.validate()
    if data.train.empty or data.val.empty:
        raise MissingData("training needs samples in both the train and the val split; build the sample set with a val share above 0")

    # 1. Seed: the head's initial weights and every epoch's order follow from config.seed.
    torch.manual_seed(config.seed)
    device = torch.device(pick_device(config.device))
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else device.type
    if device.type == "cuda":
        # cuDNN attention plans anew for every sequence length, and length-grouped batches have dozens:
        # on an H200 that made this loop 2.5x slower than padding all to 128. Flash attention takes any length.
        torch.backends.cuda.enable_cudnn_sdp(False)
    log(f"device: {device_name}")

    # 2. Data and the model kind: classes are the distinct label values over all splits.
    train_frame = cap_train(data.train, config.max_train, config.seed, config.augmented_share)
    classes = class_values(train_frame, data.val, data.test)
    source = config.warm_start or config.model
    kind = resolve_kind(config.model_kind, source)
    stop_metric = config.stop_metric(len(classes), M.ranks_within_queries(data.val))
    tokenizer = load_tokenizer(source)
    pad_id = tokenizer.pad_token_id or 0

    # 3. References first (what the user had before training), then the model, strategy applied.
    refs = {}
    if config.references and not data.test.empty:
        refs = _references(config, data, classes, device, out_dir, log)
    if kind == "similarity":
        inputs = ALL_INPUTS if config.lexical_inputs else ("cosine",)
        model = similarity_strategy(SimilarityModel.load(source, classes, inputs), config.strategy, config.lora_r, config.lora_alpha)
        model.bm25 = BM25.fit(pd.concat([data.train["product_text"], data.val["product_text"], data.test["product_text"]]))

        def encode_frame(frame):
            return encode_pairs(frame, tokenizer, config.max_length, classes, model.lexical_inputs(frame["query"], frame["product_text"]))
    else:
        model = load_model(source, classes, config.strategy, config.lora_r, config.lora_alpha)

        def encode_frame(frame):
            return encode(frame, tokenizer, config.max_length, classes)

    model.to(device).train()
    train_enc, val_enc = encode_frame(train_frame), encode_frame(data.val)
    log(f"{len(train_enc)} training samples, {len(val_enc)} val, {len(data.test)} test; classes {classes}")
    clean_of = clean_twins(train_frame)
    if config.consistency_weight > 0:
        log(f"typo consistency (weight {config.consistency_weight:g}): {int((clean_of >= 0).sum())} augmented query "
            "rewrites pulled toward their clean source sample")  # fmt: skip
    log(f"model {source} as {kind}, strategy {config.strategy}: {trainable_parameters(model):,} trainable parameters")
    fgm = FGM(model, config.adversarial_epsilon) if config.adversarial else None

    # 4. AdamW with linear warm-up and decay; no weight decay on biases and LayerNorm; the similarity
    #    head (a handful of weights, already fitted) at its own learning rate.
    steps_per_epoch = -(-len(train_enc) // config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
    head = [p for n, p in params if n.startswith("head.")]
    body = [(n, p) for n, p in params if not n.startswith("head.")]
    groups = [
        {"params": [p for n, p in body if not n.endswith(no_decay)], "weight_decay": config.weight_decay},
        {"params": [p for n, p in body if n.endswith(no_decay)], "weight_decay": 0.0},
        {"params": head, "weight_decay": 0.0, "lr": config.head_learning_rate},
    ]
    # The fused kernel updates every weight in one pass: on CPU it cut the step from 0.75 s to 0.08 s.
    optimizer = torch.optim.AdamW([g for g in groups if g["params"]], lr=config.learning_rate, fused=device.type in ("cpu", "cuda"))
    schedule = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total_steps), total_steps)
    batcher = MicroBatcher(config.batch_size, config.simulated_memory_tokens, log)

    # 5. Resume: a checkpoint in out_dir means an earlier run of this job got that far.
    state = {"epoch": 0, "step": 0, "best_value": None, "best_epoch": 0, "bad_epochs": 0,
             "train_time_s": 0.0, "samples_seen": 0, "val_history": []}  # fmt: skip
    last_path = out_dir / "checkpoints" / "last.pt" if out_dir else None
    best_path = out_dir / "checkpoints" / "best.pt" if out_dir else None
    saved = load_checkpoint(last_path) if last_path else None
    best_weights = None

    def keep_if_best(epoch: int, val: dict) -> None:
        """Record epoch's val metrics; keep its weights when they are the best so far."""
        nonlocal best_weights
        state["val_history"].append({"epoch": epoch, **val})
        on_metrics([{"step": state["step"], "epoch": epoch, "split": "val", "name": k, "value": v} for k, v in val.items()])
        log(f"epoch {epoch}: " + ", ".join(f"val {k} {v:.4f}" for k, v in val.items()))
        value = val.get(stop_metric)
        improved = is_better(value, state["best_value"], stop_metric)
        if improved or is_tie_with_lower_loss(value, state["best_value"], val.get("loss"), state.get("best_loss")):
            # Patience counts epochs without a better metric; a tie only picks the better weights.
            state.update(best_value=value, best_loss=val.get("loss"), best_epoch=epoch,
                         bad_epochs=0 if improved or epoch == 0 else state["bad_epochs"] + 1)  # fmt: skip
            best_weights = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            if best_path:
                save_checkpoint(best_path, {"model": best_weights, "epoch": epoch})
        else:
            state["bad_epochs"] += 1

    if saved is not None:
        model.load_state_dict(saved.pop("model"))
        optimizer.load_state_dict(saved.pop("optimizer"))
        schedule.load_state_dict(saved.pop("schedule"))
        batcher.micro = saved.pop("micro")
        state.update(saved)
        log(f"resuming after epoch {state['epoch']} (step {state['step']}) from {last_path.name}")
    elif kind == "similarity":
        # Epoch 0: the head fitted on train over the untrained encoder, the first point of the val curve.
        # Train holds the accepted augmented rows too: they are training data for the head as for the
        # encoder (when early stopping keeps epoch 0, the head is all that augmentation can change).
        fit = head_fit_sample(train_frame, config.seed, original_only=False)
        x = torch.cat([column(cosines(model, tokenizer, fit, config.max_length, device)),
                       torch.as_tensor(model.lexical_inputs(fit["query"], fit["product_text"]), dtype=torch.float32)], 1)  # fmt: skip
        model.head.fit(x, class_index(fit, classes))
        log(f"head fitted on {len(fit)} training samples: weights {model.head.weights_text()}")
        keep_if_best(0, evaluate(model, data.val, val_enc, classes, batcher, device, pad_id))

    # 6. Epochs: train, evaluate on val, checkpoint, stop early when val stops improving.
    for epoch in range(state["epoch"] + 1, config.epochs + 1):
        if state["bad_epochs"] >= config.patience > 0:
            break
        started = time.monotonic()
        torch.manual_seed(config.seed * 1000 + epoch)  # dropout: the same after a resume
        rng = np.random.default_rng([config.seed, epoch])
        batches = length_grouped_batches(train_enc.lengths, config.batch_size, rng)
        for i, index in enumerate(batches):
            loss = batcher.run(
                train_enc, index,
                lambda parts: train_batch(model, train_enc, parts, device, pad_id, fgm, clean_of, config.consistency_weight),
                on_retry=lambda: optimizer.zero_grad(set_to_none=True),
            )  # fmt: skip
            if config.max_grad_norm > 0:
                torch.nn.utils.clip_grad_norm_([p for _, p in params], config.max_grad_norm)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            state["step"] += 1
            state["samples_seen"] += len(index)
            if state["step"] % config.logging_steps == 0 or i == len(batches) - 1:
                on_metrics([{"step": state["step"], "epoch": epoch - 1 + (i + 1) / len(batches), "split": "train", "name": "loss", "value": loss}])
            on_progress(state["step"], total_steps, f"epoch {epoch}/{config.epochs}, step {state['step']}/{total_steps}, loss {loss:.4f}")

        on_progress(state["step"], total_steps, f"epoch {epoch}/{config.epochs}: evaluating on val")
        val = evaluate(model, data.val, val_enc, classes, batcher, device, pad_id)
        state["train_time_s"] += time.monotonic() - started
        keep_if_best(epoch, val)
        state["epoch"] = epoch
        if last_path:
            save_checkpoint(last_path, {**copy.deepcopy(state), "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                        "schedule": schedule.state_dict(), "micro": batcher.micro})  # fmt: skip
        if state["bad_epochs"] >= config.patience > 0 and epoch < config.epochs:
            log(f"early stop: val {stop_metric} did not improve for {config.patience} epochs")

    # 7. Test with the best epoch's weights, slices, predictions; save the model.
    if best_weights is None and best_path and best_path.exists():
        best_weights = load_checkpoint(best_path)["model"]
    if best_weights is not None:
        model.load_state_dict(best_weights)
    if fgm is not None:
        fgm.remove()
    if state["best_epoch"] == 0 and kind == "similarity":
        log(f"training did not beat epoch 0 on val {stop_metric}: the model is the fitted zero-shot head")
    predictions = test_predictions(model, data.test, encode_frame, config, classes, batcher, device, pad_id)
    clean = predictions[predictions["variant"] == "clean"]
    test = M.compute_metrics(clean, classes)
    slices = M.slice_metrics(predictions, classes)
    rows = [{"step": state["step"], "epoch": state["epoch"], "split": "test", "name": k, "value": v} for k, v in test.items()]
    rows += [{"step": state["step"], "epoch": state["epoch"], "split": s, "name": k, "value": v} for s, values in slices.items() for k, v in values.items()]
    on_metrics(rows)
    final = {**test, **{f"{s}/{k}": v for s, values in slices.items() for k, v in values.items()}}
    final.update(train_time_s=state["train_time_s"], samples_seen=state["samples_seen"], best_epoch=state["best_epoch"])
    if "zero_shot" in refs:
        zero_shot = M.compute_metrics(refs["zero_shot"][refs["zero_shot"]["variant"] == "clean"], classes)
        if stop_metric in test and stop_metric in zero_shot:
            final["vs_zero_shot"] = test[stop_metric] - zero_shot[stop_metric]
            if final["vs_zero_shot"] < 0:
                log(f"warning: test {stop_metric} {test[stop_metric]:.4f} is below zero-shot's {zero_shot[stop_metric]:.4f}")
    head_weights = model.head.weights() if kind == "similarity" else {}
    final.update({f"head/{name}": w for name, w in head_weights.items()})
    if out_dir:
        if kind == "similarity":
            model.save(out_dir / "model", tokenizer, classes, source)
        else:
            save_model(model, tokenizer, out_dir / "model", classes)
        predictions.to_parquet(out_dir / "predictions.parquet", index=False)
    log("test: " + ", ".join(f"{k} {v:.4f}" for k, v in test.items()))
    return TrainResult(final, state["best_epoch"], device_name, predictions, state["val_history"], kind, refs, head_weights)


def clean_twins(train: pd.DataFrame) -> np.ndarray:
    """Per training row, the position of its clean twin, else -1: an augmented row (source is not
    'sample') that rewrote the query of a train sample, same product and label, is paired with it."""
    out = np.full(len(train), -1, dtype=np.int64)
    if not {"source", "sample_id", "product_id"} <= set(train.columns):
        return out
    original = (train["source"] == "sample").to_numpy()
    position = {sid: i for i, sid in enumerate(train["sample_id"]) if original[i]}
    for i, (sid, query, pid, label) in enumerate(zip(train["sample_id"], train["query"], train["product_id"], train["label"])):
        j = position.get(sid)
        if not original[i] and j is not None and train["product_id"].iat[j] == pid and train["label"].iat[j] == label \
                and train["query"].iat[j] != query:
            out[i] = j
    return out


def _references(config, data, classes, device, out_dir: Path | None, log) -> dict[str, pd.DataFrame]:
    """The zero-shot and lexical predictions, read back from out_dir/references when a run wrote them."""
    folder = out_dir / "references" if out_dir else None
    if folder and all((folder / f"{name}.parquet").exists() for name in ("zero_shot", "lexical")):
        return {name: pd.read_parquet(folder / f"{name}.parquet") for name in ("zero_shot", "lexical")}
    refs = references(config, data, classes, device, log)
    if folder:
        folder.mkdir(parents=True, exist_ok=True)
        for name, frame in refs.items():
            frame.to_parquet(folder / f"{name}.parquet", index=False)
    for name, frame in refs.items():
        clean = M.compute_metrics(frame[frame["variant"] == "clean"], classes)
        log(f"{name} reference on test: " + ", ".join(f"{k} {v:.4f}" for k, v in clean.items()))
    return refs


def evaluate(model, frame: pd.DataFrame, enc, classes, batcher, device, pad_id) -> dict[str, float]:
    probs, loss = predict_probs(model, enc, batcher, device, pad_id, len(classes))
    return {**M.compute_metrics(scored(frame, probs, classes), classes), "loss": loss}


def test_predictions(model, test: pd.DataFrame, encode_frame, config, classes, batcher, device, pad_id) -> pd.DataFrame:
    """Predictions on the clean test split and on its typo variant (seeded keyboard noise)."""
    frames = []
    for variant, frame in test_variants(test) if len(test) else []:
        probs, _ = predict_probs(model, encode_frame(frame), batcher, device, pad_id, len(classes))
        frames.append(scored(frame, probs, classes).assign(variant=variant))
    return as_predictions(frames)
