"""Does training the encoder help ranking at 2,000 pairs? The product's loop, with every epoch read on test.

    .venv/bin/python bench/encoder_epochs.py                 # 3 draws, epochs 0 to 2 (~25 min on 2 cores)
    .venv/bin/python bench/encoder_epochs.py --draws 1 --epochs 1

The study (bench/accuracy.py) reports the epoch early stopping keeps, and below 4,000 Home Depot
pairs that is always epoch 0, the fitted head. That leaves one question open: does training the
encoder help on test and early stopping (validation ROC-AUC on about 300 pairs) miss it? This bench
answers it with the product's own loop (`workbench.train.loop.train`, similarity kind, the
TrainConfig defaults: full fine-tuning, lr 2e-5, batch 32). For each seeded draw of whole queries
(bench/head_inputs.draw: 2,000 train pairs, 300 validation, 1,000 test) it trains one job per
epoch count E = 1..--epochs and scores test with the weights of the job's last epoch (its
checkpoints/last.pt), beside epoch 0 (the head fitted over the untrained encoder) and the zero-shot
reference the job computed. Each figure is ROC-AUC or nDCG@10 and its difference to zero-shot with
the paired bootstrap over test queries (workbench.experiments.paired_bootstrap). The last line is
one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def splits(source: pd.DataFrame, seed: int, val_pairs: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """train, val, test of one draw: the val split is the last whole queries of the draw's train part."""
    from head_inputs import draw

    train, test = draw(source, 2000 + val_pairs, 1000, seed)
    counts = train.groupby("query", sort=False).size()
    val_queries = set(counts.index[counts[::-1].cumsum()[::-1] <= val_pairs])
    frames = [train[~train["query"].isin(val_queries)], train[train["query"].isin(val_queries)], test]
    return tuple(f.reset_index(drop=True).assign(sample_id=range(len(f)), product_id=f["product_text"], cold_start=False)
                 for f in frames)  # fmt: skip


def checkpoint_predictions(checkpoint: Path, config, data, classes: list[float]) -> pd.DataFrame:
    """Test predictions with the weights a checkpoint holds."""
    import torch

    from workbench.lexical import BM25
    from workbench.train.data import encode_pairs
    from workbench.train.loop import test_predictions
    from workbench.train.model import load_tokenizer
    from workbench.train.similarity import SimilarityModel
    from workbench.train.steps import MicroBatcher, load_checkpoint

    tokenizer = load_tokenizer(config.model)
    model = SimilarityModel.load(config.model, classes)
    model.load_state_dict(load_checkpoint(checkpoint)["model"])
    model.bm25 = BM25.fit(pd.concat([data.train["product_text"], data.val["product_text"], data.test["product_text"]]))

    def encode_frame(frame):
        return encode_pairs(frame, tokenizer, config.max_length, classes, model.lexical_inputs(frame["query"], frame["product_text"]))

    batcher = MicroBatcher(config.batch_size, 0, lambda text: None)
    return test_predictions(model, data.test, encode_frame, config, classes, batcher, torch.device("cpu"), tokenizer.pad_token_id or 0)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--draws", type=int, default=3, help="seeded draws of queries (seeds 1, 2, ...)")
    p.add_argument("--epochs", type=int, default=2, help="train one job per epoch count 1..EPOCHS")
    p.add_argument("--val-pairs", type=int, default=300)
    p.add_argument("--max-length", type=int, default=40)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--n-boot", type=int, default=2000)
    args = p.parse_args(argv)
    from head_inputs import load_home_depot

    source = load_home_depot()
    import torch

    from workbench.experiments import paired_bootstrap
    from workbench.train.config import TrainConfig
    from workbench.train.loop import TrainData, train

    torch.set_num_threads(args.threads)
    rows = []
    for seed in range(1, args.draws + 1):
        data = TrainData(*splits(source, seed, args.val_pairs))
        runs = {}
        for epochs in range(1, args.epochs + 1):
            config = TrainConfig(model_kind="similarity", epochs=epochs, max_length=args.max_length, device="cpu", patience=0)
            started = time.monotonic()
            with tempfile.TemporaryDirectory() as folder:
                checkpoints = Path(folder) / "checkpoints"

                def keep_epoch_0(rows):  # epoch 1's val rows arrive before its weights may replace epoch 0's best.pt
                    if any(r["split"] == "val" and r["epoch"] == 1 for r in rows) and not (checkpoints / "epoch0.pt").exists():
                        shutil.copy(checkpoints / "best.pt", checkpoints / "epoch0.pt")

                result = train(config, data, out_dir=Path(folder), on_metrics=keep_epoch_0)
                if epochs == 1:
                    zero_shot = result.references["zero_shot"]
                    runs["epoch 0 (fitted head)"] = checkpoint_predictions(checkpoints / "epoch0.pt", config, data, [0.0, 1.0])
                runs[f"epoch {epochs}"] = checkpoint_predictions(checkpoints / "last.pt", config, data, [0.0, 1.0])
            print(f"draw {seed}: {epochs} epoch(s) in {time.monotonic() - started:.0f} s, kept epoch {result.best_epoch}", flush=True)
        for name, predictions in runs.items():
            row = {"draw": seed, "model": name, "train_pairs": len(data.train)}
            for metric in ("roc_auc", "ndcg@10"):
                delta = paired_bootstrap([predictions], [zero_shot], metric, n_boot=args.n_boot)
                row[f"{metric}_vs_zero_shot"] = [round(delta[k], 4) for k in ("delta", "low", "high")]
            rows.append(row)
            print(f"  {name:22s} ROC-AUC vs zero-shot {row['roc_auc_vs_zero_shot']}  nDCG@10 vs zero-shot {row['ndcg@10_vs_zero_shot']}",
                  flush=True)  # fmt: skip
    final = {"rows": rows, "config": vars(args)}
    print(json.dumps(final))
    return final


if __name__ == "__main__":
    main()
