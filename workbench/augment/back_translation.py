"""Back-translation: translate the query to a pivot language and back for a paraphrase.

Technique: back-translation (Sennrich et al. 2016, arXiv 1511.06709; Yu et al. 2018, QANet;
Xie et al. 2020, UDA, arXiv 1904.12848). Built on transformers' own translation models
(AutoModelForSeq2SeqLM + generate), any pair of names in the local cache or local folders:
MarianMT (Helsinki-NLP/opus-mt-en-de and opus-mt-de-en; opus-mt-zh-en and en-zh for Chinese),
or T5-style models with a task prefix ("translate English to German: "). Batched, on the GPU
when present, under torch.inference_mode.

Determinism: beam search, no sampling, so the same query always gives the same outputs; the
forward pass returns `per_sample` pivot translations (the best beams), each translated back with
the best beam. Protected tokens (model codes, sizes) may not survive a translation; the
pipeline's "protected tokens intact" filter drops the candidates that lost one.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from workbench.augment.base import Augmenter, Candidate, Sample, SampleRandom


@dataclass
class BackTranslationParams:
    forward_model: str = field(default="", metadata={"help": "Model from the query's language to the pivot: a Hugging Face name in the local cache (e.g. Helsinki-NLP/opus-mt-en-de) or a local folder."})
    backward_model: str = field(default="", metadata={"help": "Model from the pivot back to the query's language (e.g. Helsinki-NLP/opus-mt-de-en)."})
    forward_prefix: str = field(default="", metadata={"help": "Text put before each query for the forward model (T5: 'translate English to German: ')."})
    backward_prefix: str = field(default="", metadata={"help": "Text put before each pivot text for the backward model."})
    per_sample: int = field(default=1, metadata={"help": "Candidates to make from each source sample (distinct pivot translations)."})
    num_beams: int = field(default=4, metadata={"help": "Beam width for both directions (at least per_sample)."})
    max_new_tokens: int = field(default=48, metadata={"help": "Longest translation, in tokens."})
    batch_size: int = field(default=32, metadata={"help": "Texts per generate call."})
    device: str = field(default="", metadata={"help": "'cuda' | 'mps' | 'cpu'; empty: the best one present."})


class BackTranslation(Augmenter):
    """Paraphrase the query by a round trip through another language ("cordless drill" -> "wireless drill").

    Args:
        forward_model, backward_model, forward_prefix, backward_prefix, per_sample, num_beams,
        max_new_tokens, batch_size, device: see Params help.
    Requirements: torch and transformers; two translation models available offline (none ships
        with the workbench). A missing model raises ModelUnavailable naming it.
    Inputs: Sample.query in the forward model's source language (English, Chinese, ...).
    Example:
        >>> BackTranslation(BackTranslation.Params(forward_model="Helsinki-NLP/opus-mt-en-de",
        ...     backward_model="Helsinki-NLP/opus-mt-de-en")).augment(train, SampleRandom(0, "back_translation"))
    """

    name = "back_translation"
    Params = BackTranslationParams
    keeps_product_words = True  # a translation cannot be steered: the filters drop one that lost a product word

    def augment(self, samples: list[Sample], rng: SampleRandom) -> list[Candidate]:
        from workbench.augment.hf import load

        p = self.params
        forward = load("seq2seq", p.forward_model, self.name + " (forward_model)", p.device or None)
        backward = load("seq2seq", p.backward_model, self.name + " (backward_model)", p.device or None)
        queries = list(dict.fromkeys(s.query for s in samples))  # each distinct query translated once
        n = max(1, p.per_sample)
        pivots = self._translate(forward, [p.forward_prefix + q for q in queries], n)
        flat = [p.backward_prefix + text for group in pivots for text in group]
        back = iter(self._translate(backward, flat, 1))
        round_trips = {q: [next(back)[0] for _ in group] for q, group in zip(queries, pivots)}
        out: list[Candidate] = []
        for sample in samples:
            options = [t for t in dict.fromkeys(round_trips[sample.query]) if t and t != sample.query]
            if not options:
                continue
            r = rng(sample.sample_id)
            for text in r.sample(options, min(n, len(options))):
                out.append(self.candidate(sample, rng, query=text))
        return out

    def _translate(self, loaded, texts: list[str], n: int) -> list[list[str]]:
        """For each text its n best translations (beam search), batched."""
        import torch

        model, tokenizer, device = loaded
        beams = max(self.params.num_beams, n)
        # Never emit unknown/mask/start tokens mid-text: they decode to nothing and waste the beam.
        keep = {model.generation_config.eos_token_id, model.generation_config.pad_token_id}
        suppress = [i for i in tokenizer.all_special_ids if i not in keep] or None
        out: list[list[str]] = []
        for first in range(0, len(texts), self.params.batch_size):
            batch = texts[first: first + self.params.batch_size]
            inputs = tokenizer(batch, padding=True, truncation=True, max_length=128, return_tensors="pt").to(device)
            inputs.pop("token_type_ids", None)  # BERT-style tokenizers add it; seq2seq models do not take it
            with torch.inference_mode():
                generated = model.generate(**inputs, num_beams=beams, num_return_sequences=n, do_sample=False,
                                           min_new_tokens=1, max_new_tokens=self.params.max_new_tokens,
                                           suppress_tokens=suppress)
            decoded = [" ".join(t.split()) for t in tokenizer.batch_decode(generated, skip_special_tokens=True)]
            out.extend(decoded[i * n:(i + 1) * n] for i in range(len(batch)))
        return out
