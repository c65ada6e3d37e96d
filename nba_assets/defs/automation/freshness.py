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
missing partition means the slate did not run or failed. Dagster's freshness sensor evaluates the check,
once more each day while it fails: Dagster's rules alone evaluate a failed check again only after a write
of the predictions, so a second day without them (the slate stuck in the queue, its schedule stopped)
was never judged, and the check stayed failed on the first day's date without a new alert.
"""

import dagster as dg
from dagster._time import get_current_datetime  # the clock the check itself reads

from nba_assets.defs.automation import policy
from nba_assets.defs.partitions import TRIGGER_TAG

PREDICTIONS = dg.AssetKey(["predictions", "player_points_predictions"])
DEADLINE_CRON = f"{policy.FRESHNESS_DEADLINE.minute} {policy.FRESHNESS_DEADLINE.hour} * * *"  # 11:30 ET
SENSOR_NAME = "predictions_freshness_sensor"

freshness_checks = dg.build_time_partition_freshness_checks(
    assets=[PREDICTIONS],
    deadline_cron=DEADLINE_CRON,
    timezone="America/New_York",
    severity=dg.AssetCheckSeverity.WARN,
)
# Dagster's rules: a check never evaluated, or one that passed and can be overdue again, or one that
# failed once the asset was written since
_dagster_rules = dg.build_sensor_for_freshness_checks(
    freshness_checks=freshness_checks, name=SENSOR_NAME, minimum_interval_seconds=15 * 60
)
CHECK_KEYS = [key for c in freshness_checks for key in c.check_keys]


def _failed_before(instance: dg.DagsterInstance, key: dg.AssetCheckKey, deadline: float) -> bool:
    """``key``'s latest evaluation failed before ``deadline`` (a timestamp) and none is under way."""
    summary = instance.event_log_storage.get_asset_check_summary_records([key])[key]
    last, done = summary.last_check_execution_record, summary.last_completed_check_execution_record
    if last is None or done is None or done.event is None:
        return False
    if last.id != done.id:  # planned since: wait for that run unless it has finished
        run = instance.get_run_by_id(last.run_id)
        if run is not None and not run.is_finished:
            return False
    evaluation = done.event.asset_check_evaluation
    return evaluation is not None and not evaluation.passed and done.event.timestamp < deadline


@dg.sensor(
    name=SENSOR_NAME,
    asset_selection=dg.AssetSelection.checks(*freshness_checks),
    minimum_interval_seconds=15 * 60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Evaluates the predictions freshness check when it can be overdue (Dagster's freshness "
    "sensor), and once more after each 11:30 ET deadline while it fails, so every day without today's "
    "predictions fails it anew, naming that day, and is alerted.",
)
def freshness_sensor(context: dg.SensorEvaluationContext) -> dg.RunRequest | dg.SkipReason | None:
    result = _dagster_rules(context)
    if isinstance(result, dg.RunRequest):
        return result.with_replaced_attrs(tags={**result.tags, TRIGGER_TAG: SENSOR_NAME})
    deadline = policy.last_freshness_deadline(get_current_datetime())
    due = [key for key in CHECK_KEYS if _failed_before(context.instance, key, deadline.timestamp())]
    if not due:
        return result if isinstance(result, dg.SkipReason) else None
    context.log.info(
        f"the freshness check failed before the {deadline:%Y-%m-%d %H:%M} ET deadline: evaluating it again"
    )
    return dg.RunRequest(
        asset_check_keys=due,
        run_key=f"predictions_freshness:{deadline.date().isoformat()}",
        tags={TRIGGER_TAG: SENSOR_NAME},
    )
