"""Row order: what the pipeline computes from warehouse tables does not depend on the order their rows
come in.

In production the IO manager reads BigQuery, where a SELECT without ORDER BY returns rows in no set
order; DuckDB (local runs, every other test) returns them in insertion order. So each pure entry point
that consumes loaded tables (features, the training rows and the model, predictions and decisions,
grading and performance, the backtest's summaries, the report's files, the identity registry) is fed
the same real inputs (the embedded archive: box scores, games, lines) in several shuffled orders and
must give the same frame, value for value (floats bit for bit), after sorting by its key. Where real
rows hold no ties a rule could break, a few hand-made rows add them: two rows of one book's snapshot,
a player on two box scores of one date, two statuses in one injury report edition, two players of one
name.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from itertools import permutations
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from nba_assets.lib import backtest, exports, grading, raw
from nba_assets.lib.features.catalog import BASE_FEATURES
from nba_assets.lib.features.store import expected_preview, feature_rows
from nba_assets.lib.identity import PlayerRegistry
from nba_assets.lib.modeling.decisions import book_lines, consensus
from nba_assets.lib.modeling.predict import predict_dates
from nba_assets.lib.modeling.train import (
    TRAINING_ORDER,
    PointsModel,
    _fit,
    _matrix,
    promotion_gate,
    train_points_model,
    training_rows,
)
from nba_assets.lib.reports import best_picks, picks_preview, record_by_system
from nba_assets.lib.sources.archive import ArchiveSource
from nba_assets_tests.test_lib_modeling import FAST
from nba_assets_tests.test_look_ahead import _expected, _injuries, archive_context  # noqa: F401

SEEDS = (1, 2, 3)
D = date(2025, 11, 5)
DAYS = [D - timedelta(days=k) for k in range(6, -1, -1)]  # a week of lines, 2025-10-30 .. 2025-11-05
FEATURE_KEY = ["game_date", "player_id", "game_id", "team_abbr"]
LINE_KEY = ["game_date", "player_id", "bookmaker", "line", "system"]
# small and unconstrained: monotone constraints triple the time and change nothing about row order
CFG = replace(FAST, iterations=40, monotone_increasing=())


def shuffled(frame: pl.DataFrame, seed: int) -> pl.DataFrame:
    """The same rows in another order, as a warehouse without ORDER BY may return them."""
    out = frame.sample(fraction=1.0, shuffle=True, seed=seed)
    if frame.height > 3:  # a real shuffle, not the order it came in
        assert not out.equals(frame)
    return out


def same(got: pl.DataFrame, want: pl.DataFrame, key: list[str] | None = None) -> None:
    """Equal frames, floats bit for bit; sorted by ``key`` first when given (it must be total)."""
    if key is not None:
        assert want.select(key).is_duplicated().sum() == 0, f"{key} is not a key of the frame"
        got, want = got.sort(key, nulls_last=True), want.sort(key, nulls_last=True)
    assert_frame_equal(got, want, check_exact=True)


class World:
    """A week of the archive's real slates through the pipeline's pure functions, in warehouse order."""

    def __init__(self, player_games: pl.DataFrame, team_games: pl.DataFrame) -> None:
        self.player_games, self.team_games = player_games, team_games
        self.expected = _expected(player_games, DAYS)
        # a trade the pre-game context could not see: the box score has him in another game of D
        # than his expected row, so D has two rows for him (the pre-game one and the training one)
        played = player_games.filter((pl.col("game_date") == D) & (pl.col("minutes") > 0))
        moved = (
            self.expected.filter(pl.col("game_date") == D)
            .join(played.select("player_id"), on="player_id", how="semi")
            .sort("player_id")
            .row(0, named=True)
        )
        other = self.expected.filter(
            (pl.col("game_date") == D)
            & ~pl.col("team_abbr").is_in([moved["team_abbr"], moved["opponent_abbr"]])
        ).sort("game_id", "team_abbr")
        swap = other.row(0, named=True)
        self.expected = self.expected.with_columns(
            *[
                pl.when((pl.col("game_date") == D) & (pl.col("player_id") == moved["player_id"]))
                .then(pl.lit(swap[c]))
                .otherwise(pl.col(c))
                .alias(c)
                for c in ("game_id", "team_abbr", "opponent_abbr", "is_home")
            ]
        )
        self.injuries = _injuries(self.expected, DAYS, "Out")
        archive = ArchiveSource()
        as_of = datetime(2025, 12, 1, tzinfo=UTC)
        self.schedule = archive.schedule(DAYS, as_of).frame
        self.box = archive.box_scores(self.schedule, as_of).frame
        props = raw.attach_game_ids(archive.player_props(DAYS, as_of).frame, self.schedule)
        self.props = raw.resolve_prop_ids(props, archive, DAYS)
        self.features = feature_rows(DAYS, self.expected, player_games, team_games, self.injuries)
        # a model trained before the week, on real feature rows of last season's end and this season's
        # first days
        history = [date(2025, 3, 20) + timedelta(days=k) for k in range((DAYS[0] - date(2025, 3, 20)).days)]
        self.history_features = feature_rows(
            history, _expected(player_games, history), player_games, team_games
        )
        self.model = train_points_model(self.history_features, DAYS[0], CFG)
        self.predictions = self.predict(self.props, self.features).predictions
        self.grades = grading.grade(self.predictions, self.box, self.injuries, self.schedule)

    def predict(self, props: pl.DataFrame, features: pl.DataFrame):  # -> PredictionBatch
        return predict_dates(props, features, DAYS, lambda _day: self.model)


@pytest.fixture(scope="module")
def world(archive_context: tuple[pl.DataFrame, pl.DataFrame]) -> World:  # noqa: F811
    return World(*archive_context)


# ---------------------------------------------------------------- features and the training rows


def test_features_of_a_week_do_not_depend_on_the_order_of_their_inputs(world: World) -> None:
    want = world.features
    assert (
        want.height > 1300 and want.filter(pl.col("game_date") == D).select("player_id").is_duplicated().any()
    )
    for seed in SEEDS:
        got = feature_rows(
            DAYS,
            shuffled(world.expected, seed),
            shuffled(world.player_games, seed + 10),
            shuffled(world.team_games, seed + 20),
            shuffled(world.injuries, seed + 30),
        )
        same(got, want, FEATURE_KEY)


def test_the_training_rows_and_the_model_do_not_depend_on_the_order_of_the_feature_rows(world: World) -> None:
    """CatBoost learns another model from the same rows in another order (its ordered boosting draws
    a permutation of the rows as they are given); training sorts them on a total key first."""
    feats = world.history_features
    want = training_rows(feats, DAYS[0])
    assert want.select(TRAINING_ORDER).is_duplicated().sum() == 0
    for seed in SEEDS:
        same(training_rows(shuffled(feats, seed), DAYS[0]), want, TRAINING_ORDER)
    # the premise: fitted on the same rows in another order, the booster predicts otherwise
    names = list(BASE_FEATURES)
    probe = world.features.filter(pl.col("is_expected"))
    ordered, other = want.sort(TRAINING_ORDER), shuffled(want, 4)
    fits = [_fit(_matrix(r, names), r["target_pts"].to_numpy(), CFG, 40, names) for r in (ordered, other)]
    assert not np.array_equal(fits[0].predict(_matrix(probe, names)), fits[1].predict(_matrix(probe, names)))
    # so two trainings on differently ordered feature stores give the same model
    models: list[PointsModel] = [world.model, train_points_model(shuffled(feats, 5), DAYS[0], CFG)]
    assert np.array_equal(models[0].predict(probe), models[1].predict(probe))
    assert models[0].metrics == models[1].metrics
    assert models[0].meta() | {"version": ""} == models[1].meta() | {"version": ""}


def test_the_promotion_gate_does_not_depend_on_the_order_of_the_feature_rows(world: World) -> None:
    """The gate scores both models on the week's played rows. A tie made exact: the champion is the
    same booster reading a copy of the feature columns that holds another row's features on each
    row, and every target is 0, so the two models' errors are the same numbers on different rows. Its
    MAEs are equal and the candidate is promoted (no worse) in every order of the rows; the old gate
    took each mean in row order, and which came out smaller in its last bit followed that order."""
    alt = {f: f"alt_{f}" for f in BASE_FEATURES}
    played = training_rows(world.features, D + timedelta(days=1)).sort(FEATURE_KEY)
    feats = played.with_columns(
        pl.lit(0, dtype=played["target_pts"].dtype).alias("target_pts"),
        *[pl.col(f).reverse().alias(a) for f, a in alt.items()],
    )
    candidate = replace(
        world.model,
        version="candidate",
        cutoff=D + timedelta(days=1),
        holdout_booster=None,  # scored by its booster, like the champion
        metrics={**world.model.metrics, "validation_start": DAYS[0].isoformat()},
    )
    champion = replace(world.model, version="champion", features=[alt[f] for f in world.model.features])
    want = promotion_gate(candidate, champion, feats)
    assert want.metadata["basis"] == "champion_out_of_sample" and want.metadata["rows"] == feats.height > 900
    assert want.promote and want.metadata["candidate_mae"] == want.metadata["champion_mae"] > 5
    for seed in (*SEEDS, 4, 5, 6, 7, 8):
        got = promotion_gate(candidate, champion, shuffled(feats, seed))
        assert (got.promote, got.metadata) == (want.promote, want.metadata)


# ---------------------------------------------------------------- predictions and decisions


def test_predictions_and_calls_do_not_depend_on_the_order_of_lines_and_features(world: World) -> None:
    want = world.predict(world.props, world.features)
    assert want.predictions.height > 10_000 and want.predictions["actionable"].sum() > 100
    for seed in SEEDS:
        got = world.predict(shuffled(world.props, seed), shuffled(world.features, seed + 1))
        # in the order predict_lines gives them, not just as the same set
        same(got.predictions, want.predictions)
        assert got.skipped == want.skipped
    assert want.predictions.select(LINE_KEY).is_duplicated().sum() == 0  # one row per line and system


def test_the_features_and_predictions_previews_are_the_same_text_in_any_order(world: World) -> None:
    """The assets' markdown previews (the top rows by quality, the picks by confidence): many rows
    share the top quality and picks share a confidence, and the old sort left those ties in the
    order the rows came in, another preview each time."""
    expected = world.features.filter(pl.col("is_expected"))
    picks = world.predictions.filter(
        (pl.col("system") == "catboost") & pl.col("actionable") & pl.col("is_main_line")
    )
    # the premise: ties at the top of both sorts
    assert expected.filter(pl.col("quality") == pl.col("quality").max()).height > 10
    assert picks.sort("confidence", descending=True).head(15)["confidence"].is_duplicated().any()
    want = (expected_preview(expected), picks_preview(picks))
    assert want[0].count("\n") > 10 and want[1].count("\n") > 15
    for seed in SEEDS:
        assert (expected_preview(shuffled(expected, seed)), picks_preview(shuffled(picks, seed))) == want


def test_each_book_s_current_line_and_the_consensus_do_not_depend_on_the_order_of_the_snapshots(
    world: World,
) -> None:
    key = ["game_date", "player_id", "bookmaker", "line"]
    want_lines, want_cons = book_lines(world.props), consensus(book_lines(world.props))
    for seed in SEEDS:
        props = shuffled(world.props, seed)
        same(book_lines(props), want_lines, key)
        same(consensus(book_lines(props)), want_cons, ["game_date", "player_id"])


def test_two_rows_of_one_snapshot_for_one_line_give_the_same_offer_in_any_order(world: World) -> None:
    """A book's latest snapshot with the same player and line twice (its main and its alternate market,
    at other prices): the offer is the same row whichever the warehouse returns last (the old code took
    the last in row order)."""
    row = world.props.filter(pl.col("is_main_line")).sort("game_date", "player_id", "bookmaker").head(1)
    twin = row.with_columns(
        pl.lit(False).alias("is_main_line"), pl.col("over_price") - 15, pl.col("under_price") + 15
    )
    pair = pl.concat([row, twin])
    offers = [book_lines(p) for p in (pair, pair.reverse())]
    assert offers[0].height == 1
    same(offers[1], offers[0])
    assert offers[0]["is_main_line"].item() is True  # the main market's row


# ---------------------------------------------------------------- grading and performance


def test_grades_and_performance_do_not_depend_on_the_order_of_their_inputs(world: World) -> None:
    want = world.grades
    perf = [grading.performance(want, day) for day in (DAYS[3], D)]
    share = grading.graded_share(want).metadata
    record = record_by_system(want)
    assert want.filter(pl.col("result").is_in(["WIN", "LOSS"])).height > 1000
    for seed in SEEDS:
        got = grading.grade(
            shuffled(world.predictions, seed),
            shuffled(world.box, seed + 1),
            shuffled(world.injuries, seed + 2),
            shuffled(world.schedule, seed + 3),
        )
        same(got, want, LINE_KEY)
        rows = shuffled(want, seed + 4)
        # MAE, the line's MAE, bias and profit are float sums: summed in row order their last bits
        # moved with the order (the old code's performance differed from run to run on these grades)
        for day, frame in zip((DAYS[3], D), perf, strict=True):
            same(grading.performance(rows, day), frame)
        same(record_by_system(rows), record)
        assert grading.graded_share(rows).metadata == share


def test_a_player_on_two_box_scores_of_d_is_graded_on_his_line_s_game_in_any_order(world: World) -> None:
    """Two rows of D's box scores for one player (two games of D): the line's game is the one graded,
    whichever row the warehouse returns first (the old code kept either); a line of neither game is
    VOID, played in another game."""
    played = world.box.filter(pl.col("minutes") > 0).select("game_date", "player_id", "game_id")
    line = (
        world.predictions.filter(pl.col("system") == "catboost")
        .join(played, on=["game_date", "player_id", "game_id"], how="semi")
        .sort(LINE_KEY)
        .head(1)
    )
    box = world.box.filter(
        (pl.col("game_date") == line["game_date"].item()) & (pl.col("player_id") == line["player_id"].item())
    )
    other_game = world.schedule.filter(
        (pl.col("game_date") == line["game_date"].item()) & (pl.col("game_id") != line["game_id"].item())
    )["game_id"].min()
    twin = box.with_columns(pl.lit(other_game).alias("game_id"), pl.col("pts") + 20)
    both = pl.concat([box, twin])
    lines = pl.concat([line, line.with_columns(pl.lit("0029999999").alias("game_id"))])
    graded = [grading.grade(lines, b) for b in (both, both.reverse())]
    same(graded[1], graded[0])
    assert graded[0]["actual_points"].to_list() == [box["pts"].item(), None]
    assert graded[0]["void_reason"].to_list() == [None, "played_another_game"]


def test_two_statuses_in_one_report_edition_give_one_void_reason_in_any_order(world: World) -> None:
    """A player listed twice in the same injury report edition: the VOID reason is the status the
    context's injury_status picks too (the first by name), whichever row comes last."""
    line = world.predictions.sort(LINE_KEY).head(4)
    listed = pl.DataFrame(
        {
            "game_date": [line["game_date"][0]] * 2,
            "report_time_et": [datetime(2025, 11, 5, 17, 30)] * 2,
            "team_abbr": [line["team_abbr"][0]] * 2,
            "player_id": [line["player_id"][0]] * 2,
            "player_name": ["X"] * 2,
            "status": ["Questionable", "Out"],
            "reason": ["Ankle"] * 2,
        }
    )
    no_box = world.box.clear()
    graded = [grading.grade(line, no_box, inj) for inj in (listed, listed.reverse())]
    same(graded[1], graded[0])
    assert set(graded[0]["void_reason"]) == {"injury_report:Out"}


def test_the_graded_share_names_one_void_reason_per_player_date_in_any_order(world: World) -> None:
    """A player-date VOID on lines of two games for two reasons is counted under one of them, the same
    in any order (the old check counted the first row's)."""
    line = world.grades.sort(LINE_KEY).head(1)
    rows = pl.concat(
        [
            line.with_columns(pl.lit("VOID").alias("result"), pl.lit(reason).alias("void_reason"))
            for reason in ("played_another_game", "did_not_play")
        ]
    )
    shares = [grading.graded_share(r).metadata for r in (rows, rows.reverse())]
    assert shares[0] == shares[1]
    assert shares[0]["voids_by_reason"] == {"did_not_play": 1}


def test_readiness_names_the_games_in_one_order(world: World) -> None:
    """The games readiness lists (not final, without a box score) are in date and id order, not in
    the order the warehouse returned the schedule in."""
    schedule = world.schedule.filter(pl.col("game_date") == D).with_columns(
        pl.lit("scheduled").alias("status")
    )
    want = grading.readiness(schedule, world.box.clear())
    assert len(want.metadata["not_final"]) > 5 and want.metadata["not_final"] == sorted(
        want.metadata["not_final"]
    )
    for seed in SEEDS:
        assert grading.readiness(shuffled(schedule, seed), world.box.clear()).metadata == want.metadata


# ---------------------------------------------------------------- the backtest's summaries and its rows


def test_the_backtest_s_summaries_do_not_depend_on_the_order_of_the_graded_rows(world: World) -> None:
    rows = world.grades
    want = {
        "accuracy": backtest.accuracy(rows),
        "by_week": backtest.accuracy_by_week(rows),
        "confidence": backtest.by_confidence_tier(rows),
        "edge": backtest.by_edge_tier(rows),
        "calibration": exports.calibration_table(rows, "catboost"),
    }
    gain = backtest.mae_gain_interval(rows, "catboost", "baseline_blend", draws=200)
    for seed in SEEDS:
        mixed = shuffled(rows, seed)
        got = {
            "accuracy": backtest.accuracy(mixed),
            "by_week": backtest.accuracy_by_week(mixed),
            "confidence": backtest.by_confidence_tier(mixed),
            "edge": backtest.by_edge_tier(mixed),
            "calibration": exports.calibration_table(mixed, "catboost"),
        }
        for name, frame in want.items():
            try:
                same(got[name], frame)
            except AssertionError as err:
                raise AssertionError(f"{name}: {err}") from None
        assert backtest.mae_gain_interval(mixed, "catboost", "baseline_blend", draws=200) == gain


def test_the_calibration_table_is_the_same_bits_in_every_order_of_its_rows() -> None:
    """Five graded main lines in the lowest P(over) bin: its mean P(over) is the same float in each of
    the 120 orders of the rows (the old mean, taken in row order, had two values: 0.0302 in its last
    bits either way)."""
    p_over = [0.001, 0.08, 0.02, 0.01, 0.04]
    rows = pl.DataFrame(
        {
            "system": ["catboost"] * 5,
            "is_main_line": [True] * 5,
            "p_over": p_over,
            "line": [20.5] * 5,
            "actual_points": [12.0, 25.0, 18.0, 9.0, 14.0],
            "result": ["WIN", "LOSS", "WIN", "WIN", "WIN"],
        }
    )
    tables = [exports.calibration_table(rows[list(order)], "catboost") for order in permutations(range(5))]
    assert tables[0].select("bin", "n", "over_rate").rows() == [("0.0-0.1", 5, 0.2)]
    assert abs(tables[0]["mean_p"].item() - sum(p_over) / 5) < 1e-15
    for table in tables[1:]:
        same(table, tables[0])


def test_the_history_s_player_directory_does_not_depend_on_the_order_of_the_box_scores(world: World) -> None:
    """A player on two rows of his last date, spelled two ways: the directory names him one way in any
    order (the old code kept either)."""
    last = world.box.sort("game_date", "player_id").tail(1)
    twin = last.with_columns(
        pl.lit("Another Spelling").alias("player_name"), pl.lit("ZZZ").alias("team_abbr")
    )
    rows = pl.concat([world.box, twin])
    want = backtest.WarehouseHistory(rows).player_directory()
    for seed in SEEDS:
        same(backtest.WarehouseHistory(shuffled(rows, seed)).player_directory(), want, ["player_id"])


# ---------------------------------------------------------------- the report's files


def test_the_day_s_report_files_are_the_same_bytes_in_any_order(world: World) -> None:
    preds, grades = world.predictions, world.grades.filter(pl.col("game_date") < D)
    # the graded calls as published (here the final ones, closing half a point toward each call, and
    # every other player's withdrawn): their section too
    published = grades.filter(pl.col("actionable")).with_columns(
        clv=pl.lit(0.5), withdrawn=pl.col("player_id") % 2 == 0
    )
    want = exports.build_daily_report(preds, grades, D, published)
    assert "No call published before tip-off" not in want.html.decode()
    for seed in SEEDS:
        got = exports.build_daily_report(
            shuffled(preds, seed), shuffled(grades, seed + 1), D, shuffled(published, seed + 2)
        )
        assert got.files() == want.files() and got.summary == want.summary and got.picks_md == want.picks_md


def test_picks_of_two_players_of_one_name_are_in_one_order() -> None:
    """The picks CSV sorts by name; two players of one name kept the order their rows came in."""
    rows = []
    for pid, conf in ((11, 0.6), (22, 0.6)):
        for book in ("betmgm", "fanduel"):
            rows.append(
                {
                    "game_date": D,
                    "game_id": "0022500150",
                    "player_id": pid,
                    "player_name": "Jalen Williams",
                    "team_abbr": "OKC",
                    "bookmaker": book,
                    "line": 20.5,
                    "over_price": -110,
                    "under_price": -110,
                    "is_main_line": True,
                    "system": "catboost",
                    "model_version": "m",
                    "predicted_points": 23.0,
                    "p_over": conf,
                    "edge": 2.5,
                    "recommendation": "OVER",
                    "confidence": conf,
                    "tier": "low",
                    "actionable": True,
                    "skip_reason": None,
                    "quality": 90.0,
                }
            )
    preds = pl.DataFrame(rows)
    want = exports.picks_csv(preds)
    assert exports.picks_csv(preds.reverse()) == want
    assert exports.picks_csv(preds.sort("player_id", descending=True)) == want


def test_the_best_pick_of_a_player_is_one_line_whatever_the_order() -> None:
    """Two main lines of one book for one player at the same confidence and price: the better line for
    the call (the lower one to go over, the higher one to go under), in any order (the old code kept
    the first it was given)."""
    one = {
        "player_id": 7,
        "player_name": "A",
        "system": "catboost",
        "actionable": True,
        "is_main_line": True,
        "confidence": 0.6,
        "recommendation": "OVER",
        "over_price": -110,
        "under_price": -110,
        "bookmaker": "fanduel",
    }
    preds = pl.DataFrame([{**one, "line": 20.5}, {**one, "line": 21.5}])
    for frame in (preds, preds.reverse()):
        assert best_picks(frame, "catboost")["line"].to_list() == [20.5]
        under = frame.with_columns(pl.lit("UNDER").alias("recommendation"))
        assert best_picks(under, "catboost")["line"].to_list() == [21.5]


# ---------------------------------------------------------------- identity


def test_the_identity_registry_does_not_depend_on_the_order_of_the_box_scores(world: World) -> None:
    history = pl.read_parquet(Path(backtest.__file__).parents[1] / "data" / "box_scores.parquet").filter(
        pl.col("game_date").is_between(date(2025, 1, 1), D, closed="left")
    )
    # a player on two rows of his last date (two teams): his team is the same in any order
    last = history.sort("game_date", "player_id").tail(1)
    history = pl.concat([history, last.with_columns(pl.lit("ZZZ").alias("team_abbr"))], how="vertical")
    names = world.props.select("game_date", "player_name", "home_abbr", "away_abbr").unique()
    want_reg = PlayerRegistry.from_box_scores(history, as_of=D)
    want = (want_reg.snapshot(), want_reg.resolve(names))
    for seed in SEEDS:
        reg = PlayerRegistry.from_box_scores(shuffled(history, seed), as_of=D)
        same(reg.snapshot(), want[0], ["player_id"])
        same(
            reg.resolve(shuffled(names, seed + 1)),
            want[1],
            ["game_date", "player_name", "home_abbr", "away_abbr"],
        )


def test_a_reference_only_player_of_two_spellings_has_one_name_in_any_order() -> None:
    """A player known only from the reference directory, under two spellings: the registry names him
    the same way whatever order the directory's rows came in (the old snapshot took the first)."""
    box = pl.DataFrame(
        {"game_date": [date(2025, 1, 2)], "player_id": [1], "player_name": ["Some One"], "team_abbr": ["BOS"]}
    )
    directory = pl.DataFrame({"player_id": [7, 7], "player_name": ["Nic Claxton", "Nicolas Claxton"]})
    names = {
        PlayerRegistry.from_box_scores(box, as_of=D, extra_players=frame)
        .snapshot()
        .filter(pl.col("player_id") == 7)["player_name"]
        .item()
        for frame in (directory, directory.reverse())
    }
    assert names == {"Nic Claxton"}
