"""Data: upload a catalog, search logs or labeled pairs; preview, map columns, ingest; see and
download what was rejected; list and delete datasets; or load the demo."""
import streamlit as st

from storage import datasets
from storage.db import begin
from storage.errors import StorageError
from workbench import demo
from workbench.errors import WorkbenchError
from workbench.escaping import plain
from workbench.ingest import FIELDS, ingest_bytes, preview_bytes
from workbench.ingest.outcome import dataset_summary, rejected_rows_csv

KINDS = {"catalog": "Catalog (products)", "logs": "Search logs", "pairs": "Labeled pairs"}
ENCODINGS = ["detect", "utf-8", "gb18030", "latin-1", "cp1252"]
NONE = "(none)"

st.title("Data")
if "dataset_id" not in st.session_state:
    st.session_state.dataset_id = None

if st.button("Load demo data", key="load_demo"):
    bar = st.progress(0.0, text="Generating the demo")
    result = demo.load_demo(on_progress=lambda done, total, msg: bar.progress(done / total, text=msg))
    st.session_state.dataset_id = result.logs_dataset_id
    st.success(f"Demo loaded: catalog dataset {result.catalog_dataset_id}, logs dataset {result.logs_dataset_id}.")

kind = st.radio("What is in the file?", list(KINDS), format_func=KINDS.get, key="kind", horizontal=True)
uploaded = st.file_uploader("CSV, TSV, Parquet or JSON Lines (gzip too)", key="upload",
                            type=["csv", "tsv", "txt", "parquet", "jsonl", "ndjson", "json", "gz"])
encoding = st.selectbox("Text encoding", ENCODINGS, key="encoding")
if uploaded is not None:
    data, chosen = uploaded.getvalue(), None if encoding == "detect" else encoding
    try:
        preview = preview_bytes(data, uploaded.name, kind=kind, encoding=chosen)
    except WorkbenchError as e:
        st.error(plain(e))
        st.stop()
    st.caption(plain(f"First rows of {uploaded.name} (encoding: {preview.encoding or 'binary format'})"))
    st.dataframe(preview.rows, hide_index=True)
    if preview.problem:
        st.warning(plain(preview.problem))
    st.subheader("Columns")
    options, mapping = [NONE, *preview.columns], {}
    for field, column in zip(FIELDS[kind], st.columns(len(FIELDS[kind]))):
        guess = preview.mapping.get(field.name, NONE)
        choice = column.selectbox(field.name + (" *" if field.required else ""), options,
                                  index=options.index(guess), key=f"map_{kind}_{field.name}")
        mapping[field.name] = None if choice == NONE else choice
    if st.button("Ingest", key="ingest", type="primary"):
        bar = st.progress(0.0, text="Reading")
        try:
            result = ingest_bytes(data, uploaded.name, kind=kind, mapping=mapping, encoding=chosen,
                                  on_progress=lambda done, total, msg: bar.progress(done / total, text=msg))
        except (WorkbenchError, StorageError) as e:  # bad file, busy or unwritable database
            st.error(plain(e))
            st.stop()
        st.session_state.dataset_id = result.dataset_id
        note = " (this file was already here; nothing added)" if result.already_present else ""
        st.success(f"Dataset {result.dataset_id}: {result.rows_accepted:,} rows in, "
                   f"{result.rows_rejected:,} set aside{note}.")

st.header("Datasets")
with begin() as conn:
    listed = datasets.list_datasets(conn)
if listed.empty:
    st.info("No datasets yet: upload a file above or load the demo data.")
    st.stop()
st.dataframe(listed, hide_index=True)
ids = listed["id"].tolist()
current = st.session_state.dataset_id if st.session_state.dataset_id in ids else ids[0]
chosen_id = st.selectbox("Dataset", ids, index=ids.index(current), key="dataset",
                         format_func=lambda i: f"{i}: {listed.set_index('id').loc[i, 'name']}")
summary = dataset_summary(chosen_id)
info = summary["dataset"]
for column, (label, value) in zip(st.columns(3), [("Rows in", f"{info['rows_accepted']:,}"),
                                                  ("Rows set aside", f"{info['rows_rejected']:,}"),
                                                  ("Kind", info["kind"])]):
    column.metric(label, value)
if summary["rejections"]:
    st.subheader("Rejected rows")
    st.table({"reason": list(summary["rejections"]), "rows": list(summary["rejections"].values())})
    st.dataframe(summary["rejected"], hide_index=True)
    st.download_button("Download rejected rows (CSV)", rejected_rows_csv(chosen_id), key="download_rejected",
                       file_name=f"dataset-{chosen_id}-rejected.csv", mime="text/csv")
if st.button("Delete this dataset", key="delete"):
    with begin() as conn:
        datasets.delete_dataset(conn, chosen_id)
    st.session_state.dataset_id = None
    st.rerun()
