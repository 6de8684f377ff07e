"""The command line: every step of the app, headless.

    python -m workbench demo --json
    python -m workbench ingest pairs ../shared/data/home_depot/train.csv --json
    python -m workbench samples build --dataset 1 --json

Each subcommand is a thin wrapper over one core function and returns a dict. With `--json` the
last line printed is that dict as one JSON object; without it, the same keys as text. Errors
become one line on stderr and a non-zero exit; nothing is half-written.
"""
from __future__ import annotations

import argparse
import json
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

    mapping = json.loads(args.mapping) if args.mapping else None
    result = ingest.ingest_file(
        args.file,
        kind=args.kind,
        name=args.name,
        mapping=mapping,
        encoding=args.encoding,
        catalog_dataset_id=args.catalog,
    )
    return result.as_dict()


def cmd_demo(args: argparse.Namespace) -> dict:
    """Generate and ingest the seeded demo catalog and search logs. Example: demo --json"""
    from workbench import demo

    return demo.load_demo(seed=args.seed).as_dict()


def add_ingest_commands(sub) -> None:
    p = sub.add_parser("ingest", help=cmd_ingest.__doc__, description=cmd_ingest.__doc__)
    p.add_argument("kind", choices=["catalog", "logs", "pairs"])
    p.add_argument("file")
    p.add_argument("--name", help="dataset name (default: the file name)")
    p.add_argument("--mapping", help='JSON object, our column -> file column, e.g. {"query": "q"}')
    p.add_argument("--encoding", help="file encoding (default: detected)")
    p.add_argument("--catalog", type=int, help="logs: the catalog dataset id (default: the newest)")
    p.set_defaults(handler=cmd_ingest)

    p = sub.add_parser("demo", help=cmd_demo.__doc__, description=cmd_demo.__doc__)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=cmd_demo)


# --- compare -------------------------------------------------------------------------------


def cmd_compare(args: argparse.Namespace) -> dict:
    """Compare finished jobs by augmentation setting: mean and 95% interval over seeds, delta against the
    baseline with a paired bootstrap over test queries. Example: compare --metric f1 --slice typo --json"""
    from pathlib import Path

    from workbench import experiments, report
    from workbench.errors import BadInput

    comparison = experiments.load_comparison(
        args.experiment, metric=args.metric, slice_=args.slice, baseline=args.baseline, n_boot=args.n_boot, seed=args.seed
    )
    result = comparison.as_dict()
    result["summary"] = report.summary_lines(comparison)
    for path, text in ((args.csv, report.table_csv), (args.html, report.html_report)):
        if path:
            try:
                Path(path).write_text(text(comparison), encoding="utf-8")
            except OSError as e:
                raise BadInput(f"cannot write {path}: {e.strerror}") from e
    return result


def add_compare_commands(sub) -> None:
    p = sub.add_parser("compare", help=cmd_compare.__doc__.split(":")[0], description=cmd_compare.__doc__)
    p.add_argument("--experiment", type=int, help="one experiment's jobs (default: every finished job)")
    p.add_argument("--metric", default="accuracy", help="accuracy, f1, roc_auc, ndcg@10, mrr, train_time_s, ...")
    p.add_argument("--slice", default="all", choices=["all", "cold_start", "tail", "typo"], help="which test samples (default: all)")
    p.add_argument("--baseline", help='setting to test against (default: the pinned run\'s setting, else "none")')
    p.add_argument("--csv", metavar="FILE", help="also write the settings table as CSV")
    p.add_argument("--html", metavar="FILE", help="also write the self-contained HTML report")
    p.add_argument("--n-boot", type=int, default=2000, help="bootstrap replicates (default: 2000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    p.set_defaults(handler=cmd_compare)


# --- registration --------------------------------------------------------------------------

# Each area adds its subcommands here; keep the order of the user's flow.
REGISTRARS: list[Callable] = [add_ingest_commands, add_compare_commands]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m workbench", description=__doc__.split("\n")[0])
    # Output flag declared once, shared by every subcommand.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_parser_with(common))
    for register in REGISTRARS:
        register(sub)
    return parser


def _parser_with(common: argparse.ArgumentParser):
    class SubParser(argparse.ArgumentParser):
        def __init__(self, *a, **kw):
            kw.setdefault("parents", [common])
            super().__init__(*a, **kw)

    return SubParser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = args.handler(args)
    except (WorkbenchError, StorageError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    emit(result, args.json)
    return int(result.get("exit_code", 0)) if isinstance(result, dict) else 0
