"""Walk-forward MAE of the shipped line-blind model against the baselines, on any window of the
warehouse's feature store, with or without real lines.

    python scripts/walk_forward_mae.py --warehouse DATA_DIR/warehouse.duckdb \
        --start 2024-10-22 --end 2024-11-21 [--rows lined|rotation] [--min-minutes 18] [--seed 17] \
        [--retrain-days 7] [--target sqrt|points]

The backtest (``nba-assets backtest``) needs real points lines, and the archive has them only for
2025-26. This script checks that the model's gain is not an accident of that one window: it repeats
the backtest's weekly walk-forward (a model trained on every game before each week's first date
predicts that week) and scores, per player-date that played:

* ``--rows lined``: the player-dates with a real main line (the backtest's rows);
* ``--rows rotation``: regular-season player-dates of players averaging at least ``--min-minutes``
  over their last 10 games (about the players books post lines for), for windows without lines.

Only player-dates the platform knew of before tip-off are scored: those with an expected (pre-game)
feature row that played. A played row without one is a training row whose team, opponent and venue
were read from D's box score (a player no pre-game source placed, such as an off-season mover in his
new team's opener); the backtest cannot predict such a player (``no_feature_row``), and scoring him
here read D's box score.

``--seed`` sets CatBoost's random seed (default: the shipped model's), to measure how much of a
difference between two settings is seed-to-seed noise. ``--retrain-days`` (1..7, default 7, the
backtest's) sets how often a model is retrained. ``--target`` sets what CatBoost learns (default: the
shipped model's).

It prints MAE per system and the gain over the better baseline with a 90% paired bootstrap interval
over game dates. It reads the warehouse read-only and writes nothing.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from nba_assets.lib.backtest import accuracy, cutoffs, mae_gain_interval
from nba_assets.lib.modeling.baselines import baseline_predictions
from nba_assets.lib.modeling.config import MODEL, TARGETS, ModelConfig
from nba_assets.lib.modeling.decisions import book_lines, consensus
from nba_assets.lib.modeling.train import REGULAR_SEASON_ID_PREFIX, train_points_model


def scored_rows(
    features: pl.DataFrame,
    lined: pl.DataFrame | None,
    start: date,
    end: date,
    rotation_minutes: float,
    cfg: ModelConfig = MODEL,
    retrain_days: int = 7,
) -> pl.DataFrame:
    """Predictions of every system for the window, in the backtest's row shape (one main line per
    player-date: the consensus; null when the window has no lines)."""
    out = []
    for cutoff, last in cutoffs(start, end, retrain_days):
        # the pre-game rows that played: a played row without an expected one took its team from D's box score
        test = features.filter(
            pl.col("game_date").is_between(cutoff, last) & pl.col("played") & pl.col("is_expected")
        )
        if lined is not None:
            test = test.join(lined, on=["game_date", "player_id"], how="inner")
        else:
            test = test.filter(
                pl.col("game_id").str.starts_with(REGULAR_SEASON_ID_PREFIX)
                & (pl.col("min_avg_l10") >= rotation_minutes)
            ).with_columns(pl.lit(None, pl.Float64).alias("cons"))
        model = train_points_model(features.filter(pl.col("game_date") < cutoff), cutoff, cfg)
        preds = {"catboost": model.predict(test), **baseline_predictions(test)}
        for system, values in preds.items():
            out.append(
                test.select(
                    "game_date",
                    "player_id",
                    pl.lit(system).alias("system"),
                    pl.lit(True).alias("is_main_line"),
                    pl.col("cons").alias("line"),
                    pl.Series("predicted_points", np.asarray(values, dtype=float)),
                    pl.col("target_pts").cast(pl.Float64).alias("actual_points"),
                    pl.lit("SCORED").alias("result"),
                )
            )
        print(f"  {cutoff} .. {last}: {test.height} player-dates", flush=True)
    return pl.concat(out)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--warehouse", type=Path, required=True)
    ap.add_argument("--start", type=date.fromisoformat, required=True)
    ap.add_argument("--end", type=date.fromisoformat, required=True)
    ap.add_argument("--rows", choices=["lined", "rotation"], default="lined")
    ap.add_argument("--min-minutes", type=float, default=18.0)
    ap.add_argument("--seed", type=int, default=MODEL.seed, help=f"CatBoost seed (default {MODEL.seed})")
    ap.add_argument("--retrain-days", type=int, default=7, help="days between retrains (1..7, default 7)")
    ap.add_argument("--target", choices=TARGETS, default=MODEL.target, help=f"default {MODEL.target}")
    args = ap.parse_args(argv)
    # checked before anything is read or trained (five weekly models take minutes)
    if args.end < args.start:
        ap.error(f"--end {args.end} is before --start {args.start}")
    if not 1 <= args.retrain_days <= 7:
        ap.error(f"--retrain-days {args.retrain_days} is not in 1..7 (models retrain at least weekly)")
    if not args.warehouse.is_file():
        ap.error(f"--warehouse {args.warehouse} is not a file (run `nba-assets main` first)")
    con = duckdb.connect(str(args.warehouse), read_only=True)
    try:
        features = con.sql(
            "select * exclude (sources) from features.player_features where game_date <= ?",
            params=[args.end],
        ).pl()
        lined = None
        if args.rows == "lined":
            props = con.sql(
                "select * from raw.player_props where game_date between ? and ?",
                params=[args.start, args.end],
            ).pl()
            if props.is_empty():
                ap.error(
                    f"--rows lined: {args.warehouse} holds no lines between --start {args.start} and "
                    f"--end {args.end}; use --rows rotation for a window without lines"
                )
            # the pipeline's consensus: each book's latest main line, then their median
            lined = consensus(book_lines(props)).rename({"consensus_line": "cons"})
    finally:
        con.close()
    cfg = replace(MODEL, seed=args.seed, target=args.target)
    print(
        f"CatBoost seed {cfg.seed}, target {cfg.target}, retrain every {args.retrain_days} days", flush=True
    )
    rows = scored_rows(features, lined, args.start, args.end, args.min_minutes, cfg, args.retrain_days)
    table = accuracy(rows).sort("mae")
    print(table)
    baselines = table.filter(pl.col("system").str.starts_with("baseline")).sort("mae")
    best = baselines["system"][0]
    gain = mae_gain_interval(rows, "catboost", best)
    print(
        f"catboost vs {best}: {gain['gain']:+.3f} points, 90% interval {gain['low']:+.3f} .. "
        f"{gain['high']:+.3f} ({gain['dates']} dates, {gain['player_dates']} player-dates)"
    )


if __name__ == "__main__":
    main()
