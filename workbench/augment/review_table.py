"""The review table: a page of stored candidates as the Augment page shows it, plain text only.

    from workbench.augment.review_table import review_view
    review_view(storage.candidates.read_candidates_page(conn, run_id, ...))

Each candidate's source text sits beside the augmented one with the changed words marked
(«changed», «-removed»), then the score, the suggestion from it when the teacher scored ('accept'
when the teacher agrees with the label within the margin), the words a rewrite left alone because
the product's text has them or they are numbers, units or codes, and the provenance. Cells are
plain strings: user text is never rendered as HTML or markdown.
"""
from __future__ import annotations

import difflib
import re

import pandas as pd

from workbench.augment import edits_source, keeps_product_words
from workbench.augment.labels import suggestions
from workbench.augment.text import CJK, has_cjk, protected_words

_CJK_OR_RUN = re.compile(f"[{CJK}]|[^{CJK}]+")


def _diff_tokens(text: str) -> list[str]:
    """Words, with each Chinese character its own token (Chinese has no spaces to split on)."""
    return [t for piece in text.split() for t in _CJK_OR_RUN.findall(piece)]


def mark_changes(original: str, augmented: str) -> str:
    """The augmented text with changed or added words in «», and removed words as «-word».

    Plain text for a dataframe cell: user text is never rendered as HTML or markdown. Chinese is
    compared character by character and joined without spaces.
    """
    a, b = _diff_tokens(original), _diff_tokens(augmented)
    out: list[tuple[str, bool]] = []  # (token, is Chinese)
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.extend((w, has_cjk(w)) for w in b[j1:j2])
        else:
            out.extend((f"«{w}»", has_cjk(w)) for w in b[j1:j2])
            if op == "delete":
                out.extend((f"«-{w}»", has_cjk(w)) for w in a[i1:i2])
    text = ""
    for i, (token, cjk) in enumerate(out):
        text += ("" if i == 0 or (cjk and out[i - 1][1]) else " ") + token
    return text


def review_view(page: pd.DataFrame, teacher_margin: float | None = None) -> pd.DataFrame:
    """A page of candidates (storage.candidates.read_candidates_page) as the review table shows it:
    the source text beside the augmented one with changed words marked, then score and provenance.
    With `teacher_margin` (the run scored with the teacher) a suggestion per candidate from its score."""
    new_pairing = page["field"] == "product"
    before = page["source_product_text"].where(new_pairing | (page["field"] == "product_text"), page["original"]).astype(str)
    after = page["product_text"].where(new_pairing | (page["field"] == "product_text"), page["query"]).astype(str)
    # New text (a pseudo-query from a title, another product) is shown as it is: marks would mark everything.
    plain = new_pairing | ~page["augmenter"].astype(str).map(edits_source).astype(bool)
    marked = [b if as_is else mark_changes(a, b) for a, b, as_is in zip(before, after, plain)]
    # The words a query rewrite left alone: a function of its source query and product text.
    rewrites = (page["field"] == "query") & page["augmenter"].astype(str).map(keeps_product_words).astype(bool)
    protected = [", ".join(protected_words(q, t)) if rewrite else "" for q, t, rewrite in
                 zip(page["original"].astype(str), page["product_text"].astype(str), rewrites)]
    suggest = suggestions(page["score"], teacher_margin) if teacher_margin is not None else pd.Series("", index=page.index)
    return pd.DataFrame({
        "id": page["candidate_id"], "status": page["status"], "augmenter": page["augmenter"], "score": page["score"],
        "suggest": suggest, "protected": protected,
        "original": before, "augmented («changed»)": marked, "query": page["query"], "product": page["product_text"],
        "label": page["label"], "params": page["params"], "seed": page["seed"],
    })
