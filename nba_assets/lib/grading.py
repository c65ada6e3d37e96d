"""Grading predictions against box scores, and performance by system and tier.

Results per prediction row:
* ``VOID``: the player did not play in the line's game (no minutes, not on the box score, or on it
  for another game of D: a player traded during the day); the reason is ``game_postponed`` when his
  game was postponed, ``played_another_game`` when he played in another game of D (books void a line
  whose player is not in its game), the pre-game injury status when a report listed him, else
  ``did_not_play`` / ``not_on_box_score``;
* ``PUSH``: actual points equal the line;
* ``WIN`` / ``LOSS``: on the recommended side (OVER / UNDER rows with the book's price of that side);
* ``NO_BET``: PASS / NO_LINE rows, and a call on a side the book posted no price for (it could not
  be bet: the decisions PASS it, ``no_price_for_side``), graded for accuracy (errors) but not as bets.
Profit is per 1 unit at the offered American price of the side taken (not an assumed -110, never a
default price).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import polars as pl

from nba_assets.lib.game_types import is_modeled
from nba_assets.lib.modeling.decisions import american_profit, called_price
from nba_assets.lib.raw import CheckOutcome, team_points_mismatches, teams_missing_from_box

WINDOWS: dict[str, int | None] = {"day": 1, "7d": 7, "30d": 30, "season": None}
# grading/system_performance of D reads the grades of D and of the 300 days before it (its partition
# mapping): the season window of a date late in a season reaches no further back
GRADES_LOOKBACK_DAYS = 300
# lined player-dates graded on points, not VOID (see graded_share)
MIN_GRADED_SHARE = 0.8


def grade(
    predictions: pl.DataFrame,
    box_scores: pl.DataFrame,
    injuries: pl.DataFrame | None = None,
    schedule: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Grade each prediction row against D's box scores (see the module docstring); with ``schedule``,
    rows of a postponed game are VOID with reason ``game_postponed``."""
    box = box_scores.select(
        "game_date",
        "player_id",
        pl.col("game_id").alias("_box_game"),
        pl.col("pts").cast(pl.Float64).alias("actual_points"),
        pl.col("minutes").alias("actual_minutes"),
        pl.lit(True).alias("_on_box"),
    )
    # A line is on one game: a player on D's box score for another game (traded during the day) did
    # not play in it. A line whose game is unknown (null id) is graded on the player's day. A player on
    # two box scores of D is graded on the line's game when it is one of them, else on the game he
    # played most minutes in, then the first by id: never on whichever row the warehouse returned first
    # (BigQuery returns them in no set order).
    other_game = pl.col("game_id").is_not_null() & (pl.col("_box_game") != pl.col("game_id")).fill_null(False)
    g = (
        predictions.with_row_index("_row")
        .join(box, on=["game_date", "player_id"], how="left")
        .sort(
            ["_row", pl.col("_box_game") != pl.col("game_id"), "actual_minutes", "_box_game"],
            descending=[False, False, True, False],
            nulls_last=True,
        )
        .unique(subset="_row", keep="first", maintain_order=True)
        .drop("_row")
        .with_columns(other_game.alias("_other_game"))
        .with_columns(
            pl.when(~pl.col("_other_game")).then(pl.col(c)).alias(c)
            for c in ("actual_points", "actual_minutes")
        )
    )
    if injuries is not None and injuries.height:
        # the latest report's status; two of them in one edition: the first by name, as the context's
        # injury_status (player_game_context) picks it
        inj = (
            injuries.filter(pl.col("player_id").is_not_null())
            .sort(["report_time_et", "status"], descending=[False, True], nulls_last=False)
            .group_by("game_date", "player_id")
            .agg(pl.col("status").last().alias("_injury"))
        )
        g = g.join(inj, on=["game_date", "player_id"], how="left")
    else:
        g = g.with_columns(pl.lit(None, pl.Utf8).alias("_injury"))
    postponed = pl.DataFrame(schema={"game_date": pl.Date, "game_id": pl.Utf8})
    if schedule is not None and schedule.height:
        # (date, game): a game postponed on D1 and played on D2 keeps its id
        postponed = schedule.filter(pl.col("status") == "postponed").select("game_date", "game_id").unique()
    g = g.join(
        postponed.with_columns(pl.lit(True).alias("_postponed")), on=["game_date", "game_id"], how="left"
    )
    played = pl.col("actual_minutes").fill_null(0) > 0
    price = called_price()
    # a call is a bet only at a price the book offered for its side
    bet = pl.col("recommendation").is_in(["OVER", "UNDER"]) & price.is_not_null()
    won = (
        pl.when(pl.col("recommendation") == "OVER")
        .then(pl.col("actual_points") > pl.col("line"))
        .otherwise(pl.col("actual_points") < pl.col("line"))
    )
    result = (
        pl.when(~played)
        .then(pl.lit("VOID"))
        .when(~bet)
        .then(pl.lit("NO_BET"))
        .when(pl.col("actual_points") == pl.col("line"))
        .then(pl.lit("PUSH"))
        .when(won)
        .then(pl.lit("WIN"))
        .otherwise(pl.lit("LOSS"))
    )
    return (
        g.with_columns(
            played.alias("played"),
            pl.when(played)
            .then((pl.col("predicted_points") - pl.col("actual_points")).abs())
            .alias("abs_error"),
            pl.when(played).then(pl.col("predicted_points") - pl.col("actual_points")).alias("signed_error"),
            result.alias("result"),
            pl.when(~played)
            .then(
                pl.when(pl.col("_postponed").fill_null(False))
                .then(pl.lit("game_postponed"))
                .when(pl.col("_other_game"))
                .then(pl.lit("played_another_game"))
                .when(pl.col("_injury").is_not_null())
                .then(pl.concat_str(pl.lit("injury_report:"), pl.col("_injury")))
                .when(pl.col("_on_box").fill_null(False))
                .then(pl.lit("did_not_play"))
                .otherwise(pl.lit("not_on_box_score"))
            )
            .alias("void_reason"),
        )
        .with_columns(
            pl.when(pl.col("result") == "WIN")
            .then(american_profit(price))
            .when(pl.col("result") == "LOSS")
            .then(-1.0)
            .when(pl.col("result").is_in(["PUSH", "VOID"]) & bet)
            .then(0.0)
            .alias("profit")
        )
        .drop("_on_box", "_box_game", "_other_game", "_injury", "_postponed")
    )


BET_RESULTS = ("WIN", "LOSS", "PUSH")  # a VOID bet is refunded: not a bet in any record


def wilson_bounds(wins: pl.Expr, decided: pl.Expr, z: float = 1.645) -> tuple[pl.Expr, pl.Expr]:
    """Lower and upper Wilson score bounds of a hit rate (z = 1.645: a 90% interval)."""
    p = wins / decided
    centre = (p + z * z / (2 * decided)) / (1 + z * z / decided)
    half = z * (p * (1 - p) / decided + z * z / (4 * decided * decided)).sqrt() / (1 + z * z / decided)
    return centre - half, centre + half


def bet_record(rows: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """The one definition of a betting record, used by grading, the reports and the backtest: per
    group of ``by``, over the rows whose result is WIN, LOSS or PUSH, ``bets``, ``player_dates``,
    ``wins``, ``losses``, ``pushes``, ``profit`` (units at the offered prices), ``hit_rate`` and
    ``roi`` (both over decided bets) and 90% Wilson bounds ``hit_low90``/``hit_high90``.

    The bounds count each player-date once (``player_dates``): the same call at several books wins or
    loses together, so counting every book's line as an independent bet would make the interval too
    narrow."""
    decided = pl.col("wins") + pl.col("losses")
    low, high = wilson_bounds(pl.col("hit_rate") * pl.col("player_dates"), pl.col("player_dates"))
    return (
        rows.filter(pl.col("result").is_in(BET_RESULTS))
        .group_by(by)
        .agg(
            pl.len().cast(pl.Int64).alias("bets"),
            pl.struct("game_date", "player_id").n_unique().cast(pl.Int64).alias("player_dates"),
            (pl.col("result") == "WIN").sum().cast(pl.Int64).alias("wins"),
            (pl.col("result") == "LOSS").sum().cast(pl.Int64).alias("losses"),
            (pl.col("result") == "PUSH").sum().cast(pl.Int64).alias("pushes"),
            # summed in value order: a float sum in row order changes in its last bits with the order
            # the warehouse returns the rows in
            pl.col("profit").sort().sum().cast(pl.Float64).alias("profit"),
        )
        # null, not NaN, when every bet of a group pushed
        .with_columns(pl.when(decided > 0).then(pl.col("wins") / decided).alias("hit_rate"))
        .with_columns(
            low.alias("hit_low90"),
            high.alias("hit_high90"),
            pl.when(decided > 0).then(pl.col("profit") / decided).alias("roi"),
        )
        .sort(by)
    )


def season_start_of(day: date) -> date:
    """The first day of ``day``'s season: seasons start on Aug 1 (the offseason ends the one before)."""
    return date(day.year if day.month >= 8 else day.year - 1, 8, 1)


def performance_dates_reading(day: date, newest: date) -> list[date]:
    """The dates whose performance windows hold the grades of ``day``, oldest first: ``day`` and the
    later dates of its season (the season-to-date window; the day, 7-day and 30-day windows end sooner),
    no further than the grades a date's performance reads (``GRADES_LOOKBACK_DAYS``) nor than ``newest``
    (the newest date with a performance). A regrade of ``day`` leaves these dates' figures stale."""
    season_end = date(season_start_of(day).year + 1, 8, 1) - timedelta(days=1)
    last = min(season_end, day + timedelta(days=GRADES_LOOKBACK_DAYS), newest)
    return [day + timedelta(days=n) for n in range((last - day).days + 1)]


def scored_player_dates(rows: pl.DataFrame, lines: pl.DataFrame | None = None) -> pl.DataFrame:
    """The rows every "MAE against the line's MAE" figure scores (the backtest, the report's record,
    ``grading/system_performance``): one row per (``system``, ``game_date``, ``player_id``) whose player
    played (result not VOID) and got a prediction, with that ``predicted_points``, the
    ``actual_points`` and the player-date's ``consensus_line``: the median of the books' main lines of
    the player-date in ``lines`` (default ``rows``). A player-date without a main line is left out, so
    both MAEs are over exactly the same player-dates; its several lines count once (a system's
    prediction of a player-date does not depend on the line). ``lines`` lets a subset of the rows (a
    confidence tier) be measured against the consensus of all its player-dates' main lines."""
    cons = (
        (rows if lines is None else lines)
        .filter(pl.col("is_main_line"))
        .group_by("game_date", "player_id")
        .agg(pl.col("line").median().alias("consensus_line"))
    )
    return (
        rows.filter((pl.col("result") != "VOID") & pl.col("predicted_points").is_not_null())
        .group_by("system", "game_date", "player_id")
        .agg(pl.col("predicted_points").first(), pl.col("actual_points").first())
        .join(cons, on=["game_date", "player_id"], how="inner")
    )


def line_accuracy(
    rows: pl.DataFrame, by: Sequence[str] = ("system",), lines: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Per group of ``by`` (columns of :func:`scored_player_dates`): ``n`` player-dates, ``mae``, the
    consensus line's MAE ``line_mae`` on the same player-dates, and ``bias`` (mean predicted - actual)."""
    err = pl.col("predicted_points") - pl.col("actual_points")
    # the predictions' errors averaged in value order: in row order their means change in the last bits
    # with the order the warehouse returns the rows in (BigQuery: none), and the stored figures would
    # differ from DuckDB's. The line's errors (a median of half-point lines less whole points) are multiples
    # of a quarter point: exact sums in any order.
    return (
        scored_player_dates(rows, lines)
        .group_by(list(by))
        .agg(
            pl.len().alias("n"),
            err.abs().sort().mean().alias("mae"),
            (pl.col("consensus_line") - pl.col("actual_points")).abs().mean().alias("line_mae"),
            err.sort().mean().alias("bias"),
        )
        .sort(list(by))
    )


def window_start(window: str, as_of: date) -> date:
    """The first date of ``window`` (a :data:`WINDOWS` name) ending on ``as_of``: its days back, or the
    season's start."""
    days = WINDOWS[window]
    return season_start_of(as_of) if days is None else as_of - timedelta(days=days - 1)


def performance(grades: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Per system x tier (``all`` and each tier) x window (day, 7d, 30d, season) ending on ``as_of``:
    n, MAE, the line's MAE on the same player-dates, bias, and the :func:`bet_record` of the calls on
    main lines (bets, W-L-P, hit rate, ROI at the offered prices), as every other record counts them:
    alternates sit far from even money, and most of a player's alternates win or lose together, so
    counting them as bets inflates the record (catboost_line 8,480 bets at 65.5 % on the development
    window with them, 369 at 49.9 % without). A tier is its calls on main lines for every figure of
    its row: a player-date called in the tier only on an alternate line is not one of its player-dates
    (``all`` is every player-date, whatever was called)."""
    rows: list[dict[str, Any]] = []
    for window in WINDOWS:
        w = grades.filter(pl.col("game_date").is_between(window_start(window, as_of), as_of))
        if w.is_empty():
            continue
        main = w.filter(pl.col("is_main_line"))
        for tier in ("all", "high", "medium", "low"):
            tw = w if tier == "all" else main.filter(pl.col("tier") == tier)
            bets = bet_record(tw.filter(pl.col("is_main_line")), ["system"])
            records = {r["system"]: r for r in bets.iter_rows(named=True)}
            # a tier's player-dates against the consensus of all their main lines in the window
            accuracy = {r["system"]: r for r in line_accuracy(tw, lines=main).iter_rows(named=True)}
            for system in sorted(tw["system"].unique().to_list()):
                acc = accuracy.get(system, {})
                bet = records.get(system, {})
                rows.append(
                    {
                        "as_of": as_of,
                        "window": window,
                        "system": system,
                        "tier": tier,
                        "n": acc.get("n", 0),
                        "mae": acc.get("mae"),
                        "line_mae": acc.get("line_mae"),
                        "bias": acc.get("bias"),
                        "bets": bet.get("bets", 0),
                        "wins": bet.get("wins", 0),
                        "losses": bet.get("losses", 0),
                        "pushes": bet.get("pushes", 0),
                        "hit_rate": bet.get("hit_rate"),
                        "profit": bet.get("profit", 0.0),
                        "roi": bet.get("roi"),
                    }
                )
    schema = {
        "as_of": pl.Date,
        "window": pl.Utf8,
        "system": pl.Utf8,
        "tier": pl.Utf8,
        "n": pl.Int64,
        "mae": pl.Float64,
        "line_mae": pl.Float64,
        "bias": pl.Float64,
        "bets": pl.Int64,
        "wins": pl.Int64,
        "losses": pl.Int64,
        "pushes": pl.Int64,
        "hit_rate": pl.Float64,
        "profit": pl.Float64,
        "roi": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema).rename({"as_of": "game_date"})


MODEL_WINDOW = "30d"
MODEL_MIN_PLAYER_DATES = 300


def model_not_worse_than_baselines(
    perf: pl.DataFrame, model: str = "catboost", min_n: int = MODEL_MIN_PLAYER_DATES
) -> CheckOutcome:
    """On the newest date's rolling 30 days (all tiers), the model's MAE is no worse than the better
    baseline's on the same player-dates: a model that drifted below what a careful person would
    predict is flagged (WARN) instead of going on making calls unnoticed. Passes, saying so, while the
    window holds fewer than ``min_n`` player-dates."""
    if perf.is_empty():
        return CheckOutcome(True, {"note": "nothing graded yet"}, "WARN")
    last = perf.filter(
        (pl.col("game_date") == pl.col("game_date").max())
        & (pl.col("window") == MODEL_WINDOW)
        & (pl.col("tier") == "all")
        & pl.col("mae").is_not_null()
    )
    maes = dict(last.select("system", "mae").iter_rows())
    n = dict(last.select("system", "n").iter_rows()).get(model, 0)
    baselines = {k: v for k, v in maes.items() if k.startswith("baseline")}
    meta: dict[str, Any] = {
        "window": MODEL_WINDOW,
        "as_of": last["game_date"].max().isoformat() if last.height else "",  # type: ignore[union-attr]
        "player_dates": n,
        **{f"mae_{k}": round(v, 3) for k, v in sorted(maes.items())},
    }
    if model not in maes or not baselines or n < min_n:
        return CheckOutcome(True, {**meta, "note": f"fewer than {min_n} graded player-dates"}, "WARN")
    best = min(baselines, key=baselines.__getitem__)
    meta.update({"best_baseline": best, "gain": round(baselines[best] - maes[model], 3)})
    return CheckOutcome(maes[model] <= baselines[best], meta, "WARN")


def graded_share(grades: pl.DataFrame) -> CheckOutcome:
    """Share of the player-dates with a line and a prediction that were graded on points (not VOID).

    :func:`grade` answers every row, so "got a result" cannot fail; what can go wrong is a box score
    that lacks players who played (a feed or parser that drops bench rows, ids that do not match), and
    it shows as lined players VOID ``not_on_box_score``. Books post lines for players expected to play:
    on the main job's 2025-10-21..11-20 grades 150 of 3,342 lined player-dates are VOID (4.5 %, at
    most 9 % of a day), so below ``MIN_GRADED_SHARE`` the day's box scores need a look. VOIDs by reason
    are in the metadata."""
    lined = (
        grades.filter(pl.col("line").is_not_null() & pl.col("predicted_points").is_not_null())
        .group_by("game_date", "player_id")
        # a player-date VOID on lines of two games for two reasons: the first reason by name
        .agg((pl.col("result") == "VOID").all().alias("void"), pl.col("void_reason").min())
    )
    voids = lined.filter(pl.col("void"))
    share = 1.0 if lined.is_empty() else 1 - voids.height / lined.height
    return CheckOutcome(
        share >= MIN_GRADED_SHARE,
        {
            "player_dates_with_lines": lined.height,
            "graded_on_points": lined.height - voids.height,
            "share": round(share, 4),
            "threshold": MIN_GRADED_SHARE,
            "voids_by_reason": dict(voids.group_by("void_reason").len().sort("void_reason").iter_rows()),
        },
        "WARN",
    )


def readiness(schedule: pl.DataFrame, box_scores: pl.DataFrame) -> CheckOutcome:
    """Grading may run for D only when every game of D is final with a box score holding both teams'
    players (the schedule's home and away team) whose points add up to each team's final score, or
    postponed.

    A postponed game is settled for D: it is not played that day, so its lines are void (books void
    them too; :func:`grade` names the reason). Waiting for it would keep D's other games ungraded
    until the catch-up gives up. A box score missing a team would grade that team's players VOID
    (not on the box score): the day waits for the whole box score instead. Preseason and All-Star games
    (:mod:`nba_assets.lib.game_types`) have no predictions to grade, so they never hold a day back.

    Each team's players' points add up to its final score in the schedule (the raw check's comparison,
    :func:`~nba_assets.lib.raw.team_points_mismatches`): a partial or stale box score would grade
    missing points (a player's last basket, a bench player VOID) as final. That raw check stops the
    overnight job; readiness also guards a hand-run grade job or a materialization from the UI. A final
    game whose schedule row has no final score (``home_pts`` or ``away_pts`` null; the raw row rules
    refuse such a batch, so only rows written around them get here) holds the day back too: nothing
    shows its box score complete, and the overnight catch-up fetches the schedule again."""
    # the games each list names, by date and id: not in the order the warehouse returned them
    schedule = schedule.sort("game_date", "game_id")
    ignored = schedule.filter(~is_modeled("game_id"))
    schedule = schedule.filter(is_modeled("game_id"))
    not_final = schedule.filter(~pl.col("status").is_in(["final", "postponed"]))
    final = schedule.filter(pl.col("status") == "final")
    have = set(box_scores["game_id"].unique().to_list())
    missing = final.filter(~pl.col("game_id").is_in(list(have)))
    missing_teams = teams_missing_from_box(schedule, box_scores)
    no_score = final.filter(pl.col("home_pts").is_null() | pl.col("away_pts").is_null())
    # a team without players is named by ``final_missing_a_team``, not again here
    _, mismatched = team_points_mismatches(schedule, box_scores)
    mismatched = mismatched.filter(pl.col("player_pts").is_not_null())
    meta = {
        "games": schedule.height,
        "not_final": not_final["game_id"].to_list()[:20],
        "final_without_box_score": missing["game_id"].to_list()[:20],
        "final_missing_a_team": missing_teams[:20],
        "final_points_mismatch": [
            f"{r['game_id']} {r['team_abbr']} ({r['side']}): players {r['player_pts']}, final score {r['score']}"
            for r in mismatched.head(20).iter_rows(named=True)
        ],
        "final_without_score": no_score["game_id"].to_list()[:20],
        "postponed": schedule.filter(pl.col("status") == "postponed")["game_id"].to_list()[:20],
        "unmodeled_games_ignored": ignored["game_id"].to_list()[:20],
    }
    if schedule.is_empty():
        meta["note"] = "no games"
    ready = not_final.is_empty() and missing.is_empty() and not missing_teams
    return CheckOutcome(ready and mismatched.is_empty() and no_score.is_empty(), meta)


def readiness_by_date(
    schedule: pl.DataFrame, box_scores: pl.DataFrame, days: list[date]
) -> dict[str, CheckOutcome]:
    """:func:`readiness` of each game date in ``days`` on its own rows, keyed by ``YYYY-MM-DD``: a range
    run judges every date apart, so one date's missing box score never decides another's."""
    return {
        day.isoformat(): readiness(
            schedule.filter(pl.col("game_date") == day), box_scores.filter(pl.col("game_date") == day)
        )
        for day in days
    }
