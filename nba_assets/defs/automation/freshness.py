"""Freshness: today's predictions must exist before the first tip-off.

A time-partition freshness check on ``predictions/player_points_predictions`` with a daily deadline of
11:30 ET: "by late morning" (DESIGN s1), 90 minutes after the 10:00 slate that writes it, and before any
first tip-off (noon on Christmas Day; weekend slates start in the afternoon: 6 of the 31 dates of
2025-10-21..11-20 tipped off before 18:30, the earliest at 14:10). From 11:30 ET on, the game-date
partition of today (the last partition as of the deadline; partitions reach today) must have been
materialized, else the check fails naming that date ("We expected partition 2025-11-21 to have
arrived") and the alerts sensor reports it. Before the deadline, yesterday's partition is the one due.
A write of any other date, such as a backfill of past predictions, does not count: a last-update check
(the newest write of any partition) passed on one and hid a missing morning slate. Until 2026-12-06 the
deadline was 18:30 ET, after the first tip-off of those 6 dates: a failed slate was reported once
their games had started.

The morning slate runs every day, games or not (a date without games gets empty partitions), so a
missing partition means the slate did not run or failed. Dagster's freshness sensor evaluates the check.
"""

import dagster as dg

PREDICTIONS = dg.AssetKey(["predictions", "player_points_predictions"])
DEADLINE_CRON = "30 11 * * *"  # 11:30 ET

freshness_checks = dg.build_time_partition_freshness_checks(
    assets=[PREDICTIONS],
    deadline_cron=DEADLINE_CRON,
    timezone="America/New_York",
    severity=dg.AssetCheckSeverity.WARN,
)
freshness_sensor = dg.build_sensor_for_freshness_checks(
    freshness_checks=freshness_checks,
    name="predictions_freshness_sensor",
    minimum_interval_seconds=15 * 60,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
