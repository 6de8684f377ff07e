"""bench/accuracy.py's experiments trained on a lent GPU, through the job folder protocol.

A worker reads and writes only its job folder (workbench/train/folder.py), so an experiment prepared and
submitted here can train on another machine, and its folders come back to be adopted the way the
scheduler adopts a worker that finished without it:

    # here: ingest, samples, augment, submit; no scheduler starts
    .venv/bin/python bench/accuracy.py --sizes 2000,8000 --data-dir /tmp/acc-gpu --submit-only
    .venv/bin/python bench/accuracy_gpu.py pack /tmp/acc-gpu .gpu     # job folders + the bundled model
    # there (python3 with torch, transformers, peft, pandas, pyarrow, scikit-learn; no database):
    python3 bench/accuracy_gpu.py run .gpu "$OUT" --parallel 6
    # here: results copied into the job folders, the jobs marked done, then bench/accuracy.py's comparison
    .venv/bin/python bench/accuracy_gpu.py collect /tmp/acc-gpu results.tar.gz

The device tool carries 64 MiB a call and keeps nothing carried from one call to the next (/tmp
survives while the machine stays warm), so `pack` cuts the model's weights in two halves that
`run` joins: call 1 carries .gpu/weights.1 and copies it to /tmp; call 2 carries .gpu/jobs,
.gpu/model and .gpu/weights.0, copies /tmp's half back to .gpu/weights.1, and runs. Each job's config keeps every setting of the CPU experiment but
`device` (cuda: bf16 autocast) and `model` (the carried folder). The last line of `run` and of
`collect` is one JSON object; `collect` prints bench/accuracy.py's.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULT_FILES = ("status.json", "metrics.jsonl", "predictions.parquet", "log.txt")


def pack(data_dir: Path, out: Path) -> dict:
    """Copy each submitted job's config and frozen splits, and the bundled model, into `out`."""
    from workbench.models import bundled_model_dir

    experiments = json.loads((data_dir / "experiments.json").read_text())["experiments"]
    shutil.rmtree(out, ignore_errors=True)
    (out / "model").mkdir(parents=True)
    jobs = []
    for experiment in experiments:
        for job_id in experiment["job_ids"]:
            source, target = data_dir / "jobs" / str(job_id), out / "jobs" / str(job_id)
            target.mkdir(parents=True)
            for name in ("config.json", "train.parquet", "val.parquet", "test.parquet"):
                shutil.copy2(source / name, target / name)
            jobs.append(job_id)
    model = bundled_model_dir()
    for path in model.iterdir():
        if path.is_file() and path.name != "model.safetensors" and not path.name.startswith("."):
            shutil.copy2(path, out / "model" / path.name)
    weights = (model / "model.safetensors").read_bytes()
    half = len(weights) // 2
    (out / "weights.0").write_bytes(weights[:half])
    (out / "weights.1").write_bytes(weights[half:])
    summary = {"packed_jobs": jobs, "folder": str(out), "model_bytes": len(weights)}
    print(json.dumps(summary))
    return summary


def run(folder: Path, out: Path, parallel: int, device: str, budget_s: float = 0) -> dict:
    """Train every packed job (`parallel` workers at a time), then tar the results into `out`.

    budget_s: start no job after this many seconds (0 = no limit); the jobs are seed-major, so what
    finished still covers every setting."""
    model = folder / "model"
    if not (model / "model.safetensors").exists():
        with open(model / "model.safetensors", "wb") as f:
            for part in ("weights.0", "weights.1"):
                f.write((folder / part).read_bytes())
    # Last submitted first: the larger size, seed-major, so a budget cuts the smaller size first.
    jobs = sorted((p for p in (folder / "jobs").iterdir() if p.is_dir()), key=lambda p: -int(p.name))
    for job in jobs:
        config = json.loads((job / "config.json").read_text())
        (job / "config.json").write_text(json.dumps(config | {"device": device, "model": str(model.resolve())}))
    env = os.environ | {"HF_HUB_OFFLINE": "1", "WORKBENCH_TORCH_THREADS": str(max(1, (os.cpu_count() or 2) // parallel))}
    started, waiting, running, times = time.monotonic(), list(jobs), {}, {}
    while waiting or running:
        if budget_s and time.monotonic() - started > budget_s and waiting:
            print(f"budget of {budget_s:.0f} s spent: {len(waiting)} jobs not started", flush=True)
            waiting = []
        while waiting and len(running) < parallel:
            job = waiting.pop(0)
            with open(job / "worker.out", "w") as log:  # the child keeps its own copy of the descriptor
                running[job] = (subprocess.Popen([sys.executable, "-m", "workbench.train", "--job-dir", str(job)],
                                                 cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT), time.monotonic())  # fmt: skip
        for job, (proc, t0) in list(running.items()):
            if proc.poll() is not None:
                times[job.name] = {"exit": proc.returncode, "wall_s": round(time.monotonic() - t0, 1)}
                print(f"job {job.name}: exit {proc.returncode} in {times[job.name]['wall_s']} s", flush=True)
                del running[job]
        time.sleep(0.5)
    out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out / "results.tar.gz", "w:gz") as tar:
        for job in jobs:
            for name in RESULT_FILES + ("worker.out",):
                if (job / name).exists():
                    tar.add(job / name, arcname=f"{job.name}/{name}")
    statuses = {job.name: json.loads((job / "status.json").read_text()) for job in jobs if (job / "status.json").exists()}
    summary = {"device": device, "parallel": parallel, "not_started": len(jobs) - len(times), "elapsed_s": round(time.monotonic() - started, 1), "jobs": times,
               "devices": sorted({s.get("device") or "" for s in statuses.values()}),
               "train_time_s": {k: s.get("metrics", {}).get("train_time_s") for k, s in statuses.items()},
               "failed": {k: s.get("error") for k, s in statuses.items() if s.get("state") != "done"}}  # fmt: skip
    print(json.dumps(summary))
    return summary


def collect(data_dir: Path, results: Path) -> dict:
    """Copy the results into the job folders, adopt the finished jobs, compare as bench/accuracy.py does."""
    os.environ["WORKBENCH_DATA_DIR"] = str(data_dir)
    os.environ.pop("WORKBENCH_DB_URL", None)
    from bench.accuracy import results as compare_experiment
    from bench.accuracy import show
    from storage import jobs as job_store
    from storage.db import begin
    from workbench.jobs.scheduler import Scheduler

    saved = json.loads((data_dir / "experiments.json").read_text())
    with tarfile.open(results) as tar:
        members = [m for m in tar.getmembers() if m.isfile() and m.name.split("/")[-1] in RESULT_FILES]
        for member in members:
            job_id, name = member.name.split("/")
            target = data_dir / "jobs" / str(int(job_id)) / name  # int(): no path comes from the archive
            target.write_bytes(tar.extractfile(member).read())
    returned = {int(m.name.split("/")[0]) for m in members}
    with begin() as conn:
        for job_id in sorted(returned):
            job_store.set_job_status(conn, job_id, "running", handle=None)
        for job_id in {j for experiment in saved["experiments"] for j in experiment["job_ids"]} - returned:
            job_store.set_job_status(conn, job_id, "cancelled", error="its folder did not come back from the GPU run")
    Scheduler().adopt()  # pid None: the worker has exited; status.json says done or failed
    args = argparse.Namespace(**saved["args"])
    out = []
    for experiment in saved["experiments"]:
        prepared = experiment | {"sets": {k: tuple(v) for k, v in experiment["sets"].items()}}
        out.append(compare_experiment(prepared, experiment["experiment_id"], experiment["job_ids"], args, deadline=time.monotonic()))
        show(out[-1])
    final = {"sizes": out, "config": saved["args"] | {"device": "cuda (bench/accuracy_gpu.py)"}}
    print(json.dumps(final))
    return final


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="step", required=True)
    a = sub.add_parser("pack", help="job folders and the bundled model into FOLDER")
    a.add_argument("data_dir", type=Path)
    a.add_argument("folder", type=Path)
    b = sub.add_parser("run", help="train the packed jobs on this machine; results.tar.gz into OUT")
    b.add_argument("folder", type=Path)
    b.add_argument("out", type=Path)
    b.add_argument("--parallel", type=int, default=4, help="workers at a time (small models leave a GPU mostly idle)")
    b.add_argument("--device", default="cuda")
    b.add_argument("--budget-s", type=float, default=0, help="start no job after this many seconds (0 = no limit)")
    c = sub.add_parser("collect", help="adopt the results into DATA_DIR's database and compare")
    c.add_argument("data_dir", type=Path)
    c.add_argument("results", type=Path)
    args = p.parse_args(argv)
    if args.step == "pack":
        return pack(args.data_dir, args.folder)
    if args.step == "run":
        return run(args.folder, args.out, args.parallel, args.device, args.budget_s)
    return collect(args.data_dir, args.results)


if __name__ == "__main__":
    main()
