"""Compare: did the augmented samples make the model better, where, and by how much? Runs that
learned nothing are flagged first, and the metric Compare opens with suits the labels."""
import streamlit as st

from pages.inputs import kept, pick
from pages.ui import column_headers, flash, follow_jobs, next_step, say, show_flash, shown_errors
from storage import experiments as store
from storage.db import begin
from storage.samples import list_sample_sets
from workbench import compare_checks, experiments, report, study


st.title("Compare")
show_flash()
st.caption(
    "Each setting's mean over seeds with a 95% bootstrap interval over seeds (none for one seed); the delta against "
    "the baseline is tested with a paired bootstrap over test queries, one seed too. The baseline is the pinned run's "
    "setting, all its seeds."
)
with shown_errors(), begin() as conn:
    experiment_list = store.list_experiments(conn)
    jobs = store.list_finished_jobs(conn)
follow_jobs()  # jobs still running: the page redraws as each one ends
if jobs.empty:
    st.info("No finished training job yet. Train on **4 Train** (a sweep of settings × seeds gives intervals), then come back.")
    st.stop()

names = dict(zip(experiment_list["id"], experiment_list["name"]))
ALL = 0  # not None: a selectbox showing None shows its placeholder, "Choose an option"
experiment_id = pick("Experiment", [ALL, *names], key="experiment", param="experiment",
                     format_func=lambda i: "All finished jobs" if i == ALL else f"#{i} {names[i]}") or None
scope = jobs if experiment_id is None else jobs[jobs["experiment_id"] == experiment_id]
if scope.empty:
    st.info("This experiment has no finished job yet: its answer appears here as its jobs finish.")
    next_step("pages/train.py", "watch the jobs run")
    st.stop()
set_ids = sorted(scope["sample_set_id"].astype(int).unique(), reverse=True)  # newest first
set_id = set_ids[0]
if len(set_ids) > 1:  # each sample set has its own test split: one comparison reads one set
    with shown_errors(), begin() as conn:
        set_names = list_sample_sets(conn).set_index("id")["name"].to_dict()
    set_id = pick("Sample set", set_ids, key="compare_set", param="set", format_func=lambda i: f"{i}: {set_names.get(i, '')}",
                  help="Jobs of different sample sets are tested on different queries, so they are compared one set at a time.")
with shown_errors():
    scope, _ = experiments.comparable(scope, int(set_id))  # the repeats left out are said under the figures
if experiment_id is not None:
    st.subheader("The answer so far")
    with shown_errors():
        for line in study.answer(experiment_id):
            say(f"- {line}", "markdown")
with shown_errors():
    checks = compare_checks.check_jobs(scope)
for warning in checks.warnings:
    say(warning, "warning")

runs = {int(r.id): f"#{r.id} · {r.setting} · seed {r.seed}" for r in scope.itertuples()}
pinned = experiment_list.set_index("id")["baseline_job_id"].get(experiment_id) if experiment_id else None
default = compare_checks.default_baseline(scope, pinned)
left, middle, right = st.columns(3)
metrics = experiments.METRICS + experiments.COSTS
metric = kept(left.selectbox, "Metric", metrics, key="metric",
              default=checks.default_metric, choices=metrics)
slice_ = kept(middle.selectbox, "Slice", experiments.SLICES, key="slice", default=experiments.SLICES[0],
              choices=experiments.SLICES, help="typo: the test queries with keyboard typos")
baseline_job = right.selectbox("Baseline run", list(runs), index=list(runs).index(default), format_func=runs.get, key="baseline")
if experiment_id is not None and st.button("Pin this run as the experiment's baseline", key="pin"):
    with shown_errors(), begin() as conn:
        store.set_baseline_job(conn, experiment_id, baseline_job)
    flash(f"Pinned {runs[baseline_job]} as the baseline of experiment #{experiment_id}.")
    st.rerun()

with shown_errors():
    comparison = experiments.load_comparison(experiment_id, sample_set_id=int(set_id), metric=metric, slice_=slice_,
                                             baseline=scope.set_index("id").loc[baseline_job, "setting"])
for note in report.notes(comparison):
    say(note, "warning")
for line in compare_checks.summary(report.summary_lines(comparison), comparison, checks):
    say(f"- {line}", "markdown")
charts = report.figures(comparison)
st.plotly_chart(charts["metric"], key="chart_metric")
st.dataframe(comparison.table(), hide_index=True, key="table", column_config=column_headers(comparison.table(), report.COLUMNS))
if comparison.references:
    st.caption("References: what you had before training, on the same test split (95% interval over test queries).")
    st.dataframe(comparison.reference_table(), hide_index=True, key="references",
                 column_config=column_headers(comparison.reference_table(), report.COLUMNS))
    behind = [s.name for s in comparison.settings if not s.beats_zero_shot]
    if behind:
        say("Not better than the untrained zero-shot model: " + ", ".join(behind)
            + ". A model that has not learned the task says nothing about augmentation.", "warning")
else:
    st.caption("No zero-shot or lexical reference: these jobs were trained before references existed.")
one, two = st.columns(2)
one.download_button("Download table (CSV)", report.table_csv(comparison), "comparison.csv", "text/csv", key="download_csv")
two.download_button("Download report (HTML)", lambda: report.html_report(comparison, checks.warnings), "comparison.html",
                    "text/html", key="download_html")
st.subheader("Learning curves")
st.plotly_chart(charts["train_loss"], key="chart_train_loss")
st.plotly_chart(charts["val_curve"], key="chart_val_curve")
st.subheader("Slices and cost")
st.plotly_chart(charts["slices"], key="chart_slices")
st.caption(compare_checks.COST_NOTE)
st.plotly_chart(charts["cost"], key="chart_cost")
