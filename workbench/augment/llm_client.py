"""Talking to a language model for llm.py: an OpenAI-compatible endpoint or a local causal LM.

Endpoint: POST {url}/chat/completions with {"model", "messages", "temperature", "max_tokens",
"seed"}; the answer is choices[0].message.content. Requests run `concurrency` at a time in
threads, starting no faster than `max_requests_per_s` (retries wait their backoff instead). A
connection error, timeout, HTTP 429 or 5xx is retried `max_retries` times by urllib3's `Retry`:
it waits 0, 2, 4, 8... times backoff_s, or what the server's Retry-After says (seconds or a
date). Other HTTP errors (401 bad key, 404 wrong URL or model) stop at once with a message that
says which setting to fix.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from workbench.errors import BadInput, MissingData, WorkbenchError


class EndpointFailed(WorkbenchError):
    """The LLM endpoint kept failing after every retry."""


def endpoint_settings(settings: dict) -> tuple[str, str, str]:
    """(url, model, api_key) from flat llm_* keys or a nested 'llm' dict; url without a trailing '/'."""
    nested = settings.get("llm") or {}
    url = settings.get("llm_url") or nested.get("url") or ""
    model = settings.get("llm_model") or nested.get("model") or ""
    key = settings.get("llm_api_key") or nested.get("api_key") or ""
    return str(url).rstrip("/"), str(model), str(key)


def complete_all(prompts: list[str], seeds: list[int], params, settings: dict, augmenter: str) -> list[str]:
    """One answer per prompt, in order, from the local model when params.local_model is set, else the endpoint."""
    if not prompts:
        return []
    if params.local_model:
        return _local(prompts, params, augmenter)
    url, model, key = endpoint_settings(settings or {})
    if not url or not model:
        raise MissingData(
            f"{augmenter} needs a language model: set the LLM endpoint URL and model in Settings "
            "(llm_url, e.g. http://127.0.0.1:8000/v1, and llm_model), or the local_model parameter"
        )
    limiter = _RateLimiter(params.max_requests_per_s)
    with ThreadPoolExecutor(max_workers=max(1, params.concurrency)) as pool:
        return list(pool.map(lambda job: _ask(url, model, key, job[0], job[1], params, limiter), zip(prompts, seeds)))


def _ask(url: str, model: str, key: str, prompt: str, seed: int, params, limiter: "_RateLimiter") -> str:
    import requests

    body = {"model": model, "messages": [{"role": "user", "content": prompt}], "temperature": params.temperature,
            "max_tokens": params.max_tokens, "seed": seed}
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    limiter.wait()
    with requests.Session() as session:
        session.mount(url, requests.adapters.HTTPAdapter(max_retries=_retry(params)))
        try:
            response = session.post(f"{url}/chat/completions", json=body, headers=headers, timeout=params.timeout_s)
        except requests.RequestException as e:
            problem = f"{e.__class__.__name__}: {e}"
        else:
            if response.status_code in RETRIED:  # still failing after the last retry
                problem = f"HTTP {response.status_code}"
            elif response.status_code >= 400:
                raise BadInput(f"LLM endpoint {url} answered HTTP {response.status_code} for model {model!r}: "
                               f"{response.text[:200]}; check llm_url, llm_model and llm_api_key in Settings")
            else:
                try:
                    return response.json()["choices"][0]["message"]["content"] or ""
                except (ValueError, KeyError, IndexError, TypeError):
                    raise BadInput(f"LLM endpoint {url} did not answer in the OpenAI chat-completions format: "
                                   f"{response.text[:200]}") from None
    raise EndpointFailed(f"LLM endpoint {url} failed {params.max_retries + 1} times ({problem}); is the server running?")


RETRIED = frozenset({429, *range(500, 600)})  # rate limited or a server error: worth another try


def _retry(params):
    """urllib3's Retry: connection errors, timeouts, 429 and 5xx, for POST too, waiting as the
    server's Retry-After says or backing off exponentially; the last response is returned, not raised."""
    from urllib3.util.retry import Retry

    return Retry(total=params.max_retries, backoff_factor=params.backoff_s, status_forcelist=RETRIED,
                 allowed_methods=None, respect_retry_after_header=True, raise_on_status=False)


class _RateLimiter:
    """At most `per_s` starts per second across threads."""

    def __init__(self, per_s: float):
        self.interval = 1.0 / per_s if per_s > 0 else 0.0
        self.next_at = 0.0
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next_at)
            self.next_at = start + self.interval
        if start > now:
            time.sleep(start - now)


def _local(prompts: list[str], params, augmenter: str) -> list[str]:
    """Greedy answers from a local causal LM, batched, left-padded; the chat template when it has one."""
    import torch

    from workbench.augment.hf import load

    model, tokenizer, device = load("causal-lm", params.local_model, augmenter)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    texts = []
    for prompt in prompts:
        if getattr(tokenizer, "chat_template", None):
            texts.append(tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True))
        else:
            texts.append(prompt + "\n")
    keep = {model.generation_config.eos_token_id, tokenizer.eos_token_id}
    suppress = [i for i in tokenizer.all_special_ids if i not in keep] or None  # no pad/unk/mask mid-answer
    out: list[str] = []
    for first in range(0, len(texts), params.batch_size):
        batch = texts[first: first + params.batch_size]
        inputs = tokenizer(batch, return_tensors="pt", padding=True, truncation=True, max_length=1024).to(device)
        inputs.pop("token_type_ids", None)
        with torch.inference_mode():
            generated = model.generate(**inputs, do_sample=False, min_new_tokens=1, max_new_tokens=params.max_tokens,
                                       pad_token_id=tokenizer.pad_token_id, suppress_tokens=suppress)
        out += tokenizer.batch_decode(generated[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    return out
