"""Charts of a Comparison (plotly) and the self-contained HTML report the Compare page downloads.

The figures are built here, not in the page, so that the page, the report and the tests draw the
same charts. The report inlines plotly.js once (`include_plotlyjs=True` on the first chart), so
the file opens offline with every chart interactive.
"""
from __future__ import annotations

import html
import math
from datetime import datetime, timezone

import plotly.graph_objects as go

from workbench.experiments import BASELINE, Comparison

SIGNIFICANT, NOT_SIGNIFICANT, BASELINE_COLOUR = "#2a9d8f", "#9aa5b1", "#264653"
REFERENCE_COLOURS = {"zero-shot": "#e76f51", "lexical (BM25)": "#f4a261"}
# Streamlit's categorical colours, set on every trace: the app and the offline report draw alike
# (left to plotly's template, the report drew slices and curves in other colours than the app).
PALETTE = ["#0068c9", "#83c9ff", "#ff2b2b", "#ffabab", "#29b09d", "#7defa1", "#ff8700", "#ffd16a", "#6d3fc0", "#d5dae5"]


# The Compare tables' columns as the page shows them: field -> (header, number format; None: not a number).
# The CSV and `compare --json` keep the field names.
COLUMNS = {
    "name": ("setting", None), "metric": ("metric", None), "value": ("value", "%.4f"),
    "mean": ("mean over seeds", "%.4f"), "ci_low": ("95% interval, low", "%.4f"), "ci_high": ("95% interval, high", "%.4f"),
    "n_seeds": ("seeds", "%d"), "n_queries": ("test queries", "%d"),
    "delta": ("change vs baseline", "%+.4f"), "delta_ci_low": ("change, low", "%+.4f"),
    "delta_ci_high": ("change, high", "%+.4f"), "p_value": ("p-value", "%.3f"), "significant": ("significant change", None),
    "test": ("how it was tested", None), "train_time_s": ("training time (s)", "%.0f"), "samples_seen": ("samples seen", "%.0f"),
    "delta_vs_zero_shot": ("change vs zero-shot", "%+.4f"), "vs_zero_shot_ci_low": ("vs zero-shot, low", "%+.4f"),
    "vs_zero_shot_ci_high": ("vs zero-shot, high", "%+.4f"), "significant_vs_zero_shot": ("differs from zero-shot", None),
    "beats_zero_shot": ("beats zero-shot", None), "kept_epoch_0": ("encoder untrained (kept epoch 0)", None),
}  # fmt: skip


def _title(comparison: Comparison) -> str:
    where = "" if comparison.slice == "all" else f" on the {comparison.slice} slice"
    return f"{comparison.metric}{where}"


def metric_figure(comparison: Comparison) -> go.Figure:
    """Mean by setting, error bars = 95% interval over seeds, a line at the baseline's mean."""
    table = comparison.table()
    colours = [BASELINE_COLOUR if n == comparison.baseline else SIGNIFICANT if s else NOT_SIGNIFICANT
               for n, s in zip(table["name"], table["significant"])]  # fmt: skip
    fig = go.Figure(go.Bar(
        x=table["name"], y=table["mean"], marker_color=colours,
        error_y={"type": "data", "symmetric": False, "array": table["ci_high"] - table["mean"],
                 "arrayminus": table["mean"] - table["ci_low"]},
        customdata=table[["n_seeds", "delta", "p_value"]].to_numpy(),
        hovertemplate="%{x}<br>mean %{y:.4f}<br>seeds %{customdata[0]}<br>delta %{customdata[1]:+.4f}"
                      "<br>p %{customdata[2]:.3f}<extra></extra>",
    ))  # fmt: skip
    lines = []  # (value, label, dash, colour): drawn across the chart and named in the legend
    base = table.loc[table["name"] == comparison.baseline, "mean"]
    if len(base):
        lines.append((float(base.iloc[0]), f"baseline: {comparison.baseline}", "dash", BASELINE_COLOUR))
    if comparison.majority_share is not None:  # accuracy: what always answering the common label scores
        lines.append((comparison.majority_share, f"always the most common label: {comparison.majority_share:.4f}",
                      "dashdot", NOT_SIGNIFICANT))
    for ref in comparison.references:  # what the user had before training
        lines.append((ref.value, f"{ref.name} (untrained): {ref.value:.4f}", "dot", REFERENCE_COLOURS.get(ref.name, BASELINE_COLOUR)))
    for value, label, dash, colour in lines:
        # Labels in the legend, not beside the line: close values (zero-shot 0.707, lexical 0.701) wrote over each other.
        fig.add_hline(y=value, line_dash=dash, line_color=colour)
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=label, line={"dash": dash, "color": colour}))
    fig.data[0].showlegend = False  # the bars are named on the x axis
    fig.update_layout(title=f"{_title(comparison)} by augmentation setting (teal: significant gain or loss)",
                      xaxis_title="setting", yaxis_title=comparison.metric, legend={"orientation": "h", "y": -0.25})  # fmt: skip
    return fig


def curves_figure(comparison: Comparison, split: str) -> go.Figure:
    """Train loss per step (split='train') or the chosen metric on validation per epoch (split='val')."""
    curves = comparison.curves
    name = "loss" if split == "train" else comparison.metric
    x = "step" if split == "train" else "epoch"
    fig = go.Figure()
    if not curves.empty:
        chosen = curves[(curves["split"] == split) & (curves["name"] == name)]
        for i, (run, points) in enumerate(chosen.groupby("run", sort=False)):
            points = points.sort_values(x)
            colour = PALETTE[i % len(PALETTE)]
            fig.add_trace(go.Scatter(x=points[x], y=points["value"], mode="lines+markers", name=run,
                                     line={"color": colour}, marker={"color": colour}))
        _whole_number_ticks(fig, chosen[x])
    what = "training loss" if split == "train" else f"validation {name}"
    fig.update_layout(title=f"Learning curves: {what} per training job", xaxis_title=x, yaxis_title=name)
    return fig


def _whole_number_ticks(fig: go.Figure, xs) -> None:
    """Steps and epochs are whole numbers: plotly's own ticks read "0, 0.2, ... 1" over two epochs."""
    span = float(xs.max() - xs.min()) if len(xs) else 0.0
    fig.update_xaxes(tick0=0, dtick=max(1, math.ceil(span / 10)))


def job_curve_figure(frame, title: str) -> go.Figure:
    """One job's curves for the Train page: a line with markers per column over the index (step or
    epoch), whole-number ticks. One point (epoch 0 only) shows as a dot, where a line chart drew nothing."""
    fig = go.Figure()
    for i, column in enumerate(frame.columns):
        colour = PALETTE[i % len(PALETTE)]
        fig.add_trace(go.Scatter(x=frame.index, y=frame[column], mode="lines+markers", name=str(column),
                                 line={"color": colour}, marker={"color": colour}))
    _whole_number_ticks(fig, frame.index)
    fig.update_layout(title=title, xaxis_title=frame.index.name, height=320, margin={"t": 40, "b": 40, "l": 40, "r": 20})
    return fig


def slices_figure(comparison: Comparison) -> go.Figure:
    """The metric per slice (all, cold_start, tail, typo), one bar group per setting."""
    fig = go.Figure()
    for i, (slice_, rows) in enumerate(comparison.slices.groupby("slice", sort=False)):
        fig.add_trace(go.Bar(
            x=rows["setting"], y=rows["mean"], name=slice_, marker_color=PALETTE[i % len(PALETTE)],
            error_y={"type": "data", "symmetric": False, "array": rows["ci_high"] - rows["mean"],
                     "arrayminus": rows["mean"] - rows["ci_low"]},
        ))  # fmt: skip
    fig.update_layout(barmode="group", title=f"{comparison.metric} by slice", xaxis_title="setting",
                      yaxis_title=comparison.metric)  # fmt: skip
    return fig


def cost_figure(comparison: Comparison) -> go.Figure:
    """Gain over the baseline against samples seen (steps x batch: load does not change it); hover
    shows the training time, which does depend on the machine's load."""
    table = comparison.table()
    fig = go.Figure(go.Scatter(
        x=table["samples_seen"], y=table["delta"], mode="markers+text", text=table["name"],
        textposition="middle right", cliponaxis=False, customdata=table[["train_time_s"]].to_numpy(),
        marker={"color": PALETTE[0]},
        error_y={"type": "data", "symmetric": False, "array": table["delta_ci_high"] - table["delta"],
                 "arrayminus": table["delta"] - table["delta_ci_low"], "color": PALETTE[0]},
        hovertemplate="%{text}<br>samples seen %{x:.0f}<br>delta %{y:+.4f}<br>train %{customdata[0]:.0f} s "
                      "(under whatever load there was)<extra></extra>",
    ))  # fmt: skip
    fig.add_hline(y=0, line_dash="dot", line_color=BASELINE_COLOUR)
    fig.update_layout(title=f"Gain in {_title(comparison)} against cost (samples seen)", xaxis_title="mean samples seen",
                      yaxis_title=f"delta vs {comparison.baseline}")  # fmt: skip
    return fig


def figures(comparison: Comparison) -> dict[str, go.Figure]:
    """Every chart of the Compare page, by name, in page order."""
    return {
        "metric": metric_figure(comparison),
        "train_loss": curves_figure(comparison, "train"),
        "val_curve": curves_figure(comparison, "val"),
        "slices": slices_figure(comparison),
        "cost": cost_figure(comparison),
    }


def summary_lines(comparison: Comparison) -> list[str]:
    """Plain sentences: the references, then per setting: better, worse or no significant difference,
    with the interval; a setting that does not beat zero-shot says so."""
    lines = []
    if comparison.repeats:
        lines.append(f"Left out: {'job' if len(comparison.repeats) == 1 else 'jobs'} "
                     f"{', '.join(map(str, comparison.repeats))}, each with the setting and seed of a newer finished job "
                     "(one seed counts once).")
    lines += [f"{r.name} (no training): {r.metric} {r.value:.4f} (95% interval {r.ci_low:.4f} to {r.ci_high:.4f}, "
              f"{r.n_queries} test queries)" for r in comparison.references]  # fmt: skip
    head = " (kept epoch 0: the untrained encoder with its head fitted on these samples; any effect is the head's fit)"
    for s in comparison.settings:
        if comparison.references and s.metric in (r.metric for r in comparison.references) and s.delta_vs_zero_shot == s.delta_vs_zero_shot:
            verdict = "beats" if s.beats_zero_shot else "is worse than" if s.significant_vs_zero_shot else "does not beat"
            lines.append(f"{s.name} {verdict} zero-shot on {s.metric}{head if s.kept_epoch_0 else ''}: "
                         f"{s.delta_vs_zero_shot:+.4f} (95% interval {s.vs_zero_shot_ci_low:+.4f} to {s.vs_zero_shot_ci_high:+.4f})"
                         + ("" if s.beats_zero_shot else "; read its other figures as no result"))  # fmt: skip
    for s in comparison.settings:
        if s.name == comparison.baseline:
            continue
        verdict = ("better than" if s.delta > 0 else "worse than") if s.significant else "no significant difference from"
        seeds = "1 seed: no interval over seeds" if s.n_seeds == 1 else f"{s.n_seeds} seeds"
        lines.append(f"{s.name}: {verdict} {comparison.baseline} on {s.metric}{head if s.kept_epoch_0 else ''}, delta "
                     f"{s.delta:+.4f} (95% interval {s.delta_ci_low:+.4f} to {s.delta_ci_high:+.4f}, {s.test}, {seeds})")  # fmt: skip
    return lines


def notes(comparison: Comparison) -> list[str]:
    """What must be read before the figures (warnings on the page and in the report): settings whose
    model is the fitted zero-shot head because training kept epoch 0, and models below the accuracy of
    always answering the most common label."""
    out = [f"Every job of {s.name} kept epoch 0: training the encoder did not beat the fitted zero-shot head on val, so "
           "its model is that head: the untrained encoder, with the head over cosine and lexical signals fitted on the "
           + ("training samples." if s.name == BASELINE else "training samples, augmented ones included. The encoder did "
              "not learn from the augmented samples: any difference from the other settings comes from the head's fit alone.")
           for s in comparison.settings if s.kept_epoch_0]  # fmt: skip
    if comparison.majority_share is not None:
        below = [f"{s.name} ({s.mean:.4f})" for s in comparison.settings if s.mean < comparison.majority_share]
        below += [f"{r.name} ({r.value:.4f})" for r in comparison.references if r.value < comparison.majority_share]
        out.append(f"Always answering the most common label scores accuracy {comparison.majority_share:.4f} on this "
                   "test split" + (f"; below it: {', '.join(below)}. Those models answer worse than that guess." if below
                                   else "; every model here is above it."))  # fmt: skip
    if any(s.n_seeds == 1 for s in comparison.settings):
        out.append("Settings with one seed have no interval over seeds (n=1); their deltas are still tested over the "
                   "test queries. A sweep with several seeds gives the interval.")
    return out


def html_report(comparison: Comparison, warnings: list[str] | tuple = ()) -> str:
    """One HTML file: warnings, summary, the table and every chart, plotly.js inlined once, opens offline."""
    charts = [
        fig.to_html(full_html=False, include_plotlyjs=(i == 0), default_width="100%", default_height="480px")
        for i, fig in enumerate(figures(comparison).values())
    ]
    table = comparison.table()
    table_html = table.to_html(index=False, float_format=lambda v: f"{v:.4f}", border=0, classes="settings")
    where = f"experiment {comparison.experiment_id}" if comparison.experiment_id is not None else "all finished jobs"
    created = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    summary = "".join(f"<li>{html.escape(line)}</li>" for line in summary_lines(comparison))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Augmentation comparison: {html.escape(_title(comparison))}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}} table.settings{{border-collapse:collapse}}
table.settings td,table.settings th{{padding:4px 8px;border-bottom:1px solid #ddd;text-align:right}}
p.warning{{background:#fffce7;border-left:4px solid #ffbd45;padding:8px 12px}}</style>
</head><body>
<h1>Augmentation comparison: {html.escape(_title(comparison))}</h1>
<p>{html.escape(where)}; baseline <b>{html.escape(comparison.baseline)}</b>; {len(comparison.runs)} training jobs;
created {created}. Intervals are 95% bootstrap intervals: over seeds for each setting's mean (none for
one seed), over test queries (paired) for the delta against the baseline.</p>
{''.join(f'<p class="warning">{html.escape(w)}</p>' for w in [*warnings, *notes(comparison)])}
<ul>{summary}</ul>
{table_html}
{comparison.reference_table().to_html(index=False, float_format=lambda v: f"{v:.4f}", border=0, classes="settings") if comparison.references else ""}
{''.join(charts)}
</body></html>
"""


def table_csv(comparison: Comparison) -> str:
    """The Compare table as CSV; setting names are user text, so formulas are neutralised."""
    from workbench.escaping import csv_bytes

    return csv_bytes(comparison.table()).decode("utf-8")

