"""Build the embedded archive (compact parquet) from ../shared/data/real/.

    python scripts/build_archive.py [--shared DIR] [--out nba_assets/data]

Reproducible: the same inputs give the same rows (sorted, fixed dtypes) and, with the same polars
version, byte-identical parquet files (fixed compression). PROVENANCE.json records each input's
sha256 and each output's rows, file sha256 and content_sha256: the sha256 of the rows written as CSV,
which does not change when another polars version writes other parquet bytes for the same rows (the
file's writer is in its parquet metadata, `created_by`).

What goes in (and what deliberately does not):
* box_scores.parquet: every player row of the 2022-23 .. 2025-26 (partial) regular seasons and the
  2022-23 .. 2024-25 postseasons, in the raw/box_scores contract.
* games.parquet: one row per game from 2022-23 on (schedule + final scores), tip-off times where the
  lines file knows them.
* props_points.parquet: the real points lines for game dates 2025-10-21 .. 2025-11-20 with only the
  columns a book publishes before tip-off. The outcome and join columns of the source file
  (played, actual_pts, actual_minutes, match, player_id, ...) are dropped: they were made with
  the box score of the game, and a pre-game asset must never see them.
* No injury reports: the sources hold none, and none is invented.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from datetime import date
from pathlib import Path

import polars as pl

from nba_assets.lib.schemas import BOX_SCORE_COUNTING_STATS
from nba_assets.lib.sources.lines_csv import GUARANTEED_COLUMNS

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = REPO.parent / "shared"
FIRST_SEASON = "2022-23"
LINES_START, LINES_END = date(2025, 10, 21), date(2025, 11, 20)

LOG_FILES = [
    "player_game_logs_2022-23.csv",
    "player_game_logs_2023-24.csv",
    "player_game_logs_2024-25.csv",
    "player_game_logs_2025-26_partial.csv",
    "player_game_logs_postseason_2022-23_to_2024-25.csv",
]
GAMES_FILE = "games_2014-15_to_2025-26.csv"
LINES_FILE = "props_points_2025-26_dev_oddsapi.csv"
# Columns a sportsbook feed publishes before tip-off (the `--lines` contract of the backtest).
PUBLISHED_LINE_COLUMNS = list(GUARANTEED_COLUMNS)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def content_sha256(df: pl.DataFrame) -> str:
    """sha256 of the column names and rows as CSV: the same for the same rows whatever parquet writer."""
    return hashlib.sha256(df.write_csv().encode()).hexdigest()


def build_box_scores(raw: Path) -> pl.DataFrame:
    frames = [
        pl.read_csv(
            raw / f,
            schema_overrides={"game_id": pl.Utf8, "status_comment": pl.Utf8, "start_position": pl.Utf8},
        )
        for f in LOG_FILES
    ]
    logs = pl.concat(frames, how="diagonal_relaxed")
    return logs.select(
        pl.col("game_date").str.to_date(),
        "season",
        "season_type",
        "game_id",
        pl.col("team_id").cast(pl.Int64),
        "team_abbr",
        "opponent_abbr",
        (pl.col("is_home") == 1).alias("is_home"),
        pl.col("player_id").cast(pl.Int64),
        "player_name",
        (pl.col("starter") == 1).alias("starter"),
        pl.col("start_position").fill_null("").alias("position"),
        (pl.col("played") == 1).alias("played"),
        pl.col("minutes").fill_null(0.0).round(3).cast(pl.Float64),
        *[pl.col(c).fill_null(0).cast(pl.Int64) for c in BOX_SCORE_COUNTING_STATS],
        pl.col("plus_minus").cast(pl.Float64),
        pl.col("status_comment").fill_null("").alias("status_comment"),
    ).sort("game_date", "game_id", "team_id", "player_id")


def build_games(raw: Path, lines: pl.DataFrame) -> pl.DataFrame:
    games = pl.read_csv(raw / GAMES_FILE, schema_overrides={"game_id": pl.Utf8})
    games = games.filter(pl.col("season") >= FIRST_SEASON).with_columns(pl.col("game_date").str.to_date())
    tips = lines.group_by("game_date", "home_abbr", "away_abbr").agg(pl.col("tipoff_utc").min())
    return (
        games.join(tips, on=["game_date", "home_abbr", "away_abbr"], how="left")
        .select(
            "game_date",
            "game_id",
            "season",
            "season_type",
            "tipoff_utc",
            pl.col("home_team_id").cast(pl.Int64),
            "home_abbr",
            pl.col("away_team_id").cast(pl.Int64),
            "away_abbr",
            pl.col("home_pts").cast(pl.Int64),
            pl.col("away_pts").cast(pl.Int64),
            (pl.col("neutral_site") == 1).alias("neutral_site"),
        )
        .sort("game_date", "game_id")
    )


def build_lines(raw: Path) -> pl.DataFrame:
    src = pl.read_csv(raw / LINES_FILE, columns=PUBLISHED_LINE_COLUMNS)
    utc = pl.Datetime("us", "UTC")
    return (
        src.with_columns(pl.col("game_date").str.to_date())
        .filter(pl.col("game_date").is_between(LINES_START, LINES_END))
        .select(
            "game_date",
            pl.col("game_time_utc").str.to_datetime(time_zone="UTC").cast(utc).alias("tipoff_utc"),
            pl.col("snapshot_utc").str.to_datetime(time_zone="UTC").cast(utc),
            "event_id",
            "home_abbr",
            "away_abbr",
            "player_name",
            "bookmaker",
            pl.col("line").cast(pl.Float64),
            pl.col("over_odds").cast(pl.Int64).alias("over_price"),
            pl.col("under_odds").cast(pl.Int64).alias("under_price"),
            (pl.col("is_main_line") == 1).alias("is_main_line"),
        )
        .sort("game_date", "event_id", "bookmaker", "player_name", "line")
    )


def write(df: pl.DataFrame, path: Path) -> dict[str, object]:
    df.write_parquet(path, compression="zstd", compression_level=19, statistics=False)
    return {
        "rows": df.height,
        "bytes": path.stat().st_size,
        "sha256": sha256(path),
        "content_sha256": content_sha256(df),
        "columns": df.columns,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    ap.add_argument("--out", type=Path, default=REPO / "nba_assets" / "data")
    args = ap.parse_args(argv)
    raw = args.shared / "data" / "real"
    args.out.mkdir(parents=True, exist_ok=True)

    lines = build_lines(raw)
    outputs = {
        "box_scores.parquet": write(build_box_scores(raw), args.out / "box_scores.parquet"),
        "games.parquet": write(build_games(raw, lines), args.out / "games.parquet"),
        "props_points.parquet": write(lines, args.out / "props_points.parquet"),
    }
    used = [*LOG_FILES, GAMES_FILE, LINES_FILE]
    provenance = {
        "built_by": "scripts/build_archive.py",
        "inputs": {f: {"sha256": sha256(raw / f)} for f in used},
        "outputs": outputs,
        "lines_window": [LINES_START.isoformat(), LINES_END.isoformat()],
        "first_season": FIRST_SEASON,
        "injury_reports": "none: the shared real data holds no injury reports, so the archive has none",
        "dropped_line_columns": "outcome and join columns (made with the box score) are not shipped",
        "origin": "see ../shared/data/real/README.md for the public repositories and commits of each input",
    }
    (args.out / "PROVENANCE.json").write_text(json.dumps(provenance, indent=1, sort_keys=True) + "\n")
    for name, meta in outputs.items():
        print(f"{name}: {meta['rows']:,} rows, {meta['bytes'] / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
