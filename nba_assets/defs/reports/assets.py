"""reports/daily_report: the day's picks (CSV, JSON) and a self-contained HTML report in the object store."""

from typing import Any

import dagster as dg
import polars as pl

from nba_assets.defs.grading.assets import GRADES, PUBLISHED
from nba_assets.defs.partitions import add_partition_metadata, dates_of, game_date_partitions
from nba_assets.defs.resources import ObjectStoreResource
from nba_assets.lib import exports
from nba_assets.lib.storage.duckdb_io import MISSING_TABLE_IS_EMPTY

KEY = dg.AssetKey(["reports", "daily_report"])
PREDICTIONS = dg.AssetKey(["predictions", "player_points_predictions"])
# the grades before D: D's own games are not graded when its report is written
BEFORE_D = dg.TimeWindowPartitionMapping(
    start_offset=-exports.GRADES_WINDOW_DAYS, end_offset=-1, allow_nonexistent_upstream_partitions=True
)


def report_key(day: str, name: str) -> str:
    """``reports/<D>/<file>`` in the object store."""
    return f"reports/{day}/{name}"


@dg.asset(
    key=KEY,
    group_name="reports",
    description="The report of game date D: every line with its call or skip reason (picks.csv, picks.json) and "
    "report.html (no external resource): D's picks (catboost, catboost_line; main lines), the last graded day's "
    "record, rolling 7 / 30 days / season performance, the calls as first published (30 days, season), calibration "
    "and hit rate by tier, coverage. Written to the "
    "object store under reports/<D>/.",
    partitions_def=game_date_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="duckdb",
    kinds={"polars", "html"},
    ins={
        "predictions": dg.AssetIn(key=PREDICTIONS),
        # before the first grading run the tables do not exist: the report says "no graded bets yet"
        "grades": dg.AssetIn(key=GRADES, metadata={MISSING_TABLE_IS_EMPTY: True}, partition_mapping=BEFORE_D),
        "published": dg.AssetIn(
            key=PUBLISHED, metadata={MISSING_TABLE_IS_EMPTY: True}, partition_mapping=BEFORE_D
        ),
    },
)
def daily_report(
    context: dg.AssetExecutionContext,
    predictions: pl.DataFrame,
    grades: pl.DataFrame,
    published: pl.DataFrame,
    object_store: ObjectStoreResource,
) -> dg.MaterializeResult:
    store = object_store.get_store()
    # each written date's own entries (its files, counts and picks)
    reports: dict[str, dict[str, Any]] = {}
    without = []
    for day in dates_of(context):
        if predictions.is_empty() or predictions.filter(pl.col("game_date") == day).is_empty():
            without.append(day.isoformat())
            # a report written earlier for the date (its lines since pulled: a postponed slate) would go
            # on listing picks nobody can bet: it is replaced by one saying the date has no line
            if not store.exists(report_key(day.isoformat(), "report.html")):
                continue
        report = exports.build_daily_report(predictions, grades, day, published)
        paths = {
            name: store.put_bytes(report_key(day.isoformat(), name), data, content_type)
            for name, (data, content_type) in report.files().items()
        }
        reports[day.isoformat()] = _report_metadata(report, paths)
    if without:
        context.log.warning(f"no predictions (no games or lines) for {len(without)} date(s): {without[:10]}")
    metadata: dict[str, Any] = {"reports_written": len(reports), "dates_without_predictions": without}
    # in a range run every date linked the last date's report.html, picks and counts
    add_partition_metadata(context, reports, metadata)
    return dg.MaterializeResult(metadata=metadata)


def _report_metadata(report: exports.DailyReport, paths: dict[str, str]) -> dict[str, Any]:
    """The entries of one date's materialization: where its files are, its counts and picks."""
    return {
        "report_date": report.day.isoformat(),
        "html": dg.MetadataValue.path(paths["report.html"]),
        "csv": dg.MetadataValue.path(paths["picks.csv"]),
        "json": dg.MetadataValue.path(paths["picks.json"]),
        "lines": report.summary["lines"],
        "players": report.summary["players"],
        "picks_catboost": report.summary["picks"]["catboost"],
        "picks_catboost_line": report.summary["picks"]["catboost_line"],
        "last_graded_day": report.summary["last_graded_day"] or "",
        "graded_days": report.summary["graded_days"],
        "picks": dg.MetadataValue.md(report.picks_md),
    }


report_assets = [daily_report]
