"""Train: queue fine-tuning jobs (one, or a sweep of augmentation settings x seeds) and watch the
queue: status, progress, ETA, device, live loss and validation curves, log tail; cancel, resume, delete."""
import dataclasses

import streamlit as st

from storage.candidates import list_augmented_sets
from storage.db import begin
from storage.samples import list_sample_sets
from workbench.errors import WorkbenchError
from workbench.jobs import queue
from workbench.train.config import TrainConfig, field_choices, field_help, field_label

FORM = ["model", "model_kind", "strategy", "epochs", "learning_rate", "batch_size", "max_length", "early_stopping_metric",
        "patience", "adversarial", "consistency_weight", "max_train", "seed"]  # fmt: skip
DEFAULTS = TrainConfig()

st.title("Train")
with begin() as conn:
    sets = list_sample_sets(conn)
if sets.empty:
    st.info("No sample sets yet: build one on the Samples page first.")
    st.stop()
queue.start_scheduler_if_needed()  # after an app restart, queued jobs get a scheduler again

names = dict(zip(sets["id"], sets["name"]))
set_id = st.selectbox("Sample set", list(names), format_func=lambda i: f"{i}: {names[i]}", key="train_sample_set")
with begin() as conn:
    accepted = list_augmented_sets(conn, int(set_id))
aug_names = dict(zip(accepted["id"], accepted["name"]))
chosen = st.multiselect("Add accepted augmented sets to train", list(aug_names), format_func=lambda i: aug_names[i],
                        key="train_augmented", help="The train split is always used; these are added to it.")

values, columns = {}, st.columns(4)
for i, f in enumerate(f for f in dataclasses.fields(TrainConfig) if f.name in FORM):
    col, default, kw = columns[i % 4], getattr(DEFAULTS, f.name), {"help": field_help(f.name), "key": f"train_{f.name}"}
    if field_choices(f.name):
        values[f.name] = col.selectbox(field_label(f.name), field_choices(f.name), **kw)
    elif isinstance(default, bool):
        values[f.name] = col.checkbox(field_label(f.name), value=default, **kw)
    elif isinstance(default, (int, float)):
        step, fmt = (1, None) if isinstance(default, int) else (default / 5 or 0.1, "%g")  # a learning rate steps by 1e-5, not 0.01
        values[f.name] = col.number_input(field_label(f.name), value=default, min_value=type(default)(0), step=step, format=fmt, **kw)
    else:
        values[f.name] = col.text_input(field_label(f.name), value=default, **kw)

one, sweep = st.columns(2)
seeds = sweep.text_input("Sweep seeds", "0, 1, 2", key="train_sweep_seeds", help="One job per seed for each setting.")
combined = sweep.checkbox("Also all chosen sets together", key="train_sweep_combined")
try:
    if one.button("Queue job", key="train_queue", type="primary"):
        job_id = queue.submit_job(int(set_id), TrainConfig.from_dict(values), chosen)
        st.success(f"Queued job {job_id}.")
    if sweep.button("Queue sweep: none + each chosen set, x seeds", key="train_sweep"):
        settings = [[]] + [[s] for s in chosen] + ([chosen] if combined and len(chosen) > 1 else [])
        exp_id, ids = queue.run_sweep(int(set_id), TrainConfig.from_dict(values), settings,
                                      [int(s) for s in seeds.replace(",", " ").split()], f"sweep on sample set {set_id}")
        st.success(f"Experiment {exp_id}: queued jobs {ids[0]} to {ids[-1]}.")
except (WorkbenchError, ValueError) as e:
    st.error(str(e))


@st.fragment(run_every=2 if queue.active_jobs() else None)
def show_queue():
    table = queue.queue_table()
    if table.empty:
        st.info("No jobs yet: choose the settings above and Queue job.")
        return
    st.dataframe(table, hide_index=True, column_config={"progress %": st.column_config.ProgressColumn(max_value=100)})
    job_id = st.selectbox("Job", table["id"].tolist(), key="train_job")
    loss, val = queue.job_curves(int(job_id))
    left, right = st.columns(2)
    left.caption("Training loss by step" if not loss.empty else "Training loss: no steps yet")
    right.caption("Validation metrics by epoch" if not val.empty else "Validation: no epoch finished yet")
    if not loss.empty:
        left.line_chart(loss)
    if not val.empty:
        right.line_chart(val.drop(columns=["loss"], errors="ignore"))
    details = queue.job_summary(int(job_id))
    if details["warning"]:
        st.warning(f"Job {job_id} is {details['warning']}.")
    weights = {k.removeprefix("head/"): v for k, v in (details["metrics"] or {}).items() if k.startswith("head/")}
    if weights:
        st.caption("Similarity head, weight of each standardised input: " + ", ".join(f"{k} {v:+.3f}" for k, v in weights.items()))
    st.code(queue.log_tail(int(job_id), 15) or "(no log yet)", language=None)
    cancel, resume, delete = st.columns(3)
    try:
        if cancel.button("Cancel", key="train_cancel"):
            st.info(f"Job {job_id} is {queue.cancel_job(int(job_id))['status']}.")
        if resume.button("Resume", key="train_resume"):
            st.info(f"Job {job_id} is {queue.resume_job(int(job_id))['status']} again.")
        if delete.button("Delete", key="train_delete"):
            queue.delete_job(int(job_id))
            st.rerun()
    except WorkbenchError as e:
        st.error(str(e))


st.header("Queue")
show_queue()
