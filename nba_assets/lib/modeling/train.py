"""CatBoost points model: walk-forward training, versions, the promotion gate, and scoring.

A model with cutoff C is trained only on player-game rows with game_date < C (it never sees C).
The newest ``validation_days`` game dates before C are held out: they choose the number of trees,
fit the predictive distribution (sigma by level) and the probability calibration, and give the
validation metrics. The stored model is then refit on every row before C with that many trees.

The validation metrics' line figures (``mae_line_on_lined_rows`` next to ``mae_on_lined_rows``) are
not :func:`nba_assets.lib.grading.line_accuracy`, and differ on purpose: they are measured at training
time, before any prediction is served or graded, on the held-out feature-store rows (one per
player-game that was played) whose pre-game ``consensus_line`` feature is positive, against the
holdout model's raw prediction, which is also what the line blend weight is fitted on. The graded
figure (backtest, report, ``grading/system_performance``) scores the served predictions of each
system against the median of the books' main lines the graded rows carry.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import polars as pl
from catboost import CatBoostError, CatBoostRegressor

from nba_assets.lib.features.catalog import BASE_FEATURES
from nba_assets.lib.modeling.baselines import baseline_predictions
from nba_assets.lib.modeling.config import MODEL, REAL_LINE_CALIBRATIONS, TARGETS, ModelConfig
from nba_assets.lib.modeling.distribution import (
    Distribution,
    Isotonic,
    SigmaModel,
    brier,
    cross_fitted,
    platt_fit,
    platt_map,
    raw_p_over,
    reliability_table,
)

TRAIN_MIN_QUALITY = 50.0
# NBA game ids: 002... regular season; 004 playoffs, 005 play-in, 006 the NBA Cup final. Lines are
# predicted for regular-season games, and the postseason's rotations differ: training and validation
# use regular-season games only (on the development window: MAE 5.014 against 5.020 with them).
REGULAR_SEASON_ID_PREFIX = "002"


def training_rows(features: pl.DataFrame, cutoff: date) -> pl.DataFrame:
    """Rows a model with this cutoff may learn from: regular-season games played before the cutoff,
    with a label."""
    return features.filter(
        pl.col("played")
        & pl.col("target_pts").is_not_null()
        & (pl.col("game_date") < cutoff)
        & (pl.col("quality") >= TRAIN_MIN_QUALITY)
        & pl.col("game_id").str.starts_with(REGULAR_SEASON_ID_PREFIX)
    )


# the key of a training row (one box-score row per player and game): the order models are trained in
TRAINING_ORDER = ["game_date", "player_id", "game_id"]


def _matrix(frame: pl.DataFrame, features: list[str]) -> np.ndarray:
    return frame.select([pl.col(f).cast(pl.Float64) for f in features]).to_numpy()


def synthetic_lines(frame: pl.DataFrame) -> np.ndarray:
    """Realistic lines for calibration on seasons without real lines: the blended recent average
    rounded to the half point (real lines track it with r = 0.955 on the dev window)."""
    ref = (0.6 * frame["pts_avg_l10"] + 0.4 * frame["pts_avg_season"]).to_numpy()
    return np.floor(ref) + 0.5


@dataclass
class SqrtBooster:
    """A CatBoost model of sqrt(points) that predicts points: the square of its prediction (clipped at
    0) plus ``shift``, the residual variance in square-root units on the rows it was fitted on (the
    mean of Y = S^2 is E[S]^2 + Var S; the square alone is about the median, too low for this data)."""

    model: CatBoostRegressor
    shift: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(np.clip(self.model.predict(x), 0, None) ** 2 + self.shift)

    def get_best_iteration(self) -> int | None:
        return self.model.get_best_iteration()  # type: ignore[no-any-return]


# A fitted booster: predictions in points either way (a model stored before the target option is the
# plain regressor of points).
Booster: TypeAlias = CatBoostRegressor | SqrtBooster


@dataclass
class PointsModel:
    version: str
    cutoff: date
    train_start: date
    train_end: date
    features: list[str]
    params: dict[str, Any]
    booster: Booster
    sigma: SigmaModel
    calibration: Isotonic
    metrics: dict[str, Any] = field(default_factory=dict)
    calibration_line: Isotonic | None = None  # for the line-aware system; None = ``calibration``
    holdout_booster: Booster | None = None  # trained without the validation rows
    # the baselines' own distributions, fitted on the same validation rows and lines
    baselines: dict[str, Distribution] = field(default_factory=dict)

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        if frame.is_empty():
            return np.zeros(0)
        return np.clip(self.booster.predict(_matrix(frame, self.features)), 0, None)

    def distribution(self, system: str) -> Distribution:
        """The calibrated predictive distribution a system's P(over) and P(under) come from."""
        if system == "catboost":
            return Distribution(self.sigma, self.calibration)
        if system == "catboost_line":
            return Distribution(self.sigma, self.calibration_line or self.calibration)
        if system in self.baselines:
            return self.baselines[system]
        # a version stored before the baselines had their own: the raw normal, as it was served
        return Distribution(self.sigma)

    # ---------------------------------------------------------------- persistence

    def meta(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "cutoff": self.cutoff.isoformat(),
            "train_start": self.train_start.isoformat(),
            "train_end": self.train_end.isoformat(),
            "features": self.features,
            "params": self.params,
            "sigma": {"a": self.sigma.a, "b": self.sigma.b},
            "calibration": {"x": self.calibration.x, "y": self.calibration.y},
            "calibration_line": (
                {"x": self.calibration_line.x, "y": self.calibration_line.y}
                if self.calibration_line
                else None
            ),
            "baselines": {name: d.to_json() for name, d in self.baselines.items()},
            "metrics": self.metrics,
        }

    def to_bytes(self) -> tuple[bytes, bytes]:
        """(CatBoost binary model, JSON metadata)."""
        return _booster_bytes(self.booster), json.dumps(self.meta(), indent=1, default=str).encode()

    def holdout_bytes(self) -> bytes | None:
        """The hold-out booster (trained without the validation rows), which the promotion gate scores
        when a later candidate's validation rows are mostly ones this model trained on."""
        return _booster_bytes(self.holdout_booster) if self.holdout_booster is not None else None

    @classmethod
    def from_bytes(cls, blob: bytes, meta_json: bytes, holdout: bytes | None = None) -> PointsModel:
        meta = json.loads(meta_json)
        return cls(
            version=meta["version"],
            cutoff=date.fromisoformat(meta["cutoff"]),
            train_start=date.fromisoformat(meta["train_start"]),
            train_end=date.fromisoformat(meta["train_end"]),
            features=list(meta["features"]),
            params=dict(meta["params"]),
            booster=_booster_from(blob, meta["params"], "target_shift", "model.cbm"),
            sigma=SigmaModel(**meta["sigma"]),
            calibration=Isotonic(**meta["calibration"]),
            metrics=dict(meta["metrics"]),
            calibration_line=Isotonic(**meta["calibration_line"]) if meta.get("calibration_line") else None,
            holdout_booster=(
                _booster_from(holdout, meta["params"], "holdout_target_shift", "holdout.cbm")
                if holdout is not None
                else None
            ),
            baselines={k: Distribution.from_json(v) for k, v in (meta.get("baselines") or {}).items()},
        )


def _booster_bytes(booster: Booster) -> bytes:
    """The CatBoost binary (a square-root model's shift is in the version's params)."""
    model = booster.model if isinstance(booster, SqrtBooster) else booster
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.cbm"
        model.save_model(str(path))
        return path.read_bytes()


def _booster_from(blob: bytes, params: dict[str, Any], shift_key: str, name: str) -> Booster:
    """A stored booster, as it was fitted: of sqrt(points) with its shift (``params[shift_key]``) when
    the version's ``params["target"]`` says so, else of points (every version stored before). ``name``:
    its file, named when CatBoost cannot read it (its own message names a temporary file)."""
    booster = CatBoostRegressor()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.cbm"
        path.write_bytes(blob)
        try:
            booster.load_model(str(path))
        except CatBoostError as e:
            raise ValueError(f"{name} is not a CatBoost model ({e})") from None
    if params.get("target") == "sqrt":
        return SqrtBooster(booster, float(params[shift_key]))
    return booster


def _validation_start(rows: pl.DataFrame, cfg: ModelConfig) -> date:
    """The first of the newest game dates before the cutoff that hold at least
    ``validation_days`` dates and ``validation_min_rows`` rows (the off-season makes days a bad unit)."""
    per_date = rows.group_by("game_date").len().sort("game_date", descending=True)
    counted = per_date.with_columns(
        pl.col("len").cum_sum().alias("n"), pl.int_range(1, pl.len() + 1).alias("k")
    )
    enough = counted.filter((pl.col("n") >= cfg.validation_min_rows) & (pl.col("k") >= cfg.validation_days))
    return enough["game_date"][0] if enough.height else counted["game_date"][-1]


def monotone_constraints(names: list[str], cfg: ModelConfig) -> list[int] | None:
    """CatBoost's per-feature constraints for ``names`` (1 = non-decreasing), None when none apply."""
    cons = [1 if n in cfg.monotone_increasing else 0 for n in names]
    return cons if any(cons) else None


def _fit(
    x: np.ndarray,
    y: np.ndarray,
    cfg: ModelConfig,
    iterations: int,
    names: list[str],
    eval_set: tuple[np.ndarray, np.ndarray] | None = None,
) -> Booster:
    """A CatBoost regressor of ``cfg.target`` (early-stopped on ``eval_set`` when given, in the
    target's units); its ``predict`` gives points."""
    if cfg.target not in TARGETS:
        raise ValueError(f"ModelConfig.target={cfg.target!r} is not one of {', '.join(TARGETS)}")
    if cfg.target == "sqrt":
        ys = _sqrt_points(y)
        es = None if eval_set is None else (eval_set[0], _sqrt_points(eval_set[1]))
        model = _fit_catboost(x, ys, cfg, iterations, names, es)
        return SqrtBooster(model, float(np.mean((ys - model.predict(x)) ** 2)))
    return _fit_catboost(x, y, cfg, iterations, names, eval_set)


def _sqrt_points(y: np.ndarray) -> np.ndarray:
    return np.sqrt(np.clip(np.asarray(y, dtype=float), 0, None))


def _fit_catboost(
    x: np.ndarray,
    y: np.ndarray,
    cfg: ModelConfig,
    iterations: int,
    names: list[str],
    eval_set: tuple[np.ndarray, np.ndarray] | None,
) -> CatBoostRegressor:
    model = CatBoostRegressor(
        iterations=iterations,
        learning_rate=cfg.learning_rate,
        depth=cfg.depth,
        l2_leaf_reg=cfg.l2_leaf_reg,
        loss_function=cfg.loss,
        random_seed=cfg.seed,
        thread_count=cfg.threads,
        monotone_constraints=monotone_constraints(names, cfg),
        verbose=False,
        allow_writing_files=False,
    )
    model.fit(
        x,
        y,
        eval_set=eval_set,
        use_best_model=eval_set is not None,
        early_stopping_rounds=50 if eval_set is not None else None,
    )
    return model


def check_real_line_calibration(method: str) -> None:
    if method not in REAL_LINE_CALIBRATIONS:
        raise ValueError(
            f"ModelConfig.real_line_calibration={method!r} is not one of {', '.join(REAL_LINE_CALIBRATIONS)}"
        )


def calibration_fitter(
    shrink: float | None, method: str = "isotonic"
) -> Callable[[np.ndarray, np.ndarray], Isotonic]:
    """How the served P(over) map is fitted: ``method`` "isotonic" (:meth:`Isotonic.fit`) or "platt"
    (:func:`platt_map`), pulled toward 0.5 by ``shrink`` (synthetic lines) or not (real lines). The
    cross-fitted out-of-sample metrics use the same fitter."""
    check_real_line_calibration(method)
    base = platt_map if method == "platt" else Isotonic.fit

    def fit(p: np.ndarray, outcome: np.ndarray) -> Isotonic:
        iso = base(p, outcome)
        return iso.shrunk(shrink) if shrink is not None else iso

    return fit


def train_points_model(features: pl.DataFrame, cutoff: date, cfg: ModelConfig = MODEL) -> PointsModel:
    """Train the line-blind model on rows before ``cutoff``; see the module docstring."""
    check_real_line_calibration(cfg.real_line_calibration)
    names = list(BASE_FEATURES)
    # a set order: the warehouse may return the rows in any (BigQuery has none without ORDER BY), and
    # CatBoost learns another model from the same rows in another order
    rows = training_rows(features, cutoff).sort(TRAINING_ORDER)
    if rows.height < cfg.min_train_rows:
        raise ValueError(
            f"points model: {rows.height} training rows before {cutoff}, need {cfg.min_train_rows}"
        )
    val_start = _validation_start(rows, cfg)
    train, val = rows.filter(pl.col("game_date") < val_start), rows.filter(pl.col("game_date") >= val_start)
    xt, yt = _matrix(train, names), train["target_pts"].to_numpy()
    xv, yv = _matrix(val, names), val["target_pts"].to_numpy()
    holdout = _fit(xt, yt, cfg, cfg.iterations, names, (xv, yv))
    best = max(50, int(holdout.get_best_iteration() or cfg.iterations) + 1)
    mu_v = np.clip(holdout.predict(xv), 0, None)
    sigma = SigmaModel.fit(mu_v, yv)
    base = baseline_predictions(val)
    lined = (
        val["consensus_line"].is_not_null().to_numpy()
        if "consensus_line" in val.columns
        else np.zeros(val.height, bool)
    )
    cons = (
        val["consensus_line"].fill_null(0.0).to_numpy()
        if "consensus_line" in val.columns
        else np.zeros(val.height)
    )
    lined &= cons > 0
    blend_weight = fit_line_blend(mu_v[lined], cons[lined], yv[lined], cfg)
    # P(over) calibration: against the real consensus lines of the validation window when it holds
    # enough of them (pushes left out), else against synthetic lines, shrunk toward 0.5
    decided = lined & (yv != cons)
    real = bool(decided.sum() >= cfg.calibration_min_lined_rows)
    if real:
        lines, over_real = cons[decided], (yv[decided] > cons[decided]).astype(float)
        p_raw = raw_p_over(mu_v[decided], sigma(mu_v[decided]), lines)
        # the catboost map only: "isotonic" (shipped) or "platt" (opt-in); the line-aware map and the
        # baselines' stay isotonic
        calibration_map = cfg.real_line_calibration
        fit_map = calibration_fitter(None, calibration_map)
        calibration = fit_map(p_raw, over_real)
        blend_v = blend_weight * mu_v[decided] + (1 - blend_weight) * lines
        calibration_line: Isotonic | None = Isotonic.fit(
            raw_p_over(blend_v, sigma(blend_v), lines), over_real
        )
        over, calibrated_on = over_real, "real_lines"
    else:
        lines = synthetic_lines(val)
        over = (yv > lines).astype(float)
        p_raw = raw_p_over(mu_v, sigma(mu_v), lines)
        calibration_map = "isotonic"
        fit_map = calibration_fitter(cfg.synthetic_shrink)
        calibration = fit_map(p_raw, over)
        calibration_line, calibrated_on = None, f"synthetic_lines_shrunk_{cfg.synthetic_shrink}"
    # the served Platt curve's sigmoid(a + b * logit(p)) (its knots are what "calibration" stores)
    platt_parameters: dict[str, float] = {}
    if calibration_map == "platt":
        platt_parameters["platt_a"], platt_parameters["platt_b"] = platt_fit(p_raw, over)
    p_cal = calibration(p_raw)  # in sample: the map was fitted on these rows
    # out of sample: each block of validation dates scored by the map fitted on the other blocks
    cal_dates = val["game_date"].to_numpy()[decided if real else slice(None)]
    p_oos = cross_fitted(p_raw, over, cal_dates, cfg.calibration_folds, fit_map)
    n_cal_dates = len(np.unique(cal_dates))
    # the baselines' P(over): their own spread and calibration on the same rows and lines (the
    # model's sigma is too narrow for them, so their raw probabilities were overconfident)
    cal_rows = decided if real else np.ones(val.height, bool)
    baselines = {}
    for name, mu_b in base.items():
        sigma_b = SigmaModel.fit(mu_b, yv)
        iso = Isotonic.fit(raw_p_over(mu_b[cal_rows], sigma_b(mu_b[cal_rows]), lines), over)
        baselines[name] = Distribution(sigma_b, iso if real else iso.shrunk(cfg.synthetic_shrink))
    metrics = {
        "validation_rows": val.height,
        "validation_start": val_start.isoformat(),
        "mae": float(np.mean(np.abs(mu_v - yv))),
        "bias": float(np.mean(mu_v - yv)),
        **{f"mae_{k}": float(np.mean(np.abs(v - yv))) for k, v in base.items()},
        "calibrated_on": calibrated_on,
        "calibration_map": calibration_map,
        **platt_parameters,
        "calibration_rows": int(len(over)),
        "calibration_dates": n_cal_dates,
        "calibration_folds": min(cfg.calibration_folds, n_cal_dates),
        "brier_raw": brier(p_raw, over),
        # the honest figures: the map scored on dates it was not fitted on (None: a single date)
        "brier_out_of_sample": brier(p_oos, over) if p_oos is not None else None,
        "reliability_out_of_sample": reliability_table(p_oos, over) if p_oos is not None else None,
        # the served map on the rows it was fitted on: flattering, kept for comparison only
        "brier_calibrated_in_sample": brier(p_cal, over),
        "reliability_in_sample": reliability_table(p_cal, over),
        "best_iteration": best,
        "lined_validation_rows": int(lined.sum()),
        "blend_weight": blend_weight,
        "mae_line_on_lined_rows": float(np.mean(np.abs(cons[lined] - yv[lined]))) if lined.any() else None,
        "mae_on_lined_rows": float(np.mean(np.abs(mu_v[lined] - yv[lined]))) if lined.any() else None,
        "train_rows": rows.height,
    }
    final = _fit(_matrix(rows, names), rows["target_pts"].to_numpy(), cfg, best, names)
    params = {
        "iterations": best,
        "learning_rate": cfg.learning_rate,
        "depth": cfg.depth,
        "l2_leaf_reg": cfg.l2_leaf_reg,
        "loss": cfg.loss,
        "seed": cfg.seed,
        "monotone_increasing": [n for n in names if n in cfg.monotone_increasing],
        "target": cfg.target,
        # a square-root model's served shift (its residual variance in square-root units), and its
        # hold-out booster's (the promotion gate scores it)
        **(
            {"target_shift": final.shift, "holdout_target_shift": holdout.shift}
            if isinstance(final, SqrtBooster) and isinstance(holdout, SqrtBooster)
            else {}
        ),
    }
    return PointsModel(
        # unique per training: a retrain of the same cutoff is a new version, never the old one's files
        version=f"pm-{cutoff.isoformat()}-{uuid.uuid4().hex[:8]}",
        cutoff=cutoff,
        train_start=rows["game_date"].min(),  # type: ignore[arg-type]  # a Date column: a date
        train_end=rows["game_date"].max(),  # type: ignore[arg-type]
        features=names,
        params=params,
        booster=final,
        sigma=sigma,
        calibration=calibration,
        calibration_line=calibration_line,
        metrics=metrics,
        holdout_booster=holdout,
        baselines=baselines,
    )


@dataclass
class GateResult:
    promote: bool
    metadata: dict[str, Any]


GATE_MIN_ROWS = 300  # rows the champion never trained on needed to score it by its final booster


def promotion_gate(
    candidate: PointsModel, champion: PointsModel | None, features: pl.DataFrame
) -> GateResult:
    """Promote when the candidate's validation MAE is no worse than the champion's on the same rows,
    each model scored only on rows it did not train on.

    ``champion``: the version that would otherwise serve the candidate's cutoff (the newest promoted
    one with a cutoff on or before it). Rows: the candidate's validation rows, scored by the
    candidate's hold-out booster (it did not see them), and

    * ``champion_out_of_sample``: at least 300 of them on or after the champion's cutoff, which its
      stored booster never saw: it is scored on those;
    * ``hold_out_models``: else (a retrain a few days after the champion, or of the same cutoff) both
      hold-out boosters, on the rows neither saw (on or after both validation starts);
    * ``champion_in_sample``: a champion stored without its hold-out booster (before they were kept),
      on all the rows: the comparison favours the champion, so it is kept unless clearly beaten."""
    if champion is None:
        return GateResult(True, {"reason": "no champion yet", "candidate_mae": candidate.metrics["mae"]})
    val_start = date.fromisoformat(candidate.metrics["validation_start"])
    rows = training_rows(features, candidate.cutoff).filter(pl.col("game_date") >= val_start)
    unseen = rows.filter(pl.col("game_date") >= champion.cutoff)
    scorer = candidate.holdout_booster or candidate.booster
    if unseen.height >= GATE_MIN_ROWS:
        used, champion_scorer, basis = unseen, champion.booster, "champion_out_of_sample"
    elif champion.holdout_booster is not None:
        champion_val_start = date.fromisoformat(champion.metrics["validation_start"])
        used = rows.filter(pl.col("game_date") >= champion_val_start)
        champion_scorer, basis = champion.holdout_booster, "hold_out_models"
    else:
        used, champion_scorer, basis = rows, champion.booster, "champion_in_sample"
    meta: dict[str, Any] = {
        "basis": basis,
        "rows": used.height,
        "rows_unseen_by_champion": unseen.height,
        "champion_version": champion.version,
        "candidate_version": candidate.version,
    }
    if used.is_empty():
        return GateResult(False, {**meta, "reason": "no validation rows both models can be scored on"})
    y = used["target_pts"].to_numpy()
    cand = _mae(scorer, candidate.features, used, y)
    champ = _mae(champion_scorer, champion.features, used, y)
    return GateResult(
        cand <= champ, {**meta, "candidate_mae": round(cand, 4), "champion_mae": round(champ, 4)}
    )


def _mae(booster: Booster, names: list[str], rows: pl.DataFrame, y: np.ndarray) -> float:
    """The mean absolute error, summed in value order: the same float whatever order the feature rows
    came in (BigQuery: no set order), and two models whose errors are the same numbers on different
    rows get the same MAE, so a tie is one for the gate's ``cand <= champ`` in any order."""
    err = np.abs(np.clip(booster.predict(_matrix(rows, names)), 0, None) - y)
    return float(np.mean(np.sort(err)))


def fit_line_blend(mu: np.ndarray, line: np.ndarray, actual: np.ndarray, cfg: ModelConfig = MODEL) -> float:
    """Weight w of the model in w*mu + (1-w)*line minimizing squared error on past lined rows;
    the prior weight until there are ``blend_min_rows`` such rows."""
    if len(mu) < cfg.blend_min_rows:
        return cfg.blend_prior_weight
    d = mu - line
    denom = float(np.dot(d, d))
    if denom <= 0:
        return cfg.blend_prior_weight
    return float(np.clip(np.dot(d, actual - line) / denom, 0.0, 1.0))
