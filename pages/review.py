"""Review: the candidates of one augment run beside their source, changed words marked; pick rows in
the table, filter, accept or reject (selected rows, every match, pending above a score: each says
how many rows it changes before it runs), undo, save the accepted as a set and download it."""
import streamlit as st

from pages.inputs import kept, pick
from pages.ui import flash, next_step, say, show_flash, shown_errors
from storage import candidates as store
from storage.db import begin
from storage.samples import list_sample_sets
from workbench import review
from workbench.augment.export import export_frame, to_csv_bytes, to_parquet_bytes

PAGE_SIZE = 50
st.title("Review")
show_flash()
with shown_errors(), begin() as conn:
    sets = list_sample_sets(conn)
    runs = store.list_augment_runs(conn)
if runs.empty:
    st.info("No candidates yet: generate some on 3 Augment.")
    next_step("pages/augment.py", "choose a recipe and Generate")
    st.stop()
names = dict(zip(sets["id"], sets["name"]))
labels = review.run_labels(runs)
run_id = pick("Run", list(labels), key="review_run", param="run", chosen=st.session_state.pop("_new_run", None),
              format_func=lambda i: f"{labels[i]} (sample set {names.get(runs.set_index('id').loc[i, 'sample_set_id'], '?')})")
with shown_errors(), begin() as conn:
    augmenters = store.list_augmenters(conn, run_id)
say(f"Dropped by the filters: {review.dropped_in_words(runs.set_index('id').loc[run_id, 'dropped'])}.", "caption")
f1, f2, f3, f4 = st.columns(4)
where = review.on_screen(f1.multiselect("Augmenter", augmenters, key="review_augmenters"),
                         kept(f2.selectbox, "Status", ["all", *store.STATUSES], key="review_status", default="all",
                              choices=["all", *store.STATUSES]),
                         kept(f3.number_input, "Score at least", min_value=0.0, max_value=1.0, step=0.05,
                              key="review_min_score", default=0.0, bounds=(0.0, 1.0)))
page = f4.number_input("Page", 1, None, 1, key="review_page")
with shown_errors():
    shown = review.screen(run_id, where, page, PAGE_SIZE)
st.dataframe(shown.summary, hide_index=True)
say(f"{shown.total:,} candidates match; page {min(page, shown.pages)} of {shown.pages}.", "caption")
view, last = shown.rows, shown.last
st.session_state._review_table = review.table_key(st.session_state, run_id, where, shown)  # a new table when its rows change: no stale ticks
picked = st.dataframe(view, hide_index=True, key=st.session_state._review_table, on_select="rerun", selection_mode="multi-row")
selected = view.iloc[[r for r in picked.selection.rows if r < len(view)]]["id"].tolist()  # plain cells: never HTML
taught = shown.teacher_margin  # the teacher's suggestion: accept at 1 - margin
score = st.number_input("Accept pending candidates scoring at least", 0.0, 1.0, 0.9 if taught is None else 1.0 - taught, 0.05,
                        key="review_accept_score", help=None if taught is None else "the teacher's suggestion: its score at 1 - margin")
with shown_errors():
    actions = review.plan_actions(run_id, where, selected, score)
buttons = [*st.columns(3), *st.columns(3)]  # two rows: selected rows and undo; every match and by score
for column, action in zip([buttons[0], buttons[1], *buttons[3:]], actions):
    if column.button(action.label, key=action.key, disabled=action.rows == 0):
        with shown_errors():
            flash(review.apply(run_id, action))
        st.rerun()
if buttons[2].button("Undo", key="review_undo", disabled=last is None, help=last and f"Undo {last['description']!r}"):
    with shown_errors():
        flash(review.undo(run_id))
    st.rerun()

st.header("Save and download")
accepted = shown.accepted
name = st.text_input("Name of the accepted set", key="save_name")
with shown_errors():
    same = review.saved_as(run_id) if accepted else None
if same is not None:  # Save stays off until the accepted candidates change
    say(f"These {accepted:,} accepted candidates are saved as augmented set {same}.", "caption")
if st.button(f"Save {accepted:,} accepted as a set", key="save_set", disabled=not name.strip() or accepted == 0 or same is not None):
    with shown_errors():
        st.session_state._new_saved, message, made = review.save(run_id, name.strip())
    flash(message, "success" if made else "warning")
    st.rerun()
with shown_errors(), begin() as conn:
    saved = store.list_augmented_sets(conn, int(runs.set_index("id").loc[run_id, "sample_set_id"]))
if saved.empty:
    st.info("No augmented sets for this sample set yet: accept candidates and save them.")
    st.stop()
sizes = review.set_labels(saved)
download_id = pick("Augmented set", list(sizes), key="download_set", param="saved", format_func=sizes.get,
                   chosen=st.session_state.pop("_new_saved", None))
next_step("pages/train.py", "train with and without this set", set=int(runs.set_index("id").loc[run_id, "sample_set_id"]),
          augmented=int(download_id))
excel = st.checkbox("Excel-friendly CSV (UTF-8 with BOM)", key="download_excel")
frame = export_frame(int(download_id))
d1, d2 = st.columns(2)
d1.download_button("Download CSV", to_csv_bytes(frame, excel), f"augmented_set_{download_id}.csv", "text/csv", key="download_csv")
d2.download_button("Download Parquet", to_parquet_bytes(frame), f"augmented_set_{download_id}.parquet", key="download_parquet")
