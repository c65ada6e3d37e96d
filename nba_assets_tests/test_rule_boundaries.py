"""The core rules at their edges: each test here was written against a hand-made mutant of the rule
(a flipped comparison, a dropped filter) that the rest of the suite let pass (see README "Layout")."""

from datetime import date, datetime

import polars as pl
import pytest

from nba_assets.lib.modeling.decisions import book_lines, consensus, decide


def _calls(**cols: list) -> pl.DataFrame:
    n = len(next(iter(cols.values())))
    base: dict[str, list] = {
        "line": [22.5] * n,
        "over_price": [-110] * n,
        "under_price": [-110] * n,
        "predicted_points": [25.0] * n,
        "p_over": [0.65] * n,
        "quality": [90.0] * n,
    }
    base.update(cols)
    return pl.DataFrame(
        base,
        schema={
            "line": pl.Float64,
            "over_price": pl.Int64,
            "under_price": pl.Int64,
            "predicted_points": pl.Float64,
            "p_over": pl.Float64,
            "quality": pl.Float64,
        },
    )


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


def test_the_isotonic_map_stays_inside_its_evidence() -> None:
    """At P = 0 the map starts from the first block's rate (capped at 0.5), not from 0;
    no probability leaves [0.01, 0.99]; a shrunk map is pulled toward 0.5, not toward 0."""
    import numpy as np

    from nba_assets.lib.modeling.distribution import Isotonic

    rng = np.random.default_rng(5)
    p = rng.uniform(0.4, 0.6, 4000)
    iso = Isotonic.fit(p, (rng.uniform(0, 1, p.size) < 0.7).astype(float))
    low, high = iso(np.array([0.0, 0.95]))
    assert low == pytest.approx(0.5) and 0.6 < high <= 0.99
    assert Isotonic()(np.array([0.0, 1.0])).tolist() == [0.01, 0.99]
    assert Isotonic().shrunk(0.5).y == [0.25, 0.75]
