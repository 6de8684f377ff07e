"""Search Augmentation Workbench: `streamlit run app.py`.

The entry point lists every page with st.Page (automatic pages/ discovery is off once
st.navigation runs) and draws the sidebar: where the database is and what the job scheduler does.
"""
import streamlit as st

from storage.db import describe
from workbench.jobs.queue import active_jobs, start_scheduler_if_needed
from workbench.jobs.scheduler import running_pid

st.set_page_config(page_title="Search Augmentation Workbench", layout="wide")

pages = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/data.py", title="1 Data", icon=":material/upload_file:"),
    st.Page("pages/samples.py", title="2 Samples", icon=":material/table_rows:"),
    st.Page("pages/augment.py", title="3 Augment", icon=":material/auto_awesome:"),
    st.Page("pages/train.py", title="4 Train", icon=":material/model_training:"),
    st.Page("pages/compare.py", title="5 Compare", icon=":material/bar_chart:"),
]
page = st.navigation(pages)

with st.sidebar:
    st.caption("Database")
    st.code(describe(), language=None)
    start_scheduler_if_needed()  # after a restart, queued or running jobs get a scheduler again
    pid = running_pid()
    st.caption("Job scheduler")
    st.write(f"running (pid {pid}), {active_jobs()} job(s) queued or running" if pid else "idle: no jobs queued")

page.run()
