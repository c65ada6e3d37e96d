"""The feature store's logic: the vector of ``catalog.FEATURES`` for player-games, with no look-ahead.

Every feature of a row for game date D is taken from a *state* computed after some earlier game and
attached with an as-of join that is strictly before D (``allow_exact_matches=False``): rows on or after
D cannot reach a feature, whatever the inputs hold. ``test_lib_features`` proves it by recomputing
features from history truncated after D-1.

Inputs (contracts of the dbt context models):
* ``player_games``: context.player_game_summary rows (one per player on a box score);
* ``team_games``: context.team_game_summary rows (one per team-game);
* ``targets``: the player-games to describe: game_date, player_id, team_abbr, opponent_abbr, is_home
  (and, for expected players, injury and line columns from context.player_game_context).
"""

from __future__ import annotations

from datetime import date

import polars as pl

from nba_assets.lib.features.catalog import BASE_FEATURES, DEFAULTS, LINE_FEATURES

BLEND_GAMES = 10
# games_last_7d and fatigue count the games of the 7 days before D: at most one a day, so the last 7
# games hold them all (the last 4 did not: 5 games in 7 days happened, after rescheduled games)
WEEK_GAMES = 7
PREV_SEASON_FEATURES = (
    "prev_season_games",
    "prev_pts_avg",
    "prev_min_avg",
    "prev_starter_share",
    "prev_pts_l20",
    "prev_min_l20",
    "new_team_since_last_season",
)
# early-season features: (this season's column, last season's column); blended while this season holds
# fewer than BLEND_GAMES games, and tagged by where the value came from (data / blend / prev_season)
BLENDED: dict[str, tuple[str, str]] = {
    "pts_avg_season": ("season_pts_avg", "prev_pts_avg"),
    "ppm_season": ("season_ppm", "prev_ppm"),
    "min_avg_season": ("season_min_avg", "prev_min_avg"),
}
INJURY_CODES = {"Available": 0, "Probable": 1, "Questionable": 2, "Doubtful": 3, "Out": 4}
KEY = ["game_date", "player_id"]


def season_of(col: str = "game_date") -> pl.Expr:
    """NBA season label ("2025-26") of an ET game date: a date from August 1 on belongs to the season
    starting that year (the season tips off in October, its preseason in late September)."""
    year = pl.col(col).dt.year()
    start = pl.when(pl.col(col).dt.month() >= 8).then(year).otherwise(year - 1)
    return pl.format("{}-{}", start, ((start + 1) % 100).cast(pl.Utf8).str.zfill(2))


def prev_season(season: pl.Expr) -> pl.Expr:
    start = season.str.slice(0, 4).cast(pl.Int32) - 1
    return pl.format("{}-{}", start, ((start + 1) % 100).cast(pl.Utf8).str.zfill(2))


def _person_key(player_id: pl.Expr, name: pl.Expr) -> pl.Expr:
    """A person on the injury report: his NBA id, else (unresolved) the name the report prints."""
    return pl.coalesce(player_id.cast(pl.Utf8), pl.lit("name:") + name)


def _player_states(player_games: pl.DataFrame, team_games: pl.DataFrame) -> pl.DataFrame:
    """After-game state of each player for every game with minutes (rolling windows include it)."""
    team_usage = team_games.select(
        "game_id",
        "team_abbr",
        (pl.col("fga") + 0.44 * pl.col("fta") + pl.col("tov")).alias("team_usage"),
        pl.col("team_minutes"),
    )
    g = (
        player_games.filter(pl.col("played") & (pl.col("minutes") > 0))
        .join(team_usage, on=["game_id", "team_abbr"], how="left")
        .with_columns(
            season_of().alias("season"),
            (
                (pl.col("fga") + 0.44 * pl.col("fta") + pl.col("tov"))
                * (pl.col("team_minutes") / 5)
                / (pl.col("minutes") * pl.col("team_usage"))
            ).alias("usg"),
        )
        .sort("player_id", "game_date")
    )
    by_p = "player_id"

    def roll_mean(c: str, n: int) -> pl.Expr:
        return pl.col(c).cast(pl.Float64).rolling_mean(n, min_samples=1).over(by_p)

    def roll_sum(c: str, n: int) -> pl.Expr:
        return pl.col(c).cast(pl.Float64).rolling_sum(n, min_samples=1).over(by_p)

    def share(num: str, den: str, n: int) -> pl.Expr:
        """sum(num) / sum(den) over the last n games; null (undefined, so the default) when the
        denominator is 0: no FGA means no shooting mix nor percentage, no points no FT share."""
        return pl.when(roll_sum(den, n) > 0).then(roll_sum(num, n) / roll_sum(den, n))

    season_n = pl.int_range(1, pl.len() + 1).over(by_p, "season")
    return g.select(
        "player_id",
        pl.col("game_date").alias("state_date"),
        "season",
        roll_mean("pts", 5).alias("pts_avg_l5"),
        roll_mean("pts", 10).alias("pts_avg_l10"),
        pl.col("pts").cast(pl.Float64).rolling_std(10, min_samples=2).over(by_p).alias("pts_std_l10"),
        pl.col("pts").cast(pl.Float64).ewm_mean(half_life=5, adjust=True).over(by_p).alias("pts_ewm"),
        roll_mean("minutes", 10).alias("min_avg_l10"),
        roll_mean("minutes", 3).alias("min_avg_l3"),
        (roll_sum("pts", 10) / roll_sum("minutes", 10)).alias("ppm_l10"),
        roll_mean("starter", 10).alias("starter_share_l10"),
        pl.col("usg").rolling_mean(10, min_samples=1).over(by_p).alias("usage_share_l10"),
        roll_mean("fga", 10).alias("fga_avg_l10"),
        roll_mean("fta", 10).alias("fta_avg_l10"),
        share("fg3a", "fga", 10).alias("fg3a_share_l10"),
        share("ftm", "pts", 10).alias("ft_pts_share_l10"),
        share("fgm", "fga", 10).alias("fg_pct_l10"),
        season_n.alias("season_games_after"),
        (pl.col("pts").cast(pl.Float64).cum_sum().over(by_p, "season") / season_n).alias("season_pts_avg"),
        (pl.col("minutes").cum_sum().over(by_p, "season") / season_n).alias("season_min_avg"),
        # the last game itself, and the team it was played for
        pl.col("pts").cast(pl.Float64).alias("last_pts"),
        pl.col("minutes").cast(pl.Float64).alias("last_min"),
        pl.col("starter").cast(pl.Float64).alias("last_starter"),
        pl.col("team_abbr").alias("last_team"),
        pl.int_range(1, pl.len() + 1).over(by_p, "season", "team_abbr").alias("team_games_with"),
        (
            pl.col("pts").cast(pl.Float64).cum_sum().over(by_p, "season")
            / pl.col("minutes").cum_sum().over(by_p, "season")
        ).alias("season_ppm"),
        # the last WEEK_GAMES game dates and minutes, for windows counted in days before D
        *[pl.col("game_date").shift(i).over(by_p).alias(f"_d{i}") for i in range(WEEK_GAMES)],
        *[pl.col("minutes").shift(i).over(by_p).alias(f"_m{i}") for i in range(WEEK_GAMES)],
        pl.when(pl.col("position") != "")
        .then(pl.col("position"))
        .forward_fill()
        .over(by_p)
        .alias("last_position"),
    )


def _season_totals(player_games: pl.DataFrame) -> pl.DataFrame:
    """Each player's full-season profile, to describe the next season (its early games above all:
    an off-season changes roles, and the rolling windows still hold last season's final games)."""
    return (
        player_games.filter(pl.col("played") & (pl.col("minutes") > 0))
        .with_columns(season_of().alias("season"))
        .sort("player_id", "game_date")
        .group_by("player_id", "season")
        .agg(
            pl.col("pts").mean().alias("prev_pts_avg"),
            (pl.col("pts").sum() / pl.col("minutes").sum()).alias("prev_ppm"),
            pl.len().alias("prev_games"),
            pl.col("minutes").mean().alias("prev_min_avg"),
            pl.col("starter").cast(pl.Float64).mean().alias("prev_starter_share"),
            pl.col("pts").tail(20).cast(pl.Float64).mean().alias("prev_pts_l20"),
            pl.col("minutes").tail(20).mean().alias("prev_min_l20"),
            pl.col("team_abbr").last().alias("prev_team"),
        )
    )


def _team_states(team_games: pl.DataFrame) -> pl.DataFrame:
    t = team_games.with_columns(season_of().alias("season")).sort("team_abbr", "game_date")
    n = pl.int_range(1, pl.len() + 1).over("team_abbr", "season")
    return t.select(
        "team_abbr",
        pl.col("game_date").alias("state_date"),
        pl.col("season").alias("team_season"),
        pl.col("pace").rolling_mean(15, min_samples=1).over("team_abbr").alias("pace_l15"),
        pl.col("off_rating").rolling_mean(15, min_samples=1).over("team_abbr").alias("off_rating_l15"),
        pl.col("def_rating").rolling_mean(15, min_samples=1).over("team_abbr").alias("def_rating_l15"),
        (pl.col("win").cast(pl.Float64).cum_sum().over("team_abbr", "season") / n).alias("win_pct"),
        n.alias("team_games_after"),
    )


def _position_allowed(player_games: pl.DataFrame) -> pl.DataFrame:
    """Per defending team and position: points per starter allowed, rolling over 15 games."""
    starters = player_games.filter(pl.col("starter") & pl.col("position").is_in(["G", "F", "C"]))
    per_game = (
        starters.group_by("game_date", "game_id", pl.col("opponent_abbr").alias("def_team"), "position")
        .agg((pl.col("pts").sum() / pl.len()).alias("pts_per_starter"))
        .sort("def_team", "position", "game_date")
    )
    return per_game.select(
        "def_team",
        "position",
        pl.col("game_date").alias("state_date"),
        pl.col("pts_per_starter")
        .rolling_mean(15, min_samples=1)
        .over("def_team", "position")
        .alias("opp_pts_allowed_pos_l15"),
    )


def _vs_opponent(player_games: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """History against each opponent, in the documented window: the previous 2 seasons + D's season
    (strictly before D). Two parts, because the window depends on D's season, not on the meeting's:

    * ``running``: after-game state within a season (count, points, date), as-of joined for D's season;
    * ``totals``: each whole season (count, points, last date), joined for the two seasons before D's.
      Every game of an earlier season is before any D of a later one (seasons start on August 1)."""
    g = (
        player_games.filter(pl.col("played") & (pl.col("minutes") > 0))
        .with_columns(season_of().alias("season"), pl.col("pts").cast(pl.Float64))
        .sort("player_id", "opponent_abbr", "game_date")
    )
    by = ["player_id", "opponent_abbr", "season"]
    running = g.select(
        *by,
        pl.col("game_date").alias("vs_state_date"),
        pl.col("pts").cum_sum().over(by).alias("_vs_pts0"),
        pl.int_range(1, pl.len() + 1).over(by).alias("_vs_n0"),
    )
    totals = g.group_by(by).agg(
        pl.col("pts").sum().alias("_vs_pts"),
        pl.len().alias("_vs_n"),
        pl.col("game_date").max().alias("_vs_d"),
    )
    return running, totals


def _asof(
    left: pl.DataFrame, right: pl.DataFrame, by: list[str] | str, on: str = "state_date"
) -> pl.DataFrame:
    """Attach the latest ``right`` state (dated by ``on``) strictly before each left row's game_date.

    Both sides are sorted here, so polars' sortedness check (impossible with ``by``) is skipped."""
    return left.sort("game_date").join_asof(
        right.sort(on),
        left_on="game_date",
        right_on=on,
        by=by,
        strategy="backward",
        allow_exact_matches=False,
        check_sortedness=False,
    )


def build_features(
    targets: pl.DataFrame,
    player_games: pl.DataFrame,
    team_games: pl.DataFrame,
    injuries: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The feature vector for each target row (game_date, player_id, team_abbr, opponent_abbr, is_home,
    and optional line / injury columns). Returns targets' columns + features + ``sources`` (a struct of
    per-feature tags: data | blend | prev_season | report | line | default) + ``quality`` (0-100) +
    ``max_source_date`` (the newest game any feature used; always before game_date)."""
    t = targets.with_columns(season_of().alias("season"))
    for c, dtype in (
        ("injury_status", pl.Utf8),
        ("consensus_line", pl.Float64),
        ("opening_line", pl.Float64),
        ("books_count", pl.Int64),
    ):
        if c not in t.columns:
            t = t.with_columns(pl.lit(None, dtype).alias(c))

    ps = _player_states(player_games, team_games)
    t = _asof(t, ps.drop("season"), "player_id").rename({"state_date": "player_state_date"})
    t = t.join(
        _season_totals(player_games).rename({"season": "_prev"}),
        left_on=["player_id", prev_season(pl.col("season"))],
        right_on=["player_id", "_prev"],
        how="left",
    )
    if "_prev" in t.columns:
        t = t.drop("_prev")

    ts = _team_states(team_games)
    t = _asof(t, ts, "team_abbr").rename(
        {
            "state_date": "team_state_date",
            "pace_l15": "team_pace_l15",
            "off_rating_l15": "team_off_rating_l15",
            "def_rating_l15": "_team_def",
            "win_pct": "team_win_pct_raw",
            "team_games_after": "team_games",
            "team_season": "_team_season",
        }
    )
    opp = ts.rename(
        {
            "team_abbr": "opponent_abbr",
            "state_date": "opp_state_date",
            "pace_l15": "opp_pace_l15",
            "def_rating_l15": "opp_def_rating_l15",
        }
    ).select("opponent_abbr", "opp_state_date", "opp_pace_l15", "opp_def_rating_l15")
    t = _asof(t, opp, "opponent_abbr", on="opp_state_date")
    pos = _position_allowed(player_games).rename(
        {"def_team": "opponent_abbr", "position": "last_position", "state_date": "pos_state_date"}
    )
    t = _asof(t, pos, ["opponent_abbr", "last_position"], on="pos_state_date")
    vs_running, vs_totals = _vs_opponent(player_games)
    t = _asof(t, vs_running, ["player_id", "opponent_abbr", "season"], on="vs_state_date")
    t = t.with_columns(prev_season(pl.col("season")).alias("_s1")).with_columns(
        prev_season(pl.col("_s1")).alias("_s2")
    )
    for k in (1, 2):
        t = t.join(
            vs_totals.rename({c: f"{c}{k}" for c in ("_vs_pts", "_vs_n", "_vs_d")}),
            left_on=["player_id", "opponent_abbr", f"_s{k}"],
            right_on=["player_id", "opponent_abbr", "season"],
            how="left",
        )
    vs_n = pl.sum_horizontal("_vs_n0", "_vs_n1", "_vs_n2")
    t = t.with_columns(
        pl.when(vs_n > 0).then(vs_n.cast(pl.Float64)).alias("vs_opp_games"),
        pl.when(vs_n > 0)
        .then(pl.sum_horizontal("_vs_pts0", "_vs_pts1", "_vs_pts2") / vs_n)
        .alias("vs_opp_pts_avg"),
        # the newest meeting in the window (the whole-season parts are all before D's season)
        pl.max_horizontal("vs_state_date", "_vs_d1", "_vs_d2").alias("vs_state_date"),
    )

    # rest of the opponent, for rest advantage
    opp_rest = ts.select(
        pl.col("team_abbr").alias("opponent_abbr"), pl.col("state_date").alias("opp_last_game")
    )
    t = _asof(t, opp_rest, "opponent_abbr", on="opp_last_game")

    same_season = pl.col("_team_season") == pl.col("season")
    cur_season = pl.col("player_state_date").is_not_null() & (
        season_of("player_state_date") == pl.col("season")
    )
    n_cur = pl.when(cur_season).then(pl.col("season_games_after")).otherwise(0)
    # whether the history holds the previous season at all (else last-season features are unknown,
    # tagged "no_history"; a player absent from a season the history holds is tagged "default")
    seasons_held = player_games.select(season_of().alias("s")).unique()["s"].to_list()
    has_prev_archive = prev_season(pl.col("season")).is_in(seasons_held)
    w_cur = pl.min_horizontal(n_cur, pl.lit(BLEND_GAMES)) / BLEND_GAMES

    def blend(cur: str, prev: str) -> pl.Expr:
        c = pl.when(cur_season).then(pl.col(cur))
        return (
            pl.when(c.is_not_null() & pl.col(prev).is_not_null())
            .then(w_cur * c + (1 - w_cur) * pl.col(prev))
            .otherwise(pl.coalesce(c, pl.col(prev)))
        )

    def blend_tag(cur: str, prev: str) -> pl.Expr:
        c = pl.when(cur_season).then(pl.col(cur))
        return (
            pl.when(c.is_not_null() & (n_cur >= BLEND_GAMES))
            .then(pl.lit("data"))
            .when(c.is_not_null() & pl.col(prev).is_not_null())
            .then(pl.lit("blend"))
            .when(c.is_not_null())
            .then(pl.lit("data"))
            .when(pl.col(prev).is_not_null())
            .then(pl.lit("prev_season"))
            .otherwise(pl.lit("default"))
        )

    days_since = (pl.col("game_date") - pl.col("_d0")).dt.total_days()
    team_rest = (pl.col("game_date") - pl.col("team_state_date")).dt.total_days()
    opp_rest_days = (pl.col("game_date") - pl.col("opp_last_game")).dt.total_days()
    recent = [((pl.col("game_date") - pl.col(f"_d{i}")).dt.total_days() <= 7) for i in range(WEEK_GAMES)]
    games_7d = pl.sum_horizontal([r.fill_null(False).cast(pl.Int32) for r in recent])
    minutes_7d = pl.sum_horizontal(
        [pl.when(r.fill_null(False)).then(pl.col(f"_m{i}")).otherwise(0.0) for i, r in enumerate(recent)]
    )
    has_report = pl.lit(False)
    if injuries is not None and injuries.height:
        report_dates = injuries.select("game_date").unique().with_columns(pl.lit(True).alias("_has_report"))
        # each player listed Out, by id, or by the report's name when the resolver found no id (every
        # unresolved player counts: as a null id they all collapsed into one)
        outs = (
            injuries.filter(pl.col("status") == "Out")
            .group_by("game_date", "team_abbr")
            .agg(_person_key(pl.col("player_id"), pl.col("player_name")).alias("_out_ids"))
        )
        t = t.join(report_dates, on="game_date", how="left").join(
            outs, on=["game_date", "team_abbr"], how="left"
        )
        has_report = pl.col("_has_report").fill_null(False)
        teammates_out = (
            pl.col("_out_ids")
            .list.set_difference(pl.concat_list(_person_key(pl.col("player_id"), pl.lit(None, pl.Utf8))))
            .list.len()
            .fill_null(0)
        )
    else:
        teammates_out = pl.lit(0)

    raw_values = {
        "pts_avg_l5": pl.col("pts_avg_l5"),
        "pts_avg_l10": pl.col("pts_avg_l10"),
        "pts_avg_season": blend(*BLENDED["pts_avg_season"]),
        "pts_std_l10": pl.col("pts_std_l10"),
        "pts_trend": pl.col("pts_avg_l5") - pl.col("pts_avg_l10"),
        "pts_ewm": pl.col("pts_ewm"),
        "min_avg_l10": pl.col("min_avg_l10"),
        "min_avg_l3": pl.col("min_avg_l3"),
        "ppm_l10": pl.col("ppm_l10"),
        "ppm_season": blend(*BLENDED["ppm_season"]),
        "min_avg_season": blend(*BLENDED["min_avg_season"]),
        "games_last_7d": pl.when(pl.col("_d0").is_not_null()).then(games_7d.cast(pl.Float64)),
        "rest_days": pl.when(pl.col("_d0").is_not_null()).then(
            pl.min_horizontal(days_since, pl.lit(10)).cast(pl.Float64)
        ),
        "is_back_to_back": pl.when(pl.col("_d0").is_not_null()).then((days_since == 1).cast(pl.Float64)),
        "rest_advantage": (
            pl.min_horizontal(team_rest, pl.lit(5)) - pl.min_horizontal(opp_rest_days, pl.lit(5))
        ).cast(pl.Float64),
        "fatigue": pl.when(pl.col("_d0").is_not_null()).then(
            minutes_7d / 100 + (days_since == 1).cast(pl.Float64)
        ),
        "starter_share_l10": pl.col("starter_share_l10"),
        "usage_share_l10": pl.col("usage_share_l10"),
        "fga_avg_l10": pl.col("fga_avg_l10"),
        "fta_avg_l10": pl.col("fta_avg_l10"),
        "fg3a_share_l10": pl.col("fg3a_share_l10"),
        "ft_pts_share_l10": pl.col("ft_pts_share_l10"),
        "fg_pct_l10": pl.col("fg_pct_l10"),
        "team_pace_l15": pl.col("team_pace_l15"),
        "team_off_rating_l15": pl.col("team_off_rating_l15"),
        "team_win_pct": pl.when(same_season).then(pl.col("team_win_pct_raw")),
        "opp_def_rating_l15": pl.col("opp_def_rating_l15"),
        "opp_pace_l15": pl.col("opp_pace_l15"),
        "opp_pts_allowed_pos_l15": pl.col("opp_pts_allowed_pos_l15"),
        "vs_opp_pts_avg": pl.col("vs_opp_pts_avg"),
        "vs_opp_games": pl.col("vs_opp_games"),
        "is_home": pl.col("is_home").cast(pl.Float64),
        "season_phase": pl.when(same_season).then(pl.col("team_games") / 82.0),
        "season_games": n_cur.cast(pl.Float64),
        "pts_last_game": pl.col("last_pts"),
        "min_last_game": pl.col("last_min"),
        "started_last_game": pl.col("last_starter"),
        "prev_season_games": pl.when(has_prev_archive).then(
            pl.col("prev_games").fill_null(0).cast(pl.Float64)
        ),
        "prev_pts_avg": pl.col("prev_pts_avg"),
        "prev_min_avg": pl.col("prev_min_avg"),
        "prev_starter_share": pl.col("prev_starter_share"),
        "prev_pts_l20": pl.col("prev_pts_l20"),
        "prev_min_l20": pl.col("prev_min_l20"),
        "team_changed": pl.when(pl.col("last_team").is_not_null()).then(
            (pl.col("last_team") != pl.col("team_abbr")).cast(pl.Float64)
        ),
        "new_team_since_last_season": pl.when(pl.col("prev_team").is_not_null()).then(
            (pl.col("prev_team") != pl.col("team_abbr")).cast(pl.Float64)
        ),
        "games_with_team": pl.when(cur_season & (pl.col("last_team") == pl.col("team_abbr")))
        .then(pl.col("team_games_with").cast(pl.Float64))
        .when(pl.col("player_state_date").is_not_null())
        .then(0.0),
        "injury_status_code": pl.when(has_report).then(
            pl.col("injury_status").replace_strict(INJURY_CODES, default=0, return_dtype=pl.Float64)
        ),
        "teammates_out": pl.when(has_report).then(teammates_out.cast(pl.Float64)),
        "consensus_line": pl.col("consensus_line"),
        "opening_line": pl.col("opening_line"),
        "line_move": pl.col("consensus_line") - pl.col("opening_line"),
        "books_count": pl.col("books_count").cast(pl.Float64),
    }
    # a NaN (an undefined ratio) is a missing value: tagged default and filled with the default, like a
    # null (it was filled but tagged data, which overstated the quality score)
    raw_values = {name: expr.fill_nan(None) for name, expr in raw_values.items()}
    tags = {}
    for name, expr in raw_values.items():
        if name in BLENDED:
            tags[name] = blend_tag(*BLENDED[name])
        elif name in ("injury_status_code", "teammates_out"):
            tags[name] = pl.when(has_report).then(pl.lit("report")).otherwise(pl.lit("default"))
        elif name in LINE_FEATURES:
            tags[name] = pl.when(expr.is_not_null()).then(pl.lit("line")).otherwise(pl.lit("default"))
        elif name in ("team_win_pct", "season_phase"):
            tags[name] = (
                pl.when(expr.is_not_null())
                .then(pl.lit("data"))
                .when(pl.col("team_state_date").is_not_null())
                .then(pl.lit("new_season"))
                .otherwise(pl.lit("default"))
            )
        elif name in PREV_SEASON_FEATURES:
            tags[name] = (
                pl.when(expr.is_not_null())
                .then(pl.lit("prev_season"))
                .when(has_prev_archive)
                .then(pl.lit("default"))
                .otherwise(pl.lit("no_history"))
            )
        elif name == "season_games":
            tags[name] = (
                pl.when(pl.col("player_state_date").is_not_null())
                .then(pl.lit("data"))
                .otherwise(pl.lit("default"))
            )
        else:
            tags[name] = pl.when(expr.is_not_null()).then(pl.lit("data")).otherwise(pl.lit("default"))

    source_dates = [
        "player_state_date",
        "team_state_date",
        "opp_state_date",
        "pos_state_date",
        "vs_state_date",
        "opp_last_game",
    ]
    out = t.with_columns(
        *[expr.alias(f"__{name}") for name, expr in raw_values.items()],
        pl.struct([tag.alias(name) for name, tag in tags.items()]).alias("sources"),
        pl.max_horizontal(*source_dates).alias("max_source_date"),
    )
    out = out.with_columns(
        *[pl.col(f"__{name}").fill_null(DEFAULTS[name]).alias(name) for name in raw_values],
    )
    real = pl.sum_horizontal(
        [
            (~pl.col("sources").struct.field(n).is_in(["default", "no_history"])).cast(pl.Int32)
            for n in BASE_FEATURES
        ]
    )
    out = out.with_columns((100.0 * real / len(BASE_FEATURES)).round(1).alias("quality"))
    keep = (
        [c for c in targets.columns if c not in raw_values]
        + list(raw_values)
        + ["sources", "quality", "max_source_date"]
    )
    return out.select(keep).sort(KEY)


def training_targets(player_games: pl.DataFrame, dates: list[date]) -> pl.DataFrame:
    """Rows of players who actually played on ``dates``, with the label ``target_pts`` (points)."""
    return player_games.filter(
        pl.col("game_date").is_in(dates) & pl.col("played") & (pl.col("minutes") > 0)
    ).select(
        "game_date",
        "game_id",
        "player_id",
        "player_name",
        "team_abbr",
        "opponent_abbr",
        "is_home",
        pl.col("pts").cast(pl.Float64).alias("target_pts"),
        pl.col("minutes").alias("target_minutes"),
    )
