"""Samples: build a sample set from search logs or labeled pairs (label rule, split by query,
cold-start holdout) and see its summary: sizes, label balance, queries, products, cold start."""
import pandas as pd
import streamlit as st

from pages.inputs import kept, pick
from pages.ui import attempted, flash, next_step, say, show_flash, shown_errors
from storage.db import begin
from storage.samples import get_sample_set, list_sample_sets, read_samples
from workbench.samples import LABEL_RULE_HELP, SampleConfig, build_sample_set, rule_for, sample_sources
from workbench.wording import SAMPLE_REASONS, blanks_for_missing, in_words

st.title("Samples")
show_flash()
with shown_errors():
    sources = sample_sources().set_index("id")
if sources.empty:
    st.info("No search logs or labeled pairs yet: add them on the Data page (or load the demo data there).")
    st.stop()

dataset_id = pick("Build from", sources.index.tolist(), key="samples_dataset", param="dataset", format_func=sources["label"].get)
# kept(): each input keeps its value through a reload and while the user visits other pages
label_rule = kept(st.text_input, "Label rule (empty: the default for this kind)", key="samples_label_rule", default="",
                  placeholder=sources.loc[dataset_id, "rule_example"], help=LABEL_RULE_HELP)
rule = attempted(lambda: rule_for(label_rule, sources.loc[dataset_id, "kind"]))  # a typo shows here, before Build
if rule:
    say(rule.meaning, "caption")
left, middle, right, seed_col = st.columns(4)
share = {"min_value": 0.0, "max_value": 0.9, "step": 0.05, "bounds": (0.0, 0.9)}  # a share of queries or products
val_share = kept(left.number_input, "Validation share of queries", key="samples_val", default=0.1, **share)
test_share = kept(middle.number_input, "Test share of queries", key="samples_test", default=0.1, **share)
cold_share = kept(right.number_input, "Cold-start share of products", key="samples_cold", default=0.0, **share,
                  help="Products held out of train; their val/test samples form the cold-start slice.")
seed = kept(seed_col.number_input, "Seed", min_value=0, max_value=2**31 - 1, key="samples_seed", default=0, bounds=(0, 2**31 - 1))
name = kept(st.text_input, "Name (empty: after the dataset)", key="samples_name", default="")

if st.button("Build sample set", key="samples_build", type="primary"):
    bar = st.progress(0.0, text="Reading")
    config = SampleConfig(name=name, label_rule=label_rule, val_share=val_share, test_share=test_share,
                          cold_start_share=cold_share, seed=int(seed))
    result = attempted(lambda: build_sample_set(int(dataset_id), config, on_progress=lambda d, t, m: bar.progress(d / t, text=m)))
    bar.empty()  # a refused build leaves its message, not a half-filled bar, and the sets below stay
    if result is not None:
        st.session_state._new_set = result.sample_set_id
        flash(f"Sample set {result.sample_set_id}: {result.summary['samples']:,} samples.")
        st.rerun()

with shown_errors(), begin() as conn:
    sets = list_sample_sets(conn)
if sets.empty:
    st.info("No sample sets yet: choose a dataset and a label rule above, then Build.")
    st.stop()
st.header("Sample sets")
names = dict(zip(sets["id"], sets["name"]))
set_id = pick("Sample set", list(names), key="sample_set", param="set", chosen=st.session_state.pop("_new_set", None),
              format_func=lambda i: f"{i}: {names[i]}")
with shown_errors(), begin() as conn:
    chosen = get_sample_set(conn, set_id)
    preview = read_samples(conn, set_id, limit=200)
summary = chosen["summary"]
for col, key in zip(st.columns(6), ["train", "val", "test", "queries", "products", "cold_start_products"]):
    col.metric(key.replace("_", " ").capitalize(), f"{summary.get(key, 0):,}")
say(f"Label rule {chosen['config'].get('label_rule')} ({chosen['config'].get('label_kind')} labels), "
    f"seed {chosen['config'].get('seed')}. Set aside: {in_words(summary.get('dropped', {}), SAMPLE_REASONS)}.", "caption")
next_step("pages/augment.py", "generate augmented samples from this set's train split")
next_step("pages/study.py", "let one click try the recipes and answer", set=set_id)
st.subheader("Label balance by split")
balance = pd.DataFrame(summary.get("label_balance", {}))
st.dataframe(balance.reindex(columns=[c for c in ("train", "val", "test") if c in balance]).fillna(0).astype(int).rename_axis("label"))
st.subheader("First samples")
st.dataframe(blanks_for_missing(preview), hide_index=True)
