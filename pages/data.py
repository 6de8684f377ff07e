"""Data: upload a catalog, search logs or labeled pairs; preview, map columns, ingest; see and
download what was rejected; list and delete datasets; or load the demo."""
import streamlit as st

from pages.inputs import pick
from pages.ui import attempted, column_headers, confirmed, flash, next_step, say, show_flash, shown_errors
from storage import datasets
from storage.db import begin
from workbench import demo
from workbench.ingest import FIELDS, ingest_bytes, missing_fields, preview_bytes
from workbench.ingest.outcome import dataset_summary, delete_dataset, rejected_rows_csv
from workbench.wording import DATASET_COLUMNS, blanks_for_missing, count_of

KINDS = {"catalog": "Catalog (products)", "logs": "Search logs", "pairs": "Labeled pairs"}
ENCODINGS = ["detect", "utf-8", "gb18030", "latin-1", "cp1252"]
NONE = "(none)"

st.title("Data")
show_flash()
if st.button("Load demo data", key="load_demo"):
    bar = st.progress(0.0, text="Generating the demo")
    with shown_errors():
        result = demo.load_demo(on_progress=lambda done, total, msg: bar.progress(done / total, text=msg))
    st.session_state._new_dataset = result.logs_dataset_id
    where = f"catalog dataset {result.catalog_dataset_id}, logs dataset {result.logs_dataset_id}"
    flash(f"The demo was already here ({where}); nothing added." if result.already_present else f"Demo loaded: {where}.")
    st.rerun()

kind = st.radio("What is in the file?", list(KINDS), format_func=KINDS.get, key="kind", horizontal=True)
uploaded = st.file_uploader("CSV, TSV, Parquet or JSON Lines (gzip or zip too)", key="upload",
                            type=["csv", "tsv", "txt", "parquet", "jsonl", "ndjson", "json", "gz", "zip"])
encoding = st.selectbox("Text encoding", ENCODINGS, key="encoding")
data, chosen = uploaded.getvalue() if uploaded is not None else b"", None if encoding == "detect" else encoding
preview = attempted(lambda: preview_bytes(data, uploaded.name, kind=kind, encoding=chosen)) if uploaded is not None else None
if preview is not None:  # a bad file's error is shown above; the datasets below stay
    say(f"First rows of {uploaded.name} (encoding: {preview.encoding or 'binary format'})", "caption")
    st.dataframe(preview.rows, hide_index=True)
    st.subheader("Columns")
    options, mapping = [NONE, *preview.columns], {}
    either = {"product_id": "title", "title": "product_id"} if kind == "pairs" else {}  # one of the two is needed
    for field, column in zip(FIELDS[kind], st.columns(len(FIELDS[kind]))):
        guess = preview.mapping.get(field.name, NONE)
        mark = " *" if field.required else f" (or {either[field.name]}) *" if field.name in either else ""
        choice = column.selectbox(field.name + mark, options,
                                  index=options.index(guess), key=f"map_{kind}_{field.name}")
        mapping[field.name] = None if choice == NONE else choice
    missing = missing_fields(mapping, kind)
    if missing:  # follows the drop-downs: gone as soon as every required field has a column
        say(f"Choose a column for {' and '.join(missing)} above (fields marked * are needed).", "warning")
    result = None
    if st.button("Ingest", key="ingest", type="primary", disabled=bool(missing)):
        bar = st.progress(0.0, text="Reading")
        result = attempted(lambda: ingest_bytes(data, uploaded.name, kind=kind, mapping=mapping, encoding=chosen,
                                                on_progress=lambda done, total, msg: bar.progress(done / total, text=msg)))
        bar.empty()
    if result is not None:  # a bad file, a busy database: the error above instead, and the datasets below stay
        st.session_state._new_dataset = result.dataset_id
        note = " (this file was already here; nothing added)" if result.already_present else ""
        flash(f"Dataset {result.dataset_id}: {count_of(result.rows_accepted, 'row')} in, {result.rows_rejected:,} set aside{note}.")
        for notice in result.notices:
            flash(notice, "info")
        st.rerun()

st.header("Datasets")
with shown_errors(), begin() as conn:
    listed = datasets.list_datasets(conn)
if listed.empty:
    st.info("No datasets yet: upload a file above or load the demo data.")
    st.stop()
st.dataframe(blanks_for_missing(listed), hide_index=True, column_config=column_headers(listed, DATASET_COLUMNS))
names = dict(zip(listed["id"], listed["name"]))
chosen_id = pick("Dataset", list(names), key="dataset", param="dataset", chosen=st.session_state.pop("_new_dataset", None),
                 format_func=lambda i: f"{i}: {names[i]}")
with shown_errors():
    summary = dataset_summary(chosen_id)
info = summary["dataset"]
for column, (label, value) in zip(st.columns(3), [("Rows in", f"{info['rows_accepted']:,}"),
                                                  ("Rows set aside", f"{info['rows_rejected']:,}"), ("Kind", info["kind"])]):
    column.metric(label, value)
if info["kind"] in ("logs", "pairs"):
    next_step("pages/samples.py", "label these and split them by query")
if summary["rejections"]:
    st.subheader("Rejected rows")
    st.table({"reason": list(summary["rejections"]), "rows": list(summary["rejections"].values())})
    st.dataframe(summary["rejected"], hide_index=True)
    st.download_button("Download rejected rows (CSV)", rejected_rows_csv(chosen_id), key="download_rejected",
                       file_name=f"dataset-{chosen_id}-rejected.csv", mime="text/csv")
if confirmed(f"Delete dataset {chosen_id}", "delete", chosen_id,
             f"Delete dataset {chosen_id} ({names[chosen_id]}) and its {count_of(info['rows_accepted'], 'row')}? This cannot be undone."):
    with shown_errors():
        flash(delete_dataset(chosen_id))
    st.rerun()
