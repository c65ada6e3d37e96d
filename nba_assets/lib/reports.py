"""Plain-text and markdown summaries of picks and graded records (CLI, README, metadata)."""

from __future__ import annotations

import polars as pl

from nba_assets.lib import grading
from nba_assets.lib.metadata import top_rows_table
from nba_assets.lib.modeling.decisions import called_price

PICKS_PREVIEW_COLUMNS = [
    "game_date",
    "player_name",
    "bookmaker",
    "line",
    "predicted_points",
    "p_over",
    "recommendation",
    "tier",
]


def picks_preview(picks: pl.DataFrame, limit: int = 15) -> str:
    """The predictions asset's ``picks`` metadata: the most confident picks, as a markdown table. Picks
    share a confidence: the ties in date, name and line order (a total order: one row per line of a
    system), not in the order the rows came in, so it is the same text for the same rows."""
    ties = ["game_date", "player_name", "player_id", "bookmaker", "line"]
    return top_rows_table(picks, "confidence", ties, PICKS_PREVIEW_COLUMNS, limit)


def best_picks(preds: pl.DataFrame, system: str) -> pl.DataFrame:
    """One row per player: the actionable main line of ``system`` with the highest confidence (ties: the
    better price for the side, the book first by name, then the better line for the side), with
    ``books`` = how many books' main lines carry the same call. The order of ``preds`` does not matter
    (BigQuery returns rows in none)."""
    picks = preds.filter((pl.col("system") == system) & pl.col("actionable") & pl.col("is_main_line"))
    if picks.is_empty():
        return picks.with_columns(
            pl.lit(None, pl.Int64).alias("price"), pl.lit(None, pl.UInt32).alias("books")
        )
    price = called_price()
    books = picks.group_by("player_id", "recommendation").agg(pl.col("bookmaker").n_unique().alias("books"))
    return (
        picks.with_columns(price.alias("price"))
        # ties: the better price, the book first by name, then the better line for the side (a book with
        # two main lines): a total order per player, whatever order the rows came in
        .sort(
            [
                "confidence",
                "price",
                "bookmaker",
                pl.when(pl.col("recommendation") == "OVER").then(pl.col("line")).otherwise(-pl.col("line")),
            ],
            descending=[True, True, False, False],
            nulls_last=True,
        )
        .unique(subset=["player_id"], keep="first", maintain_order=True)
        .join(books, on=["player_id", "recommendation"], how="left")
        .sort(["confidence", "player_name", "player_id"], descending=[True, False, False])
    )


def picks_table(preds: pl.DataFrame, system: str = "catboost", limit: int = 25) -> str:
    """The ``limit`` most confident picks of ``system``, one per player (:func:`best_picks`), as text."""
    best = best_picks(preds, system).head(limit)
    if best.is_empty():
        return "  (no actionable picks)"
    lines = [f"  {'player':<26}{'book':<15}{'line':>6}{'pred':>7}{'P(over)':>9}  call"]
    for r in best.iter_rows(named=True):
        lines.append(
            f"  {r['player_name'][:25]:<26}{r['bookmaker'][:14]:<15}{r['line']:>6.1f}{r['predicted_points']:>7.1f}{r['p_over']:>9.3f}  {r['recommendation']} ({r['tier']})"
        )
    return "\n".join(lines)


def record_by_system(grades: pl.DataFrame) -> pl.DataFrame:
    """Per system: bets on the books' main lines (alternate ladders are priced far from even and are
    reported by the backtest separately), wins, losses, pushes, hit rate, ROI at the offered prices,
    and MAE vs the consensus line's MAE on the same player-dates."""
    rec = grading.bet_record(grades.filter(pl.col("is_main_line")), ["system"]).select(
        "system", "bets", "wins", "losses", "pushes", "profit", "hit_rate", "roi"
    )
    acc = grading.line_accuracy(grades).select("system", pl.col("n").alias("player_games"), "mae", "line_mae")
    return acc.join(rec, on="system", how="left").sort("system")


def record_table(grades: pl.DataFrame) -> str:
    rec = record_by_system(grades)
    lines = [
        f"  {'system':<16}{'games':>7}{'MAE':>7}{'lineMAE':>9}{'bets':>8}{'W-L-P':>17}{'hit':>7}{'ROI':>8}"
    ]
    for r in rec.iter_rows(named=True):
        wlp = f"{r['wins'] or 0}-{r['losses'] or 0}-{r['pushes'] or 0}"
        hit = f"{r['hit_rate']:.1%}" if r["hit_rate"] is not None else "-"
        roi = f"{r['roi']:+.1%}" if r["roi"] is not None else "-"
        lines.append(
            f"  {r['system']:<16}{r['player_games']:>7}{r['mae']:>7.2f}{r['line_mae']:>9.2f}{r['bets'] or 0:>8}{wlp:>17}{hit:>7}{roi:>8}"
        )
    return "\n".join(lines)
