"""Predictions for one or more game dates: every real line x every system, then the decision rules."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from nba_assets.lib.modeling.baselines import baseline_predictions
from nba_assets.lib.modeling.config import DECISIONS, DecisionConfig
from nba_assets.lib.modeling.decisions import (
    PREDICTION_SCHEMA,
    book_lines,
    consensus,
    decide,
    empty_predictions,
)
from nba_assets.lib.modeling.distribution import raw_p_over
from nba_assets.lib.modeling.train import PointsModel


@dataclass
class PredictionBatch:
    predictions: pl.DataFrame
    skipped: dict[str, int]  # reason -> player-dates not predicted


def predict_lines(
    props: pl.DataFrame,
    features: pl.DataFrame,
    model: PointsModel,
    blend_weight: float,
    cfg: DecisionConfig = DECISIONS,
) -> PredictionBatch:
    """One row per player x book line x system for every resolved line in ``props``.

    ``features``: feature rows of the same dates (expected players). Lines of players without a
    feature row or below the quality threshold are kept with PASS and a skip reason, never dropped."""
    lines = book_lines(props)
    if lines.is_empty():
        return PredictionBatch(
            empty_predictions(), {"unresolved_lines": props.filter(pl.col("player_id").is_null()).height}
        )
    cons = consensus(lines)
    feats = features.filter(pl.col("is_expected")) if "is_expected" in features.columns else features
    feats = feats.unique(subset=["game_date", "player_id"], keep="first")
    players = (
        lines.select("game_date", "player_id").unique().join(cons, on=["game_date", "player_id"], how="left")
    )
    players = players.join(
        feats.drop([c for c in ("consensus_line",) if c in feats.columns]),
        on=["game_date", "player_id"],
        how="left",
    )
    have = players.filter(pl.col("quality").is_not_null() & (pl.col("quality") >= cfg.quality_min))
    skipped = {
        "no_feature_row": players.filter(pl.col("quality").is_null()).height,
        "low_quality": players.filter(pl.col("quality") < cfg.quality_min).height,
        "unresolved_lines": props.filter(pl.col("player_id").is_null()).height,
    }
    mus: dict[str, np.ndarray] = {}
    if have.height:
        base = baseline_predictions(have)
        cb = model.predict(have)
        cons_line = have["consensus_line"].to_numpy()
        with_line = np.where(
            np.isnan(cons_line.astype(float)), cb, blend_weight * cb + (1 - blend_weight) * cons_line
        )
        mus = {**base, "catboost": cb, "catboost_line": with_line}
    per_system = []
    for system, mu in mus.items():
        per_system.append(
            have.select("game_date", "player_id").with_columns(
                pl.lit(system).alias("system"), pl.Series("predicted_points", mu, pl.Float64)
            )
        )
    mu_frame = (
        pl.concat(per_system)
        if per_system
        else pl.DataFrame(
            schema={
                "game_date": pl.Date,
                "player_id": pl.Int64,
                "system": pl.Utf8,
                "predicted_points": pl.Float64,
            }
        )
    )
    systems = pl.DataFrame({"system": ["baseline_l10", "baseline_blend", "catboost", "catboost_line"]})
    rows = (
        lines.join(systems, how="cross")
        .join(
            players.select("game_date", "player_id", "team_abbr", "quality"),
            on=["game_date", "player_id"],
            how="left",
        )
        .join(mu_frame, on=["game_date", "player_id", "system"], how="left")
    )
    mu = rows["predicted_points"].fill_null(np.nan).to_numpy()
    line = rows["line"].to_numpy()
    system = rows["system"].to_numpy()
    raw = np.nan_to_num(raw_p_over(mu, model.sigma(np.nan_to_num(mu)), line))
    line_cal = model.calibration_line or model.calibration
    # the CatBoost systems carry calibrated probabilities; the baselines their raw normal ones
    p = np.where(
        system == "catboost",
        model.calibration(raw),
        np.where(system == "catboost_line", line_cal(raw), raw),
    )
    rows = rows.with_columns(
        pl.Series("p_over", np.where(np.isnan(mu), np.nan, p)).fill_nan(None),
        pl.lit(model.version).alias("model_version"),
        pl.col("quality").fill_null(0.0),
    )
    rows = decide(rows, cfg).with_columns(
        pl.when(pl.col("predicted_points").is_null() & pl.col("skip_reason").is_null())
        .then(pl.lit("no_feature_row"))
        .otherwise(pl.col("skip_reason"))
        .alias("skip_reason")
    )
    rows = rows.with_columns(
        pl.when(pl.col("quality") == 0)
        .then(pl.lit("no_feature_row"))
        .otherwise(pl.col("skip_reason"))
        .alias("skip_reason")
    )
    return PredictionBatch(
        rows.select([pl.col(c).cast(t) for c, t in PREDICTION_SCHEMA.items()]).sort(
            "game_date", "player_id", "bookmaker", "line", "system"
        ),
        skipped,
    )
