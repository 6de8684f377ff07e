"""Masked-LM substitution: mask one word of the query and let a masked language model refill it.

Technique: contextual augmentation (Kobayashi 2018, arXiv 1805.06201; Wu et al. 2019,
"Conditional BERT contextual augmentation"), the idea behind nlpaug's ContextualWordEmbsAug,
which breaks under transformers 5; this runs transformers' own fill-mask model
(AutoModelForMaskedLM) directly: any BERT/RoBERTa-family name in the local cache or a local
folder, batched, on the GPU when present, under torch.inference_mode.

Determinism: which word is masked and which of the top-k fillers is taken are drawn from the
per-sample random generator; the model's forward pass is deterministic in eval mode.
English: a whole word (3+ letters) is masked; Chinese: one character (Chinese BERTs are
character-level). Protected tokens, words the product's text also has and stopwords are never masked.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from workbench.augment.base import Augmenter, Candidate, Sample, SampleRandom
from workbench.augment.text import CJK, STOPWORDS, kept_words, locked, match_case, protected_spans
from workbench.errors import ModelUnavailable

_SLOT = re.compile(f"[A-Za-z]{{3,}}|[{CJK}]")
_FILLER = re.compile(f"^(?:[A-Za-z]{{2,}}|[{CJK}])$")


@dataclass
class MaskedLMParams:
    model: str = field(default="", metadata={"help": "Masked language model: a Hugging Face name in the local cache (e.g. bert-base-uncased, bert-base-chinese) or a local folder."})
    per_sample: int = field(default=1, metadata={"help": "Candidates to make from each source sample (each masks a different word)."})
    top_k: int = field(default=5, metadata={"help": "Draw the filler among this many most likely words."})
    batch_size: int = field(default=32, metadata={"help": "Masked queries per forward pass."})
    max_length: int = field(default=64, metadata={"help": "Tokens per query; longer queries are cut."})
    device: str = field(default="", metadata={"help": "'cuda' | 'mps' | 'cpu'; empty: the best one present."})


class MaskedLM(Augmenter):
    """Replace one query word by a masked language model's guess ("cordless drill" -> "electric drill").

    Args:
        model, per_sample, top_k, batch_size, max_length, device: see Params help.
    Requirements: torch and transformers; a masked language model available offline (no default
        ships: the bundled MiniLM has no MLM head). A missing or unsuitable model raises
        ModelUnavailable naming it.
    Inputs: Sample.query, English (word-level) or Chinese (character-level).
    Example:
        >>> MaskedLM(MaskedLM.Params(model="bert-base-uncased")).augment(train, SampleRandom(0, "masked_lm"))
    """

    name = "masked_lm"
    Params = MaskedLMParams
    keeps_product_words = True

    def augment(self, samples: list[Sample], rng: SampleRandom) -> list[Candidate]:
        from workbench.augment.hf import load

        model, tokenizer, device = load("masked-lm", self.params.model, self.name, self.params.device or None)
        if tokenizer.mask_token is None:
            raise ModelUnavailable(f"masked_lm: model {self.params.model!r} has no mask token; choose a masked language model (BERT, RoBERTa)")
        jobs = []  # (sample, its generator, start, end) of each word to mask
        for sample in samples:
            kept = kept_words(sample.query, sample.product_text)
            slots = [(a, b) for a, b in _slots(sample.query) if not locked(sample.query[a:b], kept)]
            if not slots:
                continue
            r = rng(sample.sample_id)
            for start, end in r.sample(slots, min(self.params.per_sample, len(slots))):
                jobs.append((sample, r, start, end))
        out: list[Candidate] = []
        seen: dict[int, set[str]] = {}
        for first in range(0, len(jobs), self.params.batch_size):
            batch = jobs[first: first + self.params.batch_size]
            texts = [s.query[:a] + tokenizer.mask_token + s.query[b:] for s, _, a, b in batch]
            for (sample, r, a, b), fillers in zip(batch, self._fill(model, tokenizer, device, texts, batch)):
                if not fillers:
                    continue
                word = sample.query[a:b]
                text = sample.query[:a] + match_case(word, r.choice(fillers)) + sample.query[b:]
                if text not in seen.setdefault(sample.sample_id, {sample.query}):
                    seen[sample.sample_id].add(text)
                    out.append(self.candidate(sample, rng, query=text))
        return out

    def _fill(self, model, tokenizer, device, texts, batch) -> list[list[str]]:
        """The top-k usable fillers of the (first) mask in each text, most likely first."""
        import torch

        inputs = tokenizer(texts, padding=True, truncation=True, max_length=self.params.max_length, return_tensors="pt").to(device)
        with torch.inference_mode():
            logits = model(**inputs).logits
        special = set(tokenizer.all_special_ids)
        out = []
        for row, (sample, _, a, b) in enumerate(batch):
            positions = (inputs["input_ids"][row] == tokenizer.mask_token_id).nonzero()
            if len(positions) == 0:  # the mask fell beyond max_length
                out.append([])
                continue
            scores = logits[row, positions[0, 0]]
            original = sample.query[a:b].lower()
            fillers: list[str] = []
            for token_id in torch.topk(scores, min(len(scores), self.params.top_k * 4 + 8)).indices.tolist():
                if token_id in special:
                    continue
                piece = tokenizer.convert_ids_to_tokens(token_id)
                word = tokenizer.convert_tokens_to_string([piece]).strip()
                if piece.startswith("##") or not _FILLER.match(word) or word.lower() == original or word in fillers \
                        or _is_cjk(word) != _is_cjk(original):  # keep the script: a Chinese slot gets a Chinese filler
                    continue
                fillers.append(word)
                if len(fillers) >= self.params.top_k:
                    break
            out.append(fillers)
        return out


def _is_cjk(word: str) -> bool:
    return bool(re.match(f"[{CJK}]", word))


def _slots(text: str) -> list[tuple[int, int]]:
    """Maskable spans: English words of 3+ letters (not stopwords), single Chinese characters."""
    protected = protected_spans(text)
    slots = []
    for m in _SLOT.finditer(text):
        a, b = m.span()
        if any(a < pe and ps < b for ps, pe in protected) or m.group().lower() in STOPWORDS:
            continue
        if (a > 0 and text[a - 1].isalnum() and not re.match(f"[{CJK}]", m.group())) or (b < len(text) and text[b].isdigit()):
            continue  # part of a longer token such as 'abc123'
        slots.append((a, b))
    return slots
