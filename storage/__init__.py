"""Storage: SQLAlchemy Core tables on DuckDB (or any SQLAlchemy URL), one function per read or write.

DuckDB lets one process hold a database file at a time, even for reads; a second process
cannot open it while the first has it. So no process keeps a connection open: every function
here takes a `Connection` that the caller opened with `storage.db.begin()`, which retries with
backoff while another process holds the file. The app, the scheduler and the command line work
side by side on one file this way; the training worker never opens the database.

Modules: `tables` (declarations only), `db` (connections, retry, schema version), and one module
per noun (`datasets`, `samples`, `candidates`, `jobs`, ...). SQL lives here and nowhere else.
"""
