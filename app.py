"""Search Augmentation Workbench: `streamlit run app.py`.

The entry point lists every page with st.Page (automatic pages/ discovery is off once
st.navigation runs) and draws the sidebar: where the database is and what the job scheduler does.
"""
import streamlit as st

from storage.actor import set_actor
from storage.db import describe
from workbench import login
from workbench.jobs.queue import active_jobs, start_scheduler_if_needed
from workbench.jobs.scheduler import running_pid

st.set_page_config(page_title="Search Augmentation Workbench", layout="wide")

# Who may come in (workbench/login.py): 127.0.0.1 needs no login; a network address needs st.login.
auth = st.secrets.get("auth") if st.secrets.load_if_toml_exists() else None
entry = login.entry(st.get_option("server.address"), auth, st.user.to_dict())
if entry.refused or entry.must_log_in:
    st.title("Search Augmentation Workbench")
    if entry.refused:
        st.error(entry.refused)
    else:
        st.button("Log in", key="login", on_click=st.login)
    st.stop()
set_actor(entry.actor)  # jobs and review actions record who did them

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
    if entry.actor:
        st.text(f"Signed in as {entry.actor}")
        st.button("Log out", key="logout", on_click=st.logout)
    st.caption("Database")
    st.code(describe(), language=None)
    start_scheduler_if_needed()  # after a restart, queued or running jobs get a scheduler again
    pid = running_pid()
    st.caption("Job scheduler")
    st.write(f"running (pid {pid}), {active_jobs()} job(s) queued or running" if pid else "idle: no jobs queued")

page.run()
