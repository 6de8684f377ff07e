"""The similarity model: query and product text encoded apart, scored by a small head.

    model = SimilarityModel.load(BUNDLED, classes=[0.0, 1.0])
    model.fit_head(features, labels)          # before the first step: epoch 0 = calibrated zero-shot
    log_probs = model(**batch).logits         # batch from workbench.train.data.PairEncoded

A sentence encoder such as the bundled MiniLM was trained to put a query and a matching text
close together: mean pooling over tokens, cosine similarity. This model keeps exactly that (the
base's own pooling, read from the sentence-transformers files it ships: modules.json and
1_Pooling/config.json) and adds a head over a few inputs:

    cosine       cos(pool(encoder(query)), pool(encoder(product text)))
    bm25         BM25 of the product text for the query (workbench.lexical, corpus statistics saved)
    word_share   share of the query's words found in the product text
    gram_share   share of the query's character trigrams found in it (typos, split compounds)
    number_share share of the query's numbers and model codes found in it (1 when it has none)

The head is a cumulative-logit (ordinal) model: s = w . standardised(inputs), and
P(label > class k) = sigmoid(s - t_k) with ordered thresholds t. For binary labels that is plain
logistic regression (the weight on cosine is the scale, -t the bias); for graded labels it keeps
the grades' order with one weight vector and K-1 thresholds, where a softmax head would need K
unrelated score vectors from a few thousand noisy labels. The forward pass returns the log class
probabilities as `logits`, so cross-entropy, softmax and the expected-label ranking score of the
cross-encoder path apply unchanged.

Strategies: full (encoder and head), lora (adapters on the encoder, and the head), head (the
head's weights and thresholds only: scale and bias over the frozen encoder).
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoModel
from transformers.utils import logging as hf_logging

from workbench.errors import ModelUnavailable
from workbench.lexical import BM25
from workbench.models import resolve_model

HEAD_FILE = "similarity_head.json"
POOLING_MODES = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls",
                 "pooling_mode_max_tokens": "max", "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len"}  # fmt: skip
ALL_INPUTS = ("cosine", "bm25", "word_share", "gram_share", "number_share")


def sentence_pooling(folder: str | Path) -> str | None:
    """The pooling mode a sentence-transformers folder declares, None when the folder has none."""
    folder = Path(folder)
    try:
        modules = json.loads((folder / "modules.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    pooling = next((m for m in modules if m.get("type", "").endswith("Pooling")), None)
    if pooling is None:
        return None
    try:
        config = json.loads((folder / pooling["path"] / "config.json").read_text())
    except (OSError, json.JSONDecodeError):
        return "mean"  # sentence-transformers' own default
    return next((mode for key, mode in POOLING_MODES.items() if config.get(key)), "mean")


def resolve_kind(model_kind: str, name_or_path: str) -> str:
    """'auto' is similarity for bases that ship a sentence-transformers config (modules.json with a
    Pooling module), else cross-encoder; a base whose config names a sequence-classification
    architecture is a cross-encoder either way."""
    if model_kind != "auto":
        return model_kind
    source = Path(resolve_model(name_or_path))
    if not source.is_dir() or not sentence_pooling(source):
        return "cross-encoder"
    try:
        architectures = json.loads((source / "config.json").read_text()).get("architectures") or []
    except (OSError, json.JSONDecodeError):
        architectures = []
    return "cross-encoder" if any(a.endswith("ForSequenceClassification") for a in architectures) else "similarity"


def pool(hidden: torch.Tensor, mask: torch.Tensor, mode: str) -> torch.Tensor:
    """One vector per text from token vectors (padding excluded), in float32."""
    hidden, mask = hidden.float(), mask.unsqueeze(-1).float()
    if mode == "cls":
        return hidden[:, 0]
    if mode == "max":
        return hidden.masked_fill(mask == 0, -1e9).max(1).values
    summed, count = (hidden * mask).sum(1), mask.sum(1).clamp_min(1.0)
    return summed / (count.sqrt() if mode == "mean_sqrt_len" else count)


class OrdinalHead(nn.Module):
    """score = w . (x - mean) / std; P(label > k) = sigmoid(score - t_k), t ordered."""

    def __init__(self, inputs: tuple[str, ...], n_classes: int):
        super().__init__()
        self.inputs = tuple(inputs)
        self.weight = nn.Parameter(torch.zeros(len(inputs)))
        self.first = nn.Parameter(torch.zeros(1))  # t_0
        self.gaps = nn.Parameter(torch.zeros(max(0, n_classes - 2)))  # t_k - t_{k-1} = exp(gap)
        self.register_buffer("mean", torch.zeros(len(inputs)))
        self.register_buffer("std", torch.ones(len(inputs)))

    def thresholds(self) -> torch.Tensor:
        return torch.cat([self.first, self.first + torch.cumsum(self.gaps.exp(), 0)])

    def score(self, x: torch.Tensor) -> torch.Tensor:
        return ((x - self.mean) / self.std) @ self.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Log class probabilities, (batch, n_classes)."""
        above = torch.sigmoid(self.score(x)[:, None] - self.thresholds()[None, :])  # P(label > k)
        ones, zeros = torch.ones_like(above[:, :1]), torch.zeros_like(above[:, :1])
        cumulative = torch.cat([ones, above, zeros], 1)
        return (cumulative[:, :-1] - cumulative[:, 1:]).clamp_min(1e-7).log()

    @torch.no_grad()
    def fit(self, x: torch.Tensor, labels: torch.Tensor, l2: float = 1e-3, steps: int = 200) -> None:
        """Standardise the inputs and fit weights and thresholds by L-BFGS on the labels (class indices)."""
        x, labels = x.float().to(self.weight.device), labels.to(self.weight.device)
        self.mean.copy_(x.mean(0))
        self.std.copy_(x.std(0).clamp_min(1e-6) if len(x) > 1 else torch.ones_like(self.std))
        n_classes = len(self.gaps) + 2
        prior = torch.bincount(labels, minlength=n_classes).float().add(1).cumsum(0)[:-1] / (len(labels) + n_classes)
        self.first.copy_(torch.logit(prior[:1]))  # start at the class prior, weights 0
        self.weight.zero_()
        self.gaps.copy_(torch.log(torch.diff(torch.logit(prior)).clamp_min(1e-3)))
        params = [self.weight, self.first, self.gaps]
        optimizer = torch.optim.LBFGS(params, lr=1.0, max_iter=steps, line_search_fn="strong_wolfe")

        def closure():
            optimizer.zero_grad()
            loss = F.nll_loss(self(x), labels) + l2 * (self.weight**2).sum()
            loss.backward()
            return loss

        with torch.enable_grad():
            optimizer.step(closure)

    def weights(self) -> dict[str, float]:
        """Each input's weight (on the standardised input: comparable across inputs)."""
        return {name: float(w) for name, w in zip(self.inputs, self.weight.detach().cpu())}

    def weights_text(self) -> str:
        """'cosine +0.775, bm25 -0.624, ...': the weights as the job log shows them."""
        return ", ".join(f"{name} {w:+.3f}" for name, w in self.weights().items())

    def to_dict(self) -> dict:
        return {"inputs": list(self.inputs), "weight": self.weight.tolist(), "first": self.first.tolist(),
                "gaps": self.gaps.tolist(), "mean": self.mean.tolist(), "std": self.std.tolist()}  # fmt: skip

    @classmethod
    def from_dict(cls, values: dict) -> "OrdinalHead":
        head = cls(tuple(values["inputs"]), len(values["gaps"]) + 2)
        with torch.no_grad():
            for name in ("weight", "first", "gaps", "mean", "std"):
                getattr(head, name).copy_(torch.tensor(values[name], dtype=torch.float32))
        return head


@dataclass
class SimilarityOutput:
    logits: torch.Tensor  # log class probabilities


class SimilarityModel(nn.Module):
    """Encoder (shared by both sides) + pooling + OrdinalHead over cosine and lexical inputs."""

    def __init__(self, encoder, pooling: str, head: OrdinalHead, bm25: BM25 | None = None):
        super().__init__()
        self.encoder, self.pooling, self.head, self.bm25 = encoder, pooling, head, bm25
        self.config = encoder.config

    @classmethod
    def load(cls, name_or_path: str, classes: list[float], inputs: tuple[str, ...] = ALL_INPUTS) -> "SimilarityModel":
        """The base encoder with a new (unfitted) head; a saved similarity model comes back whole."""
        source = resolve_model(name_or_path)
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()  # a cross-encoder folder as base: its classifier is unused
        try:
            encoder = AutoModel.from_pretrained(source)
        except (OSError, ValueError) as e:
            raise ModelUnavailable(f"cannot load the encoder {name_or_path!r} offline: {e}") from e
        finally:
            hf_logging.set_verbosity(verbosity)
        pooling = sentence_pooling(source) or "mean"
        saved = Path(source) / HEAD_FILE
        if saved.exists():
            values = json.loads(saved.read_text())
            head = OrdinalHead.from_dict(values["head"])
            if len(head.gaps) + 2 == len(classes) and values["classes"] == list(classes):
                bm25 = BM25.from_dict(values["bm25"]) if values.get("bm25") else None
                return cls(encoder, pooling, head, bm25)
        return cls(encoder, pooling, OrdinalHead(inputs, len(classes)))

    def get_input_embeddings(self):
        return self.encoder.get_input_embeddings()

    def embed(self, input_ids, attention_mask, token_type_ids=None) -> torch.Tensor:
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        return pool(out.last_hidden_state, attention_mask, self.pooling)

    def cosine(self, batch: dict) -> torch.Tensor:
        q = self.embed(batch["query_input_ids"], batch["query_attention_mask"], batch.get("query_token_type_ids"))
        p = self.embed(batch["product_input_ids"], batch["product_attention_mask"], batch.get("product_token_type_ids"))
        return F.cosine_similarity(q, p, dim=-1)

    def forward(self, **batch) -> SimilarityOutput:
        inputs = torch.cat([self.cosine(batch)[:, None], batch["lexical"].float()], 1)
        return SimilarityOutput(self.head(inputs))

    def lexical_inputs(self, queries, texts) -> np.ndarray:
        """The head's inputs after cosine, per pair: (n, len(inputs) - 1)."""
        from workbench.lexical import gram_share, number_share, word_share

        columns = {"bm25": lambda: self.bm25.score(queries, texts), "word_share": lambda: word_share(queries, texts),
                   "gram_share": lambda: gram_share(queries, texts), "number_share": lambda: number_share(queries, texts)}
        wanted = [columns[name]() for name in self.head.inputs[1:]]
        return np.stack(wanted, 1) if wanted else np.zeros((len(queries), 0))

    def save(self, folder: Path, tokenizer, classes: list[float], base: str) -> None:
        """A transformers folder plus the sentence-transformers pooling files and the head: it loads
        back here (`SimilarityModel.load`), as a warm start, and in sentence-transformers."""
        encoder = self.encoder.merge_and_unload() if hasattr(self.encoder, "merge_and_unload") else self.encoder
        folder.mkdir(parents=True, exist_ok=True)
        encoder.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        source = Path(resolve_model(base))
        for name in ("modules.json", "sentence_bert_config.json", "config_sentence_transformers.json"):
            if (source / name).exists():
                shutil.copy(source / name, folder / name)
        for sub in ("1_Pooling", "2_Normalize"):
            if (source / sub).is_dir():
                shutil.copytree(source / sub, folder / sub, dirs_exist_ok=True)
        values = {"classes": list(classes), "head": self.head.to_dict(), "bm25": self.bm25.to_dict() if self.bm25 else None}
        (folder / HEAD_FILE).write_text(json.dumps(values))
        (folder / "classes.json").write_text(json.dumps(list(classes)))


def apply_strategy(model: SimilarityModel, strategy: str, lora_r: int, lora_alpha: int) -> SimilarityModel:
    """full: everything trains; head: the head only; lora: adapters on the encoder plus the head."""
    if strategy == "head":
        for p in model.encoder.parameters():
            p.requires_grad = False
    elif strategy == "lora":
        from peft import LoraConfig, TaskType, get_peft_model

        config = LoraConfig(task_type=TaskType.FEATURE_EXTRACTION, r=lora_r, lora_alpha=lora_alpha, lora_dropout=0.1)
        model.encoder = get_peft_model(model.encoder, config)
    elif strategy != "full":
        raise ValueError(f"unknown strategy {strategy!r}")
    return model

