"""The one clock for stored times: now, in UTC, without a zone (the tables' TIMESTAMP columns
hold naive UTC, on DuckDB and PostgreSQL alike).

    from storage.clock import utc_now
    conn.execute(table.insert().values(created_at=utc_now()))
"""
from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)
