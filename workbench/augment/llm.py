"""LLM paraphrases of queries and LLM pseudo-queries for products.

Technique: generating training queries with a large language model, as InPars (Bonifacio et
al. 2022, arXiv 2202.05144) and Promptagator (Dai et al. 2022, arXiv 2209.11755) do for
documents, and LLM paraphrasing for augmentation (AugGPT, Dai et al. 2023, arXiv 2302.13007).

Two back ends, chosen by the settings:
- an OpenAI-compatible chat-completions endpoint (vLLM, Ollama, llama.cpp server, or a hosted
  one): context.settings["llm_url"] (base URL such as http://127.0.0.1:8000/v1), ["llm_model"],
  ["llm_api_key"] (or a nested settings["llm"] = {"url", "model", "api_key"}). The key is never
  copied into the candidates' params;
- a local transformers causal LM: the `local_model` parameter (a name in the cache or a folder),
  greedy decoding, batched.

Requests go out `concurrency` at a time (servers such as vLLM batch concurrent requests), at most
`max_requests_per_s`, and a failed one (connection error, HTTP 429 or 5xx) is retried up to
`max_retries` times with exponential backoff. The prompts are parameters: the page shows them and
the user edits them. Each request carries a seed drawn from the sample's generator, so a server
that honours `seed` answers the same way twice; provenance records everything else.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

import pandas as pd

from workbench.augment.base import Augmenter, Candidate, Sample, SampleRandom
from workbench.augment.llm_client import complete_all
from workbench.augment.pseudo_queries import assign_unsearched
from workbench.augment.catalog import prepared, product_text_map

PARAPHRASE_PROMPT = (
    "You help an online shop's search team. Write {n} different ways a shopper might type the search "
    "query below, keeping exactly the same intent: the same product type, brand, size, model number and "
    "colour. Keep numbers, units and model codes as they are. Reply with one query per line, no numbering, "
    "no quotes, nothing else.\n\nQuery: {query}"
)
PSEUDO_QUERY_PROMPT = (
    "You help an online shop's search team. Write {n} different short search queries (2 to 6 words) that a "
    "shopper looking for this product might type. Vary them: product type, brand, key attributes. Reply with "
    "one query per line, no numbering, no quotes, nothing else.\n\nTitle: {title}\nBrand: {brand}\n"
    "Category: {category}\nAttributes: {attributes}"
)


@dataclass
class LLMParams:
    per_sample: int = field(default=2, metadata={"help": "Queries to ask for per query (paraphrase) or per product (pseudo-query)."})
    prompt: str = field(default=PARAPHRASE_PROMPT, metadata={"help": "The prompt; {query} and {n} are filled in ({title}, {brand}, {category}, {attributes} for products)."})
    temperature: float = field(default=0.7, metadata={"help": "Sampling temperature sent to the endpoint (the local model decodes greedily)."})
    max_tokens: int = field(default=128, metadata={"help": "Longest answer, in tokens."})
    concurrency: int = field(default=4, metadata={"help": "Requests in flight at once."})
    max_requests_per_s: float = field(default=5.0, metadata={"help": "Rate limit on requests to the endpoint."})
    max_retries: int = field(default=4, metadata={"help": "Retries of a failed request (connection error, HTTP 429 or 5xx)."})
    backoff_s: float = field(default=1.0, metadata={"help": "Backoff: retries wait 0, 2, 4, 8... times this, unless the server sends Retry-After."})
    timeout_s: float = field(default=60.0, metadata={"help": "Time to wait for one answer."})
    local_model: str = field(default="", metadata={"help": "Use this local transformers causal LM instead of the endpoint (name in the cache or folder)."})
    batch_size: int = field(default=8, metadata={"help": "Prompts per generate call for the local model."})


@dataclass
class PseudoQueryLLMParams(LLMParams):
    prompt: str = field(default=PSEUDO_QUERY_PROMPT, metadata={"help": "The prompt; {title}, {brand}, {category}, {attributes} and {n} are filled in."})
    max_products: int = field(default=2000, metadata={"help": "At most this many never-searched products (lowest product ids first)."})


class LLMParaphrase(Augmenter):
    """Paraphrases of the query from a large language model ("couch cover" -> "sofa slipcover").

    Args:
        prompt (editable; {query}, {n}), per_sample, temperature, max_tokens, concurrency,
        max_requests_per_s, max_retries, backoff_s, timeout_s, local_model, batch_size: see Params help.
    Requirements: an OpenAI-compatible endpoint in the settings (llm_url, llm_model, llm_api_key)
        or `local_model`; a clear MissingData error says which is missing. The endpoint is the
        only network use of the workbench and it is the user's own.
    Inputs: Sample.query in any language the model knows; each distinct query is asked once.
    Example:
        >>> LLMParaphrase(context=AugmentContext(settings={"llm_url": "http://127.0.0.1:8000/v1",
        ...     "llm_model": "qwen2.5-7b-instruct"})).augment(train, SampleRandom(0, "llm_paraphrase"))
    """

    name = "llm_paraphrase"
    Params = LLMParams
    keeps_product_words = True  # the filters drop a paraphrase that lost a word the product's text has

    def augment(self, samples: list[Sample], rng: SampleRandom) -> list[Candidate]:
        first: dict[str, Sample] = {}
        for sample in samples:
            first.setdefault(sample.query, sample)
        prompts = [self.params.prompt.format(query=q, n=self.params.per_sample) for q in first]
        # The request seed hangs on the query and the recipe seed, not on which sample came first,
        # so that batching does not change what is asked.
        seeds = [_text_seed(rng.seed, q) for q in first]
        answers = dict(zip(first, complete_all(prompts, seeds, self.params, self.context.settings, self.name)))
        out: list[Candidate] = []
        for sample in samples:
            for text in parse_lines(answers[sample.query], exclude=sample.query)[: self.params.per_sample]:
                out.append(self.candidate(sample, rng, query=text))
        return out


class LLMPseudoQuery(Augmenter):
    """Queries a shopper might type for products nobody has searched for, from a large language model.

    Args:
        prompt (editable; {title}, {brand}, {category}, {attributes}, {n}), per_sample,
        max_products and the request settings: see Params help.
    Requirements: as LLMParaphrase, plus context.products and context.samples. Products are
        chosen as in pseudo_query: catalog products in no sample of any split, never val/test or
        cold-start ones (those are held out on purpose), each tied to a train sample for provenance.
    Inputs: the train samples (anchors). Output field 'query', label = the highest label.
    Example:
        >>> LLMPseudoQuery(context=ctx).augment(train, SampleRandom(0, "llm_pseudo_query"))
    """

    name = "llm_pseudo_query"
    Params = PseudoQueryLLMParams
    edits_source = False
    from_catalog = True

    def augment(self, samples: list[Sample], rng: SampleRandom) -> list[Candidate]:
        top, chosen, _ = assign_unsearched(self, samples, self.params.max_products)
        jobs = []
        for sample_id, rows in chosen.items():
            r = rng(sample_id)
            jobs += [(sample_id, row, r.getrandbits(31)) for row in rows]
        prompts = [self.params.prompt.format(n=self.params.per_sample, title=_field(row, "title"), brand=_field(row, "brand"),
                                             category=_field(row, "category"), attributes=_field(row, "attributes"))
                   for _, row, _ in jobs]
        answers = complete_all(prompts, [seed for *_, seed in jobs], self.params, self.context.settings, self.name)
        texts = prepared(self, "texts", lambda: product_text_map(self.context))
        by_id = {s.sample_id: s for s in samples}
        out: list[Candidate] = []
        for (sample_id, row, _), answer in zip(jobs, answers):
            pid = str(row["product_id"])
            for text in parse_lines(answer, exclude=_field(row, "title"))[: self.params.per_sample]:
                out.append(self.candidate(by_id[sample_id], rng, field="query", original=_field(row, "title"), query=text,
                                          product_id=pid, product_text=texts.get(pid, _field(row, "title")), label=top))
        return out


def parse_lines(answer: str, exclude: str = "") -> list[str]:
    """Queries from a model's answer: one a line, numbering, bullets and quotes removed, deduplicated."""
    out: list[str] = []
    for line in (answer or "").splitlines():
        text = re.sub(r"^\s*(?:[-*•]|\d+[.)]|[(]\d+[)])\s*", "", line).strip().strip("\"'“”‘’`").strip()
        if not text or len(text) > 200 or text.endswith(":") or text.casefold() == exclude.casefold():
            continue
        if text not in out:
            out.append(text)
    return out


def _text_seed(seed: int, text: str) -> int:
    digest = hashlib.blake2b(f"{seed}:{text}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") >> 1


def _field(row: pd.Series, name: str) -> str:
    value = row.get(name)
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
