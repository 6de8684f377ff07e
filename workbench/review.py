"""Review of augmented candidates as the Review page does it: runs shown by name, the filter on
screen, and bulk actions that act on exactly the rows that filter (and the table's selection)
picks, each counted before it runs.

    where = on_screen(["keyboard_typo"], "pending", None)
    for action in plan_actions(run_id, where, selected_ids=[3, 4], score=0.9): action.label, action.rows
    message = apply(run_id, action)
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import MutableMapping
from dataclasses import dataclass

import pandas as pd

from storage import candidates as store
from storage.candidates import CandidateFilter
from storage.db import begin
from workbench.wording import DROP_REASONS, count_of, in_words


def run_labels(runs: pd.DataFrame) -> dict[int, str]:
    """Run id -> 'Run 3: typo robustness (keyboard_typo, char_edit), 1,234 candidates, 02 Dec 00:41'."""
    out = {}
    for r in runs.itertuples():
        recipe = json.loads(r.recipe) if isinstance(r.recipe, str) else (r.recipe or {})
        steps = ", ".join(s.get("augmenter", "?") for s in recipe.get("steps", []))
        when = pd.Timestamp(r.created_at).strftime("%d %b %H:%M") if pd.notna(r.created_at) else ""
        out[int(r.id)] = f"Run {int(r.id)}: {recipe.get('name', 'custom')} ({steps}), {int(r.candidates):,} candidates, {when}"
    return out


def dropped_in_words(dropped) -> str:
    counts = json.loads(dropped) if isinstance(dropped, str) else (dropped or {})
    return in_words(counts, DROP_REASONS)


def on_screen(augmenters: list[str], status: str | None, min_score: float | None) -> CandidateFilter:
    """The review filter as the page shows it ('all' status and a 0 score mean no condition)."""
    return CandidateFilter(augmenters=list(augmenters), status=None if status in (None, "all") else status,
                           min_score=min_score or None)


@dataclass
class Action:
    key: str  # the button's key
    label: str  # the button's text, with the count of rows it changes
    where: CandidateFilter
    status: str  # the status it sets
    rows: int  # how many rows the filter picks now


def plan_actions(run_id: int, where: CandidateFilter, selected_ids: list[int], score: float) -> list[Action]:
    """The bulk actions of the page, each narrowed to the on-screen filter and counted."""
    selected = dataclasses.replace(where, ids=[int(i) for i in selected_ids])
    above = dataclasses.replace(where, status="pending", min_score=max(where.min_score or 0.0, float(score)))
    if where.status not in (None, "pending"):  # the screen shows no pending rows: nothing to accept
        above = dataclasses.replace(above, ids=[])
    cells = [("review_accept_selected", "Accept {n} selected", selected, "accepted"),
             ("review_reject_selected", "Reject {n} selected", selected, "rejected"),
             ("review_accept_matching", "Accept all {n} matching", where, "accepted"),
             ("review_reject_matching", "Reject all {n} matching", where, "rejected"),
             ("review_accept_above", "Accept {n} pending matching, score at least " + f"{score:g}", above, "accepted")]
    with begin() as conn:
        counts = [store.count_candidates(conn, run_id, w) for _, _, w, _ in cells]
    return [Action(key, label.format(n=f"{n:,}"), w, status, n) for (key, label, w, status), n in zip(cells, counts)]


def apply(run_id: int, action: Action) -> str:
    """Run one bulk action (undoable); returns what it did, in a sentence."""
    with begin() as conn:
        changed = store.set_candidate_status(conn, run_id, action.where, action.status, action.label)[1]
    return f"{action.label}: {count_of(changed, 'row')} now {action.status}."


def saved_as(run_id: int) -> int | None:
    """The augmented set of this run that holds exactly its accepted candidates now, if one was saved."""
    with begin() as conn:
        return store.find_same_augmented_set(conn, run_id)


def save(run_id: int, name: str) -> tuple[int, str, bool]:
    """Save the run's accepted candidates as a set: (set id, what happened, whether a set was made).
    A set of the run that already holds exactly these candidates is named instead of copied (a second
    click on Save made an identical set, and training on both doubled every augmented sample)."""
    with begin() as conn:
        same = store.find_same_augmented_set(conn, run_id)
        if same is not None:
            size = int(store.get_augmented_set(conn, same)["size"])
            return same, (f"Not saved: augmented set {same} already holds these {count_of(size, 'accepted sample')}. Accept or "
                          "reject candidates to save a different set."), False
        set_id = store.save_augmented_set(conn, run_id, name)
        size = int(store.get_augmented_set(conn, set_id)["size"])
    return set_id, f"Saved augmented set {set_id}: {count_of(size, 'sample')}.", True


def set_labels(sets: pd.DataFrame) -> dict[int, str]:
    """Augmented set id -> '3: typos (1,234 samples)': names repeat, ids do not."""
    return {int(r.id): f"{int(r.id)}: {r.name} ({count_of(r.size, 'sample')})" for r in sets.itertuples()}


def undo(run_id: int) -> str:
    with begin() as conn:
        done = store.undo_last_action(conn, run_id)
    return f"Undid {done['description']!r}: {count_of(done['restored'], 'row')} restored." if done else "Nothing to undo."


@dataclass
class Screen:
    """What the Review page shows of one run, read in one transaction."""

    summary: pd.DataFrame  # per augmenter: candidates, pending, accepted, rejected, mean score
    last: dict | None  # the action Undo would revert
    total: int  # candidates the filter matches
    pages: int
    rows: pd.DataFrame  # the page of candidates as the review table shows them
    teacher_margin: float | None = None  # the run was scored by the teacher with this margin
    page: int = 1  # the page shown (the one asked for, within 1..pages)

    @property
    def accepted(self) -> int:
        return int(self.summary["accepted"].sum())


def screen(run_id: int, where: CandidateFilter, page: int, page_size: int) -> Screen:
    """The run's summary, the last undoable action, the filter's count and one page of rows (1-based)."""
    from workbench.augment.labels import teacher_margin
    from workbench.augment.review_table import review_view

    with begin() as conn:
        margin = teacher_margin(store.get_augment_run(conn, run_id))
        summary = store.summarize_candidates(conn, run_id)
        last = store.last_review_action(conn, run_id)
        total = store.count_candidates(conn, run_id, where)
        pages = max(1, -(-total // page_size))
        page = min(max(1, int(page)), pages)
        rows = store.read_candidates_page(conn, run_id, where, (page - 1) * page_size, page_size)
    return Screen(summary, last, total, pages, review_view(rows, margin), margin, page)


def table_key(state: MutableMapping, run_id: int, where: CandidateFilter, shown: Screen) -> str:
    """The review table's widget key, new whenever what the table shows changes (the run, the filter,
    the page, its rows, the last action), so a selection never outlives the rows it picked: kept by
    position, a tick on page 1's first row had become a tick on page 3's first row. `state` (the
    page's session state) counts the changes, so going back to a page does not bring its ticks back."""
    ids = [int(i) for i in shown.rows["id"]] if "id" in shown.rows else []
    what = [int(run_id), dataclasses.asdict(where), shown.page, ids, (shown.last or {}).get("id")]
    shows = hashlib.sha1(json.dumps(what, default=str).encode()).hexdigest()[:12]
    if state.get("_review_shows") != shows:
        state["_review_shows"], state["_review_tables"] = shows, int(state.get("_review_tables", 0)) + 1
    return f"review_table_{state['_review_tables']}"
