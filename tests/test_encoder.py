"""The label-preservation encoder: the real bundled MiniLM, unit vectors, each text encoded once."""
import numpy as np
import pytest

from workbench.augment.encoder import TextEncoder, get_encoder
from workbench.errors import ModelUnavailable


@pytest.fixture(scope="module")
def encoder():
    return get_encoder()


def test_encode_returns_unit_float32_vectors(encoder):
    vectors = encoder.encode(["cordless drill", "无线蓝牙耳机", ""])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_similar_texts_score_higher_than_unrelated_ones(encoder):
    close, far = encoder.similarity(["cordless drill", "cordless drill"], ["cordless drill driver", "queen bed sheets"])
    assert 0.0 <= far < close <= 1.0
    assert encoder.similarity(["sofa cover"], ["sofa cover"])[0] == pytest.approx(1.0, abs=1e-5)


def test_each_distinct_text_is_encoded_once_and_cached(encoder, monkeypatch):
    batches = []
    forward = encoder._forward
    monkeypatch.setattr(encoder, "_forward", lambda batch: batches.append(list(batch)) or forward(batch))
    texts = ["garden hose 50 ft", "lawn mower", "garden hose 50 ft", "lawn mower"]
    first = encoder.encode(texts)
    second = encoder.encode(texts[:2])
    assert batches == [["garden hose 50 ft", "lawn mower"]]  # longest first, duplicates once, second call cached
    np.testing.assert_array_equal(first[0], first[2])
    np.testing.assert_array_equal(second, first[:2])


def test_batches_do_not_change_the_vectors(encoder):
    texts = ["a", "much longer product title with many words in it", "mid length query"]
    small = TextEncoder(batch_size=1)
    np.testing.assert_allclose(small.encode(texts), encoder.encode(texts), atol=1e-5)


def test_encoder_reports_progress():
    seen = []
    TextEncoder(batch_size=2).encode(["one", "two", "three"], on_progress=lambda done, total, message: seen.append((done, total)))
    assert seen == [(2, 3), (3, 3)]


def test_get_encoder_is_cached_per_model(encoder):
    assert get_encoder() is encoder


def test_similarity_needs_pairs(encoder):
    with pytest.raises(ValueError, match="similarity needs two lists of the same length, got 1 and 2"):
        encoder.similarity(["a"], ["b", "c"])


def test_a_missing_model_folder_says_what_to_do(tmp_path):
    with pytest.raises(ModelUnavailable, match="has no config.json"):
        TextEncoder(str(tmp_path))


def mean_pooled(texts: list[str], model_dir) -> np.ndarray:
    """The reference, by hand from the raw transformer: mean over the attention mask, then L2 norm
    (Sentence-BERT's recipe, what the encoder did before it used sentence-transformers)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer, model = AutoTokenizer.from_pretrained(model_dir), AutoModel.from_pretrained(model_dir)
    inputs = tokenizer(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**inputs).last_hidden_state
    mask = inputs["attention_mask"].unsqueeze(-1).float()
    return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()


def test_vectors_are_the_bundled_models_mean_pooled_unit_vectors(encoder, bundled_model_dir):
    texts = ["cordless drill", "无线蓝牙耳机", "", "much longer product title with many words in it " * 20]
    np.testing.assert_allclose(encoder.encode(texts), mean_pooled(texts, bundled_model_dir), atol=1e-5)


def test_an_encoder_name_not_in_the_local_cache_says_so():
    with pytest.raises(ModelUnavailable, match="^encoder: cannot load sentence-encoder model 'no-such-org/no-such-encoder' offline"):
        TextEncoder("no-such-org/no-such-encoder")
