"""Table declarations, and nothing else: every read and write lives in storage/<noun>.py.

Integer keys take their value from a Sequence (DuckDB has no SERIAL). JSON-shaped values are
stored as text (json.dumps) so that the same tables work on DuckDB and PostgreSQL.
"""
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Double,
    Index,
    Integer,
    MetaData,
    Sequence,
    String,
    Table,
    Text,
)

metadata = MetaData()


def _id(name: str) -> Column:
    seq = Sequence(f"{name}_id_seq", metadata=metadata)
    return Column("id", Integer, seq, server_default=seq.next_value(), primary_key=True)


schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, nullable=False),
)

# One uploaded file (or the demo). kind: 'catalog' | 'logs' | 'pairs'.
datasets = Table(
    "datasets",
    metadata,
    _id("datasets"),
    Column("name", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("source_file", String),  # the file's base name, for display only; never a path
    Column("content_hash", String, index=True),  # sha256 of the bytes: re-ingest is a no-op
    Column("encoding", String),
    Column("mapping", Text),  # JSON: our column -> the file's column
    Column("rows_accepted", Integer, nullable=False, default=0),
    Column("rows_rejected", Integer, nullable=False, default=0),
    Column("catalog_dataset_id", Integer),  # logs: the catalog their product ids refer to
    Column("created_at", DateTime),
)

# Catalog rows. Labeled pairs that carry titles also put their products here.
products = Table(
    "products",
    metadata,
    Column("dataset_id", Integer, nullable=False),
    Column("product_id", String, nullable=False),
    Column("title", String, nullable=False),
    Column("description", Text),
    Column("category", String),
    Column("brand", String),
    Column("price", Double),  # DOUBLE since schema 2 (was a 4-byte FLOAT)
    Column("attributes", Text),  # JSON object of the columns we do not model
)

search_events = Table(
    "search_events",
    metadata,
    Column("dataset_id", Integer, nullable=False),
    Column("query", String, nullable=False),
    Column("product_id", String, nullable=False),
    Column("position", Integer),
    Column("clicked", Boolean),
    Column("added_to_cart", Boolean),
    Column("purchased", Boolean),
    Column("session_id", String),
    Column("timestamp", DateTime),
    Column("user_id", String),
)

labeled_pairs = Table(
    "labeled_pairs",
    metadata,
    Column("dataset_id", Integer, nullable=False),
    Column("query", String, nullable=False),
    Column("product_id", String, nullable=False),
    Column("label_raw", String, nullable=False),  # as the file gave it: '2.67', 'E', 'Exact'
    Column("label", Double),  # numeric grade when the raw label is numeric or a known name
)

# Rows set aside at ingest, with the reason; line is the line number an editor shows.
rejected_rows = Table(
    "rejected_rows",
    metadata,
    Column("dataset_id", Integer, nullable=False),
    Column("line", Integer),
    Column("column_name", String),
    Column("reason", String, nullable=False),
    Column("raw", Text),  # the row as JSON, so the user can download and fix it
)

# DuckDB skips rows by zone maps, and an index on dataset_id would double the cost of every
# ingest (schema 3 drops them); PostgreSQL needs them.
for _table in (products, search_events, labeled_pairs, rejected_rows):
    Index(f"ix_{_table.name}_dataset_id", _table.c.dataset_id).ddl_if(dialect="postgresql")

sample_sets = Table(
    "sample_sets",
    metadata,
    _id("sample_sets"),
    Column("name", String, nullable=False),
    Column("dataset_id", Integer, nullable=False),  # logs or pairs dataset
    Column("config", Text),  # JSON of the SampleConfig that built it
    Column("summary", Text),  # JSON: sizes, label balance, queries, products, cold start
    Column("created_at", DateTime),
)

# A sample is always one query-product pair with a label.
samples = Table(
    "samples",
    metadata,
    Column("sample_set_id", Integer, nullable=False, index=True),
    Column("sample_id", Integer, nullable=False),  # unique within the sample set
    Column("query", String, nullable=False),
    Column("product_id", String, nullable=False),
    Column("product_text", Text, nullable=False),
    Column("category", String),
    Column("label", Double, nullable=False),
    Column("split", String, nullable=False),  # 'train' | 'val' | 'test'
    Column("cold_start", Boolean, nullable=False, default=False),
)

augment_runs = Table(
    "augment_runs",
    metadata,
    _id("augment_runs"),
    Column("sample_set_id", Integer, nullable=False),
    Column("recipe", Text, nullable=False),  # JSON of the Recipe
    Column("seed", Integer, nullable=False),
    Column("candidates", Integer, nullable=False, default=0),
    Column("dropped", Text),  # JSON: reason -> count
    Column("created_at", DateTime),
)

# status: 'pending' | 'accepted' | 'rejected'. Provenance: source sample, augmenter, params, seed.
candidates = Table(
    "candidates",
    metadata,
    _id("candidates"),
    Column("augment_run_id", Integer, nullable=False, index=True),
    Column("sample_id", Integer, nullable=False),
    Column("augmenter", String, nullable=False),
    Column("params", Text),  # JSON
    Column("seed", Integer, nullable=False),
    Column("field", String, nullable=False, default="query"),  # which side changed
    Column("original", Text),
    Column("query", String, nullable=False),
    Column("product_id", String, nullable=False),
    Column("product_text", Text, nullable=False),
    Column("label", Double, nullable=False),
    Column("score", Double),  # label-preservation score in [0, 1]
    Column("status", String, nullable=False, default="pending"),
    Column("action_id", Integer),  # last bulk action that touched it, for undo
)

# A bulk review action and the statuses it replaced, so it can be undone.
review_actions = Table(
    "review_actions",
    metadata,
    _id("review_actions"),
    Column("augment_run_id", Integer, nullable=False),
    Column("description", String),
    Column("undone", Boolean, nullable=False, default=False),
    Column("created_at", DateTime),
    Column("actor", String),  # who did it, when a login is configured (schema 5); else NULL
)

review_undo = Table(
    "review_undo",
    metadata,
    Column("action_id", Integer, nullable=False, index=True),
    Column("candidate_id", Integer, nullable=False),
    Column("previous_status", String, nullable=False),
)

augmented_sets = Table(
    "augmented_sets",
    metadata,
    _id("augmented_sets"),
    Column("name", String, nullable=False),
    Column("augment_run_id", Integer, nullable=False),
    Column("sample_set_id", Integer, nullable=False),
    Column("size", Integer, nullable=False, default=0),
    Column("created_at", DateTime),
)

augmented_set_members = Table(
    "augmented_set_members",
    metadata,
    Column("augmented_set_id", Integer, nullable=False, index=True),
    Column("candidate_id", Integer, nullable=False),
)

experiments = Table(
    "experiments",
    metadata,
    _id("experiments"),
    Column("name", String, nullable=False),
    Column("config", Text),  # JSON of the settings, seeds and config that created it
    Column("baseline_job_id", Integer),  # pinned baseline; None means the setting 'none' (no augmented set)
    Column("created_at", DateTime),
)

# status: 'queued' | 'running' | 'done' | 'failed' | 'cancelled'
jobs = Table(
    "jobs",
    metadata,
    _id("jobs"),
    Column("experiment_id", Integer, index=True),
    Column("sample_set_id", Integer, nullable=False),
    Column("augmented_set_ids", Text),  # JSON list
    Column("setting", String),  # the augmentation setting's name, for grouping in Compare
    Column("seed", Integer),
    Column("config", Text, nullable=False),  # JSON of the TrainConfig
    Column("status", String, nullable=False, default="queued"),
    Column("job_dir", String),
    Column("backend", String),  # 'local' | 'ray': cancel, resume and adopt go through it (schema 5)
    Column("handle", String),  # the backend's handle: a pid, a Ray submission id (schema 5; was pid INTEGER)
    Column("actor", String),  # who submitted it, when a login is configured (schema 5); else NULL
    Column("device", String),
    Column("progress", Double),  # 0..1
    Column("eta_s", Double),
    Column("metrics", Text),  # JSON: final test metrics, name -> value
    Column("error", Text),
    Column("created_at", DateTime),
    Column("started_at", DateTime),
    Column("finished_at", DateTime),
    Column("heartbeat_at", DateTime),
)

# One point of a curve: train loss by step, val metrics by epoch, test and slice metrics at the end.
job_metrics = Table(
    "job_metrics",
    metadata,
    Column("job_id", Integer, nullable=False, index=True),
    Column("step", Integer),
    Column("epoch", Double),
    Column("split", String, nullable=False),  # 'train' | 'val' | 'test' | 'slice:<name>'
    Column("name", String, nullable=False),
    Column("value", Double),
)
