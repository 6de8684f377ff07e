"""Recipes: which augmenters run with which parameters, how many candidates per sample, the seed.

    from workbench.augment.recipes import load_recipe, preset
    recipe = preset("typo robustness")            # or load_recipe("recipe.json")
    recipe.to_dict()                              # the JSON stored with each run

A recipe file is JSON:
    {"name": "typos", "seed": 0, "per_sample": 1,
     "steps": [{"augmenter": "keyboard_typo", "params": {"word_p": 0.2}}],
     "filters": {"min_score": 0.5, "scorer": "string"}}
Unknown augmenters, parameters and filter fields are refused with a message naming them.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.augment import REGISTRY, get
from workbench.augment.base import check_params
from workbench.augment.filters import SCORERS, FilterConfig
from workbench.errors import BadInput


@dataclass
class Step:
    """One augmenter and its parameters (names and defaults: the augmenter's Params)."""

    augmenter: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Recipe:
    name: str = "custom"
    steps: list[Step] = field(default_factory=list)
    per_sample: int = 1  # candidates per source sample and augmenter (each from its own seed)
    seed: int = 0  # same sample set + recipe + seed = identical candidates
    max_source_samples: int = 0  # augment at most this many train samples (0 = all), a seeded choice
    filters: FilterConfig = field(default_factory=FilterConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)


PRESETS: dict[str, dict] = {
    # Query-side noise: what users type on phones. Cheap string similarity scores it.
    "typo robustness": {
        "steps": [{"augmenter": "keyboard_typo"}, {"augmenter": "char_edit"}, {"augmenter": "word_split"}],
        "per_sample": 1,
        "filters": {"min_score": 0.6, "scorer": "string"},
    },
    # Meaning-preserving rewrites that keep the words the product's text has. Similarity to the
    # source rated "wyndham sheffield" -> "wyndham wakefield" near-identical; the teacher scores the
    # rewritten pair itself and keeps it only when it still agrees with the inherited label.
    "synonyms and paraphrases": {
        "steps": [{"augmenter": "wordnet_synonym"}, {"augmenter": "embedding_neighbour"}, {"augmenter": "word_swap"}],
        "per_sample": 1,
        "filters": {"scorer": "teacher", "teacher_margin": 0.5},
    },
    # Training pairs for products nobody searched for yet (and the cold-start ones), from their
    # titles; the teacher drops queries it scores low against their own product (Doc2Query--).
    "cold start": {
        "steps": [{"augmenter": "pseudo_query"}],
        "per_sample": 2,
        "filters": {"scorer": "teacher", "teacher_margin": 0.5},
    },
    # Negatives the model must learn to tell apart: close products shown and not clicked, and
    # products BM25 ranks high for the query that the teacher scores low.
    "hard negatives": {
        "steps": [{"augmenter": "hard_negative"}, {"augmenter": "mined_negative"}],
        "per_sample": 1,
        "filters": {"scorer": "teacher", "teacher_margin": 0.5},
    },
}


def preset(name: str, seed: int = 0) -> Recipe:
    """One of PRESETS as a Recipe."""
    if name not in PRESETS:
        raise BadInput(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}")
    return recipe_from_dict({"name": name, "seed": seed, **PRESETS[name]})


def recipe_from_dict(data: dict, source: str = "recipe") -> Recipe:
    """A Recipe from its JSON form; `source` names the file in error messages."""
    if not isinstance(data, dict):
        raise BadInput(f"{source}: expected a JSON object with 'steps', got {type(data).__name__}")
    known = {f.name for f in dataclasses.fields(Recipe)}
    unknown = set(data) - known
    if unknown:
        raise BadInput(f"{source}: unknown field(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
    steps = []
    raw_steps = data.get("steps") or []
    if not isinstance(raw_steps, list):
        raise BadInput(f"{source}, steps: expected a list of {{\"augmenter\": NAME, \"params\": {{...}}}}, got {raw_steps!r}")
    for i, raw in enumerate(raw_steps):
        where = f"{source}, steps[{i}]"
        if not isinstance(raw, dict) or "augmenter" not in raw:
            raise BadInput(f"{where}: expected {{\"augmenter\": NAME, \"params\": {{...}}}}, got {raw!r}")
        params = raw.get("params") or {}
        if not isinstance(params, dict):
            raise BadInput(f"{where}, params: expected an object of parameter: value, e.g. {{\"word_p\": 0.2}}, got {params!r}")
        steps.append(Step(str(raw["augmenter"]), dict(params)))
    if not steps:
        raise BadInput(f"{source}: 'steps' is empty; name at least one augmenter, e.g. {{\"augmenter\": \"keyboard_typo\"}}")
    filters_raw = data.get("filters") or {}
    if not isinstance(filters_raw, dict):
        raise BadInput(f"{source}, filters: expected an object such as {{\"min_score\": 0.5}}, got {filters_raw!r}")
    filter_fields = {f.name for f in dataclasses.fields(FilterConfig)}
    bad = set(filters_raw) - filter_fields
    if bad:
        raise BadInput(f"{source}, filters: unknown field(s) {', '.join(sorted(map(str, bad)))}; known: {', '.join(sorted(filter_fields))}")
    recipe = Recipe(
        name=str(data.get("name") or "custom"),
        steps=steps,
        per_sample=_int(data.get("per_sample", 1), f"{source}, per_sample", minimum=1),
        seed=_int(data.get("seed", 0), f"{source}, seed", minimum=0),
        max_source_samples=_int(data.get("max_source_samples", 0), f"{source}, max_source_samples", minimum=0),
        filters=FilterConfig(**filters_raw),
    )
    try:
        check_params(recipe.filters)
    except ValueError as e:
        raise BadInput(f"{source}, filters.{e}") from None
    if recipe.filters.scorer not in SCORERS:
        raise BadInput(f"{source}, filters.scorer: expected one of {', '.join(SCORERS)}, got {recipe.filters.scorer!r}")
    for i, step in enumerate(recipe.steps):
        build_params(step, f"{source}, steps[{i}]")
    return recipe


def recipe_from_form(name: str, augmenters: list[str], params_json: str, per_sample: int, seed: int,
                     max_source_samples: int, min_score: float, scorer: str, teacher_job: int = 0,
                     teacher_margin: float = 0.5) -> Recipe:
    """The Augment page's form as a Recipe; params_json maps augmenter -> its parameters;
    teacher_job 0 is the zero-shot teacher."""
    try:
        by_name = json.loads(params_json or "{}")
    except json.JSONDecodeError as e:
        raise BadInput(f"parameters (JSON), line {e.lineno}, column {e.colno}: {e.msg}") from None
    if not isinstance(by_name, dict) or not all(isinstance(v, dict) for v in by_name.values()):
        raise BadInput('parameters (JSON): expected {"augmenter": {"parameter": value}}, e.g. {"keyboard_typo": {"word_p": 0.2}}')
    extra = sorted(set(by_name) - set(augmenters))
    if extra:
        raise BadInput(f"parameters (JSON): {', '.join(extra)} not among the chosen augmenters; add them or remove their parameters")
    return recipe_from_dict({
        "name": name, "seed": int(seed), "per_sample": int(per_sample), "max_source_samples": int(max_source_samples),
        "filters": {"min_score": float(min_score), "scorer": scorer, "teacher_job": int(teacher_job),
                    "teacher_margin": float(teacher_margin)},
        "steps": [{"augmenter": n, "params": by_name.get(n, {})} for n in augmenters],
    })


def build_params(step: Step, where: str = "recipe"):
    """The augmenter's Params dataclass filled from the step, or BadInput naming the bad field."""
    if step.augmenter not in REGISTRY:
        raise BadInput(f"{where}: unknown augmenter {step.augmenter!r}; known: {', '.join(REGISTRY)}")
    try:
        cls = get(step.augmenter)
    except ImportError as e:
        raise BadInput(f"{where}: augmenter {step.augmenter!r} is not available here ({e})") from e
    fields = {f.name for f in dataclasses.fields(cls.Params)}
    unknown = set(step.params) - fields
    if unknown:
        raise BadInput(
            f"{where}: augmenter {step.augmenter!r} has no parameter(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(fields))}"
        )
    try:
        params = cls.Params(**step.params)
        check_params(params)
    except (TypeError, ValueError) as e:
        raise BadInput(f"{where}: augmenter {step.augmenter!r}, parameter {e}") from None
    return params


def load_recipe(path: str | Path) -> Recipe:
    path = Path(path)
    if path.is_dir():
        raise BadInput(f"recipe file {path} is a folder; give the recipe's .json file")
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))  # a BOM (Windows Notepad) is fine
    except FileNotFoundError:
        raise BadInput(f"recipe file {path} does not exist") from None
    except UnicodeDecodeError as e:
        raise BadInput(f"{path.name}, byte {e.start}: not UTF-8 text; save the recipe as UTF-8") from None
    except json.JSONDecodeError as e:
        raise BadInput(f"{path.name}, line {e.lineno}, column {e.colno}: not valid JSON ({e.msg})") from None
    return recipe_from_dict(data, source=path.name)


def save_recipe(recipe: Recipe, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(recipe.to_json() + "\n", encoding="utf-8")
    return path


def _int(value: Any, where: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise BadInput(f"{where}: expected a whole number >= {minimum}, got {value!r}")
    return value
