"""Decision thresholds and model settings, in one place.

Chosen on data up to 2025-11-20 only (the development window and the seasons before it); the sealed
lines after 2025-11-20 were never read. See README "Models and decisions" for why.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DecisionConfig:
    quality_min: float = 70.0  # rows below are PASS with skip reason "low_quality" (pre-flight filter)
    edge_min: float = 1.5  # |predicted - line| in points needed for a call
    p_side_min: float = 0.56  # calibrated probability of the called side needed for a call
    # Confidence tiers by calibrated P(side): name -> lower bound.
    tiers: tuple[tuple[str, float], ...] = (("high", 0.62), ("medium", 0.58), ("low", 0.0))


@dataclass(frozen=True)
class ModelConfig:
    iterations: int = 600
    learning_rate: float = 0.05
    depth: int = 6
    l2_leaf_reg: float = 5.0
    loss: str = "RMSE"
    # What CatBoost learns: "sqrt", the square root of points (points are right-skewed; their square
    # root's spread hardly grows with the level), served as the square of its prediction plus the
    # residual variance in square-root units (E[Y] = E[S]^2 + Var S for S = sqrt Y); or "points", as
    # shipped until 2026-12-07. README "What was tried" gives the figures.
    target: str = "sqrt"
    validation_days: int = 28  # the newest game dates before the cutoff validate the candidate ...
    validation_min_rows: int = 6000  # ... extended until they hold this many rows
    min_train_rows: int = 2000
    seed: int = 17
    threads: int = 2
    # Features the prediction may only rise with (CatBoost monotone constraints), other inputs fixed:
    # a player's recent and season scoring, scoring rate and minutes. It keeps sparse corners of the
    # data (openers, new roles) from learning that more points or minutes mean fewer points.
    monotone_increasing: tuple[str, ...] = (
        "pts_avg_l5",
        "pts_avg_l10",
        "pts_avg_season",
        "pts_ewm",
        "min_avg_l10",
        "min_avg_l3",
        "min_avg_season",
        "prev_pts_avg",
        "prev_pts_l20",
        "ppm_l10",
        "ppm_season",
    )
    # Line-aware blend: weight of the line-blind prediction vs the consensus line.
    blend_prior_weight: float = 0.35
    blend_min_rows: int = 1500  # lined rows before D needed to fit the weight instead of the prior
    # P(over) calibration: on real lines once the validation window holds this many lined rows ...
    calibration_min_lined_rows: int = 1000
    # ... else on synthetic lines (the recent average), pulled this far toward 0.5: real lines are
    # sharper than the synthetic ones, so a synthetic-line calibration is overconfident against them.
    synthetic_shrink: float = 0.5
    # The stored Brier score / reliability table are out of sample: the map is cross-fitted over this
    # many blocks of the validation window's game dates (the served map is fitted on all of them).
    calibration_folds: int = 5
    # The map of catboost's P(over) when it is calibrated on real lines: "isotonic" (shipped) or
    # "platt" (opt-in, `nba-assets backtest --calibration platt`: a logistic regression on logit(p),
    # lower out-of-sample Brier on the dev window's real-line folds but slopes of 0.06-0.22, which all
    # but stop the calls). The synthetic-line map, the line-aware one and the baselines' stay isotonic.
    real_line_calibration: str = "isotonic"
    extra: dict[str, float] = field(default_factory=dict)


DECISIONS = DecisionConfig()
MODEL = ModelConfig()
REAL_LINE_CALIBRATIONS = ("isotonic", "platt")
TARGETS = ("sqrt", "points")
SYSTEMS = ("baseline_l10", "baseline_blend", "catboost", "catboost_line")
