"""The feature builder on a small hand-made history: last-season, last-game and team-move features,
their source tags, and that nothing on or after D reaches a feature of D."""

from datetime import date, timedelta

import polars as pl
import pytest

from nba_assets.lib.features.build import build_features, season_of
from nba_assets.lib.features.catalog import BASE_FEATURES, DEFAULTS
from nba_assets.lib.grading import season_start_of

S1 = date(2023, 10, 24)  # 2023-24: the first season the history holds
S2 = date(2024, 10, 22)  # 2024-25


def _game(d: date, pid: int, team: str, opp: str, pts: int, minutes: float, starter: bool, n: int) -> dict:
    return {
        "game_id": f"g{d.isoformat()}{team}",
        "game_date": d,
        "player_id": pid,
        "team_abbr": team,
        "opponent_abbr": opp,
        "played": True,
        "minutes": minutes,
        "pts": pts,
        "fga": 10 + n % 3,
        "fta": 3,
        "tov": 2,
        "fgm": 5,
        "fg3a": 4,
        "ftm": 2,
        "starter": starter,
        "position": "G",
    }


def _history() -> tuple[pl.DataFrame, pl.DataFrame]:
    games = []
    # player 1: 2023-24 with BOS (4 games), 2024-25 with NYK (2 games so far)
    for i, pts in enumerate([10, 20, 30, 40]):
        games.append(_game(S1 + timedelta(days=2 * i), 1, "BOS", "MIA", pts, 30.0, i % 2 == 0, i))
    for i, pts in enumerate([12, 14]):
        games.append(_game(S2 + timedelta(days=2 * i), 1, "NYK", "MIA", pts, 24.0, False, i))
    # player 2: a rookie in 2024-25 (no 2023-24 games)
    for i, pts in enumerate([8, 9]):
        games.append(_game(S2 + timedelta(days=2 * i), 2, "NYK", "MIA", pts, 18.0, True, i))
    pg = pl.DataFrame(games)
    return pg, _teams(pg)


def _teams(
    pg: pl.DataFrame, pace: float = 100.0, off_rating: float = 112.0, def_rating: float = 110.0
) -> pl.DataFrame:
    return (
        pg.group_by("game_id", "game_date", "team_abbr")
        .agg(pl.col("fga").sum(), pl.col("fta").sum(), pl.col("tov").sum())
        .with_columns(
            pl.lit(240.0).alias("team_minutes"),
            pl.lit(pace).alias("pace"),
            pl.lit(off_rating).alias("off_rating"),
            pl.lit(def_rating).alias("def_rating"),
            pl.lit(True).alias("win"),
        )
    )


def _targets(d: date, pids: list[int], team: str = "NYK") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "game_date": [d] * len(pids),
            "player_id": pids,
            "team_abbr": [team] * len(pids),
            "opponent_abbr": ["MIA"] * len(pids),
            "is_home": [True] * len(pids),
        }
    )


def _row(frame: pl.DataFrame, pid: int) -> dict:
    return frame.filter(pl.col("player_id") == pid).to_dicts()[0]


def test_last_season_last_game_and_team_move_features() -> None:
    pg, tg = _history()
    d = S2 + timedelta(days=4)  # player 1's third game with NYK
    out = build_features(_targets(d, [1, 2]), pg, tg)
    p1, p2 = _row(out, 1), _row(out, 2)
    assert p1["prev_season_games"] == 4
    assert p1["prev_pts_avg"] == pytest.approx(25.0)
    assert p1["prev_min_avg"] == pytest.approx(30.0)
    assert p1["prev_starter_share"] == pytest.approx(0.5)
    assert p1["prev_pts_l20"] == pytest.approx(25.0)  # fewer than 20 games: all of them
    assert p1["new_team_since_last_season"] == 1.0
    assert p1["team_changed"] == 0.0  # his last game was already for NYK
    assert p1["games_with_team"] == 2.0
    assert p1["pts_last_game"] == 14.0 and p1["min_last_game"] == 24.0 and p1["started_last_game"] == 0.0
    # two games this season: the season minutes blend 20% this season (24) with 80% last season (30)
    assert p1["min_avg_season"] == pytest.approx(0.2 * 24 + 0.8 * 30)
    assert p1["sources"]["prev_pts_avg"] == "prev_season"
    # the rookie: zero games last season is a fact; his last-season averages are unknown (defaults)
    assert p2["prev_season_games"] == 0.0
    assert p2["sources"]["prev_season_games"] == "prev_season"
    assert p2["prev_pts_avg"] == DEFAULTS["prev_pts_avg"]
    assert p2["sources"]["prev_pts_avg"] == "default"
    assert p2["sources"]["new_team_since_last_season"] == "default"


def test_first_game_for_a_new_team_and_history_without_last_season() -> None:
    pg, tg = _history()
    # player 1 traded to PHI: D's team differs from his last game's team
    out = build_features(_targets(S2 + timedelta(days=4), [1], team="PHI"), pg, tg)
    p1 = _row(out, 1)
    assert p1["team_changed"] == 1.0 and p1["games_with_team"] == 0.0
    # in 2023-24 the history holds no previous season: tagged no_history, which the quality score
    # counts as not real (and the null-share check does not count as a default)
    early = build_features(_targets(S1 + timedelta(days=4), [1], team="BOS"), pg, tg)
    e1 = _row(early, 1)
    assert e1["sources"]["prev_pts_avg"] == "no_history"
    assert e1["sources"]["prev_season_games"] == "no_history"
    not_real = sum(e1["sources"][n] in ("default", "no_history") for n in BASE_FEATURES)
    assert e1["quality"] == pytest.approx(
        round(100 * (len(BASE_FEATURES) - not_real) / len(BASE_FEATURES), 1)
    )
    assert e1["quality"] < 100


def test_a_season_runs_from_august_1_as_the_graded_season_does() -> None:
    """The features' season (season averages, last season's profile, games with the team) starts on
    August 1, the first day of grading's season windows: a late-September preseason or an October
    opener belongs to the new season, a July date to the one before."""
    days = [date(2025, 7, 31), date(2025, 8, 1), date(2025, 9, 30), date(2025, 10, 21), date(2026, 6, 15)]
    labels = pl.DataFrame({"game_date": days}).select(season_of()).to_series().to_list()
    assert labels == ["2024-25", "2025-26", "2025-26", "2025-26", "2025-26"]
    assert [f"{season_start_of(d).year}-{(season_start_of(d).year + 1) % 100:02d}" for d in days] == labels


def test_no_feature_of_d_reads_games_on_or_after_d() -> None:
    pg, tg = _history()
    d = S2 + timedelta(days=2)  # player 1 and 2 played on D
    before = build_features(_targets(d, [1, 2]), pg, tg)
    # change every stat on and after D: nothing of D may move
    later = pg.filter(pl.col("game_date") >= d).with_columns(
        pl.lit(99, pl.Int64).alias("pts"), pl.lit(48.0).alias("minutes"), pl.lit("LAL").alias("team_abbr")
    )
    poisoned = pl.concat([pg.filter(pl.col("game_date") < d), later])
    after = build_features(_targets(d, [1, 2]), poisoned, tg)
    names = list(BASE_FEATURES)
    assert before.select(names).equals(after.select(names))
    assert (before["max_source_date"] < d).all()


def test_history_against_the_opponent_is_the_previous_two_seasons_and_this_one() -> None:
    """The window depends on D's season: a 2025-26 row counts 2023-24, 2024-25 and 2025-26 meetings
    before D, not 2022-23's (the cumulative count did, unless the newest meeting was 3 years old)."""
    meetings = [
        (date(2022, 11, 1), 50),  # 2022-23: outside a 2025-26 row's window, inside a 2024-25 row's
        (date(2023, 11, 1), 10),  # 2023-24
        (date(2024, 11, 1), 20),  # 2024-25
        (date(2025, 11, 1), 30),  # 2025-26, before D
        (date(2025, 11, 10), 99),  # D itself: never read
    ]
    games = [_game(d, 1, "NYK", "MIA", pts, 30.0, True, i) for i, (d, pts) in enumerate(meetings)]
    # player 2 met MIA only in 2022-23
    games.append(_game(date(2022, 11, 1), 2, "NYK", "MIA", 8, 20.0, True, 0))
    games.append(_game(date(2025, 11, 1), 2, "NYK", "BOS", 8, 20.0, True, 0))
    pg = pl.DataFrame(games)
    tg = _teams(pg)
    d = date(2025, 11, 10)
    out = build_features(_targets(d, [1, 2]), pg, tg)
    p1, p2 = _row(out, 1), _row(out, 2)
    assert p1["vs_opp_games"] == 3.0
    assert p1["vs_opp_pts_avg"] == pytest.approx((10 + 20 + 30) / 3)
    assert p1["sources"]["vs_opp_games"] == "data"
    assert p2["vs_opp_games"] == DEFAULTS["vs_opp_games"]
    assert p2["vs_opp_pts_avg"] == DEFAULTS["vs_opp_pts_avg"]
    assert p2["sources"]["vs_opp_pts_avg"] == "default" and p2["sources"]["vs_opp_games"] == "default"
    # a 2024-25 row: 2022-23 and 2023-24 are its previous two seasons
    p1_2024 = _row(build_features(_targets(date(2024, 12, 1), [1]), pg, tg), 1)
    assert p1_2024["vs_opp_games"] == 3.0
    assert p1_2024["vs_opp_pts_avg"] == pytest.approx((50 + 10 + 20) / 3)
    # as-of: the same features from the history truncated before D
    cut = build_features(_targets(d, [1, 2]), pg.filter(pl.col("game_date") < d), _teams(pg))
    names = ["vs_opp_games", "vs_opp_pts_avg"]
    assert out.select(names).equals(cut.select(names))
    assert out.filter(pl.col("player_id") == 1)["max_source_date"].item() == date(2025, 11, 1)


def test_undefined_shooting_ratios_are_tagged_default_and_lower_quality() -> None:
    """0/0 ratios (no FGA, or no points, in the last 10 games) are undefined: they take the default and
    are tagged default, so the quality score does not count them as real data."""
    pg, _ = _history()
    extra = []
    for i in range(2):  # player 3: two games, no shot, no point
        g = _game(S2 + timedelta(days=2 * i), 3, "NYK", "MIA", 0, 4.0, False, i)
        extra.append(g | {"fga": 0, "fgm": 0, "fg3a": 0, "fta": 0, "ftm": 0})
    for i in range(2):  # player 4: shots, all missed, no point
        g = _game(S2 + timedelta(days=2 * i), 4, "NYK", "MIA", 0, 6.0, False, i)
        extra.append(g | {"fga": 2, "fgm": 0, "fg3a": 1, "fta": 0, "ftm": 0})
    pg = pl.concat([pg, pl.DataFrame(extra)])
    out = build_features(_targets(S2 + timedelta(days=4), [2, 3, 4]), pg, _teams(pg))
    p2, p3, p4 = _row(out, 2), _row(out, 3), _row(out, 4)
    ratios = ("fg3a_share_l10", "fg_pct_l10", "ft_pts_share_l10")
    assert p3["fga_avg_l10"] == 0.0 and p3["sources"]["fga_avg_l10"] == "data"
    for name in ratios:
        assert p3[name] == DEFAULTS[name]
        assert p3["sources"][name] == "default", name
    # with attempts, 0 of 2 is a real 0 %; only the free-throw share of 0 points is undefined
    assert p4["fg_pct_l10"] == 0.0 and p4["sources"]["fg_pct_l10"] == "data"
    assert p4["fg3a_share_l10"] == pytest.approx(0.5) and p4["sources"]["fg3a_share_l10"] == "data"
    assert p4["ft_pts_share_l10"] == DEFAULTS["ft_pts_share_l10"]
    assert p4["sources"]["ft_pts_share_l10"] == "default"
    # the quality score follows the tags: player 3 is a rookie with two games, like player 2, who shot
    not_real = {r["player_id"]: sum(r["sources"][n] == "default" for n in BASE_FEATURES) for r in (p2, p3)}
    assert not_real[3] == not_real[2] + 3
    assert p3["quality"] < p2["quality"]
    assert p3["quality"] == pytest.approx(
        round(100 * (len(BASE_FEATURES) - not_real[3]) / len(BASE_FEATURES), 1)
    )
    # no NaN and no null reaches a feature
    for name in BASE_FEATURES:
        assert out[name].null_count() == 0 and not out[name].is_nan().any(), name


def test_a_training_row_has_the_team_he_played_for_and_the_expected_row_the_pre_game_one() -> None:
    """Player 1 was expected (pre-game, his last team) in a BOS game on D, but the box score shows him
    playing for NYK: the training row carries NYK, its game and opponent and his points; the expected
    row keeps the pre-game view (no outcome). Player 2, expected where he played, is one row."""
    from nba_assets.lib.features.store import feature_rows

    pg, tg = _history()
    pg = pg.with_columns(
        pl.format("Player {}", pl.col("player_id")).alias("player_name"), pl.lit(True).alias("is_home")
    )
    d = S2 + timedelta(days=4)
    box_d = pl.DataFrame(
        [
            _game(d, 1, "NYK", "MIA", 21, 31.0, True, 0),
            _game(d, 2, "NYK", "MIA", 7, 15.0, True, 0),
        ]
    ).with_columns(
        pl.format("Player {}", pl.col("player_id")).alias("player_name"), pl.lit(True).alias("is_home")
    )
    pg = pl.concat([pg, box_d.select(pg.columns)])
    expected = pl.DataFrame(
        {
            "game_date": [d, d],
            "game_id": [f"g{d.isoformat()}BOS", f"g{d.isoformat()}NYK"],
            "player_id": [1, 2],
            "player_name": ["Player 1", "Player 2"],
            "team_abbr": ["BOS", "NYK"],
            "opponent_abbr": ["CHI", "MIA"],
            "is_home": [False, True],
            "consensus_line": [18.5, None],
        }
    )
    out = feature_rows([d], expected, pg, tg).sort("player_id", "played")
    rows = out.select(
        "player_id", "game_id", "team_abbr", "opponent_abbr", "is_expected", "played", "target_pts"
    ).rows()
    assert rows == [
        (1, f"g{d.isoformat()}BOS", "BOS", "CHI", True, False, None),
        (1, f"g{d.isoformat()}NYK", "NYK", "MIA", False, True, 21.0),
        (2, f"g{d.isoformat()}NYK", "NYK", "MIA", True, True, 7.0),
    ]
    # the expected row is the one a prediction uses; the line stays on it
    assert out.filter(pl.col("is_expected") & (pl.col("player_id") == 1))["consensus_line"].item() == 18.5
    # the features of each row follow its own team: his first NYK game is not a team change for the
    # training row, it is one for the expected BOS row
    by_team = {r["team_abbr"]: r for r in out.filter(pl.col("player_id") == 1).to_dicts()}
    assert by_team["NYK"]["team_changed"] == 0.0 and by_team["BOS"]["team_changed"] == 1.0


def test_preseason_and_all_star_games_are_neither_rows_nor_history() -> None:
    """The feature store leaves out preseason (001) and All-Star (003) games, even from context rows
    written before the staging views did: a preseason game four days before the opener would change
    the opener's rest days, 7-day workload, recent averages and season games, which the model, trained
    on an archive without preseason games, never saw."""
    from nba_assets.lib.features.store import feature_rows

    pg, tg = _history()
    pg = pg.with_columns(pl.format("P{}", "player_id").alias("player_name"), pl.lit(True).alias("is_home"))
    exhibition = []
    for prefix, day in (("001", S2 - timedelta(days=4)), ("003", S2 - timedelta(days=2))):
        for pid in (1, 2):
            game = _game(day, pid, "NYK", "MIA", 40, 36.0, True, 0) | {"game_id": f"{prefix}2400001"}
            exhibition.append(game | {"player_name": f"P{pid}", "is_home": True})
    pre = pl.DataFrame(exhibition).select(pg.columns)
    pre_teams = _teams(pre, pace=130.0, off_rating=140.0, def_rating=90.0).select(tg.columns)
    expected = _targets(S2, [1, 2]).with_columns(pl.lit(f"g{S2.isoformat()}NYK").alias("game_id"))
    clean = feature_rows([S2], expected, pg, tg)
    mixed = feature_rows([S2], expected, pl.concat([pg, pre]), pl.concat([tg, pre_teams]))
    assert clean.height == 2 and mixed.equals(clean)
    assert clean.filter(pl.col("player_id") == 1)["season_games"].item() == 0.0
    # an expected row of a preseason game is no row at all
    day = S2 - timedelta(days=4)
    pre_expected = _targets(day, [1, 2]).with_columns(pl.lit("0012400001").alias("game_id"))
    assert feature_rows([day], pre_expected, pl.concat([pg, pre]), pl.concat([tg, pre_teams])).is_empty()


def test_a_day_without_games_has_the_columns_of_a_day_with_games() -> None:
    """An off day, the All-Star break or a preseason-only day has no feature rows, but its empty frame is
    stored like any other partition: it returned the context columns only, the warehouse refused it as a
    schema change ("pts_avg_l5: stored DOUBLE, missing from the new rows"), and every daily run of such a
    day (overnight, morning slate, `dagster asset materialize --partition`) failed at the features step."""
    from nba_assets.lib.features.store import feature_rows

    pg, tg = _history()
    pg = pg.with_columns(pl.format("P{}", "player_id").alias("player_name"), pl.lit(True).alias("is_home"))
    expected = _targets(S2, [1, 2]).with_columns(pl.lit(f"g{S2.isoformat()}NYK").alias("game_id"))
    with_games = feature_rows([S2], expected, pg, tg)
    assert with_games.height == 2
    off_day = feature_rows([S2 + timedelta(days=1)], expected, pg, tg)
    assert off_day.is_empty()
    assert off_day.schema == with_games.schema


@pytest.mark.parametrize("name", ["pts_avg_season", "ppm_season", "min_avg_season"])
def test_each_early_season_blend_is_tagged_by_where_its_value_came_from(name: str) -> None:
    """The three season features blend last season in early (DESIGN s6), and each one's source tag says
    where its value came from: ``prev_season`` before his first game of the season, ``blend`` while this
    season holds fewer than 10 games, ``data`` after. ``min_avg_season`` was tagged ``data`` in every
    case (5,651 of the 7,678 feature rows of 2025-10-21..11-20 were last season's minutes or a blend)."""
    pg, tg = _history()
    # player 1 before his first 2024-25 game: last season only; then two games in: a blend
    opener = _row(build_features(_targets(S2, [1]), pg, tg), 1)
    assert opener["sources"][name] == "prev_season"
    assert opener["min_avg_season"] == pytest.approx(30.0)  # last season's minutes
    two_in = _row(build_features(_targets(S2 + timedelta(days=4), [1]), pg, tg), 1)
    assert two_in["sources"][name] == "blend"
    # ten games into the season: this season's value alone
    ten = [_game(S2 + timedelta(days=2 * i), 3, "NYK", "MIA", 10, 20.0, False, i) for i in range(10)]
    ten += [_game(S1, 3, "NYK", "MIA", 30, 35.0, True, 0)]
    pg3 = pl.DataFrame(ten)
    full = _row(build_features(_targets(S2 + timedelta(days=20), [3]), pg3, _teams(pg3)), 3)
    assert full["sources"][name] == "data"
    assert full["min_avg_season"] == pytest.approx(20.0)


def test_games_and_minutes_of_the_last_7_days_count_every_game_of_them() -> None:
    """``games_last_7d`` and ``fatigue`` count every game of the 7 days before D. Only the last 4 games
    were looked at, so a fifth game in the week was lost (real: 5 Lakers rows of 2025-03-20, after five
    games in seven days, stored as 4)."""
    d = S2 + timedelta(days=10)
    # five games in the 7 days before D (D-7, D-6, D-4, D-3, D-1), 20 minutes each, and one older
    days = [d - timedelta(days=k) for k in (9, 7, 6, 4, 3, 1)]
    pg = pl.DataFrame([_game(g, 1, "NYK", "MIA", 10, 20.0, False, i) for i, g in enumerate(days)])
    p1 = _row(build_features(_targets(d, [1]), pg, _teams(pg)), 1)
    assert p1["games_last_7d"] == 5.0
    assert p1["fatigue"] == pytest.approx(5 * 20.0 / 100 + 1.0)  # back-to-back: played on D-1


def test_teammates_out_counts_every_teammate_listed_out_resolved_or_not() -> None:
    """``teammates_out`` counts the teammates D's report lists Out. A name the resolver could not match
    has no id; every such player counted as one null, so three unresolved teammates Out counted 1."""
    pg, tg = _history()
    d = S2 + timedelta(days=4)
    report = pl.DataFrame(
        {
            "game_date": [d] * 6,
            "team_abbr": ["NYK", "NYK", "NYK", "NYK", "NYK", "MIA"],
            "player_name": ["Two, Player", "Doe, John", "Roe, Jim", "Poe, Ed", "One, Player", "Foe, Al"],
            "player_id": [2, None, None, None, 1, 9],
            "status": ["Out", "Out", "Out", "Out", "Questionable", "Out"],
        },
        schema_overrides={"player_id": pl.Int64},
    )
    out = build_features(
        _targets(d, [1, 2]).with_columns(pl.lit(None, pl.Utf8).alias("injury_status")), pg, tg, report
    )
    # player 1: player 2 and the three unresolved teammates (not MIA's player, not himself)
    assert _row(out, 1)["teammates_out"] == 4.0
    # player 2 is Out himself: his three unresolved teammates
    assert _row(out, 2)["teammates_out"] == 3.0
    assert _row(out, 1)["sources"]["teammates_out"] == "report"


@pytest.mark.parametrize(("gap", "rest"), [(1, 1.0), (2, 2.0), (9, 9.0), (10, 10.0), (11, 10.0), (40, 10.0)])
def test_rest_days_count_days_since_the_last_game_capped_at_10(gap: int, rest: float) -> None:
    """docs/FEATURES.md: days since the player's last game with minutes, capped at 10 (a cap moved to
    11 survived the suite in a mutation audit); back-to-back only at 1 day."""
    d = S2 + timedelta(days=60)
    pg = pl.DataFrame([_game(d - timedelta(days=gap), 1, "NYK", "MIA", 10, 20.0, False, 0)])
    p1 = _row(build_features(_targets(d, [1]), pg, _teams(pg)), 1)
    assert p1["rest_days"] == rest
    assert p1["is_back_to_back"] == (1.0 if gap == 1 else 0.0)


def test_the_last_10_and_last_5_windows_hold_exactly_10_and_5_games() -> None:
    """docs/FEATURES.md: ``pts_avg_l10`` is the mean of the last 10 games (mutant F17, a window of 9,
    survived the suite: no test history held more than 9 games of a player)."""
    d = S2 + timedelta(days=30)
    pg = pl.DataFrame(
        [_game(S2 + timedelta(days=2 * i), 1, "NYK", "MIA", i + 1, 20.0, False, i) for i in range(12)]
    )
    p1 = _row(build_features(_targets(d, [1]), pg, _teams(pg)), 1)
    assert p1["pts_avg_l10"] == pytest.approx(sum(range(3, 13)) / 10)  # games 3..12
    assert p1["pts_avg_l5"] == pytest.approx(sum(range(8, 13)) / 5)
    assert p1["pts_trend"] == pytest.approx(10.0 - 7.5)
    assert p1["season_games"] == 12.0


def test_a_game_without_minutes_is_no_history_and_no_training_row() -> None:
    """A box-score row marked played with 0 minutes is no game "with minutes" (docs/FEATURES.md): it is
    neither a training row (mutant F12 survived the suite) nor the player's last game, in his windows
    or in his 7-day workload (F15 survived)."""
    from nba_assets.lib.features.build import training_targets

    pg, tg = _history()
    d = S2 + timedelta(days=4)
    zero = pl.DataFrame([_game(d - timedelta(days=1), 1, "NYK", "MIA", 0, 0.0, False, 0)]).select(pg.columns)
    with_zero = pl.concat([pg, zero])
    named = with_zero.with_columns(pl.lit("P").alias("player_name"), pl.lit(True).alias("is_home"))
    assert training_targets(named, [d - timedelta(days=1)]).is_empty()
    assert training_targets(named, [S2 + timedelta(days=2)])["target_pts"].to_list() == [14.0, 9.0]
    without = build_features(_targets(d, [1, 2]), pg, tg)
    assert build_features(_targets(d, [1, 2]), with_zero, tg).equals(without)
    assert _row(without, 1)["rest_days"] == 2.0 and _row(without, 1)["pts_last_game"] == 14.0


def test_the_team_s_win_share_and_season_phase_start_over_with_a_new_season() -> None:
    """``team_win_pct`` and ``season_phase`` are this season's (docs/FEATURES.md: "season to D-1"): on
    BOS's first game of 2024-25, its 2023-24 games are no evidence, the defaults with the tag
    ``new_season`` (mutants F13 and F19, last season's values, survived the suite)."""
    pg, tg = _history()
    bos = _row(build_features(_targets(S2, [1], team="BOS"), pg, tg), 1)
    assert bos["team_win_pct"] == DEFAULTS["team_win_pct"] and bos["sources"]["team_win_pct"] == "new_season"
    assert bos["season_phase"] == DEFAULTS["season_phase"] and bos["sources"]["season_phase"] == "new_season"
    # within 2023-24 the same team's values are its season's: 4 games, all won
    late = _row(build_features(_targets(S1 + timedelta(days=10), [1], team="BOS"), pg, tg), 1)
    assert late["team_win_pct"] == 1.0 and late["season_phase"] == pytest.approx(4 / 82)
    assert late["sources"]["team_win_pct"] == "data"


def test_the_quality_check_judges_by_the_decisions_quality_threshold() -> None:
    """The features' quality check counts the rows the predictions PASS as ``low_quality``: the
    threshold is ``DecisionConfig.quality_min``, not a second number kept beside it."""
    from nba_assets.lib.features.store import MAX_LOW_QUALITY_SHARE, check_quality
    from nba_assets.lib.modeling.config import DECISIONS

    q = DECISIONS.quality_min
    rows = pl.DataFrame({"is_expected": [True] * 4, "quality": [q - 0.1, q, q + 10, q + 20]})
    judged = check_quality(rows)
    assert judged.metadata["threshold"] == q and judged.metadata["share_below_threshold"] == 0.25
    assert judged.passed == (0.25 <= MAX_LOW_QUALITY_SHARE)
    stricter = check_quality(rows, threshold=q + 15)
    assert stricter.metadata["share_below_threshold"] == 0.75 and not stricter.passed


def test_the_history_check_names_the_dates_whose_games_have_no_box_scores() -> None:
    """Games of the 3 days before each date must be in the history (games with box scores); a
    postponed game, a preseason or All-Star game, and a game more than 3 days back are not required."""
    from nba_assets.lib.features.store import check_history_current

    d = date(2025, 11, 5)
    schedule = pl.DataFrame(
        {
            "game_date": [d - timedelta(days=k) for k in (1, 1, 1, 2, 4)] + [d - timedelta(days=1)] * 2,
            "game_id": ["0022500201", "0022500202", "0022500203", "0022500190", "0022500170"]
            + ["0012500001", "0032500001"],
            "status": ["final", "scheduled", "postponed", "final", "final", "final", "final"],
        }
    )
    held = pl.DataFrame({"game_id": ["0022500190"], "game_date": [d - timedelta(days=2)]})
    stale = check_history_current([d], schedule, held)
    assert not stale.passed
    assert stale.metadata["dates_without_box_scores"] == ["2025-11-04"]
    assert stale.metadata["games_without_box_scores"] == 2 and stale.metadata["first_games"] == [
        "0022500201",
        "0022500202",
    ]
    both = pl.concat(
        [
            held,
            schedule.filter(pl.col("game_id").is_in(["0022500201", "0022500202"])).select(
                "game_id", "game_date"
            ),
        ]
    )
    assert check_history_current([d], schedule, both).passed
    # a range judges each of its dates' 3 days: 11-04 looks back on 11-01, whose game has no box scores
    ranged = check_history_current([d - timedelta(days=1), d], schedule, both)
    assert ranged.metadata["dates_without_box_scores"] == ["2025-11-01"]
