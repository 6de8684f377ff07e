"""Synonym augmenters: WordNet 3.0 from its own files, and the merchant's synonym table (CSV)."""
import re

import pytest

from workbench.augment import Sample, SampleRandom, get
from workbench.augment.synonyms import read_synonym_table
from workbench.augment.wordnet import WordNet, load_wordnet
from workbench.errors import BadInput, MissingData

QUERIES = ["grey sofa cover", "Sofa 3 seat", "dish washer 24 in.", "couch", "无线蓝牙耳机", "华为手机 128gb", "手机壳", "耳机128gb"]
SAMPLES = [Sample(i, q, f"P{i}", "title", 1.0) for i, q in enumerate(QUERIES)]


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "synonyms.csv"
    path.write_text("term,synonym\nsofa,couch\n手机,移动电话\ndish washer,dishwasher\n耳机,耳麦\n", encoding="utf-8")
    return path


def test_wordnet_reader_finds_product_synonyms_in_sense_order():
    wn = load_wordnet()
    assert wn.synonyms("rug", "n") == ["carpet", "carpeting"]
    assert wn.synonyms("sofa", "n") == ["couch", "lounge"]
    # Adjectives' syntactic markers are not words: "flush(p)" was the word itself, leaked into queries.
    assert wn.synonyms("flush", "a", max_senses=3) == ["affluent", "loaded", "moneyed", "wealthy"]
    assert wn.synonyms("model", "a", max_senses=3) == ["exemplary"]
    assert wn.base_form("shelves", "n") == "shelf" and wn.base_form("mice", "n") == "mouse"
    assert wn.synonyms("mouse", "n", lex_files=frozenset({6})) == []  # first sense is the rodent: skipped, not replaced


def test_wordnet_synonym_exact_seeded_output():
    candidates = get("wordnet_synonym")().augment(SAMPLES, SampleRandom(7, "wordnet_synonym"))
    assert {c.sample_id: c.query for c in candidates} == {0: "grey lounge cover", 1: "Lounge 3 seat", 3: "lounge"}
    assert all(c.field == "query" and c.augmenter == "wordnet_synonym" and c.seed == 7 for c in candidates)


def test_wordnet_keeps_plurals_and_protected_tokens():
    samples = [Sample(1, "rugs 5x7", "P", "t", 1.0), Sample(2, "large flower pots", "P", "t", 1.0)]
    candidates = get("wordnet_synonym")().augment(samples, SampleRandom(0, "wordnet_synonym"))
    assert {c.sample_id: c.query for c in candidates} == {1: "carpets 5x7", 2: "big flower pots"}


def test_wordnet_gives_nothing_for_chinese():
    chinese = [s for s in SAMPLES if re.search("[\u4e00-\u9fff]", s.query)]
    assert get("wordnet_synonym")().augment(chinese, SampleRandom(7, "wordnet_synonym")) == []


def test_missing_wordnet_data_says_how_to_install_it(tmp_path):
    message = (f"WordNet 3.0 data not found in {tmp_path} (missing index.noun, data.noun, index.verb, data.verb, "
               "index.adj, data.adj, index.adv, data.adv); run `make wordnet` to install it, or set "
               "WORKBENCH_WORDNET_DIR to a folder holding WordNet 3.0's index.* and data.* files")
    with pytest.raises(MissingData, match=re.escape(message)):
        WordNet(tmp_path)
    cls = get("wordnet_synonym")
    with pytest.raises(MissingData, match="run `make wordnet`"):
        cls(cls.Params(wordnet_dir=str(tmp_path))).augment(SAMPLES, SampleRandom(0, "wordnet_synonym"))


def test_domain_synonym_exact_seeded_output_english_and_chinese(table):
    cls = get("domain_synonym")
    candidates = cls(cls.Params(table_path=str(table))).augment(SAMPLES, SampleRandom(7, "domain_synonym"))
    assert {c.sample_id: c.query for c in candidates} == {
        0: "grey couch cover", 1: "Couch 3 seat", 2: "dishwasher 24 in.", 3: "sofa",
        4: "无线蓝牙耳麦", 5: "华为移动电话 128gb", 6: "移动电话壳", 7: "耳麦128gb",
    }


def test_domain_synonym_one_way_and_jieba_boundaries(tmp_path):
    path = tmp_path / "one_way.csv"
    path.write_text("Term,Synonym\n蓝牙,无线\nsofa,couch\n", encoding="utf-8")
    cls = get("domain_synonym")
    samples = [Sample(1, "couch", "P", "t", 1.0), Sample(2, "蓝牙耳机", "P", "t", 1.0), Sample(3, "sofabed", "P", "t", 1.0)]
    candidates = cls(cls.Params(table_path=str(path), both_ways=False)).augment(samples, SampleRandom(0, "domain_synonym"))
    assert [(c.sample_id, c.query) for c in candidates] == [(2, "无线耳机")]


@pytest.mark.parametrize("content,message", [
    ("word,other\nsofa,couch\n", "synonyms.csv: needs columns 'term' and 'synonym', found ['word', 'other']"),
    ("term,synonym\nsofa,couch\nlamp,\n", "synonyms.csv, line 3: empty synonym; every line needs both"),
    ("term,synonym\n", "synonyms.csv: no synonym pairs; add lines such as 'sofa,couch'"),
])
def test_bad_synonym_tables_name_the_file_and_line(tmp_path, content, message):
    path = tmp_path / "synonyms.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(BadInput, match=re.escape(message)):
        read_synonym_table(path)


def test_synonym_table_reads_gb18030(tmp_path):
    path = tmp_path / "synonyms.csv"
    path.write_bytes("term,synonym\n手机,移动电话\n".encode("gb18030"))
    assert read_synonym_table(path) == {"手机": ["移动电话"], "移动电话": ["手机"]}


def test_domain_synonym_without_a_table_says_so():
    with pytest.raises(MissingData, match=re.escape("domain_synonym needs a synonym table: set table_path to a CSV with columns term, synonym")):
        get("domain_synonym")().augment(SAMPLES, SampleRandom(0, "domain_synonym"))
