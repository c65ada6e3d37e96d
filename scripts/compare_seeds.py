"""The issue's three targets over several backtests of the same window and lines (one per CatBoost
seed), each run's figures and how many runs meet each target.

    python scripts/compare_seeds.py seed17/backtest.csv seed18/backtest.csv seed19/backtest.csv ... \
        [--start 2025-11-04] [--end 2025-11-20]

``--start`` / ``--end`` read only the rows of those game dates (inclusive): a part of the window.

One seed's figures are not the model's: on the development window the MAE gain moved 0.130-0.151 and
catboost's `high` tier 178-823 bets at 49.6-70.8 % with the seed alone (README). A target is read as
met when every run meets it. Each run is named by its CSV's folder. The runs must cover the same
predictions (player, date, book, line and system): runs of another window or other lines are refused.
It reads the CSVs and writes nothing.
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from nba_assets.lib import backtest

# a prediction's key: the same in every run of a window and lines file, whatever the seed
KEY = ["game_date", "player_id", "bookmaker", "line", "system"]


def within(rows: pl.DataFrame, start: date | None, end: date | None) -> pl.DataFrame:
    """The rows of game dates ``start`` .. ``end`` (inclusive; None: open)."""
    if start is not None:
        rows = rows.filter(pl.col("game_date") >= start)
    if end is not None:
        rows = rows.filter(pl.col("game_date") <= end)
    return rows


def check_same_predictions(runs: dict[str, pl.DataFrame]) -> None:
    """Raise ValueError naming the first run whose prediction keys differ from the first run's."""
    names = list(runs)
    first = runs[names[0]].select(KEY)
    for name in names[1:]:
        other = runs[name].select(KEY)
        missing = first.join(other, on=KEY, how="anti", nulls_equal=True).height
        extra = other.join(first, on=KEY, how="anti", nulls_equal=True).height
        if missing or extra:
            raise ValueError(
                f"{name}: not the same predictions as {names[0]} ({missing} of its rows missing, "
                f"{extra} others): another window or other lines"
            )


def per_run(runs: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """One row per run: catboost's MAE gain over the better baseline (with its 90% interval),
    catboost_line's MAE against the line's, and catboost's highest tier holding 150 bets."""
    out = []
    for name, rows in runs.items():
        t = backtest.target_figures(rows)
        gain, tier = t["gain"] or {}, t["tiers"]["catboost"] or {}
        out.append(
            {
                "run": name,
                "catboost_mae": t["catboost_mae"],
                "baseline": t["baseline"],
                "baseline_mae": t["baseline_mae"],
                "gain": gain.get("gain"),
                "gain_low90": gain.get("low"),
                "gain_high90": gain.get("high"),
                "catboost_line_mae": t["catboost_line_mae"],
                "line_mae": t["line_mae"],
                "tier": tier.get("tier"),
                "bets": tier.get("bets"),
                "wins": tier.get("wins"),
                "losses": tier.get("losses"),
                "hit_rate": tier.get("hit_rate"),
                "roi": tier.get("roi"),
            }
        )
    return pl.DataFrame(out)


def verdicts(table: pl.DataFrame, runs: dict[str, pl.DataFrame]) -> list[str]:
    """How many runs meet each target, and catboost's tiers pooled over the runs (a tier holding
    150 bets per run on average)."""
    n = table.height
    gain_met = table.filter(pl.col("gain") >= backtest.TARGET_GAIN - 1e-9).height
    line_met = table.filter(pl.col("catboost_line_mae") <= pl.col("line_mae")).height
    tier_met = table.filter((pl.col("hit_rate") >= backtest.TARGET_HIT_RATE) & (pl.col("roi") > 0)).height
    out = [
        f"catboost's MAE gain >= +{backtest.TARGET_GAIN:.3f} over the better baseline: {gain_met} of {n} runs"
        f" (mean {table['gain'].mean():+.3f}, range {table['gain'].min():+.3f} .. {table['gain'].max():+.3f})",
        f"catboost_line's MAE at or below the line's: {line_met} of {n} runs",
        f"catboost's highest tier with {backtest.MIN_TIER_BETS}+ bets at >= {backtest.TARGET_HIT_RATE:.0%}"
        f" and profitable: {tier_met} of {n} runs",
    ]
    pooled_rows = pl.concat(list(runs.values()), how="vertical_relaxed")
    pooled = backtest.best_tier(
        backtest.by_confidence_tier(pooled_rows), "catboost", backtest.MIN_TIER_BETS * n
    )
    out.append(_pooled_line(pooled, n))
    return out


def _pooled_line(tier: dict[str, Any] | None, n: int) -> str:
    if tier is None:
        return f"pooled over the {n} runs: no catboost tier holds {backtest.MIN_TIER_BETS * n} bets"
    return (
        f"pooled over the {n} runs: catboost `{tier['tier']}` {tier['wins']}-{tier['losses']}"
        f" ({tier['hit_rate']:.1%}), ROI {tier['roi']:+.1%} on {tier['bets']} bets"
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "csv", type=Path, nargs="+", help="backtest CSVs, one per seed (`nba-assets backtest --out`)"
    )
    ap.add_argument("--start", type=date.fromisoformat, help="first game date read (default: the CSV's)")
    ap.add_argument("--end", type=date.fromisoformat, help="last game date read (default: the CSV's)")
    args = ap.parse_args(argv)
    if args.start and args.end and args.end < args.start:
        ap.error(f"--end {args.end} is before --start {args.start}")
    for path in args.csv:
        if not path.is_file():
            ap.error(f"csv {path} is not a file (`nba-assets backtest --out` writes it)")
    names = [p.parent.name or str(p) for p in args.csv]
    if len(set(names)) < len(names):
        names = [str(p) for p in args.csv]
    if len(set(names)) < len(names):
        ap.error("the same CSV is named twice")
    runs = {
        name: within(
            pl.read_csv(path, try_parse_dates=True, schema_overrides={"game_id": pl.Utf8}),
            args.start,
            args.end,
        )
        for name, path in zip(names, args.csv, strict=True)
    }
    if any(rows.is_empty() for rows in runs.values()):
        asked = " ".join(f"--{k} {v}" for k, v in (("start", args.start), ("end", args.end)) if v)
        ap.error(f"no rows of the game dates asked for ({asked})")
    try:
        check_same_predictions(runs)
    except ValueError as exc:
        ap.error(str(exc))
    table = per_run(runs)
    with pl.Config(tbl_rows=50, tbl_cols=20, tbl_width_chars=200):
        print(table)
    for line in verdicts(table, runs):
        print(line)


if __name__ == "__main__":
    main()
