"""The teacher: a relevance model that scores candidate pairs, so augmentation keeps only what it agrees with.

    teacher = Teacher.zero_shot(samples)                 # the sample set's train split fits the head
    teacher = Teacher.from_job(job_dir)                  # or a finished training job's model
    probs = teacher.probabilities(queries, texts)        # (n, classes)
    score = teacher.agreement(queries, texts, labels)    # 1 = the teacher predicts exactly the label

The zero-shot teacher is exactly what a job's epoch 0 is: the base encoder untouched, its pooled
cosine plus BM25 and word share (workbench.lexical) into the ordinal head, fitted on the original
train samples (`references.head_fit_sample`, seed 0) with BM25 statistics over every product text
of the sample set. A job's teacher is its saved model (similarity or cross-encoder) as it is.

Agreement: with classes c_1 < ... < c_K and the teacher's class probabilities p, the expected label
is E = sum p_k c_k and the score is 1 - |E - label| / (c_K - c_1). For binary labels that is the
teacher's probability of the candidate's own label. A candidate whose label flipped (a rewrite that
names another product, a "negative" that is relevant after all) scores low, whatever its text
similarity to its source. This is the AugSBERT recipe (Thakur et al. 2021, arXiv 2010.08240): a
model labels the augmented pairs; and Doc2Query-- (Gospodinov et al. 2023, arXiv 2301.03266) for
pseudo-queries: drop those the model scores low against their own product.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from workbench.errors import BadInput, ModelUnavailable
from workbench.lexical import BM25
from workbench.models import BUNDLED, pick_device
from workbench.train.data import class_values, encode
from workbench.train.references import class_index, column, cosines, head_fit_sample
from workbench.train.similarity import ALL_INPUTS, SimilarityModel, resolve_kind

MAX_LENGTH = 128  # TrainConfig's default: the zero-shot teacher sees pairs as a job's epoch 0 does


@dataclass
class Teacher:
    model: torch.nn.Module
    tokenizer: object
    classes: list[float]
    kind: str  # 'similarity' | 'cross-encoder'
    max_length: int
    device: torch.device
    name: str  # 'zero-shot <base>' or 'job <id>', for provenance and the page

    @classmethod
    def zero_shot(cls, samples: pd.DataFrame, base: str = "", device: str = "auto", max_length: int = MAX_LENGTH) -> "Teacher":
        """The base encoder with the head fitted on `samples`' train split (original samples only)."""
        from workbench.train.model import load_tokenizer

        train = samples[samples["split"] == "train"] if "split" in samples else samples
        if train.empty:
            raise BadInput("the zero-shot teacher is fitted on the train split, and it is empty; rebuild the sample set")
        classes = class_values(samples)
        if len(classes) < 2:
            raise BadInput(f"the teacher needs at least two label values in the sample set, found {classes}")
        base = base or BUNDLED
        chosen = torch.device(pick_device(device))
        model = SimilarityModel.load(base, classes, ALL_INPUTS).to(chosen)
        model.bm25 = BM25.fit(samples["product_text"].astype(str))
        tokenizer = load_tokenizer(base)
        fit = head_fit_sample(train)
        x = torch.cat([column(cosines(model, tokenizer, fit, max_length, chosen)),
                       torch.as_tensor(model.lexical_inputs(fit["query"], fit["product_text"]), dtype=torch.float32)], 1)
        model.head.fit(x, class_index(fit, classes))
        return cls(model.eval(), tokenizer, classes, "similarity", max_length, chosen, f"zero-shot {Path(base).name}")

    @classmethod
    def from_job(cls, job_dir: str | Path, job_id: int | None = None, device: str = "auto") -> "Teacher":
        """A finished training job's saved model (its folder's model/, config.json for max_length)."""
        from workbench.train.model import load_model, load_tokenizer

        folder = Path(job_dir)
        model_dir = folder / "model"
        if not (model_dir / "classes.json").exists():
            raise ModelUnavailable(f"job folder {folder} has no saved model (model/classes.json); pick a finished job")
        classes = [float(c) for c in json.loads((model_dir / "classes.json").read_text())]
        config = json.loads((folder / "config.json").read_text()) if (folder / "config.json").exists() else {}
        kind = resolve_kind("auto", str(model_dir))
        chosen = torch.device(pick_device(device))
        if kind == "similarity":
            model = SimilarityModel.load(str(model_dir), classes)
        else:
            model = load_model(str(model_dir), classes, "full", 8, 16)
        name = f"job {job_id}" if job_id is not None else f"job folder {folder.name}"
        return cls(model.to(chosen).eval(), load_tokenizer(str(model_dir)), classes, kind,
                   int(config.get("max_length", MAX_LENGTH)), chosen, name)

    @torch.no_grad()
    def probabilities(self, queries, texts) -> np.ndarray:
        """Class probabilities per (query, text) pair, (n, len(classes))."""
        frame = pd.DataFrame({"query": [str(q) for q in queries], "product_text": [str(t) for t in texts]})
        if frame.empty:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        if self.kind == "similarity":
            x = torch.cat([column(cosines(self.model, self.tokenizer, frame, self.max_length, self.device)),
                           torch.as_tensor(self.model.lexical_inputs(frame["query"], frame["product_text"]), dtype=torch.float32)], 1)
            return self.model.head(x.to(self.device)).exp().float().cpu().numpy()
        from workbench.train.steps import MicroBatcher, predict_probs

        enc = encode(frame.assign(label=self.classes[0]), self.tokenizer, self.max_length, self.classes)
        probs, _ = predict_probs(self.model, enc, MicroBatcher(64, 0, lambda text: None), self.device,
                                 self.tokenizer.pad_token_id or 0, len(self.classes))
        return probs

    def agreement(self, queries, texts, labels) -> np.ndarray:
        """1 - |teacher's expected label - label| / label range, per pair, in [0, 1]."""
        labels = np.asarray(labels, dtype=float)
        unknown = sorted(set(labels.tolist()) - set(self.classes))
        if unknown:
            raise BadInput(f"teacher {self.name} knows the labels {self.classes}; candidates carry {unknown}: "
                           "pick a teacher trained on this sample set's labels")
        values = np.asarray(self.classes, dtype=float)
        expected = self.probabilities(queries, texts) @ values
        return (1.0 - np.abs(expected - labels) / (values[-1] - values[0])).clip(0.0, 1.0).astype(np.float32)
