"""Decision rules, the promotion gate, the walk-forward boundary, the registry and calibration."""

import json
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest

from nba_assets.lib.features.catalog import BASE_FEATURES
from nba_assets.lib.modeling.config import DecisionConfig, ModelConfig
from nba_assets.lib.modeling.decisions import american_profit, decide
from nba_assets.lib.modeling.distribution import Isotonic, SigmaModel, raw_p_over
from nba_assets.lib.modeling.registry import ModelRegistry
from nba_assets.lib.modeling.train import promotion_gate, train_points_model, training_rows
from nba_assets.lib.storage.object_store import LocalObjectStore

CFG = DecisionConfig(quality_min=70, edge_min=1.5, p_side_min=0.56)
FAST = ModelConfig(iterations=60, validation_days=5, validation_min_rows=200, min_train_rows=200)


def _rows(**cols) -> pl.DataFrame:
    n = len(next(iter(cols.values())))
    base = {
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
        schema_overrides={
            "line": pl.Float64,
            "over_price": pl.Int64,
            "under_price": pl.Int64,
            "predicted_points": pl.Float64,
            "p_over": pl.Float64,
            "quality": pl.Float64,
        },
    )


def test_decision_rules() -> None:
    out = decide(
        _rows(
            line=[22.5, None, 22.5, 22.5, 22.5, 22.5],
            predicted_points=[25.0, 25.0, 25.0, 23.0, 25.0, 19.0],
            p_over=[0.65, 0.65, 0.65, 0.60, 0.55, 0.30],
            quality=[90.0, 90.0, 60.0, 90.0, 90.0, 90.0],
        ),
        CFG,
    )
    assert out["recommendation"].to_list() == ["OVER", "NO_LINE", "PASS", "PASS", "PASS", "UNDER"]
    assert out["skip_reason"].to_list() == [
        None,
        "no_line",
        "low_quality",
        "edge_below_threshold",
        "probability_below_threshold",
        None,
    ]
    assert out["actionable"].to_list() == [True, False, False, False, False, True]
    assert out["edge"][5] == pytest.approx(-3.5) and out["confidence"][5] == pytest.approx(0.70)
    assert out["tier"].to_list()[0] == "high" and out["tier"][1] is None


def test_a_side_without_a_price_is_never_called() -> None:
    """An over-only alternate cannot be bet under: the UNDER call PASSes, the OVER call stands; no
    default price is ever assumed."""
    out = decide(
        _rows(
            predicted_points=[25.0, 19.0, 19.0, 25.0, 19.0],
            p_over=[0.65, 0.30, 0.30, 0.65, 0.30],
            over_price=[-140, -140, None, None, None],
            under_price=[None, None, -105, -105, None],
        ),
        CFG,
    )
    assert out["recommendation"].to_list() == ["OVER", "PASS", "UNDER", "PASS", "PASS"]
    assert out["skip_reason"].to_list() == [
        None,
        "no_price_for_side",
        None,
        "no_price_for_side",
        "no_price_for_side",
    ]
    assert out["actionable"].to_list() == [True, False, True, False, False]
    # the line still gets its prediction, edge and probability: only the call is withheld
    assert out["edge"][1] == pytest.approx(-3.5) and out["confidence"][1] == pytest.approx(0.70)
    assert out["tier"][1] is None


def test_never_a_default_line() -> None:
    out = decide(_rows(line=[None, None], predicted_points=[20.0, 30.0]), CFG)
    assert set(out["recommendation"]) == {"NO_LINE"} and out["edge"].null_count() == 2


def test_american_profit() -> None:
    prices = pl.DataFrame({"p": [-110, 120, -200]})
    got = prices.select(american_profit(pl.col("p"))).to_series().to_list()
    assert got == pytest.approx([100 / 110, 1.2, 0.5])


def test_distribution_and_isotonic_are_monotone() -> None:
    mu = np.array([10.0, 20.0, 30.0])
    p = raw_p_over(mu, SigmaModel(3, 1)(mu), np.array([20.5, 20.5, 20.5]))
    assert p[0] < p[1] < p[2] and 0 < p[0] and p[2] < 1
    rng = np.random.default_rng(0)
    # 20,000 rows (100 a block): on 5,000, |map(0.5) - 0.25| had sd 0.021 over seeds and reached 0.066
    raw = rng.uniform(0, 1, 20_000)
    outcome = (rng.uniform(0, 1, raw.size) < raw**2).astype(float)  # overconfident raw probabilities
    iso = Isotonic.fit(raw, outcome)
    cal = iso(np.linspace(0, 1, 50))
    assert np.all(np.diff(cal) >= -1e-12)
    assert abs(iso(np.array([0.5]))[0] - 0.25) < 0.06


def synthetic_features(start: date, days: int, seed: int = 0) -> pl.DataFrame:
    """Players whose points follow their l10 average plus noise; a learnable, look-ahead-free world."""
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(days):
        day = start + timedelta(days=d)
        for p in range(60):
            level = 5 + p * 0.4
            feats = {f: float(rng.normal(0, 1)) for f in BASE_FEATURES}
            feats.update(
                pts_avg_l10=level + rng.normal(0, 1),
                pts_avg_l5=level + rng.normal(0, 1.5),
                pts_avg_season=level,
            )
            rows.append(
                {
                    "game_date": day,
                    "game_id": f"0022400{d:03d}",
                    "player_id": p,
                    "played": True,
                    "is_expected": True,
                    "quality": 90.0,
                    "target_pts": max(0.0, level + rng.normal(0, 4)),
                    "consensus_line": None,
                    **feats,
                }
            )
    return pl.DataFrame(rows, schema_overrides={"consensus_line": pl.Float64})


def test_walk_forward_boundary_model_never_sees_its_cutoff() -> None:
    feats = synthetic_features(date(2025, 1, 1), 40)
    cutoff = date(2025, 1, 31)
    rows = training_rows(feats, cutoff)
    assert rows["game_date"].max() < cutoff
    model = train_points_model(feats, cutoff, FAST)
    assert model.train_end < cutoff and model.cutoff == cutoff
    # Poisoning every row on/after the cutoff must not change the model at all.
    poisoned = feats.with_columns(
        pl.when(pl.col("game_date") >= cutoff).then(999.0).otherwise(pl.col("target_pts")).alias("target_pts")
    )
    again = train_points_model(poisoned, cutoff, FAST)
    probe = feats.filter(pl.col("game_date") == cutoff)
    assert np.allclose(model.predict(probe), again.predict(probe))


def test_the_model_does_not_depend_on_the_order_the_warehouse_returns_rows_in() -> None:
    """BigQuery returns a table's rows in no set order (a query without ORDER BY), DuckDB in insertion
    order, and CatBoost learns another model from the same rows in another order: trained on the same
    stored features, prod's models differed from run to run (on the real feature store up to 1.0 point
    per player, 0.14 on average, with 60 trees). Training sorts its rows first, so the order read
    does not matter."""
    feats = synthetic_features(date(2025, 1, 1), 40)
    cutoff = date(2025, 1, 31)
    model = train_points_model(feats, cutoff, FAST)
    again = train_points_model(feats.sample(fraction=1.0, shuffle=True, seed=3), cutoff, FAST)
    probe = feats.filter(pl.col("game_date") == cutoff)
    assert np.array_equal(model.predict(probe), again.predict(probe))
    assert model.metrics == again.metrics


def test_training_uses_regular_season_games_only() -> None:
    feats = synthetic_features(date(2025, 1, 1), 10)
    postseason = feats.filter(pl.col("game_date") == date(2025, 1, 3)).with_columns(
        pl.col("game_id").str.replace("^002", "004")
    )
    mixed = pl.concat([feats.filter(pl.col("game_date") != date(2025, 1, 3)), postseason])
    rows = training_rows(mixed, date(2025, 1, 11))
    assert rows.height == feats.height - postseason.height
    assert rows["game_id"].str.starts_with("002").all()


def test_promotion_gate_and_registry(tmp_path) -> None:
    feats = synthetic_features(date(2025, 1, 1), 50)
    store = LocalObjectStore(tmp_path)
    reg = ModelRegistry(store)
    first = train_points_model(feats, date(2025, 1, 30), FAST)
    gate = promotion_gate(first, None, feats)
    assert gate.promote
    reg.save(first, gate.promote, gate.metadata)
    assert reg.champion_version() == first.version
    # a candidate that learned nothing (1 tree, near-constant) must not replace the champion
    bad = train_points_model(
        feats,
        date(2025, 2, 10),
        ModelConfig(
            iterations=1, learning_rate=0.001, validation_days=5, validation_min_rows=200, min_train_rows=200
        ),
    )
    gate_bad = promotion_gate(bad, reg.load_champion(), feats)
    assert not gate_bad.promote and gate_bad.metadata["candidate_mae"] > gate_bad.metadata["champion_mae"]
    reg.save(bad, gate_bad.promote, gate_bad.metadata)
    assert reg.champion_version() == first.version
    good = train_points_model(feats, date(2025, 2, 15), FAST)
    gate_good = promotion_gate(good, reg.load_champion(), feats)
    reg.save(good, gate_good.promote, gate_good.metadata)
    versions = reg.versions_frame()
    assert versions.height == 3 and versions.filter(pl.col("is_champion")).height == 1
    # walk-forward: each date gets the newest promoted model whose cutoff is on or before it
    assert reg.version_for(date(2025, 1, 29)) is None
    assert reg.version_for(date(2025, 2, 12)) == first.version
    if gate_good.promote:
        assert reg.version_for(date(2025, 2, 20)) == good.version
    loaded = reg.load(first.version)
    probe = feats.filter(pl.col("game_date") == date(2025, 2, 1))
    assert np.allclose(loaded.predict(probe), first.predict(probe))
    assert loaded.metrics["mae"] == pytest.approx(first.metrics["mae"])


def test_two_trainings_at_once_keep_both_versions_and_the_later_promotion(tmp_path) -> None:
    """The weekly retrain and a manual run save at the same time: the second save runs entirely while
    the first is about to write its registry entry. Both versions stay listed and the promotion made
    last stands (one shared index, read then rewritten, lost the other run's entry and promotion)."""
    import dataclasses

    feats, tiny = synthetic_features(date(2025, 1, 1), 20), dataclasses.replace(FAST, iterations=3)
    cutoffs = (date(2025, 1, 12), date(2025, 1, 15), date(2025, 1, 18))
    *models, third = (train_points_model(feats, cutoff, tiny) for cutoff in cutoffs)

    class Interleaved(LocalObjectStore):
        other: Any = None

        def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
            if key.endswith((".json",)) and not key.endswith("meta.json") and self.other is not None:
                other, self.other = self.other, None
                other()  # the other training, start to finish
            return super().put_bytes(key, data, content_type)

    store = Interleaved(tmp_path)
    ModelRegistry(store).save(models[0], True, {})
    manual = ModelRegistry(store)
    store.other = lambda: ModelRegistry(store).save(models[1], False, {"why": "not promoted"})
    manual.save(third, True, {})
    fresh = ModelRegistry(store)
    assert set(fresh.versions_frame()["version"]) == {models[0].version, models[1].version, third.version}
    assert fresh.champion_version() == third.version
    # a registry written before per-version records existed is still read
    legacy = LocalObjectStore(tmp_path / "legacy")
    entry = {"cutoff": "2025-01-30", "validation_mae": 5.0, "promoted": True, "gate": {}}
    legacy.put_bytes(
        "models/points_model/registry.json",
        json.dumps(
            {
                "champion": "old",
                "versions": [{**entry, "version": "old", "trained_at": "2025-02-01T00:00:00+00:00"}],
            }
        ).encode(),
    )
    assert ModelRegistry(legacy).champion_version() == "old"
    ModelRegistry(legacy).save(third, True, {})
    assert ModelRegistry(legacy).versions_frame()["version"].to_list() == ["old", third.version]
    # "old" keeps serving the newest dates (its cutoff is later); third serves the dates before it
    assert ModelRegistry(legacy).champion_version() == "old"
    assert ModelRegistry(legacy).version_for(date(2025, 1, 20)) == third.version


def test_retraining_a_cutoff_keeps_the_version_it_competes_with(tmp_path) -> None:
    """A second training of the same cutoff (a re-run of the weekly partition, a manual run) is a new
    version: the serving one's files are never overwritten. The gate scores both hold-out boosters on
    the validation rows neither saw (the champion's final booster trained on all of them), so the same
    recipe passes and a worse one is kept out while the first version goes on serving."""
    feats = synthetic_features(date(2025, 1, 1), 40)
    cutoff = date(2025, 1, 31)
    reg = ModelRegistry(LocalObjectStore(tmp_path))
    first = train_points_model(feats, cutoff, FAST)
    reg.save(first, True, promotion_gate(first, None, feats).metadata)
    blob = (tmp_path / "models" / "points_model" / first.version / "model.cbm").read_bytes()

    again = train_points_model(feats, cutoff, FAST)
    assert again.version != first.version
    gate = promotion_gate(again, reg.champion_for(cutoff), feats)
    assert gate.metadata["basis"] == "hold_out_models" and gate.metadata["rows_unseen_by_champion"] == 0
    assert gate.metadata["candidate_mae"] == pytest.approx(gate.metadata["champion_mae"], abs=1e-3)
    assert gate.promote
    reg.save(again, gate.promote, gate.metadata)
    assert reg.version_for(cutoff) == again.version == reg.champion_version()  # the same cutoff trained last

    worse = train_points_model(
        feats,
        cutoff,
        ModelConfig(
            iterations=1, learning_rate=0.001, validation_days=5, validation_min_rows=200, min_train_rows=200
        ),
    )
    gate_worse = promotion_gate(worse, reg.champion_for(cutoff), feats)
    assert not gate_worse.promote and gate_worse.metadata["basis"] == "hold_out_models"
    reg.save(worse, gate_worse.promote, gate_worse.metadata)
    assert reg.version_for(date(2025, 2, 9)) == again.version
    assert (tmp_path / "models" / "points_model" / first.version / "model.cbm").read_bytes() == blob
    assert reg.versions_frame().height == 3


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory) -> tuple[Any, list[str]]:
    """A registry folder holding two promoted tiny versions (cutoffs 2025-01-12 and 2025-01-15)."""
    root = tmp_path_factory.mktemp("registry")
    feats = synthetic_features(date(2025, 1, 1), 20)
    tiny = ModelConfig(iterations=3, validation_days=5, validation_min_rows=200, min_train_rows=200)
    reg, versions = ModelRegistry(LocalObjectStore(root)), []
    for cutoff in (date(2025, 1, 12), date(2025, 1, 15)):
        model = train_points_model(feats, cutoff, tiny)
        reg.save(model, True, {})
        versions.append(model.version)
    return root, versions


@pytest.mark.parametrize(
    ("damage", "names"),
    [
        ("record_not_json", "record.json"),
        ("record_without_trained_at", "record.json"),
        ("record_bad_cutoff", "record.json"),
        ("model_garbage", "model.cbm"),
        ("model_missing", "model.cbm"),
        ("meta_garbage", "meta.json"),
        ("holdout_garbage", "holdout.cbm"),
    ],
)
def test_a_damaged_registry_object_is_named_never_replaced_by_another_version(
    tmp_path, two_versions: tuple[Any, list[str]], damage: str, names: str
) -> None:
    """A registry entry or model file that cannot be read stops whoever reads it (the serving, the
    gate, the bootstrap sensor) with an error naming the object, not a JSON or CatBoost message naming
    nothing, and never serves an older version in its place."""
    import shutil

    from nba_assets.lib.modeling.registry import RegistryError

    pristine, (older, newer) = two_versions
    shutil.copytree(pristine, tmp_path, dirs_exist_ok=True)
    reg = ModelRegistry(LocalObjectStore(tmp_path))
    assert reg.version_for(date(2025, 1, 20)) == newer and reg.load(newer).version == newer
    folder = tmp_path / "models" / "points_model" / newer
    record = json.loads((folder / "record.json").read_text())
    if damage == "record_not_json":
        (folder / "record.json").write_text((folder / "record.json").read_text()[:40])
    elif damage == "record_without_trained_at":
        (folder / "record.json").write_text(
            json.dumps({k: v for k, v in record.items() if k != "trained_at"})
        )
    elif damage == "record_bad_cutoff":
        (folder / "record.json").write_text(json.dumps({**record, "cutoff": "15/01/2025"}))
    elif damage == "model_missing":
        (folder / "model.cbm").unlink()
    else:
        (folder / names).write_bytes(b"not a model")
    with pytest.raises(RegistryError) as err:
        fresh = ModelRegistry(LocalObjectStore(tmp_path))
        fresh.load(fresh.version_for(date(2025, 1, 20)) or "")
    assert newer in str(err.value) and names in str(err.value)


def test_a_missing_hold_out_booster_is_named_not_gated_in_sample(tmp_path) -> None:
    """Every square-root version is stored with its hold-out booster (its params hold its shift). One
    whose holdout.cbm went missing loaded without it, and the gate silently scored it in sample
    ("champion_in_sample", meant for versions stored before hold-outs were kept): a retrain of the same
    cutoff with the same recipe, a tie on the hold-out models, was refused. The load names the file."""
    from nba_assets.lib.modeling.registry import RegistryError

    feats = synthetic_features(date(2025, 1, 1), 40)
    reg = ModelRegistry(LocalObjectStore(tmp_path))
    first = train_points_model(feats, date(2025, 1, 31), FAST)
    assert "holdout_target_shift" in first.params
    reg.save(first, True, {})
    assert promotion_gate(first, reg.load(first.version), feats).metadata["basis"] == "hold_out_models"
    (tmp_path / "models" / "points_model" / first.version / "holdout.cbm").unlink()
    with pytest.raises(RegistryError, match=rf"{first.version}/holdout.cbm: .*missing"):
        reg.champion_for(date(2025, 1, 31))


def test_prediction_only_rises_with_the_monotone_features() -> None:
    """A world where minutes over the last 10 games *lower* the points (a sparse-corner artefact):
    unconstrained, the model learns it; with ``min_avg_l10`` in ``monotone_increasing`` (the shipped
    setting) the prediction never falls as minutes rise, all else fixed, and the model records it."""
    import dataclasses

    feats = synthetic_features(date(2025, 1, 1), 30).with_columns(
        (pl.col("target_pts") - 3.0 * pl.col("min_avg_l10")).clip(0).alias("target_pts")
    )
    cutoff = date(2025, 1, 31)
    probe = pl.concat([feats.filter(pl.col("game_date") == date(2025, 1, 30)).head(1)] * 21).with_columns(
        pl.Series("min_avg_l10", np.linspace(-2.0, 2.0, 21))
    )
    free = train_points_model(feats, cutoff, dataclasses.replace(FAST, monotone_increasing=()))
    assert np.diff(free.predict(probe)).min() < -0.1  # it follows the data downhill
    shipped = ModelConfig().monotone_increasing
    assert "min_avg_l10" in shipped and "pts_avg_l10" in shipped
    model = train_points_model(feats, cutoff, dataclasses.replace(FAST, monotone_increasing=shipped))
    assert np.diff(model.predict(probe)).min() >= -1e-9
    assert "min_avg_l10" in model.params["monotone_increasing"]


def test_training_history_check_names_dates_whose_finals_never_reached_the_features() -> None:
    from nba_assets.lib.modeling.checks import training_history_current

    def day(d: date, labeled: bool) -> pl.DataFrame:
        # three players expected before tip-off; after the finals, the same rows played with points
        return pl.DataFrame(
            {
                "game_date": [d] * 3,
                "is_expected": [True] * 3,
                "played": [labeled] * 3,
                "target_pts": [12, 7, 20] if labeled else [None] * 3,
            },
            schema_overrides={"target_pts": pl.Int64},
        )

    start = date(2025, 11, 1)
    cutoff = date(2025, 11, 10)
    # every date rebuilt with its finals, but yesterday's (still in the grace day): current
    ok = pl.concat([day(start + timedelta(days=i), i < 8) for i in range(9)])
    got = training_history_current(ok, cutoff)
    assert got.passed and got.metadata["newest_labeled_date"] == "2025-11-08"
    # the deployment before the fix: features built at the morning slate, never rebuilt after the games
    stale = pl.concat([day(start + timedelta(days=i), i < 3) for i in range(9)])
    got = training_history_current(stale, cutoff)
    assert not got.passed and got.severity == "ERROR"
    assert got.metadata["dates_without_training_rows"] == 5
    assert got.metadata["first_dates_without_training_rows"][0] == "2025-11-04"
    assert got.metadata["newest_labeled_date"] == "2025-11-03"
    # rows on or after the cutoff never count
    assert training_history_current(stale, date(2025, 11, 4)).passed


def test_book_lines_are_each_books_current_offer() -> None:
    """The raw table keeps every snapshot; a line the book moved away from, or pulled when the player
    was ruled out, is not predicted, picked or graded."""
    from datetime import datetime

    from nba_assets.lib.modeling.decisions import book_lines, consensus

    def row(book: str, player: int, line: float, hour: int) -> dict:
        return {
            "game_date": date(2025, 11, 5),
            "game_id": "0022500150",
            "home_abbr": "NYK",
            "away_abbr": "BOS",
            "player_id": player,
            "player_name": f"p{player}",
            "bookmaker": book,
            "line": line,
            "over_price": -110,
            "under_price": -110,
            "is_main_line": True,
            "snapshot_utc": datetime(2025, 11, 5, hour),
        }

    props = pl.DataFrame(
        [
            row("draftkings", 1, 22.5, 15),  # moved to 24.5 at 22:00
            row("draftkings", 2, 10.5, 15),  # pulled at 22:00
            row("draftkings", 1, 24.5, 22),
            row("fanduel", 1, 23.5, 15),  # fanduel's only snapshot: still its offer
            row("fanduel", 2, 11.5, 15),
        ]
    )
    got = book_lines(props).sort("bookmaker", "player_id")
    assert got.select("bookmaker", "player_id", "line").rows() == [
        ("draftkings", 1, 24.5),
        ("fanduel", 1, 23.5),
        ("fanduel", 2, 11.5),
    ]
    assert dict(consensus(got).select("player_id", "consensus_line").iter_rows()) == {1: 24.0, 2: 11.5}


def test_a_book_counts_once_in_the_consensus_as_in_the_context_model() -> None:
    """Two main lines from one book (a feed glitch) would weigh that book twice in a median over rows:
    the median of 20.5, 21.5 (book a) and 25.5 (book b) is 21.5, while the books' median is 23.0 with
    book a's lower line, as dbt's player_game_context takes it."""
    from nba_assets.lib.modeling.decisions import consensus

    lines = pl.DataFrame(
        {
            "game_date": [date(2025, 11, 5)] * 4,
            "player_id": [1, 1, 1, 1],
            "bookmaker": ["a", "a", "b", "b"],
            "line": [21.5, 20.5, 25.5, 30.5],
            "is_main_line": [True, True, True, False],
        }
    )
    assert consensus(lines)["consensus_line"].to_list() == [23.0]


def test_every_line_answered_expects_only_the_books_current_offers() -> None:
    """The live ledger keeps every snapshot: a line a book moved away from is not predicted, and the
    blocking check must not count it as unanswered (it failed every line refresh that moved a line)."""
    from datetime import datetime

    from nba_assets.lib.modeling.checks import every_line_answered
    from nba_assets.lib.modeling.predict import SYSTEMS

    def row(line: float, hour: int) -> dict:
        return {
            "game_date": date(2025, 11, 10),
            "game_id": "0022500200",
            "event_id": "ev1",
            "player_id": 7,
            "player_name": "p7",
            "bookmaker": "draftkings",
            "line": line,
            "over_price": -110,
            "under_price": -110,
            "is_main_line": True,
            "snapshot_utc": datetime(2025, 11, 10, hour),
        }

    props = pl.DataFrame([row(15.5, 15), row(16.5, 16)])  # moved 15.5 -> 16.5
    preds = pl.DataFrame(
        {
            "game_date": [date(2025, 11, 10)] * len(SYSTEMS),
            "player_id": [7] * len(SYSTEMS),
            "bookmaker": ["draftkings"] * len(SYSTEMS),
            "line": [16.5] * len(SYSTEMS),
            "system": list(SYSTEMS),
            "predicted_points": [17.0] * len(SYSTEMS),
            "skip_reason": [None] * len(SYSTEMS),
            "recommendation": ["PASS"] * len(SYSTEMS),
        },
        schema_overrides={"skip_reason": pl.Utf8},
    )
    got = every_line_answered(props, preds)
    assert got.passed, got.metadata
    assert got.metadata["lines"] == 1 and got.metadata["superseded_snapshot_rows"] == 1
    # the current line unanswered still fails
    assert not every_line_answered(props, preds.filter(pl.col("system") != "catboost")).passed


def test_whole_point_lines_leave_the_push_out_of_both_sides() -> None:
    """On a whole-point line over wins from line + 1 and under up to line - 1: P(under) is not
    1 - P(over), and an UNDER call's confidence is P(under), without the push's mass."""
    from scipy.stats import norm

    from nba_assets.lib.modeling.distribution import Distribution

    dist = Distribution(SigmaModel(7.0, 0.0))
    mu, sd = np.array([16.4]), 7.0
    half_over, half_under = dist.p_over(mu, np.array([19.5])), dist.p_under(mu, np.array([19.5]))
    assert half_over + half_under == pytest.approx(1.0)
    over, under = dist.p_over(mu, np.array([20.0])), dist.p_under(mu, np.array([20.0]))
    assert over[0] == pytest.approx(norm.sf((20.5 - 16.4) / sd))  # X >= 21
    assert under[0] == pytest.approx(norm.cdf((19.5 - 16.4) / sd))  # X <= 19
    push = 1.0 - over[0] - under[0]
    assert push == pytest.approx(norm.cdf((20.5 - 16.4) / sd) - norm.cdf((19.5 - 16.4) / sd))
    assert 0.04 < push < 0.06
    rows = _rows(line=[20.0], predicted_points=[16.4], p_over=[float(over[0])]).with_columns(
        pl.lit(float(under[0])).alias("p_under")
    )
    out = decide(rows, CFG)
    assert out["recommendation"][0] == "UNDER"
    assert out["confidence"][0] == pytest.approx(under[0]) and out["confidence"][0] < 1 - over[0] - 0.04


def test_baselines_probabilities_are_calibrated_on_their_own_errors() -> None:
    """A baseline is noisier than the model: with the model's spread its raw P(over) is overconfident.
    Each baseline gets its own spread and calibration, fitted on the same validation rows and lines,
    and kept with the version."""
    import dataclasses

    from nba_assets.lib.modeling.baselines import baseline_predictions
    from nba_assets.lib.modeling.predict import SYSTEMS, system_probabilities

    def world(start: date, days: int, seed: int) -> pl.DataFrame:
        # the last-10 average is a poor guide here (noise sd 6); the season average is exact
        feats = synthetic_features(start, days, seed)
        rng = np.random.default_rng(seed + 100)
        return feats.with_columns(
            (pl.col("pts_avg_season") + pl.Series(rng.normal(0, 6, feats.height))).alias("pts_avg_l10"),
            (pl.col("pts_avg_season").floor() + 0.5).alias("consensus_line"),
        )

    # 2,400 validation rows (12 a bin of the map's 200): on fewer, its top blocks overfit (below)
    cfg = dataclasses.replace(
        FAST, calibration_min_lined_rows=100, validation_days=40, validation_min_rows=2400
    )
    model = train_points_model(world(date(2025, 1, 1), 80, 1), date(2025, 3, 22), cfg)
    assert set(model.baselines) == {"baseline_l10", "baseline_blend"}
    again = type(model).from_bytes(*model.to_bytes())
    assert again.distribution("baseline_l10").to_json() == model.distribution("baseline_l10").to_json()
    # out of sample, on the rows where the old probabilities claimed P(over) >= 0.75: those came true
    # half the time (the line knows the level; the last-10 average's distance from it is noise)
    test = world(date(2025, 3, 22), 90, 2)
    mu = baseline_predictions(test)["baseline_l10"]
    line = test["consensus_line"].to_numpy()
    over = test["target_pts"].to_numpy() > line
    code = np.full(len(mu), SYSTEMS.index("baseline_l10"))
    calibrated, _ = system_probabilities(model, code, mu, line)
    model_sigma = model.distribution("catboost").sigma  # what the baselines' rows were served with
    uncalibrated = raw_p_over(mu, model_sigma(mu), line)
    sure = uncalibrated >= 0.75
    assert sure.sum() > 1000  # the observed rate's standard error about 0.015
    assert over[sure].mean() < uncalibrated[sure].mean() - 0.3  # the old probabilities overclaimed
    # within 0.1 (the raw ones are about 0.4 off), not closer: the isotonic map's top blocks lean up
    # (the pool-adjacent-violators value of a block of a few rows is the best of noisy means). Observed
    # minus calibrated over 14 other seed pairs of this world: -0.090 .. +0.024 with these 2,400
    # validation rows; -0.185 .. +0.014 with 1,200 (and 3 of 6 pairs failed the old 0.06 on 600)
    assert abs(over[sure].mean() - calibrated[sure].mean()) < 0.1


def _lines_of(day: date, offers: list[tuple[int, str, str | None, bool]]) -> pl.DataFrame:
    """A book's 10.5 line at -110 / -110 of ``day`` per (player, bookmaker, game id, main line?) offer."""
    from datetime import datetime

    rows = [
        {
            "game_date": day,
            "game_id": game,
            "player_id": player,
            "player_name": f"p{player}",
            "bookmaker": book,
            "line": 10.5,
            "over_price": -110,
            "under_price": -110,
            "is_main_line": main,
            "snapshot_utc": datetime(day.year, day.month, day.day, 15),
        }
        for player, book, game, main in offers
    ]
    return pl.DataFrame(rows, schema_overrides={"game_id": pl.Utf8})


def test_a_player_whose_lines_name_no_scheduled_game_is_passed_as_unscheduled_game() -> None:
    """A line whose event matched no game of the stored schedule (game_id null: the NBA Cup final the
    archive lacks, or a schedule that missed a game) gives its player no context row; the PASS names the
    schedule (``unscheduled_game``), counted apart from a player the context left out
    (``no_feature_row``). A player with a feature row is predicted even if one book's event went
    unmatched, and a player with no feature row on a scheduled game stays ``no_feature_row``."""

    from nba_assets.lib.modeling.checks import every_line_answered
    from nba_assets.lib.modeling.predict import SYSTEMS, predict_lines

    feats = synthetic_features(date(2025, 1, 1), 40)
    model = train_points_model(feats, date(2025, 1, 31), FAST)
    day = date(2025, 1, 31)
    window = feats.filter((pl.col("game_date") == day) & pl.col("player_id").is_in([0, 1])).with_columns(
        pl.lit("BOS").alias("team_abbr")
    )
    # player 0: feature row, one book unmatched; 1: feature row, scheduled; 2: no row, unscheduled at
    # both books; 3: no row, on a scheduled game
    offers = [(0, "draftkings", None), (0, "fanduel", "0022400030"), (1, "draftkings", "0022400030")]
    offers += [(2, "draftkings", None), (2, "fanduel", None), (3, "draftkings", "0022400030")]
    props = _lines_of(day, [(player, book, game, True) for player, book, game in offers])
    batch = predict_lines(props, window, model, 0.6, CFG)
    preds = batch.predictions
    assert preds.height == len(offers) * len(SYSTEMS)
    by_player = {p: g for (p,), g in preds.group_by("player_id", maintain_order=True)}
    for player in (0, 1):
        assert by_player[player]["predicted_points"].is_not_null().all(), player
        assert not by_player[player]["skip_reason"].is_in(["unscheduled_game", "no_feature_row"]).any()
    for player, reason, n_lines in ((2, "unscheduled_game", 2), (3, "no_feature_row", 1)):
        rows = by_player[player]
        assert rows["predicted_points"].is_null().all(), player
        assert rows["skip_reason"].to_list() == [reason] * (n_lines * len(SYSTEMS))
        assert rows["recommendation"].to_list() == ["PASS"] * (n_lines * len(SYSTEMS))
    assert batch.skipped["unscheduled_game"] == 1 and batch.skipped["no_feature_row"] == 1
    assert every_line_answered(props, preds).passed


def test_a_player_without_a_consensus_line_gets_no_line_aware_prediction() -> None:
    """The line-aware system blends the model with the consensus of the books' main lines. A player
    offered only an alternate line has none: his catboost_line rows are a PASS ``no_consensus_line``
    with no prediction or probability (before, they carried catboost's prediction under the blend's
    calibration, published and graded as the line-aware system); his other systems are predicted."""

    from nba_assets.lib.modeling.checks import every_line_answered
    from nba_assets.lib.modeling.predict import NO_CONSENSUS, SYSTEMS, predict_lines

    feats = synthetic_features(date(2025, 1, 1), 40)
    model = train_points_model(feats, date(2025, 1, 31), FAST)
    day = date(2025, 1, 31)
    window = feats.filter((pl.col("game_date") == day) & pl.col("player_id").is_in([0, 1])).with_columns(
        pl.lit("BOS").alias("team_abbr")
    )
    props = _lines_of(day, [(0, "draftkings", "0022400030", True), (1, "draftkings", "0022400030", False)])
    preds = predict_lines(props, window, model, 0.6, CFG).predictions
    line_aware = preds.filter(pl.col("system") == "catboost_line").sort("player_id")
    assert line_aware["predicted_points"].is_null().to_list() == [False, True]
    assert line_aware["p_over"].is_null().to_list() == [False, True]
    assert line_aware["skip_reason"][1] == NO_CONSENSUS and line_aware["recommendation"][1] == "PASS"
    others = preds.filter((pl.col("player_id") == 1) & (pl.col("system") != "catboost_line"))
    assert others.height == len(SYSTEMS) - 1 and others["predicted_points"].is_not_null().all()
    assert every_line_answered(props, preds).passed


def test_a_player_at_exactly_the_quality_threshold_is_predicted_and_one_below_it_is_passed() -> None:
    """DESIGN s7: PASS when quality < 70. A player at exactly 70 is predicted by every system and may be
    called (not a ``no_prediction`` PASS, which a ``> 70`` pre-flight filter made of him); one at 69.9
    is a PASS ``low_quality``, counted."""
    from nba_assets.lib.modeling.predict import SYSTEMS, predict_lines

    feats = synthetic_features(date(2025, 1, 1), 40)
    model = train_points_model(feats, date(2025, 1, 31), FAST)
    day = date(2025, 1, 31)
    window = (
        feats.filter((pl.col("game_date") == day) & pl.col("player_id").is_in([0, 1]))
        .with_columns(pl.lit("BOS").alias("team_abbr"))
        .with_columns(pl.when(pl.col("player_id") == 0).then(70.0).otherwise(69.9).alias("quality"))
    )
    props = _lines_of(day, [(0, "draftkings", "0022400030", True), (1, "draftkings", "0022400030", True)])
    batch = predict_lines(props, window, model, 0.6, CFG)
    preds = batch.predictions.sort("player_id", "system")
    at, below = preds.filter(pl.col("player_id") == 0), preds.filter(pl.col("player_id") == 1)
    assert at.height == below.height == len(SYSTEMS)
    assert at["predicted_points"].is_not_null().all() and at["p_over"].is_not_null().all()
    assert (
        "low_quality" not in at["skip_reason"].to_list()
        and "no_prediction" not in at["skip_reason"].to_list()
    )
    assert below["skip_reason"].to_list() == ["low_quality"] * len(SYSTEMS)
    assert batch.skipped["low_quality"] == 1


def test_each_system_s_p_under_on_a_whole_point_line_leaves_the_push_out() -> None:
    """The probabilities predict_lines hands to the decisions: on a half-point line P(under) is
    1 - P(over); on a whole-point line it is the system's own P(under), the push's mass left out of
    both sides (1 - P(over) would give an UNDER call the push's share as confidence)."""
    from nba_assets.lib.modeling.distribution import Distribution
    from nba_assets.lib.modeling.predict import SYSTEMS, system_probabilities
    from nba_assets.lib.modeling.train import PointsModel

    day = date(2025, 1, 31)
    sigma = SigmaModel(7.0, 0.0)
    baselines = {s: Distribution(sigma, Isotonic()) for s in SYSTEMS if s.startswith("baseline")}
    model = PointsModel("v", day, day, day, [], {}, None, sigma, Isotonic(), baselines=baselines)
    code = np.repeat(np.arange(len(SYSTEMS)), 2)
    mu = np.full(len(code), 16.4)
    line = np.tile([19.5, 20.0], len(SYSTEMS))
    p_over, p_under = system_probabilities(model, code, mu, line)
    half, whole = line == 19.5, line == 20.0
    assert p_over[half] + p_under[half] == pytest.approx(np.ones(len(SYSTEMS)))
    for j, system in enumerate(SYSTEMS):
        rows = whole & (code == j)
        assert p_under[rows] == pytest.approx(model.distribution(system).p_under(mu[rows], line[rows]))
    # the push: P(X = 20) of Normal(16.4, 7) with the continuity correction, about 5 %
    assert 1 - p_over[whole] - p_under[whole] == pytest.approx(np.full(len(SYSTEMS), 0.0503), abs=1e-3)


def test_lines_of_preseason_and_all_star_games_are_passed_with_a_counted_reason() -> None:
    """A book's line on a preseason (001) or All-Star (003) game is not predicted as if it were a
    regular-season game, even when the player has a feature row: every system's row is a PASS with
    ``preseason_game`` / ``all_star_game``, counted per player-date, and the line is still answered."""

    from nba_assets.lib.modeling.checks import every_line_answered, not_all_fallbacks
    from nba_assets.lib.modeling.predict import SYSTEMS, predict_lines

    feats = synthetic_features(date(2025, 1, 1), 40)
    model = train_points_model(feats, date(2025, 1, 31), FAST)
    day = date(2025, 1, 31)
    window = feats.filter(pl.col("game_date") == day).with_columns(pl.lit("BOS").alias("team_abbr"))
    games = {0: "0022400030", 1: "0022400030", 2: "0012400030", 3: "0012400030", 4: "0032400030"}
    props = _lines_of(day, [(player, "draftkings", game, True) for player, game in games.items()])
    batch = predict_lines(props, window, model, 0.6, CFG)
    preds = batch.predictions
    assert preds.height == len(games) * len(SYSTEMS)
    by_player = {p: g for (p,), g in preds.group_by("player_id", maintain_order=True)}
    for player in (0, 1):
        assert by_player[player]["predicted_points"].is_not_null().all()
    for player, reason in ((2, "preseason_game"), (3, "preseason_game"), (4, "all_star_game")):
        rows = by_player[player]
        assert rows["predicted_points"].is_null().all(), player
        assert rows["skip_reason"].to_list() == [reason] * len(SYSTEMS)
        assert rows["recommendation"].to_list() == ["PASS"] * len(SYSTEMS)
        assert not rows["actionable"].any()
    assert batch.skipped["preseason_game"] == 2 and batch.skipped["all_star_game"] == 1
    assert batch.skipped["no_feature_row"] == 0 and batch.skipped["low_quality"] == 0
    assert every_line_answered(props, preds).passed
    assert not_all_fallbacks(preds).metadata["fallback_share"] == 0.0


def test_lines_coverage_asks_lines_only_of_modeled_games() -> None:
    """Books post few lines on preseason games and none are predicted: an uncovered preseason game is
    counted apart, not a coverage failure (every October morning would alert)."""
    from nba_assets.lib.raw import props_coverage

    day = date(2025, 10, 20)
    ids = ["0022500001", "0022500002", "0012500071", "0012500072"]
    schedule = pl.DataFrame({"game_date": [day] * 4, "game_id": ids, "status": ["scheduled"] * 4})
    props = pl.DataFrame({"game_id": ids[:2], "event_id": ["e1", "e2"]})
    got = props_coverage(schedule, props)
    assert got.passed and got.metadata["coverage"] == 1.0
    assert got.metadata["scheduled_games"] == 2
    assert got.metadata["preseason_or_all_star_games_not_counted"] == 2


def _props_with_a_pull() -> pl.DataFrame:
    """BOS@NYK on 2025-11-05: draftkings and fanduel post lines at 15:00; at 18:00 draftkings' snapshot
    of the game is an empty-fetch marker (it pulled every line) and fanduel moves player 1; draftkings
    has lines of CHI@MIA too, untouched."""
    from datetime import UTC, datetime

    from nba_assets.lib import schemas

    def row(book: str, player: int | None, line: float | None, hour: int, game: str = "0022500150") -> dict:
        marker = player is None
        return {
            "game_date": date(2025, 11, 5),
            "game_id": game,
            "event_id": f"ev{game[-3:]}",
            "tipoff_utc": datetime(2025, 11, 6, 0, 30, tzinfo=UTC),
            "snapshot_utc": datetime(2025, 11, 5, hour, tzinfo=UTC),
            "home_abbr": "NYK" if game.endswith("150") else "MIA",
            "away_abbr": "BOS" if game.endswith("150") else "CHI",
            "bookmaker": book,
            "player_name": None if marker else f"p{player}",
            "player_id": player,
            "team_abbr": None,
            "match_method": "empty_fetch" if marker else "exact",
            "line": line,
            "over_price": None if marker else -110,
            "under_price": None if marker else -110,
            "is_main_line": None if marker else True,
            "source": "the-odds-api",
        }

    return schemas.conform(
        pl.DataFrame(
            [
                row("draftkings", 1, 22.5, 15),
                row("draftkings", 2, 10.5, 15),
                row("fanduel", 1, 23.5, 15),
                row("fanduel", 2, 11.5, 15),
                row("draftkings", 3, 18.5, 15, game="0022500151"),
                row("draftkings", None, None, 18),  # the marker: draftkings pulled BOS@NYK
                row("fanduel", 1, 24.5, 18),  # fanduel moved player 1 (and pulled player 2)
            ]
        ),
        schemas.PROPS_SCHEMA,
        "test",
    )


def test_a_book_whose_latest_snapshot_is_an_empty_fetch_marker_offers_nothing_of_the_game() -> None:
    """A book that pulled every line of a game left no row in its latest fetch: without the marker its
    earlier snapshot stayed current and was predicted, picked and graded. With it, the book offers
    nothing of that game (its other games untouched), and the blocking check expects nothing of it."""
    from nba_assets.lib.modeling.checks import every_line_answered
    from nba_assets.lib.modeling.decisions import book_lines, current_offers
    from nba_assets.lib.modeling.predict import SYSTEMS

    props = _props_with_a_pull()
    offers = current_offers(props)
    assert offers.select("bookmaker", "game_id", "player_id", "line").sort(pl.all()).rows() == [
        ("draftkings", "0022500151", 3, 18.5),
        ("fanduel", "0022500150", 1, 24.5),
    ]
    from nba_assets.lib.modeling.decisions import pulled_book_games

    assert pulled_book_games(props).select("game_id", "bookmaker").rows() == [("0022500150", "draftkings")]
    got = book_lines(props).sort("bookmaker", "player_id")
    assert got.select("bookmaker", "player_id", "line").rows() == [
        ("draftkings", 3, 18.5),
        ("fanduel", 1, 24.5),
    ]
    # the markers are not lines: the predictions answer the two current lines, and that passes
    preds = pl.DataFrame(
        {
            "game_date": [date(2025, 11, 5)] * 2 * len(SYSTEMS),
            "player_id": [3] * len(SYSTEMS) + [1] * len(SYSTEMS),
            "bookmaker": ["draftkings"] * len(SYSTEMS) + ["fanduel"] * len(SYSTEMS),
            "line": [18.5] * len(SYSTEMS) + [24.5] * len(SYSTEMS),
            "system": list(SYSTEMS) * 2,
            "predicted_points": [17.0] * 2 * len(SYSTEMS),
            "skip_reason": [None] * 2 * len(SYSTEMS),
            "recommendation": ["PASS"] * 2 * len(SYSTEMS),
        },
        schema_overrides={"skip_reason": pl.Utf8},
    )
    check = every_line_answered(props, preds)
    assert check.passed, check.metadata
    assert check.metadata["lines"] == 2 and check.metadata["pulled_book_games"] == 1
    # 6 line rows, 2 current; the marker is neither an unresolved line nor a superseded one
    assert check.metadata["superseded_snapshot_rows"] == 4 and check.metadata["unresolved_lines"] == 0
    # draftkings posts again at 19:00: its new snapshot is its offer again
    back = pl.concat(
        [
            props,
            props.filter(pl.col("bookmaker").eq("draftkings") & pl.col("player_id").eq(1)).with_columns(
                pl.col("snapshot_utc").dt.offset_by("4h")
            ),
        ]
    )
    assert pulled_book_games(back).is_empty()
    assert ("draftkings", 1, 22.5) in book_lines(back).select("bookmaker", "player_id", "line").rows()


def test_empty_fetch_markers_pass_the_raw_contract_and_its_checks_only_as_markers() -> None:
    """The raw contract keeps a marker (no line, player or price by design) and still quarantines a row
    without a line that is not one; the props checks count lines, not markers."""
    from nba_assets.lib import raw

    props = _props_with_a_pull()
    validated = raw.validate_batch(props, "player_props", "test")
    assert validated.good.height == props.height and validated.quarantined.is_empty()
    broken = props.with_columns(
        # a line row that lost its line, and a marker that carries a price
        pl.when(pl.col("player_id") == 3).then(None).otherwise(pl.col("line")).alias("line"),
        pl.when(pl.col("match_method") == "empty_fetch")
        .then(-110)
        .otherwise(pl.col("over_price"))
        .alias("over_price"),
    )
    assert raw.validate_batch(broken, "player_props", "test").quarantine_reasons == {
        "empty-fetch marker with a player or price": 1,
        "missing line": 1,
    }
    assert raw.placeholder_lines(props).passed  # a marker has no price, and is no line without one
    assert raw.unresolved_share(props).metadata["names"] == 3  # p1, p2, p3: the marker names nobody


def test_the_model_learns_the_square_root_of_points_and_serves_points() -> None:
    """CatBoost is fitted on sqrt(points); the served prediction is its square plus the residual
    variance in square-root units on the rows it was fitted on. The shifts travel with the stored
    version (the final and the hold-out booster's), and a version stored before the option (a model of
    points, no ``target`` in its params) still loads as one."""
    from dataclasses import replace

    from catboost import CatBoostRegressor

    from nba_assets.lib.modeling.train import TRAINING_ORDER, PointsModel, SqrtBooster, _matrix

    feats = synthetic_features(date(2025, 1, 1), 50)
    cutoff = date(2025, 1, 30)
    model = train_points_model(feats, cutoff, FAST)
    assert model.params["target"] == "sqrt" and isinstance(model.booster, SqrtBooster)
    rows = training_rows(feats, cutoff).sort(TRAINING_ORDER)
    x, root = _matrix(rows, model.features), np.sqrt(rows["target_pts"].to_numpy().astype(float))
    raw = model.booster.model.predict(x)
    assert model.params["target_shift"] == pytest.approx(float(np.mean((root - raw) ** 2)))
    assert 0 < model.params["target_shift"] < 5
    probe = feats.filter(pl.col("game_date") == date(2025, 2, 1))
    xp = _matrix(probe, model.features)
    want = np.clip(model.booster.model.predict(xp), 0, None) ** 2 + model.params["target_shift"]
    assert np.allclose(model.predict(probe), want)
    back = PointsModel.from_bytes(*model.to_bytes(), model.holdout_bytes())
    assert np.array_equal(back.predict(probe), model.predict(probe))
    assert model.holdout_booster is not None and back.holdout_booster is not None
    assert np.array_equal(back.holdout_booster.predict(xp), model.holdout_booster.predict(xp))
    assert back.holdout_booster.shift == model.params["holdout_target_shift"] != model.params["target_shift"]

    old = train_points_model(feats, cutoff, replace(FAST, target="points"))
    assert not isinstance(old.booster, SqrtBooster) and "target_shift" not in old.params
    blob, meta = old.to_bytes()
    legacy = json.loads(meta)
    del legacy["params"]["target"]
    loaded = PointsModel.from_bytes(blob, json.dumps(legacy).encode())
    assert isinstance(loaded.booster, CatBoostRegressor)
    assert np.array_equal(loaded.predict(probe), old.predict(probe))
    with pytest.raises(ValueError, match="target='log'"):
        train_points_model(feats, cutoff, replace(FAST, target="log"))
