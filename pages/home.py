"""Home: what the tool does, where the user is in the flow, and 'Load demo data'."""
import streamlit as st

from pages.ui import STEPS, flash, next_step, show_flash, shown_errors
from storage.db import begin
from storage.overview import count_rows
from workbench import demo

st.title("Search Augmentation Workbench")
st.write(
    "Turn a product catalog and search logs into labeled query-product samples, add augmented "
    "samples you review one by one, fine-tune a BERT-family model on them in the background, "
    "and compare accuracy across augmentation settings."
)
show_flash()
with shown_errors(), begin() as conn:
    counts = count_rows(conn)

steps = [  # page, what it counts (the table, the noun), what it is for
    ("pages/data.py", "datasets", "dataset", "Upload a catalog and search logs, or labeled samples."),
    ("pages/samples.py", "sample_sets", "sample set", "Label the samples and split them by query."),
    ("pages/augment.py", "augmented_sets", "augmented set", "Generate, review and accept augmented samples."),
    ("pages/train.py", "jobs", "training job", "Fine-tune a model on the train split plus accepted sets."),
]
for column, (page, key, noun, text) in zip(st.columns(len(steps)), steps):
    finished = f"{counts['jobs_done']:,} finished" if key == "jobs" and counts["jobs"] else None
    column.metric(f"{STEPS[page]}: {noun}s", f"{counts[key]:,}", finished, delta_color="off", delta_arrow="off", help=text)

if counts["datasets"] == 0:
    st.info("The database is empty. Upload your own files on the Data page, or start with the demo.")
    if st.button("Load demo data", key="load_demo", type="primary"):
        bar = st.progress(0.0, text="Generating a demo catalog and search logs")
        with shown_errors():
            result = demo.load_demo(on_progress=lambda done, total, message: bar.progress(done / total, text=message))
        flash(f"Loaded the demo: catalog dataset {result.catalog_dataset_id}, logs dataset {result.logs_dataset_id}.")
        st.rerun()  # the counts above and the next step follow at once
else:
    todo = [(page, text) for page, key, _, text in steps if counts[key] == 0]
    if todo:
        next_step(*todo[0])
    elif counts["jobs_done"] == 0:  # Compare has nothing to show until a job finishes
        next_step("pages/train.py", "watch the jobs run; Compare opens once one has finished")
    else:
        next_step("pages/compare.py", "see how the settings compare")
    if counts["sample_sets"]:
        next_step("pages/study.py", "let one click try the recipes and answer")
