"""The home page: what the tool does, where the user is, and 'Load demo data' on an empty database."""
from storage import datasets
from storage.db import begin
from tests.pages_support import links, open_page


def test_an_empty_database_offers_the_demo_and_loading_it_fills_the_data_step(db_url):
    at = open_page("pages/home.py")
    assert not at.exception
    assert at.title[0].value == "Search Augmentation Workbench"
    assert at.info[0].value.startswith("The database is empty.")
    at.button(key="load_demo").click().run()
    assert not at.exception
    assert at.success[0].value == "Loaded the demo: catalog dataset 1, logs dataset 2."
    # The page follows at once (issue 13: it kept the zero counts and the button until you left):
    assert (at.metric[0].label, at.metric[0].value) == ("1 Data: datasets", "2") and not at.info and not at.button
    assert links(at) == ["Next: 2 Samples: Label the samples and split them by query."]
    with begin() as conn:
        assert len(datasets.list_datasets(conn)) == 2


def test_with_data_the_home_page_links_the_next_step(demo_db):
    at = open_page("pages/home.py")
    assert not at.exception
    assert not at.button  # no demo button once there is data
    assert [(m.label, m.value) for m in at.metric] == [("1 Data: datasets", "2"), ("2 Samples: sample sets", "0"),
                                                      ("3 Augment: augmented sets", "0"), ("4 Train: training jobs", "0")]
    assert links(at) == ["Next: 2 Samples: Label the samples and split them by query."]


def test_the_sidebar_says_idle_when_no_job_is_queued(demo_db):
    at = open_page("pages/home.py")
    assert [t.value for t in at.sidebar.text] == ["Idle: no jobs queued or running"]


def test_home_sends_the_user_to_train_not_compare_while_no_job_has_finished(demo_sample_set):
    """Home offered "Next: 5 Compare" as soon as a job was queued, and Compare then had nothing to show."""
    from storage import jobs as job_store
    from tests.test_train_support import store_augmented_set

    store_augmented_set(demo_sample_set)
    with begin() as conn:
        job_id = job_store.create_job(conn, sample_set_id=demo_sample_set, config={}, setting="none", seed=0,
                                      augmented_set_ids=[])
        job_store.set_job_status(conn, job_id, "cancelled")  # not active: no scheduler starts
    at = open_page("pages/home.py")
    assert not at.exception
    assert at.metric[1].value == "1" and (at.metric[3].value, at.metric[3].delta) == ("1", "0 finished")
    assert links(at)[0] == "Next: 4 Train: watch the jobs run; Compare opens once one has finished"
    with begin() as conn:
        job_store.set_job_status(conn, job_id, "done", progress=1.0)
    at = open_page("pages/home.py")
    assert at.metric[3].delta == "1 finished"
    assert links(at)[0] == "Next: 5 Compare: see how the settings compare"
