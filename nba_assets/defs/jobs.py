"""Jobs: named selections of the asset graph. Partitioned jobs run a partition range as one run."""

from __future__ import annotations

import dagster as dg

from nba_assets.defs.automation.freshness import freshness_checks

RAW = dg.AssetSelection.groups("raw")
# The per-date jobs select the context tables only: the staging views (no rows, changing only with the dbt
# project) are built by the context run when the warehouse lacks them or holds another project version's.
CONTEXT = dg.AssetSelection.groups("context")
FEATURES = dg.AssetSelection.groups("features")
# Jobs leave the predictions freshness check out: it judges today's partition at the 11:30 ET deadline
# and its sensor evaluates it then. Run with a job, it judged every run of any date against the clock
# (a backfill of past dates, the main job on the archive, a morning slate before the deadline), so it
# failed, and alerted, on runs that did what they were asked.
PREDICTIONS = dg.AssetSelection.groups("predictions") - dg.AssetSelection.checks(*freshness_checks)
GRADING = dg.AssetSelection.groups("grading")
MODELS = dg.AssetSelection.groups("models")
REPORTS = dg.AssetSelection.groups("reports")
READY = dg.AssetSelection.checks(
    dg.AssetCheckKey(dg.AssetKey(["raw", "box_scores"]), "box_scores_ready_for_grading")
)
PRE_GAME_RAW = dg.AssetSelection.assets(
    ["raw", "schedule"], ["raw", "injury_report"], ["raw", "player_props"]
)


def max_runtime(hours: float) -> dict[str, str]:
    """Tags failing a run of the job that is still going after ``hours``. The live sources, dbt and the
    warehouse each have their own time limits, but a run that hangs anyway (a stuck worker, a query or a
    lock nothing times out) would hold its pool slot, stall the daily runs queued behind it and alert
    nobody. Run monitoring (``deploy/dagster.yaml``) fails it once over the limit, and ``alerts_sensor``
    alerts on the failure. Set on the jobs the schedules and sensors launch, each a few times its
    longest expected run; the layer jobs, which a person runs over long ranges, have none."""
    return {"dagster/max_runtime": str(int(hours * 3600))}


ingest_raw_job = dg.define_asset_job(
    "ingest_raw_job",
    # Grading readiness is the overnight and grade jobs' gate. It records one evaluation per date, and on
    # the local SQLite event log each costs ~70 ms: the main job's 1,130-date history ingest took 117 s
    # with it instead of 37 s. A recent date ingested here without it is "never ran" to the catch-up sensor,
    # which runs the overnight job for it.
    selection=RAW - READY,
    description="Schedule, injury report, box scores and points lines for the selected game dates (grading "
    "readiness is judged by the overnight and grade jobs).",
)
build_context_job = dg.define_asset_job(
    "build_context_job",
    selection=CONTEXT,
    description="dbt context models (and the staging views when they are missing or stale).",
)
build_features_job = dg.define_asset_job(
    "build_features_job",
    selection=FEATURES,
    description="The feature store.",
)
predict_job = dg.define_asset_job(
    "predict_job",
    selection=PREDICTIONS,
    description="Predictions with the champion model.",
)
grade_job = dg.define_asset_job(
    "grade_job",
    tags=max_runtime(2),
    selection=READY | GRADING,
    description="Grading readiness (blocking), then grades and system performance.",
)
system_performance_job = dg.define_asset_job(
    "system_performance_job",
    tags=max_runtime(2),
    selection=dg.AssetSelection.assets(["grading", "system_performance"]),
    description="Performance by system and tier (and the model-vs-baselines check) recomputed from the stored "
    "grades; launched by system_performance_refresh_sensor over the dates a regrade left stale.",
)
morning_slate_job = dg.define_asset_job(
    "morning_slate_job",
    tags=max_runtime(2),
    selection=PRE_GAME_RAW | CONTEXT | FEATURES | PREDICTIONS | REPORTS,
    description="Today's slate: schedule, injuries, lines, context, features, predictions and the day's "
    "report (picks CSV/JSON + HTML, with the record graded so far).",
)
refresh_lines_job = dg.define_asset_job(
    "refresh_lines_job",
    tags=max_runtime(1),
    selection=dg.AssetSelection.assets(["raw", "injury_report"], ["raw", "player_props"])
    | CONTEXT
    | FEATURES
    | PREDICTIONS
    | REPORTS,
    description="Re-read lines and injuries for today, re-predict and rewrite today's report (launched only "
    "when lines moved).",
)
overnight_box_scores_job = dg.define_asset_job(
    "overnight_box_scores_job",
    tags=max_runtime(2),
    # context is rebuilt with the final box scores (the morning slate built D's context before tip-off),
    # so the features of the next dates see D's games, and D's features are rebuilt with the finals so
    # they hold D's training rows (target_pts): without them the weekly retrain never learns from a game
    # played after deployment. A failed box-score check stops it.
    selection=dg.AssetSelection.assets(["raw", "schedule"], ["raw", "box_scores"])
    | READY
    | CONTEXT
    | FEATURES,
    description="Yesterday's final scores and box scores, the grading readiness check, and the context "
    "tables and features rebuilt with the finals (the training rows of the weekly retrain).",
)
report_job = dg.define_asset_job(
    "report_job",
    selection=REPORTS,
    description="The day's picks (CSV, JSON) and HTML report from D's predictions and the grades before D, "
    "in the object store under reports/<D>/ (run it after predict_job and the grading of D-1).",
)
weekly_retrain_job = dg.define_asset_job(
    "weekly_retrain_job",
    selection=MODELS,
    tags=max_runtime(3),
    description="Train a candidate; promote through the gate.",
)

jobs = [
    ingest_raw_job,
    build_context_job,
    build_features_job,
    predict_job,
    grade_job,
    system_performance_job,
    morning_slate_job,
    refresh_lines_job,
    overnight_box_scores_job,
    report_job,
    weekly_retrain_job,
]
