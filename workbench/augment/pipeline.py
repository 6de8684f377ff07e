"""Run a Recipe over a sample set's train split: generate, filter, score, store with provenance.

    from workbench.augment.pipeline import run_recipe
    from workbench.augment.recipes import preset
    result = run_recipe(sample_set_id=1, recipe=preset("typo robustness"), on_progress=print)
    result.as_dict()   # augment_run_id, candidates, accepted, dropped (reason -> count), ...

Each (augmenter, round) pass hands every train sample its own generator, `SampleRandom(seed +
round, augmenter)(sample_id)`, so the same set + recipe + seed gives identical candidates
however the samples are chunked or spread over processes. Augmenters whose class sets
`runs_in_pool` (text noise, dictionary synonyms) run in a process pool over chunks, together with the per-row
filters and the string score; model-based and domain augmenters run in this process, in
batches, with the catalog and logs as context. Duplicates are removed across all chunks, the
encoder scores when the recipe asks, or the teacher (workbench/train/teacher.py: the zero-shot
model fitted on the train split, or a finished job's model) scores every candidate pair and keeps
those that agree with their label, and everything is stored in one transaction.
"""
from __future__ import annotations

import json
import multiprocessing
import os
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from workbench.augment import AugmentContext, Sample, SampleRandom, edits_source, get
from workbench.augment.filters import (EvalIndex, FilterConfig, changed_text, check_rows, repeat_reasons,
                                       string_similarity)
from workbench.augment.recipes import Recipe, build_params
from workbench.errors import MissingData
from workbench.samples import plain_text

Progress = Callable[[int, int, str], None]

COLUMNS = ["sample_id", "augmenter", "params", "seed", "field", "original", "query", "product_id", "product_text",
           "label", "score"]


@dataclass
class AugmentResult:
    augment_run_id: int
    candidates: int  # stored (kept after the filters)
    generated: int  # produced by the augmenters, before the filters
    dropped: dict[str, int] = field(default_factory=dict)
    accepted: int = 0
    augmented_set_id: int | None = None

    def as_dict(self) -> dict:
        out = {"augment_run_id": self.augment_run_id, "candidates": self.candidates, "generated": self.generated,
               "accepted": self.accepted, "dropped": self.dropped}
        if self.augmented_set_id is not None:
            out["augmented_set_id"] = self.augmented_set_id
        return out


# --- one chunk: augment, per-row filters, string score -------------------------------------

_STATE: dict = {}  # per process: the train samples, the filter settings, the eval index, augmenters


def _init_worker(samples: list[Sample], steps: list, filters: FilterConfig, index: EvalIndex | None,
                 context: AugmentContext | None) -> None:
    _STATE.clear()
    _STATE.update(samples=samples, steps=steps, filters=filters, index=index, context=context, augmenters={})


def _run_task(task: tuple[int, int, int, int, int]) -> tuple[pd.DataFrame, Counter]:
    """Run step `step` with `seed` over train samples [start, end); keep rows that pass the row checks."""
    step, seed, start, end, _ = task
    name, params = _STATE["steps"][step]
    augmenters = _STATE["augmenters"]
    if step not in augmenters:  # built once per process: model-based ones load their model here
        augmenters[step] = get(name)(params=params, context=_STATE["context"])
    produced = augmenters[step].augment(_STATE["samples"][start:end], SampleRandom(seed, name))
    return filter_rows(candidates_frame(produced), _STATE["filters"], _STATE["index"])


def candidates_frame(produced: list) -> pd.DataFrame:
    """Candidate objects -> one column per field, params as JSON (dumped once per distinct dict)."""
    dumped: dict = {}
    params = []
    for c in produced:
        try:
            key = tuple(c.params.items())  # augmenters hand each candidate its own, equal, dict
            hash(key)
        except TypeError:  # a list or dict among the values: no cache for this one
            key = id(c.params)
        if key not in dumped:
            dumped[key] = json.dumps(c.params, sort_keys=True, ensure_ascii=False, default=str)
        params.append(dumped[key])
    data = {col: [getattr(c, col) for c in produced] for col in COLUMNS if col != "params"}
    data["params"] = params
    frame = pd.DataFrame(data, columns=COLUMNS)
    # Fixed dtypes, so that an empty chunk does not turn the ids of the others into floats on concat.
    return frame.astype({"sample_id": "int64", "seed": "int64", "label": "float64"}).assign(
        score=pd.to_numeric(frame["score"], errors="coerce").astype("float64"))


def filter_rows(frame: pd.DataFrame, filters: FilterConfig, index: EvalIndex | None) -> tuple[pd.DataFrame, Counter]:
    """Per-row reasons, then the string score on what is left; returns kept rows (with their
    dedupe key) and drop counts."""
    reasons, keys = check_rows(frame, filters, index)
    dropped = Counter(reasons[reasons != ""])
    kept = frame.assign(key=keys)[reasons == ""]
    if filters.scorer == "string":
        kept = score_strings(kept)
        low = kept["score"] < filters.min_score  # NaN (unscored) never counts as low
        dropped["low_score"] += int(low.sum())
        kept = kept[~low]
    return kept.reset_index(drop=True), dropped


def _edits(frame: pd.DataFrame) -> np.ndarray:
    """Rows whose score is the similarity of the changed text to its source, not yet scored."""
    edits = frame["augmenter"].astype(str).map(edits_source).astype(bool)
    return (frame["field"].isin(["query", "product_text"]) & edits & frame["score"].isna()).to_numpy()


def score_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Label-preservation score by string similarity (rapidfuzz), for edits not scored yet."""
    return _score_edits(frame, string_similarity)


def score_encoder(frame: pd.DataFrame, model: str = "", on_progress: Progress | None = None) -> pd.DataFrame:
    """Label-preservation score under the sentence encoder (each distinct text encoded once)."""
    from workbench.augment.encoder import get_encoder

    def similarity(original: list[str], changed: list[str]):
        encoder = get_encoder(model or None)
        encoder.encode(list(dict.fromkeys(original + changed)), on_progress=on_progress)
        return encoder.similarity(original, changed)

    return _score_edits(frame, similarity)


def _score_edits(frame: pd.DataFrame, similarity: Callable[[list[str], list[str]], np.ndarray]) -> pd.DataFrame:
    """`score` = similarity(source text, changed text) for each edit not scored yet; others as they are."""
    mask = _edits(frame)
    if mask.any():
        frame = frame.copy()
        part = frame[mask]
        frame.loc[mask, "score"] = similarity(part["original"].astype(str).tolist(), changed_text(part).tolist())
    return frame


def teacher_check(frame: pd.DataFrame, teacher, margin: float) -> tuple[pd.DataFrame, int]:
    """Score every candidate pair with the teacher (`score` = its agreement with the candidate's
    label, workbench/train/teacher.py) and drop those more than `margin` of the label range away;
    returns (kept, dropped count). New pairs (pseudo-queries, negatives) are scored like edits."""
    if frame.empty:
        return frame, 0
    scores = teacher.agreement(frame["query"].astype(str).tolist(), frame["product_text"].astype(str).tolist(),
                               frame["label"].astype(float).to_numpy())
    frame = frame.assign(score=scores.astype("float64"))
    low = frame["score"] < 1.0 - margin - 1e-9
    return frame[~low].reset_index(drop=True), int(low.sum())


def load_teacher(filters: FilterConfig, samples: pd.DataFrame, job_dir: str | None = None):
    """The recipe's teacher: a finished job's model (`job_dir`, from filters.teacher_job), else the
    zero-shot model fitted on `samples`' train split."""
    from workbench.train.teacher import Teacher

    if filters.teacher_job:
        if not job_dir:
            raise MissingData(f"teacher job {filters.teacher_job}: its folder is unknown; pick a finished training job")
        return Teacher.from_job(job_dir, filters.teacher_job)
    return Teacher.zero_shot(samples, filters.teacher_model)


# --- the whole recipe ----------------------------------------------------------------------


def source_samples(samples: pd.DataFrame, recipe: Recipe) -> list[Sample]:
    """The train split (never val or test), optionally a seeded subset, as Sample objects."""
    train = samples[samples["split"] == "train"]
    if recipe.max_source_samples and len(train) > recipe.max_source_samples:
        chosen = np.random.default_rng(recipe.seed).choice(len(train), recipe.max_source_samples, replace=False)
        train = train.iloc[np.sort(chosen)]
    category = train["category"] if "category" in train else pd.Series(None, index=train.index)
    return [
        Sample(int(i), str(q), str(p), str(t), float(label), None if pd.isna(c) else str(c))
        for i, q, p, t, label, c in zip(train["sample_id"], train["query"], train["product_id"], train["product_text"],
                                        train["label"], category)
    ]


def step_params(step, per_sample: int, where: str):
    """(Params, rounds): an augmenter with a `per_sample` parameter makes the recipe's count itself
    from one generator per sample; any other runs `per_sample` rounds, round r with seed + r."""
    params = build_params(step, where)
    if hasattr(params, "per_sample"):
        if "per_sample" not in step.params:
            params.per_sample = per_sample
        return params, 1
    return params, per_sample


def generate_candidates(samples: pd.DataFrame, recipe: Recipe, context: AugmentContext | None = None,
                        on_progress: Progress | None = None, workers: int | None = None,
                        chunk_size: int | None = None, teacher=None) -> tuple[pd.DataFrame, dict[str, int], int]:
    """(kept candidates, dropped reason -> count, generated) for `recipe` over `samples`' train split.
    With the scorer 'teacher', `teacher` scores (default: the zero-shot teacher fitted on `samples`)."""
    report = on_progress or (lambda done, total, message: None)
    sources = source_samples(samples, recipe)
    if not sources:
        raise MissingData("the sample set has no train samples to augment")
    steps, rounds = [], []
    for i, step in enumerate(recipe.steps):
        params, n_rounds = step_params(step, recipe.per_sample, f"recipe, steps[{i}]")
        steps.append((step.augmenter, params))
        rounds.append(n_rounds)
    index = EvalIndex.build(samples)  # also the known samples, for dedupe: built even without the guard
    workers = workers or min(2, os.cpu_count() or 1)
    size = chunk_size or max(200, min(5000, len(sources) // (workers * 4) or 1))
    tasks = [(i, recipe.seed + r, start, min(start + size, len(sources)), r)
             for i in range(len(steps)) for r in range(rounds[i]) for start in range(0, len(sources), size)]
    in_pool = [get(name).runs_in_pool for name, _ in steps]
    pooled = [t for t in tasks if in_pool[t[0]]]
    local = [t for t in tasks if not in_pool[t[0]]]
    results: dict[tuple, tuple[pd.DataFrame, Counter]] = {}
    total = len(tasks)
    if pooled and workers > 1 and len(pooled) > 1:
        # fork: the workers inherit the imported augmenters and the samples instead of re-importing.
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method), initializer=_init_worker,
                                 initargs=(sources, steps, recipe.filters, index, None)) as pool:
            for task, result in zip(pooled, pool.map(_run_task, pooled)):
                results[task] = result
                report(len(results), total, f"{steps[task[0]][0]}: {task[3]:,} of {len(sources):,} samples")
        pooled = []
    _init_worker(sources, steps, recipe.filters, index, context)
    for task in pooled + local:
        results[task] = _run_task(task)
        report(len(results), total, f"{steps[task[0]][0]}: {task[3]:,} of {len(sources):,} samples")
    frames = [results[t][0] for t in tasks]  # task order, so the output never depends on the workers
    dropped: Counter = sum((results[t][1] for t in tasks), Counter())
    generated = sum(len(f) for f in frames) + sum(dropped.values())
    frames = [f for f in frames if len(f)] or frames[:1]  # empty chunks would change the column dtypes
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[*COLUMNS, "key"])

    repeats = repeat_reasons(frame, frame.pop("key"))
    dropped.update(Counter(repeats[repeats != ""]))
    frame = frame[repeats == ""].reset_index(drop=True)
    if recipe.filters.scorer == "encoder":
        frame = score_encoder(frame, recipe.filters.encoder_model, on_progress)
        low = frame["score"] < recipe.filters.min_score
        dropped["low_score"] += int(low.sum())
        frame = frame[~low].reset_index(drop=True)
    elif recipe.filters.scorer == "teacher" and len(frame):
        report(0, 1, f"teacher: scoring {len(frame):,} candidate pairs")
        frame, dropped["teacher_disagrees"] = teacher_check(frame, teacher or load_teacher(recipe.filters, samples),
                                                            recipe.filters.teacher_margin)
    return frame, {k: int(v) for k, v in sorted(dropped.items()) if v}, int(generated)


def load_context(conn, sample_set: dict, samples: pd.DataFrame, settings: dict | None) -> AugmentContext:
    """The catalog, the logs and the whole sample set, for augmenters that look beyond one sample."""
    from storage import datasets

    dataset = datasets.get_dataset(conn, sample_set["dataset_id"])
    catalog_id = dataset.get("catalog_dataset_id") or dataset["id"]
    products = datasets.read_products(conn, catalog_id)
    if dataset["kind"] == "pairs" and catalog_id != dataset["id"]:
        products = pd.concat([datasets.read_products(conn, dataset["id"]), products], ignore_index=True)
    events = datasets.read_events(conn, dataset["id"]) if dataset["kind"] == "logs" else None
    if "title" in products:  # as the samples read it: no "&amp;" in a pseudo-query
        products["title"] = plain_text(products["title"])
    return AugmentContext(products=products, events=events, samples=samples, settings=dict(settings or {}))


def teacher_job_dir(conn, job_id: int, sample_set_id: int) -> str | None:
    """The folder of the finished job `job_id` (None for 0, the zero-shot teacher); BadInput when it
    is not finished or belongs to another sample set (its labels and splits differ)."""
    from storage import jobs as stored_jobs
    from workbench.errors import BadInput

    if not job_id:
        return None
    job = stored_jobs.get_job(conn, job_id)
    if job["status"] != "done" or not job.get("job_dir"):
        raise BadInput(f"teacher job {job_id} is {job['status']}; pick a finished training job")
    if int(job["sample_set_id"]) != int(sample_set_id):
        raise BadInput(f"teacher job {job_id} trained on sample set {job['sample_set_id']}, not {sample_set_id}; pick one of this sample set")
    return str(job["job_dir"])


def run_recipe(sample_set_id: int, recipe: Recipe, on_progress: Progress | None = None, url: str | None = None,
               accept_above: float | None = None, set_name: str | None = None, workers: int | None = None,
               settings: dict | None = None, accept_all: bool = False) -> AugmentResult:
    """Generate, filter and store candidates for a sample set; optionally accept those scoring at
    least `accept_above` (unscored ones never match: with the teacher scorer every candidate is
    scored, new pairs included) or all of them."""
    from storage import candidates as stored
    from storage import samples as stored_samples
    from storage.db import begin

    with begin(url) as conn:
        sample_set = stored_samples.get_sample_set(conn, sample_set_id)
        samples = stored_samples.read_samples(conn, sample_set_id)
        needs_context = any(not get(step.augmenter).runs_in_pool for step in recipe.steps)
        context = load_context(conn, sample_set, samples, settings) if needs_context else None
        job_dir = teacher_job_dir(conn, recipe.filters.teacher_job, sample_set_id) if recipe.filters.scorer == "teacher" else None
    teacher = load_teacher(recipe.filters, samples, job_dir) if recipe.filters.scorer == "teacher" else None
    frame, dropped, generated = generate_candidates(samples, recipe, context, on_progress, workers, teacher=teacher)
    if on_progress:
        on_progress(1, 1, f"storing {len(frame):,} candidates")
    with begin(url) as conn:
        run_id = stored.create_augment_run(conn, sample_set_id, recipe.to_dict(), recipe.seed, len(frame), dropped)
        stored.insert_candidates(conn, run_id, frame)
        result = AugmentResult(run_id, len(frame), generated, dropped)
        if accept_above is not None or accept_all:
            where = stored.CandidateFilter(min_score=None if accept_all else accept_above)
            what = "accept all" if accept_all else f"accept score >= {accept_above:g}"
            _, result.accepted = stored.set_candidate_status(conn, run_id, where, "accepted", what)
            if result.accepted:
                name = set_name or f"{recipe.name} (augment run {run_id})"
                result.augmented_set_id = stored.save_augmented_set(conn, run_id, name)
    return result
