"""The prod warehouse: BigQuery storing polars frames, one transaction per partition write.

Why a subclass of dagster-polars' ``PolarsBigQueryIOManager`` rather than the stock manager (the
same reasons as :mod:`nba_assets.lib.storage.duckdb_io`, plus two of BigQuery's own):

* the stock manager deletes the partition (one query) and then loads the new rows (a load job): a
  load that fails after the delete leaves the partition empty. Here the rows are first loaded into a
  staging table; only then does one multi-statement query replace the slice inside a transaction
  (``BEGIN TRANSACTION; DELETE ...; INSERT ...; COMMIT``). BigQuery rolls the transaction back if any
  statement fails, so the table holds the old rows or the new ones, never neither. A transaction that
  BigQuery cancels for a concurrent update of the same table (parallel partition runs) is run again
  with a randomized backoff. The staging table is dropped afterwards, whatever happened; one a killed
  run left behind (killed between the load and the drop) is dropped by a later write to the same
  dataset once it is older than ``STALE_STAGING_HOURS`` (:func:`sweep_stale_staging`).
* the stock manager converts the frame to pandas before loading, which turns a polars ``Date`` into
  ``datetime64`` and the ``game_date`` column into a BigQuery DATETIME (dagster-io/community-integrations
  #253); its partition filter compares with ``'YYYY-MM-DD HH:MM:SS'`` literals, which BigQuery cannot
  cast to DATE (dagster-io/dagster#13147). Here the frame is written as Parquet by polars with an
  explicit BigQuery schema from its polars types (Date -> DATE, ...), and partition bounds are DATE
  query parameters, never formatted into SQL.
* the stock manager skips empty frames (no table is created, downstream loads fail); here an empty
  frame still creates the table with its schema and clears the slice.
* a table that was never created follows the local rule (:func:`missing_table`).
* a frame whose columns or types differ from the existing table's (``tables.get``) is refused before
  anything is staged, with the same message as locally (:mod:`nba_assets.lib.storage.schema_drift`):
  BigQuery's INSERT would store NULL for a column the frame lacks, widen INT64 into a FLOAT64 column, and
  fail the run only for types without an implicit coercion (FLOAT64 into INT64). A table created by
  another write between the look-up and the swap is not compared (the INSERT still refuses what
  GoogleSQL cannot coerce).
* reads go through the BigQuery Storage Read API (``google-cloud-bigquery-storage``, in the ``prod``
  extra): the client streams the query's result table as Arrow record batches instead of paging JSON
  rows over REST. The client library reads over REST on its own when the package is missing or the
  result came back whole in the first page, but not when the service refuses the read session (a
  service account without ``bigquery.readsessions.create``): that error is its caller's. Here such a
  read is done again over REST with one warning naming the table and the permission (:func:`read_rows`).
* every query job carries a cap on the bytes it may bill (``maximum_bytes_billed``, prod:
  ``NBA_ASSETS_BIGQUERY_MAX_BYTES_BILLED``): the stock manager sets none, so a query that lost its
  partition filter billed without limit. A job BigQuery refuses for the cap fails naming the operation,
  the table, the partitions, the cap and the setting (:func:`run_query`).
* each use of a client closes it (:meth:`StagedBigQueryClient.connect`): dagster-gcp opens one per output
  and per input and never closes it, leaving its HTTP connections to the garbage collector.

Identifiers (dataset = asset layer, table = asset name, columns of frames built in code) pass
:func:`ident`; the project comes from configuration and passes :func:`_project`.
"""

import concurrent.futures
import io
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import polars as pl
import pyarrow as pa
import requests
from dagster._core.storage.db_io_manager import DbIOManager, DbTypeHandler, TableSlice
from dagster_gcp.bigquery.io_manager import BigQueryClient
from dagster_polars import PolarsBigQueryIOManager
from dagster_polars.io_managers.bigquery import PolarsBigQueryTypeHandler
from google.api_core.exceptions import GoogleAPIError, NotFound, PermissionDenied, RetryError
from google.api_core.retry import Retry
from google.cloud import bigquery
from pydantic import Field
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from nba_assets.lib.env import (
    BIGQUERY_MAX_BYTES_BILLED_DEFAULT,
    BIGQUERY_MAX_BYTES_BILLED_VAR,
    GCP_PROJECT_VAR,
    require_value,
)
from nba_assets.lib.storage.duckdb_io import (
    asset_name,
    frame_metadata,
    ident,
    missing_table,
    partition_filters,
    refuse_rows_outside_slice,
)
from nba_assets.lib.storage.schema_drift import refuse_drift, refuse_untyped

_PROJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.:_-]*$")
STAGING_PREFIX = "_staging_"
# a write's staging table: _staging_<table>_<12 hex digits> (handle_output)
STAGING_TABLE = re.compile(rf"^{STAGING_PREFIX}\w+_[0-9a-f]{{12}}$")
# A write keeps its staging table from its load job to the end of its swap: minutes (the swap's retries
# wait a minute at most). One older than this was left by a run killed in between, never by a write in
# progress, so a later write to the same dataset drops it.
STALE_STAGING_HOURS = 24
_ONCE = Retry(predicate=lambda _exc: False)  # a request that is not retried
# google-cloud-bigquery waits for ever unless told otherwise: its DEFAULT_TIMEOUT is None (no limit on
# an HTTP request; google/cloud/bigquery/retry.py), QueryJob.result() without a timeout waits for the job
# however long it runs, and RowIterator.to_arrow(timeout=None) for the whole download. dagster-gcp's
# ``timeout`` (default None) is what every call here passes, so an unset one left a run hanging on a
# dead connection. Every job of this warehouse is one partition's load, swap or read, or a whole table of
# a few hundred thousand rows: seconds to a few minutes. The limit bounds each request, each job's wait
# and each download.
TIMEOUT_SECONDS = 900.0


# What a job wait that times out leaves behind, and what is guaranteed. google-cloud-bigquery (3.47)
# raises concurrent.futures.TimeoutError (the builtin TimeoutError) from LoadJob.result (api_core's
# PollingFuture) and from QueryJob.result, which also turns requests' Timeout into it; the job itself
# goes on running in BigQuery. So a timed-out wait cancels its job (:func:`wait_for_job`). jobs.cancel
# only asks: it returns at once, a job that has finished stays finished, and whether the cancel took
# effect is the job's state afterwards (REST reference, jobs.cancel). For the swap script, BigQuery
# commits the transaction only at COMMIT TRANSACTION and rolls it back when the script ends before it
# (multi-statement transactions): a cancel that stops it first leaves the previous rows, one that comes
# after the COMMIT leaves the new rows. Never a mix, but which one is not known when the step fails. The
# step's retry stages its rows again and runs a new swap, which deletes the slice before inserting, so the
# slice then holds that retry's rows, whatever the first swap did; a first swap still running then
# mutates the same table concurrently, and BigQuery aborts one of the two transactions ("concurrent
# update": the retry's swap runs again, SWAP_ATTEMPTS). The staging table is dropped after a timeout too,
# so a timed-out swap that has not read it yet fails rather than committing later. A load that outlives
# the drop would recreate its staging table: the cancel stops it, and a leftover is swept
# (STALE_STAGING_HOURS).
CANCEL_TIMEOUT_SECONDS = 60.0  # jobs.cancel's own request: the run has already waited its timeout
# Retries of a load's upload (google-resumable-media's num_retries, 6 by default: connection errors, 429s
# and 5xx, and a request that got no answer within the timeout, each attempt waiting up to TIMEOUT_SECONDS
# whatever the time already spent: 7 x 15 min at worst). Two retries bound a dead upload at 45 min; the
# step's retry policy is the retry after that.
UPLOAD_RETRIES = 2
# what a load whose upload timed out leaves behind (see request_timed_out)
STAGING_LEFT = (
    " (the load writes only its own staging table, dropped now; a load that runs later recreates it, and a "
    f"later write to the dataset drops it once {STALE_STAGING_HOURS} hours old)"
)


def _project(name: str | None) -> str:
    if not name or not _PROJECT.match(name):
        raise ValueError(f"warehouse: {name!r} is not a BigQuery project id")
    return name


def table_id(table_slice: TableSlice, table: str | None = None) -> str:
    """``project.dataset.table`` of the slice (or of ``table`` in the same dataset), checked."""
    return f"{_project(table_slice.database)}.{ident(table_slice.schema)}.{ident(table or table_slice.table)}"


def bigquery_where(table_slice: TableSlice) -> tuple[str, list[Any]]:
    """The slice's partition filter with named parameters (DATE bounds, STRING keys): (SQL, params)."""
    clauses: list[str] = []
    params: list[Any] = []
    for i, (column, values) in enumerate(partition_filters(table_slice)):
        if isinstance(values, tuple):
            clauses.append(f"`{column}` >= @slice{i}_start AND `{column}` < @slice{i}_end")
            params += [
                bigquery.ScalarQueryParameter(f"slice{i}_start", "DATE", values[0]),
                bigquery.ScalarQueryParameter(f"slice{i}_end", "DATE", values[1]),
            ]
        else:
            clauses.append(f"`{column}` IN UNNEST(@slice{i}_keys)")
            params.append(bigquery.ArrayQueryParameter(f"slice{i}_keys", "STRING", values))
    return (" AND ".join(clauses) or "TRUE"), params


_SCALAR_TYPES: dict[type[pl.DataType], str] = {
    pl.Boolean: "BOOL",
    pl.Int8: "INT64",
    pl.Int16: "INT64",
    pl.Int32: "INT64",
    pl.Int64: "INT64",
    pl.UInt8: "INT64",
    pl.UInt16: "INT64",
    pl.UInt32: "INT64",
    pl.Float32: "FLOAT64",
    pl.Float64: "FLOAT64",
    pl.String: "STRING",
    pl.Categorical: "STRING",
    pl.Enum: "STRING",
    pl.Date: "DATE",
    pl.Time: "TIME",
    pl.Binary: "BYTES",
}


def bigquery_field(name: str, dtype: pl.DataType, where: str) -> bigquery.SchemaField:
    """The BigQuery column for a polars column; ``where`` names the table in the error for a type
    BigQuery cannot hold (the frame is refused before anything is written)."""
    ident(name)
    if isinstance(dtype, pl.List | pl.Array):
        inner = bigquery_field(name, dtype.inner, where)  # type: ignore[arg-type]
        if inner.mode == "REPEATED":
            raise ValueError(
                f"warehouse: {where}.{name} is a list of lists ({dtype}), which BigQuery cannot hold"
            )
        return bigquery.SchemaField(name, inner.field_type, mode="REPEATED", fields=inner.fields)
    if isinstance(dtype, pl.Struct):
        fields = [bigquery_field(f.name, f.dtype, f"{where}.{name}") for f in dtype.fields]  # type: ignore[arg-type]
        return bigquery.SchemaField(name, "RECORD", fields=fields)
    if isinstance(dtype, pl.Datetime):
        return bigquery.SchemaField(name, "TIMESTAMP" if dtype.time_zone else "DATETIME")
    if isinstance(dtype, pl.Decimal):  # NUMERIC holds 29 integer digits and 9 decimals
        scale, precision = dtype.scale or 0, dtype.precision or 38
        return bigquery.SchemaField(
            name, "NUMERIC" if scale <= 9 and precision - scale <= 29 else "BIGNUMERIC"
        )
    field_type = _SCALAR_TYPES.get(dtype.base_type())
    if field_type is None:
        raise ValueError(f"warehouse: {where}.{name} has type {dtype}, which has no BigQuery column type")
    return bigquery.SchemaField(name, field_type)


def bigquery_schema(frame: pl.DataFrame, where: str) -> list[bigquery.SchemaField]:
    return [bigquery_field(name, dtype, where) for name, dtype in frame.schema.items()]


# tables.get may name a column's type with its legacy name; the schemas built here use GoogleSQL's.
_STANDARD_NAMES = {
    "INTEGER": "INT64",
    "FLOAT": "FLOAT64",
    "BOOLEAN": "BOOL",
    "STRUCT": "RECORD",
    "DECIMAL": "NUMERIC",
    "BIGDECIMAL": "BIGNUMERIC",
}


def field_type(field: bigquery.SchemaField) -> str:
    """A column's GoogleSQL type as text (``INT64``, ``ARRAY<STRING>``, ``STRUCT<a STRING>``), the
    same whichever name (legacy or standard) BigQuery answered with."""
    kind = field.field_type.upper()
    kind = _STANDARD_NAMES.get(kind, kind)
    if kind == "RECORD":
        kind = "STRUCT<" + ", ".join(f"{f.name} {field_type(f)}" for f in field.fields) + ">"
    return f"ARRAY<{kind}>" if field.mode == "REPEATED" else kind


def column_types(schema: Sequence[bigquery.SchemaField]) -> dict[str, str]:
    return {f.name: field_type(f) for f in schema}


def stored_schema(
    connection: bigquery.Client, target: str, timeout: float | None
) -> list[bigquery.SchemaField] | None:
    """The columns of table ``target`` as BigQuery holds them (None: no such table yet)."""
    with _fails_as(f"warehouse: reading the columns of {target} failed, so {target} was not touched"):
        try:
            return list(connection.get_table(target, timeout=timeout).schema)
        except NotFound:
            return None


def day_partitioning(table_slice: TableSlice) -> bigquery.TimePartitioning | None:
    """A daily-partitioned asset's table is partitioned by day on its partition column (the staging
    table is, and a new table is created LIKE it), so the slice's DELETE and every read prune to the
    dates they touch instead of scanning the table."""
    windows = [column for column, values in partition_filters(table_slice) if isinstance(values, tuple)]
    if len(windows) != 1:
        return None
    return bigquery.TimePartitioning(type_=bigquery.TimePartitioningType.DAY, field=windows[0])


def replace_slice_script(target: str, staging: str, columns: Sequence[str], where: str) -> str:
    """One query: create the table like the staging table if it is new, then, in one transaction,
    delete the slice and insert the staged rows. Any failing statement rolls the transaction back."""
    cols = ", ".join(f"`{ident(c)}`" for c in columns)
    # identifiers checked by table_id / ident; values bound as parameters
    create = f"CREATE TABLE IF NOT EXISTS `{target}` LIKE `{staging}`"
    delete = f"DELETE FROM `{target}` WHERE {where}"  # noqa: S608
    insert = f"INSERT INTO `{target}` ({cols}) SELECT {cols} FROM `{staging}`"  # noqa: S608
    return f"{create};\nBEGIN TRANSACTION;\n{delete};\n{insert};\nCOMMIT TRANSACTION;"


def stale_staging_tables(
    tables: Iterable[tuple[str, datetime | None]], now: datetime, hours: float = STALE_STAGING_HOURS
) -> list[str]:
    """Of ``tables`` ((name, creation time) of one dataset), the staging tables (:data:`STAGING_TABLE`)
    created more than ``hours`` before ``now``, sorted. A table of unknown age is kept."""
    before = now - timedelta(hours=hours)
    return sorted(
        name
        for name, created in tables
        if STAGING_TABLE.match(name) and created is not None and created < before
    )


def sweep_stale_staging(
    connection: bigquery.Client, dataset: str, now: datetime, timeout: float | None
) -> list[str]:
    """Drop the staging tables of ``dataset`` (``project.dataset``, checked) that a killed run left
    behind (:func:`stale_staging_tables`); the names dropped. A dataset not created yet has none."""
    # one attempt per request (_ONCE): the client's default retries a server error for up to 10 minutes,
    # which housekeeping must not add to a write; a later write sweeps again
    try:
        listed = [
            (t.table_id, t.created) for t in connection.list_tables(dataset, retry=_ONCE, timeout=timeout)
        ]
    except NotFound:
        return []
    stale = stale_staging_tables(listed, now)
    for name in stale:
        connection.delete_table(f"{dataset}.{name}", retry=_ONCE, not_found_ok=True, timeout=timeout)
    return stale


def plain_arrow(table: pa.Table) -> pa.Table:
    """The client tags DATETIME columns as the Arrow extension ``google:sqlType:datetime`` (field
    metadata), which polars keeps as an extension type instead of ``Datetime``: drop the tags."""
    schema = pa.schema([f.remove_metadata() for f in table.schema])
    return pa.Table.from_arrays(table.columns, schema=schema)


# The permission the Storage Read API needs (role roles/bigquery.readSessionUser grants it).
READ_SESSION_PERMISSION = "bigquery.readsessions.create"


def read_rows(
    job: bigquery.QueryJob,
    rows: bigquery.table.RowIterator,
    target: str,
    timeout: float | None,
    warn: Callable[[str], None],
) -> pa.Table:
    """The rows of finished query ``job`` (its result ``rows``, a read of ``target``) as Arrow, through
    the Storage Read API when the client can use it. A refused read session (gRPC ``PermissionDenied``
    from the read client) is read again over REST, with one ``warn`` naming ``target`` and the
    permission: the fast path is an optimization, never a reason for a run to fail. A 403 of the REST
    API (``Forbidden``: no right to read the data at all) is not a refused fast path and is raised as
    it is, with no warning. Either way the columns come out with the same Arrow types
    (:func:`plain_arrow`)."""
    try:
        table = rows.to_arrow(create_bqstorage_client=True, timeout=timeout)
    except PermissionDenied as exc:  # gRPC: the read session; REST's 403 is a Forbidden, not this
        warn(
            f"warehouse: the BigQuery Storage Read API refused to read {target} ({exc}); read it over "
            f"the REST API instead (slower). Grant the service account {READ_SESSION_PERMISSION} "
            "(role roles/bigquery.readSessionUser) for the fast path."
        )
        # a new iterator (the refused one has started); the job's results are read again, not rerun
        table = job.result(timeout=timeout).to_arrow(create_bqstorage_client=False, timeout=timeout)
    return plain_arrow(table)


# BigQuery cancels a transaction that mutates a table another transaction is mutating ("Transaction is
# aborted due to concurrent update"), e.g. two partitions of one asset written by parallel runs. The
# staged rows are intact, so the replace is simply run again after a randomized backoff.
SWAP_ATTEMPTS = 6


def is_concurrent_update(exc: BaseException) -> bool:
    return isinstance(exc, GoogleAPIError) and "concurrent update" in str(exc).lower()


def _pause(seconds: float) -> None:
    time.sleep(seconds)


def slice_label(table_slice: TableSlice) -> str:
    """The slice's partitions for messages: ``game_date 2025-11-03`` (one day), ``game_date 2025-11-01
    to 2025-11-04`` (a range, inclusive), ``season 2024-25, 2025-26`` (keys); "" when unpartitioned."""
    parts: list[str] = []
    for column, values in partition_filters(table_slice):
        if isinstance(values, tuple):
            first, last = values[0], values[1] - timedelta(days=1)
            parts.append(f"{column} {first}" if first >= last else f"{column} {first} to {last}")
        else:
            parts.append(f"{column} {', '.join(values)}")
    return "; ".join(parts)


def _cancel(job: Any, warn: Callable[[str], None]) -> str:
    """Ask BigQuery to cancel ``job`` (once, best effort); what is known of it afterwards, for the error.
    A failure to cancel is logged with ``warn``, never raised over the timeout."""
    try:
        job.cancel(retry=_ONCE, timeout=CANCEL_TIMEOUT_SECONDS)
    # requests' exceptions (a dropped connection, a timeout) are OSErrors, not GoogleAPIErrors
    except (GoogleAPIError, OSError) as exc:
        warn(f"warehouse: could not cancel BigQuery job {job.job_id}, it may still run: {exc}")
        return f"cancelling it failed ({exc}), so it may still run"
    if job.state != "DONE":  # the cancel's reply: the job as it was when BigQuery took the request
        return f"cancel requested (BigQuery reported it {job.state}); a job stopped early applies nothing"
    if job.error_result:
        return f"BigQuery stopped it ({job.error_result.get('message') or job.error_result.get('reason')})"
    return "it finished as it was being cancelled, so its work stands"


def wait_for_job(
    job: Any, timeout: float | None, what: str, warn: Callable[[str], None], after: str = ""
) -> Any:
    """``job.result(timeout=timeout)``. A wait that times out, or whose polling of the job's state ends
    in api_core's RetryError, cancels the job (:func:`_cancel`: the client library leaves it running)
    and fails with a message naming ``what`` was being done (the
    operation, table and partitions), the job id, the timeout and what happened to the job; ``after``
    says what that leaves in the table."""
    try:
        return job.result(timeout=timeout)
    except (concurrent.futures.TimeoutError, requests.exceptions.Timeout) as exc:
        outcome = _cancel(job, warn)
        raise dg.Failure(
            f"warehouse: {what} timed out: BigQuery job {job.job_id} did not finish within {timeout} s "
            f"(the IO manager's timeout); {outcome}{after}"
        ) from exc
    except RetryError as exc:
        # asking for the job's state kept failing: the job itself may have finished, failed or still run,
        # so this is not the job's error ("failed, keeps its previous rows" would be a guess)
        outcome = _cancel(job, warn)
        raise dg.Failure(
            f"warehouse: {what}: asking BigQuery for job {job.job_id}'s state kept failing ({exc}), so "
            f"its outcome is not known; {outcome}{after}"
        ) from exc


# A request that creates a job (jobs.insert of a query, the upload of a load) can time out before
# BigQuery answers: whether the job exists is then not known, and no job id is known to cancel. The client
# library retries a timed-out request within its retry deadline (DEFAULT_RETRY, 600 s; jobs.insert again
# with the same job id, taking the job over on a 409), but TIMEOUT_SECONDS is longer than that deadline:
# a query's insert is sent once and ends in api_core's RetryError whose cause (nested) is requests'
# Timeout, a GoogleAPIError, which a swap reported as "failed, keeps its previous rows" though its job may
# still run. A load's upload is retried by google-resumable-media UPLOAD_RETRIES more times whatever the
# time spent (each waiting up to the timeout), then ends in requests' Timeout
# itself, which is not a GoogleAPIError and reached the run bare. Either way the job may exist and may
# still run. What is guaranteed whichever it was, so that retrying the step
# is safe: a load writes only its own staging table (a name no other write uses), dropped right after the
# failure; a load that runs later recreates it, and a later write to the dataset drops it once
# STALE_STAGING_HOURS old; the target is not touched. A swap is one transaction: the table holds its
# previous rows or the new ones, never a mix; the staging table is dropped right after the failure, so a
# swap job that has not read it yet fails; the step's retry stages its rows again and runs a new swap,
# which deletes the slice before inserting, and BigQuery aborts one of two transactions mutating a table
# at once (the retry's swap then runs again, SWAP_ATTEMPTS), so the slice ends with the retry's rows. A
# read, and CREATE SCHEMA IF NOT EXISTS, change nothing a second time.
def request_timed_out(exc: BaseException) -> bool:
    """Whether ``exc`` is a request that got no answer within its timeout, as the client raises it:
    requests' Timeout (or the builtin TimeoutError), or the RetryError its retries end in, whose cause
    (possibly another RetryError) is one."""
    seen: BaseException | None = exc
    while isinstance(seen, RetryError):
        seen = seen.cause
    return isinstance(seen, requests.exceptions.Timeout | TimeoutError)


@contextmanager
def _creating_job(what: str, timeout: float | None, after: str) -> Iterator[None]:
    """A request creating a job that times out (:func:`request_timed_out`) as a Dagster failure naming
    ``what`` was being done (the operation, table and partitions) and the timeout, saying that the job
    may exist and that retrying the step is safe; ``after`` says what that leaves in the table."""
    try:
        yield
    # requests' exceptions are OSErrors, not GoogleAPIErrors; other errors pass on unchanged
    except (GoogleAPIError, OSError) as exc:
        if not request_timed_out(exc):
            raise
        raise dg.Failure(
            f"warehouse: {what} timed out before its BigQuery job was known: the request creating the job "
            f"got no answer within {timeout} s (the IO manager's timeout), so BigQuery may or may not have "
            f"created it, and it may still run{after}. Retrying the step is safe."
        ) from exc


# BigQuery refuses a query job that would bill more than its maximumBytesBilled, without charging it:
# the job fails with reason bytesBilledLimitExceeded ("Query exceeded limit for bytes billed: <cap>. <n> or
# higher required."). google-cloud-bigquery raises it from result() as a 500 InternalServerError (the
# reason is not in its table of reasons) and does not retry it (not a retryable reason).
BILLING_CAP_REASON = "bytesBilledLimitExceeded"


def over_billing_cap(exc: GoogleAPIError) -> bool:
    """Whether BigQuery refused the job for its cap on bytes billed (the reason, or BigQuery's message)."""
    errors = getattr(exc, "errors", None) or []
    reasons = {e.get("reason") for e in errors if isinstance(e, Mapping)}
    return BILLING_CAP_REASON in reasons or "exceeded limit for bytes billed" in str(exc).lower()


@contextmanager
def _within_cap(what: str, cap: int | None, after: str) -> Iterator[None]:
    """A query job BigQuery refuses for its cap (:func:`over_billing_cap`) as a Dagster failure naming
    ``what`` was being done, the cap and the setting that raises it; ``after`` says what that leaves."""
    try:
        yield
    except GoogleAPIError as exc:
        if not over_billing_cap(exc):
            raise
        raise dg.Failure(
            f"warehouse: BigQuery refused {what}: the query would bill more than {cap} bytes, the cap on one "
            f"query job (the IO manager's maximum_bytes_billed, set from {BIGQUERY_MAX_BYTES_BILLED_VAR}); "
            f"a refused query is neither run nor charged{after}. A query of a few partitions that needs "
            f"this much has likely lost its partition filter; if it is meant to read that much, raise "
            f"{BIGQUERY_MAX_BYTES_BILLED_VAR}. BigQuery said: {exc}"
        ) from exc


def run_query(
    connection: bigquery.Client,
    sql: str,
    params: Sequence[Any],
    what: str,
    context: dg.OutputContext | dg.InputContext,
    after: str = "",
    refused: str = "",
) -> tuple[bigquery.QueryJob, Any]:
    """Run one query job of the IO manager: ``sql`` with ``params``, at most the IO manager's
    ``maximum_bytes_billed``, its requests and its wait bounded by its timeout; (the job, its result).
    ``what`` names the operation, table and partitions in the failures: a request that times out before
    the job is known (:func:`_creating_job`), a job that outlives the timeout (:func:`wait_for_job`;
    ``after`` says what either leaves in the table) and a job refused for the cap (:func:`_within_cap`;
    ``refused`` says what that leaves)."""
    location, timeout = _job_options(context)
    cap = _max_bytes_billed(context)
    config = bigquery.QueryJobConfig(query_parameters=list(params), maximum_bytes_billed=cap)
    with _within_cap(what, cap, refused):
        with _creating_job(what, timeout, after):
            job = connection.query(sql, job_config=config, location=location, timeout=timeout)
        return job, wait_for_job(job, timeout, what, context.log.warning, after)


def _what(operation: str, target: str, table_slice: TableSlice) -> str:
    label = slice_label(table_slice)
    return f"{operation} {target} ({label})" if label else f"{operation} {target}"


@contextmanager
def _fails_as(message: str) -> Iterator[None]:
    """A BigQuery error as a Dagster failure that says what happened to the table."""
    try:
        yield
    except GoogleAPIError as exc:
        raise dg.Failure(f"{message}: {exc}") from exc


class StagedBigQueryClient(BigQueryClient):
    """Deletes nothing before the write: the type handler replaces the slice in one transaction."""

    @staticmethod
    def delete_table_slice(context: dg.OutputContext, table_slice: TableSlice, connection: Any) -> None:
        return None

    @staticmethod
    def ensure_schema_exists(context: dg.OutputContext, table_slice: TableSlice, connection: Any) -> None:
        # dagster-gcp's runs this query with no timeout (its .result() waits for ever) and no cap
        run_query(
            connection,
            f"CREATE SCHEMA IF NOT EXISTS {ident(table_slice.schema)}",
            [],
            f"creating dataset {table_slice.schema}",
            context,
            "; creating a dataset if it does not exist changes nothing a second time",
        )

    @staticmethod
    @contextmanager
    def connect(
        context: dg.OutputContext | dg.InputContext, table_slice: TableSlice
    ) -> Iterator[bigquery.Client]:
        """dagster-gcp's client for one output or input, closed when the IO manager is done with it
        (dagster-gcp's is never closed: its HTTP session and connections waited for the garbage
        collector). A read's rows are in memory by then (``to_arrow``)."""
        with BigQueryClient.connect(context, table_slice) as connection:
            try:
                yield connection
            finally:
                connection.close()


def _job_options(context: dg.OutputContext | dg.InputContext) -> tuple[str | None, float | None]:
    config: Mapping[str, Any] = context.resource_config or {}
    return config.get("location"), config.get("timeout")


def _max_bytes_billed(context: dg.OutputContext | dg.InputContext) -> int | None:
    config: Mapping[str, Any] = context.resource_config or {}
    return config.get("maximum_bytes_billed")


def bq_cli_table(target: str) -> str:
    """``project.dataset.table`` as the ``bq`` command names it, ``project:dataset.table``; a
    domain-scoped project (``example.com:proj``) keeps its own colon and dots."""
    project, dataset, table = target.rsplit(".", 2)
    return f"{project}:{dataset}.{table}"


class NbaPolarsBigQueryTypeHandler(PolarsBigQueryTypeHandler):
    def handle_output(  # type: ignore[override]
        self, context: dg.OutputContext, table_slice: TableSlice, obj: pl.DataFrame, connection: Any
    ) -> dict[str, Any]:
        target = table_id(table_slice)
        asset = asset_name(context, target)
        refuse_untyped(obj, target, asset)
        refuse_rows_outside_slice(obj, table_slice, target, asset)
        schema = bigquery_schema(obj, target)  # refuses an unstorable frame before any write
        location, timeout = _job_options(context)
        stored = stored_schema(connection, target, timeout)
        if stored is not None:  # the table exists: the frame must have its columns and types
            drop = f"bq rm -t {bq_cli_table(target)}"
            refuse_drift(target, asset, column_types(stored), column_types(schema), drop=drop)
        dataset = f"{_project(table_slice.database)}.{ident(table_slice.schema)}"
        try:  # housekeeping: its failure leaves the leftovers for a later write, the write goes on
            swept = sweep_stale_staging(connection, dataset, datetime.now(UTC), timeout)
            if swept:
                context.log.info(f"warehouse: dropped staging tables a killed run left in {dataset}: {swept}")
        # not retried (_ONCE), a dropped connection or a timeout comes as the transport's own error:
        # requests' exceptions are OSErrors, not GoogleAPIErrors
        except (GoogleAPIError, OSError) as exc:
            context.log.warning(f"warehouse: could not sweep stale staging tables of {dataset}: {exc}")
        staging = table_id(table_slice, f"{STAGING_PREFIX}{table_slice.table}_{uuid.uuid4().hex[:12]}")
        data = io.BytesIO()
        obj.write_parquet(data)
        size = data.tell()
        data.seek(0)
        load = bigquery.LoadJobConfig(
            source_format=bigquery.SourceFormat.PARQUET,
            write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
            schema=schema,
        )
        parquet = bigquery.ParquetOptions()
        parquet.enable_list_inference = True
        load.parquet_options = parquet
        load.time_partitioning = day_partitioning(table_slice)
        try:
            with _fails_as(
                f"warehouse: staging {obj.height} rows for {target} failed, so {target} was not touched"
            ):
                stage_what = _what(f"staging {obj.height} rows for", target, table_slice)
                with _creating_job(stage_what, timeout, f"; {target} was not touched{STAGING_LEFT}"):
                    job = connection.load_table_from_file(
                        data,
                        staging,
                        size=size,
                        num_retries=UPLOAD_RETRIES,
                        job_config=load,
                        location=location,
                        timeout=timeout,
                    )
                wait_for_job(job, timeout, stage_what, context.log.warning, f"; {target} was not touched")
            where, params = bigquery_where(table_slice)
            replaced = (
                f"warehouse: replacing the slice of {target} failed; it runs as one transaction, "
                f"so {target} keeps its previous rows"
            )
            swap_what = _what("replacing the slice of", target, table_slice)
            swap_after = (
                f"; the swap is one transaction, so {target} holds its previous rows or the new ones, "
                "never a mix, and a retry of the step replaces the slice again"
            )
            with _fails_as(replaced):
                for attempt in Retrying(
                    retry=retry_if_exception(is_concurrent_update),
                    stop=stop_after_attempt(SWAP_ATTEMPTS),
                    wait=wait_random_exponential(multiplier=2, max=60),
                    sleep=_pause,
                    reraise=True,
                ):
                    with attempt:
                        run_query(
                            connection,
                            replace_slice_script(target, staging, obj.columns, where),
                            params,
                            swap_what,
                            context,
                            swap_after,
                            f"; the swap is one transaction, so {target} keeps its previous rows",
                        )
        finally:
            try:
                connection.delete_table(staging, not_found_ok=True, timeout=timeout)
            except GoogleAPIError as exc:  # the write's outcome stands; the leftover is named
                context.log.warning(f"warehouse: could not drop staging table {staging}: {exc}")
        return frame_metadata(obj)

    def load_input(self, context: dg.InputContext, table_slice: TableSlice, connection: Any) -> pl.DataFrame:
        if table_slice.partition_dimensions and len(context.asset_partition_keys) == 0:
            return pl.DataFrame()
        target = table_id(table_slice)
        cols = ", ".join(f"`{ident(c)}`" for c in table_slice.columns) if table_slice.columns else "*"
        where, params = bigquery_where(table_slice)
        _, timeout = _job_options(context)
        try:  # only the query's notFound means a never-created table (not one from reading its result)
            job, rows = run_query(
                connection,
                f"SELECT {cols} FROM `{target}` WHERE {where}",  # noqa: S608 (identifiers checked, values bound)
                params,
                _what("reading", target, table_slice),
                context,
                "; a read changes nothing",
            )
        except NotFound:
            return missing_table(context, target)
        return pl.from_arrow(read_rows(job, rows, target, timeout, context.log.warning))  # type: ignore[return-value]


class NbaPolarsBigQueryIOManager(PolarsBigQueryIOManager):
    """BigQuery warehouse for polars frames; dataset = asset key prefix (the layer)."""

    timeout: float | None = Field(
        default=TIMEOUT_SECONDS,
        description=(
            "Seconds each BigQuery request, each job's wait and each read's download may take "
            "(None: no limit, which the client library's defaults are)."
        ),
    )
    maximum_bytes_billed: int | None = Field(
        default=BIGQUERY_MAX_BYTES_BILLED_DEFAULT,
        description=(
            "Bytes one query job (a read, a swap) may bill; BigQuery refuses a job that would bill more, "
            f"without charging it. Prod: {BIGQUERY_MAX_BYTES_BILLED_VAR}. None: the project's default "
            "(no limit unless the project sets one)."
        ),
    )

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [NbaPolarsBigQueryTypeHandler()]

    @staticmethod
    def default_load_type() -> type | None:
        return pl.DataFrame

    def create_io_manager(self, context: Any) -> DbIOManager:
        # when a run sets the IO manager up (BigQueryIOManager's yield_for_execution calls this, not
        # setup_for_execution): dg.EnvVar refuses NBA_ASSETS_GCP_PROJECT unset, not set to ""
        require_value(GCP_PROJECT_VAR, self.project)
        return DbIOManager(
            db_client=StagedBigQueryClient(write_mode=self.write_mode, gcp_credentials=self.gcp_credentials),
            io_manager_name="BigQueryIOManager",
            database=self.project,
            schema=self.dataset,
            type_handlers=self.type_handlers(),
            default_load_type=self.default_load_type(),
        )
