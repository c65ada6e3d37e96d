"""The prod warehouse IO manager on BigQuery: the real google-cloud-bigquery client and the real
Dagster IO manager, with BigQuery's REST API answered in-process by :mod:`fake_bigquery` (no request
leaves the machine)."""

import json
import re
from datetime import UTC, date, datetime

import dagster as dg
import polars as pl
import pytest
import responses
from google.auth.credentials import AnonymousCredentials

from nba_assets.lib.storage.bigquery_io import (
    SWAP_ATTEMPTS,
    TIMEOUT_SECONDS,
    NbaPolarsBigQueryIOManager,
    bigquery_schema,
    bq_cli_table,
    wait_for_job,
)
from nba_assets_tests.fake_bigquery import FakeBigQuery
from nba_assets_tests.fake_bigquery_storage import FakeBigQueryRead
from nba_assets_tests.test_lib_storage import DRIFT, OUTSIDE, drift_asset, failure_text, missing_table_assets

parts = dg.DailyPartitionsDefinition(start_date="2025-11-01", timezone="America/New_York", end_offset=1)
SCHEMA = {  # every kind of column the assets store: DATE, INT64, DATETIME, TIMESTAMP, RECORD, REPEATED
    "game_date": pl.Date,
    "v": pl.Int64,
    "report_time_et": pl.Datetime("us"),
    "snapshot_utc": pl.Datetime("us", "UTC"),
    "sources": pl.Struct({"pts_avg_l10": pl.String}),
    "books": pl.List(pl.String),
}
DATE_LITERAL = re.compile(r"\d{4}-\d{2}-\d{2}")


@pytest.fixture
def bq(monkeypatch) -> FakeBigQuery:
    """The REST API's fake, with the Storage Read API's (a local gRPC server) in ``bq.storage``: the
    client library's own storage client factory hands out a read client connected to it, and counts
    in ``bq.storage_clients`` how often it was asked for one."""
    import google.auth
    from google.cloud import bigquery

    monkeypatch.setattr(google.auth, "default", lambda *a, **k: (AnonymousCredentials(), "p"))
    fake = FakeBigQuery(project="p")
    fake.storage = FakeBigQueryRead(fake)
    fake.storage.start()
    asked: list[int] = []

    def storage_client(self, *args, **kwargs):
        asked.append(1)
        return fake.storage.client()

    monkeypatch.setattr(bigquery.Client, "_ensure_bqstorage_client", storage_client)
    fake.storage_clients = asked  # type: ignore[attr-defined]
    try:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            fake.install(mock)
            yield fake
    finally:
        fake.storage.stop()


def _io() -> dict[str, NbaPolarsBigQueryIOManager]:
    return {"io_manager": NbaPolarsBigQueryIOManager(project="p", location="US")}


def _assets(state: dict) -> list[dg.AssetsDefinition]:
    @dg.asset(key=["raw", "t"], partitions_def=parts, metadata={"partition_expr": "game_date"})
    def t(context: dg.AssetExecutionContext) -> pl.DataFrame:
        day = date.fromisoformat(context.partition_key)
        values = state.get("values", [day.day, day.day * 10])
        return pl.DataFrame(
            {
                "game_date": [day] * len(values),
                "v": values,
                "report_time_et": [datetime(2025, 11, 3, 17, 30)] * len(values),
                "snapshot_utc": [datetime(2025, 11, 3, 22, 0, tzinfo=UTC)] * len(values),
                "sources": [{"pts_avg_l10": "box_scores"}] * len(values),
                "books": [["fanduel", "draftkings"]] * len(values),
            },
            schema=SCHEMA,
        )

    @dg.asset(
        key=["mart", "u"],
        partitions_def=parts,
        metadata={"partition_expr": "game_date"},
        ins={"t": dg.AssetIn(key=["raw", "t"])},
    )
    def u(t: pl.DataFrame) -> pl.DataFrame:
        state["seen"] = t
        return t.select("game_date", w=pl.col("v") + 1)

    return [t, u]


def _queries(fake: FakeBigQuery) -> list[str]:
    return [r.body["configuration"]["query"]["query"] for r in fake.requests if r.method == "POST" and r.body]


def test_partitions_round_trip_with_their_types_and_rewrites_are_idempotent(bq) -> None:
    state: dict = {}
    assets = _assets(state)
    for key in ("2025-11-02", "2025-11-03", "2025-11-03"):
        assert dg.materialize(assets, resources=_io(), partition_key=key).success
    stored = bq.table("raw.t").sort("game_date", "v")
    assert stored.select(pl.col("game_date").cast(pl.String), "v").rows() == [
        ("2025-11-02", 2),
        ("2025-11-02", 20),
        ("2025-11-03", 3),
        ("2025-11-03", 30),
    ]
    # game_date is a DATE column in BigQuery (the stock manager made it DATETIME via pandas)
    types = {f["name"]: (f["type"], f.get("mode")) for f in bq.schemas["raw.t"]}
    assert types == {
        "game_date": ("DATE", "NULLABLE"),
        "v": ("INT64", "NULLABLE"),
        "report_time_et": ("DATETIME", "NULLABLE"),
        "snapshot_utc": ("TIMESTAMP", "NULLABLE"),
        "sources": ("RECORD", "NULLABLE"),
        "books": ("STRING", "REPEATED"),
    }
    # the downstream asset read its partition back with the types it was written with
    # (a query without ORDER BY has no row order in BigQuery, nor in the fake's DuckDB: sort first)
    seen: pl.DataFrame = state["seen"].sort("v")
    assert seen.schema == SCHEMA
    assert seen["v"].to_list() == [3, 30] and seen["books"][0].to_list() == ["fanduel", "draftkings"]
    assert sorted(bq.table("mart.u")["w"].to_list()) == [3, 4, 21, 31]
    # values reach BigQuery only as DATE parameters; no staging table is left behind
    for sql in _queries(bq):
        assert not DATE_LITERAL.search(sql), sql
    slice_params = [
        p
        for r in bq.requests
        if r.method == "POST" and r.body
        for p in r.body["configuration"]["query"].get("queryParameters", [])
    ]
    assert {
        "name": "slice0_start",
        "parameterType": {"type": "DATE"},
        "parameterValue": {"value": "2025-11-03"},
    } in slice_params
    assert [t for t in bq.tables() if "_staging_" in t] == []
    # partitioned by day on game_date: the slice's DELETE and reads prune to their dates
    loads = [r.body["configuration"]["load"] for r in bq.requests if r.method == "LOAD" and r.body]
    assert {json.dumps(load["timePartitioning"], sort_keys=True) for load in loads} == {
        json.dumps({"field": "game_date", "type": "DAY"}, sort_keys=True)
    }


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (
            {"fail_load": "Error while reading data"},
            "staging 2 rows for p.raw.t failed, so p.raw.t was not touched",
        ),
        (
            {"fail_statement": "INSERT INTO"},
            "replacing the slice of p.raw.t failed; it runs as one transaction",
        ),
    ],
)
def test_a_failed_write_keeps_the_previous_rows(bq, fault, message) -> None:
    """The stock manager deletes the partition before it loads the new rows; a load that fails then
    leaves the partition empty. Here a failing load never reaches the table, and a failing replace
    is rolled back."""
    state: dict = {}
    t = _assets(state)[:1]
    assert dg.materialize(t, resources=_io(), partition_key="2025-11-03").success
    before = len(_queries(bq))
    for name, value in fault.items():
        setattr(bq, name, value)
    state["values"] = [7, 8]
    result = dg.materialize(t, resources=_io(), partition_key="2025-11-03", raise_on_error=False)
    assert not result.success
    error = result.failure_data_for_node("raw__t").error.to_string()  # type: ignore[union-attr]
    assert message in error
    assert sorted(bq.table("raw.t")["v"].to_list()) == [3, 30]
    if "fail_load" in fault:
        assert not any("DELETE FROM" in q for q in _queries(bq)[before:]), (
            "nothing deleted after a failed load"
        )
    assert [t for t in bq.tables() if "_staging_" in t] == []


def test_an_empty_frame_creates_the_table_and_clears_its_partition(bq) -> None:
    state: dict = {"values": []}
    t = _assets(state)[:1]
    assert dg.materialize(t, resources=_io(), partition_key="2025-11-05").success
    assert bq.table("raw.t").height == 0 and bq.schemas["raw.t"][0]["type"] == "DATE"
    state["values"] = [1]
    assert dg.materialize(t, resources=_io(), partition_key="2025-11-05").success
    assert dg.materialize(t, resources=_io(), partition_key="2025-11-06").success
    state["values"] = []
    assert dg.materialize(t, resources=_io(), partition_key="2025-11-05").success
    assert bq.table("raw.t")["game_date"].to_list() == [date(2025, 11, 6)]


@pytest.mark.parametrize("opt_in", [False, True])
def test_a_never_created_table_follows_the_local_missing_table_rule(bq, opt_in) -> None:
    """BigQuery answers notFound for a table never created: the reader fails naming it, unless its
    input declared emptiness legitimate (the same rule as DuckDB's)."""
    t, u = missing_table_assets(opt_in)
    result = dg.materialize(
        [t, u], resources=_io(), partition_key="2025-11-03", raise_on_error=False, selection=[u]
    )
    assert result.success is opt_in
    if opt_in:
        assert bq.table("mart.u")["n"].to_list() == [0]
    else:
        error = result.failure_data_for_node("mart__u").error.to_string()  # type: ignore[union-attr]
        assert "warehouse table p.raw.t does not exist: asset raw/t was never materialized" in error
    assert bq.storage.sessions == [], "the query's notFound: no read session"


def test_decimal_columns_get_a_bigquery_type_that_holds_them() -> None:
    frame = pl.DataFrame(
        schema={"usage": pl.Decimal(24, 2), "possessions": pl.Decimal(38, 2), "rate": pl.Decimal(20, 12)}
    )
    assert [f.field_type for f in bigquery_schema(frame, "p.t.t")] == ["NUMERIC", "BIGNUMERIC", "BIGNUMERIC"]


def test_a_frame_bigquery_cannot_hold_is_refused_before_any_request() -> None:
    frame = pl.DataFrame(
        {"game_date": [date(2025, 11, 3)], "blob": [object()]},
        schema={"game_date": pl.Date, "blob": pl.Object},
    )
    with pytest.raises(ValueError, match=r"p\.raw\.t\.blob has type Object"):
        bigquery_schema(frame, "p.raw.t")
    with pytest.raises(ValueError, match="not a safe SQL identifier"):
        bigquery_schema(pl.DataFrame({"a b": [1]}), "p.raw.t")


def test_the_stock_manager_stores_game_date_as_datetime(bq) -> None:
    """Why the subclass: dagster-polars' manager goes through pandas, so a polars Date lands as a
    BigQuery DATETIME, and its partition filter carries date literals. If this starts failing, the
    stock manager keeps dates: re-check whether the subclass is still needed."""
    from dagster_polars import PolarsBigQueryIOManager

    t = _assets({})[:1]
    stock = {"io_manager": PolarsBigQueryIOManager(project="p", location="US")}
    assert dg.materialize(t, resources=stock, partition_key="2025-11-03").success
    assert {f["name"]: f["type"] for f in bq.schemas["raw.t"]}["game_date"] == "DATETIME"
    assert dg.materialize(t, resources=stock, partition_key="2025-11-03").success
    assert any(DATE_LITERAL.search(q) for q in _queries(bq) if q.startswith("DELETE"))


@pytest.mark.parametrize("conflicts", [2, SWAP_ATTEMPTS])
def test_a_transaction_cancelled_by_a_concurrent_update_is_run_again(bq, monkeypatch, conflicts) -> None:
    """Two partitions of one table written by parallel runs: BigQuery cancels one transaction. The
    staged rows are intact, so the replace runs again after a backoff, a bounded number of times."""
    from nba_assets.lib.storage import bigquery_io

    pauses: list[float] = []
    monkeypatch.setattr(bigquery_io, "_pause", pauses.append)
    state: dict = {}
    t = _assets(state)[:1]
    assert dg.materialize(t, resources=_io(), partition_key="2025-11-03").success
    bq.conflicts = conflicts
    state["values"] = [7, 8]
    result = dg.materialize(t, resources=_io(), partition_key="2025-11-03", raise_on_error=False)
    gave_up = conflicts >= SWAP_ATTEMPTS
    assert result.success is not gave_up
    assert len(pauses) == min(conflicts, SWAP_ATTEMPTS - 1) and all(0 <= p <= 60 for p in pauses)
    assert sorted(bq.table("raw.t")["v"].to_list()) == ([3, 30] if gave_up else [7, 8])
    if gave_up:
        error = result.failure_data_for_node("raw__t").error.to_string()  # type: ignore[union-attr]
        assert "keeps its previous rows" in error and "concurrent update" in error
    assert [t for t in bq.tables() if "_staging_" in t] == []


@pytest.mark.parametrize("case", list(DRIFT))
def test_a_partition_whose_columns_drifted_is_refused_before_anything_is_staged(bq, case) -> None:
    """The same rule as locally, with BigQuery's type names: the table's columns are read
    (``tables.get``) before the load, so a drifted frame is neither staged nor swapped in."""
    state: dict = {}
    t = drift_asset(state)
    for key in ("2025-11-03", "2025-11-04"):
        assert dg.materialize([t], resources=_io(), partition_key=key).success
    before = len(bq.requests)
    state["change"] = DRIFT[case][0]
    result = dg.materialize([t], resources=_io(), partition_key="2025-11-04", raise_on_error=False)
    assert not result.success
    error = failure_text(result, "raw__t")
    assert "the rows of asset raw/t do not match the columns of table p.raw.t" in error
    assert DRIFT[case][2] in error and "bq rm -t p:raw.t" in error
    after = bq.requests[before:]
    assert any(r.method == "GET" and r.path.endswith("/datasets/raw/tables/t") for r in after)
    assert not any(r.method == "LOAD" for r in after), "nothing staged"
    assert _queries(bq)[-1].startswith("CREATE SCHEMA"), "no query after Dagster's dataset check"
    stored = bq.table("raw.t").sort("game_date")
    assert stored.select(pl.col("game_date").cast(pl.String), "v", "flag").rows() == [
        ("2025-11-03", 3, True),
        ("2025-11-04", 4, True),
    ]


@pytest.mark.parametrize("case", list(OUTSIDE))
def test_rows_outside_the_partition_written_are_refused_before_any_write(bq, case) -> None:
    """The staged swap deletes the partition's dates and inserts the staged rows, as locally: a row of
    another date (or none) would be added again by every re-run of the partition."""
    change, named = OUTSIDE[case]
    t = drift_asset({"change": change})
    result = dg.materialize([t], resources=_io(), partition_key="2025-11-04", raise_on_error=False)
    error = failure_text(result, "raw__t")
    assert "returned 1 row(s) for p.raw.t whose game_date is outside the partition(s) written" in error
    assert f"(2025-11-04 .. 2025-11-04): {named}" in error
    assert _queries(bq) == ["CREATE SCHEMA IF NOT EXISTS raw"], "only Dagster's dataset check"
    assert bq.tables() == []


def test_a_column_without_a_type_is_refused_before_any_write(bq) -> None:
    t = drift_asset({"change": {"v": [None]}})
    result = dg.materialize([t], resources=_io(), partition_key="2025-11-04", raise_on_error=False)
    assert "returned columns without a type for p.raw.t: v (Null)" in failure_text(result, "raw__t")
    assert _queries(bq) == ["CREATE SCHEMA IF NOT EXISTS raw"], "only Dagster's dataset check"
    assert bq.tables() == []


@pytest.mark.parametrize(
    ("case", "stored", "outcome"),
    [
        ("float_into_int", None, "Query column 2 has type FLOAT64 which cannot be inserted into column v"),
        ("string_into_bool", None, "has type STRING which cannot be inserted into column flag"),
        ("int_widened_to_float", "float", "coerced"),
        ("missing_column", None, "null"),
        ("extra_column", None, "Column extra is not present in table raw.t"),
    ],
)
def test_the_fake_inserts_like_bigquery_without_the_check(bq, monkeypatch, case, stored, outcome) -> None:
    """What the check stands in front of, as the fake answers it (GoogleSQL's INSERT ... SELECT): types
    without an implicit coercion fail, INT64 into a FLOAT64 column is widened, a missing column is NULL."""
    from nba_assets.lib.storage import bigquery_io

    monkeypatch.setattr(bigquery_io, "refuse_drift", lambda *a, **k: None)
    state: dict = {"change": {"v": [1.5]}} if stored == "float" else {}
    t = drift_asset(state)
    assert dg.materialize([t], resources=_io(), partition_key="2025-11-03").success
    state["change"] = {"v": [4]} if stored == "float" else DRIFT[case][0]
    result = dg.materialize([t], resources=_io(), partition_key="2025-11-04", raise_on_error=False)
    rows = bq.table("raw.t").sort("game_date").select("v").to_series().to_list()
    if outcome == "coerced":
        assert result.success and rows == [1.5, 4.0]
    elif outcome == "null":
        assert result.success and rows == [3, None]
    else:
        assert not result.success and outcome in failure_text(result, "raw__t")
        assert rows == [3]


def test_column_types_read_legacy_and_standard_names_alike() -> None:
    from google.cloud.bigquery import SchemaField

    from nba_assets.lib.storage.bigquery_io import column_types

    legacy = [
        SchemaField("v", "INTEGER"),
        SchemaField("x", "FLOAT"),
        SchemaField("b", "BOOLEAN", mode="REPEATED"),
        SchemaField("s", "RECORD", fields=[SchemaField("a", "STRING"), SchemaField("n", "INTEGER")]),
    ]
    frame = pl.DataFrame(
        schema={
            "v": pl.Int64,
            "x": pl.Float64,
            "b": pl.List(pl.Boolean),
            "s": pl.Struct({"a": pl.String, "n": pl.Int32}),
        }
    )
    assert (
        column_types(legacy)
        == column_types(bigquery_schema(frame, "p.raw.t"))
        == {
            "v": "INT64",
            "x": "FLOAT64",
            "b": "ARRAY<BOOL>",
            "s": "STRUCT<a STRING, n INT64>",
        }
    )


def test_a_write_drops_the_staging_tables_a_killed_run_left_in_its_dataset(bq) -> None:
    """A run killed between its load and its drop leaves its ``_staging_`` table behind; the next write
    to the dataset drops those older than STALE_STAGING_HOURS, whatever table they staged, and keeps a
    younger one (another run's write in progress), a table that only looks like one, and other
    datasets' tables."""
    from datetime import timedelta

    from nba_assets.lib.storage.bigquery_io import STALE_STAGING_HOURS

    now = datetime.now(UTC)
    old, young = (
        now - timedelta(hours=STALE_STAGING_HOURS + 1),
        now - timedelta(hours=STALE_STAGING_HOURS - 1),
    )
    rows = pl.DataFrame({"v": [1]})
    left = {
        "raw._staging_t_0123456789ab": old,  # this asset's, killed a day ago
        "raw._staging_box_scores_a1b2c3d4e5f6": old,  # another asset's of the dataset
        "raw._staging_t_ba9876543210": young,  # a write still running
        "raw._staging_notes": old,  # not a name a write gives
        "mart._staging_u_0123456789ab": old,  # another dataset: its own writes sweep it
    }
    for name, created in left.items():
        bq.put_table(name, rows, created)
    assert dg.materialize(_assets({})[:1], resources=_io(), partition_key="2025-11-03").success
    assert sorted(bq.table("raw.t")["v"].to_list()) == [3, 30]
    assert [t for t in bq.tables() if "_staging_" in t] == [
        "mart._staging_u_0123456789ab",
        "raw._staging_notes",
        "raw._staging_t_ba9876543210",
    ]


def test_a_failed_sweep_of_staging_tables_does_not_fail_the_write(bq) -> None:
    """The sweep is housekeeping: a listing that fails is tried once, logged, and left to a later write."""
    from datetime import timedelta

    bq.put_table(
        "raw._staging_t_0123456789ab", pl.DataFrame({"v": [1]}), datetime.now(UTC) - timedelta(days=3)
    )
    bq.fail_list = True
    result = dg.materialize(_assets({})[:1], resources=_io(), partition_key="2025-11-03")
    assert result.success and sorted(bq.table("raw.t")["v"].to_list()) == [3, 30]
    assert bq.tables().count("raw._staging_t_0123456789ab") == 1  # left for a later write
    assert sum(r.path.endswith("/datasets/raw/tables") for r in bq.requests) == 1  # tried once
    bq.fail_list = False
    assert dg.materialize(_assets({})[:1], resources=_io(), partition_key="2025-11-04").success
    assert [t for t in bq.tables() if "_staging_" in t] == []


def test_stale_staging_tables_are_staging_names_older_than_the_limit() -> None:
    from datetime import timedelta

    from nba_assets.lib.storage.bigquery_io import stale_staging_tables

    now = datetime(2025, 11, 5, 12, tzinfo=UTC)
    tables = [
        ("_staging_t_0123456789ab", now - timedelta(hours=24, seconds=1)),
        ("_staging_t_0123456789ac", now - timedelta(hours=24)),  # exactly the limit: kept
        ("_staging_t_0123456789ad", None),  # age unknown: kept
        ("_staging_t_0123456789AB", now - timedelta(days=9)),  # not a uuid's hex: kept
        ("t", now - timedelta(days=9)),
    ]
    assert stale_staging_tables(tables, now, hours=24) == ["_staging_t_0123456789ab"]


def test_a_sweep_cut_off_by_the_network_does_not_fail_the_write(bq, monkeypatch) -> None:
    """The sweep's requests are not retried (_ONCE), so a dropped connection or a read timeout of its
    listing reaches the write as the transport's own exception (requests', not a GoogleAPIError): it is
    housekeeping all the same, logged and left to a later write."""
    import requests

    def cut(dataset: str) -> tuple[int, dict[str, str], str]:
        raise requests.exceptions.ConnectionError("Connection reset by peer")

    monkeypatch.setattr(bq, "_list_tables", cut)
    result = dg.materialize(_assets({})[:1], resources=_io(), partition_key="2025-11-03")
    assert result.success and sorted(bq.table("raw.t")["v"].to_list()) == [3, 30]


REFUSED = "Permission bigquery.readsessions.create denied on resource project p (or it may not exist)"


def _expected_read(day: date) -> pl.DataFrame:
    """What asset u loads of raw/t's partition ``day`` (t's default rows), with t's column types."""
    return pl.DataFrame(
        {
            "game_date": [day, day],
            "v": [day.day, day.day * 10],
            "report_time_et": [datetime(2025, 11, 3, 17, 30)] * 2,
            "snapshot_utc": [datetime(2025, 11, 3, 22, 0, tzinfo=UTC)] * 2,
            "sources": [{"pts_avg_l10": "box_scores"}] * 2,
            "books": [["fanduel", "draftkings"]] * 2,
        },
        schema=SCHEMA,
    )


def _warnings(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    import logging

    return [e.user_message for e in instance.all_logs(run_id) if e.level == logging.WARNING]


@pytest.mark.parametrize("refused", [False, True])
def test_reads_use_the_storage_read_api_and_fall_back_to_rest_when_refused(bq, refused) -> None:
    """A read asks the client for a Storage Read API client and streams the result table through it. A
    service account without bigquery.readsessions.create gets PermissionDenied from the read session:
    the client library does not fall back on its own, so the read is done again over REST, with one
    warning naming the table and the permission, and the same frame."""
    from polars.testing import assert_frame_equal

    state: dict = {}
    bq.storage.refuse = REFUSED if refused else None
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(_assets(state), resources=_io(), partition_key="2025-11-03", instance=instance)
    assert result.success
    assert_frame_equal(state["seen"].sort("v"), _expected_read(date(2025, 11, 3)))
    assert len(bq.storage_clients) == 1, "one read, one storage client"
    assert [s.split("/tables/")[0] for s in bq.storage.sessions] == ["projects/p/datasets/_anon"]
    read_warnings = [m for m in _warnings(instance, result.run_id) if "p.raw.t" in m]
    if refused:
        assert bq.storage.reads == []
        assert len(read_warnings) == 1
        assert "bigquery.readsessions.create" in read_warnings[0]
        assert "roles/bigquery.readSessionUser" in read_warnings[0]
    else:
        assert len(bq.storage.reads) == 2, "both streams read"
        assert read_warnings == []


def test_the_frame_is_the_same_over_the_storage_read_api_and_over_rest(bq) -> None:
    """The same partition read both ways: same rows, same column types (DATE, DATETIME without the
    client's extension tag, TIMESTAMP UTC, RECORD, REPEATED)."""
    from polars.testing import assert_frame_equal

    state: dict = {}
    assets = _assets(state)
    assert dg.materialize(assets, resources=_io(), partition_key="2025-11-03").success
    fast = state.pop("seen")
    assert len(bq.storage.sessions) == 1 and bq.storage.reads
    bq.storage.refuse = REFUSED
    assert dg.materialize(assets, resources=_io(), partition_key="2025-11-03").success
    rest = state.pop("seen")
    assert len(bq.storage.sessions) == 2
    assert fast.schema == rest.schema == SCHEMA
    assert_frame_equal(fast.sort("v"), rest.sort("v"))


def test_a_read_session_on_a_vanished_result_is_not_a_missing_table(bq) -> None:
    """Only the query's notFound means the table was never created; a notFound from the Storage Read API
    (e.g. the query's result table expired) fails the read with BigQuery's error, not with "never
    materialized"."""
    state: dict = {}
    assets = _assets(state)
    assert dg.materialize(assets[:1], resources=_io(), partition_key="2025-11-03").success
    original = bq.result_table
    bq.result_table = lambda table: None  # every result table is gone when its session is created
    result = dg.materialize(
        assets, resources=_io(), partition_key="2025-11-03", selection=[assets[1]], raise_on_error=False
    )
    bq.result_table = original
    assert not result.success
    error = failure_text(result, "mart__u")
    assert "Not found: Table projects/p/datasets/_anon/tables/anon" in error
    assert "does not exist" not in error and "never materialized" not in error


def test_only_a_refused_read_session_falls_back_to_rest() -> None:
    """The fallback is for the Storage Read API's gRPC PermissionDenied. A REST 403 (Forbidden: the
    account may not read the data at all) is raised as it is, without a warning that would blame the
    read session and without a second read that can only fail the same way."""
    import pyarrow as pa
    from google.api_core.exceptions import Forbidden, PermissionDenied

    from nba_assets.lib.storage.bigquery_io import read_rows

    rest = pa.table({"v": [1, 2]})

    class Rows:  # RowIterator.to_arrow's signature (google-cloud-bigquery 3.47)
        def __init__(self, error: Exception) -> None:
            self.error = error
            self.timeouts: list[float | None] = []

        def to_arrow(
            self,
            progress_bar_type: str | None = None,
            bqstorage_client: object = None,
            create_bqstorage_client: bool = True,
            timeout: float | None = None,
        ) -> pa.Table:
            self.timeouts.append(timeout)
            if create_bqstorage_client:
                raise self.error
            return rest

    class Job:
        def __init__(self, error: Exception) -> None:
            self.error = error
            self.reads = 0

        def result(self, timeout: float | None = None) -> Rows:
            self.reads += 1
            self.rest = Rows(self.error)
            return self.rest

    warned: list[str] = []
    job = Job(PermissionDenied(REFUSED))
    fast = Rows(job.error)
    assert read_rows(job, fast, "p.raw.t", 30.0, warned.append).equals(rest)  # type: ignore[arg-type]
    assert job.reads == 1 and len(warned) == 1 and "bigquery.readsessions.create" in warned[0]
    # both downloads are bounded by the read's timeout (to_arrow's default, None, waits for ever)
    assert fast.timeouts == [30.0] and job.rest.timeouts == [30.0]

    warned.clear()
    job = Job(Forbidden("Access Denied: Table p:raw.t: User does not have permission to query table"))
    with pytest.raises(Forbidden, match="Access Denied"):
        read_rows(job, Rows(job.error), "p.raw.t", None, warned.append)  # type: ignore[arg-type]
    assert job.reads == 0 and warned == []


def test_every_request_of_the_prod_warehouse_has_a_time_limit(bq, monkeypatch) -> None:
    """google-cloud-bigquery waits for ever by default (DEFAULT_TIMEOUT None: requests gets timeout=None),
    and the prod resources give the IO manager no timeout: every request of a write and a read went out
    without a limit, so a dead connection hung the run. Now each has the IO manager's default limit,
    including dagster-gcp's CREATE SCHEMA, which passed none at all."""
    from nba_assets.defs.resources_prod import build_prod_resources
    from nba_assets.lib.env import Settings

    monkeypatch.setenv("NBA_ASSETS_GCP_PROJECT", "p")
    io_manager = build_prod_resources(Settings(env="prod"))["io_manager"]
    assert dg.materialize(
        _assets({}), resources={"io_manager": io_manager}, partition_key="2025-11-03"
    ).success
    # CREATE SCHEMA, tables.get, tables.list, the load, the swap, the staging drop, the read's query
    assert {r.method for r in bq.requests} == {"POST", "GET", "LOAD", "DELETE"}
    assert [(r.method, r.path, r.timeout) for r in bq.requests if r.timeout != TIMEOUT_SECONDS] == []
    assert 0 < TIMEOUT_SECONDS < 3600


def _stalled_io(seconds: float = 0.3) -> dict[str, NbaPolarsBigQueryIOManager]:
    return {"io_manager": NbaPolarsBigQueryIOManager(project="p", location="US", timeout=seconds)}


def _job_ids(fake: FakeBigQuery, kind: str) -> list[str]:
    """Ids of the jobs ``kind`` ("load" or "query") the fake created, in order."""
    return [
        j["resource"]["jobReference"]["jobId"]
        for j in fake.jobs.values()
        if kind in j["resource"]["configuration"]
    ]


@pytest.mark.parametrize(
    ("stall", "operation", "kind", "node"),
    [
        ("LOAD", "staging 2 rows for p.raw.t (game_date 2025-11-03) timed out", "load", "raw__t"),
        (
            "BEGIN TRANSACTION",
            "replacing the slice of p.raw.t (game_date 2025-11-03) timed out",
            "query",
            "raw__t",
        ),
        ("SELECT * FROM `p.raw.t`", "reading p.raw.t (game_date 2025-11-03) timed out", "query", "mart__u"),
        ("CREATE SCHEMA IF NOT EXISTS raw", "creating dataset raw timed out", "query", "raw__t"),
    ],
)
def test_a_job_that_outlives_its_timeout_is_cancelled_and_named(bq, stall, operation, kind, node) -> None:
    """A load, swap or read job that never finishes: the client library raises a bare TimeoutError from
    result() and leaves the job running in BigQuery. The job is cancelled and the step fails naming the
    operation, the table, the partition, the job id and the timeout; the table keeps its rows."""
    state: dict = {}
    assets = _assets(state)
    assert dg.materialize(assets[:1], resources=_io(), partition_key="2025-11-03").success
    bq.stall = stall
    state["values"] = [7, 8]
    result = dg.materialize(assets, resources=_stalled_io(), partition_key="2025-11-03", raise_on_error=False)
    assert not result.success
    stalled = [
        job_id for job_id in _job_ids(bq, kind) if bq.jobs[job_id]["resource"]["status"].get("errorResult")
    ]
    assert bq.cancels == stalled and len(stalled) == 1, "the stalled job, and only it, was cancelled"
    error = failure_text(result, node)
    assert operation in error
    assert f"BigQuery job {stalled[0]} did not finish within 0.3 s" in error
    assert "BigQuery stopped it (Job execution was cancelled: User requested cancellation)" in error
    assert sorted(bq.table("raw.t")["v"].to_list()) == ([3, 30] if node == "raw__t" else [7, 8])
    assert [t for t in bq.tables() if "_staging_" in t] == []


def test_a_failed_cancel_is_logged_and_the_timeout_is_the_error(bq) -> None:
    """Cancelling is best effort: a cancel request that fails is a warning naming the job, and the step
    fails with the timeout (not with the cancel's error)."""
    t = _assets({})[:1]
    bq.stall, bq.fail_cancel = "BEGIN TRANSACTION", True
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        t, resources=_stalled_io(), partition_key="2025-11-03", raise_on_error=False, instance=instance
    )
    assert not result.success and len(bq.cancels) == 1
    error = failure_text(result, "raw__t")
    assert f"BigQuery job {bq.cancels[0]} did not finish within 0.3 s" in error
    assert "cancelling it failed" in error and "so it may still run" in error
    warnings = [m for m in _warnings(instance, result.run_id) if "could not cancel" in m]
    assert len(warnings) == 1 and bq.cancels[0] in warnings[0]


@pytest.mark.parametrize("late_commit", [False, True])
def test_a_retried_write_after_a_timed_out_swap_leaves_one_batch(bq, late_commit) -> None:
    """The first attempt's swap stalls and is cancelled: BigQuery stops it before its COMMIT (the old
    rows stay) or the cancel comes too late and it commits (the first attempt's rows). Either way the
    step's retry swaps again, and the partition holds exactly the retry's rows: never both batches,
    never neither."""

    @dg.asset(
        key=["raw", "t"],
        partitions_def=parts,
        metadata={"partition_expr": "game_date"},
        retry_policy=dg.RetryPolicy(max_retries=1),
    )
    def t(context: dg.AssetExecutionContext) -> pl.DataFrame:
        values = [100 + context.retry_number, 200 + context.retry_number]  # each attempt its own batch
        return pl.DataFrame({"game_date": [date(2025, 11, 3)] * 2, "v": values})

    assert dg.materialize([t], resources=_io(), partition_key="2025-11-03").success  # batch [100, 200]
    bq.stall, bq.late_commit = "BEGIN TRANSACTION", late_commit
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([t], resources=_stalled_io(), partition_key="2025-11-03", instance=instance)
    assert result.success
    failures = [
        e
        for e in instance.all_logs(result.run_id)
        if e.dagster_event and e.dagster_event.is_step_up_for_retry
    ]
    assert len(failures) == 1, "the first attempt failed on the timeout and was retried"
    (swap,) = bq.cancels
    status = bq.jobs[swap]["resource"]["status"]
    assert status["state"] == "DONE" and bool(status.get("errorResult")) is not late_commit
    assert sorted(bq.table("raw.t")["v"].to_list()) == [101, 201]
    assert [t for t in bq.tables() if "_staging_" in t] == []


def test_slice_label_names_the_partitions() -> None:
    from dagster._core.storage.db_io_manager import TablePartitionDimension, TableSlice

    from nba_assets.lib.storage.bigquery_io import slice_label

    def window(start: str, end: str) -> TablePartitionDimension:
        return TablePartitionDimension(
            partition_expr="game_date",
            partitions=dg.TimeWindow(datetime.fromisoformat(start), datetime.fromisoformat(end)),
        )

    def label(*dims: TablePartitionDimension) -> str:
        return slice_label(TableSlice(table="t", schema="raw", database="p", partition_dimensions=dims))

    assert label() == ""
    assert label(window("2025-11-03", "2025-11-04")) == "game_date 2025-11-03"
    assert label(window("2025-11-01", "2025-11-05")) == "game_date 2025-11-01 to 2025-11-04"
    keys = TablePartitionDimension(partition_expr="season", partitions=["2024-25", "2025-26"])
    assert label(window("2025-11-03", "2025-11-04"), keys) == "game_date 2025-11-03; season 2024-25, 2025-26"


def _query_requests(fake: FakeBigQuery) -> list:
    """The requests creating a query job (jobs.insert), in order."""
    return [r for r in fake.requests if r.method == "POST" and r.path.endswith("/jobs") and r.body]


def _query_jobs(fake: FakeBigQuery) -> list[dict]:
    """The ``configuration.query`` of every query job the IO manager asked for (jobs.insert)."""
    return [r.body["configuration"]["query"] for r in _query_requests(fake)]


@pytest.mark.parametrize("setting", [None, "1234567890"])
def test_every_query_job_of_the_prod_warehouse_carries_the_cap_on_bytes_billed(
    bq, monkeypatch, setting
) -> None:
    """The stock manager and dagster-gcp set no maximumBytesBilled: a query that lost its partition
    filter billed without limit. Every query job (the dataset check, the swap, the read) now carries the
    cap, NBA_ASSETS_BIGQUERY_MAX_BYTES_BILLED or its default."""
    from nba_assets.defs.resources_prod import build_prod_resources
    from nba_assets.lib.env import BIGQUERY_MAX_BYTES_BILLED_DEFAULT, Settings

    monkeypatch.setenv("NBA_ASSETS_GCP_PROJECT", "p")
    environ = {"NBA_ASSETS_ENV": "prod"}
    if setting is not None:
        environ["NBA_ASSETS_BIGQUERY_MAX_BYTES_BILLED"] = setting
    io_manager = build_prod_resources(Settings.from_env(environ))["io_manager"]
    assert dg.materialize(
        _assets({}), resources={"io_manager": io_manager}, partition_key="2025-11-03"
    ).success
    jobs = _query_jobs(bq)
    kinds = [j["query"].split()[0] for j in jobs]
    assert sorted(set(kinds)) == ["CREATE", "SELECT"] and len(jobs) == 5  # 2 checks, 2 swaps, 1 read
    want = setting or str(BIGQUERY_MAX_BYTES_BILLED_DEFAULT)
    assert [j.get("maximumBytesBilled") for j in jobs] == [want] * len(jobs)


@pytest.mark.parametrize(
    ("billed", "node", "operation", "kept"),
    [
        (
            "BEGIN TRANSACTION",
            "raw__t",
            "BigQuery refused replacing the slice of p.raw.t (game_date 2025-11-03)",
            "the swap is one transaction, so p.raw.t keeps its previous rows",
        ),
        ("SELECT * FROM `p.raw.t`", "mart__u", "BigQuery refused reading p.raw.t (game_date 2025-11-03)", ""),
    ],
)
def test_a_query_refused_for_the_cap_names_the_slice_the_cap_and_the_setting(
    bq, billed, node, operation, kept
) -> None:
    """A query that would bill more than the cap is refused by BigQuery (bytesBilledLimitExceeded, which
    the client raises as a bare 500 InternalServerError): the step fails naming the operation, the table,
    the partition, the cap and the variable that raises it, the table keeps its rows, and the refusal is
    not retried as a concurrent update would be."""
    state: dict = {}
    assets = _assets(state)
    assert dg.materialize(assets[:1], resources=_io(), partition_key="2025-11-03").success
    swaps_before = sum("BEGIN TRANSACTION" in q for q in _queries(bq))
    bq.billed = {billed: 3 * 10**11}
    state["values"] = [7, 8]
    capped = {
        "io_manager": NbaPolarsBigQueryIOManager(project="p", location="US", maximum_bytes_billed=10**9)
    }
    result = dg.materialize(assets, resources=capped, partition_key="2025-11-03", raise_on_error=False)
    assert not result.success
    error = failure_text(result, node)
    assert operation in error
    assert "would bill more than 1000000000 bytes" in error and "maximum_bytes_billed" in error
    assert "raise NBA_ASSETS_BIGQUERY_MAX_BYTES_BILLED" in error
    assert "Query exceeded limit for bytes billed: 1000000000. 300000000000 or higher required." in error
    assert kept in error
    assert sorted(bq.table("raw.t")["v"].to_list()) == ([3, 30] if node == "raw__t" else [7, 8])
    assert sum("BEGIN TRANSACTION" in q for q in _queries(bq)) == swaps_before + 1, "refused once"
    assert [t for t in bq.tables() if "_staging_" in t] == []


def test_the_cap_on_bytes_billed_is_a_setting_with_a_default_and_clear_errors() -> None:
    from nba_assets.lib.env import BIGQUERY_MAX_BYTES_BILLED_DEFAULT, Settings

    var = "NBA_ASSETS_BIGQUERY_MAX_BYTES_BILLED"
    assert Settings.from_env({}).bigquery_max_bytes_billed == BIGQUERY_MAX_BYTES_BILLED_DEFAULT
    assert Settings.from_env({var: ""}).bigquery_max_bytes_billed == BIGQUERY_MAX_BYTES_BILLED_DEFAULT
    assert Settings.from_env({var: " 5000000000 "}).bigquery_max_bytes_billed == 5_000_000_000
    for bad in ("200GB", "0", "-1"):
        with pytest.raises(
            ValueError, match=rf"{var} must be a whole number of bytes \(above 0\), got '{bad}'"
        ):
            Settings.from_env({var: bad})


@pytest.fixture
def clock(bq, monkeypatch):
    """The retries' clock, virtual: a lost answer waits out the IO manager's timeout (900 s) on it."""
    from nba_assets_tests.fake_bigquery import VirtualClock

    virtual = VirtualClock()
    virtual.install(monkeypatch)
    bq.clock = virtual
    return virtual


def _creating(fake: FakeBigQuery, text: str) -> list:
    """The requests creating a job whose query contains ``text`` ("LOAD": the loads' uploads)."""
    if text == "LOAD":
        return [r for r in fake.requests if r.method == "LOAD"]
    return [r for r in _query_requests(fake) if text in r.body["configuration"]["query"]["query"]]


@pytest.mark.parametrize(
    ("lost", "operation", "node", "attempts", "left"),
    [
        ("LOAD", "staging 2 rows for p.raw.t (game_date 2025-11-03)", "raw__t", 3, "p.raw.t was not touched"),
        (
            "BEGIN TRANSACTION",
            "replacing the slice of p.raw.t (game_date 2025-11-03)",
            "raw__t",
            1,
            "the swap is one transaction, so p.raw.t holds its previous rows or the new ones",
        ),
        (
            "SELECT * FROM `p.raw.t`",
            "reading p.raw.t (game_date 2025-11-03)",
            "mart__u",
            1,
            "a read changes nothing",
        ),
        (
            "CREATE SCHEMA IF NOT EXISTS raw",
            "creating dataset raw",
            "raw__t",
            1,
            "changes nothing a second time",
        ),
    ],
)
def test_a_request_creating_a_job_that_times_out_names_the_slice_and_says_a_retry_is_safe(
    bq, clock, lost, operation, node, attempts, left
) -> None:
    """Every answer to the request creating the job is lost, at the prod timeout (900 s, on a virtual
    clock). The client does not retry a query's jobs.insert past its 600 s retry deadline (one request,
    then a RetryError the write reported as "failed, keeps its previous rows"), and retries a load's upload
    (6 more times by default, UPLOAD_RETRIES = 2 here: 3 attempts, 45 min at the prod timeout), then raises requests' ReadTimeout bare. Either way the step now fails naming the
    operation, table, partition and timeout, says the job may exist and that a retry is safe."""
    state: dict = {}
    assets = _assets(state)
    assert dg.materialize(assets[:1], resources=_io(), partition_key="2025-11-03").success
    before = len(_creating(bq, lost))
    bq.lose_reply, bq.lost_replies = lost, 99
    state["values"] = [7, 8]
    result = dg.materialize(assets, resources=_io(), partition_key="2025-11-03", raise_on_error=False)
    assert not result.success
    error = failure_text(result, node)
    assert f"{operation} timed out before its BigQuery job was known" in error
    assert f"got no answer within {TIMEOUT_SECONDS} s (the IO manager's timeout)" in error
    assert "may or may not have created it, and it may still run" in error
    assert left in error and "Retrying the step is safe." in error
    assert len(_creating(bq, lost)) - before == attempts
    assert sorted(bq.table("raw.t")["v"].to_list()) == ([3, 30] if node == "raw__t" else [7, 8])
    assert [t for t in bq.tables() if "_staging_" in t] == []


@pytest.mark.parametrize("applied", [False, True])
def test_a_retried_write_after_a_lost_swap_request_leaves_the_retrys_rows(bq, clock, applied) -> None:
    """What "retrying is safe" rests on: the answer to the swap's jobs.insert is lost, after BigQuery
    created the job and it committed (applied) or before it did anything. The step's retry stages its
    own rows and swaps again: the partition holds exactly the retry's rows, never two batches."""
    batches: list[int] = []

    @dg.asset(
        key=["raw", "t"],
        partitions_def=parts,
        metadata={"partition_expr": "game_date"},
        retry_policy=dg.RetryPolicy(max_retries=1),
    )
    def t() -> pl.DataFrame:
        batches.append(len(batches))  # each attempt its own batch: [100, 200], [101, 201], ...
        return pl.DataFrame(
            {"game_date": [date(2025, 11, 3)] * 2, "v": [100 + batches[-1], 200 + batches[-1]]}
        )

    assert dg.materialize([t], resources=_io(), partition_key="2025-11-03").success
    bq.lose_reply, bq.applied_before_loss = "BEGIN TRANSACTION", applied
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([t], resources=_io(), partition_key="2025-11-03", instance=instance)
    assert result.success and bq.lost_replies == 0
    retried = [
        e
        for e in instance.all_logs(result.run_id)
        if e.dagster_event and e.dagster_event.is_step_up_for_retry
    ]
    assert len(retried) == 1, "the first attempt failed on the lost answer and was retried"
    assert sorted(bq.table("raw.t")["v"].to_list()) == [102, 202]
    assert [t for t in bq.tables() if "_staging_" in t] == []


def test_every_bigquery_client_the_io_manager_opens_is_closed(bq, monkeypatch) -> None:
    """dagster-gcp opens a client per output and per input and never closes it (its HTTP session and
    pooled connections waited for the garbage collector). Each is now closed when the IO manager is done
    with it, a failed write's too."""
    from google.cloud import bigquery

    opened: list[int] = []
    closed: list[int] = []
    init, close = bigquery.Client.__init__, bigquery.Client.close

    def spy_init(self, *args, **kwargs) -> None:
        opened.append(id(self))
        init(self, *args, **kwargs)

    def spy_close(self) -> None:
        closed.append(id(self))
        close(self)

    monkeypatch.setattr(bigquery.Client, "__init__", spy_init)
    monkeypatch.setattr(bigquery.Client, "close", spy_close)
    state: dict = {}
    assets = _assets(state)
    assert dg.materialize(assets, resources=_io(), partition_key="2025-11-03").success
    assert len(opened) == 3, "t's output, u's input, u's output"
    bq.fail_statement = "INSERT INTO"
    assert not dg.materialize(
        assets[:1], resources=_io(), partition_key="2025-11-04", raise_on_error=False
    ).success
    assert len(opened) == 4 and sorted(closed) == sorted(opened)


def test_the_drift_hint_names_the_table_as_the_bq_command_does() -> None:
    assert bq_cli_table("p.raw.t") == "p:raw.t"
    # a domain-scoped project keeps its colon and dots (it read "example:com:proj.raw.t")
    assert bq_cli_table("example.com:proj.raw.t") == "example.com:proj:raw.t"


def test_a_job_whose_state_cannot_be_read_is_not_reported_as_failed_with_the_old_rows() -> None:
    """Polling a swap's job can end in api_core's RetryError (its state requests kept failing) while the
    job runs on: the step fails saying its outcome is not known and what the swap guarantees, after
    asking BigQuery to cancel it; it used to pass up as the swap's failure, "keeps its previous rows"."""
    from google.api_core.exceptions import RetryError, ServiceUnavailable

    class Job:
        job_id, state, error_result = "job-1", "RUNNING", None
        cancelled = False

        def result(self, timeout: float | None = None) -> None:
            raise RetryError("Deadline of 600.0s exceeded", ServiceUnavailable("jobs.get 503"))

        def cancel(self, retry: object = None, timeout: float | None = None) -> None:
            Job.cancelled = True

    warnings: list[str] = []
    after = "; the swap is one transaction, so p.raw.t holds its previous rows or the new ones"
    with pytest.raises(dg.Failure) as failure:
        wait_for_job(Job(), 60.0, "replacing the slice of p.raw.t", warnings.append, after)
    message = str(failure.value.description)
    assert "asking BigQuery for job job-1's state kept failing" in message and "not known" in message
    assert "cancel requested (BigQuery reported it RUNNING)" in message and message.endswith(after)
    assert Job.cancelled and "keeps its previous rows" not in message
