"""Training throughput: our loop against a tutorial-style loop and transformers' Trainer.

    .venv/bin/python bench/train.py [--pairs 640] [--batch-size 32] [--threads N] [--model M] [--data CSV]
                                    [--model-kind cross-encoder|similarity]

The same bundled model trains on the same Home Depot pairs (../shared/data/home_depot/train.csv,
a seeded sample, binary label relevance >= 2.5) for one epoch, three ways in one run:
  ours       workbench.train.loop.train: length-grouped batches, dynamic padding (its timed
             epoch also includes a small validation pass, so the figure is conservative)
  reference  the common tutorial loop: every sample padded to max_length=128, random order
  trainer    transformers.Trainer with its defaults (dynamic padding, random order), given the
             same batch size, learning rate and one epoch
With --model-kind similarity, "ours" is the similarity kind (query and product text encoded apart,
head over cosine, BM25 and word share) and two more loops run on the same pairs:
  ours_cross_encoder   our loop with the cross-encoder kind, the figure the others used to be
  bi_reference         the tutorial bi-encoder loop: each side padded to 128, mean pooling,
                       cosine times a learned scale plus bias, binary cross-entropy
On CUDA all of them use bf16 autocast, as ours does by default.
Each is timed from its first training step to its last (model loading and tokenization excluded).
The last line is one JSON object: ours_per_s, reference_per_s, trainer_per_s (training samples
per second), vs_reference, vs_trainer, device, model_kind (and for similarity:
cross_encoder_per_s, bi_reference_per_s, vs_bi_reference).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
import torch  # noqa: E402
from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup  # noqa: E402

from workbench.models import BUNDLED, resolve_model  # noqa: E402
from workbench.train.config import TrainConfig  # noqa: E402
from workbench.train.loop import TrainData, train  # noqa: E402
from workbench.models import pick_device  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "home_depot" / "train.csv"
LR = 5e-5


def load_pairs(n: int, data: Path = DATA, seed: int = 0) -> pd.DataFrame:
    frame = pd.read_csv(data, encoding="utf-8", encoding_errors="replace").sample(n=n + 64, random_state=seed)
    frame = frame.rename(columns={"search_term": "query", "product_title": "product_text", "product_uid": "product_id"})
    frame["label"] = (frame["relevance"] >= 2.5).astype(float)
    return frame[["query", "product_id", "product_text", "label"]].reset_index(drop=True)


def run_ours(pairs: pd.DataFrame, val: pd.DataFrame, batch_size: int, model: str, kind: str = "cross-encoder") -> float:
    config = TrainConfig(model=model, model_kind=kind, epochs=1, batch_size=batch_size, learning_rate=LR, max_length=128,
                         patience=0, references=False)  # fmt: skip
    result = train(config, TrainData(pairs, val, val.iloc[:0]))
    return len(pairs) / result.metrics["train_time_s"]


def tutorial_loop(dataset, params, batch_size: int, device, loss_of) -> float:
    """One epoch of the tutorial pattern, timed: shuffled DataLoader, AdamW, linear schedule;
    loss_of(batch tensors) is the forward pass (bf16 autocast on CUDA, as ours). Samples per second."""
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(0))
    optimizer = torch.optim.AdamW(params, lr=LR)
    schedule = get_linear_schedule_with_warmup(optimizer, 0, len(loader))
    started = time.perf_counter()
    for batch in loader:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            loss = loss_of(*batch)
        loss.backward()
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return len(dataset) / (time.perf_counter() - started)


def run_bi_reference(pairs: pd.DataFrame, batch_size: int, device, model: str) -> float:
    """The tutorial bi-encoder loop: both sides padded to 128, mean pooling, scaled cosine, BCE."""
    from transformers import AutoModel

    source = resolve_model(model)
    tokenizer = AutoTokenizer.from_pretrained(source)
    encoder = AutoModel.from_pretrained(source).to(device).train()
    scale, bias = torch.nn.Parameter(torch.tensor(20.0, device=device)), torch.nn.Parameter(torch.tensor(-10.0, device=device))
    sides = [tokenizer(pairs[c].tolist(), padding="max_length", truncation=True, max_length=128, return_tensors="pt")
             for c in ("query", "product_text")]  # fmt: skip
    dataset = torch.utils.data.TensorDataset(sides[0]["input_ids"], sides[0]["attention_mask"], sides[1]["input_ids"],
                                             sides[1]["attention_mask"], torch.tensor(pairs["label"].tolist()))  # fmt: skip

    def embed(ids, mask):
        hidden = encoder(input_ids=ids.to(device), attention_mask=mask.to(device)).last_hidden_state
        mask = mask.to(device).unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1)

    def loss_of(q_ids, q_mask, p_ids, p_mask, labels):
        cos = torch.nn.functional.cosine_similarity(embed(q_ids, q_mask).float(), embed(p_ids, p_mask).float())
        return torch.nn.functional.binary_cross_entropy_with_logits(scale * cos + bias, labels.to(device).float())

    return tutorial_loop(dataset, [*encoder.parameters(), scale, bias], batch_size, device, loss_of)


def run_reference(pairs: pd.DataFrame, batch_size: int, device, model: str) -> float:
    """The tutorial loop: tokenize with padding='max_length', shuffle, AdamW, linear schedule."""
    source = resolve_model(model)
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = AutoModelForSequenceClassification.from_pretrained(source, num_labels=2).to(device).train()
    enc = tokenizer(pairs["query"].tolist(), pairs["product_text"].tolist(), padding="max_length", truncation=True,
                    max_length=128, return_tensors="pt")  # fmt: skip
    dataset = torch.utils.data.TensorDataset(enc["input_ids"], enc["token_type_ids"], enc["attention_mask"],
                                             torch.tensor(pairs["label"].astype(int).tolist()))  # fmt: skip

    def loss_of(ids, types, mask, labels):
        return model(input_ids=ids.to(device), token_type_ids=types.to(device), attention_mask=mask.to(device),
                     labels=labels.to(device)).loss  # fmt: skip

    return tutorial_loop(dataset, model.parameters(), batch_size, device, loss_of)


def run_trainer(pairs: pd.DataFrame, batch_size: int, model: str) -> float:
    from transformers import DataCollatorWithPadding, Trainer, TrainerCallback, TrainingArguments

    source = resolve_model(model)
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = AutoModelForSequenceClassification.from_pretrained(source, num_labels=2)
    enc = tokenizer(pairs["query"].tolist(), pairs["product_text"].tolist(), truncation=True, max_length=128)
    rows = [{"input_ids": enc["input_ids"][i], "token_type_ids": enc["token_type_ids"][i], "attention_mask": enc["attention_mask"][i],
             "labels": int(pairs["label"].iloc[i])} for i in range(len(pairs))]  # fmt: skip
    clock = {}

    class Clock(TrainerCallback):  # times the steps only, like the other two
        def on_train_begin(self, *a, **kw):
            clock["start"] = time.perf_counter()

        def on_train_end(self, *a, **kw):
            clock["end"] = time.perf_counter()

    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(output_dir=out, num_train_epochs=1, per_device_train_batch_size=batch_size,
                                 learning_rate=LR, report_to=[], save_strategy="no", disable_tqdm=True,
                                 bf16=torch.cuda.is_available())  # as ours on CUDA  # fmt: skip
        Trainer(model=model, args=args, train_dataset=rows, data_collator=DataCollatorWithPadding(tokenizer),
                callbacks=[Clock()]).train()  # fmt: skip
    return len(pairs) / (clock["end"] - clock["start"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=640)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=0, help="torch threads for all three (0 = torch's default)")
    parser.add_argument("--model", default=BUNDLED, help="a model folder or cached name (default: the bundled MiniLM)")
    parser.add_argument("--data", type=Path, default=DATA, help="a Home Depot train.csv (or a subset of its rows)")
    parser.add_argument("--model-kind", default="cross-encoder", choices=["cross-encoder", "similarity"], help="the kind 'ours' trains")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if not args.data.exists():
        raise SystemExit(f"missing {args.data}: see ../shared/data/README.md")
    frame = load_pairs(args.pairs, args.data)
    pairs, val = frame.iloc[: args.pairs], frame.iloc[args.pairs :].reset_index(drop=True)
    device = torch.device(pick_device())
    load = os.getloadavg()[0]
    ours = run_ours(pairs, val, args.batch_size, args.model, args.model_kind)
    print(f"ours ({args.model_kind}): {ours:.1f} samples/s", file=sys.stderr)
    extra = {}
    if args.model_kind == "similarity":
        cross = run_ours(pairs, val, args.batch_size, args.model, "cross-encoder")
        bi = run_bi_reference(pairs, args.batch_size, device, args.model)
        print(f"ours (cross-encoder): {cross:.1f}; bi-encoder reference (padded to 128): {bi:.1f} samples/s", file=sys.stderr)
        extra = {"cross_encoder_per_s": round(cross, 2), "bi_reference_per_s": round(bi, 2), "vs_bi_reference": round(ours / bi, 2)}
    reference = run_reference(pairs, args.batch_size, device, args.model)
    print(f"reference (padded to 128): {reference:.1f} samples/s", file=sys.stderr)
    trainer = run_trainer(pairs, args.batch_size, args.model)
    print(f"Trainer: {trainer:.1f} samples/s", file=sys.stderr)
    name = torch.cuda.get_device_name(0) if device.type == "cuda" else device.type
    print(json.dumps({
        "ours_per_s": round(ours, 2), "reference_per_s": round(reference, 2), "trainer_per_s": round(trainer, 2),
        "vs_reference": round(ours / reference, 2), "vs_trainer": round(ours / trainer, 2), "device": name,
        "model_kind": args.model_kind, **extra,
        "pairs": args.pairs, "batch_size": args.batch_size, "torch_threads": torch.get_num_threads(),
        "load_avg_1m_before": round(load, 2), "load_avg_1m_after": round(os.getloadavg()[0], 2),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
