"""Every registered augmenter keeps the interface: a stable name, typed Params with help text,
a docstring with Args / Requirements / Inputs / Example, a header naming its technique."""
import ast
import dataclasses
import importlib
import inspect
import typing

import pytest

from workbench.augment import REGISTRY, get


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_augmenter_has_name_params_and_documented_sections(name):
    cls = get(name)
    assert cls.name == name
    assert dataclasses.is_dataclass(cls.Params)
    hints = typing.get_type_hints(cls.Params)
    for f in dataclasses.fields(cls.Params):
        assert f.metadata.get("help"), f"{name}: parameter {f.name!r} has no help text"
        assert hints[f.name] in (int, float, str, bool), f"{name}: parameter {f.name!r} is not a plain typed value"
    defaults = cls.Params()
    assert dataclasses.asdict(defaults)  # defaults exist and are JSON-friendly values
    doc = inspect.getdoc(cls)
    for section in ("Args:", "Requirements:", "Inputs:", "Example:"):
        assert section in doc, f"{name}: docstring has no {section} section"


@pytest.mark.parametrize("module", sorted({path.split(":")[0] for path in REGISTRY.values()}))
def test_each_augmenter_module_names_its_technique_and_never_seeds_globally(module):
    source = inspect.getsource(importlib.import_module(module))
    header = ast.get_docstring(ast.parse(source))
    assert header and ("Technique" in header or "technique" in header), f"{module}: the header names no technique"
    for call in ("random.seed(", "np.random.seed(", "torch.manual_seed("):
        assert call not in source, f"{module} touches global random state with {call}"


def test_every_augmenter_counts_with_per_sample():
    for name in REGISTRY:
        assert "per_sample" in {f.name for f in dataclasses.fields(get(name).Params)}, name


def test_capabilities_are_class_attributes_not_names():
    """The pipeline runs `runs_in_pool` augmenters in worker processes; the filters check and score
    only `edits_source` ones against their source text (issue 14: no branching on names)."""
    in_pool = {name for name in REGISTRY if get(name).runs_in_pool}
    new_text = {name for name in REGISTRY if not get(name).edits_source}
    assert in_pool == {"keyboard_typo", "ocr_confusion", "char_edit", "word_swap", "word_delete", "word_split",
                       "wordnet_synonym", "domain_synonym"}
    assert new_text == {"pseudo_query", "llm_pseudo_query", "query_rewrite", "hard_negative", "mined_negative"}
    # Query rewrites leave the words the product's text has; catalog-only ones may pair cold-start products (issue 11).
    assert {name for name in REGISTRY if get(name).keeps_product_words} == {
        "wordnet_synonym", "domain_synonym", "embedding_neighbour", "word_swap", "masked_lm", "back_translation",
        "llm_paraphrase"}
    assert {name for name in REGISTRY if get(name).from_catalog} == {"pseudo_query", "llm_pseudo_query"}


def test_the_recipe_file_example_in_the_recipes_docstring_is_accepted():
    import json
    import re

    from workbench.augment import recipes

    example = re.search(r"A recipe file is JSON:\n(.*?)\n(?=\S)", recipes.__doc__, re.S).group(1)
    recipe = recipes.recipe_from_dict(json.loads(example))
    assert [(step.augmenter, step.params) for step in recipe.steps] == [("keyboard_typo", {"word_p": 0.2})]
    assert recipes.build_params(recipe.steps[0]).word_p == 0.2
