"""What the user had before training: the zero-shot and lexical references, on the job's test split.

    refs = references(config, data, classes, device)   # {"zero_shot": predictions, "lexical": predictions}

- zero_shot: the base model untouched: cosine of the pooled query and product-text vectors, with
  scale and bias (graded labels: ordinal thresholds) fitted on the original train samples;
- lexical: BM25 of the product text for the query (corpus: every product text of the job's
  splits), with scale and bias fitted the same way.

Both are predictions frames like a job's predictions.parquet (clean and typo variants, cold-start
and tail flags), so Compare scores them with the same metrics, slices and paired bootstrap. They
use the original samples only and fixed seeds: every job of a sample set and base model writes
the same references, whatever its augmentation, seed or strategy.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from workbench.lexical import BM25
from workbench.train.predictions import as_predictions, scored, test_variants
from workbench.train.similarity import OrdinalHead, SimilarityModel

NAMES = ("zero_shot", "lexical")
HEAD_FIT_MAX = 4000  # original pairs a reference's head is fitted on: plenty for two weights, cheap to encode
JOB_HEAD_FIT_MAX = 8000  # a job's own head: originals plus augmented rows
EMBED_BATCH = 64


def head_fit_sample(train: pd.DataFrame, seed: int = 0, original_only: bool = True) -> pd.DataFrame:
    """The train samples a head is fitted on, seeded: at most HEAD_FIT_MAX original ones for the
    references and the teacher (what the user had before), at most JOB_HEAD_FIT_MAX of every row
    (augmented ones included) for a job's own head."""
    frame = train[train["source"] == "sample"] if original_only and "source" in train else train
    limit = HEAD_FIT_MAX if original_only else JOB_HEAD_FIT_MAX
    return frame.sample(n=limit, random_state=seed) if len(frame) > limit else frame


def cosines(model: SimilarityModel, tokenizer, frame: pd.DataFrame, max_length: int, device) -> np.ndarray:
    """The untrained pair cosine of each row, each distinct text encoded once (steps.unique_vectors)."""
    from workbench.train.data import encode_pairs
    from workbench.train.steps import MicroBatcher, unique_vectors

    if frame.empty:
        return np.zeros(0)
    enc = encode_pairs(frame.assign(label=0.0), tokenizer, max_length, [0.0], np.zeros((len(frame), 0)))
    batcher, pad_id = MicroBatcher(EMBED_BATCH, 0, lambda text: None), tokenizer.pad_token_id or 0
    device, was_training = torch.device(device), model.training
    model.eval()
    queries, q_row = unique_vectors(model, enc.query, batcher, device, pad_id)
    products, p_row = unique_vectors(model, enc.product, batcher, device, pad_id)
    model.train(was_training)
    return F.cosine_similarity(queries[torch.from_numpy(q_row)], products[torch.from_numpy(p_row)], dim=-1).numpy()


def column(values) -> torch.Tensor:
    return torch.as_tensor(np.asarray(values, dtype=np.float32))[:, None]


def class_index(frame: pd.DataFrame, classes: list[float]) -> torch.Tensor:
    index = {value: i for i, value in enumerate(classes)}
    return torch.tensor([index[float(v)] for v in frame["label"]], dtype=torch.long)


def references(config, data, classes: list[float], device, log=lambda text: None) -> dict[str, pd.DataFrame]:
    """The zero-shot and lexical predictions on data.test (clean and typo), heads fitted on train."""
    from workbench.train.model import load_tokenizer

    fit = head_fit_sample(data.train)
    labels = class_index(fit, classes)
    variants = test_variants(data.test) if len(data.test) else []

    model = SimilarityModel.load(config.model, classes, inputs=("cosine",)).to(device)
    tokenizer = load_tokenizer(config.model)
    model.head.fit(column(cosines(model, tokenizer, fit, config.max_length, device)), labels)
    zero_shot = []
    for variant, frame in variants:
        x = column(cosines(model, tokenizer, frame, config.max_length, device))
        with torch.no_grad():
            zero_shot.append(scored(frame, model.head(x.to(device)).exp().cpu().numpy(), classes).assign(variant=variant))
    log(f"zero-shot reference: head weight {model.head.weights_text()} fitted on {len(fit)} original train samples")
    del model

    corpus = pd.concat([data.train["product_text"], data.val["product_text"], data.test["product_text"]])
    bm25 = BM25.fit(corpus)
    head = OrdinalHead(("bm25",), len(classes))
    head.fit(column(bm25.score(fit["query"], fit["product_text"])), labels)
    lexical = []
    for variant, frame in variants:
        x = column(bm25.score(frame["query"], frame["product_text"]))
        with torch.no_grad():
            lexical.append(scored(frame, head(x).exp().numpy(), classes).assign(variant=variant))
    return {"zero_shot": as_predictions(zero_shot), "lexical": as_predictions(lexical)}
