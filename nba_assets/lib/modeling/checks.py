"""Numbers behind the predictions' checks."""

from __future__ import annotations

import polars as pl

from nba_assets.lib.modeling.config import SYSTEMS
from nba_assets.lib.raw import CheckOutcome

MAX_FALLBACK_SHARE = 0.5


def every_line_answered(props: pl.DataFrame, preds: pl.DataFrame) -> CheckOutcome:
    """Each resolved (player, book, line) has one row per system, each with a prediction or a reason."""
    want = (
        props.filter(pl.col("player_id").is_not_null())
        .select("game_date", "player_id", "bookmaker", "line")
        .unique()
    )
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
            "unresolved_lines": props.filter(pl.col("player_id").is_null()).height,
        },
    )


def not_all_fallbacks(preds: pl.DataFrame) -> CheckOutcome:
    if preds.is_empty():
        return CheckOutcome(True, {"note": "no lines on these dates"}, "WARN")
    fallback = (
        preds.filter(pl.col("skip_reason").is_in(["low_quality", "no_feature_row"])).height / preds.height
    )
    return CheckOutcome(
        fallback <= MAX_FALLBACK_SHARE,
        {"fallback_share": round(fallback, 4), "limit": MAX_FALLBACK_SHARE},
        "WARN",
    )
