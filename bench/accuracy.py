"""Real-data result: does the model learn, and does augmentation make it better? Home Depot, on CPU.

    nohup .venv/bin/python bench/accuracy.py --data-dir /tmp/acc > /tmp/accuracy.log 2>&1 &   # the README's model study
    .venv/bin/python bench/accuracy.py --settings "none,typo noise,synonyms,hard negatives" --kinds similarity   # augmentation
    .venv/bin/python bench/accuracy.py --compare-only --data-dir /tmp/acc    # wait for it again, compare
    .venv/bin/python bench/accuracy.py --quick    # a smoke run of the same path (minutes)
    # issue 11's study: does augmentation that keeps the label help, overall, on typos, on cold start?
    nohup .venv/bin/python bench/accuracy.py --study --data-dir /tmp/acc-labels > /tmp/accuracy-labels.log 2>&1 &

It goes through the product's own path, as a user would, headless:
1. ingest  a seeded, query-grouped subset of ../shared/data/home_depot/train.csv per data size,
           written as CSV and ingested as labeled pairs (workbench.ingest.ingest_file);
2. samples binary labels (relevance >= 2.5, rule 'cut:2.5'), split by query, with val and test
           shares that leave about SIZE pairs for training (workbench.samples.build_sample_set);
3. augment one recipe per setting, run on the train split; every candidate that passed the
           recipe's filters accepted in bulk and saved as an augmented set (pipeline, review);
4. train   one experiment per data size, settings x seeds, through the job queue, the scheduler and
           the worker (workbench.jobs.queue.submit_job, wait_job), bundled MiniLM, CPU;
5. compare mean and 95% interval over seeds, delta against "none" and against the zero-shot
           reference with a paired bootstrap over test queries (workbench.experiments.load_comparison)
           for accuracy, F1, ROC-AUC, nDCG@10, and the typo slice (the test queries with seeded
           keyboard typos); the zero-shot and lexical references with their intervals.

Model kinds (--kinds): each kind gets its own experiment on the same sample set, so both are read
against the same references. Each kind trains with its own settings: similarity at the TrainConfig
defaults (lr 2e-5, batch 32), cross-encoder at the settings of the README's earlier study (lr 5e-5,
batch 16).

Sizing: the defaults (full fine-tuning, 2 epochs, 2,000 and 4,000 training pairs, 3 seeds, 500
test pairs) take about 2 hours on a quiet 2-core CPU (48 min for 2,000, 72 for 4,000); on a busy
one, `--budget-min` cancels what is left and compares what finished (jobs run seed-major, so every
setting gets its first seed first). Larger sizes belong on a GPU: bench/accuracy_gpu.py trains the
same experiments there (2,000 and 8,000 pairs, all 30 jobs, in 4.5 min on an H200). One epoch of
head-only training stays near chance on this data: it is not a useful baseline.

The label-keeping study (`--study`, issue 11): sizes 500 and 2,000, the similarity kind, 20% of the
products held out as cold start, settings
    none                              the train split alone (and the zero-shot reference, always reported)
    typo-aware                        keyboard typos and character edits on --typo-rate of the samples,
                                      positives and negatives alike
    typo-aware + consistency          the same candidates, trained with --consistency-weight
    product-aware synonyms            WordNet synonyms and catalog neighbours that leave the words the
                                      product's text has, kept only where the zero-shot teacher agrees
    pseudo-queries + mined negatives  queries from cold-start (and never-searched) products' titles and
                                      BM25-mined negatives, labeled by the teacher (Doc2Query--, RocketQA)
    all together                      typo-aware + synonyms + new pairs, with the consistency loss
reported overall and on the typo and cold-start slices. 8,000 pairs belong on a GPU
(`--study --sizes 8000 --submit-only`, then bench/accuracy_gpu.py).

Our baseline is the setting "none" (the train split alone); `cost_vs_none` is each setting's
training time over the baseline's. The last line is one JSON object: `sizes`, each with
`settings` as `python -m workbench compare --json` prints them (accuracy) and `by_metric`.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
DATA = ROOT.parent / "shared" / "data" / "home_depot" / "train.csv"
REPORTED = [("accuracy", "all"), ("f1", "all"), ("roc_auc", "all"), ("ndcg@10", "all"),
            ("accuracy", "typo"), ("f1", "typo"), ("roc_auc", "typo"), ("ndcg@10", "typo"),
            ("accuracy", "cold_start"), ("f1", "cold_start"), ("roc_auc", "cold_start"), ("ndcg@10", "cold_start")]  # fmt: skip
KIND_SETTINGS = {"similarity": {"learning_rate": 2e-5, "batch_size": 32},
                 "cross-encoder": {"learning_rate": 5e-5, "batch_size": 16}}  # fmt: skip
RECIPES = {  # augmented set name -> recipe; each set is capped near --aug-share x the train size
    "typo noise": {"steps": [{"augmenter": "keyboard_typo"}, {"augmenter": "char_edit"}],
                   "filters": {"min_score": 0.6, "scorer": "string"}},
    "synonyms": {"steps": [{"augmenter": "wordnet_synonym"}, {"augmenter": "embedding_neighbour"}],
                 "filters": {"min_score": 0.75, "scorer": "encoder"}},
    # Pairs data has no logs: negatives are the lowest-graded products of close queries. The defaults
    # (query overlap 0.5, title overlap 0.3) find 27 for 2,000 Home Depot pairs; these keep 132 (1,028 for 8,000).
    "hard negatives": {"steps": [{"augmenter": "hard_negative", "params": {"min_query_overlap": 0.2, "min_title_overlap": 0.1}}],
                       "filters": {"min_score": 0.0, "scorer": "string"}},
    # The label-keeping study (issue 11). "rate" (None here) is filled from --typo-rate; the typos keep their
    # label by construction (protected tokens stay), so the cheap string score only drops mangled ones.
    "typo-aware": {"steps": [{"augmenter": "keyboard_typo", "params": {"rate": None}}, {"augmenter": "char_edit", "params": {"rate": None}}],
                   "filters": {"min_score": 0.6, "scorer": "string"}, "max_source_samples": 0},
    "product-aware synonyms": {"steps": [{"augmenter": "wordnet_synonym"}, {"augmenter": "embedding_neighbour"}],
                               "filters": {"scorer": "teacher", "teacher_margin": 0.5}},
    # Every positive anchors pseudo-queries (cold-start products first) and mined negatives: no cap.
    "pseudo-queries + mined negatives": {"steps": [{"augmenter": "pseudo_query"}, {"augmenter": "mined_negative"}],
                                         "filters": {"scorer": "teacher", "teacher_margin": 0.5}, "max_source_samples": 0},
}  # fmt: skip
# Sets saved a second time from another set's augment run, trained with other settings: Compare keys
# settings by set ids, so the same candidates with and without the consistency loss are two settings.
TWINS = {"typo-aware + consistency": "typo-aware"}
TRAIN_OPTIONS = {"typo-aware + consistency": "consistency"}  # set name -> what its jobs add to TrainConfig
STUDY = ["none", "typo-aware", "typo-aware + consistency", "product-aware synonyms", "pseudo-queries + mined negatives",
         "all together"]  # fmt: skip
TOGETHER = ["typo-aware + consistency", "product-aware synonyms", "pseudo-queries + mined negatives"]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny smoke run: one small size, one seed, head-only training")
    p.add_argument("--sizes", default="500,2000,4000", help="training pairs per data size, comma-separated")
    p.add_argument("--kinds", default="similarity,cross-encoder", help="model kinds, comma-separated, one experiment each")
    p.add_argument("--settings", default="none",
                   help=f"augmentation settings, comma-separated: none, {', '.join([*RECIPES, *TWINS])}, all three (the first three), "
                        f"all together ({' + '.join(TOGETHER)})")
    p.add_argument("--study", action="store_true",
                   help="issue 11's study: sizes 500,2000, similarity, cold-start share 0.2, settings " + ", ".join(STUDY))
    p.add_argument("--cold-start-share", type=float, default=0.02, help="share of products held out of train as cold start")
    p.add_argument("--typo-rate", default="0.3", help="share of samples the typo-aware set gives typos to, or 'logs': the estimate "
                                                      "from the data's queries (workbench.queries.typo_share)")
    p.add_argument("--consistency-weight", type=float, default=1.0, help="TrainConfig.consistency_weight of the '+ consistency' settings")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--max-length", type=int, default=40, help="tokens per (query, title) pair; titles are short")
    p.add_argument("--batch-size", type=int, help="default: per kind (KIND_SETTINGS)")
    p.add_argument("--learning-rate", type=float, help="default: per kind (KIND_SETTINGS); use 1e-3 with --strategy head")
    p.add_argument("--strategy", default="full", choices=["full", "head", "lora"])
    p.add_argument("--stop-metric", default="roc_auc", help="validation metric that picks the best epoch (nDCG@10 saturates on 200 pairs)")
    p.add_argument("--val-pairs", type=int, default=300)
    p.add_argument("--test-pairs", type=int, default=1000, help="test subset; the typo slice doubles its cost")
    p.add_argument("--aug-share", type=float, default=0.5, help="each augmented set holds about this share of train")
    p.add_argument("--n-boot", type=int, default=2000)
    p.add_argument("--budget-min", type=float, default=0, help="cancel the jobs still queued after this many minutes (0 = wait)")
    p.add_argument("--data-dir", help="where the bench's database and jobs go (default: a new temp folder)")
    p.add_argument("--submit-only", action="store_true",
                   help="prepare and submit, start no scheduler (to train elsewhere: bench/accuracy_gpu.py)")
    p.add_argument("--compare-only", action="store_true",
                   help="wait for and compare the experiments an earlier run wrote to --data-dir's experiments.json")
    args = p.parse_args(argv)
    if args.study:  # the study's values, where the command line left the defaults (--study --sizes 8000 for a GPU)
        study = {"sizes": "500,2000", "kinds": "similarity", "settings": ",".join(STUDY), "cold_start_share": 0.2}
        for name, value in study.items():
            if getattr(args, name) == p.get_default(name):
                setattr(args, name, value)
    if args.quick:
        args.sizes, args.seeds, args.epochs, args.strategy, args.learning_rate = "150", 1, 1, "head", 1e-3
        args.kinds = "similarity"
        args.val_pairs, args.test_pairs, args.max_length, args.n_boot = 60, 100, 32, 500
    return args


def subset_csv(source: pd.DataFrame, total_pairs: int, seed: int, folder: Path) -> Path:
    """A seeded choice of whole queries holding about `total_pairs` pairs, written as a CSV file."""
    counts = source.groupby("search_term").size().sample(frac=1.0, random_state=seed)
    chosen = counts.index[counts.cumsum() <= total_pairs]
    path = folder / f"home_depot_{total_pairs}.csv"
    source[source["search_term"].isin(set(chosen))].to_csv(path, index=False)
    return path


def prepare(size: int, args, source: pd.DataFrame, folder: Path) -> dict:
    """Ingest, sample and augment one data size; returns the ids the experiment needs."""
    from storage import candidates as stored
    from storage.db import begin
    from workbench.augment.labels import typo_rate
    from workbench.augment.pipeline import run_recipe
    from workbench.augment.recipes import recipe_from_dict
    from workbench.ingest import ingest_file
    from workbench.samples import SampleConfig, build_sample_set

    total = size + args.val_pairs + args.test_pairs
    dataset = ingest_file(subset_csv(source, total, seed=size, folder=folder), kind="pairs", name=f"home depot {size}")
    config = SampleConfig(name=f"home depot {size}", label_rule="cut:2.5", val_share=args.val_pairs / total,
                          test_share=args.test_pairs / total, cold_start_share=args.cold_start_share, seed=0)  # fmt: skip
    samples = build_sample_set(dataset.dataset_id, config)
    estimate = typo_rate(samples.sample_set_id)
    rate = estimate if args.typo_rate == "logs" else float(args.typo_rate)
    print(f"  {size}: typo rate estimated from the queries {estimate:.3f}; typo-aware uses {rate:.3f}", flush=True)
    sets, runs = {}, {}
    wanted = wanted_sets(args.settings)
    for name, recipe in RECIPES.items():
        if name not in wanted:
            continue
        recipe = copy.deepcopy(recipe)
        for step in recipe["steps"]:
            if "rate" in step.get("params", {}):
                step["params"]["rate"] = rate  # the typo rate into the typo steps
        cap = max(1, int(args.aug_share * samples.summary["train"] / len(recipe["steps"])))
        result = run_recipe(samples.sample_set_id, recipe_from_dict({"name": name, "seed": 0, "max_source_samples": cap, **recipe}))
        runs[name] = result.augment_run_id
        with begin() as conn:  # the review step: accept every candidate that passed the filters, save the set
            _, accepted = stored.set_candidate_status(conn, result.augment_run_id, stored.CandidateFilter(), "accepted", "accept all")
            set_id = stored.save_augmented_set(conn, result.augment_run_id, name) if accepted else None
        print(f"  {size}: {name}: {result.candidates} candidates kept of {result.generated}, {accepted} accepted "
              f"(dropped {result.dropped})", flush=True)  # fmt: skip
        if set_id is not None:
            sets[name] = (set_id, accepted)
    for name, twin in TWINS.items():
        if name in wanted and twin in sets:
            with begin() as conn:
                sets[name] = (stored.save_augmented_set(conn, runs[twin], name), sets[twin][1])
    return {"size": size, "sample_set_id": samples.sample_set_id, "summary": samples.summary, "sets": sets,
            "typo_rate_estimate": estimate}


def wanted_sets(settings: str) -> set[str]:
    """The augmented sets the settings need: their own, the first three for 'all three', TOGETHER's
    for 'all together', and the set a twin is saved from."""
    names = {name.strip() for name in settings.split(",")}
    wanted = names & (set(RECIPES) | set(TWINS))
    if "all three" in names:
        wanted |= set(list(RECIPES)[:3])
    if "all together" in names:
        wanted |= set(TOGETHER)
    return wanted | {TWINS[name] for name in wanted if name in TWINS}


def settings_of(prepared: dict, settings: str) -> list[list[int]]:
    """The augmented set ids of each setting asked for, "none" first."""
    names = [name.strip() for name in settings.split(",")]
    sets = prepared["sets"]
    out = [[]] if "none" in names or not names else []
    out += [[sets[n][0]] for n in names if n in sets]
    if "all three" in names:
        out.append([sets[n][0] for n in list(RECIPES)[:3] if n in sets])
    if "all together" in names:
        out.append([sets[n][0] for n in TOGETHER if n in sets])
    return [s for i, s in enumerate(out) if s not in out[:i] and (s or i == 0)]


def submit(prepared: dict, args, kind: str) -> tuple[int, list[int]]:
    """One experiment per model kind, a job per (seed, setting), seed-major: a time-boxed run covers every setting first."""
    from storage import jobs as job_store
    from storage.db import begin
    from workbench.jobs.queue import submit_job
    from workbench.jobs.scheduler import ensure_scheduler
    from workbench.train.config import TrainConfig

    per_kind = KIND_SETTINGS[kind] | {k: v for k, v in (("learning_rate", args.learning_rate), ("batch_size", args.batch_size)) if v}
    config = TrainConfig(model_kind=kind, epochs=args.epochs, max_length=args.max_length, device="cpu", strategy=args.strategy,
                         patience=0, early_stopping_metric=args.stop_metric, **per_kind)  # fmt: skip
    settings = settings_of(prepared, args.settings)
    consistent = {set_id for name, (set_id, _) in prepared["sets"].items() if TRAIN_OPTIONS.get(name) == "consistency"}
    with begin() as conn:
        experiment_id = job_store.create_experiment(conn, f"accuracy bench {prepared['size']} {kind}",
                                                    {"settings": settings, "config": config.to_dict()})  # fmt: skip

    def job_config(seed: int, setting: list[int]) -> TrainConfig:
        extra = {"consistency_weight": args.consistency_weight} if consistent & set(setting) else {}
        return TrainConfig.from_dict(config.to_dict() | {"seed": seed} | extra)

    job_ids = [submit_job(prepared["sample_set_id"], job_config(seed, setting), setting, experiment_id=experiment_id,
                          start_scheduler=False)
               for seed in range(args.seeds) for setting in settings]  # fmt: skip
    if not args.submit_only:
        ensure_scheduler()
    return experiment_id, job_ids


def results(prepared: dict, experiment_id: int, job_ids: list[int], args, deadline: float | None, kind: str = "") -> dict:
    """Wait for the experiment (cancelling what is left at the deadline) and compare what finished."""
    from workbench.experiments import load_comparison
    from workbench.jobs.queue import FINISHED, cancel_job, wait_job

    failed = {}
    for job_id in job_ids:
        timeout_s = None if deadline is None else max(0.0, deadline - time.monotonic())
        summary = wait_job(job_id, timeout_s=timeout_s, poll_s=5.0)
        if summary["status"] not in FINISHED:
            summary = cancel_job(job_id) | {"error": "cancelled at the bench's --budget-min deadline"}
        if summary["status"] != "done":
            failed[job_id] = f"{summary['setting']} seed {summary['seed']}: {summary['status']}: {summary['error']}"
            print(f"  job {job_id} {failed[job_id]}", flush=True)
    by_metric, references = {}, {}
    for metric, slice_ in REPORTED:
        comparison = load_comparison(experiment_id, metric=metric, slice_=slice_, baseline="none", n_boot=args.n_boot)
        by_metric[comparison.settings[0].metric] = comparison.as_dict()["settings"]
        references[comparison.settings[0].metric] = comparison.as_dict()["references"]
    base_time = by_metric["accuracy"][0]["train_time_s"]
    for entry in by_metric["accuracy"]:
        entry["cost_vs_none"] = entry["train_time_s"] / base_time if base_time else None
    summary = prepared["summary"]
    return {"size": prepared["size"], "model_kind": kind, "experiment_id": experiment_id, "baseline": "none", "references": references,
            "train_pairs": summary["train"], "val_pairs": summary["val"], "test_pairs": summary["test"],
            "augmented_sets": {name: n for name, (_, n) in prepared["sets"].items()},
            "settings": by_metric["accuracy"], "by_metric": by_metric, "unfinished_jobs": failed}  # fmt: skip


def show(result: dict) -> None:
    print(f"\n== {result['train_pairs']} training pairs (test {result['test_pairs']}), {result['model_kind']}, experiment {result['experiment_id']}")
    for key, refs in result["references"].items():
        for r in refs:
            print(f"  {key:14s} {r['name']:45s} {r['value']:.4f} [{r['ci_low']:.4f}, {r['ci_high']:.4f}]", flush=True)
    for key, settings in result["by_metric"].items():
        for s in settings:
            mark = "*" if s["significant"] else " "
            print(f"  {key:14s} {s['name']:45s} {s['mean']:.4f} [{s['ci_low']:.4f}, {s['ci_high']:.4f}] "
                  f"delta {s['delta']:+.4f} [{s['delta_ci_low']:+.4f}, {s['delta_ci_high']:+.4f}]{mark} "
                  f"vs zero-shot {_num(s['delta_vs_zero_shot'])} [{_num(s['vs_zero_shot_ci_low'])}, "
                  f"{_num(s['vs_zero_shot_ci_high'])}]{'*' if s['significant_vs_zero_shot'] else ' '}", flush=True)  # fmt: skip


def _num(value) -> str:
    return "n/a" if value is None else f"{value:+.4f}"


def main(argv=None) -> dict:
    args = parse_args(argv)
    folder = Path(args.data_dir or tempfile.mkdtemp(prefix="workbench-accuracy-"))
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["WORKBENCH_DATA_DIR"] = str(folder)  # the scheduler and workers inherit it
    os.environ.pop("WORKBENCH_DB_URL", None)
    started = time.monotonic()
    deadline = started + 60 * args.budget_min if args.budget_min else None
    if args.compare_only:  # the experiments an earlier run of this script submitted into --data-dir
        experiments = json.loads((folder / "experiments.json").read_text())["experiments"]
    else:
        source = pd.read_csv(DATA, dtype=str, keep_default_na=False)
        experiments = []
        for size in [int(s) for s in args.sizes.split(",")]:
            print(f"preparing {size} training pairs ({time.monotonic() - started:.0f} s)", flush=True)
            experiments.append(prepare(size, args, source, folder))
        experiments = [p | {"model_kind": kind} | dict(zip(("experiment_id", "job_ids"), submit(p, args, kind)))
                       for p in experiments for kind in args.kinds.split(",")]  # fmt: skip
        (folder / "experiments.json").write_text(json.dumps({"experiments": experiments, "args": vars(args)}, default=str))
        print(f"submitted {sum(len(p['job_ids']) for p in experiments)} jobs ({time.monotonic() - started:.0f} s)", flush=True)
        if args.submit_only:
            keys = ("size", "model_kind", "experiment_id", "job_ids")
            print(json.dumps({"data_dir": str(folder), "experiments": [{k: p[k] for k in keys} for p in experiments]}))
            return {"data_dir": str(folder), "experiments": experiments}
    out = []
    for p in experiments:
        out.append(results(p, p["experiment_id"], p["job_ids"], args, deadline, p.get("model_kind", "")))
        show(out[-1])
        print(f"({time.monotonic() - started:.0f} s)", flush=True)
    config = {k: v for k, v in vars(args).items() if k != "data_dir"} | {"data_dir": str(folder), "device": "cpu"}
    final = {"sizes": out, "config": config, "elapsed_s": round(time.monotonic() - started, 1)}
    print(json.dumps(final))
    return final


if __name__ == "__main__":
    main()
