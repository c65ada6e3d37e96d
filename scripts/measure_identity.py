"""Measure the player identity resolver on the real 2025-26 dev points lines.

For every line dated D the resolver reads only game logs with game_date < D (the registry cuts each lookup
at its own date). The extra-players reference is every distinct (player_id, player_name) in the game logs:
identity reference data (a player directory), not outcomes. Ground truth is the file's ``player_id`` on rows
whose ``match`` is exact or alias.

Usage: python scripts/measure_identity.py [shared_dir]   (default: $NBA_ASSETS_SHARED_DIR or ../shared)
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import polars as pl

from nba_assets.lib.identity import PlayerRegistry, resolution_report

GAME_LOG_FILES = (
    "player_game_logs_2022-23.csv",
    "player_game_logs_2023-24.csv",
    "player_game_logs_2024-25.csv",
    "player_game_logs_postseason_2022-23_to_2024-25.csv",
    "player_game_logs_2025-26_partial.csv",
)
DEV_LINES_FILE = "props_points_2025-26_dev_oddsapi.csv"


def shared_dir() -> Path:
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    env = os.environ.get("NBA_ASSETS_SHARED_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared"


def load_game_logs(real_dir: Path) -> pl.DataFrame:
    frames = [
        pl.read_csv(
            real_dir / name,
            schema_overrides={"game_id": pl.Utf8},
            columns=["game_id", "game_date", "player_id", "player_name", "team_abbr"],
        )
        for name in GAME_LOG_FILES
    ]
    return pl.concat(frames, how="vertical")


def measure(real_dir: Path) -> dict[str, object]:
    """Resolve the dev lines file and compare with its ground truth; returns the figures."""
    logs = load_game_logs(real_dir)
    lines = pl.read_csv(real_dir / DEV_LINES_FILE, schema_overrides={"game_id": pl.Utf8})
    queries = lines.select(
        "game_date",
        "player_name",
        "home_abbr",
        "away_abbr",
        "match",
        pl.col("player_id").alias("true_player_id"),
    )
    extra = logs.select("player_id", "player_name").unique()
    start = time.perf_counter()
    registry = PlayerRegistry.from_box_scores(logs, as_of=None, extra_players=extra)
    out = registry.resolve(queries)
    elapsed = time.perf_counter() - start

    truth = out.filter(pl.col("match").is_in(["exact", "alias"]))
    n_truth = truth.height
    correct = truth.filter(pl.col("player_id") == pl.col("true_player_id")).height
    wrong = truth.filter(
        pl.col("player_id").is_not_null() & (pl.col("player_id") != pl.col("true_player_id"))
    ).height
    unresolved = truth.filter(pl.col("player_id").is_null()).height
    report = resolution_report(out, top=20)
    no_box = out.filter(pl.col("match") == "no_box_row")
    return {
        "rows": out.height,
        "rows_with_truth": n_truth,
        "correct_share": correct / n_truth,
        "wrong_share": wrong / n_truth,
        "unresolved_share": unresolved / n_truth,
        "wrong_examples": truth.filter(
            pl.col("player_id").is_not_null() & (pl.col("player_id") != pl.col("true_player_id"))
        )
        .select("game_date", "player_name", "player_id", "true_player_id", "match_method")
        .unique()
        .head(20)
        .rows(),
        "no_box_rows": no_box.height,
        "no_box_resolved_share": no_box["player_id"].is_not_null().mean() if no_box.height else 0.0,
        "by_method": report["by_method"],
        "unresolved_names_top20": report["unresolved_names"],
        "seconds": elapsed,
    }


def main() -> None:
    figures = measure(shared_dir() / "data" / "real")
    print(f"rows:                       {figures['rows']}")
    print(f"rows with ground truth:     {figures['rows_with_truth']}")
    print(f"correct share:              {figures['correct_share']:.4%}")
    print(f"wrong share:                {figures['wrong_share']:.4%}")
    print(f"unresolved share:           {figures['unresolved_share']:.4%}")
    print(f"no_box_row rows (resolved): {figures['no_box_rows']} ({figures['no_box_resolved_share']:.2%})")
    print(f"rows by method:             {figures['by_method']}")
    print(f"wrong examples:             {figures['wrong_examples']}")
    print(f"unresolved names (top 20):  {figures['unresolved_names_top20']}")
    print(f"resolve time:               {figures['seconds']:.2f} s")


if __name__ == "__main__":
    main()
