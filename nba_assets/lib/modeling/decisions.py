"""From predictions to calls: one row per player x line x system, with the decision rules of DESIGN s7.

* ``NO_LINE``: no real line for the player (never a default line);
* ``PASS``: quality below the threshold (pre-flight filter, ``skip_reason = low_quality``), no finite
  prediction (``no_prediction``) or P(side) (``no_probability``: never a call on a missing one), or |edge|
  or P(side) below the configured thresholds (``edge_below_threshold`` / ``probability_below_threshold``),
  or the book posts no price for the side of the edge (``no_price_for_side``: an over-only alternate
  cannot be bet under; there is never a default price);
* else ``OVER`` / ``UNDER`` on the side of the edge.
"""

from __future__ import annotations

import polars as pl

from nba_assets.lib.modeling.config import DECISIONS, DecisionConfig
from nba_assets.lib.schemas import marker_rows

PREDICTION_SCHEMA: dict[str, pl.DataType] = {
    "game_date": pl.Date(),
    "game_id": pl.Utf8(),
    "player_id": pl.Int64(),
    "player_name": pl.Utf8(),
    "team_abbr": pl.Utf8(),
    "bookmaker": pl.Utf8(),
    "line": pl.Float64(),
    "over_price": pl.Int64(),
    "under_price": pl.Int64(),
    "is_main_line": pl.Boolean(),
    "system": pl.Utf8(),
    "model_version": pl.Utf8(),
    "predicted_points": pl.Float64(),
    "p_over": pl.Float64(),
    "edge": pl.Float64(),
    "recommendation": pl.Utf8(),
    "confidence": pl.Float64(),
    "tier": pl.Utf8(),
    "actionable": pl.Boolean(),
    "skip_reason": pl.Utf8(),
    "quality": pl.Float64(),
}


def called_price() -> pl.Expr:
    """The American price of the recommended side: the over price for OVER, else the under price."""
    return (
        pl.when(pl.col("recommendation") == "OVER")
        .then(pl.col("over_price"))
        .otherwise(pl.col("under_price"))
    )


def american_profit(price: pl.Expr) -> pl.Expr:
    """Profit per 1 unit staked at an American price, when the bet wins."""
    return pl.when(price > 0).then(price / 100.0).otherwise(100.0 / price.abs())


def decide(frame: pl.DataFrame, cfg: DecisionConfig = DECISIONS) -> pl.DataFrame:
    """Add edge, recommendation, confidence, tier, actionable and skip_reason to rows holding
    line, over_price, under_price, predicted_points, p_over and quality (null line = no real line; a
    null price = the book does not offer that side), and optionally p_under (a whole-point line's
    P(under) is not 1 - P(over): the push takes its share; default 1 - p_over)."""
    edge = pl.col("predicted_points") - pl.col("line")
    p_under = pl.col("p_under") if "p_under" in frame.columns else 1 - pl.col("p_over")
    p_side = pl.when(edge >= 0).then(pl.col("p_over")).otherwise(p_under)
    side = pl.when(edge >= 0).then(pl.lit("OVER")).otherwise(pl.lit("UNDER"))
    side_price = pl.when(edge >= 0).then(pl.col("over_price")).otherwise(pl.col("under_price"))
    skip = (
        pl.when(pl.col("line").is_null())
        .then(pl.lit("no_line"))
        .when(pl.col("quality") < cfg.quality_min)
        .then(pl.lit("low_quality"))
        .when(pl.col("predicted_points").is_null() | ~pl.col("predicted_points").is_finite())
        .then(pl.lit("no_prediction"))
        # a null or NaN P(side) compares as neither below nor above the threshold: it was called
        .when(p_side.is_null() | ~p_side.is_finite())
        .then(pl.lit("no_probability"))
        .when(edge.abs() < cfg.edge_min)
        .then(pl.lit("edge_below_threshold"))
        .when(p_side < cfg.p_side_min)
        .then(pl.lit("probability_below_threshold"))
        .when(side_price.is_null())
        .then(pl.lit("no_price_for_side"))
    )
    tier = pl.lit(None, pl.Utf8)
    for name, lo in reversed(cfg.tiers):
        tier = pl.when(p_side >= lo).then(pl.lit(name)).otherwise(tier)
    out = frame.with_columns(edge.alias("edge"), p_side.alias("confidence"), skip.alias("skip_reason"))
    return out.with_columns(
        pl.when(pl.col("skip_reason") == "no_line")
        .then(pl.lit("NO_LINE"))
        .when(pl.col("skip_reason").is_not_null())
        .then(pl.lit("PASS"))
        .otherwise(side)
        .alias("recommendation"),
        pl.when(pl.col("skip_reason").is_null()).then(tier).alias("tier"),
        pl.col("skip_reason").is_null().alias("actionable"),
    )


def latest_snapshot(props: pl.DataFrame, by: list[str | pl.Expr]) -> pl.DataFrame:
    """The rows of each group's latest ``snapshot_utc`` (``by``: a book's game): what the book offers
    now, whatever history the frame carries (the archive's and the live lines ledger's snapshots)."""
    return props.filter(pl.col("snapshot_utc") == pl.col("snapshot_utc").max().over(by))


def book_games(props: pl.DataFrame) -> list[str | pl.Expr]:
    """The key of a book's offer of a game: the date, the game (its NBA id, else the book feed's event
    id: a game the schedule did not match) and the bookmaker."""
    game = pl.coalesce("game_id", "event_id") if "event_id" in props.columns else pl.col("game_id")
    return ["game_date", game, "bookmaker"]


def current_offers(props: pl.DataFrame) -> pl.DataFrame:
    """The rows of each book's latest snapshot of each game: what the books offer now. A book whose
    latest snapshot of a game is an empty-fetch marker (asked while the game was upcoming, it answered
    no line: it pulled them all) offers nothing of that game, whatever its earlier snapshots held."""
    return latest_snapshot(props, book_games(props)).filter(~marker_rows(props))


def pulled_book_games(props: pl.DataFrame) -> pl.DataFrame:
    """The rows (empty-fetch markers) of the books whose latest snapshot of a game is one: books that
    were asked for the game while it was upcoming and answered no line."""
    return latest_snapshot(props, book_games(props)).filter(marker_rows(props))


def book_lines(props: pl.DataFrame) -> pl.DataFrame:
    """Every (player, book, line) a book offers in its latest snapshot of the game before tip-off;
    alternates kept. A line the book moved away from or pulled (a player ruled out) is not in its
    latest snapshot and is gone, and so is every line of a book whose latest snapshot of the game is
    an empty-fetch marker (it pulled them all): the raw table keeps every snapshot seen (the opening line), but only
    the current offer is predicted, picked and graded. Rows without a resolved player id cannot be
    predicted (they are counted as ``unresolved_lines``)."""
    lines = current_offers(props).filter(pl.col("player_id").is_not_null() & pl.col("line").is_not_null())
    # the latest snapshot's row; two rows of it for one (player, book, line) (two games of the book's
    # feed, a main and an alternate market): the last by game, main line, then prices, not whichever the
    # warehouse returned last (BigQuery returns rows in no set order)
    return (
        lines.sort(
            "snapshot_utc",
            "game_id",
            "is_main_line",
            "over_price",
            "under_price",
            "player_name",
            nulls_last=False,
        )
        .group_by("game_date", "player_id", "bookmaker", "line")
        .agg(pl.all().last())
        .select(
            "game_date",
            "game_id",
            "player_id",
            "player_name",
            "bookmaker",
            "line",
            "over_price",
            "under_price",
            "is_main_line",
        )
    )


def consensus(lines: pl.DataFrame) -> pl.DataFrame:
    """Per player-date: the median of each book's main line (the market's number). A book counts
    once: were it to post two main lines for a player, its lower one counts, as in the context
    model's ``consensus_line`` (dbt ``player_game_context``), so a book cannot weigh twice."""
    return (
        lines.filter(pl.col("is_main_line"))
        .group_by("game_date", "player_id", "bookmaker")
        .agg(pl.col("line").min())
        .group_by("game_date", "player_id")
        .agg(pl.col("line").median().alias("consensus_line"))
    )


def empty_predictions() -> pl.DataFrame:
    return pl.DataFrame(schema=PREDICTION_SCHEMA)
