"""Search Augmentation Workbench: `streamlit run app.py`.

The entry point lists every page with st.Page (automatic pages/ discovery is off once
st.navigation runs) and draws the sidebar: where the database is and what the job scheduler does.
"""
import streamlit as st


from storage.actor import set_actor
from storage.db import describe
from storage.errors import StorageError
from workbench import login
from workbench.jobs.queue import start_scheduler_if_needed
from workbench.jobs_view import scheduler_state

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
    st.Page("pages/review.py", title="3b Review", icon=":material/fact_check:"),
    st.Page("pages/train.py", title="4 Train", icon=":material/model_training:"),
    st.Page("pages/study.py", title="Which augmentation helps?", icon=":material/science:"),
    st.Page("pages/compare.py", title="5 Compare", icon=":material/bar_chart:"),
]
page = st.navigation(pages)


def scheduler_status():
    """The scheduler's line, read anew on every run of this fragment, so it stays true."""
    try:
        state = scheduler_state()
    except StorageError:  # the database is busy this moment; the next run reads it
        st.caption("Job scheduler: the database is busy, reading again shortly")
        return
    st.caption("Job scheduler")
    st.text(state.line)


with st.sidebar:
    if entry.actor:
        st.caption("Signed in as")
        st.code(entry.actor, language=None)  # shown as typed, never markdown
        st.button("Log out", key="logout", on_click=st.logout)
    st.caption("Database")
    st.code(describe(), language=None)
    start_scheduler_if_needed()  # after a restart, queued or running jobs get a scheduler again
    try:
        active = scheduler_state().active
    except StorageError:
        active = True
    st.fragment(scheduler_status, run_every=3 if active else None)()  # re-read while jobs are queued or running

page.run()
