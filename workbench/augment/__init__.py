"""Augmenters and their registry: stable name -> class, one file per augmenter.

The registry names each class by its import path so that listing augmenters (for the page and
the CLI) does not import torch or nlpaug; `get(name)` imports the one asked for.
"""
from __future__ import annotations

import importlib
from functools import lru_cache

from workbench.augment.base import AugmentContext, Augmenter, Candidate, Sample, SampleRandom

REGISTRY: dict[str, str] = {
    # Text noise (nlpaug), query side, product-safe: protected tokens stay as they are.
    "keyboard_typo": "workbench.augment.noise:KeyboardTypo",
    "ocr_confusion": "workbench.augment.noise:OcrConfusion",
    "char_edit": "workbench.augment.noise:CharEdit",
    "word_swap": "workbench.augment.noise:WordSwap",
    "word_delete": "workbench.augment.noise:WordDelete",
    "word_split": "workbench.augment.noise:WordSplit",
    # Synonyms.
    "wordnet_synonym": "workbench.augment.synonyms:WordNetSynonym",
    "domain_synonym": "workbench.augment.synonyms:DomainSynonym",
    "embedding_neighbour": "workbench.augment.neighbours:EmbeddingNeighbour",
    # Model-based.
    "masked_lm": "workbench.augment.masked_lm:MaskedLM",
    "back_translation": "workbench.augment.back_translation:BackTranslation",
    "llm_paraphrase": "workbench.augment.llm:LLMParaphrase",
    "llm_pseudo_query": "workbench.augment.llm:LLMPseudoQuery",
    # Domain.
    "query_rewrite": "workbench.augment.rewrites:LogMinedRewrite",
    "pseudo_query": "workbench.augment.pseudo_queries:PseudoQuery",
    "hard_negative": "workbench.augment.hard_negatives:HardNegative",
    "mined_negative": "workbench.augment.mined_negatives:MinedNegative",
}


def get(name: str) -> type[Augmenter]:
    """The augmenter class registered under `name`."""
    try:
        module_name, class_name = REGISTRY[name].split(":")
    except KeyError:
        raise KeyError(f"unknown augmenter {name!r}; known: {', '.join(REGISTRY)}") from None
    return getattr(importlib.import_module(module_name), class_name)


@lru_cache(maxsize=None)
def edits_source(name: str) -> bool:
    """`Augmenter.edits_source` of the augmenter named `name`, for code that holds only stored
    names (candidate rows); a name no longer registered, from an older run, counts as an edit."""
    return get(name).edits_source if name in REGISTRY else True


@lru_cache(maxsize=None)
def keeps_product_words(name: str) -> bool:
    """`Augmenter.keeps_product_words` of the augmenter named `name` (False for names no longer registered)."""
    return get(name).keeps_product_words if name in REGISTRY else False


@lru_cache(maxsize=None)
def from_catalog(name: str) -> bool:
    """`Augmenter.from_catalog` of the augmenter named `name` (False for names no longer registered)."""
    return get(name).from_catalog if name in REGISTRY else False


__all__ = ["REGISTRY", "get", "edits_source", "keeps_product_words", "from_catalog", "Augmenter", "AugmentContext", "Candidate", "Sample", "SampleRandom"]
