"""Loading models for the model-based augmenters and the encoder: offline, cached, on the best device.

Any Hugging Face model name (it must be in the local cache: HF_HUB_OFFLINE=1) or local folder.
A name that cannot be loaded raises ModelUnavailable saying which augmenter, which model and
what to do, instead of a transformers stack trace.
"""
from __future__ import annotations

import threading

from workbench.errors import ModelUnavailable
from workbench.models import pick_device, resolve_model

_LOADED: dict[tuple[str, str, str], tuple[object, object, str]] = {}
_LOCK = threading.Lock()
AUTO_CLASSES = {"masked-lm": "AutoModelForMaskedLM", "seq2seq": "AutoModelForSeq2SeqLM", "causal-lm": "AutoModelForCausalLM"}
SENTENCE_ENCODER = "sentence-encoder"  # a SentenceTransformer (its own pooling); its tokenizer is model.tokenizer


def load(kind: str, name: str, augmenter: str, device: str | None = None):
    """(model, tokenizer, device) for `name`, loaded once per process; model in eval mode."""
    if not name:
        raise ModelUnavailable(
            f"{augmenter} needs a model: set its 'model' parameter to a Hugging Face name in your local cache "
            "or a local folder holding a saved transformers model"
        )
    import transformers

    transformers.utils.logging.disable_progress_bar()  # no tqdm bars on the CLI's stderr
    device = pick_device(device)
    key = (kind, name, device)
    with _LOCK:
        if key in _LOADED:
            return _LOADED[key]
        path = resolve_model(name)
        try:
            if kind == SENTENCE_ENCODER:
                from sentence_transformers import SentenceTransformer

                model = SentenceTransformer(path, device=device, local_files_only=True)
                tokenizer = model.tokenizer
            else:
                tokenizer = transformers.AutoTokenizer.from_pretrained(path)
                model = getattr(transformers, AUTO_CLASSES[kind]).from_pretrained(path)
        except (OSError, ValueError, KeyError) as e:
            raise ModelUnavailable(
                f"{augmenter}: cannot load {kind} model {name!r} offline ({e.__class__.__name__}: {str(e).splitlines()[0]}); "
                "give a local folder or a name already in the Hugging Face cache"
            ) from e
        model.to(device).eval()
        _LOADED[key] = (model, tokenizer, device)
        return _LOADED[key]
