"""Model-based augmenters on tiny random-config models the tests build and save: masked-LM
substitution (a tiny BertForMaskedLM) and back-translation (a tiny MarianMT forward, a tiny
T5 backward), with BERT word-piece tokenizers from a small vocabulary. The outputs are random
words: these tests check determinism, provenance, protected tokens and errors, not quality."""
import re

import pytest

from workbench.augment import Sample, SampleRandom, get
from workbench.errors import ModelUnavailable

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + (
    "cordless drill battery saw blade electric power hammer wireless mouse sofa couch cover lamp light bulb red blue grey "
    "手 机 壳 无 线 蓝 牙 耳 降 噪 透 明 电 钻").split()
SAMPLES = [
    Sample(1, "cordless drill 20V", "P1", "Acme drill", 1.0),
    Sample(2, "无线蓝牙耳机", "P2", "耳机", 1.0),
    Sample(3, "Wireless mouse M185", "P3", "Mouse", 0.0),
]


def _tokenizer(folder):
    from transformers import BertTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    return BertTokenizer(str(folder / "vocab.txt"), do_lower_case=True)


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    import torch
    from transformers import BertConfig, BertForMaskedLM

    folder = tmp_path_factory.mktemp("tiny-bert")
    torch.manual_seed(0)
    tokenizer = _tokenizer(folder)
    config = BertConfig(vocab_size=len(VOCAB), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64)
    BertForMaskedLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def tiny_translators(tmp_path_factory):
    import torch
    from transformers import MarianConfig, MarianMTModel, T5Config, T5ForConditionalGeneration

    ids = dict(vocab_size=len(VOCAB), pad_token_id=0, eos_token_id=3, decoder_start_token_id=2)
    torch.manual_seed(1)
    forward = tmp_path_factory.mktemp("tiny-marian")
    MarianMTModel(MarianConfig(d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                               decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32,
                               max_position_embeddings=64, forced_eos_token_id=3, **ids)).save_pretrained(forward)
    _tokenizer(forward).save_pretrained(forward)
    backward = tmp_path_factory.mktemp("tiny-t5")
    torch.manual_seed(2)
    T5ForConditionalGeneration(T5Config(d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2, **ids)).save_pretrained(backward)
    _tokenizer(backward).save_pretrained(backward)
    return str(forward), str(backward)


def test_masked_lm_is_deterministic_and_keeps_protected_tokens(tiny_bert):
    cls = get("masked_lm")
    params = cls.Params(model=tiny_bert, per_sample=2, batch_size=2)
    first = cls(params).augment(SAMPLES, SampleRandom(7, "masked_lm"))
    assert [(c.sample_id, c.query) for c in first] == MASKED_EXPECTED
    again = [c for s in reversed(SAMPLES) for c in cls(params).augment([s], SampleRandom(7, "masked_lm"))]
    assert sorted((c.sample_id, c.query) for c in again) == sorted(MASKED_EXPECTED)
    for c in first:
        assert (c.augmenter, c.seed, c.field, c.params["model"]) == ("masked_lm", 7, "query", tiny_bert)
        assert c.original == SAMPLES[c.sample_id - 1].query and c.label == SAMPLES[c.sample_id - 1].label
        assert ("20V" in c.query) == ("20V" in c.original) and ("M185" in c.query) == ("M185" in c.original)


MASKED_EXPECTED = [  # "drill" and "mouse" are in their product's text: never masked (issue 11)
    (1, "blue drill 20V"), (2, "无线蓝牙无机"), (2, "无线蓝无耳机"), (3, "Hammer mouse M185"),
]


def test_masked_lm_fills_a_chinese_slot_with_a_chinese_character(tiny_bert):
    cls = get("masked_lm")
    for c in cls(cls.Params(model=tiny_bert, per_sample=3)).augment(SAMPLES[1:2], SampleRandom(0, "masked_lm")):
        assert len(c.query) == len(c.original) and re.fullmatch("[\u4e00-\u9fff]+", c.query)


def test_back_translation_is_deterministic_with_provenance(tiny_translators):
    forward, backward = tiny_translators
    cls = get("back_translation")
    params = cls.Params(forward_model=forward, backward_model=backward, per_sample=2, max_new_tokens=4, batch_size=2)
    first = cls(params).augment(SAMPLES, SampleRandom(7, "back_translation"))
    assert [(c.sample_id, c.query) for c in first] == BACK_EXPECTED
    again = cls(params).augment(list(reversed(SAMPLES)), SampleRandom(7, "back_translation"))
    assert sorted((c.sample_id, c.query) for c in again) == sorted(BACK_EXPECTED)
    for c in first:
        assert (c.augmenter, c.field, c.params["forward_model"], c.params["backward_model"]) == ("back_translation", "query", forward, backward)


BACK_EXPECTED = [  # random weights repeat a word; two beams give two round trips per query
    (1, "明 明 明 明"), (1, "电 电 电 电"), (2, "明 明 明 明"), (2, "电 电 电 电"), (3, "明 明 明 明"), (3, "电 电 电 电"),
]


@pytest.mark.parametrize("name,params,message", [
    ("masked_lm", {}, "masked_lm needs a model: set its 'model' parameter to a Hugging Face name in your local cache or a local folder"),
    ("masked_lm", {"model": "no-such-org/no-such-model"}, "masked_lm: cannot load masked-lm model 'no-such-org/no-such-model' offline"),
    ("back_translation", {"forward_model": "no-such-org/en-de"}, "back_translation (forward_model): cannot load seq2seq model 'no-such-org/en-de' offline"),
])
def test_missing_models_are_named(name, params, message):
    cls = get(name)
    with pytest.raises(ModelUnavailable, match=re.escape(message)):
        cls(cls.Params(**params)).augment(SAMPLES, SampleRandom(0, name))


def test_a_folder_without_config_is_refused(tmp_path):
    cls = get("masked_lm")
    with pytest.raises(ModelUnavailable, match=re.escape(f"model folder {tmp_path} has no config.json")):
        cls(cls.Params(model=str(tmp_path))).augment(SAMPLES, SampleRandom(0, "masked_lm"))
