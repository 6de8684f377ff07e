"""Fine-tuning a sentence-pair classifier: config, data, model, loop, metrics, and the job worker.

Torch lives here (and in the model-based augmenters) only. See loop.py for the training loop and
worker.py for `python -m workbench.train --job-dir DIR`.
"""
