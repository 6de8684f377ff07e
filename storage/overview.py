"""Counts for the home page: how far through the flow the user is."""
from sqlalchemy import Connection, func, select

from storage import tables


def count_rows(conn: Connection) -> dict[str, int]:
    """Number of rows in each table the home page reports on, and of finished jobs (jobs_done)."""
    counted = {
        "datasets": tables.datasets,
        "sample_sets": tables.sample_sets,
        "augmented_sets": tables.augmented_sets,
        "jobs": tables.jobs,
    }
    counts = {name: conn.execute(select(func.count()).select_from(t)).scalar_one() for name, t in counted.items()}
    done = select(func.count()).select_from(tables.jobs).where(tables.jobs.c.status == "done")
    return counts | {"jobs_done": conn.execute(done).scalar_one()}
