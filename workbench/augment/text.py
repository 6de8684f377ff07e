"""Text helpers shared by the augmenters: tokens, protected tokens, Chinese segmentation.

Protected tokens are the parts of a product query that must survive augmentation exactly:
numbers with their units and sizes ("128gb", "3/4 in.", "2x4", "1.5 ft"), model codes ("M185",
"XPS-13", "DW1100") and upper-case acronyms ("LED", "HDMI"). A typo in "128gb" turns a correct
query into one for a different product, so augmenters never touch them and the pipeline's
"protected tokens intact" filter checks that each one is still there.

Product words: a query word that also occurs in the product's text ("sheffield" in a query for a
Sheffield vanity) decides what the query is about, so every augmenter that rewrites a query
(`Augmenter.keeps_product_words`) leaves it alone: `kept_words(query, product_text)` are those
words, normalised as workbench.lexical.words does (case, accents, simple plurals), `locked(token,
kept)` says whether a token holds one, and the filters drop a rewrite that lost one anyway (back-
translation and LLM paraphrases cannot be steered). `protected_words` lists what was left alone
(protected tokens and product words) for the review table.

Tokens: `split_tokens(text)` splits on whitespace, keeps a protected span ("3/4 in.") as one
token, and (with `cjk_words=True`) segments runs of Chinese characters into words with jieba.
`join_like(tokens, spaced)` puts them back with the original spacing; `join_tokens(tokens)`
guesses it: a space between tokens, none between two CJK tokens.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Words a rewrite never picks to replace: changing them changes nothing a shopper means.
STOPWORDS = frozenset("a an and are as at be by for from in into is it of on or the to with without".split())
CJK_RE = re.compile(f"[{CJK}]")

_UNITS = (
    r"(?:in|inch|inches|ft|feet|foot|yd|mm|cm|m|km|mi|gb|tb|mb|kb|ghz|mhz|hz|mah|oz|fl\.?\s?oz|lb|lbs|kg|g|mg|"
    r"ml|l|gal|gallon|gallons|qt|pt|w|kw|v|volt|volts|amp|amps|a|watt|watts|pk|pack|ct|count|pc|pcs|piece|"
    r"pieces|sq|cu|btu|psi|rpm|gauge|ga|awg|mp|k|p|x|\"|'|%|°|寸|英寸|厘米|毫米|米|克|千克|斤|升|毫升|瓦|伏|个|只|件|包)"
)
# Order matters: at each position the first alternative that matches wins. Lookarounds name
# ASCII letters and digits, not \\w, so that "手机128gb" still protects "128gb".
PROTECTED_RE = re.compile(
    "|".join([
        # a number (3, 3.5, 3/4, 1-1/2, 2x4) with an optional unit: "3/4 in." "128gb" "12 v" "5米"
        rf"(?<![A-Za-z0-9.])\d+(?:[.,/\-]\d+)*(?:\s?[x×*]\s?\d+(?:[.,/\-]\d+)*)*"
        rf"(?:\s?(?i:{_UNITS})\.?(?![A-Za-z]))?",
        # a word holding digits: model codes and sizes such as M185, XPS-13, DW1100, i7, 4K
        r"(?<![A-Za-z0-9])[A-Za-z\-]*\d[A-Za-z0-9\-/]*",
        # upper-case acronyms and codes: LED, HDMI, USB-C (up to 6 letters; an all-caps query is not all codes)
        r"(?<![A-Za-z0-9])[A-Z][A-Z\-]{1,5}(?![A-Za-z0-9])",
    ])
)


def match_case(source: str, word: str) -> str:
    """`word` capitalised like the word it replaces: 'Rug' -> 'Carpet', 'rug' -> 'carpet'."""
    if source[:1].isupper() and word[:1].islower():
        return word[:1].upper() + word[1:]
    return word


def has_cjk(text: str) -> bool:
    return CJK_RE.search(text) is not None


def is_cjk_token(token: str) -> bool:
    return bool(token) and CJK_RE.match(token) is not None


def protected_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each protected token in `text`, left to right, not overlapping."""
    return [(m.start(), m.end()) for m in _protected_matches(text)]


def protected_tokens(text: str) -> list[str]:
    """The protected tokens of `text` as they appear, e.g. ['128gb', '3/4 in.', 'M185']."""
    return [text[a:b] for a, b in protected_spans(text)]


def protected_intact(original: str, augmented: str) -> bool:
    """True when every protected token of `original` still appears in `augmented`, as often."""
    tokens = protected_tokens(original)
    return all(augmented.count(t) >= tokens.count(t) for t in set(tokens))


def _protected_matches(text: str):
    shouting = text.isupper() and len(text) > 12  # a query typed in capitals: its words are not codes
    for m in PROTECTED_RE.finditer(text):
        token = m.group()
        if token.strip("-") and (any(c.isdigit() for c in token) or not shouting):
            yield m


@lru_cache(maxsize=65536)
def _normalised_words(text: str) -> frozenset[str]:
    from workbench.lexical import words as lexical_words

    return frozenset(lexical_words(text))


def kept_words(query: str, product_text: str) -> frozenset[str]:
    """The query's normalised words that also occur in the product's text: a rewrite keeps them."""
    return _normalised_words(query) & _normalised_words(product_text)


def locked(token: str, kept: frozenset[str]) -> bool:
    """True when `token` holds one of the `kept` words (kept_words), so a rewrite must not change it."""
    return bool(kept) and not _normalised_words(token).isdisjoint(kept)


def kept_intact(original: str, product_text: str, rewritten: str) -> bool:
    """Every word the source query shares with the product's text is still in the rewrite."""
    return kept_words(original, product_text) <= _normalised_words(rewritten)


def protected_words(query: str, product_text: str) -> list[str]:
    """The query's tokens a rewrite leaves alone: protected tokens (numbers, units, codes) and the
    words the product's text also has, in query order, for the review table."""
    tokens, protected, _ = split_tokens(query)
    kept = kept_words(query, product_text)
    return [t for t in tokens if t in protected or locked(t, kept)]


class Tokens(NamedTuple):
    tokens: list[str]
    protected: frozenset[str]  # the protected tokens among `tokens`
    spaced: list[bool]  # spaced[i]: the text had whitespace before tokens[i]


@lru_cache(maxsize=65536)
def _split_cached(text: str, cjk_words: bool) -> tuple[tuple[str, ...], frozenset[str], tuple[bool, ...]]:
    pieces: list[tuple[int, int, bool]] = []  # (start, end, protected)
    position = 0
    for start, end in protected_spans(text):
        pieces.extend((m.start() + position, m.end() + position, False) for m in _NON_BLANK.finditer(text[position:start]))
        pieces.append((start, end, True))
        position = end
    pieces.extend((m.start() + position, m.end() + position, False) for m in _NON_BLANK.finditer(text[position:]))
    tokens: list[str] = []
    protected: set[str] = set()
    spaced: list[bool] = []
    previous_end = 0
    for start, end, is_protected in pieces:
        piece = text[start:end]
        if is_protected:
            piece = " ".join(piece.split())
            protected.add(piece)
            parts = [piece]
        elif cjk_words and has_cjk(piece):
            parts = segment_cjk(piece)
        else:
            parts = [piece]
        for k, part in enumerate(parts):
            tokens.append(part)
            spaced.append(k == 0 and start > previous_end)
        previous_end = end
    return tuple(tokens), frozenset(protected), tuple(spaced)


_NON_BLANK = re.compile(r"\S+")


def split_tokens(text: str, cjk_words: bool = True) -> Tokens:
    """Tokens of `text`, which of them are protected, and where the text had spaces.

    cjk_words: segment Chinese runs into words with jieba (word-level operations); False keeps a
    run as one token so that character-level operations work inside it.
    """
    tokens, protected, spaced = _split_cached(text, cjk_words)
    return Tokens(list(tokens), protected, list(spaced))


def join_like(tokens: list[str], spaced: list[bool]) -> str:
    """Tokens back to text with the original spacing (`spaced` from split_tokens, same positions).

    An emptied token (a deleted word) leaves one space where any of the gaps around it had one.
    """
    if len(tokens) != len(spaced):
        return join_tokens(tokens)
    out = ""
    pending_space = False
    for token, space in zip(tokens, spaced):
        pending_space = pending_space or space
        if not token:
            continue
        if out and pending_space:
            out += " "
        out += token
        pending_space = False
    return out


def segment_cjk(text: str) -> list[str]:
    """Words of a piece holding Chinese text, by jieba (precise mode), without blanks."""
    import jieba

    _quiet_jieba()
    return [w for w in jieba.lcut(text, HMM=True) if w.strip()]


@lru_cache(maxsize=1)
def _quiet_jieba() -> None:
    # jieba logs "Building prefix dict..." at INFO on first use; keep the CLI's stderr clean.
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()


def join_tokens(tokens: list[str]) -> str:
    """Tokens back to text: one space between tokens, none between two CJK tokens."""
    out = ""
    previous = ""
    for token in tokens:
        if not token:
            continue
        if out and not (_ends_cjk(previous) and is_cjk_token(token)):
            out += " "
        out += token
        previous = token
    return out


def _ends_cjk(token: str) -> bool:
    return bool(token) and CJK_RE.match(token[-1]) is not None


def words(text: str) -> list[str]:
    """Lower-cased word tokens for vocabularies and overlap: jieba words for Chinese, else \\w+ runs."""
    out: list[str] = []
    for run in re.findall(rf"[{CJK}]+|[^\W_]+", text.lower()):
        out.extend(segment_cjk(run) if has_cjk(run) else [run])
    return out
