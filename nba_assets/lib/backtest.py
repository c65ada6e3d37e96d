"""Walk-forward backtest: the production code (features store, CatBoost training, predict_lines,
decisions, grading) replayed over real dates.

For each block of ``retrain_days`` dates starting at ``start`` a model is trained on every
player-game before the block's first date (its cutoff), then predicts each date of the block; so a
date is only ever predicted from data before it, and models are retrained at least weekly. Lines
come from the warehouse (``raw.player_props``) or a lines CSV (:mod:`nba_assets.lib.sources.lines_csv`);
with a CSV, the window's context and features are built again with its lines in place of the warehouse's
(:func:`context_with_lines`, :func:`window_features`), as production builds them from each day's ingested
lines.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl

from nba_assets.lib import exports, grading, raw
from nba_assets.lib.dbt_project import run_models, window_vars
from nba_assets.lib.features.store import feature_rows
from nba_assets.lib.modeling.config import DECISIONS, MODEL, SYSTEMS, DecisionConfig, ModelConfig
from nba_assets.lib.modeling.decisions import PREDICTION_SCHEMA
from nba_assets.lib.modeling.predict import predict_dates
from nba_assets.lib.modeling.train import PointsModel, train_points_model
from nba_assets.lib.sources.base import HISTORY_COLUMNS

# the prediction contract, then the outcome
OUTPUT_COLUMNS = [*PREDICTION_SCHEMA, "actual_points", "actual_minutes", "result", "profit"]
# the CSV's row order: a total key (one prediction per player, book, line and system on a date; book_lines
# keeps one offer per player, book and line), so two runs write the same file whatever order rows came in
OUTPUT_ORDER = ["game_date", "player_name", "player_id", "bookmaker", "line", "system"]
# the targets: catboost's MAE gain over the better baseline; its highest-confidence tier
# holding this many bets hits this often (and is profitable at the offered prices)
TARGET_GAIN = 0.150
MIN_TIER_BETS = 150
TARGET_HIT_RATE = 0.55
# next to the report: each weekly model's metadata (BacktestResult.model_meta)
MODELS_JSON = "backtest_models.json"
EDGE_TIERS: tuple[tuple[str, float, float], ...] = (
    ("1.5-2.5", 1.5, 2.5),
    ("2.5-4", 2.5, 4.0),
    ("4+", 4.0, 1e9),
)


class WarehouseHistory:
    """Who played for whom before a date, from ``raw.box_scores`` (the identity resolver's input)."""

    def __init__(self, box_scores: pl.DataFrame) -> None:
        self.box = box_scores.filter(pl.col("player_id").is_not_null()).select(HISTORY_COLUMNS)

    def player_history(self, before: date, since: date) -> pl.DataFrame:
        return self.box.filter(pl.col("game_date").is_between(since, before, closed="left"))

    def player_directory(self) -> pl.DataFrame:
        # his name on his last game (two rows that day: the last by team, then name), whatever order
        # the warehouse returned the rows in
        return (
            self.box.sort("game_date", "team_abbr", "player_name", nulls_last=False)
            .unique(subset="player_id", keep="last", maintain_order=True)
            .select("player_id", "player_name")
        )


@dataclass
class BacktestInputs:
    features: pl.DataFrame  # features.player_features, every date up to the end
    props: pl.DataFrame  # raw lines of the window (resolved player ids)
    box_scores: pl.DataFrame  # outcomes of the window (grading only)
    injuries: pl.DataFrame
    # rows of a --lines file the raw contract quarantined, by reason (a snapshot after tip-off ...)
    quarantined: dict[str, int] = field(default_factory=dict)


def read_inputs(warehouse: Path, start: date, end: date, lines: pl.DataFrame | None = None) -> BacktestInputs:
    """The tables a backtest reads, from the DuckDB warehouse the pipeline wrote (read-only)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:

        def q(sql: str, params: list[Any]) -> pl.DataFrame:
            return con.sql(sql, params=params).pl()

        features = q("SELECT * FROM features.player_features WHERE game_date <= ?", [end])
        box = q("SELECT * FROM raw.box_scores WHERE game_date <= ?", [end])
        schedule = q("SELECT * FROM raw.schedule WHERE game_date BETWEEN ? AND ?", [start, end])
        injuries = q("SELECT * FROM raw.injury_report WHERE game_date BETWEEN ? AND ?", [start, end])
        quarantined: dict[str, int] = {}
        games: tuple[pl.DataFrame, pl.DataFrame] | None = None  # the feature store's game summaries
        if lines is None:
            props = q("SELECT * FROM raw.player_props WHERE game_date BETWEEN ? AND ?", [start, end])
        else:
            resolved = resolve_lines(lines, schedule, box, start, end)
            props = resolved.good
            quarantined = {f"quarantined: {r}": n for r, n in resolved.quarantine_reasons.items()}
            if not props.is_empty():  # no resolved line: nothing to predict, nothing rebuilt
                # up to the window's end, as the features asset reads them for a range
                games = (
                    q("SELECT * FROM context.player_game_summary WHERE game_date <= ?", [end]),
                    q("SELECT * FROM context.team_game_summary WHERE game_date <= ?", [end]),
                )
    if games is not None:
        # the window's context and features as production builds them from each day's ingested lines:
        # who is expected (a line places its player) and the line features each week's model trains
        # and calibrates on
        context = context_with_lines(warehouse, props, start, end)
        features = window_features(features, context, *games, injuries, start, end)
    return BacktestInputs(
        features=features,
        props=props,
        box_scores=box.filter(pl.col("game_date").is_between(start, end)),
        injuries=injuries,
        quarantined=quarantined,
    )


def resolve_lines(
    lines: pl.DataFrame, schedule: pl.DataFrame, box_scores: pl.DataFrame, start: date, end: date
) -> raw.Validated:
    """Lines from a file through the same steps as ``raw/player_props``: game ids from the schedule,
    player ids from players seen before each date, then the raw contract's validation: (good rows,
    quarantined rows with their reason, which the report counts)."""
    window = lines.filter(pl.col("game_date").is_between(start, end))
    if window.is_empty():
        return raw.Validated(window, window.clear())
    dates = sorted(window["game_date"].unique().to_list())
    frame = raw.attach_game_ids(window, schedule)
    frame = raw.resolve_prop_ids(frame, WarehouseHistory(box_scores), dates)
    return raw.validate_batch(frame, "player_props", "lines_csv")


# The raw tables the dbt project reads (its sources: test_dbt_context keeps the two equal), copied into the
# scratch file of :func:`context_with_lines`. Literal statements (identifiers from code); a raw table the
# warehouse lacks stays missing in the scratch file too, and the staging view reads it as no rows, as the
# context run would.
RAW_COPIES = {
    "schedule": "CREATE TABLE raw.schedule AS SELECT * FROM src.raw.schedule",
    "box_scores": "CREATE TABLE raw.box_scores AS SELECT * FROM src.raw.box_scores",
    "injury_report": "CREATE TABLE raw.injury_report AS SELECT * FROM src.raw.injury_report",
    "player_props": "CREATE TABLE raw.player_props AS SELECT * FROM src.raw.player_props",
}


def context_with_lines(warehouse: Path, props: pl.DataFrame, start: date, end: date) -> pl.DataFrame:
    """``context.player_game_context`` of ``start``..``end`` as production builds it when the window's
    ingested lines are ``props`` (rows of the raw ``player_props`` contract): the dbt model itself, run
    with the context run's window on a scratch DuckDB file that holds the warehouse's raw tables, its
    lines of the window replaced by ``props`` (the warehouse is only read). So a line places its player
    in its game as it does in production (``team_source``; a player no recent roster holds, back from
    an injury or just traded, gets a row; a lined player whose team nothing names gets none), and the
    line features are the model's (``consensus_line``, ``opening_line``, ``books_count``)."""
    with tempfile.TemporaryDirectory(prefix="nba_assets_backtest_") as tmp:
        scratch = Path(tmp) / "warehouse.duckdb"
        with duckdb.connect(str(scratch)) as con:
            con.execute("ATTACH ? AS src (READ_ONLY)", [str(warehouse)])
            present = {
                name
                for (name,) in con.execute(
                    "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = ?",
                    ["src", "raw"],
                ).fetchall()
            }
            con.execute("CREATE SCHEMA raw")
            for name in RAW_COPIES:
                if name in present:
                    con.execute(RAW_COPIES[name])
            con.execute("DETACH src")
            con.register("window_lines", props)
            if "player_props" in present:
                con.execute("DELETE FROM raw.player_props WHERE game_date BETWEEN ? AND ?", [start, end])
                con.execute("INSERT INTO raw.player_props BY NAME SELECT * FROM window_lines")
            else:
                con.execute("CREATE TABLE raw.player_props AS SELECT * FROM window_lines")
            con.unregister("window_lines")
        run_models(
            scratch, ["path:models/staging", "player_game_context"], window_vars(start, end), Path(tmp)
        )
        with duckdb.connect(str(scratch), read_only=True) as con:
            return con.sql(
                "SELECT * FROM context.player_game_context WHERE game_date BETWEEN ? AND ?",
                params=[start, end],
            ).pl()


def window_features(
    features: pl.DataFrame,
    context: pl.DataFrame,
    player_games: pl.DataFrame,
    team_games: pl.DataFrame,
    injuries: pl.DataFrame,
    start: date,
    end: date,
) -> pl.DataFrame:
    """``features`` with its rows dated ``start``..``end`` built again by the feature store's own function
    (:func:`nba_assets.lib.features.store.feature_rows`, as the features asset builds a range) from
    ``context`` (the window's expected rows, :func:`context_with_lines`), the game summaries up to
    ``end`` and the window's injury report; rows before ``start`` are the warehouse's."""
    dates = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    rows = feature_rows(dates, context, player_games, team_games, injuries)
    kept = features.filter(~pl.col("game_date").is_between(start, end))
    return pl.concat([kept, rows.select(features.columns)])


@dataclass
class BacktestResult:
    rows: pl.DataFrame  # one row per player x line x system, graded
    models: list[dict[str, Any]] = field(default_factory=list)  # the report's Models table (model_row)
    # each weekly model's stored metadata (PointsModel.meta: window, features, parameters, every
    # validation metric, the calibration maps) and the dates it predicted: backtest_models.json
    model_meta: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    seed: int = MODEL.seed  # the CatBoost seed of every model
    # the map of catboost's P(over) on real lines (ModelConfig.real_line_calibration)
    calibration: str = MODEL.real_line_calibration
    target: str = MODEL.target  # what CatBoost learned (ModelConfig.target)


def cutoffs(start: date, end: date, retrain_days: int) -> list[tuple[date, date]]:
    """Blocks ``[cutoff, last]`` covering start..end; each block is predicted by a model trained
    on games before its cutoff."""
    if retrain_days < 1 or retrain_days > 7:
        raise ValueError(f"retrain_days must be 1..7 (models retrain at least weekly), got {retrain_days}")
    blocks, d = [], start
    while d <= end:
        last = min(end, d + timedelta(days=retrain_days - 1))
        blocks.append((d, last))
        d = last + timedelta(days=1)
    return blocks


def model_row(model: PointsModel, last: date, seconds: float) -> dict[str, Any]:
    """A weekly model's row in the report's Models table: what it trained on and predicts, its validation
    MAE next to the better baseline's on the same rows, and what its P(over) was calibrated on (the
    validation window's real consensus lines, or synthetic ones when it held too few) with the map's
    out-of-sample Brier score on those lines (0.25 = a constant 0.5)."""
    m = model.metrics
    brier = m.get("brier_out_of_sample")
    return {
        "version": model.version,
        "cutoff": model.cutoff.isoformat(),
        "predicts": f"{model.cutoff} .. {last}",
        "train_rows": m["train_rows"],
        "validation_from": m["validation_start"],
        "validation_mae": round(m["mae"], 3),
        "validation_mae_best_baseline": round(
            min(v for k, v in m.items() if k.startswith("mae_baseline_")), 3
        ),
        "calibrated_on": "real lines" if m["calibrated_on"] == "real_lines" else "synthetic lines",
        "calibration_rows": m["calibration_rows"],
        "brier_out_of_sample": round(brier, 4) if brier is not None else None,
        "blend_weight": round(m["blend_weight"], 3),
        "seconds": round(seconds, 1),
    }


def run_backtest(
    inputs: BacktestInputs,
    start: date,
    end: date,
    retrain_days: int = 7,
    model_cfg: ModelConfig = MODEL,
    decisions: DecisionConfig = DECISIONS,
    progress: Callable[[str], None] = lambda _msg: None,
) -> BacktestResult:
    t0 = time.perf_counter()
    frames, models, skipped = [], [], dict(inputs.quarantined)
    model_meta: list[dict[str, Any]] = []
    for cutoff, last in cutoffs(start, end, retrain_days):
        block_props = inputs.props.filter(pl.col("game_date").is_between(cutoff, last))
        if block_props.is_empty():
            continue
        t = time.perf_counter()
        # only rows before the cutoff can reach training (training_rows filters game_date < cutoff)
        model: PointsModel = train_points_model(
            inputs.features.filter(pl.col("game_date") < cutoff), cutoff, model_cfg
        )
        models.append(row := model_row(model, last, time.perf_counter() - t))
        model_meta.append({**model.meta(), "predicts": row["predicts"]})
        progress(
            f"model {model.version}: {model.metrics['train_rows']:,} rows, validation MAE "
            f"{model.metrics['mae']:.3f}; predicting {cutoff} .. {last}"
        )
        batch = predict_dates(
            block_props,
            inputs.features,
            sorted(block_props["game_date"].unique()),
            lambda _day: model,  # noqa: B023 (predict_dates calls it before the loop moves on)
            decisions,
        )
        frames.append(batch.predictions)
        for reason, n in batch.skipped.items():
            skipped[reason] = skipped.get(reason, 0) + n
    if not frames:
        raise ValueError(f"backtest: no lines with resolved players between {start} and {end}")
    preds = pl.concat(frames)
    graded = grading.grade(preds, inputs.box_scores, inputs.injuries)
    rows = graded.select([c for c in OUTPUT_COLUMNS if c in graded.columns]).sort(OUTPUT_ORDER)
    return BacktestResult(
        rows=rows,
        models=models,
        model_meta=model_meta,
        skipped=skipped,
        seconds=time.perf_counter() - t0,
        seed=model_cfg.seed,
        calibration=model_cfg.real_line_calibration,
        target=model_cfg.target,
    )


# ---------------------------------------------------------------- report


def accuracy(rows: pl.DataFrame) -> pl.DataFrame:
    """Per system: MAE over player-dates that played (one prediction per player-date), with the
    consensus line's MAE (median of the books' main lines) on exactly the same player-dates
    (:func:`nba_assets.lib.grading.line_accuracy`, as the report and system_performance count them)."""
    return (
        grading.line_accuracy(rows)
        .rename({"n": "player_dates"})
        .with_columns((pl.col("mae") - pl.col("line_mae")).alias("mae_minus_line"))
        .sort("system")
    )


def accuracy_by_week(rows: pl.DataFrame) -> pl.DataFrame:
    """:func:`accuracy` per system and week (weeks start on Monday): where in the window a gain or
    a miss comes from (the season's opening week behaves unlike the rest)."""
    pd_rows = grading.scored_player_dates(rows).with_columns(
        pl.col("game_date").dt.truncate("1w").alias("week")
    )
    # the models' errors averaged in value order, not row order (see grading.line_accuracy)
    err = (pl.col("predicted_points") - pl.col("actual_points")).abs().sort().mean()
    wide = (
        pd_rows.group_by("week", "system")
        .agg(err.alias("mae"))
        .pivot(on="system", index=["week"], values="mae")
    )
    line = (
        pd_rows.unique(subset=["game_date", "player_id"])
        .group_by("week")
        .agg(
            pl.len().alias("player_dates"),
            (pl.col("consensus_line") - pl.col("actual_points")).abs().mean().alias("line"),
        )
    )
    systems = [s for s in SYSTEMS if s in wide.columns]
    return line.join(wide, on="week").select("week", "player_dates", *systems, "line").sort("week")


def mae_gain_interval(
    rows: pl.DataFrame,
    system: str,
    baseline: str,
    draws: int = 2000,
    level: float = 0.90,
    seed: int = 0,
) -> dict[str, float]:
    """MAE(baseline) - MAE(system) on the same player-dates, with a paired bootstrap interval that
    resamples whole game dates (a date's errors move together: one slate, one scoring night)."""
    pd_rows = grading.scored_player_dates(rows).filter(pl.col("system").is_in([system, baseline]))
    err = (pl.col("predicted_points") - pl.col("actual_points")).abs()
    wide = pd_rows.with_columns(err.alias("err")).pivot(
        on="system", index=["game_date", "player_id"], values="err"
    )
    if system not in wide.columns or baseline not in wide.columns:
        raise ValueError(f"mae_gain_interval: rows lack system {system!r} or {baseline!r}")
    per_date = (
        wide.drop_nulls([system, baseline])
        .group_by("game_date")
        .agg(pl.len().alias("n"), (pl.col(baseline) - pl.col(system)).sort().sum().alias("gain_sum"))
        .sort("game_date")
    )
    n, g = per_date["n"].to_numpy().astype(float), per_date["gain_sum"].to_numpy()
    if n.sum() == 0:
        raise ValueError("mae_gain_interval: no player-date has both systems")
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(n), size=(draws, len(n)))
    boot = g[pick].sum(axis=1) / n[pick].sum(axis=1)
    lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return {
        "gain": float(g.sum() / n.sum()),
        "low": float(lo),
        "high": float(hi),
        "level": level,
        "dates": len(n),
        "player_dates": int(n.sum()),
    }


def by_confidence_tier(rows: pl.DataFrame, main_lines_only: bool = True) -> pl.DataFrame:
    bets = rows.filter(pl.col("is_main_line")) if main_lines_only else rows
    return grading.bet_record(bets, ["system", "tier"])


def by_edge_tier(rows: pl.DataFrame) -> pl.DataFrame:
    """Bets on main lines by system and |edge| tier (:data:`EDGE_TIERS`)."""
    bets = rows.filter(pl.col("is_main_line"))
    tier = pl.lit(None, pl.Utf8)
    for name, lo, hi in reversed(EDGE_TIERS):
        tier = (
            pl.when((pl.col("edge").abs() >= lo) & (pl.col("edge").abs() < hi))
            .then(pl.lit(name))
            .otherwise(tier)
        )
    return grading.bet_record(bets.with_columns(tier.alias("edge_tier")), ["system", "edge_tier"])


def best_tier(tiers: pl.DataFrame, system: str, min_bets: int = MIN_TIER_BETS) -> dict[str, Any] | None:
    """The highest-confidence tier of ``system`` holding at least ``min_bets`` decided bets (the
    issue's tier target: :data:`MIN_TIER_BETS`)."""
    order = [name for name, _ in DECISIONS.tiers]
    for name in order:
        t = tiers.filter((pl.col("system") == system) & (pl.col("tier") == name))
        if t.height and int(t["wins"][0] + t["losses"][0]) >= min_bets:
            return t.row(0, named=True)
    return None


def target_figures(rows: pl.DataFrame) -> dict[str, Any]:
    """The issue's three targets as one backtest's rows score them (the report's first bullets):
    ``catboost_mae`` against the better baseline's (``baseline``, ``baseline_mae``) with the paired
    ``gain`` interval (:func:`mae_gain_interval`), ``catboost_line_mae`` against ``line_mae`` on the
    same player-dates, and ``tiers``: each model system's :func:`best_tier` on main lines (None when no
    tier holds 150 bets). A figure is None when the rows lack its system."""
    acc = {r["system"]: r for r in accuracy(rows).iter_rows(named=True)}
    baselines = sorted((r["mae"], s) for s, r in acc.items() if s.startswith("baseline"))
    baseline_mae, baseline = baselines[0] if baselines else (None, None)
    catboost, cbl = acc.get("catboost"), acc.get("catboost_line")
    conf = by_confidence_tier(rows)
    return {
        "catboost_mae": catboost["mae"] if catboost else None,
        "baseline": baseline,
        "baseline_mae": baseline_mae,
        "gain": mae_gain_interval(rows, "catboost", baseline) if baseline and catboost else None,
        "catboost_line_mae": cbl["mae"] if cbl else None,
        "line_mae": cbl["line_mae"] if cbl else None,
        "tiers": {system: best_tier(conf, system) for system in ("catboost", "catboost_line")},
    }


def _md(frame: pl.DataFrame, digits: int = 3) -> str:
    cols = frame.columns
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in frame.iter_rows():
        cells = []
        for v in row:
            if isinstance(v, float):
                cells.append("" if np.isnan(v) else f"{v:.{digits}f}")
            else:
                cells.append("" if v is None else str(v))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


CALIBRATION_NAMES = {"platt": "Platt"}


def calibration_note(calibration: str) -> str:
    """ ", P(over) calibrated by ... on real lines" for a calibration other than the shipped one, else
    "" (the default texts are unchanged): the report's first line and the CLI's progress line."""
    if calibration == MODEL.real_line_calibration:
        return ""
    return f", P(over) calibrated by {CALIBRATION_NAMES.get(calibration, calibration)} on real lines"


def target_note(target: str) -> str:
    """ ", trained on <target>" for a target other than the shipped one, else "" (as calibration_note)."""
    return "" if target == MODEL.target else f", trained on {target}"


def write_report(result: BacktestResult, start: date, end: date, out_dir: Path, lines_label: str) -> Path:
    """``backtest_report.md``, PNG plots (calibration, hit rate by tier) and each weekly model's metadata
    (``backtest_models.json``) in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = result.rows
    acc = accuracy(rows)
    weekly = accuracy_by_week(rows)
    conf = by_confidence_tier(rows)
    edge = by_edge_tier(rows)
    conf_all = by_confidence_tier(rows, main_lines_only=False)
    plots = _plots(rows, out_dir)
    t = target_figures(rows)
    lines = [
        f"# Backtest {start} .. {end}",
        "",
        f"Walk-forward: {len(result.models)} models (CatBoost seed {result.seed}{target_note(result.target)}{calibration_note(result.calibration)}), "
        "each trained only on games "
        f"before the first date it predicts. Lines: {lines_label}. {rows.height:,} rows (player x line x system), "
        f"{rows.select('game_date', 'player_id').n_unique():,} player-dates, {result.seconds:.0f} s.",
        "",
        "## Accuracy (one prediction per player-date that played; the line = median of the books' main lines)",
        "",
        _md(acc),
        "",
    ]
    if (gain := t["gain"]) is not None:
        lines.append(
            f"- catboost MAE {t['catboost_mae']:.3f} vs best baseline ({t['baseline']}) "
            f"{t['baseline_mae']:.3f}: {gain['gain']:+.3f} points (target: at least +{TARGET_GAIN:.3f}); "
            f"{gain['level']:.0%} interval {gain['low']:+.3f} .. {gain['high']:+.3f} "
            f"(paired bootstrap over the {gain['dates']} game dates)."
        )
    if t["catboost_line_mae"] is not None:
        lines.append(
            f"- catboost_line MAE {t['catboost_line_mae']:.3f} vs the line's {t['line_mae']:.3f} on the same rows "
            f"(target: at or below)."
        )
    for system, bt in t["tiers"].items():
        if bt:
            lines.append(
                f"- {system}: highest-confidence tier with >= {MIN_TIER_BETS} bets: `{bt['tier']}` {bt['wins']}-{bt['losses']}"
                f" ({bt['hit_rate']:.1%}; 90% interval {bt['hit_low90']:.1%} .. {bt['hit_high90']:.1%}"
                f" counting its {bt['player_dates']} player-dates once each),"
                f" ROI {bt['roi']:+.1%} at the offered prices."
            )
        else:
            lines.append(f"- {system}: no confidence tier holds {MIN_TIER_BETS} bets on main lines.")
    lines += [
        "",
        "## Accuracy by week (MAE; weeks start on Monday)",
        "",
        _md(weekly.with_columns(pl.col("week").cast(pl.Utf8))),
        "",
        "## Bets by confidence tier (main lines, offered prices)",
        "",
        _md(conf),
        "",
        "## Bets by edge tier (main lines)",
        "",
        _md(edge),
        "",
        "## Bets by confidence tier, alternates included",
        "",
        _md(conf_all),
        "",
        "## Calibration of P(over) (main lines; over_rate = the observed share of overs)",
        "",
    ]
    for system in SYSTEMS:
        table = exports.calibration_table(rows, system)
        if table.height:
            lines += [f"### {system}", "", _md(table), ""]
    lines += [
        "## Models",
        "",
        "Validation: the game dates from `validation_from` to the cutoff, held out to pick the number of trees "
        "and to fit the P(over) maps; the final model then trains on every row before the cutoff. Every metric "
        "each model stored, and its calibration maps, "
        f"are in `{MODELS_JSON}`.",
        "",
        _md(pl.DataFrame(result.models)),
        "",
    ]
    if result.skipped:
        lines += ["## Lines not predicted", "", _md(pl.DataFrame([result.skipped])), ""]
    lines += ["## Plots", ""] + [f"![{p.stem}]({p.name})" for p in plots]
    (out_dir / MODELS_JSON).write_text(json.dumps(result.model_meta, indent=1, default=str) + "\n")
    path = out_dir / "backtest_report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _plots(rows: pl.DataFrame, out_dir: Path) -> list[Path]:
    """The daily report's two plots (the same code), on the backtest's rows."""
    paths = []
    for name, png in (
        ("calibration.png", exports.calibration_png(rows)),
        ("hit_rate_by_tier.png", exports.hit_rate_by_tier_png(rows)),
    ):
        if png is not None:
            (out_dir / name).write_bytes(png)
            paths.append(out_dir / name)
    return paths
