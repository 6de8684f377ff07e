"""Home: what the tool does, where the user is in the flow, and 'Load demo data'."""
import streamlit as st

from storage.db import begin
from storage.overview import count_rows
from workbench import demo

st.title("Search Augmentation Workbench")
st.write(
    "Turn a product catalog and search logs into labeled query-product samples, add augmented "
    "samples you review one by one, fine-tune a BERT-family model on them in the background, "
    "and compare accuracy across augmentation settings."
)

with begin() as conn:
    counts = count_rows(conn)

steps = [
    ("1 Data", "datasets", "Upload a catalog and search logs, or labeled samples."),
    ("2 Samples", "sample_sets", "Label the samples and split them by query."),
    ("3 Augment", "augmented_sets", "Generate, review and accept augmented samples."),
    ("4 Train", "jobs", "Fine-tune a model on the train split plus accepted sets."),
]
for column, (title, key, text) in zip(st.columns(len(steps)), steps):
    column.metric(title, counts[key], help=text)

if counts["datasets"] == 0:
    st.info("The database is empty. Upload your own files on the Data page, or start with the demo.")
    if st.button("Load demo data", key="load_demo", type="primary"):
        bar = st.progress(0.0, text="Generating a demo catalog and search logs")
        result = demo.load_demo(on_progress=lambda done, total, message: bar.progress(done / total, text=message))
        st.success(
            f"Loaded the demo: catalog dataset {result.catalog_dataset_id}, "
            f"logs dataset {result.logs_dataset_id}. Next: build samples on the Samples page."
        )
else:
    next_step = next((title for title, key, _ in steps if counts[key] == 0), "5 Compare")
    st.success(f"Next step: {next_step}.")
