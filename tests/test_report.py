"""The charts and the self-contained HTML report of a comparison."""
import re

import pandas as pd
import pytest

from workbench import experiments as ex
from workbench import report
from test_experiments import predictions


@pytest.fixture
def comparison() -> ex.Comparison:
    runs = pd.DataFrame({
        "job_id": [1, 2, 3, 4], "setting": ["none", "none", "typo", "typo"], "seed": [0, 1, 0, 1],
        "accuracy": [0.5, 0.5, 1.0, 1.0], "typo/accuracy": [0.25, 0.35, 0.5, 0.6],
        "train_time_s": [10.0, 12.0, 20.0, 22.0], "samples_seen": [100, 100, 180, 180],
    })  # fmt: skip
    base = predictions({f"q{i}": [i < 5, i < 5] for i in range(10)})
    better = predictions({f"q{i}": [True, True] for i in range(10)})
    result = ex.compare(runs, {1: base, 2: base, 3: better, 4: better}, n_boot=1000)
    metric_rows = pd.DataFrame({
        "job_id": [1, 1, 3, 3, 1, 3], "step": [1, 2, 1, 2, 2, 2], "epoch": [0.5, 1, 0.5, 1, 1, 1],
        "split": ["train"] * 4 + ["val"] * 2, "name": ["loss"] * 4 + ["accuracy"] * 2, "value": [0.9, 0.7, 0.8, 0.5, 0.5, 1.0],
    })  # fmt: skip
    result.curves = ex.learning_curves(metric_rows, runs)
    return result


def test_metric_chart_has_error_bars_of_the_seed_interval_and_a_baseline_line(comparison):
    fig = report.metric_figure(comparison)
    bars = fig.data[0]
    assert list(bars.x) == ["none", "typo"] and list(bars.y) == [0.5, 1.0]
    assert list(bars.error_y.array) == [0.0, 0.0] and list(bars.error_y.arrayminus) == [0.0, 0.0]
    assert fig.layout.shapes[0].y0 == 0.5  # the baseline's mean
    assert list(bars.marker.color) == [report.BASELINE_COLOUR, report.SIGNIFICANT]


def test_curves_slices_and_cost_charts_have_one_trace_per_run_slice_and_point(comparison):
    charts = report.figures(comparison)
    assert [t.name for t in charts["train_loss"].data] == ["none · seed 0 · #1", "typo · seed 0 · #3"]
    assert list(charts["train_loss"].data[1].y) == [0.8, 0.5]
    assert [t.name for t in charts["val_curve"].data] == ["none · seed 0 · #1", "typo · seed 0 · #3"]
    assert [t.name for t in charts["slices"].data] == ["all", "typo"]
    assert list(charts["slices"].data[1].y) == pytest.approx([0.3, 0.55])
    cost = charts["cost"].data[0]  # samples seen, not seconds: load changes the time, not the steps
    assert list(cost.x) == [100.0, 180.0] and list(cost.y) == [0.0, 0.5]
    assert list(cost.customdata[:, 0]) == [11.0, 21.0]
    assert cost.textposition == "middle right"  # beside the point, off its vertical error bar
    # Whole steps and epochs on the x axis (plotly's own ticks read "0, 0.2, ... 1" over two epochs).
    assert (charts["val_curve"].layout.xaxis.tick0, charts["val_curve"].layout.xaxis.dtick) == (0, 1)
    assert charts["train_loss"].layout.xaxis.dtick >= 1


def test_every_trace_carries_the_apps_colours_so_the_report_draws_alike(comparison):
    charts = report.figures(comparison)
    assert [t.marker.color for t in charts["slices"].data] == report.PALETTE[:2]
    assert [t.line.color for t in charts["train_loss"].data] == report.PALETTE[:2]
    assert charts["cost"].data[0].marker.color == report.PALETTE[0]
    page = report.html_report(comparison, ["Run #1 answers like a majority-class guess"])
    assert all(colour in page for colour in report.PALETTE[:2])
    assert '<p class="warning">Run #1 answers like a majority-class guess</p>' in page


def test_summary_says_plainly_which_setting_helped(comparison):
    [line] = report.summary_lines(comparison)
    assert line == ("typo: better than none on accuracy, delta +0.5000 (95% interval +0.2000 to +0.8000, "
                    "paired bootstrap over 10 test queries, 2 seeds)")  # fmt: skip


def test_html_report_is_one_self_contained_file_that_opens_offline(comparison):
    page = report.html_report(comparison)
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script[^>]+src=", page)  # nothing fetched from a CDN
    assert page.count("plotly.js v") == 1  # the library is inlined once, not per chart
    assert page.count("Plotly.newPlot(") == 5
    assert "<td>typo</td>" in page and "typo: better than none on accuracy" in page


def test_table_csv_has_one_row_per_setting(comparison):
    lines = report.table_csv(comparison).splitlines()
    assert lines[0].startswith("name,metric,mean,ci_low,ci_high,n_seeds,delta,delta_ci_low,delta_ci_high,p_value,significant")
    assert [line.split(",")[0] for line in lines[1:]] == ["none", "typo"]


def test_a_jobs_curve_with_one_point_is_a_dot_on_whole_number_ticks():
    """The Train page's line chart drew nothing for epoch 0 alone and labelled its axis '0.000000'."""
    import pandas as pd

    one = report.job_curve_figure(pd.DataFrame({"roc_auc": [0.71]}, index=pd.Index([0], name="epoch")), "Validation")
    assert one.data[0].mode == "lines+markers" and list(one.data[0].x) == [0]
    assert (one.layout.xaxis.dtick, one.layout.xaxis.title.text) == (1, "epoch")
    two = report.job_curve_figure(pd.DataFrame({"roc_auc": [0.71, 0.74], "accuracy": [0.6, 0.65]},
                                               index=pd.Index([0, 1], name="epoch")), "Validation")
    assert [t.name for t in two.data] == ["roc_auc", "accuracy"] and two.layout.xaxis.dtick == 1
