"""features/player_features: the feature vector per player-game, from games before D only."""

from collections.abc import Iterator
from typing import Any

import dagster as dg
import polars as pl

from nba_assets.defs.check_results import check_result
from nba_assets.defs.partitions import dates_of, game_date_partitions, record_partition_row_counts
from nba_assets.lib.features import store
from nba_assets.lib.features.catalog import markdown as features_markdown
from nba_assets.lib.storage.duckdb_io import MISSING_TABLE_IS_EMPTY

KEY = dg.AssetKey(["features", "player_features"])
_history = dg.TimeWindowPartitionMapping(
    start_offset=-store.HISTORY_DAYS, end_offset=0, allow_nonexistent_upstream_partitions=True
)
# the schedule of the dates D's features look back on (the history check's)
_days_before = dg.TimeWindowPartitionMapping(
    start_offset=-store.HISTORY_CHECK_DAYS, end_offset=-1, allow_nonexistent_upstream_partitions=True
)
CHECKS = (
    "player_features_no_look_ahead",
    "player_features_history_current",
    "player_features_quality_distribution",
    "player_features_null_share",
)


def _result(name: str, outcome: Any) -> dg.AssetCheckResult:
    return check_result(KEY, name, outcome)


@dg.asset(
    key=KEY,
    group_name="features",
    description="The feature vector (see docs/FEATURES.md) for every expected player-game on D and, on past dates, "
    "every player who played (training rows with target_pts). Built only from games before D.",
    partitions_def=game_date_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="duckdb",
    kinds={"polars", "duckdb"},
    metadata={"partition_expr": "game_date", "features": dg.MetadataValue.md(features_markdown())},
    ins={
        "player_games": dg.AssetIn(key=["context", "player_game_summary"], partition_mapping=_history),
        "team_games": dg.AssetIn(key=["context", "team_game_summary"], partition_mapping=_history),
        "expected": dg.AssetIn(key=["context", "player_game_context"]),
        # no injury report written yet (a fresh warehouse's overnight run writes none): no statuses
        "injuries": dg.AssetIn(key=["raw", "injury_report"], metadata={MISSING_TABLE_IS_EMPTY: True}),
        "schedule_before": dg.AssetIn(
            key=["raw", "schedule"], partition_mapping=_days_before, metadata={MISSING_TABLE_IS_EMPTY: True}
        ),
    },
    check_specs=[
        dg.AssetCheckSpec(
            "player_features_no_look_ahead",
            asset=KEY,
            blocking=True,
            description="Every feature's newest source game is before D.",
        ),
        dg.AssetCheckSpec(
            "player_features_history_current",
            asset=KEY,
            blocking=True,
            description=f"Every game scheduled in the {store.HISTORY_CHECK_DAYS} days before D has its box "
            "scores in the history D's features read (a failed or late overnight run would leave D's rest, "
            "back-to-back and last-game features stale); stale_slate_sensor re-runs today's slate once "
            "they are written.",
        ),
        dg.AssetCheckSpec(
            "player_features_quality_distribution",
            asset=KEY,
            description="Share of expected rows below the quality threshold.",
        ),
        dg.AssetCheckSpec(
            "player_features_null_share",
            asset=KEY,
            description="No nulls; no feature falls back to its default too often.",
        ),
    ],
)
def player_features(
    context: dg.AssetExecutionContext,
    player_games: pl.DataFrame,
    team_games: pl.DataFrame,
    expected: pl.DataFrame,
    injuries: pl.DataFrame,
    schedule_before: pl.DataFrame,
) -> Iterator[Any]:
    dates = dates_of(context)
    rows = store.feature_rows(dates, expected, player_games, team_games, injuries)
    exp = rows.filter(pl.col("is_expected")) if rows.height else rows
    record_partition_row_counts(context, rows)
    yield dg.Output(
        rows,
        metadata={
            "dagster/row_count": rows.height,
            "expected_rows": exp.height,
            "training_rows": rows.filter(pl.col("played")).height if rows.height else 0,
            "quality_mean_expected": round(float(exp["quality"].mean()), 1) if exp.height else 0.0,  # type: ignore[arg-type]
            "history_rows_read": player_games.height,
            "default_share": store.default_shares(rows) if rows.height else {},
            "preview": dg.MetadataValue.md(store.expected_preview(exp)),
        },
    )
    if rows.is_empty():
        for name in CHECKS:
            yield dg.AssetCheckResult(
                asset_key=KEY, check_name=name, passed=True, metadata={"note": "no games on these dates"}
            )
        return
    yield _result("player_features_no_look_ahead", store.check_no_look_ahead(rows))
    yield _result(
        "player_features_history_current", store.check_history_current(dates, schedule_before, team_games)
    )
    yield _result("player_features_quality_distribution", store.check_quality(rows))
    yield _result("player_features_null_share", store.check_null_share(rows))


feature_assets = [player_features]
