"""TrainConfig: every setting of a training job, with help text.

One dataclass drives the command-line flags (`add_config_arguments`), the Train page's form
labels and help (`field_help`, `field_label`) and the JSON stored in jobs.config and in the job
folder's config.json (`to_dict` / `from_dict`). Each field's metadata carries `label` and `help`.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
from dataclasses import dataclass, field

from workbench.errors import BadInput
from workbench.models import BUNDLED

STRATEGIES = ("full", "head", "lora")
MODEL_KINDS = ("auto", "similarity", "cross-encoder")
STOP_METRICS = ("auto", "ndcg@10", "mrr", "accuracy", "f1", "roc_auc", "loss")


AT_LEAST_ONE = ("epochs", "batch_size", "max_length", "logging_steps", "lora_r", "lora_alpha")  # counts: 0 cannot train


def _f(default, label: str, help: str, **kw):
    return field(default=default, metadata={"label": label, "help": help, **kw})


@dataclass
class TrainConfig:
    model: str = _f(BUNDLED, "Base model", "the bundled MiniLM, a Hugging Face name in the local cache, or a local model folder")
    model_kind: str = _f("auto", "Model kind", "similarity: query and product encoded apart, a head over cosine and lexical signals, starting from the zero-shot model; cross-encoder: both texts as one pair into a new classifier; auto: similarity for bases that ship a sentence-transformers config", choices=MODEL_KINDS)
    strategy: str = _f("full", "Strategy", "full: fine-tune every weight; head: train only the head (similarity: its weights, i.e. scale and bias; cross-encoder: the classifier), encoder frozen; lora: low-rank adapters (peft)", choices=STRATEGIES)
    epochs: int = _f(2, "Epochs", "passes over the training samples (early stopping may end sooner)")
    learning_rate: float = _f(2e-5, "Learning rate", "peak AdamW learning rate of the encoder after warm-up; head-only and LoRA like larger ones (1e-3, 5e-4)")
    head_learning_rate: float = _f(1e-3, "Head learning rate", "learning rate of the similarity head (fitted on train before the first step)")
    lexical_inputs: bool = _f(True, "Lexical inputs", "the similarity head also takes BM25 and the shares of query words, character trigrams and numbers found in the product text")
    references: bool = _f(True, "References", "also score the zero-shot base model and BM25 on the test split, for Compare")
    batch_size: int = _f(32, "Batch size", "samples per optimizer step; on GPU out-of-memory it is split into smaller micro-batches")
    max_length: int = _f(128, "Max length", "tokens of query + product text kept per sample; batches are padded only to their longest sample")
    warmup_ratio: float = _f(0.1, "Warm-up share", "share of the steps over which the learning rate rises from 0 before decaying linearly to 0")
    weight_decay: float = _f(0.01, "Weight decay", "AdamW weight decay (not applied to biases and LayerNorm)")
    max_grad_norm: float = _f(1.0, "Gradient clipping", "clip the gradient norm to this (0 = off)")
    early_stopping_metric: str = _f("auto", "Early stopping metric", "validation metric that picks the best epoch; auto: ROC-AUC for binary labels, nDCG@10 for graded (ROC-AUC over grades when most queries have one judged product)", choices=STOP_METRICS)
    patience: int = _f(2, "Patience", "stop after this many epochs without a better validation metric (0 = never stop early)")
    adversarial: bool = _f(False, "Adversarial training (FGM)", "add a second loss on embeddings pushed along their gradient (FGM); slower, often more robust to typos")
    adversarial_epsilon: float = _f(1.0, "FGM epsilon", "size of the embedding perturbation for adversarial training")
    consistency_weight: float = _f(0.0, "Typo consistency", "weight of a loss that pulls the score of each augmented query rewrite (a typo of a positive or a negative) toward the score of its source sample's clean query, as in self-teaching for typo-robust rankers; 0 = off")
    lora_r: int = _f(8, "LoRA rank", "rank of the LoRA adapters (strategy lora)")
    lora_alpha: int = _f(16, "LoRA alpha", "scaling of the LoRA adapters (strategy lora)")
    seed: int = _f(0, "Seed", "seeds the data order, the new head's weights and dropout")
    max_train: int = _f(0, "Max training samples", "use at most this many original training samples (the train split), a seeded choice (0 = all)")
    augmented_share: float = _f(0.0, "Augmented share", "augmented samples added per original sample used, e.g. 0.5 adds half as many (0 = every accepted augmented sample; when the Train page's time budget caps the originals, it sets the chosen sets' own proportion instead)")
    logging_steps: int = _f(10, "Logging steps", "record the training loss every this many optimizer steps")
    device: str = _f("auto", "Device", "auto picks CUDA (bf16 autocast), then Apple MPS, then CPU", choices=("auto", "cuda", "mps", "cpu"))
    warm_start: str = _f("", "Warm start", "a finished job's model folder to continue training from (the Train page and --warm-start-job fill it)")
    simulated_memory_tokens: int = _f(0, "Simulated memory limit", "testing aid: a micro-batch with more tokens (rows x padded length) raises out-of-memory as CUDA would (0 = off)")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise BadInput(f"training config: unknown field(s) {unknown}; known fields: {sorted(names)}")
        config = cls(**values)
        config.validate()
        return config

    def stop_metric(self, n_classes: int, queries_rank: bool = True) -> str:
        """The early-stopping metric; 'auto' is ROC-AUC for binary labels (nDCG@10 saturates on small
        validation sets) and nDCG@10 for graded ones, unless the validation queries seldom hold two
        different grades (`queries_rank` False: one judged product per query, where nDCG@10 is 1 for
        any model); then ROC-AUC over grades (workbench.train.metrics.concordance)."""
        if self.early_stopping_metric != "auto":
            return self.early_stopping_metric
        return "ndcg@10" if n_classes > 2 and queries_rank else "roc_auc"

    def validate(self) -> None:
        """Raise BadInput naming the first field whose value cannot be used."""
        for f in dataclasses.fields(self):
            choices = f.metadata.get("choices")
            if choices and getattr(self, f.name) not in choices:
                raise BadInput(f"training config field '{f.name}': expected one of {list(choices)}, got {getattr(self, f.name)!r}")
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise BadInput(f"training config field '{f.name}': must be a finite number, got {value}")
        for name in AT_LEAST_ONE:
            if int(getattr(self, name)) < 1:
                raise BadInput(f"training config field '{name}': must be at least 1, got {getattr(self, name)}")
        for name in ("learning_rate", "head_learning_rate"):
            if not getattr(self, name) > 0:
                raise BadInput(f"training config field '{name}': must be above 0, got {getattr(self, name)}")
        if not 0 <= self.warmup_ratio < 1:
            raise BadInput(f"training config field 'warmup_ratio': must be in [0, 1), got {self.warmup_ratio}")
        for name in ("patience", "max_train", "simulated_memory_tokens", "augmented_share", "consistency_weight",
                     "weight_decay", "max_grad_norm", "adversarial_epsilon"):
            if getattr(self, name) < 0:
                raise BadInput(f"training config field '{name}': must be 0 or more, got {getattr(self, name)}")


def field_label(name: str) -> str:
    return _field(name).metadata["label"]


def field_help(name: str) -> str:
    return _field(name).metadata["help"]


def field_choices(name: str) -> tuple:
    return _field(name).metadata.get("choices", ())


def _field(name: str):
    return next(f for f in dataclasses.fields(TrainConfig) if f.name == name)


def value_from_text(text: str, default, choices=None):
    """A form value read back as text (the page's URL), as the default's type; the default when it
    does not parse or is negative."""
    if choices:
        return text if text in choices else default
    if isinstance(default, bool):
        return text == "True"
    if isinstance(default, (int, float)):
        try:
            value = type(default)(text)
        except ValueError:
            return default
        return value if value >= 0 else default
    return text


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """One --flag per TrainConfig field, with its help text; defaults stay None (= the field default)."""
    for f in dataclasses.fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        kind = {"int": int, "float": float, "str": str, "bool": None}[f.type if isinstance(f.type, str) else f.type.__name__]
        text = f"{f.metadata['help']} (default: {f.default!r})"
        if kind is None:
            parser.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=text)
        else:
            parser.add_argument(flag, dest=f.name, type=kind, default=None, choices=f.metadata.get("choices"), help=text)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig) if getattr(args, f.name, None) is not None}
    return TrainConfig.from_dict(values)
