"""The one-click augmentation study: "Which augmentation helps this sample set?"

    result = run_study(StudyConfig(sample_set_id=1, recipes=["typo robustness"], budget_s=600))
    python -m workbench study --sample-set 1 --recipes "typo robustness" --budget-min 10 --json
    answer(result.experiment_id)   # plain sentences once the jobs are done

It generates each chosen recipe (a preset) from the train split, accepts what the recipe's own
score rule kept (its filters drop every candidate below the recipe's min_score), saves each as an
augmented set, and queues one sweep (each job adds augmented samples in the same share of its
original ones, so "none" and each recipe train on comparable amounts): none + each recipe, x seeds, sized by workbench/plan.py so
the whole sweep fits the time budget on the machine at hand (fewer seeds and a smaller cap on CPU,
everything on GPU). Compare then opens on the experiment with `answer` at the top.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable

from workbench import compare_checks, experiments, plan
from workbench.augment.pipeline import run_recipe
from workbench.augment.recipes import PRESETS, preset
from workbench.errors import BadInput, MissingData
from workbench.train.config import TrainConfig
from workbench.wording import count_of

Progress = Callable[[int, int, str], None]
SEED_CHOICES = (3, 2, 1)  # as many seeds as the budget allows; one seed still gets a paired test over queries


@dataclass
class StudyConfig:
    sample_set_id: int
    recipes: list[str]  # names of workbench.augment.recipes.PRESETS
    budget_s: float = 600.0  # wall time for the whole sweep's training
    max_source_samples: int = 2000  # train samples each recipe augments (0 = all)
    augmented_share: float = 0.5  # augmented samples per original one in each job: the settings stay comparable
    seed: int = 0
    model: str = ""  # empty: TrainConfig's default model


@dataclass
class StudyResult:
    experiment_id: int
    job_ids: list[int]
    augmented_set_ids: dict[str, int]  # recipe -> its accepted set
    seeds: list[int]
    originals: int  # original train samples per job
    eta_s: float  # the whole sweep, jobs one after another on CPU
    sized_from: str = ""  # 'job 7' (measured here) or 'the benchmark figure' (cautious: often done sooner)
    dropped: dict[str, dict] = field(default_factory=dict)  # recipe -> reason -> count

    def as_dict(self) -> dict:
        return asdict(self)


def size_sweep(sample_set_id: int, augmented_set_ids: list[int], budget_s: float, augmented_share: float = 0.5,
               dev: str | None = None):
    """(seeds, TrainPlan of the largest job: one recipe's set on top of the capped originals, seconds
    for the references): the most seeds whose jobs, one after another, fit the budget."""
    settings = 1 + len(augmented_set_ids)
    references_s = plan.reference_cost_s(sample_set_id, dev)  # the sweep's first job computes them, the rest copy them
    sized = None
    for n_seeds in SEED_CHOICES:
        jobs = settings * n_seeds
        sized = plan.plan_training(sample_set_id, augmented_set_ids[:1], epochs=1, budget_s=(budget_s - references_s) / jobs,
                                   augmented_share=augmented_share, dev=dev, references=False)  # fmt: skip
        if sized.eta_s * jobs + references_s <= budget_s * 1.05 or sized.device != "cpu":
            return n_seeds, sized, references_s
    return 1, sized, references_s


def run_study(config: StudyConfig, on_progress: Progress | None = None) -> StudyResult:
    """Generate and accept each recipe, then queue the sized sweep; returns what was queued."""
    from workbench.jobs.queue import run_sweep

    if not config.recipes:
        raise BadInput("choose at least one recipe to study")
    unknown = [r for r in config.recipes if r not in PRESETS]
    if unknown:
        raise BadInput(f"unknown {'recipe' if len(unknown) == 1 else 'recipes'} {', '.join(unknown)}; choose from {', '.join(PRESETS)}")
    report = on_progress or (lambda done, total, message: None)
    sets, dropped = {}, {}
    for i, name in enumerate(config.recipes):
        report(i, len(config.recipes) + 1, f"generating '{name}'")
        recipe = preset(name, config.seed)
        recipe.max_source_samples = config.max_source_samples
        result = run_recipe(config.sample_set_id, recipe, accept_all=True, set_name=f"{name} (study)")
        dropped[name] = result.dropped
        if result.augmented_set_id is None:
            raise BadInput(f"'{name}' kept no candidate for this sample set, so it cannot be studied; leave it out")
        sets[name] = result.augmented_set_id
    report(len(config.recipes), len(config.recipes) + 1, "sizing and queuing the sweep")
    n_seeds, sized, references_s = size_sweep(config.sample_set_id, list(sets.values()), config.budget_s, config.augmented_share)
    values = plan.form_defaults(sized.device).to_dict() | {"epochs": 1, "max_train": sized.max_train,
                                                           "augmented_share": config.augmented_share}
    if config.model:
        values["model"] = config.model
    seeds = list(range(config.seed, config.seed + n_seeds))
    settings = plan.sweep_settings(list(sets.values()), combined=False)
    experiment_id, job_ids = run_sweep(config.sample_set_id, TrainConfig.from_dict(values), settings, seeds,
                                       f"study: which augmentation helps sample set {config.sample_set_id}?")
    report(1, 1, f"queued {len(job_ids)} jobs")
    return StudyResult(experiment_id=experiment_id, job_ids=job_ids, augmented_set_ids=sets, seeds=seeds,
                       originals=sized.originals, eta_s=sized.eta_s * len(job_ids) + references_s, dropped=dropped,
                       sized_from=sized.measured_from)  # fmt: skip


def eta_text(result: StudyResult) -> str:
    """The study's time in words: measured on this machine, or a cautious bound before any job ran here."""
    if result.sized_from.startswith("job"):
        return f"about {plan.minutes(result.eta_s)} in all (speed measured from {result.sized_from})"
    return (f"at most about {plan.minutes(result.eta_s)} in all: no job has run on this machine yet, so it was sized "
            "from a cautious benchmark figure and often finishes sooner")


def against_zero_shot(comparison, name: str) -> list[str]:
    """The baseline against the untrained model: unless training beat zero-shot, no delta between
    settings says much (the sweep compares models that have not learned the task)."""
    base = next((s for s in comparison.settings if s.name == comparison.baseline), None)
    zero = next((r for r in comparison.references if r.name == "zero-shot"), None)
    if base is None or zero is None or base.delta_vs_zero_shot != base.delta_vs_zero_shot:  # NaN: no reference
        return []
    figures = (f"{name} {base.mean:.3f} against {zero.value:.3f} untrained (difference {base.delta_vs_zero_shot:+.3f}, "
               f"95% interval {base.vs_zero_shot_ci_low:+.3f} to {base.vs_zero_shot_ci_high:+.3f})")
    if base.significant_vs_zero_shot and base.delta_vs_zero_shot > 0 and base.kept_epoch_0:
        return [f"The fitted head helped: {comparison.baseline} (no augmentation) beats the untrained zero-shot model, "
                f"{figures}. Its encoder kept its untrained weights (every job kept epoch 0), so the gain is the head's, "
                "over the cosine and the lexical signals, and any difference below between settings is the head's fit too."]
    if base.significant_vs_zero_shot and base.delta_vs_zero_shot > 0:
        return [f"Training helped: {comparison.baseline} (no augmentation) beats the untrained zero-shot model, {figures}."]
    return [f"Careful: {comparison.baseline} (no augmentation) does not clearly beat the untrained zero-shot model, {figures}; "
            "the differences below compare models that have barely learned the task. A larger sample set or budget helps."]


def answer(experiment_id: int, metric: str | None = None, n_boot: int = 2000) -> list[str]:
    """Plain sentences: which setting helped, on which slice, by how much, how sure (finished jobs only).
    n_boot and the seed are Compare's, so a figure here has the interval the table beside it shows."""
    checks = compare_checks.check_runs(experiment_id)
    metric = metric or checks.default_metric
    name = compare_checks.METRIC_NAMES.get(metric, metric)
    lines = []
    for slice_ in experiments.SLICES:
        try:
            comparison = experiments.load_comparison(experiment_id, metric=metric, slice_=slice_, baseline=experiments.BASELINE,
                                                     n_boot=n_boot)
        except (BadInput, MissingData):
            continue  # no finished job yet, or none has this slice (e.g. no cold-start products)
        where = "on all test queries" if slice_ == "all" else f"on the {slice_.replace('_', '-')} slice"
        if slice_ == "all":
            lines += against_zero_shot(comparison, name)
        for s in comparison.settings:
            if s.name == comparison.baseline:
                continue
            if s.significant:
                lines.append(f"{s.name} {'helped' if s.delta > 0 else 'hurt'} {where}: {name} {s.delta:+.3f} "
                             f"(95% sure it lies between {s.delta_ci_low:+.3f} and {s.delta_ci_high:+.3f}; {count_of(s.n_seeds, 'seed')}).")
            elif slice_ == "all":
                lines.append(f"{s.name} made no clear difference {where}: {name} {s.delta:+.3f}, and the 95% interval "
                             f"{s.delta_ci_low:+.3f} to {s.delta_ci_high:+.3f} includes no change.")
    if checks.degenerate:
        lines.insert(0, f"Careful: {len(checks.degenerate)} of {len(checks.runs)} runs learned nothing (they rank like "
                        "chance or guess one class); their settings say nothing (see the warnings below).")
    return lines or ["No finished job yet: the answer appears here as the study's jobs finish."]
