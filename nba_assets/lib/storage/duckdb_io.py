"""The local warehouse: DuckDB storing polars frames, one transaction per partition write.

Why a subclass of dagster-duckdb-polars rather than the stock ``DuckDBPolarsIOManager``:

* duckdb 2.x removed ``.arrow()`` from query results, which the stock type handler calls when it
  loads an input; inputs are loaded here through ``DuckDBPyConnection.sql(...).pl()``.
* the stock manager deletes the partition and inserts the new rows in autocommit mode, so a crash
  between the two loses the partition; here delete + insert run in one transaction.
* the stock manager skips empty frames (so a day without games leaves no table and downstream
  loads fail); here an empty frame still creates the table with its schema and clears the slice.
* partition bounds are passed as query parameters, never formatted into SQL.
* ``INSERT ... BY NAME`` casts quietly (a DOUBLE into a BIGINT column is rounded, a missing column is
  NULL): a frame whose columns or types differ from the existing table's is refused before the insert,
  naming each difference (:mod:`nba_assets.lib.storage.schema_drift`), and the transaction is rolled back.

Identifiers (schema = asset layer, table = asset name) come from asset keys defined in code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any

import dagster as dg
import duckdb
import polars as pl
from dagster._core.storage.db_io_manager import DbIOManager, DbTypeHandler, TableSlice
from dagster_duckdb.io_manager import DuckDbClient
from dagster_duckdb_polars import DuckDBPolarsIOManager, DuckDBPolarsTypeHandler

from nba_assets.lib.schemas import RAW_CONTRACTS
from nba_assets.lib.storage.schema_drift import refuse_drift, refuse_untyped

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"warehouse: {name!r} is not a safe SQL identifier")
    return name


def _qualified(table_slice: TableSlice) -> str:
    return f"{ident(table_slice.schema)}.{ident(table_slice.table)}"


def partition_filters(table_slice: TableSlice) -> list[tuple[str, tuple[date, date] | list[str]]]:
    """The slice's partition filters, one per dimension: (checked column name, [start, end) game dates of
    a time window, or the static partition keys). Both warehouses render these with bound values."""
    filters: list[tuple[str, tuple[date, date] | list[str]]] = []
    for dim in table_slice.partition_dimensions or ():
        window = dim.partitions
        if isinstance(window, dg.TimeWindow):
            filters.append((ident(dim.partition_expr), (_as_date(window.start), _as_date(window.end))))
        else:
            filters.append((ident(dim.partition_expr), [str(k) for k in window]))
    return filters


def refuse_rows_outside_slice(frame: pl.DataFrame, table_slice: TableSlice, table: str, asset: str) -> None:
    """Fail (``dg.Failure``) if a row of the frame lies outside the partition(s) being written: a null
    partition column, a game date outside the window or a key outside the static keys. A write deletes
    the slice and inserts the frame, so such a row would never be deleted again and every re-run of the
    partition would add it once more (and it would land in a partition no run of it wrote)."""
    if not frame.height:
        return
    for column, values in partition_filters(table_slice):
        if column not in frame.columns:
            raise dg.Failure(
                description=f"warehouse: asset {asset} returned no {column!r} column, the partition column "
                f"of {table}; nothing was written"
            )
        col = pl.col(column)
        if isinstance(values, tuple):
            outside = col.is_null() | (col < values[0]) | (col >= values[1])
            slice_text = f"{values[0]} .. {values[1] - timedelta(days=1)}"
        else:
            outside = col.is_null() | ~col.cast(pl.Utf8).is_in(values)
            slice_text = ", ".join(values)
        bad = frame.filter(outside)
        if bad.height:
            found = sorted({str(v) for v in bad[column].to_list()})
            raise dg.Failure(
                description=(
                    f"warehouse: asset {asset} returned {bad.height} row(s) for {table} whose {column} is "
                    f"outside the partition(s) written ({slice_text}): {', '.join(found[:5])}; nothing was "
                    "written (such rows would be added again by every re-run of the partition)"
                ),
                metadata={"table": table, "column": column, "rows_outside": bad.height},
            )


def _where(table_slice: TableSlice) -> tuple[str, list[Any]]:
    """A parameterized WHERE clause for the slice's partition window(s)."""
    clauses: list[str] = []
    params: list[Any] = []
    for expr, values in partition_filters(table_slice):
        if isinstance(values, tuple):
            clauses.append(f"{expr} >= ? AND {expr} < ?")
            params += list(values)
        else:
            clauses.append(f"{expr} IN ({', '.join('?' for _ in values)})")
            params += values
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _as_date(value: datetime) -> date:
    # Windows are midnight-to-midnight in the partitions' timezone (America/New_York): the local
    # date of the bound is the game date.
    return value.date()


MISSING_TABLE_IS_EMPTY = "missing_table_is_empty"


def missing_table_is_empty(context: dg.InputContext) -> bool:
    """Whether this input opted in (``AssetIn(metadata={MISSING_TABLE_IS_EMPTY: True})``) to read a
    table that was never created as an empty frame. Only inputs whose emptiness is a legitimate state
    opt in (the report's graded history before the first grading run); every other input still
    fails on a missing table rather than silently computing from nothing."""
    return bool((context.definition_metadata or {}).get(MISSING_TABLE_IS_EMPTY))


def missing_table(context: dg.InputContext, name: str) -> pl.DataFrame:
    """What an input whose warehouse table ``name`` was never created loads: an empty frame (with a
    warning) if it opted in, else a failure naming the table and the asset to materialize. The empty
    frame has the columns and types the table would give once written when the asset has a contract
    (:func:`empty_contract`), else none."""
    if missing_table_is_empty(context):
        context.log.warning(
            f"{name} does not exist yet (nothing stored): loaded as an empty frame, as this input allows"
        )
        return pl.DataFrame(schema=empty_contract(context.asset_key.path))
    raise dg.Failure(
        f"warehouse table {name} does not exist: asset {context.asset_key.to_user_string()} "
        "was never materialized here; "
        "materialize it (or backfill its partitions) first"
    )


def empty_contract(path: Sequence[str]) -> dict[str, pl.DataType]:
    """The columns and types of the table of asset ``path`` where the code fixes them: the raw tables'
    contracts (``schemas.RAW_CONTRACTS``) and the predictions'; ``{}`` for any other asset."""
    if len(path) == 2 and path[0] == "raw" and path[1] in RAW_CONTRACTS:
        return RAW_CONTRACTS[path[1]]
    if list(path) == ["predictions", "player_points_predictions"]:
        from nba_assets.lib.modeling.decisions import PREDICTION_SCHEMA

        return PREDICTION_SCHEMA
    return {}


def table_exists(connection: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    rows = connection.execute(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, table],
    ).fetchall()
    return bool(rows)


def column_types(connection: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, str]:
    """The stored table's columns -> DuckDB types, in column order (empty: no such table)."""
    rows = connection.execute(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, table],
    ).fetchall()
    return dict(rows)


def asset_name(context: dg.OutputContext, table: str) -> str:
    """The asset an output belongs to, for messages (the table's name for an op output)."""
    return context.asset_key.to_user_string() if context.has_asset_key else table


class TransactionalDuckDbClient(DuckDbClient):
    """Opens a connection per step and wraps the slice delete + insert in one transaction."""

    @staticmethod
    def delete_table_slice(context: dg.OutputContext, table_slice: TableSlice, connection: Any) -> None:
        if not table_exists(connection, table_slice.schema, table_slice.table):
            return
        where, params = _where(table_slice)
        connection.execute(f"DELETE FROM {_qualified(table_slice)}{where}", params)  # noqa: S608 (identifiers checked by ident, values bound)

    @staticmethod
    @contextmanager
    def connect(context: Any, table_slice: TableSlice) -> Iterator[Any]:
        with DuckDbClient.connect(context, table_slice) as conn:
            try:
                conn.begin()
                yield conn
            except BaseException:
                conn.rollback()
                conn.close()
                raise
            conn.commit()


class PolarsDuckDBTypeHandler(DuckDBPolarsTypeHandler):
    """Stores polars frames (empty ones too) and loads inputs without the removed ``.arrow()``."""

    def handle_output(
        self, context: dg.OutputContext, table_slice: TableSlice, obj: pl.DataFrame, connection: Any
    ) -> dict[str, Any]:
        target = _qualified(table_slice)
        asset = asset_name(context, target)
        refuse_untyped(obj, target, asset)
        refuse_rows_outside_slice(obj, table_slice, target, asset)
        # A failure here aborts the transaction; the client's connect() rolls it back (the slice's
        # DELETE, which the client ran before this, included).
        connection.register("_nba_assets_out", obj.to_arrow())
        stored = column_types(connection, table_slice.schema, table_slice.table)
        if stored:  # the table exists: the frame must have its columns and types, or nothing is written
            new = dict(
                connection.execute(
                    "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM _nba_assets_out)"
                ).fetchall()
            )
            refuse_drift(target, asset, stored, new, drop=f"DROP TABLE {target}")
        connection.execute(f"CREATE TABLE IF NOT EXISTS {target} AS SELECT * FROM _nba_assets_out LIMIT 0")  # noqa: S608 (identifiers checked by ident)
        if obj.height:
            connection.execute(f"INSERT INTO {target} BY NAME SELECT * FROM _nba_assets_out")  # noqa: S608 (identifiers checked by ident)
        connection.unregister("_nba_assets_out")
        return frame_metadata(obj)

    def load_input(self, context: dg.InputContext, table_slice: TableSlice, connection: Any) -> pl.DataFrame:
        if table_slice.partition_dimensions and len(context.asset_partition_keys) == 0:
            return pl.DataFrame()
        if not table_exists(connection, table_slice.schema, table_slice.table):
            return missing_table(context, f"{table_slice.schema}.{table_slice.table}")
        return load_table_slice(connection, table_slice)


def frame_metadata(obj: pl.DataFrame) -> dict[str, Any]:
    """What both warehouses record on a stored output: its row count and column types, under Dagster's
    own keys, so the UI shows the row count in the asset's header and plots, and the columns in its
    Columns table (they were ``row_count`` / ``dataframe_columns``, which the UI lists as plain entries).
    A range run's assets give each partition its own row count (``record_partition_row_counts``)."""
    return {
        "dagster/row_count": obj.height,
        "dagster/column_schema": dg.MetadataValue.table_schema(
            dg.TableSchema(columns=[dg.TableColumn(name=n, type=str(t)) for n, t in obj.schema.items()])
        ),
    }


def load_table_slice(connection: Any, table_slice: TableSlice) -> pl.DataFrame:
    cols = ", ".join(ident(c) for c in table_slice.columns) if table_slice.columns else "*"
    where, params = _where(table_slice)
    return connection.sql(f"SELECT {cols} FROM {_qualified(table_slice)}{where}", params=params).pl()  # noqa: S608 (identifiers checked, values bound)


class NbaDuckDBIOManager(DuckDBPolarsIOManager):
    """DuckDB warehouse for polars frames; schema = asset key prefix (the layer)."""

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [PolarsDuckDBTypeHandler()]

    @staticmethod
    def default_load_type() -> type | None:
        return pl.DataFrame

    def create_io_manager(self, context: Any) -> DbIOManager:
        return DbIOManager(
            db_client=TransactionalDuckDbClient(),
            database=self.database,
            schema=self.schema_,
            type_handlers=self.type_handlers(),
            default_load_type=self.default_load_type(),
            io_manager_name="NbaDuckDBIOManager",
        )
