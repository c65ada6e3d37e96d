"""Schedules, in ET. Each names its partition (or cutoff) explicitly from the tick's ET date.

``build_schedule_from_partitioned_job`` would give every daily job the newest partition, which with
``end_offset=1`` is the tick's own date: right for the morning slate, wrong for the overnight box
scores (yesterday). One explicit rule per schedule, in ``policy``, keeps both obvious and tested.
Dagster tags runs of a partition with ``dagster/partition``; the instance's tag concurrency limit on it
keeps the runs of one game date from overlapping.
"""

from datetime import time

import dagster as dg

from nba_assets.defs.automation.policy import (
    OVERNIGHT_TIME,
    RETRAIN_TIME,
    SLATE_TIME,
    overnight_partition,
    retrain_cutoff,
    slate_partition,
)
from nba_assets.defs.jobs import morning_slate_job, overnight_box_scores_job, weekly_retrain_job
from nba_assets.defs.partitions import CUTOFF_TAG, GAME_TZ, TRIGGER_TAG

GAME_DATE_TAG = "nba_assets/game_date"
RETRAIN_OP = "models__points_model"


def _daily(at: time) -> str:
    return f"{at.minute} {at.hour} * * *"


@dg.schedule(
    name="morning_slate_job_schedule",
    job=morning_slate_job,
    cron_schedule=_daily(SLATE_TIME),
    execution_timezone=GAME_TZ,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="10:00 ET: today's slate (schedule, injuries, lines, context, features, predictions, report).",
)
def morning_slate_job_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    day = slate_partition(context.scheduled_execution_time)
    return dg.RunRequest(
        run_key=f"morning_slate:{day}",
        partition_key=day,
        tags={TRIGGER_TAG: "morning_slate_job_schedule", GAME_DATE_TAG: day},
    )


@dg.schedule(
    name="overnight_box_scores_job_schedule",
    job=overnight_box_scores_job,
    cron_schedule=_daily(OVERNIGHT_TIME),
    execution_timezone=GAME_TZ,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="04:00 ET: yesterday's final scores, box scores and grading readiness; context and features rebuilt "
    "with the finals (the retrain's training rows).",
)
def overnight_box_scores_job_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    day = overnight_partition(context.scheduled_execution_time)
    return dg.RunRequest(
        run_key=f"overnight_box_scores:{day}",
        partition_key=day,
        tags={TRIGGER_TAG: "overnight_box_scores_job_schedule", GAME_DATE_TAG: day},
    )


@dg.schedule(
    name="weekly_retrain_job_schedule",
    job=weekly_retrain_job,
    cron_schedule=f"{RETRAIN_TIME.minute} {RETRAIN_TIME.hour} * * 1",
    execution_timezone=GAME_TZ,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Mondays 06:00 ET: train a candidate on every game before today; promote through the gate.",
)
def weekly_retrain_job_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    cutoff = retrain_cutoff(context.scheduled_execution_time)
    return retrain_request(cutoff, "weekly_retrain_job_schedule", run_key=f"weekly_retrain:{cutoff}")


def retrain_request(cutoff: str, trigger: str, run_key: str) -> dg.RunRequest:
    """A ``weekly_retrain_job`` run training on every game before ``cutoff`` (the schedule's and the
    model bootstrap sensor's)."""
    return dg.RunRequest(
        run_key=run_key,
        run_config={"ops": {RETRAIN_OP: {"config": {"cutoff": cutoff}}}},
        tags={TRIGGER_TAG: trigger, CUTOFF_TAG: cutoff},
    )


schedules = [morning_slate_job_schedule, overnight_box_scores_job_schedule, weekly_retrain_job_schedule]
