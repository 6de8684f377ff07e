"""Study: "Which augmentation helps this sample set?" in one click. Each chosen recipe is generated
and accepted by its own score rule, one sweep (none + each recipe, x seeds) is queued sized to the
time budget, and Compare opens on it with the answer at the top."""
import streamlit as st

from pages.inputs import kept, pick
from pages.ui import flash, say, shown_errors
from storage.db import begin
from storage.samples import list_sample_sets
from workbench import plan, study
from workbench.augment.recipes import PRESETS
from workbench.wording import count_of

st.title("Which augmentation helps?")
st.write("Pick the recipes to try and how long training may take. The study generates and accepts each recipe, "
         "trains with and without it over several seeds, and Compare answers: which helped, where, by how much, how sure.")
with shown_errors(), begin() as conn:
    sets = list_sample_sets(conn)
if sets.empty:
    st.info("No sample sets yet: build one on the Samples page first (or load the demo on Home).")
    st.stop()
names = dict(zip(sets["id"], sets["name"]))
set_id = pick("Sample set", list(names), key="sample_set", param="set", format_func=lambda i: f"{i}: {names[i]}")
recipes = st.multiselect("Recipes to try", list(PRESETS), ["typo robustness"], key="study_recipes", persist_state="session")
left, right = st.columns(2)
budget = kept(left.number_input, "Time budget for training (minutes)", min_value=1, max_value=24 * 60, key="study_budget", default=10,
              bounds=(1, 24 * 60))
sources = kept(right.number_input, "Train samples each recipe augments (0 = all)", min_value=0, key="study_sources",
               default=2000, bounds=(0, None))
say(f"{1 + len(recipes)} settings (none + {count_of(len(recipes), 'recipe')}) x up to {study.SEED_CHOICES[0]} seeds, one epoch each, "
    f"sized on {plan.device().upper()} to train within {budget} min.", "caption")
if st.button("Run the study", key="study_run", type="primary", disabled=not recipes):
    bar = st.progress(0.0, text="Starting")
    with shown_errors():
        result = study.run_study(study.StudyConfig(sample_set_id=int(set_id), recipes=recipes, budget_s=budget * 60,
                                                   max_source_samples=int(sources)),
                                 on_progress=lambda d, t, m: bar.progress(min(d / max(t, 1), 1.0), text=m))
    flash(f"Study queued as experiment {result.experiment_id}: {len(result.job_ids)} jobs ({count_of(len(result.seeds), 'seed')}, "
          f"{result.originals:,} original samples each), {study.eta_text(result)}. "
          "The answer fills in here as they finish.")
    st.switch_page("pages/compare.py", query_params={"experiment": result.experiment_id})
