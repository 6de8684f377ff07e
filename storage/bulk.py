"""Bulk rows in and out of PostgreSQL with COPY, through psycopg, inside the caller's transaction.

Row-by-row INSERTs and fetches made PostgreSQL 2 to 3 times slower than DuckDB on the demo and
sample steps (issue 12). COPY moves the same rows as one CSV stream each way:

    copy_in(conn, "samples", frame)          # INSERT the frame's rows (its columns, by name)
    frame = copy_out(conn, select(...))      # a SELECT as a DataFrame, columns as the query's

Both run on the psycopg connection under the SQLAlchemy transaction
(`conn.connection.driver_connection`), so they commit or roll back with it. Frames become CSV
through Arrow (strings quoted, NULL as an unquoted empty field: exactly COPY's CSV convention, so
an empty string and a NULL stay apart), and come back through Arrow's CSV reader with each
column's type taken from the query, never guessed from the text ("007" stays a string).
"""
from __future__ import annotations

import io

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import Boolean, Connection, Date, DateTime, Float, Integer, Numeric, Table

BATCH_ROWS = 50_000  # rows per CSV chunk written into the COPY stream


def arrow_type(sql_type) -> pa.DataType:
    """The Arrow type for a SQLAlchemy column type (text for anything we do not model)."""
    if isinstance(sql_type, Boolean):
        return pa.bool_()
    if isinstance(sql_type, Integer):
        return pa.int64()
    if isinstance(sql_type, (Float, Numeric)):
        return pa.float64()
    if isinstance(sql_type, DateTime):
        return pa.timestamp("us")
    if isinstance(sql_type, Date):
        return pa.date32()
    return pa.string()


def to_arrow(frame: pd.DataFrame, table: Table) -> pa.Table:
    """The frame as Arrow with the table's column types (NaN becomes NULL)."""
    schema = pa.schema([(name, arrow_type(table.c[name].type)) for name in frame.columns])
    columns = []
    for name in frame.columns:
        values = frame[name]
        if values.dtype == object and schema.field(name).type != pa.string():
            values = values.where(values.notna(), None)
        columns.append(pa.array(values, type=schema.field(name).type, from_pandas=True))
    return pa.Table.from_arrays(columns, schema=schema)


def copy_in(conn: Connection, table: Table, data: pd.DataFrame | pa.Table | pa.RecordBatchReader) -> int:
    """COPY rows into `table` (PostgreSQL); returns how many. Column names must be the table's."""
    if isinstance(data, pd.DataFrame):
        data = to_arrow(data, table)
    batches = data.to_batches(BATCH_ROWS) if isinstance(data, pa.Table) else data
    columns = ", ".join(f'"{name}"' for name in data.schema.names)
    raw = conn.connection.driver_connection
    rows = 0
    with raw.cursor() as cursor:
        with cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN WITH (FORMAT csv)') as copy:
            for batch in batches:
                if batch.num_rows == 0:
                    continue
                sink = io.BytesIO()
                pacsv.write_csv(batch, sink, pacsv.WriteOptions(include_header=False))
                copy.write(sink.getvalue())
                rows += batch.num_rows
    return rows


def copy_out(conn: Connection, query) -> pd.DataFrame:
    """A SELECT as a DataFrame through COPY ... TO STDOUT (PostgreSQL)."""
    names = list(query.selected_columns.keys())
    types = {name: arrow_type(c.type) for name, c in zip(names, query.selected_columns)}
    raw = conn.connection.driver_connection
    # COPY takes no parameters: psycopg's client-side binding quotes them into the statement.
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    sql = psycopg.ClientCursor(raw).mogrify(str(compiled), compiled.construct_params())
    sink = io.BytesIO()
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy:
            for chunk in copy:
                sink.write(chunk)
    if sink.tell() == 0:
        return pd.DataFrame({name: pd.Series(dtype=_empty_dtype(types[name])) for name in names})
    sink.seek(0)
    table = pacsv.read_csv(
        sink,
        read_options=pacsv.ReadOptions(column_names=names),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types=types, null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=False,
            true_values=["t", "true"], false_values=["f", "false"],
        ),
    )
    return _to_pandas(table)


def _empty_dtype(kind: pa.DataType):
    return kind.to_pandas_dtype() if kind != pa.string() else object


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    """As DuckDB's own fetch gives it: numpy columns, nullable ones where an int or bool has NULLs."""
    frame = table.to_pandas()
    for name, column in zip(table.column_names, table.columns):
        if column.null_count and pa.types.is_integer(column.type):
            frame[name] = column.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
        elif column.null_count and pa.types.is_boolean(column.type):
            frame[name] = column.to_pandas(types_mapper={pa.bool_(): pd.BooleanDtype()}.get)
    return frame
