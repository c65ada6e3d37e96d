"""Grading readiness and results around a postponed game (pure functions on hand-made rows)."""

from datetime import date, timedelta

import polars as pl
import pytest

from nba_assets.lib import grading
from nba_assets.lib.modeling.decisions import american_profit

D = date(2025, 11, 5)


def _schedule(statuses: dict[str, str]) -> pl.DataFrame:
    """Every game HOM (home) against AWY, final ones 20-20."""
    n = len(statuses)
    final = [s == "final" for s in statuses.values()]
    return pl.DataFrame(
        {
            "game_id": list(statuses),
            "game_date": [D] * n,
            "status": list(statuses.values()),
            "home_abbr": ["HOM"] * n,
            "away_abbr": ["AWY"] * n,
            "home_pts": [20 if f else None for f in final],
            "away_pts": [20 if f else None for f in final],
        }
    )


def _box(game_ids: list[str], teams: tuple[str, ...] = ("HOM", "AWY")) -> pl.DataFrame:
    """One 20-point player per team of each game: player i+1 for HOM, 100+i+1 for AWY."""
    rows = [
        {"game_id": g, "team_abbr": t, "player_id": (100 if t == "AWY" else 0) + i + 1}
        for i, g in enumerate(game_ids)
        for t in teams
    ]
    return pl.DataFrame(
        rows, schema={"game_id": pl.Utf8, "team_abbr": pl.Utf8, "player_id": pl.Int64}
    ).with_columns(game_date=pl.lit(D), pts=pl.lit(20, pl.Int64), minutes=pl.lit(30.0))


def _preds(game_dates: list[date], game_ids: list[str], player_ids: list[int]) -> pl.DataFrame:
    """OVER calls at -110 on an 18.5 line, predicted 21."""
    n = len(game_ids)
    return pl.DataFrame(
        {
            "game_date": game_dates,
            "game_id": game_ids,
            "player_id": player_ids,
            "line": [18.5] * n,
            "predicted_points": [21.0] * n,
            "recommendation": ["OVER"] * n,
            "over_price": [-110] * n,
            "under_price": [-110] * n,
        }
    )


def test_a_postponed_game_does_not_hold_back_the_days_grading() -> None:
    ready = grading.readiness(_schedule({"g1": "final", "g2": "postponed"}), _box(["g1"]))
    assert ready.passed
    assert ready.metadata["postponed"] == ["g2"] and ready.metadata["not_final"] == []


def test_a_game_still_scheduled_or_live_or_without_box_score_blocks() -> None:
    assert not grading.readiness(_schedule({"g1": "final", "g2": "live"}), _box(["g1"])).passed
    assert not grading.readiness(_schedule({"g1": "final", "g2": "scheduled"}), _box(["g1"])).passed
    missing = grading.readiness(_schedule({"g1": "final", "g2": "final"}), _box(["g1"]))
    assert not missing.passed and missing.metadata["final_without_box_score"] == ["g2"]


def test_a_box_score_missing_a_team_blocks_grading_naming_the_game_and_team() -> None:
    """Only the home team's players on g2's box score: its away players would grade VOID."""
    box = pl.concat([_box(["g1"]), _box(["g2"], teams=("HOM",))])
    ready = grading.readiness(_schedule({"g1": "final", "g2": "final"}), box)
    assert not ready.passed
    assert ready.metadata["final_missing_a_team"] == ["g2 AWY (away)"]
    assert ready.metadata["final_without_box_score"] == []
    assert grading.readiness(_schedule({"g1": "final", "g2": "final"}), _box(["g1", "g2"])).passed


def test_a_box_score_that_does_not_add_up_to_the_final_score_blocks_grading() -> None:
    """g2's home players sum to 18 of the home team's final 20 (a partial or stale box score): the raw
    check stops the overnight job, and readiness now stops a hand-run grade job too, naming the game,
    the team, the players' sum and the final score."""
    short = _box(["g1", "g2"]).with_columns(
        pts=pl.when((pl.col("game_id") == "g2") & (pl.col("team_abbr") == "HOM"))
        .then(18)
        .otherwise(pl.col("pts"))
    )
    ready = grading.readiness(_schedule({"g1": "final", "g2": "final"}), short)
    assert not ready.passed
    assert ready.metadata["final_points_mismatch"] == ["g2 HOM (home): players 18, final score 20"]
    assert ready.metadata["final_missing_a_team"] == [] and ready.metadata["final_without_box_score"] == []
    # the same day adding up is ready
    ready = grading.readiness(_schedule({"g1": "final", "g2": "final"}), _box(["g1", "g2"]))
    assert ready.passed and ready.metadata["final_points_mismatch"] == []


def test_grades_materialized_without_the_readiness_check_refuse_a_box_score_not_adding_up(tmp_path) -> None:
    """Both grading assets run alone (a UI materialization, a run without the blocking check) guard
    themselves with the same readiness: they fail instead of grading, naming the team-game."""
    import dagster as dg

    from nba_assets.defs.grading.assets import prediction_grades, published_grades
    from nba_assets.defs.resources import LocalObjectStoreResource

    box = _box(["g1"]).with_columns(
        pts=pl.when(pl.col("team_abbr") == "AWY").then(18).otherwise(pl.col("pts"))
    )
    inputs = {
        "predictions": _preds([D], ["g1"], [1]),
        "box_scores": box,
        "schedule_rows": _schedule({"g1": "final"}),
        "injuries": pl.DataFrame(),
    }
    published = {"props": pl.DataFrame(), "object_store": LocalObjectStoreResource(root=str(tmp_path))}
    for run in (
        lambda ctx: list(prediction_grades(ctx, **inputs)),
        lambda ctx: published_grades(ctx, **inputs, **published),
    ):
        with pytest.raises(dg.Failure) as failure:
            run(dg.build_asset_context(partition_key=D.isoformat()))
        assert "not adding up to the final scores" in str(failure.value.description)
        assert failure.value.metadata["final_points_mismatch"].data == [
            "g1 AWY (away): players 18, final score 20"
        ]


def test_points_are_compared_only_for_the_final_modeled_games_and_a_missing_team_is_named_once() -> None:
    """A preseason game whose box score does not add up and a postponed game with stray rows never hold
    the day back; a team missing from its box score is named as missing, not again as a mismatch."""
    schedule = _schedule({"0022500200": "final", "0012500001": "final", "0022500201": "postponed"})
    box = _box(["0022500200", "0012500001", "0022500201"]).with_columns(
        pts=pl.when(pl.col("game_id") == "0022500200").then(pl.col("pts")).otherwise(7)
    )
    ready = grading.readiness(schedule, box)
    assert ready.passed, ready.metadata
    assert ready.metadata["final_points_mismatch"] == []
    half = grading.readiness(schedule, _box(["0022500200"], teams=("HOM",)))
    assert not half.passed
    assert half.metadata["final_missing_a_team"] == ["0022500200 AWY (away)"]
    assert half.metadata["final_points_mismatch"] == []


def test_a_final_game_without_its_final_score_blocks_grading() -> None:
    """Nothing to check the box score against: the day waits (the overnight catch-up fetches the
    schedule again) instead of grading a box score that may be partial."""
    schedule = _schedule({"g1": "final", "g2": "final"}).with_columns(
        away_pts=pl.when(pl.col("game_id") == "g2").then(None).otherwise(pl.col("away_pts"))
    )
    ready = grading.readiness(schedule, _box(["g1", "g2"]))
    assert not ready.passed
    assert ready.metadata["final_without_score"] == ["g2"]
    assert ready.metadata["final_points_mismatch"] == []


def test_readiness_by_date_judges_each_date_of_a_range_on_its_own_rows() -> None:
    """A range run: D's unfinished game fails D only; a date without games is ready (nothing to wait for)."""
    before, empty = date(2025, 11, 4), date(2025, 11, 6)
    schedule = pl.concat(
        [
            _schedule({"g1": "final", "g2": "live"}),
            _schedule({"g0": "final"}).with_columns(game_date=pl.lit(before)),
        ]
    )
    box = pl.concat([_box(["g1"]), _box(["g0"]).with_columns(game_date=pl.lit(before))])
    outcomes = grading.readiness_by_date(schedule, box, [before, D, empty])
    assert list(outcomes) == ["2025-11-04", "2025-11-05", "2025-11-06"]
    assert outcomes["2025-11-04"].passed and outcomes["2025-11-04"].metadata["games"] == 1
    assert not outcomes["2025-11-05"].passed and outcomes["2025-11-05"].metadata["not_final"] == ["g2"]
    assert outcomes["2025-11-06"].passed and outcomes["2025-11-06"].metadata["note"] == "no games"


def test_a_preseason_or_all_star_game_never_holds_back_grading() -> None:
    """They have no predictions to grade: a preseason game still scheduled, or an All-Star game without a
    box score, leaves D ready once its modeled games are final with their box scores."""
    schedule = _schedule({"0022500200": "final", "0012500001": "scheduled", "0032500001": "final"})
    ready = grading.readiness(schedule, _box(["0022500200"]))
    assert ready.passed, ready.metadata
    assert ready.metadata["unmodeled_games_ignored"] == ["0012500001", "0032500001"]
    assert ready.metadata["games"] == 1
    # the modeled game still decides
    assert not grading.readiness(schedule, _box([])).passed


def test_lines_of_a_postponed_game_are_void_with_the_reason() -> None:
    preds = _preds([D, D], ["g1", "g2"], [1, 99])
    schedule = _schedule({"g1": "final", "g2": "postponed"})
    graded = grading.grade(preds, _box(["g1"]), schedule=schedule).sort("game_id")
    assert graded["result"].to_list() == ["WIN", "VOID"]
    assert graded["void_reason"].to_list() == [None, "game_postponed"]
    assert graded["profit"].to_list()[1] == 0.0
    # without the schedule the same row is void for lack of a box score row
    assert grading.grade(preds, _box(["g1"])).sort("game_id")["void_reason"].to_list() == [
        None,
        "not_on_box_score",
    ]


def test_a_game_postponed_on_one_date_and_played_on_another_is_only_void_on_the_first() -> None:
    """A range run grades both dates at once; the game keeps its id when it is replayed."""
    d2 = date(2025, 11, 20)
    preds = _preds([D, d2], ["g2", "g2"], [7, 7])
    schedule = pl.DataFrame({"game_id": ["g2", "g2"], "game_date": [D, d2], "status": ["postponed", "final"]})
    box = pl.DataFrame({"game_id": ["g2"], "game_date": [d2], "player_id": [7], "pts": [0], "minutes": [0.0]})
    graded = grading.grade(preds, box, schedule=schedule).sort("game_date")
    assert graded["void_reason"].to_list() == ["game_postponed", "did_not_play"]


def test_a_record_of_pushes_only_has_no_hit_rate_rather_than_nan() -> None:
    rows = pl.DataFrame(
        {
            "system": ["catboost", "catboost", "catboost_line"],
            "game_date": [D, D, D],
            "player_id": [1, 2, 1],
            "result": ["PUSH", "PUSH", "WIN"],
            "profit": [0.0, 0.0, 0.9],
        }
    )
    rec = {r["system"]: r for r in grading.bet_record(rows, ["system"]).iter_rows(named=True)}
    assert rec["catboost"]["bets"] == 2 and rec["catboost"]["pushes"] == 2
    assert rec["catboost"]["hit_rate"] is None and rec["catboost"]["roi"] is None
    assert rec["catboost"]["hit_low90"] is None
    assert rec["catboost_line"]["hit_rate"] == 1.0 and rec["catboost_line"]["roi"] == 0.9


def test_model_worse_than_the_baselines_is_flagged() -> None:
    from nba_assets.lib.grading import model_not_worse_than_baselines

    def perf(catboost_mae: float, n: int) -> pl.DataFrame:
        systems = {"baseline_l10": 5.2, "baseline_blend": 5.1, "catboost": catboost_mae}
        rows = [
            {"game_date": d, "window": w, "tier": "all", "system": s, "n": n, "mae": m}
            for d in (date(2025, 11, 19), date(2025, 11, 20))
            for w in ("7d", "30d")
            for s, m in systems.items()
        ]
        # an older date and other windows where catboost was fine must not decide
        return pl.DataFrame(rows).with_columns(
            pl.when((pl.col("game_date") == date(2025, 11, 20)) & (pl.col("window") == "30d"))
            .then(pl.col("mae"))
            .otherwise(pl.lit(4.0))
            .alias("mae")
        )

    good = model_not_worse_than_baselines(perf(5.0, 900))
    assert good.passed and good.metadata["best_baseline"] == "baseline_blend" and good.metadata["gain"] == 0.1
    bad = model_not_worse_than_baselines(perf(5.3, 900))
    assert not bad.passed and bad.severity == "WARN" and bad.metadata["gain"] == -0.2
    few = model_not_worse_than_baselines(perf(5.3, 120))
    assert few.passed and "fewer than 300" in few.metadata["note"]
    assert model_not_worse_than_baselines(pl.DataFrame()).passed


def test_a_postponed_game_and_its_replay_are_not_a_duplicate_schedule_row() -> None:
    """The schedule's blocking duplicate check judged a range on the game id alone: a range holding a
    postponed game's first date and the date it was played failed, and held back the range's context."""
    from datetime import timedelta

    from nba_assets.lib.raw import schedule_duplicates

    first = _schedule({"0022500228": "postponed", "0022500229": "final"})
    replay = _schedule({"0022500228": "final"}).with_columns(pl.lit(D + timedelta(days=3)).alias("game_date"))
    got = schedule_duplicates(pl.concat([first, replay]))
    assert got.passed, got.metadata
    assert got.metadata["postponed_and_replayed"] == ["0022500228"]
    # a game listed twice on a date, or played (not postponed) on two dates, is still a duplicate
    twice = schedule_duplicates(pl.concat([first, _schedule({"0022500229": "final"})]))
    assert not twice.passed and twice.metadata["duplicate_game_ids"] == ["0022500229"]
    played_twice = pl.concat(
        [first, replay, replay.with_columns(pl.lit(D + timedelta(days=5)).alias("game_date"))]
    )
    assert schedule_duplicates(played_twice).metadata["duplicate_game_ids"] == ["0022500228"]


def test_a_call_without_the_price_of_its_side_is_not_a_bet() -> None:
    """Before: an OVER call on an under-only line that won got profit null, one that lost -1: counted as
    bets, the record and ROI were skewed. Without the side's price it could not be bet: NO_BET."""
    preds = _preds([D] * 3, ["g1"] * 3, [1, 101, 2]).with_columns(
        over_price=pl.Series([None, -110, None], dtype=pl.Int64),
        line=pl.Series([18.5, 18.5, 25.5]),
    )
    box = pl.concat([_box(["g1"]), _box(["g1"]).head(1).with_columns(player_id=pl.lit(2, pl.Int64))])
    graded = grading.grade(preds, box).sort("player_id")
    assert graded["result"].to_list() == ["NO_BET", "NO_BET", "WIN"]
    assert graded["profit"].to_list()[:2] == [None, None]
    assert graded["abs_error"].to_list()[:2] == [1.0, 1.0]  # still graded for accuracy
    record = grading.bet_record(graded, ["game_date"])
    assert record["bets"].to_list() == [1] and record["wins"].to_list() == [1]


def test_a_line_is_graded_on_its_own_game_not_on_another_game_the_player_played() -> None:
    """A player traded during the day: the book's line is on his old team's game (g1), and he plays
    for his new team in g2 that night. Books void a line whose player is not in its game; grading his
    g2 points against the g1 line recorded a WIN (or LOSS) for a bet the book refunded."""
    preds = _preds([D, D], ["g1", "g1"], [101, 1])  # 101: AWY's player in _box, but his box row is g2's
    box = pl.concat([_box(["g1"], teams=("HOM",)), _box(["g2"], teams=("AWY",))])
    assert box.filter(pl.col("player_id") == 101)["game_id"].to_list() == ["g2"]
    graded = grading.grade(preds, box).sort("player_id")
    assert graded["result"].to_list() == ["WIN", "VOID"]
    assert graded["void_reason"].to_list() == [None, "played_another_game"]
    assert graded["profit"].to_list() == [pytest.approx(100 / 110), 0.0]
    assert graded["actual_points"].to_list() == [20.0, None] and graded["abs_error"][1] is None
    # a line whose game the schedule did not name (null game id) is still graded on the player's day
    unnamed = grading.grade(
        _preds([D], ["g1"], [101]).with_columns(pl.lit(None, pl.Utf8).alias("game_id")), box
    )
    assert unnamed["result"].to_list() == ["WIN"]


def test_a_traded_player_s_void_says_he_played_another_game_even_when_a_report_listed_him() -> None:
    """The VOID reason's order (module docstring): a postponed game, then a player who played another
    game of D, then his pre-game injury status. A player traded during the day is often listed Out by
    the team that traded him: his void is that he played elsewhere, not an injury; a player who did
    not play at all and was listed keeps the report's status."""
    from datetime import datetime

    preds = _preds([D, D], ["g1", "g1"], [101, 1])  # 101 plays g2; 1 is on g1's box score with no minutes
    box = pl.concat([_box(["g1"], teams=("HOM",)), _box(["g2"], teams=("AWY",))]).with_columns(
        pl.when(pl.col("player_id") == 1).then(0.0).otherwise(pl.col("minutes")).alias("minutes")
    )
    injuries = pl.DataFrame(
        {
            "game_date": [D, D],
            "player_id": [101, 1],
            "report_time_et": [datetime(2025, 11, 5, 17, 30)] * 2,
            "status": ["Out", "Doubtful"],
        }
    )
    graded = grading.grade(preds, box, injuries).sort("player_id")
    assert graded["result"].to_list() == ["VOID", "VOID"]
    assert graded["void_reason"].to_list() == ["injury_report:Doubtful", "played_another_game"]


def test_a_line_of_no_named_game_is_graded_on_the_game_the_player_played_that_day() -> None:
    """A player on two box scores of D, without minutes in g1 (listed by the team that traded him) and
    20 points in g2: a line whose game is unknown (null id) is graded on his day, so on g2, in any row
    order (the first by game id made it VOID, did_not_play, on a day he played)."""
    box = _box(["g1", "g2"], teams=("HOM",)).with_columns(
        pl.lit(1, pl.Int64).alias("player_id"),
        pl.when(pl.col("game_id") == "g1").then(0.0).otherwise(pl.col("minutes")).alias("minutes"),
    )
    preds = _preds([D, D, D], [None, "g1", "g2"], [1, 1, 1])
    for rows in (box, box.reverse()):
        graded = grading.grade(preds, rows)
        assert graded["result"].to_list() == ["WIN", "VOID", "WIN"]
        assert graded["void_reason"].to_list() == [None, "did_not_play", None]


def test_a_price_that_is_not_american_odds_is_quarantined_before_it_can_be_graded() -> None:
    """American odds are +100 or more, or -100 or less. A feed's 0 (or "EVEN" misread, or a decimal
    price such as 1.91 rounded to 2) was stored and graded: a WIN at 0 paid 100/0 = inf units, at +2
    0.02 units, at -5 20 units, and one row made the ROI meaningless. Such a row is quarantined with
    its reason; a one-sided line (null price) and the +100/-100 edges are kept."""
    from datetime import UTC, datetime

    from nba_assets.lib import schemas

    prices = [(-110, 100), (-100, None), (0, -110), (-110, 2), (-5, -110), (None, 150)]
    props = pl.DataFrame(
        {
            "line": [20.5] * len(prices),
            "home_abbr": ["BOS"] * len(prices),
            "away_abbr": ["NYK"] * len(prices),
            "player_name": ["Jalen Brunson"] * len(prices),
            "player_id": [1628973] * len(prices),
            "match_method": ["exact"] * len(prices),
            "snapshot_utc": [datetime(2025, 11, 5, 17, tzinfo=UTC)] * len(prices),
            "tipoff_utc": [datetime(2025, 11, 6, 0, tzinfo=UTC)] * len(prices),
            "over_price": [o for o, _ in prices],
            "under_price": [u for _, u in prices],
        },
        schema_overrides={"over_price": pl.Int64, "under_price": pl.Int64},
    )
    good, bad = schemas.split_quarantine(props, "player_props")
    assert good.select("over_price", "under_price").rows() == [(-110, 100), (-100, None), (None, 150)]
    assert bad["quarantine_reason"].to_list() == ["price not American odds"] * 3
    # the grading arithmetic at the edges
    edges = pl.DataFrame({"p": [100, -100, -110, 150, -250]}).select(american_profit(pl.col("p")))
    assert edges.to_series().to_list() == pytest.approx([1.0, 1.0, 100 / 110, 1.5, 0.4])


def test_the_graded_share_check_fails_when_the_box_score_lacks_players_who_had_lines() -> None:
    """Before: "share of gradable predictions that got a result", and grade() answers every row, so the
    check could not fail. A box score that lost its bench (8 of 10 lined players not on it) now fails it,
    one missing player of 10 does not, and the VOIDs are counted per player-date, not per book row."""
    players = list(range(1, 11))
    preds = pl.concat([_preds([D] * 10, ["g1"] * 10, players)] * 3)  # 3 books each
    full = pl.DataFrame({"player_id": players}).with_columns(
        game_id=pl.lit("g1"),
        team_abbr=pl.lit("HOM"),
        game_date=pl.lit(D),
        pts=pl.lit(20),
        minutes=pl.lit(30.0),
    )
    starters_only = full.head(2)
    one_missing = full.head(9)
    broken = grading.graded_share(grading.grade(preds, starters_only))
    assert not broken.passed and broken.severity == "WARN"
    assert broken.metadata["player_dates_with_lines"] == 10 and broken.metadata["graded_on_points"] == 2
    assert broken.metadata["voids_by_reason"] == {"not_on_box_score": 8}
    fine = grading.graded_share(grading.grade(preds, one_missing))
    assert fine.passed and fine.metadata["share"] == 0.9


def test_performance_dates_reading_a_date_are_the_rest_of_its_season_up_to_the_newest() -> None:
    days = grading.performance_dates_reading(date(2025, 11, 2), newest=date(2025, 11, 6))
    assert [d.isoformat() for d in days] == [
        "2025-11-02",
        "2025-11-03",
        "2025-11-04",
        "2025-11-05",
        "2025-11-06",
    ]
    # the newest date itself: only its own performance reads it
    assert grading.performance_dates_reading(date(2025, 11, 6), newest=date(2025, 11, 6)) == [
        date(2025, 11, 6)
    ]
    # a June date is in the 2024-25 season: its windows end on Jul 31, not in the next season
    june = grading.performance_dates_reading(date(2025, 6, 10), newest=date(2025, 11, 6))
    assert (june[0], june[-1], len(june)) == (date(2025, 6, 10), date(2025, 7, 31), 52)
    # and never past the grades a date's performance reads (its partition mapping)
    october = grading.performance_dates_reading(date(2024, 10, 1), newest=date(2025, 11, 6))
    assert (
        october[-1] == date(2024, 10, 1) + timedelta(days=grading.GRADES_LOOKBACK_DAYS) == date(2025, 7, 28)
    )


def test_every_window_of_performance_ends_within_the_dates_reading_it() -> None:
    """The bound the refresh relies on: grades of D change no window of a date outside
    performance_dates_reading(D) (a date before D, or of the next season)."""
    d = date(2025, 6, 10)
    grades = pl.DataFrame(
        {
            "game_date": [d],
            "player_id": [1],
            "system": ["catboost"],
            "tier": ["high"],
            "is_main_line": [True],
            "line": [20.5],
            "played": [True],
            "predicted_points": [24.0],
            "actual_points": [25.0],
            "result": ["WIN"],
            "profit": [0.9],
        }
    )
    reading = set(grading.performance_dates_reading(d, newest=date(2025, 11, 6)))
    for as_of in (
        date(2025, 6, 9),
        date(2025, 6, 10),
        date(2025, 7, 31),
        date(2025, 8, 1),
        date(2025, 11, 6),
    ):
        sees = grading.performance(grades, as_of).height > 0
        assert sees == (as_of in reading), as_of


def _accuracy_grades() -> pl.DataFrame:
    """Two systems on four player-dates of D: player 1 with two main lines (19.5, 20.5: consensus 20.0)
    and an alternate, catboost's high tier only on the 19.5 line; player 2 did not play (VOID); player 3
    has only an alternate (no consensus line); player 4 one main line (8.5)."""
    preds = {
        "catboost": {1: 21.0, 2: 12.0, 3: 13.0, 4: 9.0},
        "baseline_l10": {1: 18.0, 2: 11.0, 3: 14.0, 4: 7.0},
    }
    actual = {1: 22.0, 2: 0.0, 3: 15.0, 4: 6.0}
    lines = [
        (1, 19.5, True),
        (1, 20.5, True),
        (1, 14.5, False),
        (2, 10.5, True),
        (3, 12.5, False),
        (4, 8.5, True),
    ]
    rows = []
    for system, pred in preds.items():
        for player, line, main in lines:
            played = player != 2
            tier = "high" if (system, player, line) == ("catboost", 1, 19.5) else "low"
            result = "VOID" if not played else ("WIN" if actual[player] > line else "LOSS")
            rows.append(
                {
                    "game_date": D,
                    "player_id": player,
                    "system": system,
                    "tier": tier,
                    "is_main_line": main,
                    "line": line,
                    "played": played,
                    "predicted_points": pred[player],
                    "actual_points": actual[player] if played else None,
                    "result": result,
                    "profit": {"WIN": 0.9, "LOSS": -1.0}.get(result, 0.0),
                }
            )
    return pl.DataFrame(rows)


# (n, MAE, the line's MAE, bias) per system over players 1 and 4; the line is 20.0 and 8.5
ACCURACY = {"baseline_l10": (2, 2.5, 2.25, -1.5), "catboost": (2, 2.0, 2.25, 1.0)}


def test_mae_against_the_line_s_mae_is_one_figure_in_the_backtest_the_report_and_the_performance() -> None:
    """The backtest's accuracy, the report's record and system_performance score the same player-dates:
    played (not VOID), predicted, with a consensus (median) main line; several lines of a player-date
    count once, an alternate is no line, and a tier's line is the consensus of all the player-date's
    main lines (not only the tier's)."""
    from nba_assets.lib import backtest
    from nba_assets.lib.reports import record_by_system

    grades = _accuracy_grades()
    one = grading.line_accuracy(grades).select("system", "n", "mae", "line_mae", "bias")
    assert {r[0]: r[1:] for r in one.iter_rows()} == ACCURACY
    acc = backtest.accuracy(grades).select("system", "player_dates", "mae", "line_mae", "bias")
    assert {r[0]: r[1:] for r in acc.iter_rows()} == ACCURACY  # exact: quarters
    rec = record_by_system(grades).select("system", "player_games", "mae", "line_mae")
    assert {r[0]: r[1:] for r in rec.iter_rows()} == {s: v[:3] for s, v in ACCURACY.items()}
    perf = grading.performance(grades, D).filter(pl.col("window") == "day")
    got = {
        (r["system"], r["tier"]): (r["n"], r["mae"], r["line_mae"], r["bias"])
        for r in perf.iter_rows(named=True)
    }
    assert {s: got[(s, "all")] for s in ACCURACY} == ACCURACY
    assert got[("catboost", "high")] == (1, 1.0, 2.0, -1.0)  # line 20.0, not the tier's 19.5
    assert got[("catboost", "low")] == ACCURACY["catboost"]  # player 1 by his 20.5 and alternate rows
    assert ("catboost", "medium") not in got


def test_a_tier_s_accuracy_is_over_the_same_main_line_calls_as_its_bets() -> None:
    """A performance tier is the calls on main lines, for its n and MAE as for its bets: a player-date
    whose only call in the tier is on an alternate line (priced far from even, not a bet of the record)
    is not one of the tier's player-dates (it was: catboost's season `high` tier on the development
    window counted 1,297 player-dates next to bets on 123)."""
    rows = [
        # player 1: main line called low, an alternate of his called high
        (1, 20.5, True, "low", 24.0, 22.0, "WIN"),
        (1, 14.5, False, "high", 24.0, 22.0, "WIN"),
        # player 2: main line called high
        (2, 10.5, True, "high", 14.0, 9.0, "LOSS"),
    ]
    grades = pl.DataFrame(
        [
            {
                "game_date": D,
                "player_id": p,
                "system": "catboost",
                "tier": tier,
                "is_main_line": main,
                "line": line,
                "played": True,
                "predicted_points": pred,
                "actual_points": actual,
                "result": result,
                "profit": 0.9 if result == "WIN" else -1.0,
            }
            for p, line, main, tier, pred, actual, result in rows
        ]
    )
    perf = grading.performance(grades, D).filter(pl.col("window") == "day")
    got = {r["tier"]: r for r in perf.iter_rows(named=True)}
    high = got["high"]
    assert (high["n"], high["bets"], high["wins"], high["losses"]) == (1, 1, 0, 1)
    assert (high["mae"], high["line_mae"], high["bias"]) == (5.0, 1.5, 5.0)  # player 2 alone
    low = got["low"]
    assert (low["n"], low["bets"], low["mae"], low["line_mae"]) == (1, 1, 2.0, 1.5)  # player 1 alone
    assert (got["all"]["n"], got["all"]["bets"]) == (2, 2)
