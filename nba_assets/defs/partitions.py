"""Game-date partitions: one per ET calendar day, reaching today so today's slate is a partition."""

from __future__ import annotations

from datetime import date

import dagster as dg

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


def dates_of(context: dg.AssetExecutionContext) -> list[date]:
    """Every game date of the run's partition range (a single-run backfill covers many)."""
    keys = context.partition_keys
    return [validate_partition_key(k) for k in keys]
