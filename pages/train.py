"""Train: queue fine-tuning jobs (one, or a sweep of augmentation settings x seeds) sized to a time
budget on a CPU, and watch the queue: status, progress, ETA, device, live curves, log tail;
cancel, resume, delete."""
import streamlit as st

from pages.inputs import config_form, kept, pick
from pages.jobs_panel import show_queue
from pages.ui import attempted, flash, say, show_flash, shown_errors
from storage.candidates import list_augmented_sets
from storage.db import begin
from storage.samples import list_sample_sets
from workbench import plan
from workbench.jobs import queue
from workbench.review import set_labels
from workbench.train.config import TrainConfig

FORM = ["model", "model_kind", "epochs", "seed"]  # what most users set; the defaults are what the study found works
MORE = ["strategy", "learning_rate", "batch_size", "max_length", "early_stopping_metric", "patience", "adversarial",
        "consistency_weight"]  # fmt: skip

st.title("Train")
show_flash()
with shown_errors(), begin() as conn:
    sets = list_sample_sets(conn)
if sets.empty:
    st.info("No sample sets yet: build one on the Samples page first.")
    st.stop()
queue.start_scheduler_if_needed()  # after an app restart, queued jobs get a scheduler again

names = dict(zip(sets["id"], sets["name"]))
set_id = pick("Sample set", list(names), key="sample_set", param="set", format_func=lambda i: f"{i}: {names[i]}")
with begin() as conn:
    accepted = list_augmented_sets(conn, int(set_id))
aug_names = set_labels(accepted)
if "augmented" in st.query_params:  # Review's "Next" link: the set just saved, chosen once
    wanted = st.query_params.pop("augmented").split(",")
    st.session_state.train_augmented = [i for i in aug_names if str(i) in wanted]
chosen = st.multiselect("Add accepted augmented sets to train", list(aug_names), format_func=aug_names.get,
                        key="train_augmented", help="The train split is always used; these are added to it.")
defaults = plan.form_defaults()
values = config_form(TrainConfig, FORM, defaults, "train_")
with st.expander("More settings: what to train, learning rate, batch, early stopping, robustness to typos"):
    values |= config_form(TrainConfig, MORE, defaults, "train_")
budget_col, share_col, all_col = st.columns(3)
budget = kept(budget_col.number_input, "Time budget per job (minutes)", min_value=1, max_value=24 * 60, key="train_budget", default=10,
              bounds=(1, 24 * 60))
share = kept(share_col.number_input, "Augmented per original (0 = the sets' own share)", min_value=0.0, max_value=10.0, step=0.1,
             key="train_augmented_share", default=0.0, bounds=(0.0, 10.0),
             help="augmented samples per original sample used, e.g. 0.5 adds half as many (0 = as many as the chosen "
                  "sets hold per original sample; the time budget cuts both alike)")
everything = kept(all_col.checkbox, "Every sample (ignore the budget)", key="train_all", default=False)


def sized_config():
    sized = plan.plan_training(int(set_id), chosen, int(values["epochs"]), None if everything else budget * 60, share,
                               kind=plan.kind_of(values))
    return sized, TrainConfig.from_dict(values | {"max_train": sized.max_train, "augmented_share": sized.augmented_share})


planned = attempted(sized_config)  # a value that cannot be used: its message here, the buttons off, the queue below stays
if planned:
    sized, config = planned
    say(sized.summary(), "info")
one, sweep = st.columns(2)  # one job, or a sweep: none + each chosen set (+ all together) x seeds
seeds = kept(sweep.text_input, "Sweep seeds", key="train_sweep_seeds", default="0, 1, 2", help="One job per seed for each setting.")
combined = kept(sweep.checkbox, "Also all chosen sets together", key="train_sweep_combined", default=False)
if one.button("Queue job", key="train_queue", type="primary", disabled=not planned):
    job_id = attempted(lambda: queue.submit_job(int(set_id), config, chosen))
    if job_id is not None:
        st.session_state._new_job = job_id
        flash(f"Queued job {job_id}: about {plan.minutes(sized.eta_s)}.")
        st.rerun()
if sweep.button("Queue sweep: none + each chosen set, x seeds", key="train_sweep", disabled=not planned):
    made = attempted(lambda: queue.run_sweep(int(set_id), config, plan.sweep_settings(chosen, combined),
                                             plan.parse_seeds(seeds), f"sweep on sample set {set_id}"))
    if made is not None:
        exp_id, ids = made
        st.session_state._new_job = ids[0]
        flash(f"Experiment {exp_id}: queued jobs {ids[0]} to {ids[-1]}, about {plan.minutes(sized.eta_s * len(ids))} in all.")
        st.rerun()

st.header("Queue")
show_queue()
