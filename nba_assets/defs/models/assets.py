"""models/points_model: CatBoost trained walk-forward, every version kept, promoted only through the gate."""

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg
import polars as pl

from nba_assets.defs.check_results import check_result
from nba_assets.defs.executors import TRAINING_STEP_TAGS
from nba_assets.defs.resources import ObjectStoreResource
from nba_assets.lib.metadata import markdown_table
from nba_assets.lib.modeling.checks import training_history_current
from nba_assets.lib.modeling.config import MODEL, ModelConfig

KEY = dg.AssetKey(["models", "points_model"])
GATE = "points_model_candidate_beats_champion"
HISTORY = "points_model_training_history_current"


class TrainConfig(dg.Config):
    # Train on player-games before this ET date (YYYY-MM-DD); empty means today.
    cutoff: str = ""
    # Optional overrides of nba_assets.lib.modeling.config.MODEL (0 = the configured value).
    iterations: int = 0
    validation_min_rows: int = 0
    # (small, fast models for tests on a few weeks of history)
    validation_days: int = 0
    min_train_rows: int = 0

    def training_config(self) -> ModelConfig:
        changes: dict[str, Any] = {
            k: v
            for k, v in (
                ("iterations", self.iterations),
                ("validation_min_rows", self.validation_min_rows),
                ("validation_days", self.validation_days),
                ("min_train_rows", self.min_train_rows),
            )
            if v
        }
        return replace(MODEL, **changes)


def resolve_cutoff(value: str) -> date:
    if not value:
        return datetime.now(ZoneInfo("America/New_York")).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise dg.Failure(f"models/points_model: cutoff {value!r} is not a YYYY-MM-DD date") from None


@dg.asset(
    key=KEY,
    group_name="models",
    description="The line-blind CatBoost points model. Each materialization trains a candidate on every player-game "
    "before the cutoff, stores it (object store, with window, features, params, validation metrics) and promotes it only "
    "when its validation MAE is no worse than the champion's on the same rows. The table lists every version.",
    ins={"features": dg.AssetIn(key=["features", "player_features"])},
    kinds={"catboost", "polars"},
    pool="duckdb",
    # the pod's resources under the k8s executor (ignored by the others)
    op_tags=TRAINING_STEP_TAGS,
    check_specs=[
        dg.AssetCheckSpec(
            GATE,
            asset=KEY,
            blocking=True,
            description="Candidate's validation MAE <= champion's on the same rows.",
        ),
        dg.AssetCheckSpec(
            HISTORY,
            asset=KEY,
            description="Every game date of the feature store before the cutoff (but the last) holds training "
            "rows: the finals reached the feature store, so the candidate learned from the newest games.",
        ),
    ],
)
def points_model(
    context: dg.AssetExecutionContext,
    config: TrainConfig,
    features: pl.DataFrame,
    object_store: ObjectStoreResource,
) -> Iterator[Any]:
    cutoff = resolve_cutoff(config.cutoff)
    # CatBoost (and the pandas it imports, ~1 s) only in the process that trains
    from nba_assets.lib.modeling.registry import ModelRegistry
    from nba_assets.lib.modeling.train import promotion_gate, train_points_model

    registry = ModelRegistry(object_store.get_store())
    champion = registry.champion_for(cutoff)
    candidate = train_points_model(features, cutoff, config.training_config())
    gate = promotion_gate(candidate, champion, features)
    registry.save(candidate, gate.promote, gate.metadata)
    m = candidate.metrics
    versions = registry.versions_frame()
    yield dg.Output(
        versions,
        metadata={
            "candidate": candidate.version,
            "promoted": gate.promote,
            "champion": registry.champion_version() or "",
            "training_window": f"{candidate.train_start} .. {candidate.train_end}",
            "train_rows": m["train_rows"],
            "validation_rows": m["validation_rows"],
            "validation_mae": round(m["mae"], 3),
            "validation_mae_baseline_l10": round(m["mae_baseline_l10"], 3),
            "validation_mae_baseline_blend": round(m["mae_baseline_blend"], 3),
            # out of sample (cross-fitted over the validation dates); the in-sample figure flatters
            **(
                {"brier_out_of_sample": round(m["brier_out_of_sample"], 4)}
                if m["brier_out_of_sample"] is not None
                else {}
            ),
            "brier_calibrated_in_sample": round(m["brier_calibrated_in_sample"], 4),
            # what catboost's P(over) map was fitted on: the validation window's real consensus lines
            # ("real_lines") or, with too few of them, synthetic ones; and by which map
            "calibrated_on": m["calibrated_on"],
            "calibration_map": m["calibration_map"],
            "calibration_rows": m["calibration_rows"],
            "blend_weight": round(m["blend_weight"], 3),
            "features": len(candidate.features),
            # what the version was fitted with, as its meta.json in the registry holds them
            "feature_names": dg.MetadataValue.json(list(candidate.features)),
            "params": dg.MetadataValue.json(candidate.params),
            "reliability_out_of_sample": (
                dg.MetadataValue.md(markdown_table(pl.DataFrame(m["reliability_out_of_sample"]), 12))
                if m["reliability_out_of_sample"] is not None
                else "not measured: the validation window holds a single game date"
            ),
            "versions": dg.MetadataValue.md(markdown_table(versions.drop("gate"), 20)),
        },
    )
    yield dg.AssetCheckResult(
        asset_key=KEY,
        check_name=GATE,
        passed=gate.promote,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={k: v for k, v in gate.metadata.items() if v is not None},
    )
    yield check_result(KEY, HISTORY, training_history_current(features, cutoff))


model_assets = [points_model]
