"""Game-date partitions: one per ET calendar day, reaching today so today's slate is a partition."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import dagster as dg
import polars as pl

FIRST_GAME_DATE = "2022-10-18"
GAME_TZ = "America/New_York"

game_date_partitions = dg.DailyPartitionsDefinition(
    start_date=FIRST_GAME_DATE, timezone=GAME_TZ, end_offset=1
)


def validate_partition_key(key: str) -> date:
    """A partition key as a date, or a ValueError naming it (keys are used as query parameters)."""
    try:
        return date.fromisoformat(key)
    except (TypeError, ValueError):
        raise ValueError(f"partition key {key!r} is not a YYYY-MM-DD game date") from None


RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
# Who launched a run (a schedule, a sensor, `nba-assets main`): the UI's run list tells them apart by
# it; a retrain also carries its training cutoff.
TRIGGER_TAG = "nba_assets/trigger"
CUTOFF_TAG = "nba_assets/cutoff"


def empty_range_message(start: str, end: str) -> str:
    """What a run whose partition range holds no date is told (``--partition-range START...END`` of
    ``dagster asset materialize`` sets the two tags; Dagster checks each key but not their order)."""
    return (
        f"partition range {start}...{end} holds no game date: its end is before its start "
        f"(run tags {RANGE_START_TAG}={start!r}, {RANGE_END_TAG}={end!r}); give the earlier date first"
    )


def dates_of(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> list[date]:
    """Every game date of the run's partition range (a single-run backfill covers many). A reversed
    range (``--partition-range 2025-11-05...2025-11-01``) holds none: it is refused, naming the range,
    instead of a run that succeeds having written nothing."""
    keys = context.partition_keys
    if not keys:
        tags = context.run.tags
        raise ValueError(empty_range_message(tags.get(RANGE_START_TAG, "?"), tags.get(RANGE_END_TAG, "?")))
    return [validate_partition_key(k) for k in keys]


def record_partition_row_counts(
    context: dg.AssetExecutionContext, frame: pl.DataFrame, column: str = "game_date"
) -> None:
    """Give each partition of a range run its own ``dagster/row_count`` (its rows of ``frame``).

    A single-run backfill writes one materialization per partition, and Dagster copies the output's
    metadata to every one of them: without this, each date of a 1,130-date raw run showed the run's
    4,186 games as its row count (the UI's partition view and its row-count plot). Output metadata
    other than the row count still describes the run's whole range (its ``dates`` say how many)."""
    if len(context.partition_keys) <= 1:  # the output's count is the partition's
        return
    counts: dict[str, int] = {}
    if frame.height and column in frame.columns:
        per_day = frame.group_by(column).len()
        counts = {str(day): int(n) for day, n in per_day.iter_rows()}
    add_partition_row_counts(context, counts)


def add_partition_metadata(
    context: dg.AssetExecutionContext,
    by_partition: Mapping[str, Mapping[str, Any]],
    output_metadata: dict[str, Any],
) -> None:
    """Give each partition its own entries (``by_partition``: partition key -> entries; a key absent gets
    none). A one-partition run puts them in ``output_metadata`` (the output's metadata is the
    partition's); a range run records one materialization per partition and Dagster copies the output's
    metadata to each, so there they go on each partition's own materialization (every date of a range
    otherwise showed the last date's)."""
    if len(context.partition_keys) <= 1:
        for entries in by_partition.values():
            output_metadata.update(entries)
        return
    for key, entries in by_partition.items():
        context.add_asset_metadata(dict(entries), partition_key=key)


def add_partition_row_counts(
    context: dg.AssetExecutionContext, counts: Mapping[str, int], asset_key: dg.AssetKey | None = None
) -> None:
    """``dagster/row_count`` of each partition of the run from ``counts`` (partition key -> rows; a key
    absent has none), on ``asset_key`` (default: the asset's own)."""
    for key in context.partition_keys:
        context.add_asset_metadata(
            {"dagster/row_count": counts.get(key, 0)}, asset_key=asset_key, partition_key=key
        )
