"""Which inputs should the similarity head take? Head-only fits on Home Depot, no encoder training.

    .venv/bin/python bench/head_inputs.py                  # 2 draws of 2,000 train / 1,000 test pairs (~3 min)
    .venv/bin/python bench/head_inputs.py --draws 3 --train-pairs 500

For each seeded draw of whole queries from ../shared/data/home_depot/train.csv (label: relevance
>= 2.5), split by query into train and test, it encodes every pair once with the bundled MiniLM
(the zero-shot cosine, `workbench.train.references.cosines`) and fits the product's own ordinal
head (`OrdinalHead`, L-BFGS) on train for each input set below, then scores test:

    zero-shot      cosine alone (the baseline every other row is measured against)
    3 inputs       cosine, bm25, word_share (the head before session 4)
    + gram_share / + number_share / 5 inputs  (the head since session 4: workbench.lexical)

Reported per draw and input set: ROC-AUC, and nDCG@10 over the test queries with a positive, each
with its difference to zero-shot and a 95% paired bootstrap interval over test queries, and the
within-query AUC (the share of a query's positive-negative product pairs ordered right: the part of
the ranking that nDCG@10 reads). Then the mean over draws, and in how many the nDCG@10 gain is
significant. The last line is one JSON object. What a row shows is the fitted head alone; a job's
epoch 0 is exactly this head (cosine over the untrained encoder), so these are also the figures
training must beat.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
DATA = ROOT.parent / "shared" / "data" / "home_depot" / "train.csv"
INPUT_SETS = {
    "zero-shot": ("cosine",),
    "3 inputs": ("cosine", "bm25", "word_share"),
    "+ gram_share": ("cosine", "bm25", "word_share", "gram_share"),
    "+ number_share": ("cosine", "bm25", "word_share", "number_share"),
    "5 inputs": ("cosine", "bm25", "word_share", "gram_share", "number_share"),
}


def load_home_depot() -> pd.DataFrame:
    """../shared/data/home_depot/train.csv as query, product_text, label (relevance >= 2.5); exits
    with a clear message when the file is missing."""
    if not DATA.exists():
        sys.exit(f"{DATA} is missing: this bench reads the Home Depot data from ../shared/data (see its README)")
    source = pd.read_csv(DATA, dtype={"search_term": str, "product_title": str}, keep_default_na=False)
    source = source.rename(columns={"search_term": "query", "product_title": "product_text"})
    return source.assign(label=(source["relevance"].astype(float) >= 2.5).astype(float))


def draw(source: pd.DataFrame, train_pairs: int, test_pairs: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Whole queries, shuffled with the seed, until about train_pairs + test_pairs; test = the last queries."""
    counts = source.groupby("query").size().sample(frac=1.0, random_state=seed)
    total = counts.cumsum()
    chosen = counts.index[total <= train_pairs + test_pairs]
    train_queries = set(counts.index[total <= train_pairs])
    frame = source[source["query"].isin(set(chosen))]
    return frame[frame["query"].isin(train_queries)].reset_index(drop=True), frame[~frame["query"].isin(train_queries)].reset_index(drop=True)


def features(frame: pd.DataFrame, cosine: np.ndarray, bm25) -> pd.DataFrame:
    from workbench.lexical import gram_share, number_share, word_share

    q, t = frame["query"].tolist(), frame["product_text"].tolist()
    return pd.DataFrame({"cosine": cosine, "bm25": bm25.score(q, t), "word_share": word_share(q, t),
                         "gram_share": gram_share(q, t), "number_share": number_share(q, t)})  # fmt: skip


def per_query_ndcg(frame: pd.DataFrame, scores: np.ndarray) -> pd.Series:
    from workbench.train.metrics import ndcg_at_k

    out = {}
    for query, rows in frame.assign(score=scores).groupby("query"):
        value = ndcg_at_k(rows["label"].to_numpy(float), rows["score"].to_numpy(float))
        if value is not None:
            out[query] = value
    return pd.Series(out)


def within_query_auc(frame: pd.DataFrame, scores: np.ndarray) -> float:
    """Of the (positive, negative) pairs of products judged for the same query, the share the
    scores order right (ties half): the ranking nDCG@10 reads, without the between-query part
    that ROC-AUC also rewards."""
    right = total = 0.0
    for _, rows in frame.assign(score=scores).groupby("query"):
        positive, negative = rows.loc[rows["label"] == 1, "score"].to_numpy(), rows.loc[rows["label"] == 0, "score"].to_numpy()
        diff = positive[:, None] - negative[None, :]
        right += (diff > 0).sum() + 0.5 * (diff == 0).sum()
        total += diff.size
    return float(right / total) if total else float("nan")


def run_draw(source: pd.DataFrame, args, seed: int, model, tokenizer) -> dict:
    import torch
    from sklearn.metrics import roc_auc_score

    from workbench.lexical import BM25
    from workbench.train.references import cosines
    from workbench.train.similarity import OrdinalHead

    train, test = draw(source, args.train_pairs, args.test_pairs, seed)
    started = time.monotonic()
    x_train = features(train, cosines(model, tokenizer, train, args.max_length, "cpu"), bm25 := BM25.fit(pd.concat([train, test])["product_text"]))
    x_test = features(test, cosines(model, tokenizer, test, args.max_length, "cpu"), bm25)
    encode_s = time.monotonic() - started
    labels = torch.tensor(train["label"].to_numpy(), dtype=torch.long)
    y = test["label"].to_numpy()
    rng = np.random.default_rng(seed)
    rows, base_ndcg, base_auc = [], None, None
    for name, inputs in INPUT_SETS.items():
        head = OrdinalHead(inputs, 2)
        head.fit(torch.tensor(x_train[list(inputs)].to_numpy(), dtype=torch.float32), labels)
        with torch.no_grad():
            prob = head(torch.tensor(x_test[list(inputs)].to_numpy(), dtype=torch.float32)).exp()[:, 1].numpy()
        auc, ndcg = float(roc_auc_score(y, prob)), per_query_ndcg(test, prob)
        if base_ndcg is None:  # zero-shot: the bootstrap's query draws, shared by every row (paired)
            base_auc, base_ndcg = auc, ndcg
            queries = base_ndcg.index.to_numpy()
            draws = [rng.integers(0, len(queries), len(queries)) for _ in range(args.n_boot)]
            test_queries = test["query"].to_numpy()
            by_query = {q: np.flatnonzero(test_queries == q) for q in queries}
        diff = (ndcg.reindex(queries) - base_ndcg.reindex(queries)).to_numpy()
        ndcg_boot = np.array([diff[d].mean() for d in draws])
        auc_boot = []
        base_prob = rows[0]["_prob"] if rows else prob
        for d in draws[: args.n_boot // 4]:  # ROC-AUC resampled over the same queries (whole queries in or out)
            index = np.concatenate([by_query[queries[i]] for i in d])
            if len(set(y[index])) == 2:
                auc_boot.append(roc_auc_score(y[index], prob[index]) - roc_auc_score(y[index], base_prob[index]))
        rows.append({"draw": seed, "inputs": name, "roc_auc": auc, "roc_auc_vs_zero_shot": auc - base_auc,
                     "roc_auc_ci": [float(v) for v in np.quantile(auc_boot, [0.025, 0.975])],
                     "ndcg@10": float(ndcg.mean()), "ndcg_vs_zero_shot": float(diff.mean()),
                     "ndcg_ci": [float(v) for v in np.quantile(ndcg_boot, [0.025, 0.975])],
                     "within_query_auc": within_query_auc(test, prob), "weights": head.weights(), "_prob": prob})  # fmt: skip
    for row in rows:
        row.pop("_prob")
    return {"draw": seed, "train_pairs": len(train), "test_pairs": len(test), "test_queries_scored": int(len(queries)),
            "positive_share": float(y.mean()), "encode_s": round(encode_s, 1), "rows": rows}  # fmt: skip


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--train-pairs", type=int, default=2000)
    p.add_argument("--test-pairs", type=int, default=1000)
    p.add_argument("--draws", type=int, default=2, help="independent seeded draws of queries (seeds 1, 2, ...)")
    p.add_argument("--max-length", type=int, default=40)
    p.add_argument("--n-boot", type=int, default=2000)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    source = load_home_depot()
    import torch

    from workbench.models import BUNDLED
    from workbench.train.model import load_tokenizer
    from workbench.train.similarity import SimilarityModel

    torch.set_num_threads(args.threads)
    model, tokenizer = SimilarityModel.load(BUNDLED, [0.0, 1.0], inputs=("cosine",)).eval(), load_tokenizer(BUNDLED)
    draws = []
    for seed in range(1, args.draws + 1):
        draws.append(run_draw(source, args, seed, model, tokenizer))
        d = draws[-1]
        print(f"\ndraw {seed}: {d['train_pairs']} train / {d['test_pairs']} test pairs, {d['test_queries_scored']} test queries "
              f"with a positive, {d['positive_share']:.0%} positive (encoded in {d['encode_s']:.0f} s)", flush=True)  # fmt: skip
        for r in d["rows"]:
            print(f"  {r['inputs']:15s} ROC-AUC {r['roc_auc']:.4f} ({r['roc_auc_vs_zero_shot']:+.4f} "
                  f"[{r['roc_auc_ci'][0]:+.4f}, {r['roc_auc_ci'][1]:+.4f}])  nDCG@10 {r['ndcg@10']:.4f} "
                  f"({r['ndcg_vs_zero_shot']:+.4f} [{r['ndcg_ci'][0]:+.4f}, {r['ndcg_ci'][1]:+.4f}])  "
                  f"within-query AUC {r['within_query_auc']:.4f}", flush=True)  # fmt: skip
    summary = {}
    for name in INPUT_SETS:
        rows = [r for d in draws for r in d["rows"] if r["inputs"] == name]
        summary[name] = {"roc_auc_vs_zero_shot": float(np.mean([r["roc_auc_vs_zero_shot"] for r in rows])),
                         "ndcg_vs_zero_shot": float(np.mean([r["ndcg_vs_zero_shot"] for r in rows])),
                         "ndcg_significant": sum(r["ndcg_ci"][0] > 0 for r in rows),
                         "within_query_auc": float(np.mean([r["within_query_auc"] for r in rows]))}  # fmt: skip
    print(f"\nmean over {len(draws)} draws:")
    for name, m in summary.items():
        print(f"  {name:15s} ROC-AUC {m['roc_auc_vs_zero_shot']:+.4f}  nDCG@10 {m['ndcg_vs_zero_shot']:+.4f} "
              f"(significant in {m['ndcg_significant']} of {len(draws)})  within-query AUC {m['within_query_auc']:.4f}", flush=True)
    final = {"draws": draws, "summary": summary, "config": vars(args)}
    print(json.dumps(final))
    return final


if __name__ == "__main__":
    main()
