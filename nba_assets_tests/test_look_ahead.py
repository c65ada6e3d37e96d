"""Truncation tests of no look-ahead, layer by layer: whatever is computed for game date D (or for a
model with cutoff D) is identical whether the data from D on is there, is removed, or is altered
(every later game's points times 10, its minutes, teams and ratings changed, later injury reports and
lines rewritten). The feature store is checked on the real archive, every column of D's rows, for a
mid-season date, a season opener and a playoff date, one date at a time and inside a range call."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from nba_assets.lib.features.catalog import FEATURES
from nba_assets.lib.features.store import feature_rows
from nba_assets.lib.sources.archive import DEFAULT_ARCHIVE_DIR

# columns of a feature row that are D's outcome, not pre-game information
OUTCOME_COLUMNS = ("target_pts", "target_minutes", "played")


# ---------------------------------------------------------------- the feature store on the archive


@pytest.fixture(scope="module")
def archive_context() -> tuple[pl.DataFrame, pl.DataFrame]:
    """context.player_game_summary / team_game_summary rows built from the embedded archive's box
    scores, as the dbt models build them (the columns the feature store reads)."""
    box = pl.read_parquet(DEFAULT_ARCHIVE_DIR / "box_scores.parquet").filter(
        pl.col("player_id").is_not_null()
    )
    player_games = box.select(
        "game_date",
        "game_id",
        "player_id",
        "player_name",
        "team_abbr",
        "opponent_abbr",
        pl.col("is_home").fill_null(False),
        pl.col("starter").fill_null(False),
        pl.when(pl.col("position") != "").then(pl.col("position")).alias("position"),
        pl.coalesce("played", pl.col("minutes").fill_null(0) > 0).alias("played"),
        pl.col("minutes").fill_null(0.0),
        *[pl.col(c).fill_null(0) for c in ("pts", "fgm", "fga", "fg3a", "ftm", "fta", "oreb", "tov")],
    )
    teams = player_games.group_by("game_date", "game_id", "team_abbr").agg(
        pl.col("opponent_abbr").max(),
        pl.col("pts").sum(),
        pl.col("fga").sum(),
        pl.col("fta").sum(),
        pl.col("oreb").sum(),
        pl.col("tov").sum(),
        pl.col("minutes").sum().alias("team_minutes"),
    )
    teams = teams.with_columns(
        (pl.col("fga") - pl.col("oreb") + pl.col("tov") + 0.44 * pl.col("fta")).alias("possessions")
    )
    opp = teams.select(
        "game_id",
        pl.col("team_abbr").alias("opponent_abbr"),
        pl.col("pts").alias("opp_pts"),
        pl.col("possessions").alias("opp_possessions"),
    )
    team_games = teams.join(opp, on=["game_id", "opponent_abbr"]).select(
        "game_date",
        "game_id",
        "team_abbr",
        "opponent_abbr",
        "fga",
        "fta",
        "tov",
        "team_minutes",
        (48 * (pl.col("possessions") + pl.col("opp_possessions")) / 2 / (pl.col("team_minutes") / 5)).alias(
            "pace"
        ),
        (100 * pl.col("pts") / pl.col("possessions")).alias("off_rating"),
        (100 * pl.col("opp_pts") / pl.col("opp_possessions")).alias("def_rating"),
        (pl.col("pts") > pl.col("opp_pts")).alias("win"),
    )
    return player_games, team_games


def _expected(player_games: pl.DataFrame, dates: list[date]) -> pl.DataFrame:
    """Pre-game context rows for ``dates``: the players of each game, with made-up (fixed) injury and
    line columns, so the rows carry every column the feature store reads from context."""
    rows = player_games.filter(pl.col("game_date").is_in(dates))
    return rows.select(
        "game_date",
        "game_id",
        "player_id",
        "player_name",
        "team_abbr",
        "opponent_abbr",
        "is_home",
        pl.when(pl.col("player_id") % 7 == 0).then(pl.lit("Questionable")).alias("injury_status"),
        pl.when(pl.col("player_id") % 3 > 0)
        .then((pl.col("player_id") % 25).cast(pl.Float64) + 0.5)
        .alias("consensus_line"),
        pl.when(pl.col("player_id") % 3 > 0)
        .then((pl.col("player_id") % 25).cast(pl.Float64) + 1.5)
        .alias("opening_line"),
        (pl.col("player_id") % 3).cast(pl.Int64).alias("books_count"),
    ).unique(subset=["game_date", "player_id"], keep="first", maintain_order=True)


def _injuries(expected: pl.DataFrame, dates: list[date], status: str) -> pl.DataFrame:
    """raw.injury_report rows for ``dates``: every 5th expected player of each date, with ``status``."""
    listed = expected.filter(pl.col("game_date").is_in(dates) & (pl.col("player_id") % 5 == 0))
    return listed.select(
        "game_date",
        pl.col("game_date").cast(pl.Datetime("us")).dt.offset_by("13h").alias("report_time_et"),
        "team_abbr",
        "player_id",
        "player_name",
        pl.lit(status).alias("status"),
        pl.lit("Injury/Illness").alias("reason"),
    )


def _altered_from(frame: pl.DataFrame, day: date, changes: list[pl.Expr]) -> pl.DataFrame:
    later = frame.filter(pl.col("game_date") >= day)
    return pl.concat([frame.filter(pl.col("game_date") < day), later.with_columns(changes)], how="vertical")


def _pre_game(rows: pl.DataFrame, day: date) -> pl.DataFrame:
    """The expected (pre-game) rows of ``day``, without D's outcome columns, in a stable order."""
    out = rows.filter((pl.col("game_date") == day) & pl.col("is_expected"))
    return out.drop([c for c in OUTCOME_COLUMNS if c in out.columns]).sort("player_id", "game_id")


CASES = [
    date(2025, 11, 5),  # mid-season: every window full
    date(2025, 10, 21),  # opening night: last season's profile, blends, vs-opponent totals
    date(2024, 10, 22),  # the 2024-25 opener
    date(2024, 5, 6),  # the playoffs
]


@pytest.mark.parametrize("day", CASES, ids=str)
def test_every_column_of_d_is_the_same_with_the_data_from_d_on_removed_or_altered(
    archive_context: tuple[pl.DataFrame, pl.DataFrame], day: date
) -> None:
    pg, tg = archive_context
    around = [day + timedelta(days=k) for k in range(-2, 4)]
    expected = _expected(pg, around)
    injuries = _injuries(expected, around, "Out")
    assert expected.filter(pl.col("game_date") == day).height > 20

    full = feature_rows([day], expected, pg, tg, injuries)
    # what a range run computes for D, with later dates' rows, box scores and reports in the same call
    ranged = feature_rows(around, expected, pg, tg, injuries)
    # the world before D's first tip-off: nothing from D on but D's pre-game context and report
    cut = feature_rows(
        [day],
        expected.filter(pl.col("game_date") <= day),
        pg.filter(pl.col("game_date") < day),
        tg.filter(pl.col("game_date") < day),
        injuries.filter(pl.col("game_date") <= day),
    )
    # every game from D on altered, later reports and later context rewritten
    pg_x = _altered_from(
        pg,
        day,
        [
            pl.col("pts") * 10,
            pl.col("minutes") * 0.5 + 7,
            ~pl.col("starter"),
            pl.lit("C").alias("position"),
            pl.col("fga") * 3,
            pl.col("fgm") * 0,
            pl.col("fg3a") + 9,
            pl.col("ftm") * 10,
            pl.col("fta") * 10,
            pl.col("tov") + 5,
        ],
    )
    tg_x = _altered_from(
        tg,
        day,
        [
            pl.col("pace") * 10,
            pl.col("off_rating") * 10,
            pl.col("def_rating") / 10,
            ~pl.col("win"),
            pl.col("fga") * 3,
            pl.col("tov") + 50,
        ],
    )
    later = pl.col("game_date") > day
    expected_x = expected.with_columns(
        pl.when(later)
        .then(pl.col("consensus_line") * 10)
        .otherwise(pl.col("consensus_line"))
        .alias("consensus_line"),
        pl.when(later).then(pl.lit("Out")).otherwise(pl.col("injury_status")).alias("injury_status"),
    )
    injuries_x = pl.concat(
        [injuries.filter(~later), _injuries(expected, around[3:], "Available")], how="vertical"
    )
    altered = feature_rows(around, expected_x, pg_x, tg_x, injuries_x)

    reference = _pre_game(cut, day)
    assert reference.height == expected.filter(pl.col("game_date") == day).height
    assert {f.name for f in FEATURES} | {"sources", "quality", "max_source_date"} <= set(reference.columns)
    for name, rows in (("full", full), ("range", ranged), ("altered", altered)):
        try:
            assert_frame_equal(_pre_game(rows, day), reference, check_exact=True)
        except AssertionError as err:
            raise AssertionError(f"{name} world: {err}") from None
    assert (reference["max_source_date"] < day).all()
    # the check is not vacuous: D's report reached the rows, and most features are real data
    assert reference["teammates_out"].max() > 0
    assert reference["quality"].median() > 70


# ---------------------------------------------------------------- the model, its distribution and calibration


def _model_world(lined: bool) -> pl.DataFrame:
    from nba_assets_tests.test_lib_modeling import synthetic_features

    feats = synthetic_features(date(2025, 1, 1), 45)
    if lined:  # a real line for two players in three: the real-line calibration and the fitted blend weight
        feats = feats.with_columns(
            pl.when(pl.col("player_id") % 3 > 0)
            .then((pl.col("pts_avg_l10") * 2).round(0) / 2 + 0.5)
            .alias("consensus_line")
        )
    return feats


def _model_state(model) -> dict:
    meta = model.meta()
    return {k: v for k, v in meta.items() if k != "version"}


@pytest.mark.parametrize("lined", [True, False], ids=["real_lines", "synthetic_lines"])
def test_a_model_with_cutoff_d_is_the_same_without_or_with_altered_rows_from_d_on(lined: bool) -> None:
    """Training, the validation split, the number of trees, sigma(mu), the isotonic P(over) maps (the
    model's, the line-aware blend's and each baseline's), the blend weight, the stored metrics and the
    promotion gate's figures of a model with cutoff D read nothing dated D or later."""
    from nba_assets.lib.features.catalog import BASE_FEATURES
    from nba_assets.lib.modeling.config import ModelConfig
    from nba_assets.lib.modeling.train import promotion_gate, train_points_model

    # small and unconstrained (monotone constraints triple the time; they change no row a model reads)
    cfg = ModelConfig(
        iterations=30,
        monotone_increasing=(),
        validation_days=6,
        validation_min_rows=300,
        min_train_rows=300,
        calibration_min_lined_rows=150,
        blend_min_rows=150,
    )
    feats = _model_world(lined)
    cutoff = date(2025, 2, 5)
    later = pl.col("game_date") >= cutoff
    altered = feats.with_columns(
        *[pl.when(later).then(pl.col(f) * 10 + 3).otherwise(pl.col(f)).alias(f) for f in BASE_FEATURES],
        pl.when(later).then(pl.col("target_pts") * 10).otherwise(pl.col("target_pts")).alias("target_pts"),
        pl.when(later).then(pl.lit(4.5)).otherwise(pl.col("consensus_line")).alias("consensus_line"),
    )
    models = {
        "cut": train_points_model(feats.filter(~later), cutoff, cfg),
        "altered": train_points_model(altered, cutoff, cfg),
    }
    reference = _model_state(models["cut"])
    assert reference["metrics"]["calibrated_on"] == ("real_lines" if lined else "synthetic_lines_shrunk_0.5")
    assert (reference["metrics"]["lined_validation_rows"] > 0) == lined
    probe = feats.filter(pl.col("game_date") >= cutoff)
    mu = models["cut"].predict(probe)
    line = np.floor(mu) + 0.5
    for name, model in models.items():
        assert _model_state(model) == reference, name
        assert np.array_equal(model.predict(probe), mu), name
        assert np.array_equal(
            model.holdout_booster.predict(probe.select(BASE_FEATURES).to_numpy()),
            models["cut"].holdout_booster.predict(probe.select(BASE_FEATURES).to_numpy()),
        ), name
        for system in ("catboost", "catboost_line", "baseline_l10", "baseline_blend"):
            assert np.array_equal(
                model.distribution(system).p_over(mu, line),
                models["cut"].distribution(system).p_over(mu, line),
            ), (name, system)
    if not lined:
        return
    # the gate of a later candidate against this champion: the same figures whatever follows the
    # candidate's cutoff (the champion is scored on rows before it, that it never trained on)
    later_cutoff = cutoff + timedelta(days=4)
    candidate = train_points_model(feats.filter(pl.col("game_date") < later_cutoff), later_cutoff, cfg)
    after = pl.col("game_date") >= later_cutoff
    gates = [
        promotion_gate(candidate, models["cut"], frame).metadata
        for frame in (
            feats.filter(~after),
            feats.with_columns(
                pl.when(after).then(pl.col(f) * 10).otherwise(pl.col(f)).alias(f)
                for f in [*BASE_FEATURES, "target_pts"]
            ),
        )
    ]
    assert gates[0]["rows"] > 0 and gates[0]["candidate_mae"] > 0
    assert gates[1] == gates[0]
