"""Rows of the feature store for a range of game dates, and the numbers behind its checks."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import polars as pl

from nba_assets.lib.features.build import build_features, training_targets
from nba_assets.lib.features.catalog import BASE_FEATURES, FEATURES
from nba_assets.lib.game_types import games_to_play, modeled_only
from nba_assets.lib.metadata import top_rows_table
from nba_assets.lib.modeling.config import DECISIONS
from nba_assets.lib.raw import CheckOutcome

# Days of context history the builder reads before the first date of a run: in effect every game since
# the first partition. A run of one date must see what the range run that built the training rows saw:
# a player back from a long absence has his last games further back than any fixed window (and the
# history against an opponent reads the two seasons before D's), so with a two-season window a daily run
# served features (374 of 392 rows of 2025-11-05) that differed from the ones the model learned from.
HISTORY_DAYS = 36_600
# The game dates before D whose finals D's features must hold: a missing night of box scores (the
# overnight run failed or is still catching up) changes rest days, back-to-backs, the last game and the
# short windows of every player who played then, while the quality score stays the same.
HISTORY_CHECK_DAYS = 3
MAX_LOW_QUALITY_SHARE = 0.25
MAX_DEFAULT_SHARE = 0.35  # per base feature, over expected rows
CONTEXT_COLUMNS = [
    "game_id",
    "player_name",
    "team_abbr",
    "opponent_abbr",
    "is_home",
    "injury_status",
    "consensus_line",
    "opening_line",
    "books_count",
]


def feature_rows(
    dates: list[date],
    expected: pl.DataFrame,
    player_games: pl.DataFrame,
    team_games: pl.DataFrame,
    injuries: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per (game_date, player) that is expected to play (from context, pre-game) and/or
    played (a training row with ``target_pts``). Features never read games on or after game_date.

    An expected row and a played row are one row when they agree on the game and the team. When the
    box score shows the player in another game or for another team than the context expected before
    tip-off (a trade the pre-game sources could not see), they are two rows: the expected row keeps the
    pre-game view (what was predicted; it never reads D's box score), and the training row carries the
    game and team he actually played for, so the model learns his points with his real team and opponent.

    Preseason and All-Star games are neither rows nor history (``lib/game_types.py``): the staging views
    already leave them out, and so does this, for context partitions written before they did."""
    expected, player_games, team_games = (modeled_only(f) for f in (expected, player_games, team_games))
    exp = (
        expected.filter(pl.col("game_date").is_in(dates))
        .select("game_date", "player_id", *[c for c in CONTEXT_COLUMNS if c in expected.columns])
        .with_columns(pl.lit(True).alias("is_expected"))
    )
    played = training_targets(player_games, dates).with_columns(pl.lit(True).alias("played"))
    on = ["game_date", "player_id", *[c for c in ("game_id", "team_abbr") if c in exp.columns]]
    merged = exp.join(played, on=on, how="full", coalesce=True, suffix="_played")
    for c in ("game_id", "player_name", "team_abbr", "opponent_abbr", "is_home"):
        if f"{c}_played" in merged.columns:
            merged = merged.with_columns(pl.coalesce(c, f"{c}_played").alias(c)).drop(f"{c}_played")
    merged = merged.with_columns(pl.col("is_expected").fill_null(False), pl.col("played").fill_null(False))
    # a day without modeled games (an off day, the All-Star break, preseason) is built too: its empty frame
    # must have every feature column, or the warehouse refuses it as a schema change (and the day's run fails)
    return build_features(merged, player_games, team_games, injuries)


def check_no_look_ahead(features: pl.DataFrame) -> CheckOutcome:
    bad = features.filter(pl.col("max_source_date") >= pl.col("game_date"))
    return CheckOutcome(
        bad.is_empty(),
        {
            "rows": features.height,
            "rows_using_same_or_later_games": bad.height,
            "newest_source_date": str(features["max_source_date"].max()),
        },
    )


def check_history_current(
    dates: list[date], schedule: pl.DataFrame, team_games: pl.DataFrame
) -> CheckOutcome:
    """Every modeled game scheduled (not postponed) in the ``HISTORY_CHECK_DAYS`` before each date of
    ``dates`` is in the history the features read (``team_games``: games with box scores). A game
    missing there means its box scores were never written (the overnight run failed, or its catch-up has
    not succeeded yet): the features of the dates after it would read a stale last game and wrong rest,
    so the check fails naming the dates to run again."""
    if not dates:
        return CheckOutcome(True, {"note": "no dates"})
    first, last = min(dates) - timedelta(days=HISTORY_CHECK_DAYS), max(dates)
    scheduled = games_to_play(schedule).filter((pl.col("game_date") >= first) & (pl.col("game_date") < last))
    # only games some date of ``dates`` looks back on (a range's own earlier dates included)
    scheduled = scheduled.filter(
        pl.any_horizontal(
            (pl.col("game_date") + timedelta(days=k)).is_in(dates) for k in range(1, HISTORY_CHECK_DAYS + 1)
        )
    )
    held = team_games.select("game_id", "game_date").unique()
    missing = scheduled.join(held, on=["game_id", "game_date"], how="anti").sort("game_date", "game_id")
    days = sorted({d.isoformat() for d in missing["game_date"]})
    return CheckOutcome(
        missing.is_empty(),
        {
            "scheduled_games_looked_back_on": scheduled.height,
            "games_without_box_scores": missing.height,
            "dates_without_box_scores": days[:10],
            "first_games": missing["game_id"].head(5).to_list(),
            "fix": ""
            if not days
            else "run overnight_box_scores_job for these dates; stale_slate_sensor then runs today's slate "
            "again (past dates: run build_features_job for them)",
        },
    )


def check_quality(features: pl.DataFrame, threshold: float = DECISIONS.quality_min) -> CheckOutcome:
    """WARN when more than ``MAX_LOW_QUALITY_SHARE`` of the expected rows fall below ``threshold``: the
    decisions' own pre-flight filter (``DecisionConfig.quality_min``: such rows are PASSed
    ``low_quality``), so the check judges by the threshold the predictions apply."""
    exp = features.filter(pl.col("is_expected")) if "is_expected" in features.columns else features
    if exp.is_empty():
        return CheckOutcome(True, {"expected_rows": 0, "note": "no expected players on these dates"}, "WARN")
    low = exp.filter(pl.col("quality") < threshold).height / exp.height
    meta = {
        "expected_rows": exp.height,
        "quality_mean": round(float(exp["quality"].mean()), 1),  # type: ignore[arg-type]
        "quality_p10": round(float(exp["quality"].quantile(0.1)), 1),  # type: ignore[arg-type]
        "share_below_threshold": round(low, 4),
        "threshold": threshold,
    }
    return CheckOutcome(low <= MAX_LOW_QUALITY_SHARE, meta, "WARN")


def default_shares(features: pl.DataFrame) -> dict[str, float]:
    exp = features.filter(pl.col("is_expected")) if "is_expected" in features.columns else features
    if exp.is_empty():
        return {}
    return {
        name: round(float((exp["sources"].struct.field(name) == "default").mean()), 4)  # type: ignore[arg-type]
        for name in BASE_FEATURES
    }


def check_null_share(features: pl.DataFrame) -> CheckOutcome:
    """No nulls reach the model, and no base feature falls back to its default too often (injury
    features are exempt while no report exists: the archive has none, which metadata says)."""
    names = [f.name for f in FEATURES]
    nulls = {n: features[n].null_count() for n in names if features[n].null_count()}
    shares = default_shares(features)
    exempt = {"injury_status_code", "teammates_out"}
    worst = {k: v for k, v in shares.items() if k not in exempt and v > MAX_DEFAULT_SHARE}
    meta: dict[str, Any] = {
        "null_values": nulls,
        "default_share_over_limit": worst,
        "limit": MAX_DEFAULT_SHARE,
    }
    return CheckOutcome(not nulls and not worst, meta, "WARN" if not nulls else "ERROR")


PREVIEW_COLUMNS = [
    "game_date",
    "player_name",
    "team_abbr",
    "pts_avg_l10",
    "min_avg_l10",
    "usage_share_l10",
    "quality",
]


def expected_preview(expected: pl.DataFrame, limit: int = 10) -> str:
    """The asset's preview: the expected rows of the highest quality, as a markdown table. Many rows
    share the top quality: the ties in date, name and key order (a total order), not in the order the
    rows came in (BigQuery: no set order), so it is the same text for the same rows."""
    if expected.is_empty():
        return "_no expected players_"
    ties = ["game_date", "player_name", "player_id", "game_id", "team_abbr"]
    return top_rows_table(expected, "quality", ties, PREVIEW_COLUMNS, limit)
