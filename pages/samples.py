"""Samples: build a sample set from search logs or labeled pairs (label rule, split by query,
cold-start holdout) and see its summary: sizes, label balance, queries, products, cold start."""
import pandas as pd
import streamlit as st

from storage import datasets
from storage.db import begin
from storage.samples import get_sample_set, list_sample_sets, read_samples
from workbench.errors import WorkbenchError
from workbench.samples import LABEL_RULE_HELP, SampleConfig, build_sample_set

st.title("Samples")
if "sample_set_id" not in st.session_state:
    st.session_state.sample_set_id = None

with begin() as conn:
    sources = datasets.list_datasets(conn)
sources = sources[sources["kind"].isin(["logs", "pairs"])]
if sources.empty:
    st.info("No search logs or labeled pairs yet: add them on the Data page (or load the demo data there).")
    st.stop()

names = dict(zip(sources["id"], sources["kind"] + ": " + sources["name"]))
dataset_id = st.selectbox("Build from", list(names), format_func=lambda i: f"{i} {names[i]}", key="samples_dataset")
kind = sources.set_index("id").loc[dataset_id, "kind"]
example = "clicks:min_clicks=1,min_purchases=1,min_impressions=1" if kind == "logs" else "cut:2.5 or map:E=3,S=2,C=1,I=0"
label_rule = st.text_input("Label rule (empty: the default for this kind)", key="samples_label_rule",
                           placeholder=example, help=LABEL_RULE_HELP)
left, middle, right, seed_col = st.columns(4)
val_share = left.number_input("Validation share of queries", 0.0, 0.9, 0.1, 0.05, key="samples_val")
test_share = middle.number_input("Test share of queries", 0.0, 0.9, 0.1, 0.05, key="samples_test")
cold_share = right.number_input("Cold-start share of products", 0.0, 0.9, 0.0, 0.05, key="samples_cold",
                                help="Products held out of train; their val/test samples form the cold-start slice.")
seed = seed_col.number_input("Seed", 0, 2**31 - 1, 0, key="samples_seed")
name = st.text_input("Name (empty: after the dataset)", key="samples_name")

if st.button("Build sample set", key="samples_build", type="primary"):
    bar = st.progress(0.0, text="Reading")
    config = SampleConfig(name=name, label_rule=label_rule, val_share=val_share, test_share=test_share,
                          cold_start_share=cold_share, seed=int(seed))
    try:
        result = build_sample_set(int(dataset_id), config, on_progress=lambda d, t, m: bar.progress(d / t, text=m))
    except WorkbenchError as e:
        st.error(str(e))
        st.stop()
    st.session_state.sample_set_id = result.sample_set_id
    st.success(f"Sample set {result.sample_set_id}: {result.summary['samples']:,} samples.")

with begin() as conn:
    sets = list_sample_sets(conn)
if sets.empty:
    st.info("No sample sets yet: choose a dataset and a label rule above, then Build.")
    st.stop()
st.header("Sample sets")
ids = sets["id"].tolist()
current = st.session_state.sample_set_id if st.session_state.sample_set_id in ids else ids[0]
set_id = st.selectbox("Sample set", ids, index=ids.index(current), key="samples_set",
                      format_func=lambda i: f"{i}: {sets.set_index('id').loc[i, 'name']}")
with begin() as conn:
    chosen = get_sample_set(conn, set_id)
    preview = read_samples(conn, set_id, limit=200)
summary = chosen["summary"]
cols = st.columns(6)
for col, key in zip(cols, ["train", "val", "test", "queries", "products", "cold_start_products"]):
    col.metric(key.replace("_", " ").capitalize(), f"{summary.get(key, 0):,}")
st.caption(f"Label rule {chosen['config'].get('label_rule')} ({chosen['config'].get('label_kind')} labels), "
           f"seed {chosen['config'].get('seed')}; set aside: {summary.get('dropped', {})}")
st.subheader("Label balance by split")
balance = pd.DataFrame(summary.get("label_balance", {}))
st.dataframe(balance.reindex(columns=[c for c in ("train", "val", "test") if c in balance]).fillna(0).astype(int).rename_axis("label"))
st.subheader("First samples")
st.dataframe(preview, hide_index=True)
