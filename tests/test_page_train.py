"""The Train page, driven with AppTest: guard, queue a job with the form, cancel and resume it,
queue a sweep of augmentation settings x seeds. Jobs use a tiny random-config BERT."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest
from test_train_support import store_augmented_set, store_sample_set, wait_for

import pytest
from storage import jobs as store
from storage.db import begin
from tests.pages_support import away_and_back, open_page
from workbench.jobs.queue import delete_job
from workbench.jobs.scheduler import is_running


@pytest.fixture
def env(db_url, monkeypatch):
    monkeypatch.setenv("WORKBENCH_SCHEDULER_POLL_S", "0.2")
    monkeypatch.setenv("WORKBENCH_TORCH_THREADS", "1")
    yield db_url
    wait_for(lambda: not is_running(), timeout_s=120)


def _page(**query) -> AppTest:
    return open_page("pages/train.py", query)


def test_without_sample_sets_the_page_says_what_to_do(env):
    at = _page()
    assert not at.exception
    assert at.info[0].value == "No sample sets yet: build one on the Samples page first."


@pytest.mark.slow  # starts processes
def test_queue_a_job_from_the_form_then_cancel_resume_and_delete_it(env, tiny_model):
    set_id = store_sample_set()
    at = _page()
    assert at.info[0].value.startswith("Trains on 72 of 72 original samples, 1 epoch, on CPU: about ")  # before queuing
    assert at.info[1].value == "No jobs yet: choose the settings above and Queue job."
    at.text_input(key="train_model").set_value(tiny_model)
    at.number_input(key="train_epochs").set_value(500)
    at.selectbox(key="train_strategy").set_value("head")
    at.button(key="train_queue").click().run()
    assert not at.exception
    assert at.success[0].value.startswith("Queued job 1: about ")
    with begin() as conn:
        job = store.get_job(conn, 1)
    assert job["sample_set_id"] == set_id and job["config"]["epochs"] == 500 and job["config"]["strategy"] == "head"
    assert at.dataframe[0].value["id"].tolist() == [1]
    assert at.selectbox(key="train_job").value == 1 and at.query_params["job"] == "1"

    at.button(key="train_cancel").click().run()
    assert not at.exception
    assert at.success[0].value == "Job 1 is cancelled."
    at.button(key="train_resume").click().run()
    assert at.success[0].value == "Job 1 is queued again."
    at.button(key="train_delete").click().run()
    assert at.warning[0].value == "Delete job 1, its metrics and its folder?"
    with begin() as conn:
        assert len(store.list_jobs(conn)) == 1  # asked, not deleted
    at.button(key="train_delete_yes").click().run()
    assert not at.exception
    assert at.success[0].value == "Deleted job 1."
    with begin() as conn:
        assert store.list_jobs(conn).empty


@pytest.mark.slow  # starts processes
def test_a_new_job_is_selected_not_the_one_selected_before(env, tiny_model):
    store_sample_set()
    at = _page()
    at.text_input(key="train_model").set_value(tiny_model)
    at.number_input(key="train_epochs").set_value(500)
    at.button(key="train_queue").click().run()
    at.button(key="train_cancel").click().run()
    at.button(key="train_queue").click().run()
    assert at.selectbox(key="train_job").value == 2
    assert at.button(key="train_cancel").label == "Cancel job 2"
    at.button(key="train_cancel").click().run()
    assert at.success[0].value == "Job 2 is cancelled."
    assert _page(job=1).selectbox(key="train_job").value == 1  # a reload keeps the choice in the URL


@pytest.mark.slow  # starts processes
def test_the_cap_and_the_augmented_share_are_shown_and_stored(env, tiny_model):
    set_id = store_sample_set(n=400)
    extra = store_augmented_set(set_id, "typos")
    at = _page()
    at.text_input(key="train_model").set_value(tiny_model)
    at.multiselect(key="train_augmented").set_value([extra])
    at.number_input(key="train_augmented_share").set_value(0.5).run()
    assert at.info[0].value.startswith("Trains on 240 of 240 original samples + 120 of 240 augmented = 360 samples in all "
                                       "(0.5 augmented per original), 1 epoch")
    at.button(key="train_queue").click().run()
    with begin() as conn:
        config = store.get_job(conn, 1)["config"]
    assert (config["max_train"], config["augmented_share"], config["epochs"]) == (0, 0.5, 1)
    at.button(key="train_cancel").click().run()


@pytest.mark.slow  # starts processes
def test_a_sweep_queues_one_job_per_setting_and_seed_in_one_experiment(env, tiny_model):
    set_id = store_sample_set()
    extra = store_augmented_set(set_id, "typos")
    at = _page()
    at.text_input(key="train_model").set_value(tiny_model)
    at.multiselect(key="train_augmented").set_value([extra])
    at.text_input(key="train_sweep_seeds").set_value("0, 1")
    at.button(key="train_sweep").click().run()
    assert not at.exception
    with begin() as conn:
        jobs = store.list_jobs(conn).sort_values("id")
    assert at.success[0].value.startswith("Experiment 1: queued jobs 1 to 4, about ")
    assert list(zip(jobs["setting"], jobs["seed"])) == [("none", 0), ("none", 1), ("typos", 0), ("typos", 1)]
    assert set(jobs["experiment_id"]) == {1}
    for job_id in jobs["id"]:
        delete_job(int(job_id))


def test_a_sweep_without_seeds_says_so(env, tiny_model):
    store_sample_set()
    at = _page()
    at.text_input(key="train_sweep_seeds").set_value("")
    at.button(key="train_sweep").click().run()
    assert not at.exception
    assert at.error[0].value == "Sweep seeds: write whole numbers separated by commas, e.g. 0, 1, 2 (got '')"


def test_the_form_values_the_user_changed_survive_a_reload(env, tiny_model):
    """Changed values go into the URL; a new session (a reload) opened on that URL shows them again,
    and a value set back to its default leaves the URL."""
    store_sample_set()
    at = _page()
    at.number_input(key="train_epochs").set_value(3)
    at.selectbox(key="train_strategy").set_value("lora")
    at.text_input(key="train_model").set_value(tiny_model).run()
    assert not at.exception
    url = {k: at.query_params[k] for k in ("train_epochs", "train_strategy", "train_model")}
    assert url == {"train_epochs": "3", "train_strategy": "lora", "train_model": tiny_model}
    assert "train_learning_rate" not in at.query_params  # untouched: not in the URL
    reloaded = _page(**url, set=at.query_params["set"])
    assert not reloaded.exception
    assert reloaded.number_input(key="train_epochs").value == 3 and reloaded.selectbox(key="train_strategy").value == "lora"
    assert reloaded.text_input(key="train_model").value == tiny_model
    reloaded.number_input(key="train_epochs").set_value(1).run()  # the CPU default again
    assert "train_epochs" not in reloaded.query_params
    broken = _page(train_epochs="many")  # a hand-edited URL falls back to the default
    assert not broken.exception and broken.number_input(key="train_epochs").value == 1


def progress_label(column_config: dict, value: float, integer: bool = False) -> str:
    """The text a ProgressColumn draws on its bar, as Streamlit's frontend makes it (DataFrame.js,
    the progress column): without a format an integer column is '%3d%%' of 0..100 and a float column
    'percent' of 0..1 (the value times 100); a printf format is applied to the value as it is."""
    fmt = (column_config.get("type_config") or {}).get("format") or ("%3d%%" if integer else "percent")
    if fmt == "percent":
        return f"{value * 100:,.2f}%"
    return fmt.replace("%3d", f"{int(value):3d}").replace("%.0f", f"{value:.0f}").replace("%%", "%")


def test_the_queue_shows_a_job_at_35_percent_as_35_percent(env):
    """The queue's progress column holds percentages; its bar once read '3,450%' for 34.5 (scaled twice).
    The table is drawn on a canvas, so the test reads the value and the column config the browser gets."""
    import json

    set_id = store_sample_set()
    with begin() as conn:
        job_id = store.create_job(conn, sample_set_id=set_id, config={}, setting="none", seed=0, augmented_set_ids=[])
        store.set_job_status(conn, job_id, "cancelled", progress=0.35)  # not active: no scheduler starts
    at = _page()
    assert not at.exception
    table = at.dataframe[0]
    assert table.value["progress %"].tolist() == [35.0]
    config = json.loads(table.proto.columns)["progress %"]
    assert config["type_config"]["max_value"] == 100
    assert progress_label(config, 35.0) == "35%"


def test_reviews_next_link_opens_train_with_the_saved_set_chosen(env):
    """Review's 'Next: 4 Train: train with and without this set' opened Train with no set chosen."""
    set_id = store_sample_set()
    store_augmented_set(set_id, "other")
    extra = store_augmented_set(set_id, "typos")
    at = _page(set=set_id, augmented=extra)  # the link's query
    assert not at.exception
    assert at.multiselect(key="train_augmented").value == [extra]
    assert at.multiselect(key="train_augmented").format_func(extra) == f"{extra}: typos (72 samples)"
    assert "augmented" not in at.query_params  # read once: the user's later choice is not overridden
    at.multiselect(key="train_augmented").set_value([]).run()
    assert at.multiselect(key="train_augmented").value == []



def test_the_form_and_the_budget_survive_a_visit_to_another_page(env):
    """The config form and the time budget went back to their defaults after a visit elsewhere (audit item 7)."""
    store_sample_set()
    at = _page()
    at.number_input(key="train_epochs").set_value(3)
    at.selectbox(key="train_strategy").set_value("lora")
    at.checkbox(key="train_adversarial").check()
    at.number_input(key="train_budget").set_value(25)
    at.number_input(key="train_augmented_share").set_value(0.5)
    at.text_input(key="train_sweep_seeds").set_value("4, 5").run()
    assert not at.exception
    at = away_and_back(at, "pages/compare.py", "pages/train.py")
    assert not at.exception
    assert at.number_input(key="train_epochs").value == 3 and at.selectbox(key="train_strategy").value == "lora"
    assert at.checkbox(key="train_adversarial").value
    assert at.number_input(key="train_budget").value == 25
    assert at.number_input(key="train_augmented_share").value == pytest.approx(0.5)
    assert at.text_input(key="train_sweep_seeds").value == "4, 5"
    assert at.query_params["train_epochs"] == "3"  # and the URL says them again, so a reload keeps them


def test_the_chosen_sample_set_survives_a_visit_to_another_page(env):
    """Back on Train through the sidebar, the newest set was chosen again: the next Queue job would train on it."""
    older, newer = store_sample_set(), store_sample_set()
    at = _page()
    assert at.selectbox(key="sample_set").value == newer
    at.selectbox(key="sample_set").select(older).run()
    at = away_and_back(at, "pages/home.py", "pages/train.py")
    assert not at.exception
    assert at.selectbox(key="sample_set").value == older and at.query_params["set"] == str(older)
    assert _page(set=newer).selectbox(key="sample_set").value == newer  # a link or reload still opens its set


def test_a_setting_that_cannot_train_is_named_and_the_queue_stays(env):
    """Batch size 0 replaced the buttons and the whole queue, running jobs included, with one error; a reload kept it."""
    set_id = store_sample_set()
    with begin() as conn:
        job_id = store.create_job(conn, sample_set_id=set_id, config={}, setting="none", seed=0, augmented_set_ids=[])
        store.set_job_status(conn, job_id, "cancelled")  # not active: no scheduler starts
    at = _page(train_batch_size=0)
    assert not at.exception
    assert at.number_input(key="train_batch_size").value == 1  # the box cannot go below 1, nor can the URL
    at.number_input(key="train_learning_rate").set_value(0.0).run()
    assert not at.exception
    assert at.error[0].value.replace("\\", "") == "training config field 'learning_rate': must be above 0, got 0.0"
    assert at.button(key="train_queue").disabled and at.button(key="train_sweep").disabled  # nothing to queue until fixed
    assert "Queue" in [h.value for h in at.header] and at.dataframe[0].value["id"].tolist() == [job_id]


def test_the_budget_and_share_survive_a_reload_and_a_url_cannot_break_the_boxes(env):
    """A reload put the time budget back to 10 minutes (on a 2-core CPU that is the difference between a
    2-minute and a 10-minute job); a URL outside a box's range raised instead of opening the page."""
    store_sample_set()
    at = _page()
    at.number_input(key="train_budget").set_value(3)
    at.number_input(key="train_augmented_share").set_value(0.5).run()
    query = dict(at.query_params)
    assert query["train_budget"] == "3" and query["train_augmented_share"] == "0.5"
    again = _page(**query)  # a reload: a new session with the same URL
    assert again.number_input(key="train_budget").value == 3
    assert again.number_input(key="train_augmented_share").value == pytest.approx(0.5)
    wild = _page(train_budget=99999, train_augmented_share=-4)
    assert not wild.exception
    assert wild.number_input(key="train_budget").value == 24 * 60  # held within the box
    assert wild.number_input(key="train_augmented_share").value == 0.0  # not a number the box takes: the default


def test_the_sample_set_in_use_follows_the_user_to_the_next_page(env):
    """Samples on set 2, then Train from the sidebar opened the newest set: each page kept its own choice."""
    older, _ = store_sample_set(), store_sample_set()
    at = _page()
    at.selectbox(key="sample_set").select(older).run()
    at = away_and_back(at, "pages/train.py", "pages/study.py")  # to Study through the sidebar
    assert not at.exception
    assert at.selectbox(key="sample_set").value == older
