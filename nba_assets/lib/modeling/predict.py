"""Predictions for one or more game dates: every real line x every system, then the decision rules."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from nba_assets.lib.game_types import unmodeled_reason
from nba_assets.lib.modeling.baselines import baseline_predictions
from nba_assets.lib.modeling.config import DECISIONS, DecisionConfig
from nba_assets.lib.modeling.decisions import (
    PREDICTION_SCHEMA,
    book_lines,
    consensus,
    decide,
    empty_predictions,
)
from nba_assets.lib.modeling.train import PointsModel
from nba_assets.lib.schemas import offered_lines

# Every line is answered by each system; in the output a line's rows follow this (name) order.
SYSTEMS = ("baseline_blend", "baseline_l10", "catboost", "catboost_line")
# the skip reason of a player whose lines name no game of the stored schedule
UNSCHEDULED = "unscheduled_game"
# the line-aware system blends the model with the consensus of the books' main lines: a player with
# none (only alternates, or lines priced on one side) gets no catboost_line prediction, rather than
# catboost's under the blend's calibration, published as the line-aware system
NO_CONSENSUS = "no_consensus_line"


def system_probabilities(
    model: PointsModel, code: np.ndarray, mu: np.ndarray, line: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated (P(over), P(under)) of rows whose system is ``SYSTEMS[code]``, each from its own
    system's distribution; NaN where ``mu`` is (no prediction). They sum to 1 on half-point lines and
    leave out the push on whole-point ones."""
    p_over, p_under = np.full(len(mu), np.nan), np.full(len(mu), np.nan)
    for j, system in enumerate(SYSTEMS):
        rows = (code == j) & ~np.isnan(mu)
        if rows.any():
            dist = model.distribution(system)
            p_over[rows] = dist.p_over(mu[rows], line[rows])
            p_under[rows] = dist.p_under(mu[rows], line[rows])
    return p_over, p_under


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
    feature row or below the quality threshold are kept with PASS and a skip reason, never dropped.
    A player none of whose lines names a game of the stored schedule has no feature row either: his
    reason is ``unscheduled_game``, counted apart from ``no_feature_row``.
    Lines of a preseason or All-Star game (``lib/game_types.py``) are not predicted, whatever features
    the player has: PASS with ``preseason_game`` / ``all_star_game``, counted per player-date."""
    lines = book_lines(props)
    if lines.is_empty():
        return PredictionBatch(
            empty_predictions(),
            {"unresolved_lines": offered_lines(props).filter(pl.col("player_id").is_null()).height},
        )
    cons = consensus(lines)
    feats = features.filter(pl.col("is_expected")) if "is_expected" in features.columns else features
    feats = feats.unique(subset=["game_date", "player_id"], keep="first")
    # player-dates whose lines are on a game type the model is not built on: no prediction
    unmodeled = (
        lines.select("game_date", "player_id", unmodeled_reason().alias("_unmodeled"))
        .filter(pl.col("_unmodeled").is_not_null())
        .unique(subset=["game_date", "player_id"], keep="first")
    )
    players = (
        lines.select("game_date", "player_id").unique().join(cons, on=["game_date", "player_id"], how="left")
    )
    players = players.join(
        feats.drop([c for c in ("consensus_line",) if c in feats.columns]),
        on=["game_date", "player_id"],
        how="left",
    ).join(unmodeled.select("game_date", "player_id"), on=["game_date", "player_id"], how="anti")
    have = players.filter(pl.col("quality").is_not_null() & (pl.col("quality") >= cfg.quality_min))
    # player-dates none of whose lines names a game of the stored schedule (the raw props coverage check
    # counts such events as unmatched_events): no context row can place the player, so the reason is
    # the schedule's, not the player's
    unscheduled = (
        lines.group_by("game_date", "player_id")
        .agg(pl.col("game_id").is_null().all().alias("_unscheduled"))
        .filter(pl.col("_unscheduled"))
    )
    no_row = players.filter(pl.col("quality").is_null())
    no_row_unscheduled = no_row.join(unscheduled, on=["game_date", "player_id"], how="semi").height
    skipped = {
        "no_feature_row": no_row.height - no_row_unscheduled,
        "low_quality": players.filter(pl.col("quality") < cfg.quality_min).height,
        "unresolved_lines": offered_lines(props).filter(pl.col("player_id").is_null()).height,
    }
    for reason, n in unmodeled.group_by("_unmodeled").len().sort("_unmodeled").iter_rows():  # a stable order
        skipped[reason] = n
    if no_row_unscheduled:
        skipped[UNSCHEDULED] = no_row_unscheduled
    mus: dict[str, np.ndarray] = {}
    if have.height:
        base = baseline_predictions(have)
        cb = model.predict(have)
        cons_line = have["consensus_line"].to_numpy()
        with_line = np.where(
            np.isnan(cons_line.astype(float)), np.nan, blend_weight * cb + (1 - blend_weight) * cons_line
        )
        mus = {**base, "catboost": cb, "catboost_line": with_line}
    # Rows come out ordered by (game_date, player_id, bookmaker, line, system) without sorting the
    # output: the lines are sorted (their key is unique) and each line is expanded to the systems in
    # name order. Per-player values are joined on the lines, not on the 4x frame.
    keys = ["game_date", "player_id"]
    # a handful of books: sorting on each book's rank among them orders the rows as the names would
    books = lines["bookmaker"].drop_nulls().unique().sort()
    book_rank = pl.col("bookmaker").replace_strict(books, pl.int_range(books.len(), eager=True))
    per_line = lines.sort(pl.col("game_date"), pl.col("player_id"), book_rank, pl.col("line")).join(
        players.select("game_date", "player_id", "team_abbr", "quality"),
        on=keys,
        how="left",
        maintain_order="left",
    )
    mu_cols = [f"_mu_{i}" for i in range(len(SYSTEMS))]
    mu_frame = have.select(keys).with_columns(
        pl.Series(name, mus[system], pl.Float64, nan_to_null=True)
        if system in mus
        else pl.lit(None, pl.Float64).alias(name)
        for name, system in zip(mu_cols, SYSTEMS, strict=True)
    )
    per_line = per_line.join(mu_frame, on=keys, how="left", maintain_order="left").join(
        unscheduled, on=keys, how="left", maintain_order="left"
    )
    n, k = per_line.height, len(SYSTEMS)
    # (n, k) -> n * k in line-major order: row i * k + j is line i under system j
    mu_null = np.column_stack([per_line[c].is_null().to_numpy() for c in mu_cols]).ravel()
    mu = np.column_stack([per_line[c].fill_null(np.nan).to_numpy() for c in mu_cols]).ravel()
    line = np.repeat(per_line["line"].to_numpy(), k)
    code = np.tile(np.arange(k), n)
    p_over, p_under = system_probabilities(model, code, mu, line)
    predicted = pl.Series("predicted_points", mu, pl.Float64)
    if mu_null.any():  # no prediction for the player: null, as a missing join leaves it
        predicted = predicted.scatter(np.flatnonzero(mu_null), None)
    rows = (
        per_line.drop(mu_cols)
        .gather(np.repeat(np.arange(n), k))
        .with_columns(
            pl.Series("system", SYSTEMS, pl.Utf8).gather(code),
            predicted,
            pl.Series("p_over", p_over).fill_nan(None),
            pl.Series("p_under", p_under).fill_nan(None),
            pl.lit(model.version).alias("model_version"),
            pl.col("quality").is_null().alias("_no_feature_row"),
            pl.col("quality").fill_null(0.0),  # below any threshold: decide() PASSes the row
        )
    )
    rows = decide(rows, cfg).with_columns(
        pl.when(pl.col("_no_feature_row") & pl.col("_unscheduled").fill_null(False))
        .then(pl.lit(UNSCHEDULED))
        .when(pl.col("_no_feature_row"))
        .then(pl.lit("no_feature_row"))
        .when((pl.col("system") == "catboost_line") & (pl.col("skip_reason") == "no_prediction"))
        .then(pl.lit(NO_CONSENSUS))
        .otherwise(pl.col("skip_reason"))
        .alias("skip_reason")
    )
    if unmodeled.height:
        rows = rows.with_columns(pl.coalesce(unmodeled_reason(), pl.col("skip_reason")).alias("skip_reason"))
    return PredictionBatch(rows.select([pl.col(c).cast(t) for c, t in PREDICTION_SCHEMA.items()]), skipped)


def predict_dates(
    props: pl.DataFrame,
    features: pl.DataFrame,
    dates: Iterable[date],
    model_for: Callable[[date], PointsModel],
    cfg: DecisionConfig = DECISIONS,
) -> PredictionBatch:
    """:func:`predict_lines` date by date over ``dates`` (ascending), each date with lines in ``props``
    scored by ``model_for(date)`` at that model's blend weight; dates without lines are passed over.
    The dates' rows in one frame, in date order, and the skipped player-dates summed by reason."""
    frames: list[pl.DataFrame] = []
    skipped: dict[str, int] = {}
    for day in dates:
        day_props = props.filter(pl.col("game_date") == day)
        if day_props.is_empty():
            continue
        model = model_for(day)
        batch = predict_lines(
            day_props, features.filter(pl.col("game_date") == day), model, model.metrics["blend_weight"], cfg
        )
        frames.append(batch.predictions)
        for reason, n in batch.skipped.items():
            skipped[reason] = skipped.get(reason, 0) + n
    return PredictionBatch(pl.concat(frames) if frames else empty_predictions(), skipped)
