"""Counts for the home page: how far through the flow the user is."""
from sqlalchemy import Connection, func, select

from storage import tables


def count_rows(conn: Connection) -> dict[str, int]:
    """Number of rows in each table the home page reports on."""
    counted = {
        "datasets": tables.datasets,
        "sample_sets": tables.sample_sets,
        "augmented_sets": tables.augmented_sets,
        "jobs": tables.jobs,
    }
    return {name: conn.execute(select(func.count()).select_from(t)).scalar_one() for name, t in counted.items()}
