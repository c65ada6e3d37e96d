"""The core rules at their edges: each test here was written against a hand-made mutant of the rule
(a flipped comparison, a dropped filter) that the rest of the suite let pass (see README "Layout")."""

from datetime import date, datetime

import polars as pl
import pytest

from nba_assets.lib.modeling.decisions import book_lines, consensus, decide
from nba_assets_tests.test_lib_modeling import _rows

_calls = _rows  # decision rows: a 22.5 line at -110 both sides, 25 predicted, P(over) 0.65, quality 90


def test_the_documented_thresholds_call_at_the_threshold_and_pass_below_it() -> None:
    """README / DESIGN s7: a call needs quality >= 70, |edge| >= 1.5 and P(side) >= 0.56 (PASS only
    below them); tiers high >= 0.62, medium >= 0.58. Checked with the default config at each bound."""
    out = decide(
        _calls(
            quality=[70.0, 69.9, 90.0, 90.0, 90.0, 90.0, 90.0, 90.0],
            predicted_points=[25.0, 25.0, 24.0, 23.9, 21.0, 25.0, 25.0, 25.0],
            p_over=[0.65, 0.65, 0.65, 0.65, 0.30, 0.56, 0.5599, 0.65],
        )
    )
    assert out["skip_reason"].to_list() == [
        None,
        "low_quality",
        None,  # edge exactly +1.5
        "edge_below_threshold",
        None,  # edge exactly -1.5
        None,  # P(over) exactly 0.56
        "probability_below_threshold",
        None,
    ]
    assert out["recommendation"].to_list() == [
        "OVER",
        "PASS",
        "OVER",
        "PASS",
        "UNDER",
        "OVER",
        "PASS",
        "OVER",
    ]
    tiers = decide(_calls(p_over=[0.62, 0.6199, 0.58, 0.5799]))
    assert tiers["tier"].to_list() == ["high", "medium", "medium", "low"]


def test_a_row_without_a_prediction_is_passed_not_called() -> None:
    """A line whose player has no predicted points is PASS ``no_prediction`` (a null edge must not
    fall through to a call on the UNDER side)."""
    out = decide(_calls(predicted_points=[None, 25.0], p_over=[None, 0.65]))
    assert out["recommendation"].to_list() == ["PASS", "OVER"]
    assert out["skip_reason"].to_list() == ["no_prediction", None]
    assert out["actionable"].to_list() == [False, True]
    assert out["tier"][0] is None


def test_a_row_without_a_finite_prediction_or_probability_is_passed_not_called() -> None:
    """A null or NaN P(side) compared as neither below nor above 0.56, so such a line was called (OVER
    with a null confidence and tier; UNDER in the ``high`` tier on a NaN one), and a NaN prediction
    made a NaN edge that passed the edge rule: each is PASS with its reason."""
    nan = float("nan")
    out = decide(
        _calls(
            predicted_points=[25.0, 19.0, nan, float("inf"), 25.0],
            p_over=[None, nan, 0.65, 0.65, 0.65],
        )
    )
    assert out["skip_reason"].to_list() == [
        "no_probability",
        "no_probability",
        "no_prediction",
        "no_prediction",
        None,
    ]
    assert out["recommendation"].to_list() == ["PASS", "PASS", "PASS", "PASS", "OVER"]
    assert out["actionable"].to_list() == [False, False, False, False, True]
    assert out["tier"].to_list()[:4] == [None] * 4


def _prop(book: str, player: int | None, line: float, main: bool = True, name: str = "") -> dict:
    return {
        "game_date": date(2025, 11, 5),
        "game_id": "0022500150",
        "player_id": player,
        "player_name": name or f"p{player}",
        "bookmaker": book,
        "line": line,
        "over_price": -110,
        "under_price": -110,
        "is_main_line": main,
        "snapshot_utc": datetime(2025, 11, 5, 15),
    }


def test_unresolved_names_are_not_predicted_and_the_consensus_is_the_median_main_line() -> None:
    """A line without a resolved player id cannot be predicted (it is counted as unresolved), and
    the consensus is the median of the books' main lines: an alternate, far from the number, and a
    single book far from the others do not move it."""
    props = pl.DataFrame(
        [
            _prop("draftkings", 1, 20.5),
            _prop("fanduel", 1, 21.5),
            _prop("betmgm", 1, 27.5),  # one book far off: the median ignores it, a mean would not
            _prop("draftkings", 1, 14.5, main=False),  # an alternate
            _prop("draftkings", None, 9.5, name="Unknown, Guy"),
        ]
    )
    lines = book_lines(props)
    assert lines["player_id"].null_count() == 0
    assert sorted(lines["line"].to_list()) == [14.5, 20.5, 21.5, 27.5]
    assert consensus(lines).select("player_id", "consensus_line").rows() == [(1, 21.5)]


def test_each_outcome_of_a_call_is_graded_at_the_offered_price() -> None:
    """OVER and UNDER calls, won, lost and pushed, at plus and minus prices; a player with no minutes
    is VOID with the latest pre-game injury status as the reason (the earlier report said Probable)."""
    from nba_assets.lib import grading

    d = date(2025, 11, 5)
    calls = [  # (player, recommendation, line, over_price, under_price, points)
        (1, "OVER", 19.5, 120, -140, 20),  # won at +120
        (2, "OVER", 20.5, -110, -110, 20),  # lost
        (3, "OVER", 20.0, -110, -110, 20),  # push
        (4, "UNDER", 20.5, -130, 150, 20),  # won at +150
        (5, "UNDER", 19.5, -110, -250, 20),  # lost
        (6, "UNDER", 20.0, -110, -110, 20),  # push
        (7, "OVER", 10.5, -110, -110, 0),  # no minutes: VOID
    ]
    preds = pl.DataFrame(
        [
            {
                "game_date": d,
                "game_id": "g1",
                "player_id": p,
                "recommendation": rec,
                "line": line,
                "over_price": over,
                "under_price": under,
                "predicted_points": 21.0,
            }
            for p, rec, line, over, under, _ in calls
        ]
    )
    box = pl.DataFrame(
        [
            {"game_date": d, "game_id": "g1", "player_id": p, "pts": pts, "minutes": 0.0 if p == 7 else 30.0}
            for p, *_, pts in calls
        ]
    )
    injuries = pl.DataFrame(
        {
            "game_date": [d, d],
            "player_id": [7, 7],
            "status": ["Out", "Probable"],
            "report_time_et": [datetime(2025, 11, 5, 17, 30), datetime(2025, 11, 5, 13, 30)],
        }
    )
    got = grading.grade(preds, box, injuries).sort("player_id")
    assert got["result"].to_list() == ["WIN", "LOSS", "PUSH", "WIN", "LOSS", "PUSH", "VOID"]
    assert got["profit"].to_list() == pytest.approx([1.2, -1.0, 0.0, 1.5, -1.0, 0.0, 0.0])
    assert got["void_reason"].to_list() == [None] * 6 + ["injury_report:Out"]
    assert got["played"].to_list() == [True] * 6 + [False]


def _answers(**over: list) -> pl.DataFrame:
    from nba_assets.lib.modeling.config import SYSTEMS

    n = len(SYSTEMS)
    cols: dict[str, list] = {
        "game_date": [date(2025, 11, 5)] * n,
        "player_id": [1] * n,
        "bookmaker": ["draftkings"] * n,
        "line": [20.5] * n,
        "system": list(SYSTEMS),
        "predicted_points": [21.0] * n,
        "skip_reason": ["edge_below_threshold"] * n,
        "recommendation": ["PASS"] * n,
    }
    for k, v in over.items():
        cols[k] = v + cols[k][len(v) :]
    return pl.DataFrame(
        cols, schema_overrides={"skip_reason": pl.Utf8, "predicted_points": pl.Float64, "line": pl.Float64}
    )


def test_every_line_answered_fails_on_a_silent_row_and_on_a_call_without_a_line() -> None:
    """Each line has a row per system, and each row a prediction or a reason; a row without a line
    is NO_LINE (never a call on a default line)."""
    from nba_assets.lib.modeling.checks import every_line_answered

    props = pl.DataFrame([_prop("draftkings", 1, 20.5)])
    assert every_line_answered(props, _answers()).passed
    silent = every_line_answered(props, _answers(predicted_points=[None], skip_reason=[None]))
    assert not silent.passed and silent.metadata["rows_without_prediction_or_reason"] == 1
    no_line = pl.concat([_answers(), _answers(line=[None], recommendation=["NO_LINE"])])
    assert every_line_answered(props, no_line).passed
    assert not every_line_answered(props, pl.concat([_answers(), _answers(line=[None])])).passed


def test_not_all_fallbacks_passes_at_half_and_counts_rows_without_features() -> None:
    from nba_assets.lib.modeling.checks import not_all_fallbacks

    def preds(fallbacks: int, reason: str) -> pl.DataFrame:
        return pl.DataFrame({"skip_reason": [reason] * fallbacks + [None] * (20 - fallbacks)})

    assert not_all_fallbacks(preds(10, "low_quality")).passed  # exactly the 0.5 limit
    assert not not_all_fallbacks(preds(11, "low_quality")).passed
    assert not not_all_fallbacks(preds(11, "no_feature_row")).passed
    # lines no stored game matches (an emptied schedule sends every line there) are fallbacks too
    unscheduled = not_all_fallbacks(preds(11, "unscheduled_game"))
    assert not unscheduled.passed and unscheduled.metadata["fallback_rows"] == {"unscheduled_game": 11}
    assert not_all_fallbacks(preds(20, "edge_below_threshold")).passed  # a PASS is not a fallback


def test_training_rows_are_played_regular_season_games_before_the_cutoff_of_quality_50_up() -> None:
    from nba_assets.lib.modeling.train import training_rows

    cutoff = date(2025, 1, 31)
    rows = pl.DataFrame(
        {
            "player_id": [1, 2, 3, 4, 5, 6],
            "game_date": [date(2025, 1, 30)] * 5 + [cutoff],
            "game_id": ["0022400700", "0022400700", "0022400700", "0022400700", "0012400700", "0022400710"],
            "played": [True, True, False, True, True, True],
            "target_pts": [12.0, 12.0, 0.0, None, 12.0, 12.0],
            "quality": [50.0, 49.9, 90.0, 90.0, 90.0, 90.0],
        }
    )
    assert training_rows(rows, cutoff)["player_id"].to_list() == [1]


def test_sigma_is_the_spread_of_the_residuals_with_its_floors() -> None:
    """sigma(mu) is fitted so a Normal residual of spread s gives sigma ~ s (|residual| * sqrt(pi/2)),
    with a >= 0.5, b >= 0 and sigma never below 1 point."""
    import numpy as np

    from nba_assets.lib.modeling.distribution import SigmaModel

    rng = np.random.default_rng(3)
    mu = rng.uniform(5, 30, 20000)
    fitted = SigmaModel.fit(mu, mu + rng.normal(0, 5.0, mu.size))
    assert fitted(np.array([10.0, 25.0])) == pytest.approx([5.0, 5.0], abs=0.25)
    exact = SigmaModel.fit(mu, mu)  # no residual at all
    assert (exact.a, exact.b) == (0.5, 0.0)
    assert exact(np.array([0.0, 20.0])).tolist() == [1.0, 1.0]


def test_sigma_on_a_bound_is_the_least_squares_fit_on_that_bound() -> None:
    """A spread that falls as the prediction rises (here 8 - sqrt(mu), 5.8 points down to 2.5): the
    unconstrained slope is negative, so b = 0, and sigma is then the rows' average spread (3.9), the best
    flat fit. Clipping b alone kept the negative slope's intercept, 8 points, above every row's spread
    (and on a flat spread of 5 points, 5.3 for 7 seeds of 300, whenever the noise tilted the slope down).
    Likewise on the intercept's floor."""
    import numpy as np

    from nba_assets.lib.modeling.distribution import SigmaModel

    rng = np.random.default_rng(4)
    mu = rng.uniform(5, 30, 20000)
    spread = 8 - np.sqrt(mu)
    fitted = SigmaModel.fit(mu, mu + rng.normal(0, 1, mu.size) * spread)
    assert fitted.b == 0.0
    assert fitted(np.array([5.0, 30.0])) == pytest.approx([spread.mean()] * 2, abs=0.1)
    # a spread of 0.6 * sqrt(mu) - 0.6 (0.7 to 2.7 points): the intercept is held at its floor 0.5 and the
    # slope fitted with it (0.34); clipping the intercept alone kept the slope 0.6, 1.1 points too wide
    spread = 0.6 * np.sqrt(mu) - 0.6
    fitted = SigmaModel.fit(mu, mu + rng.normal(0, 1, mu.size) * spread)
    assert fitted.a == 0.5 and fitted(mu).mean() == pytest.approx(spread.mean(), abs=0.1)


def test_the_isotonic_map_stays_inside_its_evidence() -> None:
    """At P = 0 the map starts from the first block's rate (capped at 0.5), not from 0;
    no probability leaves [0.01, 0.99]; a shrunk map is pulled toward 0.5, not toward 0."""
    import numpy as np

    from nba_assets.lib.modeling.distribution import Isotonic

    rng = np.random.default_rng(5)
    # 20,000 rows (100 a block): on 4,000 (20 a block) the first level fell below 0.5 for 4 seeds of 300
    p = rng.uniform(0.4, 0.6, 20_000)
    iso = Isotonic.fit(p, (rng.uniform(0, 1, p.size) < 0.7).astype(float))
    low, high = iso(np.array([0.0, 0.95]))
    assert low == pytest.approx(0.5) and 0.6 < high <= 0.99
    assert Isotonic()(np.array([0.0, 1.0])).tolist() == [0.01, 0.99]
    assert Isotonic().shrunk(0.5).y == [0.25, 0.75]


def test_a_player_without_minutes_is_void_with_no_error_and_only_a_bet_is_refunded() -> None:
    """VOID rows: no error (a player who did not play is not a miss of the model), the refund 0 only on a
    bet (a PASS has no stake: no profit at all), and the reason says whether the box score has him
    (``did_not_play``) or not (``not_on_box_score``), never another game (no box row is no other game)."""
    from nba_assets.lib import grading

    d = date(2025, 11, 5)
    preds = pl.DataFrame(
        {
            "game_date": [d] * 4,
            "game_id": ["g1"] * 4,
            "player_id": [1, 2, 3, 4],
            "recommendation": ["OVER", "PASS", "OVER", "PASS"],
            "line": [10.5] * 4,
            "over_price": [-110] * 4,
            "under_price": [-110] * 4,
            "predicted_points": [14.0] * 4,
        }
    )
    box = pl.DataFrame(  # 1 and 2 on the box score without minutes; 3 and 4 not on it
        {
            "game_date": [d, d],
            "game_id": ["g1", "g1"],
            "player_id": [1, 2],
            "pts": [0, 0],
            "minutes": [0.0, 0.0],
        }
    )
    got = grading.grade(preds, box).sort("player_id")
    assert got["result"].to_list() == ["VOID"] * 4
    assert got["void_reason"].to_list() == [
        "did_not_play",
        "did_not_play",
        "not_on_box_score",
        "not_on_box_score",
    ]
    assert got["profit"].to_list() == [0.0, None, 0.0, None]
    assert got["abs_error"].to_list() == [None] * 4 and got["signed_error"].to_list() == [None] * 4


def test_a_record_s_roi_and_hit_rate_are_over_decided_bets() -> None:
    """README ("How to read it"): hit rate and ROI are over decided bets (a push is refunded: neither won nor lost)."""
    from nba_assets.lib import grading

    rows = pl.DataFrame(
        {
            "system": ["catboost"] * 5,
            "game_date": [date(2025, 11, 5)] * 5,
            "player_id": [1, 2, 3, 4, 5],
            "result": ["WIN", "WIN", "LOSS", "PUSH", "VOID"],
            "profit": [1.0, 0.5, -1.0, 0.0, 0.0],
        }
    )
    rec = grading.bet_record(rows, ["system"]).row(0, named=True)
    assert (rec["bets"], rec["wins"], rec["losses"], rec["pushes"]) == (4, 2, 1, 1)
    assert rec["hit_rate"] == pytest.approx(2 / 3) and rec["roi"] == pytest.approx(0.5 / 3)


def test_model_check_passes_on_a_tie_and_judges_from_exactly_min_n_player_dates() -> None:
    from nba_assets.lib.grading import MODEL_MIN_PLAYER_DATES, model_not_worse_than_baselines

    def perf(catboost_mae: float, n: int) -> pl.DataFrame:
        maes = {"baseline_l10": 5.2, "baseline_blend": 5.1, "catboost": catboost_mae}
        return pl.DataFrame(
            [
                {
                    "game_date": date(2025, 11, 20),
                    "window": "30d",
                    "tier": "all",
                    "system": s,
                    "n": n,
                    "mae": m,
                }
                for s, m in maes.items()
            ]
        )

    tie = model_not_worse_than_baselines(perf(5.1, MODEL_MIN_PLAYER_DATES))
    assert tie.passed and tie.metadata["gain"] == 0.0
    judged = model_not_worse_than_baselines(perf(5.3, MODEL_MIN_PLAYER_DATES))
    assert not judged.passed and "note" not in judged.metadata
    assert model_not_worse_than_baselines(perf(5.3, MODEL_MIN_PLAYER_DATES - 1)).passed


def test_graded_share_passes_at_the_threshold_and_a_player_date_graded_on_one_line_counts_as_graded() -> None:
    """Exactly 80 % of the lined player-dates graded on points passes; a player-date is VOID only when
    all its rows are (player 5's line on another game of the day is VOID, his line on his own game
    is graded)."""
    from nba_assets.lib import grading

    d = date(2025, 11, 5)
    graded = pl.DataFrame(
        {
            "game_date": [d] * 6,
            "player_id": [1, 2, 3, 4, 5, 5],
            "line": [20.5] * 6,
            "predicted_points": [21.0] * 6,
            "result": ["WIN", "LOSS", "WIN", "VOID", "VOID", "WIN"],
            "void_reason": [None, None, None, "not_on_box_score", "played_another_game", None],
        }
    )
    got = grading.graded_share(graded)
    assert got.metadata["player_dates_with_lines"] == 5 and got.metadata["graded_on_points"] == 4
    assert got.passed and got.metadata["share"] == 0.8


class _Constant:
    """A stand-in booster predicting one value: its MAE on rows all scoring 10 points is |value - 10|."""

    def __init__(self, value: float) -> None:
        self.value = value

    def predict(self, x):
        import numpy as np

        return np.full(len(x), self.value)


def _version(cutoff: date, validation_start: date, final: float, holdout: float | None):
    from nba_assets.lib.modeling.distribution import Isotonic, SigmaModel
    from nba_assets.lib.modeling.train import PointsModel

    return PointsModel(
        version=f"pm-{cutoff}-{final}",
        cutoff=cutoff,
        train_start=date(2025, 1, 1),
        train_end=cutoff,
        features=["x"],
        params={},
        booster=_Constant(final),
        sigma=SigmaModel(1.0, 0.0),
        calibration=Isotonic(),
        metrics={"mae": abs(final - 10), "validation_start": validation_start.isoformat()},
        holdout_booster=_Constant(holdout) if holdout is not None else None,
    )


def test_the_promotion_gate_scores_each_model_on_the_rows_it_never_trained_on() -> None:
    """README "Models": the candidate's validation rows (from its validation start, before its cutoff)
    scored by its hold-out booster; the champion by its final booster on the rows on or after its
    cutoff when there are at least GATE_MIN_ROWS of them, else by its hold-out booster on the rows on
    or after both validation starts, else (no hold-out booster stored) in sample on all the rows.
    Every player scores 10 points, so each model's MAE is its constant's distance from 10."""
    from datetime import timedelta

    from nba_assets.lib.modeling.train import GATE_MIN_ROWS, promotion_gate

    per_day = GATE_MIN_ROWS // 10
    days = [date(2025, 1, 1) + timedelta(days=i) for i in range(20)]  # Jan 1 .. Jan 20
    feats = pl.DataFrame(
        {
            "game_date": [d for d in days for _ in range(per_day)],
            "game_id": ["0022400001"] * (20 * per_day),
            "player_id": list(range(per_day)) * 20,
            "played": [True] * (20 * per_day),
            "quality": [90.0] * (20 * per_day),
            "target_pts": [10.0] * (20 * per_day),
            "x": [0.0] * (20 * per_day),
        }
    )
    val_start = date(2025, 1, 11)  # the candidate validates on Jan 11 .. Jan 20: exactly GATE_MIN_ROWS
    candidate = _version(date(2025, 1, 21), val_start, final=10.0, holdout=11.0)

    assert promotion_gate(candidate, None, feats).promote  # the first version

    # the champion's cutoff is the candidate's validation start: every validation row is unseen by it
    oos = promotion_gate(candidate, _version(val_start, date(2025, 1, 1), final=11.0, holdout=15.0), feats)
    assert oos.metadata["basis"] == "champion_out_of_sample"
    assert (oos.metadata["rows"], oos.metadata["rows_unseen_by_champion"]) == (GATE_MIN_ROWS, GATE_MIN_ROWS)
    assert (oos.metadata["candidate_mae"], oos.metadata["champion_mae"]) == (1.0, 1.0)
    assert oos.promote  # a tie promotes

    # a champion four days older: 60 rows unseen by it; both hold-out boosters on the rows from Jan 15
    recent = _version(date(2025, 1, 19), date(2025, 1, 15), final=10.0, holdout=12.0)
    held = promotion_gate(candidate, recent, feats)
    assert held.metadata["basis"] == "hold_out_models"
    assert (held.metadata["rows"], held.metadata["rows_unseen_by_champion"]) == (6 * per_day, 2 * per_day)
    assert (held.metadata["candidate_mae"], held.metadata["champion_mae"]) == (1.0, 2.0)
    assert held.promote

    legacy = _version(date(2025, 1, 19), date(2025, 1, 15), final=10.5, holdout=None)
    in_sample = promotion_gate(candidate, legacy, feats)
    assert in_sample.metadata["basis"] == "champion_in_sample" and in_sample.metadata["rows"] == GATE_MIN_ROWS
    assert in_sample.metadata["champion_mae"] == 0.5 and not in_sample.promote

    # no row both can be scored on (the features end before the validation window): never promoted
    none = promotion_gate(candidate, recent, feats.filter(pl.col("game_date") < val_start))
    assert none.metadata["rows"] == 0 and not none.promote


def test_the_validation_window_is_the_newest_dates_holding_both_enough_dates_and_enough_rows() -> None:
    from datetime import timedelta

    from nba_assets.lib.modeling.config import ModelConfig
    from nba_assets.lib.modeling.train import _validation_start

    cfg = ModelConfig(validation_days=3, validation_min_rows=100)

    def rows(per_date: list[int]) -> pl.DataFrame:  # per_date[0]: the newest date, Jan 31
        days = [date(2025, 1, 31) - timedelta(days=i) for i, n in enumerate(per_date) for _ in range(n)]
        return pl.DataFrame({"game_date": days})

    # 3 dates hold 150 rows (rows reached on the 2nd): the 3rd newest date starts the window
    assert _validation_start(rows([50] * 6), cfg) == date(2025, 1, 29)
    # 3 dates hold 30 rows: extended to the 10th newest date
    assert _validation_start(rows([10] * 12), cfg) == date(2025, 1, 22)
    # never enough: every date validates
    assert _validation_start(rows([10] * 5), cfg) == date(2025, 1, 27)


def test_the_hold_out_booster_never_trains_on_the_validation_window(monkeypatch) -> None:
    """The hold-out booster learns from the rows before the validation start and stops early on the
    validation rows; the stored booster is refit on every row before the cutoff."""
    import dataclasses

    from nba_assets.lib.modeling import train
    from nba_assets_tests.test_lib_modeling import FAST, synthetic_features

    fits: list[tuple[int, int | None]] = []
    real_fit = train._fit

    def recording_fit(x, y, cfg, iterations, names, eval_set=None):
        fits.append((len(x), None if eval_set is None else len(eval_set[0])))
        return real_fit(x, y, cfg, iterations, names, eval_set)

    monkeypatch.setattr(train, "_fit", recording_fit)
    feats = synthetic_features(date(2025, 1, 1), 20)
    cutoff = date(2025, 1, 16)
    model = train.train_points_model(
        feats, cutoff, dataclasses.replace(FAST, iterations=5, monotone_increasing=())
    )
    val_start = date.fromisoformat(model.metrics["validation_start"])
    rows = train.training_rows(feats, cutoff)
    before = rows.filter(pl.col("game_date") < val_start).height
    assert fits == [(before, rows.height - before), (rows.height, None)]
    assert model.metrics["validation_rows"] == rows.height - before > 0


def test_the_line_blend_weight_is_fitted_once_there_are_enough_rows_and_stays_in_0_1() -> None:
    import numpy as np

    from nba_assets.lib.modeling.config import ModelConfig
    from nba_assets.lib.modeling.train import fit_line_blend

    cfg = ModelConfig(blend_min_rows=4, blend_prior_weight=0.35)
    line = np.array([20.5, 15.5, 10.5, 25.5])
    mu = line + np.array([2.0, -2.0, 1.0, -1.0])
    # actual = line + 0.5 * (mu - line): the least-squares weight is 0.5, from exactly blend_min_rows rows
    assert fit_line_blend(mu, line, line + 0.5 * (mu - line), cfg) == pytest.approx(0.5)
    assert fit_line_blend(mu[:3], line[:3], line[:3], cfg) == 0.35  # too few rows: the prior
    assert fit_line_blend(mu, line, line + 3.0 * (mu - line), cfg) == 1.0  # clipped
    assert fit_line_blend(mu, line, line - (mu - line), cfg) == 0.0
    assert fit_line_blend(line, line, line + 1.0, cfg) == 0.35  # the model says the line: no weight to fit


def test_a_performance_window_of_n_days_holds_exactly_n_dates_and_its_line_is_the_main_line() -> None:
    """The 7-day window ending on D is D-6 .. D, the day window D alone, the 30-day window D-29 .. D;
    the line's MAE is measured against the median of the main lines."""
    from datetime import timedelta

    from nba_assets.lib import grading

    as_of = date(2025, 11, 30)
    ages = [0, 6, 7, 29, 30]  # days before as_of
    grades = pl.DataFrame(
        {
            "game_date": [as_of - timedelta(days=a) for a in ages],
            "player_id": [1] * len(ages),
            "system": ["catboost"] * len(ages),
            "tier": ["high"] * len(ages),
            "is_main_line": [True] * len(ages),
            "line": [20.5] * len(ages),
            "played": [True] * len(ages),
            "predicted_points": [24.0] * len(ages),
            "actual_points": [25.0] * len(ages),
            "result": ["WIN"] * len(ages),
            "profit": [0.9] * len(ages),
        }
    )
    perf = grading.performance(grades, as_of).filter(pl.col("tier") == "all")
    assert dict(perf.select("window", "bets").iter_rows()) == {"day": 1, "7d": 2, "30d": 4, "season": 5}
    # the line's MAE is the median main line's: an alternate at 10.5 on the same player-date is no line
    alternate = grades.head(1).with_columns(pl.lit(False).alias("is_main_line"), pl.lit(10.5).alias("line"))
    day = grading.performance(pl.concat([grades, alternate]), as_of).filter(
        (pl.col("tier") == "all") & (pl.col("window") == "day")
    )
    assert day.select("n", "mae", "line_mae", "bets").row(0) == (1, 1.0, 4.5, 1)


def test_a_book_s_two_unmatched_games_keep_their_own_latest_snapshots() -> None:
    """A game the schedule did not match has no NBA id; its book offer is keyed by the feed's event id
    (decisions.book_games). Keyed by the null game id alone, a book's two unmatched games would share
    one latest snapshot and the earlier-captured game's lines would vanish (mutant D29)."""
    early = {**_prop("draftkings", 1, 20.5), "game_id": None, "event_id": "ev-a"}
    late = {
        **_prop("draftkings", 2, 11.5),
        "game_id": None,
        "event_id": "ev-b",
        "snapshot_utc": datetime(2025, 11, 5, 17),
    }
    lines = book_lines(pl.DataFrame([early, late]))
    assert sorted(lines.select("player_id", "line").rows()) == [(1, 20.5), (2, 11.5)]


def test_the_newest_labeled_date_is_before_the_cutoff() -> None:
    """points_model_training_history_current reports the newest date holding training rows before the
    cutoff: rows of the cutoff date itself (the day being predicted) never count (mutant K07)."""
    from nba_assets.lib.modeling.checks import training_history_current

    cutoff = date(2025, 11, 10)
    days = [date(2025, 11, 7), date(2025, 11, 8), cutoff]
    feats = pl.DataFrame(
        {"game_date": days, "is_expected": [True] * 3, "played": [True] * 3, "target_pts": [10, 12, 14]}
    )
    got = training_history_current(feats, cutoff)
    assert got.passed and got.metadata["newest_labeled_date"] == "2025-11-08"
