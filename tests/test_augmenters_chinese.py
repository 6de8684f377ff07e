"""A Chinese catalog goes through every offline augmenter: jieba words for word-level operations,
characters for character-level ones, exact seeded outputs for the domain augmenters."""
import json
import re

import pandas as pd
import pytest

from workbench.augment import REGISTRY, AugmentContext, Sample, SampleRandom, get

CJK = re.compile("[\u4e00-\u9fff]")
PRODUCTS = pd.DataFrame([
    ("C1", "华为无线蓝牙耳机 降噪", "耳机", "华为", {"颜色": "黑色"}),
    ("C2", "小米蓝牙耳机 运动", "耳机", "小米", {"颜色": "白色"}),
    ("C3", "索尼头戴式耳机", "耳机", "索尼", {"颜色": "黑色"}),
    ("C4", "苹果iPhone15手机壳 透明", "手机配件", "苹果", {"材质": "硅胶"}),
    ("C5", "华为手机壳 硅胶", "手机配件", "华为", {"材质": "硅胶"}),
    ("C6", "小米充电器 65W", "手机配件", "小米", {"颜色": "白色"}),
    ("C7", "索尼降噪耳机 头戴", "耳机", "索尼", {"颜色": "黑色"}),
], columns=["product_id", "title", "category", "brand", "attributes"]).assign(attributes=lambda f: f["attributes"].map(json.dumps))
EVENTS = pd.DataFrame([
    ("蓝牙耳机", "C1", True), ("蓝牙耳机", "C2", True), ("蓝牙耳机", "C3", False),
    ("无线耳机", "C1", True), ("无线耳机", "C2", True), ("无线耳机", "C7", False),
    ("手机壳", "C4", True), ("手机壳", "C5", True),
    ("透明手机壳", "C4", True), ("透明手机壳", "C5", True), ("透明手机壳", "C6", False),
], columns=["query", "product_id", "clicked"]).assign(purchased=False)
TITLES = dict(zip(PRODUCTS["product_id"], PRODUCTS["title"]))
ROWS = [(1, "蓝牙耳机", "C1", 1.0, "train"), (2, "蓝牙耳机", "C2", 1.0, "train"), (3, "蓝牙耳机", "C3", 0.0, "train"),
        (4, "手机壳", "C4", 1.0, "train"), (5, "手机壳", "C5", 1.0, "train"), (6, "华为耳机 降噪 128gb", "C1", 1.0, "train"),
        (7, "透明手机壳", "C4", 1.0, "test")]
SAMPLES = pd.DataFrame([(i, q, p, TITLES[p], PRODUCTS.set_index("product_id").loc[p, "category"], label, split, False)
                        for i, q, p, label, split in ROWS],
                       columns=["sample_id", "query", "product_id", "product_text", "category", "label", "split", "cold_start"])
TRAIN = [Sample(r.sample_id, r.query, r.product_id, r.product_text, r.label, r.category) for r in SAMPLES[SAMPLES.split == "train"].itertuples()]
CONTEXT = AugmentContext(products=PRODUCTS, events=EVENTS, samples=SAMPLES)
MODEL_BASED = {"masked_lm", "back_translation", "llm_paraphrase", "llm_pseudo_query"}  # tested with Chinese in their own files


@pytest.fixture(scope="module")
def synonym_table(tmp_path_factory):
    path = tmp_path_factory.mktemp("table") / "synonyms.csv"
    path.write_text("term,synonym\n耳机,耳麦\n手机壳,保护套\n", encoding="utf-8")
    return str(path)


def params_for(name, table):
    cls = get(name)
    extra = {"domain_synonym": {"table_path": table}, "embedding_neighbour": {"min_count": 1, "min_similarity": 0.0},
             "hard_negative": {"min_query_overlap": 0.3},
             # BM25's words (workbench.lexical) keep a Chinese run whole: the encoder ranks Chinese catalogs.
             "mined_negative": {"ranker": "encoder"}}.get(name, {})
    return cls.Params(**extra)


@pytest.mark.parametrize("name", sorted(set(REGISTRY) - MODEL_BASED))
def test_every_offline_augmenter_handles_a_chinese_catalog(name, synonym_table):
    cls = get(name)
    first = cls(params_for(name, synonym_table), CONTEXT).augment(TRAIN, SampleRandom(3, name))
    again = cls(params_for(name, synonym_table), CONTEXT).augment(TRAIN, SampleRandom(3, name))
    assert [(c.sample_id, c.query, c.product_id) for c in first] == [(c.sample_id, c.query, c.product_id) for c in again]
    if name in ("keyboard_typo", "wordnet_synonym"):  # no keyboard map / no English words here: nothing, no error
        assert first == []
        return
    assert first, f"{name} made nothing from a Chinese catalog"
    for c in first:
        assert CJK.search(c.query) and c.augmenter == name and c.seed == 3
        assert "128gb" in c.query or "128gb" not in c.original or c.field != "query"
        assert c.product_id not in {"C6", "C7"} or name in ("pseudo_query", "hard_negative", "mined_negative")  # new pairings


def test_chinese_domain_outputs(synonym_table):
    def run(name):
        cls = get(name)
        return [(c.sample_id, c.query, c.product_id, c.label) for c in cls(params_for(name, synonym_table), CONTEXT).augment(TRAIN, SampleRandom(3, name))]

    assert run("query_rewrite") == [(1, "无线耳机", "C1", 1.0), (2, "无线耳机", "C2", 1.0)]  # '透明手机壳' is a test query
    # C6 was passed over for the close query '透明手机壳' (jieba: 透明/手机壳) and shares the category
    assert run("hard_negative") == [(4, "手机壳", "C6", 0.0), (5, "手机壳", "C6", 0.0)]
    assert run("pseudo_query") == PSEUDO
    assert run("domain_synonym") == DOMAIN
    assert run("word_delete") == WORD_DELETE


PSEUDO = [(5, "小米 65w", "C6", 1.0), (5, "充电器 65w", "C6", 1.0), (1, "黑色降噪耳机", "C7", 1.0), (1, "降噪耳机", "C7", 1.0)]
DOMAIN = [(1, "蓝牙耳麦", "C1", 1.0), (2, "蓝牙耳麦", "C2", 1.0), (3, "蓝牙耳麦", "C3", 0.0), (4, "保护套", "C4", 1.0),
          (5, "保护套", "C5", 1.0), (6, "华为耳麦 降噪 128gb", "C1", 1.0)]
WORD_DELETE = [(1, "耳机", "C1", 1.0), (2, "耳机", "C2", 1.0), (3, "耳机", "C3", 0.0), (4, "壳", "C4", 1.0), (5, "壳", "C5", 1.0),
               (6, "华为耳机 128gb", "C1", 1.0)]
