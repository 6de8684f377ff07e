"""The command line: every step of the app, headless.

    python -m workbench demo --json
    python -m workbench ingest pairs ../shared/data/home_depot/train.csv --json
    python -m workbench samples build --dataset 1 --json

Each subcommand is a thin wrapper over one core function and returns a dict. With `--json` the
last line printed is that dict as one JSON object; without it, the same keys as text. Errors
become one line on stderr and a non-zero exit (2 for a usage error, as argparse has it); with
`--json` the last stdout line is then {"error": ..., "exit_code": ...}. Nothing is half-written.
"""
from __future__ import annotations

import argparse
import inspect
import json
import re
import sys
from typing import Callable

from storage.errors import StorageError
from workbench.errors import WorkbenchError

Handler = Callable[[argparse.Namespace], dict]


def _json_default(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


class UsageError(Exception):
    def __init__(self, message: str, usage: str):
        super().__init__(message)
        self.usage = usage


class Parser(argparse.ArgumentParser):
    """argparse whose usage errors reach main() (subparsers are built with the same class), so that
    a script asking for --json gets its error as JSON too."""

    def error(self, message):
        raise UsageError(f"{self.prog}: {message}", self.format_usage())


# The output flag, declared once and shared by every subcommand (sqlite-utils' output_options).
OUTPUT = argparse.ArgumentParser(add_help=False)
OUTPUT.add_argument("--json", action="store_true", help="print one JSON object as the last line")


def add_command(sub, name: str, handler: Handler) -> argparse.ArgumentParser:
    """A subcommand run by `handler`: its docstring is the description, the docstring's first
    clause (up to '.', ':' or ';') the one-line help, and --json comes with it."""
    doc = inspect.cleandoc(handler.__doc__ or name)
    summary = re.split(r"[.:;](?:\s|$)", " ".join(doc.split()), maxsplit=1)[0]
    parser = sub.add_parser(name, help=summary, description=doc, parents=[OUTPUT])
    parser.set_defaults(handler=handler)
    return parser


def emit(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, default=_json_default))
        return
    for key, value in result.items():
        if isinstance(value, (dict, list)):
            value = json.dumps(value, default=_json_default)
        print(f"{key}: {value}")


# --- ingest and demo -----------------------------------------------------------------------


def cmd_ingest(args: argparse.Namespace) -> dict:
    """Ingest a catalog, search logs or labeled pairs. Example: ingest pairs train.csv --json"""
    from workbench import ingest
    from workbench.errors import BadInput

    try:
        mapping = json.loads(args.mapping) if args.mapping else None
    except json.JSONDecodeError as e:
        raise BadInput(f'--mapping is not JSON ({e.msg}); write it as {{"query": "search_term"}}') from e
    if mapping is not None and not (isinstance(mapping, dict) and all(isinstance(v, str) for v in mapping.values())):
        raise BadInput('--mapping must be a JSON object of our field -> file column, e.g. {"query": "search_term"}')
    from workbench.ingest.columns import MissingColumns

    try:
        result = ingest.ingest_file(
            args.file,
            kind=args.kind,
            name=args.name,
            mapping=mapping,
            encoding=args.encoding,
            catalog_dataset_id=args.catalog,
        )
    except MissingColumns as e:  # the core speaks the page's words; here the flag is the way to choose
        hint = ", ".join(f'"{m.split()[0]}": "<column>"' for m in e.missing)
        raise BadInput(f"{e} Name it in a mapping, e.g. --mapping '{{{hint}}}'") from e
    return result.as_dict()


def cmd_demo(args: argparse.Namespace) -> dict:
    """Generate and ingest the seeded demo catalog and search logs. Example: demo --json"""
    from workbench import demo

    return demo.load_demo(seed=args.seed).as_dict()


def add_ingest_commands(sub) -> None:
    p = add_command(sub, "ingest", cmd_ingest)
    p.add_argument("kind", choices=["catalog", "logs", "pairs"])
    p.add_argument("file")
    p.add_argument("--name", help="dataset name (default: the file name)")
    p.add_argument("--mapping", help='JSON object, our column -> file column, e.g. {"query": "q"}')
    p.add_argument("--encoding", help="file encoding (default: detected)")
    p.add_argument("--catalog", type=int, help="logs: the catalog dataset id (default: the newest)")

    p = add_command(sub, "demo", cmd_demo)
    p.add_argument("--seed", type=int, default=0)


# --- samples and augment -------------------------------------------------------------------


def cmd_samples_build(args: argparse.Namespace) -> dict:
    """Build a sample set (labels, split by query, cold-start holdout) from a logs or labeled pairs
    dataset. Example: samples build --dataset 1 --label-rule cut:2.5 --cold-start 0.1 --json"""
    from workbench.samples import SampleConfig, build_sample_set

    config = SampleConfig(name=args.name or "", label_rule=args.label_rule or "", val_share=args.val,
                          test_share=args.test, cold_start_share=args.cold_start, seed=args.seed)
    return build_sample_set(args.dataset, config, on_progress=_stderr_progress).as_dict()


def cmd_samples_list(args: argparse.Namespace) -> dict:
    """List the sample sets, newest first. Example: samples list --json"""
    from storage.db import begin
    from storage.samples import list_sample_sets

    with begin() as conn:
        frame = list_sample_sets(conn)
    rows = [{**row, "summary": json.loads(row["summary"] or "{}")} for row in frame.to_dict("records")]
    return {"sample_sets": rows}


def cmd_augment(args: argparse.Namespace) -> dict:
    """Generate augmented candidates for a sample set's train split from a recipe, filter and store
    them; optionally accept those scoring at least S (or all) and export them. Example: augment --sample-set 1
    --recipe recipe.json --accept-above 0.8 --out accepted.csv --json"""
    from storage.db import begin
    from storage.samples import get_sample_set
    from workbench.augment.export import check_export_path, export_augmented_set
    from workbench.augment.pipeline import run_recipe
    from workbench.augment.recipes import load_recipe, preset
    from workbench.errors import BadInput

    if bool(args.recipe) == bool(args.preset):
        raise BadInput("give exactly one of --recipe FILE or --preset NAME")
    if args.out and args.accept_above is None and not args.accept_all:
        raise BadInput("--out writes the accepted candidates; add --accept-above S or --accept-all")
    if args.accept_all and args.accept_above is not None:
        raise BadInput("give --accept-above S or --accept-all, not both")
    if args.accept_above is not None and not 0 <= args.accept_above <= 1:
        raise BadInput(f"--accept-above: a score is in [0, 1], got {args.accept_above}")
    for flag, value in (("--seed", args.seed), ("--max-sources", args.max_sources)):
        if value is not None and value < 0:
            raise BadInput(f"{flag}: expected 0 or more, got {value}")
    if args.out:  # checked before anything is generated or stored
        check_export_path(args.out)
    with begin() as conn:  # before the recipe: reading it imports the augmenters (nlpaug, transformers), 10 s or more
        get_sample_set(conn, args.sample_set)
    recipe = load_recipe(args.recipe) if args.recipe else preset(args.preset)
    if args.seed is not None:
        recipe.seed = args.seed
    if args.max_sources is not None:
        recipe.max_source_samples = args.max_sources
    if args.teacher is not None:  # the teacher scores every candidate pair: 0 = zero-shot, else a finished job
        recipe.filters.scorer, recipe.filters.teacher_job = "teacher", args.teacher
    result = run_recipe(args.sample_set, recipe, on_progress=_stderr_progress, accept_above=args.accept_above,
                        set_name=args.set_name, accept_all=args.accept_all).as_dict()
    if args.out and result.get("augmented_set_id"):
        result["out"] = str(export_augmented_set(result["augmented_set_id"], args.out, excel=args.excel))
    elif args.out:
        print(f"nothing was accepted; {args.out} was not written", file=sys.stderr)
    return result


def _stderr_progress(done: int, total: int, message: str) -> None:
    if sys.stderr.isatty():
        print(f"\r[{done}/{total}] {message[:70]:<70}", end="" if done < total else "\n", file=sys.stderr)


def add_samples_commands(sub) -> None:
    from workbench.augment.recipes import PRESETS
    from workbench.samples import LABEL_RULE_HELP

    p = sub.add_parser("samples", help="Build and list sample sets", description="Build and list sample sets.")
    steps = p.add_subparsers(dest="samples_command", required=True)
    b = add_command(steps, "build", cmd_samples_build)
    b.add_argument("--dataset", type=int, required=True, help="a logs or labeled pairs dataset id")
    b.add_argument("--label-rule", help=LABEL_RULE_HELP)
    b.add_argument("--seed", type=int, default=0, help="decides the split and the cold-start products (default: 0)")
    b.add_argument("--val", type=float, default=0.1, help="share of queries in val (default: 0.1)")
    b.add_argument("--test", type=float, default=0.1, help="share of queries in test (default: 0.1)")
    b.add_argument("--cold-start", type=float, default=0.0, help="share of products held out of train (default: 0)")
    b.add_argument("--name", help="sample set name (default: after the dataset)")
    add_command(steps, "list", cmd_samples_list)

    a = add_command(sub, "augment", cmd_augment)
    a.add_argument("--sample-set", type=int, required=True, help="the sample set whose train split is augmented")
    a.add_argument("--recipe", metavar="FILE", help="recipe JSON (see workbench/augment/recipes.py)")
    a.add_argument("--preset", choices=list(PRESETS), help="a preset recipe instead of a file")
    a.add_argument("--seed", type=int, help="override the recipe's seed")
    a.add_argument("--max-sources", type=int, metavar="N", help="augment a seeded choice of N train samples (0 = all)")
    a.add_argument("--teacher", type=int, metavar="JOB_ID",
                   help="score every candidate pair with a teacher and keep those agreeing with their label: a finished "
                        "training job of this sample set, or 0 for the zero-shot model fitted on its train split")
    a.add_argument("--accept-above", type=float, metavar="S", help="accept every candidate scoring >= S and save them as an augmented set")
    a.add_argument("--accept-all", action="store_true", help="accept every candidate that passed the filters")
    a.add_argument("--set-name", help="name of the augmented set (default: recipe name and augment run id)")
    a.add_argument("--out", metavar="FILE", help="write the augmented set to FILE (.csv or .parquet)")
    a.add_argument("--excel", action="store_true", help="CSV with a UTF-8 BOM, for Excel")


# --- compare -------------------------------------------------------------------------------


def cmd_compare(args: argparse.Namespace) -> dict:
    """Compare finished jobs by augmentation setting: mean and 95% interval over seeds, delta against the
    baseline with a paired bootstrap over test queries. Example: compare --metric f1 --slice typo --json"""
    from pathlib import Path

    from workbench import experiments, report
    from workbench.errors import BadInput

    comparison = experiments.load_comparison(args.experiment, sample_set_id=args.sample_set, metric=args.metric,
                                             slice_=args.slice, baseline=args.baseline, n_boot=args.n_boot, seed=args.seed)
    result = comparison.as_dict()
    result["summary"] = report.summary_lines(comparison)
    if not args.json:  # people read the table; the keys follow
        columns = ["name", "mean", "ci_low", "ci_high", "n_seeds", "delta", "delta_ci_low", "delta_ci_high", "significant"]
        print(comparison.table()[columns].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        if comparison.references:
            print(comparison.reference_table().to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    for path, text in ((args.csv, report.table_csv), (args.html, report.html_report)):
        if path:
            try:
                Path(path).write_text(text(comparison), encoding="utf-8")
            except OSError as e:
                raise BadInput(f"cannot write {path}: {e.strerror}") from e
    return result


def add_compare_commands(sub) -> None:
    p = add_command(sub, "compare", cmd_compare)
    p.add_argument("--experiment", type=int, help="one experiment's jobs (default: every finished job)")
    p.add_argument("--sample-set", type=int, help="the jobs of one sample set (needed when the jobs span several: their test "
                                                  "splits differ)")
    p.add_argument("--metric", help="accuracy, f1, roc_auc, ndcg@10, mrr, train_time_s, ... (default: the one that suits the "
                                    "labels, as the Compare page opens: accuracy for balanced binary labels, ROC-AUC for "
                                    "imbalanced ones, nDCG@10 for grades)")
    p.add_argument("--slice", default="all", choices=["all", "cold_start", "tail", "typo"], help="which test samples (default: all)")
    p.add_argument("--baseline", help='setting to test against (default: the pinned job\'s setting, else "none")')
    p.add_argument("--csv", metavar="FILE", help="also write the settings table as CSV")
    p.add_argument("--html", metavar="FILE", help="also write the self-contained HTML report")
    p.add_argument("--n-boot", type=int, default=2000, help="bootstrap replicates (default: 2000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")


# --- train and jobs ------------------------------------------------------------------------


def cmd_train(args: argparse.Namespace) -> dict:
    """Queue a training job on a sample set (plus augmented sets) and start the scheduler.
    Example: train --sample-set 1 --augmented-set 2 --epochs 1 --max-train 300 --json"""
    from workbench.jobs.queue import job_summary, submit_job
    from workbench.train.config import config_from_args

    job_id = submit_job(args.sample_set, config_from_args(args), args.augmented_set or [], warm_start_job_id=args.warm_start_job)
    summary = job_summary(job_id)
    return {"job_id": job_id, "status": summary["status"], "setting": summary["setting"], "job_dir": summary["job_dir"]}


def cmd_jobs(args: argparse.Namespace) -> dict:
    """List, show, wait for, cancel or resume training jobs. Example: jobs wait 3 --json"""
    from workbench.errors import BadInput
    from workbench.jobs import queue

    if args.action == "list":  # the queue as the page shows it: progress in [0, 100], ETA and device real or empty
        from storage import jobs as store
        from storage.db import begin
        from workbench.jobs_view import queue_view

        with begin() as conn:
            who = store.list_jobs(conn)[["id", "backend", "actor"]].fillna("")
        return {"jobs": queue_view().merge(who, on="id", how="left").to_dict("records")}
    if args.id is None:
        raise BadInput(f"`jobs {args.action}` needs a job id; `python -m workbench jobs list` shows them")
    if args.action == "show":
        return queue.job_summary(args.id)
    if args.action == "wait":
        summary = queue.wait_job(args.id, timeout_s=args.timeout_s)
        return summary | {"exit_code": 0 if summary["status"] == "done" else 1}
    if args.action == "cancel":
        return queue.cancel_job(args.id)
    if args.action == "resume":
        return queue.resume_job(args.id)
    queue.delete_job(args.id)
    return {"job_id": args.id, "status": "deleted"}


def add_train_commands(sub) -> None:
    from workbench.train.config import add_config_arguments

    p = add_command(sub, "train", cmd_train)
    p.add_argument("--sample-set", type=int, required=True, help="the sample set to train on (its train, val and test splits)")
    p.add_argument("--augmented-set", type=int, action="append", help="an augmented set to add to train (repeatable)")
    p.add_argument("--warm-start-job", type=int, help="continue from this finished job's model")
    add_config_arguments(p)

    p = add_command(sub, "jobs", cmd_jobs)
    p.add_argument("action", choices=["list", "show", "wait", "cancel", "resume", "delete"])
    p.add_argument("id", type=int, nargs="?", help="the job id (all but list)")
    p.add_argument("--timeout-s", type=float, help="wait: give up after this many seconds (default: wait until it ends)")


# --- study ---------------------------------------------------------------------------------


def cmd_study(args: argparse.Namespace) -> dict:
    """Which augmentation helps this sample set? Generate and accept each recipe, queue a sweep sized to a
    time budget, and (with --wait) print the answer. Example: study --sample-set 1 --recipes "typo robustness" --json"""
    from workbench import study
    from workbench.jobs.queue import wait_job

    config = study.StudyConfig(sample_set_id=args.sample_set, recipes=[r.strip() for r in args.recipes.split(",") if r.strip()],
                               budget_s=args.budget_min * 60, max_source_samples=args.max_sources, seed=args.seed,
                               model=args.model or "")
    result = study.run_study(config, on_progress=_stderr_progress).as_dict()
    if args.wait:
        result["jobs"] = {job_id: wait_job(job_id)["status"] for job_id in result["job_ids"]}
        result["answer"] = study.answer(result["experiment_id"])
    return result


def add_study_commands(sub) -> None:
    from workbench.augment.recipes import PRESETS

    p = add_command(sub, "study", cmd_study)
    p.add_argument("--sample-set", type=int, required=True, help="the sample set to study")
    p.add_argument("--recipes", required=True, help=f"comma-separated presets: {', '.join(PRESETS)}")
    p.add_argument("--budget-min", type=float, default=10.0, help="minutes of training for the whole sweep (default: 10)")
    p.add_argument("--max-sources", type=int, default=2000, help="train samples each recipe augments (0 = all; default: 2000)")
    p.add_argument("--seed", type=int, default=0, help="first seed of the recipes and the sweep (default: 0)")
    p.add_argument("--model", help="base model (default: the bundled one)")
    p.add_argument("--wait", action="store_true", help="wait for every job, then print the answer")


# --- registration --------------------------------------------------------------------------

# Each area adds its subcommands here; keep the order of the user's flow.
REGISTRARS: list[Callable] = [add_ingest_commands, add_samples_commands, add_train_commands, add_compare_commands,
                              add_study_commands]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m workbench", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for register in REGISTRARS:
        register(sub)
    return parser


def fail(message: str, code: int, as_json: bool) -> int:
    print(f"error: {message}", file=sys.stderr)
    if as_json:
        emit({"error": message, "exit_code": code}, True)
    return code


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser().parse_args(argv)
    except UsageError as e:
        print(e.usage, end="", file=sys.stderr)
        return fail(str(e), 2, "--json" in argv)
    try:
        result = args.handler(args)
    except (WorkbenchError, StorageError) as e:
        return fail(str(e), 1, args.json)
    emit(result, args.json)
    return int(result.get("exit_code", 0)) if isinstance(result, dict) else 0
