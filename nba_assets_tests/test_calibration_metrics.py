"""The calibration figures stored with a model version are out of sample; the served map is unchanged.

The served P(over) map is an isotonic regression fitted on the validation window's rows. Scored on those
same rows it is nearly perfectly calibrated whatever the data, so the stored Brier score and reliability
table are cross-fitted: each block of validation dates is scored by the map fitted on the other dates.
"""

import dataclasses
from datetime import date

import numpy as np
import polars as pl
import pytest

from nba_assets.lib.modeling.baselines import baseline_predictions
from nba_assets.lib.modeling.distribution import (
    Distribution,
    Isotonic,
    SigmaModel,
    brier,
    cross_fitted,
    platt_fit,
    platt_map,
    raw_p_over,
    reliability_table,
)
from nba_assets.lib.modeling.train import (
    _validation_start,
    calibration_fitter,
    train_points_model,
    training_rows,
)
from nba_assets_tests.test_lib_modeling import FAST, synthetic_features


def _noise(seed: int, rows: int = 2000, dates: int = 20) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw probabilities that carry no information: the outcome is a fair coin whatever they say."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.2, 0.8, rows)
    outcome = (rng.uniform(0, 1, rows) < 0.5).astype(float)
    groups = np.repeat(np.arange(dates), rows // dates)
    return p, outcome, groups


def test_isotonic_looks_better_in_sample_than_it_is_out_of_sample() -> None:
    """Raw probabilities that are already exactly right (outcome ~ Bernoulli(p)): no map can improve on
    them. Fitted and scored on the same 600 rows (a validation window's worth) the isotonic map claims
    it does, since it fits the rows' noise; scored on dates it was not fitted on, it is worse."""
    raw, in_sample, out_of_sample = [], [], []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        p = rng.uniform(0.05, 0.95, 600)
        outcome = (rng.uniform(0, 1, 600) < p).astype(float)
        dates = np.repeat(np.arange(20), 30)
        oos = cross_fitted(p, outcome, dates, 5)
        assert oos is not None
        raw.append(brier(p, outcome))
        in_sample.append(brier(Isotonic.fit(p, outcome)(p), outcome))
        out_of_sample.append(brier(oos, outcome))
    assert np.mean(in_sample) < np.mean(raw) < np.mean(out_of_sample)


def test_cross_fitting_never_splits_a_date_and_needs_two_dates() -> None:
    p, outcome, groups = _noise(4)
    base = cross_fitted(p, outcome, groups, 5)
    # a date's out-of-sample probabilities do not depend on that date's own outcomes
    flipped = outcome.copy()
    flipped[groups == 7] = 1 - flipped[groups == 7]
    again = cross_fitted(p, flipped, groups, 5)
    assert base is not None and again is not None
    assert np.array_equal(base[groups == 7], again[groups == 7])
    assert not np.array_equal(base, again)  # other dates' maps did see them
    # more folds than dates: one date per fold; a single date cannot be scored out of sample
    assert cross_fitted(p[:200], outcome[:200], groups[:200], 5) is not None  # 2 dates
    assert cross_fitted(p[:100], outcome[:100], groups[:100], 5) is None


def _noise_world(seed: int) -> pl.DataFrame:
    """Points that no feature predicts (15 + noise), and a real line at 14.5 for every player-game."""
    feats = synthetic_features(date(2025, 1, 1), 40, seed)
    rng = np.random.default_rng(seed + 50)
    return feats.with_columns(
        pl.Series("target_pts", np.round(np.clip(15 + rng.normal(0, 6, feats.height), 0, None))),
        pl.lit(14.5).alias("consensus_line"),
    )


@pytest.mark.parametrize("real_lines", [True, False])
def test_stored_calibration_metrics_are_out_of_sample_and_the_served_map_is_unchanged(
    real_lines: bool,
) -> None:
    cfg = dataclasses.replace(
        FAST,
        validation_days=10,
        validation_min_rows=600,
        calibration_min_lined_rows=100 if real_lines else 10**6,
    )
    feats = _noise_world(5)
    cutoff = date(2025, 2, 10)
    model = train_points_model(feats, cutoff, cfg)
    m = model.metrics
    assert m["calibrated_on"] == ("real_lines" if real_lines else "synthetic_lines_shrunk_0.5")
    assert m["calibration_dates"] == 10 and m["calibration_folds"] == 5
    assert "brier_calibrated" not in m and "reliability" not in m  # the in-sample names are gone

    # the validation rows and raw probabilities, rebuilt from the stored hold-out booster
    val = training_rows(feats, cutoff).filter(
        pl.col("game_date") >= date.fromisoformat(m["validation_start"])
    )
    mu = np.clip(model.holdout_booster.predict(val.select(model.features).to_numpy()), 0, None)
    y = val["target_pts"].to_numpy()
    lines = (
        np.full(len(y), 14.5)
        if real_lines
        else np.floor((0.6 * val["pts_avg_l10"] + 0.4 * val["pts_avg_season"]).to_numpy()) + 0.5
    )
    over = (y > lines).astype(float)
    p_raw = raw_p_over(mu, model.sigma(mu), lines)
    assert m["calibration_rows"] == len(y)

    # served: the map fitted on every validation row, exactly as before
    full = Isotonic.fit(p_raw, over)
    shrink = None if real_lines else cfg.synthetic_shrink
    served = full if shrink is None else full.shrunk(shrink)
    assert model.calibration.x == served.x and model.calibration.y == served.y
    assert np.array_equal(model.distribution("catboost").p_over(mu, lines), served(p_raw))

    # stored: the map scored on each block of validation dates by the map fitted on the other blocks
    oos = cross_fitted(p_raw, over, val["game_date"].to_numpy(), 5, calibration_fitter(shrink))
    assert oos is not None
    assert m["brier_out_of_sample"] == pytest.approx(brier(oos, over))
    assert m["reliability_out_of_sample"] == reliability_table(oos, over)
    assert m["brier_calibrated_in_sample"] == pytest.approx(brier(served(p_raw), over))
    # on points no feature predicts, the in-sample figure flatters the map
    assert m["brier_out_of_sample"] > m["brier_calibrated_in_sample"]

    # each baseline's map: fitted on the same rows and lines, from its own spread, shrunk like the model's
    for name, mu_b in baseline_predictions(val).items():
        sigma_b = SigmaModel.fit(mu_b, y)
        iso = Isotonic.fit(raw_p_over(mu_b, sigma_b(mu_b), lines), over)
        expected = iso if shrink is None else iso.shrunk(shrink)
        got = model.distribution(name).calibration
        assert got is not None and (got.x, got.y) == (expected.x, expected.y), name


def test_real_line_calibration_leaves_out_pushes_and_zero_lines_and_maps_the_blend() -> None:
    """Whole-point lines: a push is neither over nor under, so it is left out of the calibration rows; a
    line of 0 is no line. The real lines are used from exactly ``calibration_min_lined_rows`` decided
    rows, and the line-aware map is fitted on the blend w * mu + (1 - w) * line, not on mu."""
    feats = synthetic_features(date(2025, 1, 1), 40, 7).with_columns(
        pl.col("target_pts").round(0),
        pl.when(pl.col("player_id") % 4 > 0)
        .then(pl.col("pts_avg_season").round(0))
        .otherwise(0.0)
        .alias("consensus_line"),
    )
    cutoff = date(2025, 2, 10)
    cfg = dataclasses.replace(
        FAST, iterations=30, monotone_increasing=(), validation_days=10, validation_min_rows=600
    )
    rows = training_rows(feats, cutoff)
    val = rows.filter(pl.col("game_date") >= _validation_start(rows, cfg))
    y, cons = val["target_pts"].to_numpy(), val["consensus_line"].to_numpy()
    lined = cons > 0
    decided = lined & (y != cons)
    assert 0 < decided.sum() < lined.sum() < val.height  # pushes and zero lines both present
    model = train_points_model(
        feats, cutoff, dataclasses.replace(cfg, calibration_min_lined_rows=int(decided.sum()))
    )
    m = model.metrics
    assert m["calibrated_on"] == "real_lines"
    assert m["lined_validation_rows"] == lined.sum() and m["calibration_rows"] == decided.sum()

    mu = np.clip(model.holdout_booster.predict(val.select(model.features).to_numpy()), 0, None)[decided]
    lines, over = cons[decided], (y[decided] > cons[decided]).astype(float)
    blend = m["blend_weight"] * mu + (1 - m["blend_weight"]) * lines
    expected = Isotonic.fit(raw_p_over(blend, model.sigma(blend), lines), over)
    assert model.calibration_line is not None
    assert (model.calibration_line.x, model.calibration_line.y) == (expected.x, expected.y)


def test_each_block_of_dates_is_scored_by_a_map_fitted_on_all_other_blocks() -> None:
    """10 dates in 5 folds: 5 contiguous blocks of 2 dates, each scored by a map fitted on the other 8
    dates (mutant S18, the blocks folded into 2 alternating folds, survived the suite: each map then saw
    half the other dates)."""
    groups = np.repeat(np.arange(10), 3)
    p = groups / 100 + 0.3  # a row's raw probability tells its date
    seen: list[set[int]] = []

    def fit(p_train: np.ndarray, outcome_train: np.ndarray) -> Isotonic:
        seen.append({round((x - 0.3) * 100) for x in p_train})
        return Isotonic()

    assert cross_fitted(p, np.zeros(p.size), groups, 5, fit) is not None
    assert seen == [set(range(10)) - {2 * b, 2 * b + 1} for b in range(5)]


def test_the_isotonic_map_is_pre_binned_into_200_blocks() -> None:
    """``Isotonic.fit`` pre-bins into 200 equal-count blocks: 200 rows are 200 steps, so the map steps
    between the two rows where the outcome turns (mutant S19, 50 blocks of 4 rows, survived the suite:
    the block holding both sides of the turn gave 0.44 to a row whose outcome, like all below it, is 0)."""
    p = (np.arange(200) + 0.5) / 200
    outcome = (np.arange(200) >= 102).astype(float)
    iso = Isotonic.fit(p, outcome)
    assert len(iso.x) == 202  # 200 knots and the two ends
    assert iso(p[[0, 101, 102, 199]]).tolist() == [0.01, 0.01, 0.99, 0.99]


def test_a_baseline_s_distribution_keeps_its_map_through_storage() -> None:
    """A stored model's baselines are ``Distribution.to_json``; read back, each serves the same P(over)
    and P(under) through its own isotonic map (mutant S20, the map dropped on reading, survived the
    suite: a reloaded model's baselines served the raw normal probability). A distribution stored without
    a map reads back without one."""
    mu, line = np.array([8.0, 15.0, 22.0]), np.array([14.5, 14.5, 15.0])
    dist = Distribution(SigmaModel(1.0, 0.3), Isotonic([0.0, 0.5, 1.0], [0.2, 0.4, 0.9]))
    back = Distribution.from_json(dist.to_json())
    assert back == dist
    assert np.array_equal(back.p_over(mu, line), dist.p_over(mu, line))
    assert np.array_equal(back.p_under(mu, line), dist.p_under(mu, line))
    assert not np.allclose(back.p_over(mu, line), raw_p_over(mu, dist.sigma(mu), line))
    bare = Distribution(SigmaModel(1.0, 0.3))
    assert Distribution.from_json(bare.to_json()) == bare


def test_p_under_is_read_through_the_p_over_map_by_symmetry() -> None:
    """The map is fitted on P(over); P(under) = 1 - map(1 - raw P(under)) (mutant S12, P(under) as the
    map of the raw P(under), survived the suite: every P(under) test used no map or a symmetric one).
    Map here: 0 -> 0.1, 0.5 -> 0.3, 1 -> 0.95 (not symmetric about 0.5)."""
    from scipy.stats import norm

    dist = Distribution(SigmaModel(7.0, 0.0), Isotonic([0.0, 0.5, 1.0], [0.1, 0.3, 0.95]))
    # half-point line at the mean: raw P(over) = raw P(under) = 0.5, map(0.5) = 0.3
    over, under = (
        dist.p_over(np.array([19.5]), np.array([19.5])),
        dist.p_under(np.array([19.5]), np.array([19.5])),
    )
    assert over[0] == pytest.approx(0.3) and under[0] == pytest.approx(0.7)  # the map of 0.5 would be 0.3
    mu, line = np.array([8.0, 15.0, 22.0, 30.0]), np.array([14.5, 14.5, 21.5, 24.5])
    assert dist.p_over(mu, line) + dist.p_under(mu, line) == pytest.approx(np.ones(4), abs=1e-12)
    # whole-point line at the mean: raw P(under) = P(X <= 19) = r < 0.5, so 1 - r is on the map's upper piece
    r = norm.cdf(-0.5 / 7.0)
    under_whole = dist.p_under(np.array([20.0]), np.array([20.0]))[0]
    assert under_whole == pytest.approx(1.0 - (0.3 + (0.5 - r) * (0.95 - 0.3) / 0.5))
    assert dist.p_over(np.array([20.0]), np.array([20.0]))[0] == pytest.approx(0.1 + r * (0.3 - 0.1) / 0.5)


def test_the_reliability_table_bins_at_tenths_and_counts_p_one_in_the_last_bin() -> None:
    """Bins are [k/10, (k+1)/10), the last one closed: a probability of exactly 0.3, 0.6 or 0.7 (an
    isotonic step is a block's hit rate, often such a fraction) is in the bin it names as its lower
    edge (float edges from linspace, 0.30000000000000004, put it in the bin below), and p = 1.0 is
    counted (mutant S15, the last bin open at 1.0, survived the suite: a served probability is clipped
    to 0.99, so none reached the edge)."""
    assert Isotonic([0.0, 1.0], [0.0, 1.0])(np.array([1.0, 0.0])).tolist() == [0.99, 0.01]
    p = np.array([0.1, 0.3, 0.6, 0.7, 0.99, 1.0, 0.0, 0.2999])
    outcome = np.array([0, 1, 1, 0, 1, 1, 0, 0], dtype=float)
    table = {r["bin"]: (r["n"], r["mean_p"], r["hit_rate"]) for r in reliability_table(p, outcome)}
    assert table == {
        "0.0-0.1": (1, 0.0, 0.0),
        "0.1-0.2": (1, 0.1, 0.0),
        "0.2-0.3": (1, 0.2999, 0.0),
        "0.3-0.4": (1, 0.3, 1.0),
        "0.6-0.7": (1, 0.6, 1.0),
        "0.7-0.8": (1, 0.7, 0.0),
        "0.9-1.0": (2, pytest.approx(0.995), 1.0),
    }
    assert sum(r["n"] for r in reliability_table(p, outcome)) == p.size


# ---------------------------------------------------------------- Platt scaling (opt-in on real lines)


def _platt_rows(a: float, b: float, rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Raw probabilities and outcomes drawn from P(outcome) = sigmoid(a + b * logit(p))."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.95, rows)
    truth = 1 / (1 + np.exp(-(a + b * np.log(p / (1 - p)))))
    return p, (rng.uniform(0, 1, rows) < truth).astype(float)


def test_platt_map_recovers_a_known_curve_as_a_monotone_map() -> None:
    """The experiment's fitted slopes were 0.06-0.22: a = -0.1, b = 0.3 on 50,000 rows is recovered by
    maximum likelihood, and served as the usual piecewise-linear map (same storage, shrink, JSON)."""
    # 50,000 rows: the fitted a and b have sd 0.009 and 0.007 over seeds (0.015 and 0.011 on 20,000,
    # where a missed by 0.042 for 2 seeds of 300)
    p, outcome = _platt_rows(-0.1, 0.3, 50_000, 11)
    a, b = platt_fit(p, outcome)
    assert a == pytest.approx(-0.1, abs=0.04) and b == pytest.approx(0.3, abs=0.04)
    m = platt_map(p, outcome)
    assert m.x[0] == 0.0 and m.x[-1] == 1.0 and len(m.x) == 201
    assert np.all(np.diff(m.x) > 0) and np.all(np.diff(m.y) >= 0)
    grid = np.linspace(0.02, 0.98, 97)
    curve = 1 / (1 + np.exp(-(a + b * np.log(grid / (1 - grid)))))
    assert np.max(np.abs(m(grid) - curve)) < 2e-3  # the knots follow the fitted curve
    half = m.shrunk(0.5)
    assert np.allclose(half(grid), 0.5 + 0.5 * (m(grid) - 0.5))
    stored = Distribution.from_json(Distribution(SigmaModel(), m).to_json()).calibration
    assert stored is not None and (stored.x, stored.y) == (m.x, m.y)


def test_platt_map_is_flat_at_the_base_rate_when_the_slope_is_negative() -> None:
    """Anti-informative raw probabilities (the higher, the rarer the over): a monotone map cannot
    follow them; like an isotonic fit it pools them into the base rate, never a reversed map."""
    p, outcome = _platt_rows(0.2, -0.5, 5000, 12)
    assert platt_fit(p, outcome)[1] < 0
    m = platt_map(p, outcome)
    assert m(np.array([0.1, 0.5, 0.9])) == pytest.approx([outcome.mean()] * 3)


def test_platt_fit_stays_finite_on_separated_outcomes() -> None:
    """The outcome is 1 exactly when p > 0.5: unpenalized maximum likelihood runs off to an infinite
    slope; the tiny ridge keeps it finite and the map monotone."""
    p = np.linspace(0.1, 0.9, 400)
    outcome = (p > 0.5).astype(float)
    a, b = platt_fit(p, outcome)
    assert np.isfinite([a, b]).all() and 1 < b < 100  # unpenalized: 9,401 after 50 steps, then singular
    m = platt_map(p, outcome)
    assert np.all(np.diff(m.y) >= 0) and m(np.array([0.2]))[0] < 0.05 < 0.95 < m(np.array([0.8]))[0]


def _lined_world(seed: int) -> pl.DataFrame:
    """Points follow the season average plus noise; every row has a real line, the season average
    missed by a book's error (sd 2), so the model's distance from the line tells the over."""
    feats = synthetic_features(date(2025, 1, 1), 40, seed)
    miss = pl.Series(np.random.default_rng(seed + 200).normal(0, 2, feats.height))
    return feats.with_columns(((pl.col("pts_avg_season") + miss).floor() + 0.5).alias("consensus_line"))


def test_platt_on_real_lines_replaces_only_the_catboost_map() -> None:
    """``real_line_calibration="platt"``: on the real-line branch the catboost map (and its cross-fitted
    figures) is the Platt curve; the predicted points, the line-aware map and the baselines' maps are
    those of the shipped isotonic model; the version reloads to the same probabilities."""
    feats, cutoff = _lined_world(3), date(2025, 2, 10)
    cfg = dataclasses.replace(
        FAST, validation_days=10, validation_min_rows=600, calibration_min_lined_rows=100
    )
    iso = train_points_model(feats, cutoff, cfg)
    platt = train_points_model(feats, cutoff, dataclasses.replace(cfg, real_line_calibration="platt"))
    assert iso.metrics["calibration_map"] == "isotonic" and "platt_b" not in iso.metrics
    m = platt.metrics
    assert m["calibrated_on"] == "real_lines" and m["calibration_map"] == "platt"

    val = training_rows(feats, cutoff).filter(
        pl.col("game_date") >= date.fromisoformat(m["validation_start"])
    )
    mu = np.clip(platt.holdout_booster.predict(val.select(platt.features).to_numpy()), 0, None)
    y, lines = val["target_pts"].to_numpy(), val["consensus_line"].to_numpy()
    over = (y > lines).astype(float)
    p_raw = raw_p_over(mu, platt.sigma(mu), lines)
    expected = platt_map(p_raw, over)
    assert (platt.calibration.x, platt.calibration.y) == (expected.x, expected.y)
    assert (platt.calibration.x, platt.calibration.y) != (iso.calibration.x, iso.calibration.y)
    assert (m["platt_a"], m["platt_b"]) == pytest.approx(platt_fit(p_raw, over)) and m["platt_b"] > 0
    oos = cross_fitted(p_raw, over, val["game_date"].to_numpy(), 5, calibration_fitter(None, "platt"))
    assert oos is not None and m["brier_out_of_sample"] == pytest.approx(brier(oos, over))

    assert np.array_equal(platt.predict(val), iso.predict(val))  # calibration moves no points
    assert platt.calibration_line is not None and iso.calibration_line is not None
    assert (platt.calibration_line.x, platt.calibration_line.y) == (
        iso.calibration_line.x,
        iso.calibration_line.y,
    )
    for name in ("baseline_l10", "baseline_blend"):
        assert platt.distribution(name).to_json() == iso.distribution(name).to_json(), name

    again = type(platt).from_bytes(*platt.to_bytes())
    assert again.metrics["calibration_map"] == "platt"
    assert np.array_equal(
        again.distribution("catboost").p_over(mu, lines), platt.distribution("catboost").p_over(mu, lines)
    )
    assert not np.array_equal(
        platt.distribution("catboost").p_over(mu, lines), iso.distribution("catboost").p_over(mu, lines)
    )


def test_platt_leaves_the_synthetic_line_branch_isotonic() -> None:
    feats, cutoff = _lined_world(3), date(2025, 2, 10)
    cfg = dataclasses.replace(
        FAST, validation_days=10, validation_min_rows=600, calibration_min_lined_rows=10**6
    )
    platt = train_points_model(feats, cutoff, dataclasses.replace(cfg, real_line_calibration="platt"))
    iso = train_points_model(feats, cutoff, cfg)
    assert platt.metrics["calibrated_on"] == "synthetic_lines_shrunk_0.5"
    assert platt.metrics["calibration_map"] == "isotonic" and "platt_a" not in platt.metrics
    assert (platt.calibration.x, platt.calibration.y) == (iso.calibration.x, iso.calibration.y)


def test_an_unknown_real_line_calibration_is_refused_before_training() -> None:
    bad = dataclasses.replace(FAST, real_line_calibration="sigmoid")
    with pytest.raises(ValueError, match=r"real_line_calibration='sigmoid' is not one of isotonic, platt"):
        train_points_model(_lined_world(3), date(2025, 2, 10), bad)
    with pytest.raises(ValueError, match="real_line_calibration='foo'"):
        calibration_fitter(None, "foo")
