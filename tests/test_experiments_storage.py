"""Compare over a real database and real job folders: finished jobs, pinned baseline, the CLI.

`add_finished_jobs` is also used by tests/test_report.py and tests/test_page_compare.py: it creates
jobs through storage.jobs, writes predictions.parquet into each job folder and stores the metrics
that workbench/train/metrics.py computes from those predictions, as the scheduler would.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from storage import experiments as store
from storage import jobs as job_store
from storage.db import begin
from workbench import experiments as ex
from workbench import report
from workbench.cli import main
from workbench.errors import BadInput
from workbench.train.metrics import compute_metrics, slice_metrics

pytestmark = pytest.mark.both_stores  # each storage test runs on DuckDB and on a real PostgreSQL (tests/stores.py)

N_QUERIES = 12  # three samples each: one relevant product, two irrelevant


def run_predictions(right: int, typo_right: int) -> pd.DataFrame:
    """A run that ranks and classifies the first `right` queries correctly (and `typo_right` misspelled)."""
    rows = []
    for variant, n_right in (("clean", right), ("typo", typo_right)):
        for q in range(N_QUERIES):
            for k in range(3):
                label = 1.0 if k == 0 else 0.0
                prob = (0.9 if label else 0.2 - 0.05 * k) if q < n_right else (0.1 if label else 0.6 + 0.1 * k)
                rows.append({"sample_id": q * 3 + k, "query": f"query {q}" + ("x" if variant == "typo" else ""),
                             "product_id": f"p{q * 3 + k}", "label": label, "score": prob, "pred": float(prob >= 0.5),
                             "prob": prob, "cold_start": q % 4 == 0, "tail_query": q >= 9, "variant": variant})  # fmt: skip
    return pd.DataFrame(rows)


def add_finished_jobs(plan: dict[str, list[tuple[int, int]]], *, experiment: str | None = "sweep",
                      references: dict[str, tuple[int, int]] | None = None) -> dict:  # fmt: skip
    """plan: setting -> one (right, typo_right) pair per seed; references: zero_shot / lexical -> (right,
    typo_right), written into the first job's folder as its worker does. Returns experiment_id and job ids."""
    from storage.db import data_dir

    ids: dict[str, list[int]] = {}
    with begin() as conn:
        experiment_id = job_store.create_experiment(conn, experiment, {"settings": list(plan)}) if experiment else None
    for setting, seeds in plan.items():
        for seed, (right, typo_right) in enumerate(seeds):
            predictions = run_predictions(right, typo_right)
            metrics = compute_metrics(predictions[predictions["variant"] == "clean"], [0.0, 1.0])
            for name, values in slice_metrics(predictions, [0.0, 1.0]).items():
                metrics.update({f"{name}/{k}": v for k, v in values.items()})
            metrics.update({"train_time_s": 10.0 + 5 * len(setting), "samples_seen": 100 * (1 + setting.count("+")), "best_epoch": 2})
            with begin() as conn:
                job_id = job_store.create_job(conn, sample_set_id=1, config={"epochs": 2}, setting=setting, seed=seed,
                                              augmented_set_ids=[], experiment_id=experiment_id)  # fmt: skip
                folder = data_dir() / "jobs" / str(job_id)
                folder.mkdir(parents=True)
                predictions.to_parquet(folder / "predictions.parquet")
                if references and not ids:
                    (folder / "references").mkdir()
                    for name, (right_ref, typo_ref) in references.items():
                        run_predictions(right_ref, typo_ref).to_parquet(folder / "references" / f"{name}.parquet")
                curve = [{"step": s, "epoch": s / 2, "split": "train", "name": "loss", "value": 1.0 / s} for s in (1, 2, 3, 4)]
                curve += [{"step": 2 * e, "epoch": e, "split": "val", "name": k, "value": metrics[k] - 0.1 / e}
                          for e in (1, 2) for k in ("accuracy", "f1")]  # fmt: skip
                job_store.insert_job_metrics(conn, job_id, curve)
                job_store.set_job_status(conn, job_id, "done", metrics=metrics, job_dir=str(folder), progress=1.0)
            ids.setdefault(setting, []).append(job_id)
    return {"experiment_id": experiment_id, "jobs": ids}


def test_load_comparison_reads_finished_jobs_and_their_predictions(db_url):
    made = add_finished_jobs({"none": [(6, 2), (6, 3), (7, 2)], "typo_v1": [(11, 9), (12, 10), (11, 10)]})
    with begin() as conn:  # a failed job is not compared
        job_store.create_job(conn, sample_set_id=1, config={}, setting="broken", seed=0, augmented_set_ids=[])
    result = ex.load_comparison(metric="accuracy", slice_="typo", n_boot=500)
    none, typo = result.settings
    assert (result.baseline, none.name, typo.name) == ("none", "none", "typo_v1")
    assert typo.job_ids == made["jobs"]["typo_v1"] and typo.n_seeds == 3
    # Typo slice accuracy = misspelled queries answered right / 12.
    assert (none.mean, typo.mean) == pytest.approx((7 / 36, 29 / 36)) and typo.significant
    assert typo.test == "paired bootstrap over 12 test queries"
    assert typo.delta == pytest.approx(typo.mean - none.mean)
    assert set(result.curves["split"]) == {"train", "val"} and result.curves["run"].iloc[0] == "none · seed 0 · #1"


def test_metrics_recomputed_from_predictions_equal_the_stored_ones(db_url):
    add_finished_jobs({"none": [(5, 1)], "typo": [(9, 7)]})
    predictions = run_predictions(9, 7)
    stored = ex.load_comparison(metric="ndcg@10", slice_="all", baseline="typo", n_boot=10).runs.iloc[1]
    for metric in ex.METRICS:
        for slice_ in ex.SLICES:
            rows = ex.slice_rows(predictions, slice_)
            keys = pd.Index(rows["query_key"].unique())
            value = ex.metric_replicates(rows, metric, keys, pd.DataFrame([[1.0] * len(keys)]).to_numpy())[0]
            assert value == pytest.approx(stored[ex.metric_key(metric, slice_)]), (metric, slice_)


def test_pinned_baseline_is_used_for_its_experiment(db_url):
    made = add_finished_jobs({"none": [(6, 2), (7, 3)], "synonyms": [(8, 3), (8, 4)]})
    with begin() as conn:
        store.set_baseline_job(conn, made["experiment_id"], made["jobs"]["synonyms"][1])
    result = ex.load_comparison(made["experiment_id"], n_boot=200)
    assert result.baseline == "synonyms"
    assert [s.delta for s in result.settings] == pytest.approx([-1.5 / 12, 0.0])
    with begin() as conn:
        store.set_baseline_job(conn, made["experiment_id"], None)
        assert store.list_experiments(conn)["baseline_job_id"].isna().all()
    assert ex.load_comparison(made["experiment_id"], n_boot=200).baseline == "none"


def test_pinning_a_job_that_does_not_exist_names_it(db_url):
    made = add_finished_jobs({"none": [(6, 2)]})
    message = f"no job with id 99 to pin as the baseline of experiment {made['experiment_id']}"
    with pytest.raises(Exception, match=re.escape(message)), begin() as conn:
        store.set_baseline_job(conn, made["experiment_id"], 99)


def test_cli_compare_prints_the_settings_as_json_and_writes_csv_and_html(db_url, tmp_path, capsys):
    add_finished_jobs({"none": [(6, 2), (6, 3), (7, 2)], "hard_negative": [(6, 2), (7, 2), (6, 3)]})
    csv, report = tmp_path / "table.csv", tmp_path / "report.html"
    code = main(["compare", "--metric", "f1", "--json", "--csv", str(csv), "--html", str(report), "--n-boot", "300"])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0
    assert out["baseline"] == "none" and [s["name"] for s in out["settings"]] == ["none", "hard_negative"]
    hard = out["settings"][1]
    assert set(hard) >= {"name", "metric", "mean", "ci_low", "ci_high", "n_seeds", "delta", "significant"}
    assert (hard["metric"], hard["n_seeds"], hard["delta"], hard["significant"]) == ("f1", 3, pytest.approx(0.0), False)
    assert out["summary"][0].startswith("hard_negative: no significant difference from none on f1, delta +0.0000")
    assert pd.read_csv(csv)["name"].tolist() == ["none", "hard_negative"]
    assert "Plotly.newPlot" in report.read_text()


def test_cli_compare_carries_the_references_and_each_setting_against_zero_shot(db_url, capsys):
    add_finished_jobs({"none": [(6, 2), (6, 3), (6, 2)], "typo": [(11, 9), (12, 10), (11, 10)]},
                      references={"zero_shot": (6, 4), "lexical": (3, 3)})  # fmt: skip
    assert main(["compare", "--metric", "accuracy", "--json", "--n-boot", "400"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    refs = {r["name"]: r for r in out["references"]}
    assert set(refs) == {"zero-shot", "lexical (BM25)"}
    assert set(refs["zero-shot"]) >= {"name", "metric", "value", "ci_low", "ci_high"}
    # accuracy of run_predictions(right, _) is right / 12: whole queries are right or wrong
    assert refs["zero-shot"]["value"] == pytest.approx(6 / 12) and refs["lexical (BM25)"]["value"] == pytest.approx(3 / 12)
    assert refs["zero-shot"]["ci_low"] < 0.5 < refs["zero-shot"]["ci_high"]
    none, typo = out["settings"]
    assert none["delta_vs_zero_shot"] == pytest.approx(0.0) and not none["significant_vs_zero_shot"] and not none["beats_zero_shot"]
    assert typo["delta_vs_zero_shot"] == pytest.approx((34 / 3 - 6) / 12)
    assert typo["vs_zero_shot_ci_low"] > 0 and typo["significant_vs_zero_shot"] and typo["beats_zero_shot"]
    assert "none does not beat zero-shot on accuracy: +0.0000" in " ".join(out["summary"])
    # the typo slice scores the references' misspelled variant too
    assert main(["compare", "--slice", "typo", "--json", "--n-boot", "100"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {r["name"]: r["value"] for r in out["references"]} == pytest.approx({"zero-shot": 4 / 12, "lexical (BM25)": 3 / 12})


def test_jobs_of_several_sample_sets_are_compared_one_set_at_a_time(db_url):
    """The 'all jobs' view pooled two sample sets into one setting's seeds and still gave a significant verdict."""
    add_finished_jobs({"none": [(6, 2)]}, references={"zero_shot": (6, 4), "lexical": (3, 3)})
    with begin() as conn:
        job_store.create_job(conn, sample_set_id=2, config={}, setting="none", seed=1, augmented_set_ids=[])
        job_store.set_job_status(conn, 2, "done", metrics={"accuracy": 0.5})
    with pytest.raises(BadInput, match=r"trained on 2 sample sets \(1, 2\), whose test splits differ; compare one sample "
                                       r"set \(--sample-set ID\)"):
        ex.load_comparison(n_boot=50)
    comparison = ex.load_comparison(sample_set_id=1, n_boot=50)
    assert [s.n_seeds for s in comparison.settings] == [1] and len(comparison.references) == 2


def test_a_job_with_the_setting_and_seed_of_a_newer_one_counts_once(db_url):
    """A job queued alone and the same cell of a later sweep were read as two seeds (a zero-width 'interval over seeds')."""
    add_finished_jobs({"none": [(6, 2)], "typo": [(11, 10)]}, experiment=None)
    add_finished_jobs({"none": [(7, 2)]}, experiment=None)  # job 3: none, seed 0 again
    comparison = ex.load_comparison(n_boot=50)
    assert comparison.repeats == [1]
    none = next(s for s in comparison.settings if s.name == "none")
    assert none.n_seeds == 1 and none.mean == pytest.approx(7 / 12) and none.job_ids == [3]
    assert report.summary_lines(comparison)[0] == ("Left out: job 1, each with the setting and seed of a newer finished job "
                                                   "(one seed counts once).")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["compare"], "error: the database has no finished training job yet; train one on page 4 or `python -m workbench train`\n"),
        (["compare", "--experiment", "7"], "error: no experiment with id 7; `python -m workbench compare --json` lists all finished jobs\n"),
    ],
)
def test_cli_compare_without_finished_jobs_says_what_to_do(db_url, capsys, argv, message):
    assert main(argv + ["--json"]) == 1
    captured = capsys.readouterr()
    assert captured.err == message
    assert json.loads(captured.out) == {"error": message.removeprefix("error: ").rstrip("\n"), "exit_code": 1}


def test_job_folder_falls_back_to_the_data_folder(data_dir):
    assert ex.job_folder(3, None) == Path(data_dir) / "jobs" / "3"
    assert ex.job_folder(3, str(data_dir)) == Path(data_dir)


def test_cli_compare_without_json_prints_a_table_first(db_url, capsys):
    add_finished_jobs({"none": [(6, 2)], "typo": [(12, 12)]})
    assert main(["compare", "--n-boot", "200"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "mean", "ci_low", "ci_high", "n_seeds", "delta", "delta_ci_low", "delta_ci_high", "significant"]
    assert lines[1].split()[:4] == ["none", "0.5000", "NaN", "NaN"]  # one seed: no interval over seeds
    assert lines[2].split()[:4] == ["typo", "1.0000", "NaN", "NaN"]
    assert "baseline: none" in lines
