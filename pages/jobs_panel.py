"""The job queue under the Train page (not a page): the table, the chosen job's curves, notes and
log, and its cancel, resume and delete buttons. Refreshes itself every 2 s while jobs are active,
and the page redraws when one ends (ui.follow_jobs), which turns the refresh off after the last.

Whether it refreshes is decided on every call, not in a decorator: this module is imported once per
app process, so `@st.fragment(run_every=... if active ...)` froze the first visit's answer, and a
queue first opened idle showed "queued" for minutes while the sidebar said the job ran."""
import streamlit as st

from pages.inputs import pick
from pages.ui import confirmed, flash, follow_jobs, next_step, say, shown_errors
from workbench import report
from workbench.jobs import queue
from workbench.jobs_view import job_notes, queue_view


def show_queue():
    st.fragment(_queue, run_every=2 if follow_jobs() else None)()


def _queue():
    table = queue_view()
    if table.empty:
        st.info("No jobs yet: choose the settings above and Queue job.")
        return
    # The values are already percentages: without a format the bar's label multiplies them by 100 again ("3,450%").
    progress = st.column_config.ProgressColumn(min_value=0, max_value=100, format="%.0f%%")
    shown = table.assign(experiment=[f"#{int(e)}" if e == e and e is not None else "" for e in table["experiment"]])  # no None
    st.dataframe(shown, hide_index=True, column_config={"progress %": progress})
    job_id = pick("Job", table["id"].tolist(), key="train_job", param="job", chosen=st.session_state.pop("_new_job", None))
    loss, val = queue.job_curves(int(job_id))
    for column, frame, title in zip(st.columns(2), [loss, val.drop(columns=["loss"], errors="ignore")],
                                    ["Training loss by step", "Validation metrics by epoch"]):
        if frame.empty:
            column.caption(f"{title}: nothing yet")
        else:
            column.plotly_chart(report.job_curve_figure(frame, title), key=f"curve_{title}")
    for kind, text in job_notes(int(job_id)):
        say(text, kind)
    st.code(queue.log_tail(int(job_id), 15) or "(no log yet)", language=None)
    status = table.set_index("id").loc[job_id, "status"]
    cancel, resume, delete = st.columns(3)
    with shown_errors():
        if status in ("queued", "running") and cancel.button(f"Cancel job {job_id}", key="train_cancel"):
            flash(f"Job {job_id} is {queue.cancel_job(int(job_id))['status']}.")
            st.rerun()
        if status in ("failed", "cancelled") and resume.button(f"Resume job {job_id}", key="train_resume"):
            queue.resume_job(int(job_id))  # its status a moment later may already be "running": the scheduler polls
            flash(f"Job {job_id} is queued again.")
            st.rerun()
        if confirmed(f"Delete job {job_id}", "train_delete", job_id, f"Delete job {job_id}, its metrics and its folder?", delete):
            queue.delete_job(int(job_id))
            flash(f"Deleted job {job_id}.")
            st.rerun()
    if status == "done":
        next_step("pages/compare.py", "see how the settings compare")
