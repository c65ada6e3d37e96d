"""Numbers behind the predictions' checks."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from nba_assets.lib.modeling.config import SYSTEMS
from nba_assets.lib.modeling.decisions import book_lines, current_offers, pulled_book_games
from nba_assets.lib.raw import CheckOutcome
from nba_assets.lib.schemas import offered_lines

MAX_FALLBACK_SHARE = 0.5
# Lines the platform could not answer with a model: the player's features are missing or too thin, or
# no game of the stored schedule matches the line (a schedule emptied or missing its games sends every
# line here)
FALLBACK_REASONS = ("low_quality", "no_feature_row", "unscheduled_game")


def every_line_answered(props: pl.DataFrame, preds: pl.DataFrame) -> CheckOutcome:
    """Each resolved (player, book, line) a book currently offers (its latest snapshot of the game, as
    :func:`book_lines` reads them) has one row per system, each with a prediction or a reason. Lines a
    book moved away from or pulled stay in the raw ledger but are not offered, so not predicted; a book
    whose latest snapshot of a game is an empty-fetch marker offers no line of it (``pulled_book_games``
    counts them)."""
    lines = offered_lines(props)
    want = book_lines(props).select("game_date", "player_id", "bookmaker", "line").unique()
    got = preds.group_by("game_date", "player_id", "bookmaker", "line").agg(
        pl.col("system").n_unique().alias("systems")
    )
    joined = want.join(got, on=["game_date", "player_id", "bookmaker", "line"], how="left")
    missing = joined.filter(pl.col("systems").is_null() | (pl.col("systems") < len(SYSTEMS)))
    silent = preds.filter(pl.col("predicted_points").is_null() & pl.col("skip_reason").is_null())
    placeholder = preds.filter(pl.col("line").is_null() & (pl.col("recommendation") != "NO_LINE"))
    return CheckOutcome(
        missing.is_empty() and silent.is_empty() and placeholder.is_empty(),
        {
            "lines": want.height,
            "lines_without_all_systems": missing.height,
            "rows_without_prediction_or_reason": silent.height,
            "unresolved_lines": lines.filter(pl.col("player_id").is_null()).height,
            "superseded_snapshot_rows": lines.height - current_offers(props).height,
            "pulled_book_games": pulled_book_games(props).height,
        },
    )


def not_all_fallbacks(preds: pl.DataFrame) -> CheckOutcome:
    if preds.is_empty():
        return CheckOutcome(True, {"note": "no lines on these dates"}, "WARN")
    fallbacks = preds.filter(pl.col("skip_reason").is_in(FALLBACK_REASONS))
    fallback = fallbacks.height / preds.height
    by_reason = dict(fallbacks.group_by("skip_reason").len().sort("skip_reason").iter_rows())
    return CheckOutcome(
        fallback <= MAX_FALLBACK_SHARE,
        {"fallback_share": round(fallback, 4), "limit": MAX_FALLBACK_SHARE, "fallback_rows": by_reason},
        "WARN",
    )


def training_history_current(features: pl.DataFrame, cutoff: date, grace_days: int = 1) -> CheckOutcome:
    """Every game date before the cutoff (but the last ``grace_days``, whose finals may still be on their
    way) holds training rows: a date whose features were built before tip-off and never rebuilt with
    the finals has players expected but no ``target_pts``, and a model trained then silently learns
    nothing from it."""
    per_date = (
        features.filter(pl.col("game_date") < cutoff)
        .group_by("game_date")
        .agg(
            pl.col("is_expected").any().alias("expected"),
            (pl.col("played") & pl.col("target_pts").is_not_null()).sum().alias("labeled"),
        )
    )
    unlabeled = per_date.filter(
        pl.col("expected")
        & (pl.col("labeled") == 0)
        & (pl.col("game_date") < cutoff - timedelta(days=grace_days))
    ).sort("game_date")
    labeled = per_date.filter(pl.col("labeled") > 0)
    newest = labeled["game_date"].max() if labeled.height else None
    days = [d.isoformat() for d in unlabeled["game_date"]]
    return CheckOutcome(
        unlabeled.is_empty(),
        {
            "cutoff": cutoff.isoformat(),
            "newest_labeled_date": newest.isoformat() if newest else "",  # type: ignore[union-attr]
            "dates_without_training_rows": len(days),
            "first_dates_without_training_rows": days[:10],
            "fix": ""
            if not days
            else "run overnight_box_scores_job for these dates (it rebuilds their "
            "features with the finals), then retrain",
        },
    )
