"""Store benchmark: the demo flow on DuckDB and on PostgreSQL, side by side in one run.

    .venv/bin/python bench/store.py                      # a throwaway PostgreSQL on a Unix socket
    .venv/bin/python bench/store.py --postgres-url postgresql+psycopg://me@/bench?host=/run/postgresql
    .venv/bin/python bench/store.py --repeat 3           # the median of three runs per step and store

Each step is the command a user runs, in its own process, timed from start to exit (Python's
start-up is in both columns alike): `demo`, `samples build --dataset 2` (the demo logs), and
`augment --preset "typo robustness" --accept-all` on that sample set. DuckDB gets a fresh file,
PostgreSQL a fresh database; the stores alternate step by step, so load on a shared machine hits
both alike. Without --postgres-url the benchmark starts its own server the way the tests do
(tests/stores.py: initdb in a temp folder, Unix socket only, fsync off), which needs Debian's
`postgresql` package. The last line is one JSON object: per step `duckdb_s`, `postgres_s` and
`postgres_vs_duckdb` (the target is at most 2). With --repeat, `duckdb_s` and `postgres_s` are each
store's median and `postgres_vs_duckdb` the median of the per-run ratios (`ratios`): the two
stores run back to back in each run, so a run's ratio sees one load, and the median of ratios
is steadier on a shared machine than a ratio of medians.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STEPS = {
    "demo": ["demo"],
    "samples": ["samples", "build", "--dataset", "2"],
    "augment": ["augment", "--sample-set", "1", "--preset", "typo robustness", "--accept-all"],
}


def run_step(args: list[str], env: dict) -> float:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "workbench", *args, "--json"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1800)  # fmt: skip
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"`{' '.join(args)}` failed:\n{proc.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres-url", help="an empty PostgreSQL database (default: start a throwaway server)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of the whole flow per store; the median is kept")
    args = parser.parse_args()

    server = None
    if args.postgres_url is None:
        sys.path.insert(0, str(ROOT / "tests"))
        from stores import PostgresServer

        server = PostgresServer()
        server.start()
    times: dict[str, dict[str, list[float]]] = {step: {"duckdb": [], "postgres": []} for step in STEPS}
    try:
        for run in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="bench-store-") as folder:
                urls = {"duckdb": f"duckdb:///{folder}/workbench.duckdb"}
                if server is not None:
                    urls["postgres"] = server.url(server.create_database())
                else:
                    urls["postgres"] = args.postgres_url
                for step, command in STEPS.items():
                    for store, url in urls.items():
                        data = Path(folder) / store
                        data.mkdir(exist_ok=True)
                        env = {**os.environ, "WORKBENCH_DB_URL": url, "WORKBENCH_DATA_DIR": str(data),
                               "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}  # fmt: skip
                        seconds = run_step(command, env)
                        times[step][store].append(seconds)
                        print(f"run {run + 1} {step:8s} {store:8s} {seconds:7.2f} s", file=sys.stderr)
                if args.postgres_url is not None and args.repeat > 1:
                    raise SystemExit("--repeat needs a fresh database per run; leave out --postgres-url")
    finally:
        if server is not None:
            server.stop()
    result = {}
    for step, by_store in times.items():
        ratios = [pg / duck for duck, pg in zip(by_store["duckdb"], by_store["postgres"])]
        result[step] = {"duckdb_s": round(statistics.median(by_store["duckdb"]), 2),
                        "postgres_s": round(statistics.median(by_store["postgres"]), 2),
                        "postgres_vs_duckdb": round(statistics.median(ratios), 2),
                        "ratios": [round(r, 2) for r in ratios]}  # fmt: skip
    result["load_avg_1m"] = round(os.getloadavg()[0], 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
