"""Betting record of a backtest CSV when each call is bet once, at the best offer (line shopping).

    python scripts/line_shopping.py backtest/backtest.csv

The backtest's tier tables count every book's main line as a bet (the same call at up to 8 books).
Here each system's call on a player-date is bet once: at the book with the best line for the called
side (lowest for OVER, highest for UNDER), then the best price; a player-date called OVER at one book
and UNDER at another keeps the higher-confidence call. It reads the CSV and writes nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl

from nba_assets.lib import grading
from nba_assets.lib.modeling.decisions import american_profit, called_price


def best_offers(rows: pl.DataFrame) -> pl.DataFrame:
    """One graded main-line bet per system and player-date: the best offer for the called side."""
    bets = rows.filter(
        pl.col("is_main_line")
        & pl.col("recommendation").is_in(["OVER", "UNDER"])
        & pl.col("result").is_in(grading.BET_RESULTS)
    )
    payout = american_profit(called_price())
    over = pl.col("recommendation") == "OVER"
    side_line = pl.when(over).then(-pl.col("line")).otherwise(pl.col("line"))  # higher is better
    return (
        bets.with_columns(side_line.alias("_side_line"), payout.alias("_payout"))
        .sort("_side_line", "_payout", descending=True)
        .group_by("game_date", "player_id", "system", "recommendation", maintain_order=True)
        .first()
        .sort("confidence", descending=True)
        .group_by("game_date", "player_id", "system", maintain_order=True)
        .first()
        .drop("_side_line", "_payout")
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("csv", type=Path)
    args = ap.parse_args(argv)
    if not args.csv.is_file():
        ap.error(f"csv {args.csv} is not a file (`nba-assets backtest --out` writes it)")
    rows = pl.read_csv(args.csv, try_parse_dates=True)
    record = grading.bet_record(best_offers(rows), ["system", "tier"])
    with pl.Config(tbl_rows=50, tbl_cols=20):
        print(
            record.select(
                "system", "tier", "bets", "wins", "losses", "hit_rate", "hit_low90", "hit_high90", "roi"
            )
        )


if __name__ == "__main__":
    main()
