"""The model: a BERT-family encoder with a sequence-pair classification head, and how it trains.

`load_model` takes the bundled MiniLM, any Hugging Face name in the local cache or a local folder
(workbench.models.resolve_model), or a finished job's model folder for a warm start, and applies
the strategy: full fine-tuning, head only (encoder frozen), or LoRA adapters (peft). `FGM` adds
adversarial training on the embedding output.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from transformers.utils import logging as hf_logging

from workbench.errors import ModelUnavailable
from workbench.models import resolve_model

CLASSES_FILE = "classes.json"
hf_logging.disable_progress_bar()  # progress bars would fill the job's log.txt


def load_tokenizer(name_or_path: str):
    source = resolve_model(name_or_path)
    try:
        return AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as e:
        raise ModelUnavailable(f"cannot load a tokenizer from {name_or_path!r} offline: {e}") from e


def load_model(name_or_path: str, classes: list[float], strategy: str, lora_r: int = 8, lora_alpha: int = 16):
    """The classifier for `classes` on top of the named encoder, with the strategy applied."""
    source = resolve_model(name_or_path)
    # The head is new on a plain encoder; transformers would warn about it on every load.
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            source,
            num_labels=len(classes),
            id2label={i: str(v) for i, v in enumerate(classes)},
            label2id={str(v): i for i, v in enumerate(classes)},
            ignore_mismatched_sizes=True,  # warm start from a job with other classes: new head
        )
    except (OSError, ValueError) as e:
        raise ModelUnavailable(f"cannot load the model {name_or_path!r} offline: {e}") from e
    finally:
        hf_logging.set_verbosity(verbosity)
    return apply_strategy(model, strategy, lora_r, lora_alpha)


def _head_names(model) -> list[str]:
    """Top-level modules with weights outside the encoder: the classifier and, for BERT, the pooler."""
    names = [n for n, m in model.named_children() if n != model.base_model_prefix and any(True for _ in m.parameters())]
    pooler = getattr(model.base_model, "pooler", None)
    return names + (["pooler"] if pooler is not None else [])


def apply_strategy(model, strategy: str, lora_r: int, lora_alpha: int):
    if strategy == "full":
        return model
    if strategy == "head":
        heads = _head_names(model)
        for name, param in model.named_parameters():
            param.requires_grad = any(name.startswith(h) or f".{h}." in name for h in heads)
        return model
    if strategy == "lora":
        from peft import LoraConfig, TaskType, get_peft_model

        config = LoraConfig(
            task_type=TaskType.SEQ_CLS,
            r=lora_r,
            lora_alpha=lora_alpha,
            lora_dropout=0.1,
            # The pooler is freshly initialised on sentence encoders, so it trains with the head.
            modules_to_save=_head_names(model),
        )
        return get_peft_model(model, config)
    raise ValueError(f"unknown strategy {strategy!r}")


def trainable_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def save_model(model, tokenizer, folder: Path, classes: list[float]) -> None:
    """A plain transformers folder (LoRA merged in), loadable as a base model for a warm start."""
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / CLASSES_FILE).write_text(json.dumps(classes))


class FGM:
    """Fast Gradient Method (Miyato et al. 2017) on the embedding output.

    After the normal backward pass, each sample's embedding output is pushed by epsilon along its
    normalised gradient and a second loss is backpropagated. Working on the embedding *output*
    (a forward hook) rather than the embedding weights lets it work with frozen embeddings too
    (head-only and LoRA). The similarity model calls the embeddings twice per forward pass (query,
    then product text): outputs and their perturbations are kept in call order.
    """

    def __init__(self, model, epsilon: float):
        self.epsilon = epsilon
        self.outputs: list[torch.Tensor] = []
        self.deltas: list[torch.Tensor] = []
        self.handle = model.get_input_embeddings().register_forward_hook(self._hook)

    def _hook(self, module, inputs, output):
        if self.deltas:
            return output + self.deltas.pop(0)
        if torch.is_grad_enabled():
            if not output.requires_grad:
                output.requires_grad_(True)
            output.retain_grad()
            self.outputs.append(output)
        return output

    def attack(self) -> bool:
        """Prepare the perturbations from the last backward pass; False when there is no gradient."""
        outputs, self.outputs = self.outputs, []
        if not outputs or any(o.grad is None for o in outputs):
            return False
        for output in outputs:
            grad = output.grad.detach()
            norm = grad.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (grad.dim() - 1)))
            self.deltas.append(self.epsilon * grad / norm)
        return True

    def restore(self) -> None:
        self.deltas = []
        self.outputs = []

    def remove(self) -> None:
        self.handle.remove()
