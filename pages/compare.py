"""Compare: did the augmented samples make the model better, where, and by how much?"""
import streamlit as st

from storage import experiments as store
from storage.db import begin
from storage.errors import StorageError
from workbench import experiments, report
from workbench.errors import WorkbenchError
from workbench.escaping import plain

st.title("Compare")
st.caption(
    "Each setting's mean over seeds with a 95% bootstrap interval; the delta against the baseline is tested "
    "with a paired bootstrap over test queries. The baseline is the pinned run's setting, all its seeds."
)

with begin() as conn:
    experiment_list = store.list_experiments(conn)
    jobs = store.list_finished_jobs(conn)
if jobs.empty:
    st.info("No finished training job yet. Train on **4 Train** (a sweep of settings × seeds gives intervals), then come back.")
    st.stop()

names = dict(zip(experiment_list["id"], experiment_list["name"]))
experiment_id = st.selectbox(
    "Experiment", [None, *names], format_func=lambda i: "All finished jobs" if i is None else f"#{i} {names[i]}", key="experiment"
)
scope = jobs if experiment_id is None else jobs[jobs["experiment_id"] == experiment_id]
if scope.empty:
    st.info("This experiment has no finished job yet; pick another or wait for its jobs on **4 Train**.")
    st.stop()

runs = {int(r.id): f"#{r.id} · {r.setting} · seed {r.seed}" for r in scope.itertuples()}
pinned = experiment_list.set_index("id")["baseline_job_id"].get(experiment_id) if experiment_id else None
default = pinned if pinned in runs else next((j for j in runs if scope.set_index("id").loc[j, "setting"] == "none"), next(iter(runs)))
left, middle, right = st.columns(3)
metric = left.selectbox("Metric", experiments.METRICS + experiments.COSTS, key="metric")
slice_ = middle.selectbox("Slice", experiments.SLICES, key="slice", help="typo: the test queries with keyboard typos")
baseline_job = right.selectbox("Baseline run", list(runs), index=list(runs).index(default), format_func=runs.get, key="baseline")
if experiment_id is not None and st.button("Pin this run as the experiment's baseline", key="pin"):
    with begin() as conn:
        store.set_baseline_job(conn, experiment_id, baseline_job)
    st.success(plain(f"Pinned {runs[baseline_job]} as the baseline of experiment #{experiment_id}."))

try:
    comparison = experiments.load_comparison(
        experiment_id, metric=metric, slice_=slice_, baseline=scope.set_index("id").loc[baseline_job, "setting"]
    )
except (WorkbenchError, StorageError) as e:
    st.error(plain(e))
    st.stop()

for line in report.summary_lines(comparison):
    st.markdown(f"- {plain(line)}")
charts = report.figures(comparison)
st.plotly_chart(charts["metric"], key="chart_metric")
st.dataframe(comparison.table(), hide_index=True, key="table")
if comparison.references:
    st.caption("References: what you had before training, on the same test split (95% interval over test queries).")
    st.dataframe(comparison.reference_table(), hide_index=True, key="references")
    behind = [s.name for s in comparison.settings if not s.beats_zero_shot]
    if behind:
        st.warning(plain("Not better than the untrained zero-shot model: " + ", ".join(behind)
                         + ". A model that has not learned the task says nothing about augmentation."))
else:
    st.caption("No zero-shot or lexical reference: these jobs were trained before references existed, or span several sample sets.")
one, two = st.columns(2)
one.download_button("Download table (CSV)", report.table_csv(comparison), "comparison.csv", "text/csv", key="download_csv")
two.download_button("Download report (HTML)", lambda: report.html_report(comparison), "comparison.html", "text/html", key="download_html")
st.subheader("Learning curves")
st.plotly_chart(charts["train_loss"], key="chart_train_loss")
st.plotly_chart(charts["val_curve"], key="chart_val_curve")
st.subheader("Slices and cost")
st.plotly_chart(charts["slices"], key="chart_slices")
st.plotly_chart(charts["cost"], key="chart_cost")
