"""Grading: every prediction of D against D's box scores, and performance by system and tier."""

from collections.abc import Iterator
from typing import Any

import dagster as dg
import polars as pl

from nba_assets.defs.check_results import check_result, partitioned_check_results
from nba_assets.defs.partitions import dates_of, game_date_partitions, record_partition_row_counts
from nba_assets.defs.resources import ObjectStoreResource
from nba_assets.lib import exports, grading, publications
from nba_assets.lib.metadata import markdown_table
from nba_assets.lib.storage.duckdb_io import MISSING_TABLE_IS_EMPTY

BOX = dg.AssetKey(["raw", "box_scores"])
GRADES = dg.AssetKey(["grading", "prediction_grades"])
PERF = dg.AssetKey(["grading", "system_performance"])
PUBLISHED = dg.AssetKey(["grading", "published_grades"])
READY = "box_scores_ready_for_grading"
MODEL_CHECK = "system_performance_model_not_worse_than_baselines"
# grading/system_performance of D reads D and the GRADES_LOOKBACK_DAYS before it (its season window)
LOOKBACK = dg.TimeWindowPartitionMapping(
    start_offset=-grading.GRADES_LOOKBACK_DAYS, end_offset=0, allow_nonexistent_upstream_partitions=True
)


# Dagster types a check's body as returning one AssetCheckResult; a partitioned check yields one
# evaluation per date (which it runs)
@dg.asset_check(  # type: ignore[arg-type]
    asset=BOX,
    name=READY,
    blocking=True,
    partitions_def=game_date_partitions,
    description="All of D's games are final (or postponed: their lines are void) and every final game has its "
    "box score with both teams' players, whose points add up to each team's final score: grading may run.",
    additional_ins={"schedule_rows": dg.AssetIn(key=["raw", "schedule"])},
    pool="duckdb",
)
def box_scores_ready_for_grading(
    context: dg.AssetCheckExecutionContext, box_scores: pl.DataFrame, schedule_rows: pl.DataFrame
) -> Iterator[dg.Output | dg.AssetCheckEvaluation]:
    # one evaluation per date, a range run's too: the sensors read readiness per date
    days = dates_of(context)
    yield from partitioned_check_results(context, grading.readiness_by_date(schedule_rows, box_scores, days))


# What the grading assets read of D: its predictions, box scores, schedule and injury report.
GRADING_INS = {
    # nothing predicted yet (a fresh deployment's first overnight run is graded before any morning
    # slate ran): no rows to grade
    "predictions": dg.AssetIn(
        key=["predictions", "player_points_predictions"], metadata={MISSING_TABLE_IS_EMPTY: True}
    ),
    "box_scores": dg.AssetIn(key=BOX),
    "schedule_rows": dg.AssetIn(key=["raw", "schedule"]),
    # no injury report written yet (a fresh warehouse's overnight run writes none): no statuses
    "injuries": dg.AssetIn(key=["raw", "injury_report"], metadata={MISSING_TABLE_IS_EMPTY: True}),
}


def _require_ready(schedule_rows: pl.DataFrame, box_scores: pl.DataFrame) -> None:
    """The blocking readiness check stops grading in a run that includes it; this guards any other run."""
    ready = grading.readiness(schedule_rows, box_scores)
    if not ready.passed:
        raise dg.Failure(
            "grading: the day is not ready (games not final, box scores missing or not adding up to the "
            "final scores)",
            metadata=ready.metadata,
        )


@dg.asset(
    key=GRADES,
    group_name="grading",
    description="Each prediction of D graded against D's box scores: actual points and minutes, errors, "
    "WIN/LOSS/PUSH on the recommended side, VOID (with the pre-game injury status when known), profit at the offered price: "
    "the final calls (grading/published_grades grades them as first published).",
    partitions_def=game_date_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="duckdb",
    kinds={"polars", "duckdb"},
    metadata={"partition_expr": "game_date"},
    ins=GRADING_INS,
    check_specs=[
        dg.AssetCheckSpec(
            "prediction_grades_graded_share",
            asset=GRADES,
            description="At least 80% of the player-dates with a line were graded on points, not VOID.",
        )
    ],
)
def prediction_grades(
    context: dg.AssetExecutionContext,
    predictions: pl.DataFrame,
    box_scores: pl.DataFrame,
    schedule_rows: pl.DataFrame,
    injuries: pl.DataFrame,
) -> Iterator[Any]:
    _require_ready(schedule_rows, box_scores)
    grades = grading.grade(predictions, box_scores, injuries, schedule_rows)
    record_partition_row_counts(context, grades)
    # main lines, as every other record counts them (alternates are priced far from even)
    record = {
        r["system"]: f"{r['wins']}-{r['losses']}"
        for r in grading.bet_record(grades.filter(pl.col("is_main_line")), ["system"]).iter_rows(named=True)
    }
    yield dg.Output(
        grades,
        metadata={
            "dagster/row_count": grades.height,
            "dates": len(dates_of(context)),
            "record_by_system": record,
            "results": dict(grades.group_by("result").len().sort("result").iter_rows()),
            "voids": grades.filter(pl.col("result") == "VOID").select("player_id").n_unique(),
        },
    )
    yield check_result(GRADES, "prediction_grades_graded_share", grading.graded_share(grades))


@dg.asset(
    key=PUBLISHED,
    group_name="grading",
    description="D's calls as first published before tip-off (the immutable snapshots the predictions wrote, "
    "publications/<D>/), each graded like the final calls, with its closing line, its closing-line value and "
    "whether a later run withdrew it: the record of what users were shown, which the final calls' record can "
    "flatter (a call the line moved against is withdrawn, so never graded there). Empty for a date nothing was "
    "published for before tip-off (a backfill).",
    partitions_def=game_date_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="duckdb",
    kinds={"polars", "duckdb"},
    metadata={"partition_expr": "game_date"},
    ins={
        # the final calls (a first publication not among them was withdrawn) and what grades them
        **GRADING_INS,
        # every snapshot of D's lines: each published call's closing line (none written yet on a fresh
        # warehouse's first overnight run: no lines)
        "props": dg.AssetIn(key=["raw", "player_props"], metadata={MISSING_TABLE_IS_EMPTY: True}),
    },
)
def published_grades(
    context: dg.AssetExecutionContext,
    predictions: pl.DataFrame,
    box_scores: pl.DataFrame,
    schedule_rows: pl.DataFrame,
    injuries: pl.DataFrame,
    props: pl.DataFrame,
    object_store: ObjectStoreResource,
) -> dg.Output[pl.DataFrame]:
    _require_ready(schedule_rows, box_scores)
    graded = publications.published_grades(
        object_store.get_store(), dates_of(context), predictions, box_scores, injuries, schedule_rows, props
    )
    record_partition_row_counts(context, graded)
    return dg.Output(
        graded,
        metadata={
            "dagster/row_count": graded.height,
            "published_record_by_system": publications.published_record(graded),
        },
    )


@dg.asset(
    key=PERF,
    group_name="grading",
    description="Per system and confidence tier: n, hit rate, MAE, the line's MAE on the same rows, bias, ROI at the "
    "offered prices, for the day and rolling 7 / 30 days and season to date; in its metadata, the calls as first "
    "published (grading/published_grades) over the rolling 30 days and the season.",
    partitions_def=game_date_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="duckdb",
    kinds={"polars", "duckdb"},
    metadata={"partition_expr": "game_date"},
    ins={
        "grades": dg.AssetIn(key=GRADES, partition_mapping=LOOKBACK),
        # nothing graded as published yet (a deployment's first grading ran before this asset existed)
        "published": dg.AssetIn(
            key=PUBLISHED, partition_mapping=LOOKBACK, metadata={MISSING_TABLE_IS_EMPTY: True}
        ),
    },
    check_specs=[
        dg.AssetCheckSpec(
            MODEL_CHECK,
            asset=PERF,
            description="On the rolling 30 days, catboost's MAE is no worse than the better baseline's on the "
            "same player-dates (the model has not drifted below the baselines).",
        )
    ],
)
def system_performance(
    context: dg.AssetExecutionContext, grades: pl.DataFrame, published: pl.DataFrame
) -> Iterator[Any]:
    frames = [grading.performance(grades, day) for day in dates_of(context)]
    perf = pl.concat(frames) if frames else grading.performance(grades.clear(), dates_of(context)[0])
    record_partition_row_counts(context, perf)
    last = perf.filter(pl.col("game_date") == perf["game_date"].max()) if perf.height else perf
    plots = exports.performance_plots(grades, dates_of(context)[-1])
    published_perf = publications.published_performance(published, dates_of(context)[-1])
    yield dg.Output(
        perf,
        metadata={
            "dagster/row_count": perf.height,
            "season_by_system": dg.MetadataValue.md(
                markdown_table(
                    last.filter((pl.col("window") == "season") & (pl.col("tier") == "all")),
                    10,
                    ["system", "n", "mae", "line_mae", "bets", "hit_rate", "roi"],
                )
            ),
            # the calls as first published before tip-off, over the last 30 days and the season
            "published_by_system": dg.MetadataValue.md(
                markdown_table(published_perf, 20)
                if published_perf.height
                else publications.NOTHING_PUBLISHED
            ),
            # season to date through the run's last date, bets on main lines
            **{name: dg.MetadataValue.md(md) for name, md in plots.items()},
        },
    )
    yield check_result(PERF, MODEL_CHECK, grading.model_not_worse_than_baselines(perf))


grading_assets = [prediction_grades, published_grades, system_performance]
grading_checks = [box_scores_ready_for_grading]
