"""The feature vector: one documented table of every feature (name, definition, window, default).

``FEATURES`` drives the builder's defaults, the quality score and the docs (``docs/FEATURES.md`` is
rendered from it by :func:`markdown`). Line features are inputs of the line-aware model only.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Feature:
    name: str
    definition: str
    window: str
    default: float
    line_aware_only: bool = False


FEATURES: tuple[Feature, ...] = (
    # recent scoring
    Feature(
        "pts_avg_l5", "mean points in the player's last 5 games with minutes", "last 5 games before D", 10.0
    ),
    Feature("pts_avg_l10", "mean points in the last 10 games with minutes", "last 10 games before D", 10.0),
    Feature(
        "pts_avg_season",
        "mean points this season, blended with last season while fewer than 10 games",
        "season to D-1",
        10.0,
    ),
    Feature("pts_std_l10", "standard deviation of points, last 10 games", "last 10 games", 5.0),
    Feature("pts_trend", "pts_avg_l5 minus pts_avg_l10", "last 10 games", 0.0),
    Feature(
        "pts_ewm", "exponentially weighted mean of points (half-life 5 games)", "all games before D", 10.0
    ),
    # minutes and efficiency
    Feature("min_avg_l10", "mean minutes, last 10 games with minutes", "last 10 games", 20.0),
    Feature("min_avg_l3", "mean minutes, last 3 games with minutes", "last 3 games", 20.0),
    Feature(
        "ppm_l10", "points per minute over the last 10 games (sum pts / sum minutes)", "last 10 games", 0.45
    ),
    Feature("ppm_season", "points per minute this season (blended early season)", "season to D-1", 0.45),
    Feature(
        "min_avg_season",
        "mean minutes this season, blended with last season while fewer than 10 games",
        "season to D-1",
        20.0,
    ),
    # workload and rest
    Feature("games_last_7d", "games with minutes in the 7 days before D", "D-7 .. D-1", 2.0),
    Feature("rest_days", "days since the player's last game with minutes (capped at 10)", "before D", 2.0),
    Feature("is_back_to_back", "1 when the player played on D-1", "D-1", 0.0),
    Feature("rest_advantage", "team rest days minus opponent rest days (each capped at 5)", "before D", 0.0),
    Feature("fatigue", "minutes played in the 7 days before D / 100 + back-to-back", "D-7 .. D-1", 0.5),
    # role
    Feature("starter_share_l10", "share of the last 10 games started", "last 10 games", 0.3),
    Feature(
        "usage_share_l10",
        "player (FGA + 0.44 FTA + TOV) / team's, over the last 10 games (minutes-adjusted)",
        "last 10 games",
        0.18,
    ),
    Feature("fga_avg_l10", "field-goal attempts per game, last 10", "last 10 games", 8.0),
    Feature("fta_avg_l10", "free-throw attempts per game, last 10", "last 10 games", 2.0),
    # shooting mix: a ratio with a zero denominator (0/0) is undefined, not 0: it takes the default and
    # is tagged default (0 FGM of 5 FGA is a real 0 %)
    Feature("fg3a_share_l10", "3PA / FGA, last 10 games (no FGA: default)", "last 10 games", 0.35),
    Feature("ft_pts_share_l10", "FTM / points, last 10 games (no points: default)", "last 10 games", 0.15),
    Feature("fg_pct_l10", "FGM / FGA, last 10 games (no FGA: default)", "last 10 games", 0.46),
    # team context
    Feature("team_pace_l15", "the team's pace, last 15 games", "last 15 team games", 99.0),
    Feature("team_off_rating_l15", "the team's offensive rating, last 15 games", "last 15 team games", 114.0),
    Feature(
        "team_win_pct", "the team's win share this season (0.5 before its first game)", "season to D-1", 0.5
    ),
    # opponent
    Feature(
        "opp_def_rating_l15",
        "the opponent's defensive rating, last 15 games",
        "last 15 opponent games",
        114.0,
    ),
    Feature("opp_pace_l15", "the opponent's pace, last 15 games", "last 15 opponent games", 99.0),
    Feature(
        "opp_pts_allowed_pos_l15",
        "points per game the opponent allowed to starters of the player's position (G/F/C)",
        "last 15 opponent games",
        14.0,
    ),
    # history vs this opponent: the window follows D's season (a 2025-26 row counts the meetings of
    # 2023-24, 2024-25 and 2025-26 before D), the same span for training and serving rows (rows of the
    # history's first two seasons see fewer seasons: there are none before)
    Feature(
        "vs_opp_pts_avg",
        "mean points against this opponent (games with minutes)",
        "previous 2 seasons + this one, to D-1",
        10.0,
    ),
    Feature(
        "vs_opp_games",
        "games with minutes against this opponent (none: default)",
        "previous 2 seasons + this one, to D-1",
        0.0,
    ),
    # venue, phase
    Feature("is_home", "1 at home", "D", 0.0),
    Feature("season_phase", "team games played this season / 82", "season to D-1", 0.0),
    Feature("season_games", "the player's games with minutes this season", "season to D-1", 0.0),
    # the last game
    Feature("pts_last_game", "points in the player's last game with minutes", "last game before D", 10.0),
    Feature("min_last_game", "minutes in the last game with minutes", "last game before D", 20.0),
    Feature("started_last_game", "1 when the player started his last game", "last game before D", 0.0),
    # last season (an off-season changes roles; early in a season the windows still hold last
    # season's final games). The player had no games last season: default; the history does not
    # hold last season: tagged no_history. Both count as not real in the quality score.
    Feature(
        "prev_season_games",
        "the player's games with minutes last season (0 when absent from it)",
        "last season",
        0.0,
    ),
    Feature("prev_pts_avg", "mean points last season", "last season", 10.0),
    Feature("prev_min_avg", "mean minutes last season", "last season", 20.0),
    Feature("prev_starter_share", "share of last season's games started", "last season", 0.3),
    Feature("prev_pts_l20", "mean points in last season's final 20 games", "last season", 10.0),
    Feature("prev_min_l20", "mean minutes in last season's final 20 games", "last season", 20.0),
    # team moves
    Feature(
        "team_changed",
        "1 when the player's last game was for another team than D's (a trade or signing)",
        "last game before D",
        0.0,
    ),
    Feature(
        "new_team_since_last_season",
        "1 when the player ended last season with another team",
        "last season",
        0.0,
    ),
    Feature(
        "games_with_team",
        "the player's games with minutes for D's team this season",
        "season to D-1",
        0.0,
    ),
    # availability (only when an injury report exists for D)
    Feature(
        "injury_status_code",
        "0 Available/none listed, 1 Probable, 2 Questionable, 3 Doubtful, 4 Out",
        "report before tip-off",
        0.0,
    ),
    Feature("teammates_out", "teammates listed Out on D's report", "report before tip-off", 0.0),
    # lines: line-aware variant only
    Feature(
        "consensus_line",
        "median over books of each book's latest main line before tip-off",
        "D, before tip-off",
        0.0,
        True,
    ),
    Feature(
        "opening_line", "median over books of each book's earliest main line", "D, before tip-off", 0.0, True
    ),
    Feature("line_move", "consensus_line minus opening_line", "D, before tip-off", 0.0, True),
    Feature("books_count", "books posting a main line", "D, before tip-off", 0.0, True),
)

BASE_FEATURES: tuple[str, ...] = tuple(f.name for f in FEATURES if not f.line_aware_only)
LINE_FEATURES: tuple[str, ...] = tuple(f.name for f in FEATURES if f.line_aware_only)
DEFAULTS: dict[str, float] = {f.name: f.default for f in FEATURES}


def markdown() -> str:
    rows = ["| feature | definition | window | default | model |", "|---|---|---|---|---|"]
    for f in FEATURES:
        rows.append(
            f"| `{f.name}` | {f.definition} | {f.window} | {f.default:g} | {'line-aware only' if f.line_aware_only else 'all'} |"
        )
    return "\n".join(rows)
