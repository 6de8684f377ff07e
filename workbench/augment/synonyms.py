"""Synonym replacement on the query: WordNet synonyms and a domain synonym table the user uploads.

Technique: synonym replacement, the first operation of EDA (Wei & Zou 2019, arXiv 1901.11196;
Zhang et al. 2015 used WordNet's thesaurus for text classification). For product search the
senses are limited to the most frequent one(s), and only when they name things a shop sells
(WordNet's noun.artifact, food, object, substance and shape files, and adjectives): "rug" gives
"carpet", while "mouse" (first sense: the rodent) gives nothing rather than a wrong word. A merchant's own table ("sofa,couch", "手机,移动电话")
is usually better than WordNet; it works for any language, Chinese included (jieba word
boundaries). WordNet is English only: Chinese queries get no WordNet candidate.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from workbench.augment.base import Augmenter, Candidate, Sample, SampleRandom
from workbench.augment.catalog import prepared
from workbench.augment.text import (CJK, STOPWORDS, has_cjk, join_like, kept_words, locked, match_case,
                                    protected_spans, segment_cjk, split_tokens)
from workbench.augment.wordnet import PRODUCT_LEX_FILES, load_wordnet
from workbench.errors import BadInput, MissingData


@dataclass
class WordNetParams:
    per_sample: int = field(default=1, metadata={"help": "Candidates to make from each source sample."})
    pos: str = field(default="n,a", metadata={"help": "Parts of speech to look up, in order: n, a, v, r (comma separated)."})
    max_senses: int = field(default=1, metadata={"help": "Use the synonyms of this many most frequent senses."})
    product_senses_only: bool = field(default=True, metadata={"help": "Only senses that name products (artifacts, food, substances, shapes) and adjectives."})
    wordnet_dir: str = field(default="", metadata={"help": "Folder with WordNet 3.0's index.* and data.* files; empty: the one `make wordnet` installed."})


class WordNetSynonym(Augmenter):
    """Replace one word of the query by a WordNet synonym ("rug pad" -> "carpet pad").

    Args:
        per_sample, pos, max_senses, product_senses_only, wordnet_dir: see Params help.
    Requirements: WordNet 3.0's data files (`make wordnet` puts them in .venv/share/wordnet-3.0);
        a clear MissingData error names the folder and the fix when they are absent. Offline.
    Inputs: Sample.query, English. Protected tokens, stopwords and words under 3 letters stay.
        A plural keeps its plural ("rugs" -> "carpets").
    Example:
        >>> WordNetSynonym().augment([Sample(1, "rug pad", "p1", "...", 1.0)], SampleRandom(0, "wordnet_synonym"))
    """

    name = "wordnet_synonym"
    Params = WordNetParams
    runs_in_pool = True  # WordNet's files are read in each process; no model
    keeps_product_words = True

    def augment(self, samples: list[Sample], rng: SampleRandom) -> list[Candidate]:
        wn = load_wordnet(self.params.wordnet_dir or None)
        lex_files = PRODUCT_LEX_FILES if self.params.product_senses_only else None
        parts = [p.strip() for p in self.params.pos.split(",") if p.strip()]
        bad = [p for p in parts if p not in ("n", "a", "v", "r")]
        if bad:
            raise BadInput(f"wordnet_synonym: pos must be letters from n, a, v, r; got {self.params.pos!r}")
        cache: dict[str, list[str]] = prepared(self, "options", dict)

        def options(token: str) -> list[str]:
            if token not in cache:
                found: list[str] = []
                for pos in parts:
                    base = wn.base_form(token, pos)
                    if base:
                        plural = pos == "n" and base != token.lower() and token.lower().endswith("s")
                        found += [_pluralise(s) if plural else s for s in wn.synonyms(base, pos, self.params.max_senses, lex_files)]
                cache[token] = [match_case(token, s) for s in dict.fromkeys(found)]
            return cache[token]

        out: list[Candidate] = []
        for sample in samples:
            tokens, protected, spaced = split_tokens(sample.query)
            kept = kept_words(sample.query, sample.product_text)
            slots = [i for i, t in enumerate(tokens) if t not in protected and t.isalpha() and len(t) >= 3
                     and t.lower() not in STOPWORDS and not has_cjk(t) and not locked(t, kept) and options(t)]
            out += _replace_in_slots(self, sample, rng, tokens, spaced, slots, options)
        return out


def _replace_in_slots(aug: Augmenter, sample: Sample, rng: SampleRandom, tokens, spaced, slots, options) -> list[Candidate]:
    out: list[Candidate] = []
    if not slots:
        return out
    r = rng(sample.sample_id)
    seen = {sample.query}
    for _ in range(aug.params.per_sample):
        i = r.choice(slots)
        new = list(tokens)
        new[i] = r.choice(options(tokens[i]))
        text = join_like(new, spaced)
        if text not in seen:
            seen.add(text)
            out.append(aug.candidate(sample, rng, query=text))
    return out


def _pluralise(word: str) -> str:
    if " " in word or word.endswith("s"):
        return word
    if word.endswith(("x", "z", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


@dataclass
class DomainParams:
    per_sample: int = field(default=1, metadata={"help": "Candidates to make from each source sample."})
    table_path: str = field(default="", metadata={"help": "CSV file with columns term, synonym (UTF-8 or GB18030), one pair a line."})
    both_ways: bool = field(default=True, metadata={"help": "Also replace the synonym by the term."})


class DomainSynonym(Augmenter):
    """Replace a term of the query by a synonym from the merchant's own table ("sofa" -> "couch").

    Args:
        table_path: the CSV (columns term, synonym); several lines may share a term.
        both_ways: the table is symmetric when True.
        per_sample: see Params help.
    Requirements: the table; nothing else. Offline.
    Inputs: Sample.query in any language. Terms match whole words, case-insensitively; in
        Chinese a term must start and end on jieba word boundaries. Matches that overlap a
        protected token or hold a word the product's text also has are skipped.
    Example:
        >>> DomainSynonym(DomainSynonym.Params(table_path="synonyms.csv")).augment(samples, SampleRandom(0, "domain_synonym"))
    """

    name = "domain_synonym"
    Params = DomainParams
    runs_in_pool = True
    keeps_product_words = True

    def augment(self, samples: list[Sample], rng: SampleRandom) -> list[Candidate]:
        if not self.params.table_path:
            raise MissingData("domain_synonym needs a synonym table: set table_path to a CSV with columns term, synonym")
        table = prepared(self, "table", lambda: read_synonym_table(self.params.table_path, both_ways=self.params.both_ways))
        pattern = prepared(self, "pattern", lambda: _table_pattern(table))
        out: list[Candidate] = []
        for sample in samples:
            kept = kept_words(sample.query, sample.product_text)
            matches = [(a, b) for a, b in _matches(pattern, sample.query) if not locked(sample.query[a:b], kept)]
            if not matches:
                continue
            r = rng(sample.sample_id)
            seen = {sample.query}
            for _ in range(self.params.per_sample):
                start, end = r.choice(matches)
                synonym = match_case(sample.query[start:end], r.choice(table[sample.query[start:end].lower()]))
                text = sample.query[:start] + synonym + sample.query[end:]
                if text not in seen:
                    seen.add(text)
                    out.append(self.candidate(sample, rng, query=text))
        return out


def read_synonym_table(source: str | Path, both_ways: bool = True) -> dict[str, list[str]]:
    """term (lower case) -> synonyms, from a CSV with columns term, synonym; errors name file and line."""
    path = Path(source)
    if not path.exists():
        raise MissingData(f"synonym table {path} not found; upload a CSV with columns term, synonym")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gb18030", errors="strict")
    reader = csv.DictReader(io.StringIO(text))
    columns = {(c or "").strip().lower(): c for c in reader.fieldnames or []}
    if "term" not in columns or "synonym" not in columns:
        raise BadInput(f"{path.name}: needs columns 'term' and 'synonym', found {list(reader.fieldnames or [])}")
    table: dict[str, list[str]] = {}
    for row in reader:
        term = (row[columns["term"]] or "").strip()
        synonym = (row[columns["synonym"]] or "").strip()
        if not term or not synonym:
            raise BadInput(f"{path.name}, line {reader.line_num}: empty {'term' if not term else 'synonym'}; every line needs both")
        pairs = [(term, synonym), (synonym, term)] if both_ways else [(term, synonym)]
        for a, b in pairs:
            if a.lower() != b.lower() and b not in table.setdefault(a.lower(), []):
                table[a.lower()].append(b)
    if not table:
        raise BadInput(f"{path.name}: no synonym pairs; add lines such as 'sofa,couch'")
    return table


def _table_pattern(table: dict[str, list[str]]) -> re.Pattern:
    terms = sorted(table, key=len, reverse=True)  # the longest term wins ("dish washer" over "dish")
    alternatives = [re.escape(t) if has_cjk(t) else rf"(?<![A-Za-z0-9]){re.escape(t)}(?![A-Za-z0-9])" for t in terms]
    return re.compile("|".join(alternatives), re.IGNORECASE)


def _matches(pattern: re.Pattern, text: str) -> list[tuple[int, int]]:
    protected = protected_spans(text)
    boundaries = _jieba_boundaries(text) if has_cjk(text) else None
    found = []
    for m in pattern.finditer(text):
        a, b = m.span()
        if any(a < pe and ps < b for ps, pe in protected):
            continue
        if boundaries is not None and re.match(f"[{CJK}]", m.group()) and not (a in boundaries and b in boundaries):
            continue
        found.append((a, b))
    return found


def _jieba_boundaries(text: str) -> set[int]:
    """Character offsets where a jieba word (or a non-Chinese stretch) starts or ends."""
    cuts = {0, len(text)}
    for m in re.finditer(f"[{CJK}]+", text):
        position = m.start()
        cuts.add(position)
        for word in segment_cjk(m.group()):
            position += len(word)
            cuts.add(position)
    return cuts
