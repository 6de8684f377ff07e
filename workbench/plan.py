"""Sizing a training job or a sweep so that it finishes on the machine at hand, before it is queued.

    plan = plan_training(sample_set_id=1, augmented_set_ids=[2], epochs=1, budget_s=600, augmented_share=0.5)
    plan.max_train, plan.eta_s, plan.summary()

On a GPU the whole train split is used. On a CPU the cap on original samples comes from the
measured throughput: the newest finished CPU jobs' samples_seen / train_time_s, or, before any
job has finished here, half the benchmark figure in README.md (a margin for a shared machine).
The budget sizes the whole job, originals and augmented rows together: augmented rows come in the
share the user chooses (augmented per original), or, with share 0, in the chosen sets' own proportion
to the train split, so a capped job keeps the mix of the full data (share 0 once meant "every
augmented sample" on top of a capped original count: a 2-minute budget gave a 20-minute job of 98%
augmented rows). The plan's `augmented_share` is what the job's config must carry.

What a job scores besides training (`scored_per_job`): val after every epoch (and at epoch 0 for
the similarity kind, whose head is also fitted on the training rows first), the test split clean
and with typos, and, for the first job of a sample set, the zero-shot reference (its head fitted
on up to 4,000 original train samples, then the test split twice). Before a job has measured it,
scoring runs at EVAL_SPEEDUP times the training speed. Also the sweep's settings and seeds from
the Train page's form.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from storage import candidates
from storage import jobs as store
from storage import samples
from storage.db import begin
from workbench.errors import BadInput
from workbench.jobs.backend import gpu_count
from workbench.wording import count_of

# bench/train.py, bundled MiniLM, full fine-tuning, 1 thread, quiet 2-core machine (README): the
# similarity kind 23.1 pairs/s, the cross-encoder 31.0; halved, for a machine that is doing other things too.
BENCH_CPU_PER_S = {"similarity": 11.5, "cross-encoder": 15.5}
# Scoring speed over training speed: a forward pass without backward costs about a third of a
# training step; the similarity kind also encodes each distinct text once (the demo's val split,
# 2,288 pairs of 1,464 queries and 2,040 products, scored at about 450 pairs/s on 2 threads).
EVAL_SPEEDUP = {"similarity": 10.0, "cross-encoder": 3.0}
REFERENCE_FIT_MAX = 4000  # workbench.train.references.HEAD_FIT_MAX (not imported: it pulls in torch)
MIN_CAP = 200  # below this the model barely moves; the ETA says so rather than shrinking further


@dataclass
class TrainPlan:
    device: str  # 'cuda' or 'cpu' (where the scheduler will run the job)
    per_s: float  # training samples per second assumed
    measured_from: str  # 'job 7' or 'the benchmark figure'
    originals: int  # original train samples the job uses
    originals_available: int
    augmented: int  # augmented samples added
    augmented_available: int
    evaluated: int  # samples scored besides training (scored_per_job)
    epochs: int
    max_train: int  # the config value (0 = all)
    eval_per_s: float  # samples scored per second (Throughput.eval_per_s)
    augmented_share: float = 0.0  # the config value: augmented per original (0 = every augmented sample)
    budget_s: float | None = None  # the budget it was sized to (None: none)

    @property
    def eval_s(self) -> float:
        return self.evaluated / self.eval_per_s

    @property
    def eta_s(self) -> float:
        return (self.originals + self.augmented) * self.epochs / self.per_s + self.eval_s

    def summary(self) -> str:
        """What the Train page shows before queuing: what the job trains on and how long it takes,
        and plainly when that is over the budget."""
        used = f"{self.originals:,} of {self.originals_available:,} original samples"
        if self.augmented_available:
            how = "every augmented sample" if self.augmented >= self.augmented_available else \
                f"{self.augmented_share:.2g} augmented per original" + (", the sets' own proportion" if self.proportional else "")
            used += (f" + {self.augmented:,} of {self.augmented_available:,} augmented = {self.originals + self.augmented:,} "
                     f"samples in all ({how})")
        speed = f"{self.per_s:,.1f} samples/s measured from {self.measured_from}" if self.measured_from.startswith("job") else \
            f"a cautious {self.per_s:,.1f} samples/s from the benchmark figure until a job has run here: often sooner"
        text = (f"Trains on {used}, {count_of(self.epochs, 'epoch')}, on {self.device.upper()}: "
                f"about {minutes(self.eta_s)} per job ({speed}).")
        if self.budget_s and self.device == "cpu" and self.eta_s > self.budget_s * 1.05:
            text += (f" That is over the {minutes(self.budget_s)} budget: a job trains on at least {MIN_CAP} original samples "
                     f"(and their augmented share), and scoring takes about {minutes(self.eval_s)} of it.")
        return text

    @property
    def proportional(self) -> bool:
        """The augmented rows were cut in the sets' own proportion (share 0 with a capped job)."""
        return 0 < self.augmented < self.augmented_available and self.originals < self.originals_available \
            and abs(self.augmented_share - self.augmented_available / max(1, self.originals_available)) < 1e-9


def minutes(seconds: float) -> str:
    return f"{max(1, round(seconds / 60)):,} min" if seconds < 3600 else f"{seconds / 3600:.1f} h"  # 10.2 min is "10", not "11"


def device() -> str:
    """Where the scheduler will train: 'cuda' when it sees a GPU, else 'cpu' (no torch import here)."""
    return "cuda" if gpu_count() else "cpu"


def kind_of(config: dict | None) -> str:
    """The model kind a job config trains; 'auto' is read as the similarity kind (the bundled model's)."""
    kind = str((config or {}).get("model_kind") or "auto")
    return "similarity" if kind == "auto" else kind


def scored_per_job(counts: dict, epochs: int, train_rows: int, kind: str, references: bool) -> int:
    """Samples a job scores besides its training steps (see the module's docstring)."""
    val, test = int(counts.get("val", 0)), int(counts.get("test", 0))
    similarity = kind == "similarity"
    scored = val * (epochs + similarity) + 2 * test + (train_rows if similarity else 0)
    return scored + (reference_scored(counts) if references else 0)


def reference_scored(counts: dict) -> int:
    """What the zero-shot reference scores: its head's fit on the original train samples, then the test split twice."""
    test = int(counts.get("test", 0))
    return min(int(counts.get("train", 0)), REFERENCE_FIT_MAX) + 2 * test if test else 0


def reference_cost_s(sample_set_id: int, dev: str | None = None, kind: str = "similarity") -> float:
    """Seconds the first job of a sweep spends on the references (0 when a finished job left them)."""
    if has_references(sample_set_id):
        return 0.0
    with begin() as conn:
        counts = samples.count_samples(conn, sample_set_id)
    speed = measured_throughput(dev or device(), kind)
    return reference_scored(counts) / speed.eval_per_s


def has_references(sample_set_id: int) -> bool:
    """Whether a finished job of the sample set left references for the next one to copy."""
    from workbench.jobs.reuse import cached_references

    return cached_references(sample_set_id, None) is not None


@dataclass
class Throughput:
    train_per_s: float  # training samples per second
    eval_per_s: float  # val and test samples scored per second
    source: str  # 'job 7' or 'the benchmark figure'


def measured_throughput(dev: str, kind: str = "similarity") -> Throughput:
    """The newest finished job on this kind of device: samples_seen / train_time_s for training, and
    the samples it scored (val each epoch, test once) over the rest of its wall time for evaluation."""
    with begin() as conn:
        done = store.list_jobs(conn, statuses=("done",))
        for job in done.itertuples():  # newest first
            metrics = job.metrics if isinstance(job.metrics, dict) else {}
            seen, took = metrics.get("samples_seen"), metrics.get("train_time_s")
            if not (str(job.device or "cpu").startswith(dev) and seen and took and took > 0):
                continue
            train_per_s = float(seen) / float(took)
            eval_per_s = train_per_s * EVAL_SPEEDUP[kind_of(job.config)]
            if pd.notna(job.started_at) and pd.notna(job.finished_at):
                counts = samples.count_samples(conn, int(job.sample_set_id))
                epochs = int((job.config or {}).get("epochs") or 1)  # early stopping may end sooner: a lower bound
                rows = int(seen) // max(1, epochs)
                scored = scored_per_job(counts, epochs, rows, kind_of(job.config), references=False)
                rest_s = (pd.Timestamp(job.finished_at) - pd.Timestamp(job.started_at)).total_seconds() - float(took)
                if scored and rest_s > 1:
                    eval_per_s = max(eval_per_s, scored / rest_s)  # the rest also loads the model: a lower bound
            return Throughput(train_per_s, eval_per_s, f"job {int(job.id)}")
    per_s = BENCH_CPU_PER_S.get(kind, BENCH_CPU_PER_S["similarity"]) * (100 if dev == "cuda" else 1)
    return Throughput(per_s, per_s * EVAL_SPEEDUP[kind], "the benchmark figure")


def plan_training(sample_set_id: int, augmented_set_ids: list[int], epochs: int, budget_s: float | None,
                  augmented_share: float = 0.0, dev: str | None = None, kind: str = "similarity",
                  references: bool | None = None) -> TrainPlan:  # fmt: skip
    """What a job will train on and how long it takes: on CPU the original samples are capped so
    that the job fits budget_s (None = no cap); on GPU every sample is used. `references`: whether
    this job computes them (None: when no finished job of the sample set has them yet)."""
    dev = dev or device()
    with begin() as conn:
        samples.get_sample_set(conn, sample_set_id)  # NotFound names a missing set
        summary = samples.count_samples(conn, sample_set_id)
        sizes = candidates.list_augmented_sets(conn, sample_set_id).set_index("id")["size"]
    available = int(summary.get("train", 0))
    augmented_available = int(sum(int(sizes.get(i, 0)) for i in augmented_set_ids))
    speed = measured_throughput(dev, kind)
    references = (not has_references(sample_set_id)) if references is None else references

    def scored(originals: int, augmented: int) -> int:
        return scored_per_job(summary, int(epochs), originals + augmented, kind, references)

    sized = TrainPlan(device=dev, per_s=speed.train_per_s, measured_from=speed.source, originals=available,
                      originals_available=available, augmented=0, augmented_available=augmented_available,
                      evaluated=scored(available, augmented_available), epochs=int(epochs), max_train=0,
                      eval_per_s=speed.eval_per_s)  # fmt: skip
    # Share 0: the chosen sets' own proportion, so a cap on the originals cuts the augmented rows alike.
    share = augmented_share if augmented_share > 0 else (augmented_available / max(1, available))
    if dev == "cpu" and budget_s:
        # Budget = rows * epochs / per_s + scored(rows) / eval_per_s, rows = n (1 + share); solve for n.
        fixed = scored(0, 0) / speed.eval_per_s
        per_original = (1 + share) * (epochs / speed.train_per_s + (1 / speed.eval_per_s if kind == "similarity" else 0))
        sized.originals = min(available, max(MIN_CAP, int((budget_s - fixed) / per_original)))
    sized.augmented = min(augmented_available, round(share * sized.originals))
    sized.evaluated = scored(sized.originals, sized.augmented)
    sized.max_train = 0 if sized.originals >= available else sized.originals
    # The worker reads share 0 as every augmented sample: a capped job must carry the share itself.
    sized.augmented_share = float(augmented_share) if augmented_share > 0 or not sized.max_train else share
    sized.budget_s = budget_s
    return sized


def parse_seeds(text: str) -> list[int]:
    """'0, 1, 2' or '0 1 2' -> [0, 1, 2]; BadInput in the page's words otherwise."""
    words = text.replace(",", " ").split()
    if not words or not all(w.isdigit() for w in words):
        raise BadInput(f"Sweep seeds: write whole numbers separated by commas, e.g. 0, 1, 2 (got {text!r})")
    return sorted({int(w) for w in words})


def sweep_settings(chosen: list[int], combined: bool) -> list[list[int]]:
    """The settings of a sweep: none, each chosen augmented set alone, and all of them together when asked."""
    return [[]] + [[int(s)] for s in chosen] + ([[int(s) for s in chosen]] if combined and len(chosen) > 1 else [])


def form_defaults(dev: str | None = None):
    """The Train form's starting values: on a CPU one epoch (the cap then does the sizing), on a GPU the config's own."""
    from workbench.train.config import TrainConfig

    defaults = TrainConfig()
    if (dev or device()) == "cpu":
        defaults.epochs = 1
    return defaults
