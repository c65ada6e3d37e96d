"""Freshness: today's predictions must exist before the first tip-off.

A last-update freshness check on ``predictions/player_points_predictions`` with a daily deadline of
18:30 ET (before the usual first tip-off at 19:00; the 10:00 slate and the line refreshes write it): the
predictions must have been written within the 9 hours before the deadline (from 09:30 ET), else the
check fails and the alerts sensor reports it. Dagster's freshness sensor evaluates it.
"""

from datetime import timedelta

import dagster as dg

PREDICTIONS = dg.AssetKey(["predictions", "player_points_predictions"])
DEADLINE_CRON = "30 18 * * *"  # 18:30 ET
WINDOW = timedelta(hours=9)

freshness_checks = dg.build_last_update_freshness_checks(
    assets=[PREDICTIONS],
    lower_bound_delta=WINDOW,
    deadline_cron=DEADLINE_CRON,
    timezone="America/New_York",
)
freshness_sensor = dg.build_sensor_for_freshness_checks(
    freshness_checks=freshness_checks,
    name="predictions_freshness_sensor",
    minimum_interval_seconds=15 * 60,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
