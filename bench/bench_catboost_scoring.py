"""Benchmark (d): CatBoost batch scoring throughput on >= 1,000,000 player-lines.

    python bench/bench_catboost_scoring.py [--rows 1000000]

Model: the promoted champion of the main run (ModelRegistry over LocalObjectStore('/tmp/mainrun/objects'),
read-only; ``pm-2025-10-21``). Inputs: the real feature rows and points lines of 2025-10-21 .. 2025-11-20
from the main-run warehouse (opened read-only), tiled until there are at least ``--rows`` of them; each
tile shifts player_id, so every tiled (date, player) is a distinct player-line.

Stages, each in its own child process (the figures of the child include loading and tiling; the in-run
column and rows/s in-run are the timed scoring call only):

* predict        ``PointsModel.predict`` on the tiled feature rows (polars -> float matrix, booster, clip);
                 the polars->numpy conversion and the bare ``booster.predict`` are timed separately too
* predict_lines  the whole prediction path ``predict_lines`` (book lines, consensus, joins, baselines,
                 CatBoost, sigma, calibration, decisions) on the tiled lines, in one call

Target: >= 100,000 lines/s.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

from _common import (
    MAINRUN,
    ChildTimer,
    child_main,
    child_report,
    log,
    machine,
    print_table,
    run_child,
    save_results,
)

WINDOW = ("2025-10-21", "2025-11-20")
TARGET_ROWS_PER_S = 100_000
TILE_ID_STEP = 100_000_000  # player ids are < 1e8; tile k adds k * this


def _load(window: tuple[str, str]) -> tuple:
    import duckdb

    from nba_assets.lib.modeling.registry import ModelRegistry
    from nba_assets.lib.storage.object_store import LocalObjectStore

    registry = ModelRegistry(LocalObjectStore(MAINRUN / "objects"))
    model = registry.load_champion()
    if model is None:
        raise SystemExit(f"no champion in {MAINRUN}/objects")
    with duckdb.connect(str(MAINRUN / "warehouse.duckdb"), read_only=True) as con:
        feats = con.sql(
            "SELECT * FROM features.player_features WHERE game_date BETWEEN ? AND ?", params=list(window)
        ).pl()
        props = con.sql(
            "SELECT * FROM raw.player_props WHERE game_date BETWEEN ? AND ?", params=list(window)
        ).pl()
    return model, feats, props


def _tile(frame, reps: int):
    import polars as pl

    return pl.concat(
        [frame.with_columns(pl.col("player_id") + k * TILE_ID_STEP) for k in range(reps)], rechunk=True
    )


def stage_predict(args: list[str]) -> None:
    import numpy as np

    from nba_assets.lib.modeling.train import _matrix

    want = int(args[0])
    model, feats, _ = _load(WINDOW)
    frame = _tile(feats, math.ceil(want / feats.height))
    model.predict(frame.head(1000))  # warm-up
    t0 = time.perf_counter()
    x = _matrix(frame, model.features)
    t_matrix = time.perf_counter() - t0
    t0 = time.perf_counter()
    model.booster.predict(x)
    t_booster = time.perf_counter() - t0
    with ChildTimer() as t:
        mu = model.predict(frame)
    child_report(
        rows=frame.height,
        run_wall_s=t.wall,
        run_cpu_s=t.cpu,
        features=len(model.features),
        model=model.version,
        polars_to_numpy_s=round(t_matrix, 3),
        booster_predict_s=round(t_booster, 3),
        booster_rows_per_s=round(frame.height / t_booster),
        mean_prediction=round(float(np.mean(mu)), 3),
        source_rows=feats.height,
    )


def stage_predict_lines(args: list[str]) -> None:
    import polars as pl

    from nba_assets.lib.modeling.predict import predict_lines

    want = int(args[0])
    model, feats, props = _load(WINDOW)
    resolved = props.filter(pl.col("player_id").is_not_null() & pl.col("line").is_not_null())
    reps = math.ceil(want / resolved.height)
    props_t, feats_t = _tile(props, reps), _tile(feats, reps)
    lines = props_t.filter(pl.col("player_id").is_not_null() & pl.col("line").is_not_null()).height
    with ChildTimer() as t:
        batch = predict_lines(props_t, feats_t, model, model.metrics["blend_weight"])
    preds = batch.predictions
    child_report(
        rows=lines,
        run_wall_s=t.wall,
        run_cpu_s=t.cpu,
        model=model.version,
        output_rows=preds.height,
        predicted_rows=preds.filter(pl.col("predicted_points").is_not_null()).height,
        tiles=reps,
        skipped=batch.skipped,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    log(f"machine: {machine()}; model and inputs from {MAINRUN} (read-only)")
    stages = []
    for name in ("predict", "predict_lines"):
        log(f"-> {name} on >= {args.rows:,} rows ...")
        r = run_child(name, Path(__file__), [name, str(args.rows)])
        log(f"   {r.rows:,} rows scored in {r.run_wall_s or 0:.2f}s; {r.extra}")
        stages.append(r)
    print_table("CatBoost batch scoring (each stage in a child process; in-run = the scoring call)", stages)
    for s in stages:
        rate = s.rows / s.run_wall_s if s.run_wall_s else 0.0
        log(
            f"target {s.name}: >= {TARGET_ROWS_PER_S:,} lines/s -> {rate:,.0f}/s "
            f"({'met' if rate >= TARGET_ROWS_PER_S else 'MISSED'})"
        )
    path = save_results("catboost_scoring", stages, {"rows": args.rows, "window": WINDOW})
    log(f"results: {path}")


if __name__ == "__main__":
    if not child_main({"predict": stage_predict, "predict_lines": stage_predict_lines}):
        main()
