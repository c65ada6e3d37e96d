"""Load (slow): whole-season raw backfills against the embedded archive.

* The 2024-25 season (regular season and postseason) backfilled in one run: every raw table's rows
  match the archive exactly, per date.
* The development window 2025-10-21 .. 2025-11-20 replayed one run per day leaves exactly the rows of a
  single range run (all four raw tables, every column).

Only the raw layer is covered here (the layers above have their own backfill tests).
"""

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from nba_assets.defs.raw.assets import raw_assets
from nba_assets.defs.resources import build_resources
from nba_assets.lib.env import Settings
from nba_assets.lib.sources.archive import DEFAULT_ARCHIVE_DIR, ArchiveSource
from nba_assets_tests.test_reliability_support import (
    add,
    reliability_figures,  # noqa: F401 (session fixture: prints the suite's figures)
)

TABLES = ("schedule", "box_scores", "player_props", "injury_report")


def _job(settings: Settings) -> dg.JobDefinition:
    defs = dg.Definitions(
        assets=raw_assets,
        jobs=[dg.define_asset_job("raw_job", selection=dg.AssetSelection.groups("raw"))],
        resources=build_resources(settings),
    )
    return defs.resolve_job_def("raw_job")


def _run_range(job: dg.JobDefinition, instance: dg.DagsterInstance, start: date, end: date) -> bool:
    tags = {
        "dagster/asset_partition_range_start": start.isoformat(),
        "dagster/asset_partition_range_end": end.isoformat(),
    }
    result = job.execute_in_process(instance=instance, tags=tags, raise_on_error=False)
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            print(
                f"{start} .. {end}: {event.step_key} failed: {event.event_specific_data.error.message[:500]}"
            )
    return result.success


def _table(db: Path, table: str) -> pl.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql(f"SELECT * FROM raw.{table} ORDER BY ALL").pl()


@pytest.mark.slow
def test_season_2024_25_backfill_matches_the_archive(tmp_path: Path) -> None:
    games = pl.read_parquet(DEFAULT_ARCHIVE_DIR / "games.parquet").filter(pl.col("season") == "2024-25")
    start, end = games["game_date"].min(), games["game_date"].max()
    in_range = pl.read_parquet(DEFAULT_ARCHIVE_DIR / "games.parquet").filter(
        pl.col("game_date").is_between(start, end)
    )
    box = pl.read_parquet(DEFAULT_ARCHIVE_DIR / "box_scores.parquet").filter(
        pl.col("game_id").is_in(in_range["game_id"].to_list())
    )
    settings = Settings(data_dir=tmp_path)
    t0 = time.perf_counter()
    with dg.DagsterInstance.ephemeral() as instance:
        assert _run_range(_job(settings), instance, start, end)
        runs = len(instance.get_run_records())
    wall = time.perf_counter() - t0
    db = settings.warehouse_path
    schedule, stored_box = _table(db, "schedule"), _table(db, "box_scores")
    per_date = lambda f: dict(f.group_by("game_date").len().iter_rows())  # noqa: E731
    assert runs == 1
    assert schedule.height == in_range.height and per_date(schedule) == per_date(in_range)
    assert set(schedule["status"]) == {"final"}
    assert stored_box.height == box.height and per_date(stored_box) == per_date(box)
    assert stored_box.select("game_id", "player_id").is_duplicated().sum() == 0
    assert _table(db, "player_props").height == 0  # the archive's lines start on 2025-10-21
    lost = in_range.height - schedule.height + box.height - stored_box.height
    add("rows_lost", max(lost, 0))
    days = (end - start).days + 1
    print(
        f"\n2024-25 raw backfill {start} .. {end}: {days} partitions in {runs} run, "
        f"{schedule.height:,} games, {stored_box.height:,} box-score rows, {wall:.1f}s wall"
    )


@pytest.mark.slow
def test_day_by_day_replay_equals_one_range_run(tmp_path: Path) -> None:
    start, end = date(2025, 10, 21), date(2025, 11, 20)
    single, daily = Settings(data_dir=tmp_path / "single"), Settings(data_dir=tmp_path / "daily")
    single.data_dir.mkdir()
    daily.data_dir.mkdir()
    t0 = time.perf_counter()
    with dg.DagsterInstance.ephemeral() as instance:
        assert _run_range(_job(single), instance, start, end)
    t_single = time.perf_counter() - t0
    t0 = time.perf_counter()
    job = _job(daily)
    day = start
    with dg.DagsterInstance.ephemeral() as instance:
        while day <= end:
            assert _run_range(job, instance, day, day), day
            day += timedelta(days=1)
    t_daily = time.perf_counter() - t0
    summary = []
    for table in TABLES:
        a, b = _table(single.warehouse_path, table), _table(daily.warehouse_path, table)
        diff = a.height - b.height
        add("duplicates", max(-diff, 0))
        add("rows_lost", max(diff, 0))
        assert a.equals(b), f"{table}: {a.height} rows in one run vs {b.height} day by day"
        summary.append(f"{table} {a.height:,}")
    expected_games = (
        ArchiveSource()
        .schedule([start + timedelta(days=i) for i in range((end - start).days + 1)], datetime.now(UTC))
        .frame.height
    )
    assert _table(single.warehouse_path, "schedule").height == expected_games
    print(
        f"\n{start} .. {end}: 31 daily runs ({t_daily:.0f}s) == one range run ({t_single:.0f}s): "
        + ", ".join(summary)
    )
