"""predictions/player_points_predictions: every real line x every system, with a call and a reason."""

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg
import polars as pl

from nba_assets.defs.check_results import check_result
from nba_assets.defs.partitions import (
    add_partition_metadata,
    dates_of,
    game_date_partitions,
    record_partition_row_counts,
)
from nba_assets.defs.resources import ObjectStoreResource
from nba_assets.lib import publications
from nba_assets.lib.modeling import checks as pchecks
from nba_assets.lib.reports import picks_preview

KEY = dg.AssetKey(["predictions", "player_points_predictions"])
CHECKS = ("player_points_predictions_every_line_answered", "player_points_predictions_not_all_fallbacks")


def utc_now() -> datetime:
    """When the calls are published (tests stand it before a tip-off)."""
    return datetime.now(UTC)


def _result(name: str, outcome: Any) -> dg.AssetCheckResult:
    return check_result(KEY, name, outcome)


@dg.asset(
    key=KEY,
    group_name="predictions",
    description="Per player x posted line (alternates too) x system: predicted points, calibrated P(over), edge, "
    "OVER/UNDER/PASS/NO_LINE, confidence tier, actionable flag and skip reason. Each date uses the newest model "
    "whose cutoff is on or before it. The calls of games not yet tipped off are also kept as published, "
    "immutably, in the object store (publications/<D>/), for grading.",
    partitions_def=game_date_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="duckdb",
    kinds={"catboost", "polars", "duckdb"},
    metadata={"partition_expr": "game_date"},
    ins={
        "features": dg.AssetIn(key=["features", "player_features"]),
        "props": dg.AssetIn(key=["raw", "player_props"]),
    },
    # the model comes from the registry in the object store (the newest promoted version whose cutoff is on
    # or before each date); the warehouse's table of versions is upstream only so a retrain runs first
    deps=[dg.AssetKey(["models", "points_model"])],
    check_specs=[
        dg.AssetCheckSpec(
            CHECKS[0],
            asset=KEY,
            blocking=True,
            description="Every resolved line has a row per system with a prediction or a skip reason.",
        ),
        dg.AssetCheckSpec(
            CHECKS[1],
            asset=KEY,
            description="Not (nearly) every line is a fallback (low quality / no feature row / no scheduled game).",
        ),
    ],
)
def player_points_predictions(
    context: dg.AssetExecutionContext,
    features: pl.DataFrame,
    props: pl.DataFrame,
    object_store: ObjectStoreResource,
) -> Iterator[Any]:
    # CatBoost (and the pandas it imports, ~1 s) only in the process that predicts
    from nba_assets.lib.modeling.predict import predict_dates
    from nba_assets.lib.modeling.registry import ModelRegistry
    from nba_assets.lib.modeling.train import PointsModel

    registry = ModelRegistry(object_store.get_store())
    used: dict[str, PointsModel] = {}
    served: dict[str, str] = {}  # partition key -> the version that predicted it

    def model_for(day: date) -> PointsModel:
        version = registry.version_for(day)
        if version is None:
            # a model trained without a cutoff has today's, which serves no past date
            raise dg.Failure(
                f"predictions: no promoted model with a cutoff on or before {day}; materialize "
                f"models/points_model with config cutoff {day} or earlier first"
            )
        if version not in used:
            used[version] = registry.load(version)
        served[day.isoformat()] = version
        return used[version]

    batch = predict_dates(props, features, dates_of(context), model_for)
    preds = batch.predictions
    record_partition_row_counts(context, preds)
    picks = preds.filter((pl.col("system") == "catboost") & pl.col("actionable") & pl.col("is_main_line"))
    answered = pchecks.every_line_answered(props, preds)
    # the calls of games still ahead, kept as published whatever a later run predicts (lib/publications);
    # none when the blocking check fails (the run's report is not written: nobody was shown them)
    now = utc_now()
    calls = publications.publishable(preds, props, now) if answered.passed else preds.clear()
    metadata: dict[str, Any] = {
        "dagster/row_count": preds.height,
        "players": preds["player_id"].n_unique(),
        "models_used": sorted(used),
        "skipped_player_dates": batch.skipped,
        # sorted: group_by's order is arbitrary, and the UI (and the row-order test) compares the text
        "calls_by_system": {
            s: int(n)
            for s, n in preds.filter(pl.col("actionable")).group_by("system").len().sort("system").iter_rows()
        },
        "picks_catboost_main_lines": picks.height,
        # 0 for a run after the games' tip-offs (a backfill): nothing it says could have been acted on;
        # an observation of each date's partition logged after its snapshot is written says
        # "calls_published"
        "calls_to_publish": calls.height,
        "picks": dg.MetadataValue.md(picks_preview(picks)),
    }
    # which version predicted each date: a range run's other entries describe the whole range (its
    # "models_used" lists every version of it), so a date served by an older model is told apart from
    # the dates a later one predicted
    add_partition_metadata(context, {day: {"model_version": v} for day, v in served.items()}, metadata)
    yield dg.Output(preds, metadata=metadata)
    # written once the output is stored: a run whose warehouse write failed published nothing; a failed
    # snapshot write fails the run before the observation, so "calls_published" counts only stored calls
    written = publications.write_snapshots(object_store.get_store(), calls, now, context.run_id)
    for day, n in written.items():  # none for a backfill of past dates
        context.log_event(dg.AssetObservation(asset_key=KEY, partition=day, metadata={"calls_published": n}))
    yield _result(CHECKS[0], answered)
    yield _result(CHECKS[1], pchecks.not_all_fallbacks(preds))


prediction_assets = [player_points_predictions]
