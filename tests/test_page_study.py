"""The study page ("Which augmentation helps?") through AppTest: guard, one click generates and
accepts the recipe, queues the sized sweep and opens Compare on it with the plan said first."""
from __future__ import annotations

import contextlib

from test_train_support import store_sample_set, wait_for

from storage import candidates
from storage import jobs as store
from storage.db import begin
from tests.pages_support import away_and_back, open_page
from workbench.errors import BadInput
from workbench.jobs.queue import cancel_job
from workbench.jobs.scheduler import is_running


def test_without_sample_sets_the_page_says_what_to_do(db_url):
    at = open_page("pages/study.py")
    assert not at.exception
    assert at.info[0].value == "No sample sets yet: build one on the Samples page first (or load the demo on Home)."


def test_one_click_queues_the_study_and_opens_compare_on_it(db_url, monkeypatch):
    monkeypatch.setenv("WORKBENCH_SCHEDULER_POLL_S", "0.2")
    set_id = store_sample_set(n=120)
    at = open_page("pages/study.py")
    assert at.main.caption[0].value.startswith("2 settings (none + 1 recipe) x up to 3 seeds, one epoch each")
    at.button(key="study_run").click().run()
    with begin() as conn:
        jobs = store.list_jobs(conn)
        saved = candidates.list_augmented_sets(conn, set_id)
    for job_id in jobs["id"]:  # the bundled model would train for minutes: this test is about the page
        with contextlib.suppress(BadInput):  # a job that already ended cannot be cancelled
            cancel_job(int(job_id))
    assert not at.exception
    assert saved["name"].tolist() == ["typo robustness (study)"]
    assert sorted(set(jobs["setting"])) == ["none", "typo robustness (study)"]
    assert at.query_params["experiment"] == "1"
    assert at.title[0].value == "Compare"
    assert at.success[0].value.startswith(f"Study queued as experiment 1: {len(jobs)} jobs (")
    wait_for(lambda: not is_running(), timeout_s=120)



def test_the_choices_survive_a_visit_to_another_page(db_url):
    """The recipes and the budget went back to their defaults after a visit elsewhere (audit item 7)."""
    store_sample_set(n=120)
    at = open_page("pages/study.py")
    recipes = at.multiselect(key="study_recipes").options[:2]
    at.multiselect(key="study_recipes").set_value(recipes)
    at.number_input(key="study_budget").set_value(30)
    at.number_input(key="study_sources").set_value(500).run()
    at = away_and_back(at, "pages/samples.py", "pages/study.py")
    assert not at.exception
    assert at.multiselect(key="study_recipes").value == recipes
    assert at.number_input(key="study_budget").value == 30
    assert at.number_input(key="study_sources").value == 500
