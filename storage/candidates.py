"""Augment runs, their candidates, review actions with undo, and augmented sets (accepted candidates saved by name).

Everything here filters, pages and counts in SQL, so a run with 1,000,000 candidates stays
responsive: no function loads a whole run into Python except the exports of an augmented set.
Every status change is a review action: the statuses it replaced go to review_undo, so the
last action can be undone.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import Connection, and_, func, insert, literal, select, update

from storage import bulk, tables
from storage.actor import current_actor
from storage.clock import utc_now
from storage.db import fetch_frame, read_frame, read_row

C = tables.candidates
CANDIDATE_COLUMNS = ["sample_id", "augmenter", "params", "seed", "field", "original", "query", "product_id",
                     "product_text", "label", "score"]
STATUSES = ("pending", "accepted", "rejected")


@dataclass
class CandidateFilter:
    """What the review table shows: every field is optional."""

    augmenters: list[str] = field(default_factory=list)  # empty = all
    status: str | None = None  # 'pending' | 'accepted' | 'rejected' | None = all
    min_score: float | None = None  # score >= min_score (rows without a score never match)
    max_score: float | None = None  # score < max_score
    ids: list[int] | None = None  # these candidate ids only

    def where(self, augment_run_id: int):
        clauses = [C.c.augment_run_id == augment_run_id]
        if self.augmenters:
            clauses.append(C.c.augmenter.in_(list(self.augmenters)))
        if self.status:
            clauses.append(C.c.status == self.status)
        if self.min_score is not None:
            clauses.append(C.c.score >= float(self.min_score))
        if self.max_score is not None:
            clauses.append(C.c.score < float(self.max_score))
        if self.ids is not None:
            clauses.append(C.c.id.in_([int(i) for i in self.ids]))
        return and_(*clauses)


# --- runs and candidates -------------------------------------------------------------------


def create_augment_run(conn: Connection, sample_set_id: int, recipe: dict, seed: int, candidates: int,
                       dropped: dict) -> int:
    return conn.execute(
        tables.augment_runs.insert()
        .values(sample_set_id=sample_set_id, recipe=json.dumps(recipe), seed=seed, candidates=candidates,
                dropped=json.dumps(dropped), created_at=utc_now())
        .returning(tables.augment_runs.c.id)
    ).scalar_one()


def insert_candidates(conn: Connection, augment_run_id: int, frame: pd.DataFrame) -> int:
    """All candidates of a run in one statement (Arrow on DuckDB, COPY on PostgreSQL); status starts 'pending'."""
    import pyarrow as pa

    data = frame[CANDIDATE_COLUMNS].copy()
    data.insert(0, "augment_run_id", augment_run_id)
    data["status"] = "pending"
    if conn.dialect.name == "duckdb":
        arrow = pa.Table.from_pandas(data, preserve_index=False)
        raw = conn.connection.driver_connection
        raw.register("_new_candidates", arrow)
        try:
            raw.execute(f"INSERT INTO candidates ({', '.join(data.columns)}) SELECT * FROM _new_candidates")
        finally:
            raw.unregister("_new_candidates")
    elif conn.dialect.name == "postgresql":
        bulk.copy_in(conn, C, data)
    elif len(data):
        conn.execute(C.insert(), data.astype(object).where(data.notna(), None).to_dict("records"))
    return len(data)


def get_augment_run(conn: Connection, augment_run_id: int) -> dict:
    t = tables.augment_runs
    return read_row(conn, select(t).where(t.c.id == augment_run_id), f"no augment run with id {augment_run_id}",
                    {"recipe": dict, "dropped": dict})


def list_augment_runs(conn: Connection, sample_set_id: int | None = None) -> pd.DataFrame:
    t = tables.augment_runs
    query = select(t.c.id, t.c.sample_set_id, t.c.recipe, t.c.seed, t.c.candidates, t.c.dropped, t.c.created_at).order_by(t.c.id.desc())
    if sample_set_id is not None:
        query = query.where(t.c.sample_set_id == sample_set_id)
    return read_frame(conn, query)


def read_candidates_page(conn: Connection, augment_run_id: int, where: CandidateFilter | None = None,
                         offset: int = 0, limit: int = 50) -> pd.DataFrame:
    """One page of candidates (with the source sample's query and product text), ordered by id."""
    s = tables.samples
    run = tables.augment_runs
    query = (
        select(C.c.id.label("candidate_id"), C.c.sample_id, C.c.augmenter, C.c.field, C.c.original, C.c.query,
               C.c.product_id, C.c.product_text, C.c.label, C.c.score, C.c.status, C.c.params, C.c.seed,
               s.c.query.label("source_query"), s.c.product_text.label("source_product_text"))
        .select_from(C.join(run, run.c.id == C.c.augment_run_id)
                     .join(s, and_(s.c.sample_set_id == run.c.sample_set_id, s.c.sample_id == C.c.sample_id)))
        .where((where or CandidateFilter()).where(augment_run_id))
        .order_by(C.c.id)
        .offset(int(offset))
        .limit(int(limit))
    )
    return fetch_frame(conn, query)


def count_candidates(conn: Connection, augment_run_id: int, where: CandidateFilter | None = None) -> int:
    query = select(func.count()).select_from(C).where((where or CandidateFilter()).where(augment_run_id))
    return int(conn.execute(query).scalar_one())


def summarize_candidates(conn: Connection, augment_run_id: int) -> pd.DataFrame:
    """Per augmenter: candidates, pending, accepted, rejected, mean score."""
    query = (
        select(
            C.c.augmenter,
            func.count().label("candidates"),
            *[func.count().filter(C.c.status == s).label(s) for s in STATUSES],
            func.avg(C.c.score).label("mean_score"),
        )
        .where(C.c.augment_run_id == augment_run_id)
        .group_by(C.c.augmenter)
        .order_by(C.c.augmenter)
    )
    rows = conn.execute(query).mappings().all()
    frame = pd.DataFrame(rows, columns=["augmenter", "candidates", *STATUSES, "mean_score"])
    for column in ("candidates", *STATUSES):
        frame[column] = frame[column].fillna(0).astype(int)
    return frame


def list_augmenters(conn: Connection, augment_run_id: int) -> list[str]:
    query = select(C.c.augmenter).where(C.c.augment_run_id == augment_run_id).distinct().order_by(C.c.augmenter)
    return list(conn.execute(query).scalars())


# --- review actions and undo ---------------------------------------------------------------


def set_candidate_status(conn: Connection, augment_run_id: int, where: CandidateFilter, status: str,
                         description: str = "") -> tuple[int, int]:
    """Set `status` on every candidate matching `where`, as one undoable action: (action_id, rows).
    The action records the current actor (storage/actor.py) when a login is configured."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    condition = and_(where.where(augment_run_id), C.c.status != status)
    action_id = conn.execute(
        tables.review_actions.insert()
        .values(augment_run_id=augment_run_id, description=description or f"set {status}", undone=False,
                actor=current_actor(), created_at=utc_now())
        .returning(tables.review_actions.c.id)
    ).scalar_one()
    conn.execute(
        insert(tables.review_undo).from_select(
            ["action_id", "candidate_id", "previous_status"],
            select(literal(action_id), C.c.id, C.c.status).where(condition),
        )
    )
    changed = conn.execute(update(C).where(condition).values(status=status, action_id=action_id)).rowcount
    return action_id, int(changed or 0)


def last_review_action(conn: Connection, augment_run_id: int) -> dict | None:
    """The newest action of the run that is not undone yet (what Undo would revert)."""
    a = tables.review_actions
    row = conn.execute(
        select(a).where(a.c.augment_run_id == augment_run_id, a.c.undone.is_(False)).order_by(a.c.id.desc()).limit(1)
    ).mappings().first()
    return dict(row) if row else None


def undo_last_action(conn: Connection, augment_run_id: int) -> dict | None:
    """Restore the statuses the last action replaced; returns that action (None when nothing to undo)."""
    action = last_review_action(conn, augment_run_id)
    if action is None:
        return None
    u = tables.review_undo
    # UPDATE ... FROM: one join, not a subquery per row, so undoing a million rows stays quick.
    restored = conn.execute(
        update(C)
        .where(C.c.id == u.c.candidate_id, u.c.action_id == action["id"], C.c.augment_run_id == augment_run_id)
        .values(status=u.c.previous_status)
    ).rowcount
    conn.execute(update(tables.review_actions).where(tables.review_actions.c.id == action["id"]).values(undone=True))
    return {**action, "restored": int(restored or 0)}


# --- augmented sets ------------------------------------------------------------------------


def save_augmented_set(conn: Connection, augment_run_id: int, name: str) -> int:
    """The run's accepted candidates as a named augmented set (empty sets are refused by callers)."""
    run = get_augment_run(conn, augment_run_id)
    set_id = conn.execute(
        tables.augmented_sets.insert()
        .values(name=name, augment_run_id=augment_run_id, sample_set_id=run["sample_set_id"], size=0, created_at=utc_now())
        .returning(tables.augmented_sets.c.id)
    ).scalar_one()
    conn.execute(
        insert(tables.augmented_set_members).from_select(
            ["augmented_set_id", "candidate_id"],
            select(literal(set_id), C.c.id).where(C.c.augment_run_id == augment_run_id, C.c.status == "accepted"),
        )
    )
    m = tables.augmented_set_members
    size = conn.execute(select(func.count()).select_from(m).where(m.c.augmented_set_id == set_id)).scalar_one()
    conn.execute(update(tables.augmented_sets).where(tables.augmented_sets.c.id == set_id).values(size=size))
    return set_id


def find_same_augmented_set(conn: Connection, augment_run_id: int) -> int | None:
    """The newest set of the run that holds exactly the run's accepted candidates now (saving them
    again would make an identical copy), else None."""
    sets, m = tables.augmented_sets, tables.augmented_set_members
    accepted = conn.execute(select(func.count()).select_from(C).where(C.c.augment_run_id == augment_run_id,
                                                                      C.c.status == "accepted")).scalar_one()
    still_accepted = (select(func.count()).select_from(m.join(C, C.c.id == m.c.candidate_id))
                      .where(m.c.augmented_set_id == sets.c.id, C.c.status == "accepted").scalar_subquery())
    return conn.execute(select(sets.c.id).where(sets.c.augment_run_id == augment_run_id, sets.c.size == accepted,
                                                still_accepted == accepted).order_by(sets.c.id.desc()).limit(1)).scalar()


def _augmented_set_columns():
    t = tables.augmented_sets
    return t.c.id, t.c.name, t.c.augment_run_id, t.c.sample_set_id, t.c.size, t.c.created_at


def get_augmented_set(conn: Connection, augmented_set_id: int) -> dict:
    query = select(*_augmented_set_columns()).where(tables.augmented_sets.c.id == augmented_set_id)
    return read_row(conn, query, f"no augmented set with id {augmented_set_id}")


def list_augmented_sets(conn: Connection, sample_set_id: int | None = None) -> pd.DataFrame:
    t = tables.augmented_sets
    query = select(*_augmented_set_columns()).order_by(t.c.id.desc())
    if sample_set_id is not None:
        query = query.where(t.c.sample_set_id == sample_set_id)
    return read_frame(conn, query)


def read_augmented_set(conn: Connection, augmented_set_id: int, provenance: bool = False) -> pd.DataFrame:
    """The accepted samples of a set; with provenance also params, seed, score, field, original, source."""
    m = tables.augmented_set_members
    s = tables.samples
    sets = tables.augmented_sets
    columns = [C.c.id.label("candidate_id"), C.c.sample_id, C.c.augmenter, C.c.query, C.c.product_id,
               C.c.product_text, C.c.label]
    source = m.join(C, C.c.id == m.c.candidate_id)
    if provenance:
        columns += [C.c.field, C.c.original, C.c.params, C.c.seed, C.c.score, s.c.query.label("source_query"),
                    s.c.product_id.label("source_product_id"), s.c.product_text.label("source_product_text")]
        source = source.join(sets, sets.c.id == m.c.augmented_set_id).join(
            s, and_(s.c.sample_set_id == sets.c.sample_set_id, s.c.sample_id == C.c.sample_id))
    query = select(*columns).select_from(source).where(m.c.augmented_set_id == augmented_set_id).order_by(C.c.id)
    return fetch_frame(conn, query)
