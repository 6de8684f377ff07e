"""Augment: pick a recipe (a preset or by hand), generate candidates from the train split with a
progress bar, review them beside their source with changed words marked, accept or reject (one,
selected, every match, above a score), undo, save the accepted as a set and download it."""
import streamlit as st

from storage import candidates as review
from storage.candidates import CandidateFilter
from storage.db import begin
from storage.samples import list_sample_sets
from workbench.augment import REGISTRY
from workbench.augment.export import export_frame, to_csv_bytes, to_parquet_bytes
from workbench.augment.filters import SCORERS, review_view
from workbench.augment.labels import teacher_choices, teacher_margin, typo_rate
from workbench.augment.pipeline import run_recipe
from workbench.augment.recipes import PRESETS, recipe_from_form
from workbench.errors import WorkbenchError

PAGE_SIZE = 50
st.title("Augment")
with begin() as conn:
    sets = list_sample_sets(conn)
if sets.empty:
    st.info("No sample sets yet: build one on the Samples page first.")
    st.stop()
set_id = st.selectbox("Sample set", sets["id"].tolist(), key="augment_sample_set",
                      format_func=lambda i: f"{i}: {sets.set_index('id').loc[i, 'name']}")

st.header("Recipe")
preset = st.selectbox("Preset", [*PRESETS, "by hand"], key="augment_preset")
base = PRESETS.get(preset, {"steps": [], "filters": {}})
chosen = st.multiselect("Augmenters", list(REGISTRY), [s["augmenter"] for s in base["steps"]], key=f"augment_steps_{preset}")
params = st.text_area("Parameters by augmenter (JSON)", "{}", key="augment_params", help='e.g. {"keyboard_typo": {"word_p": 0.2}}')
c1, c2, c3, c4 = st.columns(4)
per_sample = c1.number_input("Candidates per sample", 1, 20, base.get("per_sample", 1), key=f"augment_per_sample_{preset}")
seed = c2.number_input("Seed", 0, 2**31 - 1, 0, key="augment_seed")
max_sources = c3.number_input("Source samples (0 = all train)", 0, None, 2000, key="augment_max_sources")
min_score = c4.slider("Drop below score", 0.0, 1.0, float(base["filters"].get("min_score", 0.5)), key=f"augment_min_score_{preset}")
scorer = st.radio("Score with", SCORERS, SCORERS.index(base["filters"].get("scorer", "string")), horizontal=True,
                  key=f"augment_scorer_{preset}", help="teacher: a relevance model scores each candidate pair and keeps it when it agrees with the label")
teacher, margin = 0, 0.5
if scorer == "teacher":
    t1, t2 = st.columns(2)
    teachers = teacher_choices(int(set_id))
    teacher = t1.selectbox("Teacher", list(teachers), format_func=teachers.get, key="augment_teacher")
    margin = t2.slider("Teacher margin", 0.0, 1.0, 0.5, 0.05, key="augment_teacher_margin",
                       help="keep a candidate when the teacher's expected label is within this share of the label range of its label")
if f"typo_rate_{set_id}" not in st.session_state:  # the logs do not change under a sample set: estimate once
    st.session_state[f"typo_rate_{set_id}"] = typo_rate(int(set_id))
st.caption(f"Typo rate in the logs: {st.session_state[f'typo_rate_{set_id}']:.1%} of queries are within two edits of a "
           "more frequent one. Typo-aware training: set the typo augmenters' `rate` to it.")
if st.button("Generate", key="augment_generate", type="primary", disabled=not chosen):
    bar = st.progress(0.0, text="Starting")
    try:
        recipe = recipe_from_form(preset, chosen, params, per_sample, seed, max_sources, min_score, scorer, teacher, margin)
        result = run_recipe(set_id, recipe, on_progress=lambda d, t, m: bar.progress(min(d / max(t, 1), 1.0), text=m))
    except WorkbenchError as e:
        st.error(str(e))
        st.stop()
    st.session_state.augment_run_id = result.augment_run_id
    st.success(f"Run {result.augment_run_id}: {result.candidates:,} candidates kept of {result.generated:,}; dropped {result.dropped}")

with begin() as conn:
    runs = review.list_augment_runs(conn, set_id)
if runs.empty:
    st.info("No candidates yet for this sample set: choose a recipe and Generate.")
    st.stop()
st.header("Review")
run_ids = runs["id"].tolist()
run_id = st.selectbox("Run", run_ids, index=run_ids.index(st.session_state.get("augment_run_id", run_ids[0])), key="review_run")
with begin() as conn:
    summary = review.summarize_candidates(conn, run_id)
    last = review.last_review_action(conn, run_id)
    taught = teacher_margin(review.get_augment_run(conn, run_id))  # the teacher's margin when it scored this run
st.dataframe(summary, hide_index=True)
st.caption(f"Dropped by the filters: {runs.set_index('id').loc[run_id, 'dropped']}")
f1, f2, f3 = st.columns(3)
status = f2.selectbox("Status", ["all", *review.STATUSES], key="review_status")
where = CandidateFilter(augmenters=f1.multiselect("Augmenter", summary["augmenter"].tolist(), key="review_augmenters"),
                        status=None if status == "all" else status,
                        min_score=f3.number_input("Score at least", 0.0, 1.0, 0.0, 0.05, key="review_min_score") or None)
with begin() as conn:
    total = review.count_candidates(conn, run_id, where)
pages = max(1, -(-total // PAGE_SIZE))
page = st.number_input(f"Page (of {pages}; {total:,} matching)", 1, pages, 1, key="review_page")
with begin() as conn:
    rows = review.read_candidates_page(conn, run_id, where, (page - 1) * PAGE_SIZE, PAGE_SIZE)
st.dataframe(review_view(rows, taught), hide_index=True)  # plain cells: user text is never rendered as HTML
shown = dict(zip(rows["candidate_id"], rows["query"]))
selected = st.multiselect("Selected rows", list(shown), key="review_selected", format_func=lambda i: f"{i}: {shown[i]}")
score = st.number_input("Accept every candidate scoring at least", 0.0, 1.0, 0.9 if taught is None else 1.0 - taught, 0.05,
                        key="review_accept_score", help=None if taught is None else "the teacher's suggestion: its score at 1 - margin")
actions = {"review_accept_selected": ("Accept selected", CandidateFilter(ids=selected), "accepted"),
           "review_reject_selected": ("Reject selected", CandidateFilter(ids=selected), "rejected"),
           "review_accept_matching": (f"Accept all {total:,} matching", where, "accepted"),
           "review_reject_matching": (f"Reject all {total:,} matching", where, "rejected"),
           "review_accept_above": (f"Accept pending >= {score:g}", CandidateFilter(min_score=score, status="pending"), "accepted")}
buttons = [*st.columns(3), *st.columns(3)]  # two rows: selected rows and undo; every match and by score
for column, (key, (label, target, new_status)) in zip([buttons[0], buttons[1], *buttons[3:]], actions.items()):
    if column.button(label, key=key, disabled=target.ids == []):
        with begin() as conn:
            st.session_state.review_note = f"{label}: {review.set_candidate_status(conn, run_id, target, new_status, label)[1]:,} rows"
        st.rerun()
if buttons[2].button("Undo", key="review_undo", disabled=last is None, help=last and f"Undo {last['description']!r}"):
    with begin() as conn:
        st.session_state.review_note = f"Undid {last['description']!r}: {review.undo_last_action(conn, run_id)['restored']:,} rows"
    st.rerun()
if st.session_state.get("review_note"):
    st.success(st.session_state.review_note)

st.header("Save and download")
name = st.text_input("Name of the accepted set", key="save_name")
if st.button("Save accepted as a set", key="save_set", disabled=not name.strip()):
    if int(summary["accepted"].sum()) == 0:
        st.warning("Nothing is accepted yet: accept candidates above, then save.")
    else:
        with begin() as conn:
            st.success(f"Saved augmented set {review.save_augmented_set(conn, run_id, name.strip())}: {int(summary['accepted'].sum()):,} samples.")
with begin() as conn:
    saved = review.list_augmented_sets(conn, set_id)
if saved.empty:
    st.info("No augmented sets for this sample set yet: accept candidates and save them.")
    st.stop()
names = dict(zip(saved["id"], saved["name"] + " (" + saved["size"].astype(str) + " samples)"))
download_id = st.selectbox("Augmented set", list(names), format_func=names.get, key="download_set")
excel = st.checkbox("Excel-friendly CSV (UTF-8 with BOM)", key="download_excel")
frame = export_frame(int(download_id))
d1, d2 = st.columns(2)
d1.download_button("Download CSV", to_csv_bytes(frame, excel), f"augmented_set_{download_id}.csv", "text/csv", key="download_csv")
d2.download_button("Download Parquet", to_parquet_bytes(frame), f"augmented_set_{download_id}.parquet", key="download_parquet")
