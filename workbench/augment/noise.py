"""Text noise on the query, through nlpaug 1.1.11: typos, OCR confusions, character and word edits.

Technique: character- and word-level noise for robustness, as in Belinkov & Bisk 2018
("Synthetic and natural noise both break neural machine translation", arXiv 1711.02173) and
Wei & Zou 2019 (EDA, arXiv 1901.11196), implemented by nlpaug's KeyboardAug, OcrAug,
RandomCharAug, RandomWordAug and SplitAug.

Product-safe defaults:
- protected tokens (numbers with units, sizes, model codes, acronyms; see text.py) are handed
  to nlpaug as that text's stopwords, so no operation touches them;
- no random upper-casing: KeyboardAug and RandomCharAug draw lower-case replacements only, and
  nlpaug's capitalisation alignment on word swap/delete is switched off;
- Chinese: word-level operations see jieba words; character-level ones see a run of Chinese
  characters as one token and edit inside it (min_char drops to 2 for text holding Chinese).
  KeyboardAug has no mapping for Chinese characters, so a Chinese-only query gets no keyboard
  typo; OcrAug adds a table of visually confusable Chinese characters (己/已, 未/末, ...).

Determinism: nlpaug draws from the global `random` and `numpy.random` state through its
`sample()` and `prob()` methods. The `_Seeded` mixin below overrides exactly those two on our
subclasses of nlpaug's public classes to draw from the per-sample `random.Random` instead, so
no global state is read or written and a sample's output does not depend on batch or order.
One augmenter instance must not be shared between threads (the pipeline uses processes).
"""
from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field
from typing import Any, ClassVar

import nlpaug.augmenter.char as nac
import nlpaug.augmenter.word as naw
from nlpaug.util import Action

from workbench.augment.base import Augmenter, Candidate, Sample, SampleRandom
from workbench.augment.text import has_cjk, is_cjk_token, join_like, kept_words, locked, split_tokens

# Visually confusable Chinese characters for OCR noise (each group maps every member to the others).
CJK_OCR_GROUPS = ["己已巳", "未末", "日曰", "人入八", "土士", "大太犬", "天夭", "王玉主", "贝见", "刀力",
                  "干千于", "午牛", "自白", "木本术", "今令", "免兔", "戊戌戍", "拨拔", "候侯", "狠狼",
                  "暑署", "析折", "即既", "辨辩辫", "鸟乌", "采釆", "茶荼", "灸炙", "冶治", "汩汨",
                  "蓝篮", "手毛", "牙互", "机杌", "线钱", "壳亮"]
LATIN_OCR = {"0": ["o", "O"], "1": ["l", "I"], "2": ["z"], "5": ["s"], "6": ["b"], "8": ["B"], "9": ["g", "q"],
             "o": ["u"], "r": ["k"], "m": ["rn"], "C": ["G"], "O": ["D", "U"], "E": ["B"]}


def ocr_table() -> dict[str, list[str]]:
    table = {k: list(v) for k, v in LATIN_OCR.items()}
    for group in CJK_OCR_GROUPS:
        for ch in group:
            table[ch] = [other for other in group if other != ch]
    return table


class _Seeded:
    """Mixin for nlpaug augmenters: draw from `self.rng` (a per-sample random.Random)."""

    rng: random.Random

    def sample(self, x, num=None):
        if isinstance(x, list):
            return self.rng.sample(x, num)
        # nlpaug: np.random.randint(1, x - 1), high exclusive; a 2-char Chinese word splits at 1.
        return self.rng.randint(1, max(1, x - 2))

    def prob(self):
        return self.rng.random()

    def align_capitalization(self, src_token, dest_token):
        return dest_token  # never change case (product-safe: no upper-casing)


class _Keyboard(_Seeded, nac.KeyboardAug):
    pass


class _Ocr(_Seeded, nac.OcrAug):
    pass


class _Char(_Seeded, nac.RandomCharAug):
    pass


class _Word(_Seeded, naw.RandomWordAug):
    def change_case(self, doc, original_word_idx, swap_word_idx, change_seq):
        # A plain swap: nlpaug's version re-capitalises the first word, which is upper-casing.
        a = doc.get_token(original_word_idx).get_latest_token().token
        b = doc.get_token(swap_word_idx).get_latest_token().token
        doc.add_change_log(original_word_idx, new_token=b, action=Action.SWAP, change_seq=self.parent_change_seq + change_seq)
        doc.add_change_log(swap_word_idx, new_token=a, action=Action.SWAP, change_seq=self.parent_change_seq + change_seq)
        return doc


class _Split(_Seeded, naw.SplitAug):
    def skip_aug(self, token_idxes, tokens):
        return [i for i in token_idxes if len(tokens[i]) >= (2 if is_cjk_token(tokens[i]) else self.min_char)]


@dataclass
class NoiseParams:
    per_sample: int = field(default=1, metadata={"help": "Candidates to make from each source sample."})
    word_p: float = field(default=0.3, metadata={"help": "Share of words changed (at least one)."})
    word_max: int = field(default=1, metadata={"help": "At most this many words changed per candidate."})
    char_max: int = field(default=1, metadata={"help": "At most this many characters changed per word."})
    min_char: int = field(default=4, metadata={"help": "Words shorter than this stay as they are (2 for Chinese)."})
    rate: float = field(default=1.0, metadata={"help": "Share of the source samples (positives and negatives alike) that get candidates; typo-aware training sets it to the share of typos in the logs (the Augment page shows the estimate)."})


class _Noise(Augmenter):
    """Shared loop: per sample, `per_sample` tries of one nlpaug operation on the query."""

    Params = NoiseParams
    runs_in_pool = True
    word_level: ClassVar[bool] = False  # jieba words (True) or whole Chinese runs (False) as tokens

    def __init__(self, params: Any = None, context=None):
        super().__init__(params, context)
        self._augs: dict[str, Any] = {}

    def params_dict(self) -> dict[str, Any]:
        # dataclasses.asdict per candidate was a fifth of the run time on 100,000 samples.
        return dict(self._params_cache)

    def augment(self, samples: list[Sample], rng: SampleRandom) -> list[Candidate]:
        self._params_cache = dataclasses.asdict(self.params)
        out: list[Candidate] = []
        for sample in samples:
            r = rng(sample.sample_id)
            if self.params.rate < 1.0 and r.random() >= self.params.rate:
                continue  # typo-aware training: only this share of the samples, positives and negatives alike
            seen = {sample.query}
            kept = kept_words(sample.query, sample.product_text) if self.keeps_product_words else frozenset()
            for _ in range(self.params.per_sample):
                text = self.apply(sample.query, r, kept)
                if text and text not in seen:
                    seen.add(text)
                    out.append(self.candidate(sample, rng, query=text))
        return out

    def apply(self, text: str, r: random.Random, kept: frozenset[str] = frozenset()) -> str:
        """One noisy version of `text`, drawing only from `r`; protected tokens and tokens holding a
        `kept` word (text.kept_words) untouched."""
        if not text or not text.strip():
            return text
        tokens, protected, spaced = split_tokens(text, cjk_words=self.word_level)
        action = self.choose_action(r)
        aug = self._augs.get(action) or self._augs.setdefault(action, self.build(action))
        aug.rng = r
        aug.stopwords = protected | {t for t in tokens if locked(t, kept)} if kept else protected
        aug.tokenizer = lambda _text: list(tokens)
        aug.reverse_tokenizer = lambda new: join_like(_align(new, tokens), spaced)
        aug.min_char = 2 if has_cjk(text) else self.params.min_char
        return getattr(aug, action)(text)

    def choose_action(self, r: random.Random) -> str:
        return self.action

    def char_kwargs(self) -> dict[str, Any]:
        p = self.params
        return dict(aug_word_p=p.word_p, aug_word_min=1, aug_word_max=p.word_max, aug_char_min=1,
                    aug_char_max=p.char_max, aug_char_p=0.3, min_char=p.min_char)

    def word_kwargs(self) -> dict[str, Any]:
        p = self.params
        return dict(aug_p=p.word_p, aug_min=1, aug_max=p.word_max)


class KeyboardTypo(_Noise):
    """Keyboard typos: a letter replaced by a neighbouring key on a QWERTY keyboard (nlpaug KeyboardAug).

    Args:
        per_sample, word_p, word_max, char_max, min_char: see Params help.
    Requirements: nlpaug (installed). Offline.
    Inputs: Sample.query. Latin letters only: digits, symbols and upper-case are never produced.
    Example:
        >>> KeyboardTypo().augment([Sample(1, "cordless drill", "p1", "...", 1.0)], SampleRandom(0, "keyboard_typo"))
    """

    name = "keyboard_typo"
    action = "substitute"

    def build(self, action):
        return _Keyboard(include_special_char=False, include_numeric=False, include_upper_case=False, **self.char_kwargs())


class OcrConfusion(_Noise):
    """OCR confusions: characters read as look-alikes (l/1, o/0, m/rn; 己/已, 未/末) (nlpaug OcrAug).

    Args:
        per_sample, word_p, word_max, char_max, min_char: see Params help.
    Requirements: nlpaug (installed). Offline.
    Inputs: Sample.query, English or Chinese.
    Example:
        >>> OcrConfusion().augment(samples, SampleRandom(0, "ocr_confusion"))
    """

    name = "ocr_confusion"
    action = "substitute"

    def build(self, action):
        return _Ocr(dict_of_path=ocr_table(), **self.char_kwargs())


@dataclass
class CharEditParams(NoiseParams):
    action: str = field(default="mixed", metadata={"help": "'swap' | 'insert' | 'delete' | 'mixed' (one of the three per candidate)."})


class CharEdit(_Noise):
    """Character swap, insert or delete inside a word (nlpaug RandomCharAug).

    Args:
        action: 'swap' (adjacent letters), 'insert' (a random lower-case letter), 'delete', or 'mixed'.
        per_sample, word_p, word_max, char_max, min_char: see Params help.
    Requirements: nlpaug (installed). Offline.
    Inputs: Sample.query; inside a run of Chinese characters the edit works on characters.
    Example:
        >>> CharEdit(CharEdit.Params(action="swap")).augment(samples, SampleRandom(0, "char_edit"))
    """

    name = "char_edit"
    Params = CharEditParams
    ACTIONS = ("swap", "insert", "delete")

    def choose_action(self, r):
        if self.params.action == "mixed":
            return r.choice(self.ACTIONS)
        if self.params.action not in self.ACTIONS:
            raise ValueError(f"char_edit: action must be one of swap, insert, delete, mixed; got {self.params.action!r}")
        return self.params.action

    def build(self, action):
        return _Char(action=action, include_upper_case=False, include_numeric=False, spec_char="", **self.char_kwargs())


class WordSwap(_Noise):
    """Swap a word with its neighbour (nlpaug RandomWordAug, action 'swap'; EDA's random swap).

    Args: per_sample, word_p, word_max: see Params help.
    Requirements: nlpaug and jieba (installed). Offline.
    Inputs: Sample.query; Chinese is segmented into words with jieba. A protected token may move
        but is never changed.
    Example:
        >>> WordSwap().augment(samples, SampleRandom(0, "word_swap"))
    """

    name = "word_swap"
    action = "swap"
    word_level = True
    keeps_product_words = True

    def build(self, action):
        return _Word(action=action, **self.word_kwargs())


class WordDelete(_Noise):
    """Delete a word (nlpaug RandomWordAug, action 'delete'; EDA's random deletion).

    Args: per_sample, word_p, word_max: see Params help.
    Requirements: nlpaug and jieba (installed). Offline.
    Inputs: Sample.query of two or more words; protected tokens are never deleted.
    Example:
        >>> WordDelete().augment(samples, SampleRandom(0, "word_delete"))
    """

    name = "word_delete"
    action = "delete"
    word_level = True

    def build(self, action):
        return _Word(action=action, **self.word_kwargs())


class WordSplit(_Noise):
    """Split a word in two with a space ("dish washer", "蓝 牙") (nlpaug SplitAug).

    Args: per_sample, word_p, word_max, min_char: see Params help.
    Requirements: nlpaug and jieba (installed). Offline.
    Inputs: Sample.query; Chinese words of two or more characters can be split.
    Example:
        >>> WordSplit().augment(samples, SampleRandom(0, "word_split"))
    """

    name = "word_split"
    action = "split"
    word_level = True

    def build(self, action):
        return _Split(min_char=self.params.min_char, **self.word_kwargs())


def _align(new: list[str], old: list[str]) -> list[str]:
    """nlpaug's output tokens put back in the old token slots, so the old spacing applies.

    Same length: token i replaced token i. Shorter (word delete): missing tokens become ''.
    Longer (word split): a split token's halves share its slot as 'a b'.
    """
    if len(new) == len(old):
        return new
    out, i = [], 0
    for token in old:
        if i < len(new) and new[i] == token:
            out.append(token)
            i += 1
        elif len(new) > len(old) and i + 1 < len(new) and new[i] + new[i + 1] == token:
            out.append(f"{new[i]} {new[i + 1]}")
            i += 2
        else:
            out.append("")
    return out if i == len(new) else new
