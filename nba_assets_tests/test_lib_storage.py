"""The warehouse IO manager (duckdb 2.x input loading, transactions, empty partitions) and object stores."""

from datetime import date

import dagster as dg
import duckdb
import polars as pl
import pytest
from dagster_duckdb_polars import DuckDBPolarsIOManager

from nba_assets.lib.storage.duckdb_io import MISSING_TABLE_IS_EMPTY, NbaDuckDBIOManager
from nba_assets.lib.storage.object_store import LocalObjectStore, archive_payload, payload_key
from nba_assets_tests.fake_gcs import FakeGCSClient

parts = dg.DailyPartitionsDefinition(start_date="2025-11-01", timezone="America/New_York", end_offset=1)


def _frame(day: str, values: list[int]) -> pl.DataFrame:
    return pl.DataFrame(
        {"game_date": [date.fromisoformat(day)] * len(values), "v": values},
        schema={"game_date": pl.Date, "v": pl.Int64},
    )


def _defs(io_manager: dg.ConfigurableIOManagerFactory, fail: dict[str, bool]) -> list[dg.AssetsDefinition]:
    @dg.asset(
        key=["raw", "t"],
        partitions_def=parts,
        metadata={"partition_expr": "game_date"},
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def t(context: dg.AssetExecutionContext) -> pl.DataFrame:
        frames = [_frame(k, [int(k[-2:]), int(k[-2:]) * 10]) for k in context.partition_keys]
        return pl.concat(frames)

    @dg.asset(
        key=["mart", "u"],
        partitions_def=parts,
        metadata={"partition_expr": "game_date"},
        ins={"t": dg.AssetIn(key=["raw", "t"])},
    )
    def u(t: pl.DataFrame) -> pl.DataFrame:
        if fail.get("u"):
            raise RuntimeError("boom")
        return t.with_columns(w=pl.col("v") + 1)

    return [t, u]


def _rows(db: str, sql: str) -> list[tuple]:
    with duckdb.connect(db, read_only=True) as con:
        return con.execute(sql).fetchall()


def test_stock_polars_io_manager_breaks_on_duckdb_2_and_ours_loads(tmp_path) -> None:
    """Regression guard: if dagster-duckdb-polars starts working again this test says so."""
    db = str(tmp_path / "w.duckdb")
    assets = _defs(DuckDBPolarsIOManager(database=db), {})
    stock = dg.materialize(
        assets,
        resources={"io_manager": DuckDBPolarsIOManager(database=db)},
        partition_key="2025-11-03",
        raise_on_error=False,
    )
    if int(duckdb.__version__.split(".")[0]) >= 2:
        assert not stock.success, (
            "stock DuckDBPolarsIOManager loads inputs on duckdb 2.x again: drop the subclass"
        )
    ours = dg.materialize(
        assets,
        resources={"io_manager": NbaDuckDBIOManager(database=str(tmp_path / "o.duckdb"))},
        partition_key="2025-11-03",
    )
    assert ours.success
    assert _rows(str(tmp_path / "o.duckdb"), "select v, w from mart.u order by v") == [(3, 4), (30, 31)]


def test_partition_rewrite_is_idempotent_and_range_runs_once(tmp_path) -> None:
    db = str(tmp_path / "w.duckdb")
    res = {"io_manager": NbaDuckDBIOManager(database=db)}
    assets = _defs(NbaDuckDBIOManager(database=db), {})
    for _ in range(2):
        assert dg.materialize(assets[:1], resources=res, partition_key="2025-11-03").success
    assert _rows(db, "select count(*) from raw.t") == [(2,)]
    job = dg.define_asset_job("t_job", selection=[dg.AssetKey(["raw", "t"])]).resolve(
        asset_graph=dg.Definitions(assets=assets[:1]).resolve_asset_graph()
    )
    with dg.instance_for_test() as instance:
        r = job.execute_in_process(
            resources=res,
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": "2025-11-02",
                "dagster/asset_partition_range_end": "2025-11-04",
            },
        )
    assert r.success
    assert _rows(db, "select game_date::varchar, count(*) from raw.t group by 1 order by 1") == [
        ("2025-11-02", 2),
        ("2025-11-03", 2),
        ("2025-11-04", 2),
    ]


def test_failed_write_rolls_back_and_keeps_previous_rows(tmp_path, monkeypatch) -> None:
    from nba_assets.lib.storage import duckdb_io

    db = str(tmp_path / "w.duckdb")
    res = {"io_manager": NbaDuckDBIOManager(database=db)}
    assets = _defs(NbaDuckDBIOManager(database=db), {})
    assert dg.materialize(assets[:1], resources=res, partition_key="2025-11-03").success

    original = duckdb_io.PolarsDuckDBTypeHandler.handle_output

    def crash_after_delete(self, context, table_slice, obj, connection):
        # The slice delete has already run inside the transaction; die before the insert commits.
        raise RuntimeError("killed mid-write")

    monkeypatch.setattr(duckdb_io.PolarsDuckDBTypeHandler, "handle_output", crash_after_delete)
    assert not dg.materialize(
        assets[:1], resources=res, partition_key="2025-11-03", raise_on_error=False
    ).success
    monkeypatch.setattr(duckdb_io.PolarsDuckDBTypeHandler, "handle_output", original)
    assert _rows(db, "select v from raw.t order by v") == [(3,), (30,)]


def test_empty_frame_creates_table_and_clears_partition(tmp_path) -> None:
    db = str(tmp_path / "w.duckdb")
    state = {"empty": False}

    @dg.asset(key=["raw", "e"], partitions_def=parts, metadata={"partition_expr": "game_date"})
    def e(context: dg.AssetExecutionContext) -> pl.DataFrame:
        return _frame(context.partition_key, [] if state["empty"] else [1])

    res = {"io_manager": NbaDuckDBIOManager(database=db)}
    state["empty"] = True
    assert dg.materialize([e], resources=res, partition_key="2025-11-05").success
    assert _rows(db, "select count(*) from raw.e") == [(0,)]
    state["empty"] = False
    assert dg.materialize([e], resources=res, partition_key="2025-11-05").success
    state["empty"] = True
    assert dg.materialize([e], resources=res, partition_key="2025-11-05").success
    assert _rows(db, "select count(*) from raw.e") == [(0,)]


def test_unsafe_identifier_is_refused() -> None:
    from nba_assets.lib.storage.duckdb_io import ident

    with pytest.raises(ValueError, match="safe SQL identifier"):
        ident("x; drop table y")


def test_local_object_store_is_content_addressed_and_atomic(tmp_path) -> None:
    store = LocalObjectStore(tmp_path)
    k1 = archive_payload(store, "odds-api", "2025-11-05", b'{"a": 1}')
    k2 = archive_payload(store, "odds-api", "2025-11-05", b'{"a": 1}')
    assert k1 == k2 == payload_key("odds-api", "2025-11-05", b'{"a": 1}')
    assert k1.startswith("raw_payloads/odds-api/2025-11-05/") and k1.endswith(".json")
    assert store.get_bytes(k1) == b'{"a": 1}'
    assert store.list_keys("raw_payloads") == [k1]
    assert not list(tmp_path.rglob(".tmp-*"))
    with pytest.raises(ValueError):
        store.put_bytes("../escape", b"x")


def test_local_objects_get_the_mode_a_plain_open_gives(tmp_path) -> None:
    """mkstemp's 0600 made every object (the HTML reports too) unreadable to another account; a file
    written with open() under the same umask is the yardstick."""
    store = LocalObjectStore(tmp_path)
    store.put_bytes("reports/2025-11-05/report.html", b"<html></html>")
    (tmp_path / "plain.html").write_bytes(b"<html></html>")
    mode = (tmp_path / "reports/2025-11-05/report.html").stat().st_mode & 0o777
    assert mode == (tmp_path / "plain.html").stat().st_mode & 0o777


@pytest.mark.parametrize(("umask", "mode"), [("027", "0o640"), ("002", "0o664"), ("077", "0o600")])
def test_the_object_mode_follows_the_process_umask(umask: str, mode: str) -> None:
    import subprocess
    import sys

    code = "from nba_assets.lib.storage.object_store import FILE_MODE; print(oct(FILE_MODE))"
    got = subprocess.run(
        ["sh", "-c", f'umask {umask} && exec "$0" -c "$1"', sys.executable, code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert got.stdout.strip() == mode


def test_gcs_object_store_talks_to_the_bucket_api() -> None:
    from nba_assets.lib.storage.object_store import GCSObjectStore

    client = FakeGCSClient()
    store = GCSObjectStore(client, "nba-bucket", "prod")
    key = archive_payload(store, "nba-cdn", "2025-11-05", b"{}")
    assert store.uri(key) == f"gs://nba-bucket/prod/{key}"
    assert list(client.b.blobs) == [f"prod/{key}"]
    assert client.b.content_types[f"prod/{key}"] == "application/json"
    assert store.list_keys("raw_payloads") == [key]
    assert store.get_bytes(key) == b"{}"


@pytest.mark.parametrize("kind", ["local", "gcs"])
def test_listing_is_by_folder_and_the_lines_ledger_reads_back(tmp_path, kind) -> None:
    """The lines ledger lists ``lines_ledger/<D>/`` (a trailing slash): on GCS this raised before any
    request. A listing stops at folder boundaries (GCS matches plain string prefixes: ``prod`` also
    matches ``prod_old/``) and skips console folder placeholders."""
    from datetime import UTC, datetime

    from nba_assets.lib import schemas
    from nba_assets.lib.sources.live.source import lines_ledger_read, lines_ledger_write
    from nba_assets.lib.storage.object_store import GCSObjectStore

    if kind == "gcs":
        client = FakeGCSClient()
        client.b.blobs.update({"prod_old/lines_ledger/x.parquet": b"", "prod/lines_ledger/": b""})
        store = GCSObjectStore(client, "nba-bucket", "prod")
    else:
        store = LocalObjectStore(tmp_path)
    day = date(2025, 11, 5)
    snap = datetime(2025, 11, 5, 17, 0, tzinfo=UTC)
    row = {c: None for c in schemas.PROPS_SCHEMA}
    row.update(game_date=day, snapshot_utc=snap, player_name="A Player", bookmaker="fanduel", line=20.5)
    snapshot = schemas.conform(pl.DataFrame([row]), schemas.PROPS_SCHEMA, "test")
    key = lines_ledger_write(store, day, snapshot)
    assert key.endswith(".parquet")
    assert lines_ledger_read(store, day, snap)["line"].to_list() == [20.5]
    ledger = store.list_keys("lines_ledger/")
    assert ledger == store.list_keys("lines_ledger") and len(ledger) == 1
    assert ledger[0].startswith("lines_ledger/2025-11-05/")
    assert store.list_keys("lines") == []
    assert store.list_keys("") == ledger
    with pytest.raises(ValueError, match="not a safe relative path"):
        store.list_keys("../outside/")


def missing_table_assets(opt_in: bool) -> tuple[dg.AssetsDefinition, dg.AssetsDefinition]:
    """``raw/t`` (never materialized) and ``mart/u``, which reads it and counts its rows; ``opt_in``:
    the input declares a missing table legitimate. Shared by the DuckDB and BigQuery tests."""

    @dg.asset(key=["raw", "t"], partitions_def=parts, metadata={"partition_expr": "game_date"})
    def t() -> pl.DataFrame:
        raise AssertionError("never materialized in this test")

    @dg.asset(
        key=["mart", "u"],
        partitions_def=parts,
        metadata={"partition_expr": "game_date"},
        ins={"t": dg.AssetIn(key=["raw", "t"], metadata={MISSING_TABLE_IS_EMPTY: opt_in})},
    )
    def u(t: pl.DataFrame) -> pl.DataFrame:
        return pl.DataFrame({"game_date": [date(2025, 11, 3)], "n": [t.height]})

    return t, u


@pytest.mark.parametrize("opt_in", [False, True])
def test_a_never_created_table_fails_the_input_unless_the_input_opts_in(tmp_path, opt_in) -> None:
    """A missing upstream table is an error (no silent computing from nothing), except for an input
    that declares emptiness legitimate (the report's graded history before the first grading)."""
    db = str(tmp_path / "w.duckdb")
    t, u = missing_table_assets(opt_in)
    result = dg.materialize(
        [t, u],
        selection=[u],
        resources={"io_manager": NbaDuckDBIOManager(database=db)},
        partition_key="2025-11-03",
        raise_on_error=False,
    )
    assert result.success is opt_in
    if opt_in:
        assert _rows(db, "select n from mart.u") == [(0,)]
    else:
        failure = result.failure_data_for_node("mart__u")
        assert failure is not None and (
            "warehouse table raw.t does not exist: asset raw/t was never materialized"
            in failure.error.to_string()
        )


# ---------------------------------------------------------------- schema drift

BASE = {"game_date": pl.Date, "v": pl.Int64, "flag": pl.Boolean}
# (name, how the frame's columns change) -> the difference the failure names, locally and on BigQuery
DRIFT = {
    "float_into_int": ({"v": [1.7]}, "v: stored BIGINT, new DOUBLE", "v: stored INT64, new FLOAT64"),
    "string_into_bool": (
        {"flag": ["false"]},
        "flag: stored BOOLEAN, new VARCHAR",
        "flag: stored BOOL, new STRING",
    ),
    "int_widened_to_float": ({"v": [2.0]}, "v: stored BIGINT, new DOUBLE", "v: stored INT64, new FLOAT64"),
    "missing_column": (
        {"v": None},
        "v: stored BIGINT, missing from the new rows",
        "v: stored INT64, missing from the new rows",
    ),
    "extra_column": (
        {"extra": [5]},
        "extra: not in the table, new BIGINT",
        "extra: not in the table, new INT64",
    ),
}


def drift_asset(state: dict) -> dg.AssetsDefinition:
    """``raw/t``: one row of ``BASE`` per partition, changed by ``state["change"]`` (column -> values, or
    None to drop the column). Shared by the DuckDB and BigQuery tests."""

    @dg.asset(key=["raw", "t"], partitions_def=parts, metadata={"partition_expr": "game_date"})
    def t(context: dg.AssetExecutionContext) -> pl.DataFrame:
        day = date.fromisoformat(context.partition_key)
        columns: dict = {"game_date": [day], "v": [day.day], "flag": [True]}
        change = state.get("change", {})
        for name, values in change.items():
            if values is None:
                columns.pop(name)
            else:
                columns[name] = values
        kept = {k: v for k, v in BASE.items() if k in columns and k not in change}
        return pl.DataFrame(columns, schema_overrides=kept)

    return t


def failure_text(result: dg.ExecuteInProcessResult, node: str) -> str:
    failure = result.failure_data_for_node(node)
    assert failure is not None
    return failure.error.to_string()  # type: ignore[union-attr]


# rows outside the partition being written -> the date the failure names (a write deletes only its slice)
OUTSIDE = {
    "next_date": ({"game_date": [date(2025, 11, 5)]}, "2025-11-05"),
    "null_date": ({"game_date": pl.Series([None], dtype=pl.Date)}, "None"),
}


@pytest.mark.parametrize("case", list(OUTSIDE))
def test_rows_outside_the_partition_written_are_refused(tmp_path, case) -> None:
    """The write deletes the partition's dates and inserts the frame: a row of another date (or none)
    was inserted too, never deleted by a re-run of the partition, so each re-run added it once more
    (three runs of 2025-11-04 left three 2025-11-05 rows). Now the write fails naming the column and
    the date, and the partition keeps its rows."""
    db = str(tmp_path / "w.duckdb")
    state: dict = {}
    t = drift_asset(state)
    res = {"io_manager": NbaDuckDBIOManager(database=db)}
    assert dg.materialize([t], resources=res, partition_key="2025-11-04").success
    state["change"], named = OUTSIDE[case]
    for _ in range(2):
        result = dg.materialize([t], resources=res, partition_key="2025-11-04", raise_on_error=False)
        assert not result.success
        error = failure_text(result, "raw__t")
        assert "returned 1 row(s) for raw.t whose game_date is outside the partition(s) written" in error
        assert f"(2025-11-04 .. 2025-11-04): {named}" in error
    assert _rows(db, "select game_date::varchar, v from raw.t") == [("2025-11-04", 4)]


@pytest.mark.parametrize("case", list(DRIFT))
def test_a_partition_whose_columns_drifted_is_refused_and_the_table_kept(tmp_path, case) -> None:
    """INSERT ... BY NAME cast quietly: 1.7 into the BIGINT column was stored as 2, "false" as false, a
    missing column as NULL. Now the write fails naming each difference and how to migrate, and the
    partition keeps its rows (the slice's DELETE is rolled back)."""
    db = str(tmp_path / "w.duckdb")
    state: dict = {}
    t = drift_asset(state)
    res = {"io_manager": NbaDuckDBIOManager(database=db)}
    for key in ("2025-11-03", "2025-11-04"):
        assert dg.materialize([t], resources=res, partition_key=key).success
    state["change"] = DRIFT[case][0]
    for key in ("2025-11-04", "2025-11-05"):  # a rewrite and a new partition
        result = dg.materialize([t], resources=res, partition_key=key, raise_on_error=False)
        assert not result.success
        error = failure_text(result, "raw__t")
        assert "the rows of asset raw/t do not match the columns of table raw.t" in error
        assert DRIFT[case][1] in error and "DROP TABLE raw.t" in error and "backfill" in error
    assert _rows(db, "select game_date::varchar, v, flag from raw.t order by 1") == [
        ("2025-11-03", 3, True),
        ("2025-11-04", 4, True),
    ]
    assert _rows(db, "select data_type from information_schema.columns where table_name = 't'") == [
        ("DATE",),
        ("BIGINT",),
        ("BOOLEAN",),
    ]


def test_the_same_columns_in_another_order_and_an_empty_frame_still_write(tmp_path) -> None:
    """The check compares names and types, not order; an empty frame typed like the table matches."""
    db = str(tmp_path / "w.duckdb")
    state: dict = {}
    t = drift_asset(state)
    res = {"io_manager": NbaDuckDBIOManager(database=db)}
    assert dg.materialize([t], resources=res, partition_key="2025-11-03").success

    @dg.asset(key=["raw", "t"], partitions_def=parts, metadata={"partition_expr": "game_date"})
    def reordered(context: dg.AssetExecutionContext) -> pl.DataFrame:
        day = date.fromisoformat(context.partition_key)
        if state.get("empty"):
            return pl.DataFrame(schema={"flag": pl.Boolean, "v": pl.Int64, "game_date": pl.Date})
        return pl.DataFrame({"flag": [False], "v": [9], "game_date": [day]})

    assert dg.materialize([reordered], resources=res, partition_key="2025-11-04").success
    state["empty"] = True
    assert dg.materialize([reordered], resources=res, partition_key="2025-11-03").success
    assert _rows(db, "select game_date::varchar, v, flag from raw.t") == [("2025-11-04", 9, False)]


@pytest.mark.parametrize("table_exists_before", [False, True])
def test_a_column_without_a_type_is_refused(tmp_path, table_exists_before) -> None:
    """An all-None column is typed Null by polars: BigQuery has no such column type (the prod write
    fails), and DuckDB made a "NULL" column into which no later value casts. Refused on both."""
    db = str(tmp_path / "w.duckdb")
    state: dict = {}
    t = drift_asset(state)
    res = {"io_manager": NbaDuckDBIOManager(database=db)}
    if table_exists_before:
        assert dg.materialize([t], resources=res, partition_key="2025-11-03").success
    state["change"] = {"v": [None]}
    result = dg.materialize([t], resources=res, partition_key="2025-11-04", raise_on_error=False)
    assert not result.success
    assert "returned columns without a type for raw.t: v (Null)" in failure_text(result, "raw__t")
    if table_exists_before:
        assert _rows(db, "select game_date::varchar, v from raw.t") == [("2025-11-03", 3)]
    else:
        assert _rows(db, "select count(*) from information_schema.tables where table_name = 't'") == [(0,)]


def test_schema_drift_lists_every_difference() -> None:
    from nba_assets.lib.storage.schema_drift import has_null_type, schema_drift

    stored = {"game_date": "DATE", "v": "BIGINT", "w": "DOUBLE"}
    assert schema_drift(stored, {"w": "DOUBLE", "v": "BIGINT", "game_date": "DATE"}) == []
    assert schema_drift(stored, {"game_date": "DATE", "v": "DOUBLE", "x": "VARCHAR"}) == [
        "v: stored BIGINT, new DOUBLE",
        "w: stored DOUBLE, missing from the new rows",
        "x: not in the table, new VARCHAR",
    ]
    assert has_null_type(pl.List(pl.Struct({"a": pl.Null}))) and not has_null_type(pl.List(pl.Int64))
