"""Compare augmentation settings: aggregate finished jobs over seeds and test each against a baseline.

Pure functions over DataFrames (tests pin their numbers), and `load_comparison`, which reads the
database and the job folders and calls them. Used by `pages/compare.py` and `python -m workbench compare`.

- A setting (jobs.setting: "none", or the augmented sets joined by " + ") is summarised by the
  mean over its seeds and a 95% percentile bootstrap interval over seeds, seeded. With 3 seeds
  that interval is [min, max]: each extreme is drawn with probability 1/27 > 2.5%.
- Each setting is tested against the pinned baseline with a paired bootstrap over test queries:
  every replicate draws the test queries with replacement, recomputes the metric of every run on
  the same draw from its predictions.parquet, averages over seeds and takes setting - baseline.
  The delta's interval is the 2.5..97.5 percentile of those differences; significant when it
  excludes 0. Without predictions (or for cost figures) the test falls back to resampling seeds.
- References: what the user had before training, written by every job's worker on the same test
  split (`references/zero_shot.parquet`, `references/lexical.parquet`): the untrained base model
  (cosine, scale and bias fitted on train) and BM25. Each is scored with the same metric and slice,
  with a percentile bootstrap interval over test queries; every setting gets its delta against
  zero-shot by the same paired bootstrap. A setting whose interval does not lie above zero-shot
  has not learned anything the base model did not already know.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.errors import BadInput, MissingData
from workbench.train.metrics import concordance, ndcg_at_k, reciprocal_rank

BASELINE = "none"  # the setting trained on the train split alone
METRICS = ["accuracy", "f1", "roc_auc", "ndcg@10", "mrr"]  # computed from predictions too
REFERENCES = {"zero_shot": "zero-shot", "lexical": "lexical (BM25)"}  # file name -> what the user reads
COSTS = ["train_time_s", "samples_seen", "best_epoch"]
SLICES = ["all", "cold_start", "tail", "typo"]  # all: every clean test sample; typo: misspelled queries


def metric_key(metric: str, slice_: str = "all") -> str:
    """The key in jobs.metrics: 'f1' for the whole test split, 'typo/f1' for a slice."""
    if slice_ not in SLICES:
        raise BadInput(f"unknown slice {slice_!r}; choose one of {', '.join(SLICES)}")
    return metric if slice_ == "all" or metric in COSTS else f"{slice_}/{metric}"


def bootstrap_ci(values, *, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of `values` (NaN dropped); one value has no interval
    (NaN, NaN): resampling one seed gives it back every time, a zero-width interval that claims too much."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return float("nan"), float("nan")
    if len(v) == 1:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), size=(n_boot, len(v)))].mean(axis=1)
    alpha = (1 - level) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def runs_frame(jobs: pd.DataFrame) -> pd.DataFrame:
    """One row per finished job: job_id, setting, seed and every figure of jobs.metrics as a column."""
    flat = pd.DataFrame(list(jobs["metrics"]), index=jobs.index) if len(jobs) else pd.DataFrame(index=jobs.index)
    runs = pd.concat([jobs[["id", "setting", "seed"]].rename(columns={"id": "job_id"}), flat], axis=1)
    runs["setting"] = setting_labels(jobs)
    return runs.reset_index(drop=True)


def setting_labels(jobs: pd.DataFrame) -> list[str]:
    """Each job's setting, identified by its augmented set ids and shown by name. Set names are not
    unique: when jobs with different sets share a name (two sets both named "typos"), each gets
    its ids too ("typos (sets 3)", "typos (sets 5)") instead of merging into one setting."""
    names = jobs["setting"].fillna(BASELINE).astype(str).tolist()
    if "augmented_set_ids" not in jobs:
        return names
    keys = [tuple(sorted(int(i) for i in (ids or []))) for ids in jobs["augmented_set_ids"]]
    sets_named: dict[str, set] = {}
    for name, key in zip(names, keys):
        sets_named.setdefault(name, set()).add(key)
    return [name if len(sets_named[name]) == 1 else f"{name} (sets {', '.join(map(str, key)) or 'none'})"
            for name, key in zip(names, keys)]


def aggregate(runs: pd.DataFrame, key: str, *, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Per setting (first-seen order): n_seeds, mean, std, ci_low, ci_high of `key`, and mean cost."""
    rows = []
    for name, group in runs.groupby("setting", sort=False):
        values = group[key].astype(float).dropna() if key in group else pd.Series(dtype=float)
        low, high = bootstrap_ci(values, n_boot=n_boot, seed=seed)
        rows.append({
            "name": name, "n_seeds": len(values), "mean": float(values.mean()) if len(values) else float("nan"),
            "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0, "ci_low": low, "ci_high": high,
            **{c: float(group[c].mean()) if c in group else float("nan") for c in COSTS[:2]},
            "job_ids": [int(j) for j in group["job_id"]], "kept_epoch_0": kept_epoch_0(group),
        })  # fmt: skip
    return pd.DataFrame(rows)


def kept_epoch_0(group: pd.DataFrame) -> bool:
    """Every job of the group kept epoch 0 (its metrics' best_epoch, written by workbench/train/loop.py):
    training never beat the fitted zero-shot head on val, so that head is the job's model."""
    epochs = group["best_epoch"].dropna() if "best_epoch" in group else pd.Series(dtype=float)
    return bool(len(epochs) == len(group) and len(epochs) and (epochs.astype(float) == 0).all())


# --- metrics from predictions, for any weighting of the test queries ------------------------


def slice_rows(predictions: pd.DataFrame, slice_: str) -> pd.DataFrame:
    """The rows of one slice, with `query_key`: the clean query, also for its misspelled variant."""
    clean = predictions[predictions["variant"].fillna("clean") == "clean"]
    key_of = dict(zip(clean["sample_id"], clean["query"]))
    rows = predictions[predictions["variant"] == "typo"] if slice_ == "typo" else clean
    if slice_ == "cold_start":
        rows = rows[rows["cold_start"].fillna(False).astype(bool)]
    elif slice_ == "tail":
        rows = rows[rows["tail_query"].fillna(False).astype(bool)]
    rows = rows.copy()
    rows.attrs["lowest_label"] = float(predictions["label"].min())  # the lowest class has no gain
    rows["query_key"] = [key_of.get(s, q) for s, q in zip(rows["sample_id"], rows["query"])]
    return rows


def _per_query(rows: pd.DataFrame, metric: str) -> pd.Series:
    """nDCG@10 or reciprocal rank per query (workbench/train/metrics.py's own functions); the grade
    is the label above the lowest class; queries with nothing relevant are left out."""
    lowest = rows.attrs.get("lowest_label", rows["label"].min())
    out = {}
    for key, group in rows.groupby("query_key", sort=False):
        grades, scores = group["label"].to_numpy(float) - lowest, group["score"].to_numpy(float)
        value = reciprocal_rank(grades > 0, scores) if metric == "mrr" else ndcg_at_k(grades, scores)
        if value is not None:
            out[key] = value
    return pd.Series(out, dtype=float)


def metric_replicates(rows: pd.DataFrame, metric: str, keys: pd.Index, weights: np.ndarray) -> np.ndarray:
    """The metric of one run under each row of `weights` (replicates x len(keys) query counts)."""
    if metric in ("ndcg@10", "mrr"):
        per_query = _per_query(rows, metric)
        w = weights[:, keys.get_indexer(per_query.index)]
        return (w @ per_query.to_numpy()) / w.sum(axis=1)
    w = weights[:, keys.get_indexer(rows["query_key"])]
    y, pred = rows["label"].to_numpy(float), rows["pred"].to_numpy(float)
    if metric == "accuracy":
        return (w @ (y == pred)) / w.sum(axis=1)
    if metric == "f1":  # macro over the classes present in the draw, as scikit-learn does
        per_class = []
        for c in np.union1d(y, pred):
            tp, fp, fn = w @ ((y == c) & (pred == c)), w @ ((y != c) & (pred == c)), w @ ((y == c) & (pred != c))
            with np.errstate(invalid="ignore", divide="ignore"):
                per_class.append(np.where(tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan))
        return np.nanmean(np.vstack(per_class), axis=0)
    if metric == "roc_auc":
        return concordance(y, rows["prob"].fillna(rows["score"]).to_numpy(float), w)
    raise BadInput(f"metric {metric!r} cannot be computed from predictions; choose one of {', '.join(METRICS)}")


def query_weights(n_queries: int, n_boot: int, seed: int) -> np.ndarray:
    """Row 0: every query once (the point estimate); rows 1..n_boot: queries drawn with replacement."""
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n_queries, np.full(n_queries, 1 / n_queries), size=n_boot)
    return np.vstack([np.ones(n_queries), draws])


def paired_bootstrap(setting: list[pd.DataFrame], baseline: list[pd.DataFrame], metric: str, slice_: str = "all",
                     *, n_boot: int = 2000, seed: int = 0) -> dict:  # fmt: skip
    """Delta (setting - baseline, each averaged over its runs) and its interval, resampling test queries."""
    sides = [[slice_rows(p, slice_) for p in runs] for runs in (setting, baseline)]
    keys = pd.Index(sorted({k for runs in sides for rows in runs for k in rows["query_key"]}))
    if len(keys) == 0:
        return {"delta": float("nan"), "low": float("nan"), "high": float("nan"), "p_value": float("nan"), "n_queries": 0}
    weights = query_weights(len(keys), n_boot, seed)
    s, b = (np.nanmean([metric_replicates(r, metric, keys, weights) for r in runs], axis=0) for runs in sides)
    diff = np.round(s - b, 12)  # the same runs summed in another order must give exactly 0
    point, draws = float(diff[0]), diff[1:][~np.isnan(diff[1:])]
    low, high = (np.quantile(draws, [0.025, 0.975]) if len(draws) else (np.nan, np.nan))
    p = min(1.0, 2 * min(np.mean(draws <= 0), np.mean(draws >= 0))) if len(draws) else float("nan")
    return {"delta": point, "low": float(low), "high": float(high), "p_value": float(p), "n_queries": len(keys)}


def seed_bootstrap(setting, baseline, *, n_boot: int = 2000, seed: int = 0) -> dict:
    """Delta of means and its interval, resampling each side's seeds independently (no predictions)."""
    a, b = (np.asarray(v, float)[~np.isnan(np.asarray(v, float))] for v in (setting, baseline))
    if not len(a) or not len(b):
        return {"delta": float("nan"), "low": float("nan"), "high": float("nan"), "p_value": float("nan")}
    rng = np.random.default_rng(seed)
    draws = a[rng.integers(0, len(a), (n_boot, len(a)))].mean(1) - b[rng.integers(0, len(b), (n_boot, len(b)))].mean(1)
    p = min(1.0, 2 * min(np.mean(draws <= 0), np.mean(draws >= 0)))
    low, high = np.quantile(draws, [0.025, 0.975])
    return {"delta": float(a.mean() - b.mean()), "low": float(low), "high": float(high), "p_value": float(p)}


# --- the comparison ----------------------------------------------------------------------------


@dataclass
class ReferenceResult:
    """A reference's figure on the test split (or a slice) with a 95% bootstrap interval over queries."""

    name: str  # 'zero-shot' | 'lexical (BM25)'
    metric: str
    value: float
    ci_low: float
    ci_high: float
    n_queries: int


def reference_result(name: str, predictions: pd.DataFrame, metric: str, slice_: str = "all",
                     *, n_boot: int = 2000, seed: int = 0) -> ReferenceResult:  # fmt: skip
    rows = slice_rows(predictions, slice_)
    keys = pd.Index(sorted(set(rows["query_key"])))
    if len(keys) == 0:
        return ReferenceResult(name, metric_key(metric, slice_), float("nan"), float("nan"), float("nan"), 0)
    replicates = metric_replicates(rows, metric, keys, query_weights(len(keys), n_boot, seed))
    draws = replicates[1:][~np.isnan(replicates[1:])]
    low, high = np.quantile(draws, [0.025, 0.975]) if len(draws) else (np.nan, np.nan)
    return ReferenceResult(name, metric_key(metric, slice_), float(replicates[0]), float(low), float(high), len(keys))


@dataclass
class SettingResult:
    """One augmentation setting's figure, its interval over seeds and its test against the baseline."""

    name: str
    metric: str
    mean: float
    ci_low: float
    ci_high: float
    n_seeds: int
    delta: float  # mean - the baseline's mean
    delta_ci_low: float
    delta_ci_high: float
    p_value: float
    significant: bool  # the delta's 95% interval excludes 0
    test: str  # 'baseline' | 'paired bootstrap over N test queries' | 'bootstrap over seeds'
    train_time_s: float
    samples_seen: float
    job_ids: list[int] = field(default_factory=list)
    # Against the zero-shot reference (same paired bootstrap); NaN when there is no reference.
    delta_vs_zero_shot: float = float("nan")
    vs_zero_shot_ci_low: float = float("nan")
    vs_zero_shot_ci_high: float = float("nan")
    significant_vs_zero_shot: bool = False  # the interval excludes 0
    beats_zero_shot: bool = False  # significantly above zero-shot: the only trained result worth reading
    # Every job kept epoch 0: the model is the fitted zero-shot head (the untrained encoder, the head over
    # cosine and lexical signals fitted on the training samples, augmented ones included): the encoder did not learn.
    kept_epoch_0: bool = False


@dataclass
class Comparison:
    baseline: str
    metric: str
    slice: str
    settings: list[SettingResult]
    runs: pd.DataFrame  # one row per job with every figure of jobs.metrics
    slices: pd.DataFrame  # setting, slice, mean, ci_low, ci_high, n_seeds
    curves: pd.DataFrame = field(default_factory=pd.DataFrame)  # job_id, run, setting, split, name, step, epoch, value
    experiment_id: int | None = None
    references: list[ReferenceResult] = field(default_factory=list)
    repeats: list[int] = field(default_factory=list)  # jobs left out: a newer job has their setting and seed
    majority_share: float | None = None  # accuracy: the share of the test slice's most common label (always answering it)

    def table(self) -> pd.DataFrame:
        """The settings as a table (what the page shows and the CSV holds)."""
        return pd.DataFrame([asdict(s) for s in self.settings]).drop(columns=["job_ids"])

    def reference_table(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(r) for r in self.references], columns=["name", "metric", "value", "ci_low", "ci_high", "n_queries"])

    def as_dict(self) -> dict:
        def clean(value):
            return None if isinstance(value, float) and np.isnan(value) else value

        settings = [{k: clean(v) for k, v in asdict(s).items()} for s in self.settings]
        references = [{k: clean(v) for k, v in asdict(r).items()} for r in self.references]
        return {"experiment_id": self.experiment_id, "baseline": self.baseline, "metric": self.metric,
                "slice": self.slice, "settings": settings, "references": references,
                "majority_share": self.majority_share}  # fmt: skip


def slice_table(runs: pd.DataFrame, metric: str, *, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Per setting and slice: the metric's mean and interval over seeds (slices with no value left out)."""
    frames = []
    for slice_ in SLICES:
        key = metric_key(metric, slice_)
        if key in runs and runs[key].notna().any():
            frames.append(aggregate(runs, key, n_boot=n_boot, seed=seed).assign(slice=slice_))
    if not frames or metric in COSTS:  # costs have no slices
        return pd.DataFrame(columns=["setting", "slice", "mean", "ci_low", "ci_high", "n_seeds"])
    out = pd.concat(frames).rename(columns={"name": "setting"})
    return out[["setting", "slice", "mean", "ci_low", "ci_high", "n_seeds"]].reset_index(drop=True)


def learning_curves(metric_rows: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """Train loss per step and validation metrics per epoch, labelled by run ('setting · seed N · #job')."""
    curves = metric_rows[metric_rows["split"].isin(["train", "val"])]
    labels = runs.assign(run=[f"{s} · seed {d} · #{j}" for s, d, j in zip(runs["setting"], runs["seed"], runs["job_id"])])
    return curves.merge(labels[["job_id", "run", "setting"]], on="job_id")


def with_recomputed(runs: pd.DataFrame, predictions: dict[int, pd.DataFrame | None], metric: str, slice_: str) -> pd.DataFrame:
    """runs, with the metric computed from predictions where a job did not store it (a job trained
    before graded labels had ROC-AUC, say), so no finished job drops out of a comparison."""
    key = metric_key(metric, slice_)
    if metric not in METRICS:
        return runs
    missing = runs[key].isna() if key in runs else pd.Series(True, index=runs.index)
    todo = [(i, predictions.get(j)) for i, j in zip(runs.index[missing], runs.loc[missing, "job_id"])]
    todo = [(i, p) for i, p in todo if p is not None]
    if not todo:
        return runs
    runs = runs.copy()
    for i, frame in todo:
        rows = slice_rows(frame, slice_)
        keys = pd.Index(rows["query_key"].unique())
        runs.loc[i, key] = float(metric_replicates(rows, metric, keys, np.ones((1, len(keys))))[0]) if len(keys) else np.nan
    return runs


def compare(runs: pd.DataFrame, predictions: dict[int, pd.DataFrame | None], *, metric: str = "accuracy",
            slice_: str = "all", baseline: str = BASELINE, n_boot: int = 2000, seed: int = 0,
            references: dict[str, pd.DataFrame] | None = None) -> Comparison:  # fmt: skip
    """Every setting against `baseline` (and against zero-shot) on `metric` in `slice_`.
    predictions: job_id -> frame or None; references: REFERENCES name -> predictions frame."""
    key = metric_key(metric, slice_)
    runs = with_recomputed(runs, predictions, metric, slice_)
    if key not in runs or runs[key].isna().all():
        known = sorted(c for c in runs.columns if c not in ("job_id", "setting", "seed") and "/" not in c)
        raise BadInput(f"no finished job has the metric {key!r}; choose one of {', '.join(known)}")
    table = aggregate(runs, key, n_boot=n_boot, seed=seed)
    if baseline not in set(table["name"]):
        raise BadInput(f"baseline setting {baseline!r} has no finished job; choose one of {', '.join(table['name'])}")
    base = table.set_index("name").loc[baseline]
    results = []
    for row in table.itertuples(index=False):
        runs_of = runs[runs["setting"] == row.name]
        if row.name == baseline:
            test = {"delta": 0.0, "low": 0.0, "high": 0.0, "p_value": 1.0}
            how = "baseline"
        else:
            preds = [[predictions.get(j) for j in ids] for ids in (row.job_ids, base["job_ids"])]
            if metric in METRICS and all(p is not None for side in preds for p in side):
                test = paired_bootstrap(preds[0], preds[1], metric, slice_, n_boot=n_boot, seed=seed)
                how = f"paired bootstrap over {test['n_queries']} test queries"
            else:
                baseline_values = runs.loc[runs["setting"] == baseline, key]
                test = seed_bootstrap(runs_of[key], baseline_values, n_boot=n_boot, seed=seed)
                how = "bootstrap over seeds"
        results.append(SettingResult(
            name=row.name, metric=key, mean=row.mean, ci_low=row.ci_low, ci_high=row.ci_high, n_seeds=row.n_seeds,
            delta=float(row.mean - base["mean"]), delta_ci_low=test["low"], delta_ci_high=test["high"],
            p_value=test["p_value"], significant=bool(test["low"] > 0 or test["high"] < 0), test=how,
            train_time_s=row.train_time_s, samples_seen=row.samples_seen, job_ids=row.job_ids, kept_epoch_0=row.kept_epoch_0,
        ))  # fmt: skip
        own = [predictions.get(j) for j in row.job_ids]
        zero_shot = (references or {}).get("zero_shot")
        if metric in METRICS and zero_shot is not None and all(p is not None for p in own):
            vs = paired_bootstrap(own, [zero_shot], metric, slice_, n_boot=n_boot, seed=seed)
            results[-1].delta_vs_zero_shot, results[-1].vs_zero_shot_ci_low, results[-1].vs_zero_shot_ci_high = vs["delta"], vs["low"], vs["high"]
            results[-1].significant_vs_zero_shot = bool(vs["low"] > 0 or vs["high"] < 0)
            results[-1].beats_zero_shot = bool(vs["low"] > 0)
    slices = slice_table(runs, metric, n_boot=n_boot, seed=seed)
    refs = [reference_result(label, references[name], metric, slice_, n_boot=n_boot, seed=seed)
            for name, label in REFERENCES.items() if metric in METRICS and name in (references or {})]  # fmt: skip
    return Comparison(baseline=baseline, metric=metric, slice=slice_, settings=results, runs=runs, slices=slices, references=refs,
                      majority_share=majority_share(predictions, slice_) if metric == "accuracy" else None)


def majority_share(predictions: dict[int, pd.DataFrame | None], slice_: str = "all") -> float | None:
    """The accuracy of always answering the test slice's most common label (None without predictions)."""
    rows = next((slice_rows(p, slice_) for p in predictions.values() if p is not None), None)
    return None if rows is None or rows.empty else float(rows["label"].value_counts(normalize=True).max())


# --- reading jobs from the database and their folders --------------------------------------------


def job_folder(job_id: int, job_dir: str | None) -> Path:
    """The job's folder: jobs.job_dir when it exists, else data/jobs/<id>/ under the data folder."""
    from workbench.train.folder import jobs_dir

    if isinstance(job_dir, str) and job_dir and Path(job_dir).is_dir():
        return Path(job_dir)
    return jobs_dir() / str(job_id)


def read_predictions(folder: Path) -> pd.DataFrame | None:
    path = folder / "predictions.parquet"
    return pd.read_parquet(path) if path.exists() else None


def read_references(jobs: pd.DataFrame, baseline: str) -> dict[str, pd.DataFrame]:
    """The references the jobs' workers wrote, from the first baseline job that has them (else any
    job). Jobs of several sample sets have no common test split: no references then."""
    if jobs["sample_set_id"].nunique() != 1:
        return {}
    ordered = pd.concat([jobs[jobs["setting"].fillna(BASELINE) == baseline], jobs])
    for job_id, job_dir in zip(ordered["id"], ordered["job_dir"]):
        folder = job_folder(int(job_id), job_dir) / "references"
        paths = {name: folder / f"{name}.parquet" for name in REFERENCES}
        if all(p.exists() for p in paths.values()):
            return {name: pd.read_parquet(p) for name, p in paths.items()}
    return {}


def comparable(jobs: pd.DataFrame, sample_set_id: int | None = None) -> tuple[pd.DataFrame, list[int]]:
    """The finished jobs one comparison reads, and the ids left out as repeats. One sample set only:
    sets have different test splits, so pooling them mixes data sets into one setting's "seeds"
    (BadInput when several remain). Of each setting and seed, the newest job only: a job queued
    alone and the same cell of a later sweep once counted as two seeds."""
    if sample_set_id is not None:
        jobs = jobs[jobs["sample_set_id"] == sample_set_id]
    sets = sorted(int(i) for i in jobs["sample_set_id"].unique())
    if len(sets) > 1:
        raise BadInput(f"these finished jobs were trained on {len(sets)} sample sets ({', '.join(map(str, sets))}), whose "
                       "test splits differ; compare one sample set (--sample-set ID) or one experiment (--experiment ID)")
    repeat = jobs.sort_values("id").duplicated(["setting", "seed"], keep="last").reindex(jobs.index)
    return jobs[~repeat], sorted(int(i) for i in jobs.loc[repeat, "id"])


def load_comparison(experiment_id: int | None = None, *, sample_set_id: int | None = None, metric: str | None = "accuracy",
                    slice_: str = "all", baseline: str | None = None, n_boot: int = 2000, seed: int = 0) -> Comparison:  # fmt: skip
    """The comparison of the finished jobs (of one experiment, or all) of one sample set
    (`comparable`), with curves.

    metric: None takes the one that suits the labels, as the Compare page opens
    (compare_checks.label_profile). baseline: a setting name; None takes the experiment's pinned
    run's setting, else "none", else the first setting trained.
    """
    from storage import experiments as store
    from storage.db import begin

    with begin() as conn:
        pinned = store.get_experiment(conn, experiment_id)["baseline_job_id"] if experiment_id is not None else None
        jobs = store.list_finished_jobs(conn, experiment_id, sample_set_id)
        if jobs.empty:
            where = " and ".join(f"{what} {i}" for what, i in (("experiment", experiment_id), ("sample set", sample_set_id))
                                 if i is not None) or "the database"
            raise MissingData(f"{where} has no finished training job yet; train one on page 4 or `python -m workbench train`")
        jobs, repeats = comparable(jobs)
        metric_rows = store.read_metrics_of_jobs(conn, jobs["id"].tolist())
    runs = runs_frame(jobs)
    if baseline is None:
        pinned_setting = runs.loc[runs["job_id"] == pinned, "setting"]
        baseline = pinned_setting.iloc[0] if len(pinned_setting) else BASELINE
        baseline = baseline if baseline in set(runs["setting"]) else runs["setting"].iloc[0]
    predictions = {int(j): read_predictions(job_folder(j, d)) for j, d in zip(jobs["id"], jobs["job_dir"])}
    if metric is None:
        from workbench.compare_checks import label_profile

        metric = next((label_profile(p)[2] for p in predictions.values() if p is not None), "accuracy")
    references = read_references(jobs, baseline)
    comparison = compare(runs, predictions, metric=metric, slice_=slice_, baseline=baseline, n_boot=n_boot, seed=seed,
                         references=references)  # fmt: skip
    comparison.curves = learning_curves(metric_rows, runs)
    comparison.experiment_id = experiment_id
    comparison.repeats = repeats
    return comparison
