"""Augment: pick a recipe (a preset or by hand) and generate candidates from the train split with a
progress bar; the candidates are reviewed, accepted and saved on 3b Review."""
import streamlit as st

from pages.inputs import kept, pick
from pages.ui import attempted, flash, next_step, say, show_flash, shown_errors
from storage.candidates import list_augment_runs
from storage.db import begin
from storage.samples import list_sample_sets
from workbench.augment import REGISTRY
from workbench.augment.filters import SCORERS
from workbench.augment.labels import teacher_choices, typo_rate
from workbench.augment.pipeline import run_recipe
from workbench.augment.recipes import PRESETS, recipe_from_form
from workbench.review import dropped_in_words

st.title("Augment")
show_flash()
with shown_errors(), begin() as conn:
    sets = list_sample_sets(conn)
if sets.empty:
    st.info("No sample sets yet: build one on the Samples page first.")
    st.stop()
names = dict(zip(sets["id"], sets["name"]))
set_id = pick("Sample set", list(names), key="sample_set", param="set", format_func=lambda i: f"{i}: {names[i]}")

st.header("Recipe")  # persist_state="session": each input keeps its value while the user visits other pages
preset = kept(st.selectbox, "Preset", [*PRESETS, "by hand"], key="augment_preset", default=next(iter(PRESETS)),
              choices=[*PRESETS, "by hand"])
base = PRESETS.get(preset, {"steps": [], "filters": {}})
chosen = st.multiselect("Augmenters", list(REGISTRY), [s["augmenter"] for s in base["steps"]],
                        key=f"augment_steps_{preset}", persist_state="session")
params = st.text_area("Parameters by augmenter (JSON)", "{}", key="augment_params", persist_state="session",
                      help='e.g. {"keyboard_typo": {"word_p": 0.2}}')
c1, c2, c3, c4 = st.columns(4)
per_sample = c1.number_input("Candidates per sample", 1, 20, base.get("per_sample", 1),
                             key=f"augment_per_sample_{preset}", persist_state="session")
seed = c2.number_input("Seed", 0, 2**31 - 1, 0, key="augment_seed", persist_state="session")
max_sources = c3.number_input("Source samples (0 = all train)", 0, None, 2000, key="augment_max_sources",
                              persist_state="session")
min_score = c4.slider("Drop below score", 0.0, 1.0, float(base["filters"].get("min_score", 0.5)),
                      key=f"augment_min_score_{preset}", persist_state="session")
scorer = st.radio("Score with", SCORERS, SCORERS.index(base["filters"].get("scorer", "string")), horizontal=True,
                  key=f"augment_scorer_{preset}", persist_state="session",
                  help="teacher: a relevance model scores each candidate pair and keeps it when it agrees with the label")
teacher, margin = 0, 0.5
if scorer == "teacher":
    t1, t2 = st.columns(2)
    with shown_errors():
        teachers = teacher_choices(int(set_id))
    teacher = t1.selectbox("Teacher", list(teachers), format_func=teachers.get, key="augment_teacher")
    margin = t2.slider("Teacher margin", 0.0, 1.0, 0.5, 0.05, key="augment_teacher_margin", persist_state="session",
                       help="keep a candidate when the teacher's expected label is within this share of the label range of its label")
if f"typo_rate_{set_id}" not in st.session_state:  # the logs do not change under a sample set: estimate once
    with shown_errors():
        st.session_state[f"typo_rate_{set_id}"] = typo_rate(int(set_id))
say(f"Typo rate in the logs: {st.session_state[f'typo_rate_{set_id}']:.1%} of queries are within two edits of a "
    "more frequent one. Typo-aware training: set the typo augmenters' rate to it.", "caption")
if st.button("Generate", key="augment_generate", type="primary", disabled=not chosen):
    # A bad parameter or recipe is shown here and the runs and the Review link below still render.
    recipe = attempted(lambda: recipe_from_form(preset, chosen, params, per_sample, seed, max_sources, min_score, scorer,
                                                teacher, margin))
    if recipe is not None:
        bar = st.progress(0.0, text="Starting")
        result = attempted(lambda: run_recipe(set_id, recipe, on_progress=lambda d, t, m: bar.progress(min(d / max(t, 1), 1.0), m)))
        bar.empty()  # no stranded bar above an error
        if result is not None:
            st.session_state._new_run = result.augment_run_id
            flash(f"Run {result.augment_run_id}: {result.candidates:,} candidates kept of {result.generated:,}. "
                  f"Dropped: {dropped_in_words(result.dropped)}.")
            st.rerun()

with shown_errors(), begin() as conn:
    runs = list_augment_runs(conn, set_id)
if runs.empty:
    st.info("No candidates yet for this sample set: choose a recipe and Generate.")
    st.stop()
newest = st.session_state.get("_new_run", int(runs["id"].iloc[0]))
next_step("pages/review.py", f"review, accept and save run {newest}'s candidates", set=set_id, run=newest)
