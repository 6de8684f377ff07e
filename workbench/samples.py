"""Sample sets: labels from search logs or labeled pairs, a seeded split by query, cold-start holdout.

    from workbench.samples import SampleConfig, build_sample_set
    result = build_sample_set(dataset_id=2, config=SampleConfig(seed=0, cold_start_share=0.1))
    result.sample_set_id, result.summary["train"]

A sample is one query-product pair with a label. From logs: clicked or purchased = 1, shown and
not clicked = 0 (thresholds adjustable). From labeled pairs: a binary cut (`cut:2.5`), the grade
as it is (`graded`, optionally rounded), or a mapping of raw labels (`map:E=3,S=2,C=1,I=0`).
Every step is vectorised pandas, so the Home Depot file (74k pairs) builds in seconds.
"""
from __future__ import annotations

import dataclasses
import html
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from workbench.errors import BadInput, MissingData
from workbench.queries import query_keys
from workbench.wording import count_of

Progress = Callable[[int, int, str], None]

LABEL_RULE_HELP = (
    "logs: 'clicks' or 'clicks:min_clicks=1,min_purchases=1,min_impressions=1'; "
    "pairs: 'cut:2.5' (label >= 2.5 is 1), 'graded' or 'graded:round', 'map:E=3,S=2,C=1,I=0'"
)


@dataclass
class LabelRule:
    """How a raw signal becomes a label. Parse the CLI/page text form with `parse_label_rule`."""

    kind: str = "clicks"  # 'clicks' (logs) | 'cut' | 'graded' | 'map' (labeled pairs)
    threshold: float = 2.5  # cut: label >= threshold is 1, else 0
    mapping: dict[str, float] = field(default_factory=dict)  # map: raw label -> label
    round_grades: bool = False  # graded: round averaged grades (2.67 -> 3)
    min_clicks: int = 1  # clicks: a pair clicked this often is positive
    min_purchases: int = 1  # clicks: a pair purchased this often is positive
    min_impressions: int = 1  # clicks: shown this often without a click is negative

    @property
    def label_kind(self) -> str:
        if self.kind in ("clicks", "cut"):
            return "binary"
        if self.kind == "map" and set(self.mapping.values()) <= {0.0, 1.0}:
            return "binary"
        return "graded"

    @property
    def meaning(self) -> str:
        """The rule in plain words, for the page beside the rule's text."""
        if self.kind == "cut":
            return f"A pair is relevant (1) when its label is {self.threshold:g} or more, otherwise not relevant (0)."
        if self.kind == "graded":
            rounded = ", rounded to a whole grade (2.67 becomes 3)" if self.round_grades else ""
            return f"Each pair keeps its numeric label as a grade{rounded}: higher is more relevant."
        if self.kind == "map":
            pairs = ", ".join(f"{raw} becomes {value:g}" for raw, value in self.mapping.items())
            return f"{pairs}; a pair with any other label is set aside."
        return (f"A query-product pair is relevant (1) when it was clicked at least {count_of(self.min_clicks, 'time')} or "
                f"bought at least {count_of(self.min_purchases, 'time')}; shown at least "
                f"{count_of(self.min_impressions, 'time')} and never clicked or bought, it is not relevant (0).")

    def text(self) -> str:
        if self.kind == "cut":
            return f"cut:{self.threshold:g}"
        if self.kind == "graded":
            return "graded:round" if self.round_grades else "graded"
        if self.kind == "map":
            return "map:" + ",".join(f"{k}={v:g}" for k, v in self.mapping.items())
        return f"clicks:min_clicks={self.min_clicks},min_purchases={self.min_purchases},min_impressions={self.min_impressions}"


def rule_for(text: str | None, dataset_kind: str) -> LabelRule:
    """The label rule a dataset of this kind ('logs' or 'pairs') is built with: the text's, or the
    kind's default when empty. BadInput when it does not parse or does not fit the kind."""
    rule = parse_label_rule(text) or LabelRule(kind="clicks" if dataset_kind == "logs" else "graded")
    if (dataset_kind == "logs") != (rule.kind == "clicks"):
        raise BadInput(f"label rule {rule.text()!r} does not fit a {dataset_kind} dataset; expected {LABEL_RULE_HELP}")
    return rule


def parse_label_rule(text: str | None) -> LabelRule | None:
    """'cut:2.5', 'graded', 'graded:round', 'map:E=3,S=2', 'clicks:min_clicks=2' -> LabelRule.

    None or '' gives None: the default rule for the dataset's kind.
    """
    if not text or not text.strip():
        return None
    kind, _, rest = text.strip().partition(":")
    kind, rest = kind.strip().lower(), rest.strip()

    def number(value: str, whole: bool = False):
        try:
            return int(value) if whole else float(value)
        except ValueError:
            raise ValueError(f"{value.strip()!r} is not a {'whole number' if whole else 'number'}") from None

    try:
        if kind == "cut":
            if not rest or not math.isfinite(number(rest)):
                raise ValueError("a cut needs a finite threshold, e.g. 'cut:2.5'")
            return LabelRule(kind="cut", threshold=float(rest))
        if kind == "graded":
            if rest not in ("", "round"):
                raise ValueError(f"'graded' takes only ':round', got {rest!r}")
            return LabelRule(kind="graded", round_grades=rest == "round")
        if kind == "map":
            mapping = {}
            for part in filter(None, (p.strip() for p in rest.split(","))):
                raw, eq, value = part.rpartition("=")
                if not eq or not raw.strip():
                    raise ValueError(f"{part!r} is not RAW=NUMBER")
                mapping[raw.strip()] = number(value)
            if not mapping:
                raise ValueError("the mapping is empty")
            return LabelRule(kind="map", mapping=mapping)
        if kind == "clicks":
            rule = LabelRule(kind="clicks")
            for part in filter(None, (p.strip() for p in rest.split(","))):
                name, _, value = part.partition("=")
                if name.strip() not in ("min_clicks", "min_purchases", "min_impressions"):
                    raise ValueError(f"unknown threshold {name.strip()!r}")
                if number(value, whole=True) < 1:
                    raise ValueError(f"{name.strip()} must be at least 1, got {value.strip()}")
                setattr(rule, name.strip(), int(value))
            return rule
    except ValueError as e:
        raise BadInput(f"label rule {text!r}: {e}; expected {LABEL_RULE_HELP}") from None
    raise BadInput(f"label rule {text!r}: unknown kind {kind!r}; expected {LABEL_RULE_HELP}")


@dataclass
class SampleConfig:
    """Everything that decides a sample set; stored as JSON with it."""

    name: str = ""  # empty: named after the dataset
    label_rule: str = ""  # empty: 'clicks' for logs, the numeric label for pairs; see LABEL_RULE_HELP
    val_share: float = 0.1  # share of queries in the validation split
    test_share: float = 0.1  # share of queries in the test split
    cold_start_share: float = 0.0  # share of products held out of train (0 = none)
    seed: int = 0  # decides the split and the cold-start products

    def validate(self) -> None:
        for name in ("val_share", "test_share", "cold_start_share"):
            value = getattr(self, name)
            if not 0 <= value < 1:
                raise BadInput(f"{name} must be in [0, 1), got {value}")
        if self.val_share + self.test_share >= 1:
            raise BadInput(f"the validation and test shares ({self.val_share:g} + {self.test_share:g}) leave no queries for "
                           "train; keep their sum below 1")


def label_events(events: pd.DataFrame, rule: LabelRule) -> tuple[pd.DataFrame, dict]:
    """Per (query, product_id): positive when clicked or purchased, negative when shown only."""
    if events.empty:
        raise MissingData("the logs dataset has no search events; ingest search logs first")
    frame = events[["query", "product_id"]].copy()
    frame["query"] = frame["query"].astype(str).str.strip()
    frame["product_id"] = frame["product_id"].astype(str)
    for column in ("clicked", "purchased"):
        frame[column] = events[column].fillna(False).astype(bool) if column in events else False
    grouped = frame.groupby(["query", "product_id"], sort=False).agg(
        impressions=("clicked", "size"), clicks=("clicked", "sum"), purchases=("purchased", "sum")
    ).reset_index()
    positive = (grouped["clicks"] >= rule.min_clicks) | (grouped["purchases"] >= rule.min_purchases)
    negative = (grouped["clicks"] == 0) & (grouped["purchases"] == 0) & (grouped["impressions"] >= rule.min_impressions)
    grouped["label"] = np.where(positive, 1.0, np.where(negative, 0.0, np.nan))
    kept = grouped[grouped["label"].notna()]
    return kept[["query", "product_id", "label"]], {"ambiguous_pairs": int(len(grouped) - len(kept))}


def label_pairs(pairs: pd.DataFrame, rule: LabelRule) -> tuple[pd.DataFrame, dict]:
    """Apply a cut, a grade or a mapping to labeled pairs; duplicate pairs keep their mean label."""
    if pairs.empty:
        raise MissingData("the labeled pairs dataset has no rows; ingest labeled pairs first")
    frame = pairs[["query", "product_id"]].astype(str)
    frame["query"] = frame["query"].str.strip()
    numeric = pd.to_numeric(pairs["label"], errors="coerce").astype(float)
    if rule.kind == "map":
        raw = pairs["label_raw"].astype(str).str.strip()
        label = raw.map(rule.mapping).astype(float)
        unmapped = sorted(set(raw[label.isna()]))
        if len(unmapped) == len(raw.unique()):
            raise BadInput(
                f"label rule {rule.text()!r} maps none of the raw labels; the dataset has "
                f"{', '.join(map(repr, sorted(set(raw))[:8]))}"
            )
    else:
        if numeric.isna().all():
            raise BadInput(
                "the labeled pairs have no numeric labels; give a mapping such as --label-rule "
                f"'map:E=3,S=2,C=1,I=0' (raw labels: {', '.join(map(repr, sorted(set(pairs['label_raw'].astype(str)))[:8]))})"
            )
        label = numeric
    frame["label"] = label.to_numpy()
    stats = {"unlabeled_pairs": int(frame["label"].isna().sum())}
    frame = frame[frame["label"].notna()]
    before = len(frame)
    frame = frame.groupby(["query", "product_id"], sort=False, as_index=False)["label"].mean()
    stats["duplicate_pairs"] = before - len(frame)
    if rule.kind == "cut":
        frame["label"] = (frame["label"] >= rule.threshold).astype(float)
    elif rule.kind == "graded" and rule.round_grades:
        frame["label"] = frame["label"].round()
    return frame, stats


def plain_text(values: pd.Series) -> pd.Series:
    """Text as a shopper reads it: HTML character references decoded ("Briggs &amp; Stratton",
    "Baker&#39;s Rack": 2% of the Home Depot titles), which would otherwise reach the encoder and
    BM25 as the words "amp" and "39"; missing values become ""."""
    text = values.fillna("").astype(str)
    coded = text.str.contains("&", regex=False)
    return text.where(~coded, text[coded].map(html.unescape)).str.strip()


def product_texts(products: pd.DataFrame) -> pd.DataFrame:
    """product_id -> product_text (title, plus brand and category when present) and category."""
    frame = products.drop_duplicates("product_id")
    title = plain_text(frame["title"])
    text = title.copy()
    for column in ("brand", "category"):
        if column not in frame:
            continue
        value = plain_text(frame[column])
        # A brand already in the title adds nothing; "Toro | Toro ..." only makes the text longer.
        add = (value != "") & ~pd.Series(
            [v.casefold() in t.casefold() for v, t in zip(value, title)], index=frame.index, dtype=bool
        )
        text = text.where(~add, text + " | " + value)
    category = frame["category"] if "category" in frame else pd.Series(None, index=frame.index, dtype=object)
    return pd.DataFrame({"product_id": frame["product_id"].astype(str), "product_text": text, "category": category})


def split_by_query(frame: pd.DataFrame, config: SampleConfig) -> pd.Series:
    """'train' | 'val' | 'test' per row; every normalized query lands in exactly one split."""
    keys = query_keys(frame["query"])
    unique = np.sort(keys.unique())
    order = np.random.default_rng(config.seed).permutation(len(unique))
    n_test = int(round(len(unique) * config.test_share))
    n_val = int(round(len(unique) * config.val_share))
    labels = np.full(len(unique), "train", dtype=object)
    labels[order[:n_test]] = "test"
    labels[order[n_test : n_test + n_val]] = "val"
    return keys.map(dict(zip(unique, labels)))


def make_samples(labeled: pd.DataFrame, products: pd.DataFrame, config: SampleConfig, stats: dict | None = None):
    """Labeled (query, product_id, label) + products -> (samples frame, summary). No storage."""
    stats = dict(stats or {})
    texts = product_texts(products) if len(products) else pd.DataFrame(columns=["product_id", "product_text", "category"])
    frame = labeled.assign(query=plain_text(labeled["query"])).merge(texts, on="product_id", how="left")
    missing = frame["product_text"].isna() | (frame["product_text"].astype(str).str.strip() == "")
    stats["no_product_text"] = int(missing.sum())
    frame = frame[~missing]
    if frame.empty:
        raise MissingData("no sample has a product title; the pairs' products must be in the catalog (or carry titles)")
    frame = frame.sort_values(["query", "product_id"], kind="stable").reset_index(drop=True)
    frame["split"] = split_by_query(frame, config)

    # Cold start: a seeded share of products never in train; their val/test samples form the slice.
    # Picked among products seen in val/test, fewest train samples first (ties at random), so the
    # holdout costs train as few samples as it can, much like new products that nobody bought yet.
    frame["cold_start"] = False
    if config.cold_start_share > 0:
        n_cold = int(round(frame["product_id"].nunique() * config.cold_start_share))
        train_counts = frame.loc[frame["split"] == "train", "product_id"].value_counts()
        pool = pd.Series(np.sort(frame.loc[frame["split"] != "train", "product_id"].unique()))
        rng = np.random.default_rng([config.seed, 1])
        ranked = pd.DataFrame({"product_id": pool, "in_train": pool.map(train_counts).fillna(0).to_numpy(),
                               "tie": rng.random(len(pool))}).sort_values(["in_train", "tie"])
        cold = set(ranked["product_id"].iloc[:n_cold])
        frame["cold_start"] = frame["product_id"].isin(cold)
        in_train = frame["cold_start"] & (frame["split"] == "train")
        stats["cold_start_dropped_from_train"] = int(in_train.sum())
        frame = frame[~in_train].reset_index(drop=True)
    frame.insert(0, "sample_id", np.arange(len(frame), dtype=np.int64))
    return frame, summarize(frame, stats)


def summarize(frame: pd.DataFrame, stats: dict) -> dict:
    """Sizes, label balance, queries, products and cold-start counts of a samples frame."""
    summary = {split: int((frame["split"] == split).sum()) for split in ("train", "val", "test")}
    summary.update(
        samples=len(frame),
        queries=int(frame["query"].nunique()),
        products=int(frame["product_id"].nunique()),
        cold_start_products=int(frame.loc[frame["cold_start"], "product_id"].nunique()),
        cold_start_samples=int(frame["cold_start"].sum()),
        label_balance={
            split: {f"{k:g}": int(v) for k, v in part["label"].value_counts().sort_index().items()}
            for split, part in frame.groupby("split")
        },
        dropped=stats,
    )
    return summary


@dataclass
class SampleSetResult:
    sample_set_id: int
    summary: dict

    def as_dict(self) -> dict:
        keys = ("train", "val", "test", "cold_start_products")
        return {"sample_set_id": self.sample_set_id, **{k: self.summary[k] for k in keys}, "summary": self.summary}


def build_sample_set(dataset_id: int, config: SampleConfig | None = None, on_progress: Progress | None = None,
                     url: str | None = None) -> SampleSetResult:
    """Read a logs or pairs dataset, label, split, hold out cold-start products, store in one transaction."""
    from storage import datasets as stored
    from storage import samples as stored_samples
    from storage.db import begin

    config = config or SampleConfig()
    config.validate()
    report = on_progress or (lambda done, total, message: None)
    report(0, 4, "reading the dataset")
    with begin(url) as conn:
        dataset = stored.get_dataset(conn, dataset_id)
        kind = dataset["kind"]
        if kind == "catalog":
            raise BadInput(f"dataset {dataset_id} ({dataset['name']!r}) is a catalog; build samples from search logs or labeled pairs")
        rule = rule_for(config.label_rule, kind)
        catalog_id = dataset.get("catalog_dataset_id")
        products = stored.read_products(conn, dataset_id) if kind == "pairs" else pd.DataFrame()
        if catalog_id is not None:
            products = pd.concat([products, stored.read_products(conn, catalog_id)], ignore_index=True)
        raw = stored.read_events(conn, dataset_id) if kind == "logs" else stored.read_pairs(conn, dataset_id)
    report(1, 4, f"labelling {len(raw):,} rows")
    labeled, stats = (label_events if kind == "logs" else label_pairs)(raw, rule)
    report(2, 4, "splitting by query")
    frame, summary = make_samples(labeled, products, config, stats)
    check_trainable(frame, rule, config, raw)
    stored_config = dataclasses.asdict(config) | {"label_rule": rule.text(), "label_kind": rule.label_kind}
    report(3, 4, f"storing {len(frame):,} samples")
    with begin(url) as conn:
        name = config.name or f"{dataset['name']} samples"
        sample_set_id = stored_samples.create_sample_set(conn, name, dataset_id, stored_config, summary)
        stored_samples.insert_samples(conn, sample_set_id, frame)
    report(4, 4, "done")
    return SampleSetResult(sample_set_id, summary)



def check_trainable(frame: pd.DataFrame, rule: LabelRule, config: SampleConfig, raw: pd.DataFrame) -> None:
    """Refuse a sample set no model can learn from: one label in train (a cut above or below every
    raw label, logs with no click), or a val/test share so small that it rounds to no query."""
    train = frame.loc[frame["split"] == "train", "label"]
    if train.nunique() < 2:
        label = f"{train.iloc[0]:g}" if len(train) else "?"
        hint = "a model learns from two labels or more"
        numeric = pd.to_numeric(raw["label"], errors="coerce").dropna() if "label" in raw else pd.Series(dtype=float)
        if rule.kind == "cut" and len(numeric):
            hint += f": the raw labels run from {numeric.min():g} to {numeric.max():g}, so choose a cut above the lowest and at most the highest"
        elif rule.kind == "clicks":
            hint += ": the logs need pairs shown without a click (negatives) and clicked or bought pairs (positives)"
        raise BadInput(f"label rule {rule.text()!r} gives every train sample the label {label} ({len(train):,} samples); {hint}")
    queries = frame["query"].nunique()
    for split, share in (("val", config.val_share), ("test", config.test_share)):
        if share > 0 and not (frame["split"] == split).any():
            raise BadInput(f"{split} share {share:g} of {queries:,} queries rounds to no query; "
                           f"use at least {1 / queries:.2g}, or 0 for no {split} split")


def sample_sources(url: str | None = None) -> pd.DataFrame:
    """The datasets a sample set can be built from (search logs and labeled pairs), newest first,
    with `label` for a picker and `rule_example`, the label rule's form for that kind."""
    from storage import datasets as stored
    from storage.db import begin

    with begin(url) as conn:
        listed = stored.list_datasets(conn)
    sources = listed[listed["kind"].isin(["logs", "pairs"])].copy()
    sources["label"] = sources["id"].astype(str) + " " + sources["kind"] + ": " + sources["name"]
    sources["rule_example"] = sources["kind"].map(
        {"logs": "clicks:min_clicks=1,min_purchases=1,min_impressions=1", "pairs": "cut:2.5 or map:E=3,S=2,C=1,I=0"})
    return sources
