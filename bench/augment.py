"""Augment pipeline cost: our full pipeline against the bare nlpaug calls, on 100,000 source samples.

    .venv/bin/python bench/augment.py                 # 100,000 sources, about a minute here
    .venv/bin/python bench/augment.py --sources 5000  # a quick look

Inputs: the queries of ../shared/data/home_depot/train.csv (labels relevance >= 2.5, split by
query with workbench.samples), the train split repeated with fresh sample ids up to --sources
(the real file has 59k train samples).

1. pipeline  `run_recipe` with the rule-based "typo robustness" recipe (keyboard typo, character
             edit, word split; one candidate each per sample) on a fresh DuckDB file: per-sample
             generators, provenance, the cheap filters (length, protected tokens, leakage, string
             score), dedupe, and storage in one transaction, on both cores.
2. bare      the same three nlpaug augmenters with the same settings, `augment(query)` on the
             same queries in one process: no provenance, no filters, nothing stored.
3. encoder   the label-preservation encoder (bundled MiniLM) on 2,000 distinct queries, texts/s.
4. review    with --review-rows N (default 1,000,000): N candidates in one run; time to count
             and page a filter, accept every match, and undo it, all in SQL.
The last line is one JSON object: pipeline_s, bare_s, pipeline_vs_bare (pipeline_s / bare_s),
encoder_texts_per_s, the review timings, and the CPU seconds of each way with the load average at
the start (on a shared machine the wall seconds depend on what else runs; CPU seconds less so).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
DATA = ROOT.parent / "shared" / "data" / "home_depot" / "train.csv"


def load_samples(n_sources: int) -> pd.DataFrame:
    """A sample set frame whose train split holds n_sources samples (HD queries, repeated as needed)."""
    from workbench.samples import SampleConfig, label_pairs, make_samples, parse_label_rule

    if not DATA.exists():
        raise SystemExit(f"{DATA} is missing; this benchmark needs the Home Depot file (see ../shared/data/README.md)")
    raw = pd.read_csv(DATA, encoding="utf-8", encoding_errors="replace")
    pairs = pd.DataFrame({"query": raw["search_term"], "product_id": raw["product_uid"].astype(str),
                          "label_raw": raw["relevance"].astype(str), "label": raw["relevance"]})
    products = pd.DataFrame({"product_id": raw["product_uid"].astype(str), "title": raw["product_title"]})
    labeled, stats = label_pairs(pairs, parse_label_rule("cut:2.5"))
    frame, _ = make_samples(labeled, products, SampleConfig(seed=0), stats)
    train, rest = frame[frame["split"] == "train"], frame[frame["split"] != "train"]
    copies = -(-n_sources // len(train))
    train = pd.concat([train] * copies, ignore_index=True).iloc[:n_sources]
    out = pd.concat([train, rest], ignore_index=True)
    out["sample_id"] = np.arange(len(out))
    return out


def bench_pipeline(samples: pd.DataFrame, url: str) -> tuple[float, float, dict]:
    from storage.db import begin
    from storage.samples import create_sample_set, insert_samples
    from workbench.augment.pipeline import run_recipe
    from workbench.augment.recipes import preset

    with begin(url) as conn:
        set_id = create_sample_set(conn, "bench", 1, {"label_kind": "binary"}, {})
        insert_samples(conn, set_id, samples)
    recipe = preset("typo robustness")
    cpu = cpu_s()
    start = time.perf_counter()
    result = run_recipe(set_id, recipe, url=url)
    return time.perf_counter() - start, cpu_s() - cpu, result.as_dict()


def cpu_s() -> float:
    """CPU seconds of this process and of its finished children (the pool's workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def bench_bare(queries: list[str]) -> tuple[float, float, int]:
    """The same three operations as the recipe, nlpaug's public calls, one process."""
    import nlpaug.augmenter.char as nac
    import nlpaug.augmenter.word as naw

    random.seed(0)
    np.random.seed(0)
    char = dict(aug_word_p=0.3, aug_word_min=1, aug_word_max=1, aug_char_min=1, aug_char_max=1, aug_char_p=0.3, min_char=4)
    keyboard = nac.KeyboardAug(include_special_char=False, include_numeric=False, include_upper_case=False, **char)
    edits = [nac.RandomCharAug(action=a, include_upper_case=False, include_numeric=False, spec_char="", **char)
             for a in ("swap", "insert", "delete")]
    split = naw.SplitAug(aug_p=0.3, aug_min=1, aug_max=1, min_char=4)
    made = 0
    cpu = cpu_s()
    start = time.perf_counter()
    for i, query in enumerate(queries):
        for aug in (keyboard, edits[i % 3], split):
            made += len(aug.augment(query))
    return time.perf_counter() - start, cpu_s() - cpu, made


def bench_encoder(queries: list[str], n: int = 2000) -> float:
    from workbench.augment.encoder import get_encoder

    encoder = get_encoder()
    distinct = list(dict.fromkeys(queries))
    encoder.encode(distinct[:64])  # load and warm up outside the timing
    texts = distinct[64:64 + n]
    start = time.perf_counter()
    encoder.encode(texts)
    return len(texts) / (time.perf_counter() - start)


def bench_review(url: str, rows: int) -> dict:
    """Count, page, accept-all-matching and undo on a run of `rows` candidates."""
    from storage import candidates as stored
    from storage.db import begin

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"sample_id": rng.integers(0, 50_000, rows), "augmenter": rng.choice(["keyboard_typo", "char_edit", "word_split"], rows),
                          "params": '{"per_sample": 1}', "seed": 0, "field": "query", "original": "cordless drill 18v",
                          "query": [f"cordles drill {i}" for i in range(rows)], "product_id": "p1",
                          "product_text": "DeWalt 18v cordless drill", "label": 1.0, "score": rng.random(rows)})
    with begin(url) as conn:
        run_id = stored.create_augment_run(conn, 1, {}, 0, rows, {})
        stored.insert_candidates(conn, run_id, frame)
    where = stored.CandidateFilter(augmenters=["char_edit"], min_score=0.5, status="pending")
    timings = {}
    start = time.perf_counter()
    with begin(url) as conn:
        stored.count_candidates(conn, run_id, where)
        stored.read_candidates_page(conn, run_id, where, offset=10_000, limit=50)
        stored.summarize_candidates(conn, run_id)
    timings["review_page_s"] = time.perf_counter() - start
    start = time.perf_counter()
    with begin(url) as conn:
        stored.set_candidate_status(conn, run_id, stored.CandidateFilter(), "accepted", "accept all")
    timings["review_accept_all_s"] = time.perf_counter() - start
    start = time.perf_counter()
    with begin(url) as conn:
        stored.undo_last_action(conn, run_id)
    timings["review_undo_s"] = time.perf_counter() - start
    return {"review_rows": rows, **{k: round(v, 3) for k, v in timings.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sources", type=int, default=100_000, help="source (train) samples")
    parser.add_argument("--review-rows", type=int, default=1_000_000, help="candidates for the review timings (0: skip)")
    args = parser.parse_args()

    samples = load_samples(args.sources)
    queries = samples.loc[samples["split"] == "train", "query"].tolist()
    with tempfile.TemporaryDirectory() as folder:
        url = f"duckdb:///{Path(folder) / 'bench.duckdb'}"
        load = os.getloadavg()[0]
        pipeline_s, pipeline_cpu, result = bench_pipeline(samples, url)
        print(f"pipeline: {pipeline_s:.1f} s, {result['candidates']:,} stored of {result['generated']:,}", file=sys.stderr)
        bare_s, bare_cpu, bare_made = bench_bare(queries)
        print(f"bare nlpaug: {bare_s:.1f} s, {bare_made:,} outputs", file=sys.stderr)
        review = bench_review(url, args.review_rows) if args.review_rows else {}
    encoder_rate = bench_encoder(samples["query"].tolist())
    print(json.dumps({
        "pipeline_s": round(pipeline_s, 2), "bare_s": round(bare_s, 2), "pipeline_vs_bare": round(pipeline_s / bare_s, 3),
        "encoder_texts_per_s": round(encoder_rate, 1), "sources": len(queries), "candidates": result["candidates"],
        "generated": result["generated"], "dropped": result["dropped"], "bare_outputs": bare_made,
        "pipeline_cpu_s": round(pipeline_cpu, 2), "bare_cpu_s": round(bare_cpu, 2), "load_avg_1m": round(load, 2),
        "workers": min(2, os.cpu_count() or 1), **review,
    }))


if __name__ == "__main__":
    main()
