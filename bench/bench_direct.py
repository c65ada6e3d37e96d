"""Benchmark (c): the computations of (a) and (b) without Dagster, and the Dagster/direct ratios.

    python bench/bench_direct.py [--which slate|season|both] [--with-dagster]

Each stage calls the library directly in its own child process (bench/_direct.py):

* raw          ArchiveSource + nba_assets.lib.raw validation/identity/check functions, writes via duckdb
               (delete the window + insert, one transaction per table, as the IO manager does)
* context      ``dbt build`` via subprocess as nba_assets/defs/context/assets.py starts it (staging views,
               then the context models with vars min_date/max_date/history_days; NBA_ASSETS_WAREHOUSE)
* features     nba_assets.lib.features.store.feature_rows on the inputs the partition mappings load
* model        train_points_model + promotion_gate + ModelRegistry.save (season only)
* predictions  predict_dates: predict_lines per date with the registry's model for that date

Slate: same starting point as bench_daily_slate.py (``$NBA_BENCH_DIR/slate_base``), date 2025-11-05.
Season: a fresh data dir, raw/context from 2022-10-18, features/predictions 2024-10-22 .. 2025-04-13.
Ratios use the newest results of bench_daily_slate.py / bench_season_backfill.py in
``$NBA_BENCH_DIR/results`` (``--with-dagster`` runs them first, so both sides see similar load).
Target: Dagster overhead <= 3x direct on the daily slate.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from _common import (
    BENCH_DIR,
    HISTORY_START,
    SEASON_CUTOFF,
    SEASON_END,
    SEASON_START,
    SLATE_DATE,
    STAGE_TABLES,
    StageResult,
    child_main,
    count_rows,
    fresh_dir,
    load_results,
    log,
    machine,
    prepare_slate_base,
    print_table,
    run_child,
    save_results,
    stage_copy,
    warm_up,
)
from _direct import child_stages

HERE = Path(__file__).resolve().parent
TARGET_RATIO = 3.0


def _run(name: str, work: Path, args: list[str], rows: tuple[list[str], date, date] | None) -> StageResult:
    log(f"-> {name} (direct) ...")
    r = run_child(name, Path(__file__), args)
    if rows is not None:
        r.rows = count_rows(work / "warehouse.duckdb", *rows)
    log(f"   {r.wall_s:.1f}s wall ({r.run_wall_s or 0:.1f}s timed work), ok={r.ok}")
    return r


def slate(day: date, warm: bool = False) -> list[StageResult]:
    base = prepare_slate_base(day - timedelta(days=1))
    work = stage_copy(base, BENCH_DIR / "direct_slate")
    if warm:
        warm_up(work, day - timedelta(days=1))
    d = day.isoformat()
    stages = []
    for name in ("raw", "context", "features", "predictions"):
        stages.append(_run(name, work, [f"{name}_direct", str(work), d, d], (STAGE_TABLES[name], day, day)))
    print_table(f"Daily slate {day}, direct library calls (each stage in a child process)", stages)
    save_results(
        f"direct_slate{'_warm' if warm else ''}",
        stages,
        {"date": d, "starting_point": str(base), "data_dir": str(work), "warm": warm},
    )
    return stages


def season(start: date, end: date, history: date, cutoff: date) -> list[StageResult]:
    work = fresh_dir(BENCH_DIR / "direct_season")
    h, s, e = history.isoformat(), start.isoformat(), end.isoformat()
    stages = [
        _run("raw", work, ["raw_direct", str(work), h, e], (STAGE_TABLES["raw"], history, end)),
        _run("context", work, ["context_direct", str(work), h, e], (STAGE_TABLES["context"], history, end)),
        _run("features", work, ["features_direct", str(work), s, e], (STAGE_TABLES["features"], start, end)),
        _run("model", work, ["model_direct", str(work), cutoff.isoformat()], None),
        _run(
            "predictions",
            work,
            ["predictions_direct", str(work), s, e],
            (STAGE_TABLES["predictions"], start, end),
        ),
    ]
    print_table(
        f"Season {start} .. {end} (raw/context from {history}), direct library calls (each stage in a child process)",
        stages,
    )
    save_results(
        "direct_season",
        stages,
        {"start": s, "end": e, "history_start": h, "cutoff": cutoff.isoformat(), "data_dir": str(work)},
    )
    return stages


def ratios(dagster_name: str, direct: list[StageResult], title: str, target: float | None) -> None:
    res = load_results(dagster_name)
    if res is None:
        log(f"\n{title}: no {dagster_name} results yet (run bench/bench_{dagster_name}.py or --with-dagster)")
        return
    by_name = {st["name"]: st for st in res["stages"]}
    log(f"\n{title}: Dagster ({res['when']}) / direct")
    log(
        f"  {'stage':<12} {'dagster s':>9} {'direct s':>9} {'ratio':>6}   {'in-run dg':>9} {'direct work':>11} {'ratio':>6}"
        f"   {'RSS dg MB':>9} {'RSS direct':>10}  load 1m dg / direct"
    )
    dw = dd = rw = rd = 0.0
    for st in direct:
        g = by_name.get(st.name)
        if g is None:
            continue
        dw, dd = dw + g["wall_s"], dd + st.wall_s
        rw, rd = rw + (g["run_wall_s"] or 0.0), rd + (st.run_wall_s or 0.0)
        log(
            f"  {st.name:<12} {g['wall_s']:9.1f} {st.wall_s:9.1f} {g['wall_s'] / st.wall_s:6.2f}"
            f"   {g['run_wall_s'] or 0:9.1f} {st.run_wall_s or 0:11.1f} {(g['run_wall_s'] or 0) / (st.run_wall_s or 1):6.2f}"
            f"   {g['peak_rss_mb']:9,.0f} {st.peak_rss_mb:10,.0f}  {g['load_before'][0]:.2f} / {st.load_before[0]:.2f}"
        )
    log(f"  {'total':<12} {dw:9.1f} {dd:9.1f} {dw / dd:6.2f}   {rw:9.1f} {rd:11.1f} {rw / rd:6.2f}")
    if target:
        log(
            f"  target: Dagster <= {target:.0f}x direct -> {dw / dd:.2f}x wall "
            f"({'met' if dw / dd <= target else 'MISSED'}), {rw / rd:.2f}x in-run"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--which", choices=["slate", "season", "both"], default="both")
    ap.add_argument("--with-dagster", action="store_true", help="run the Dagster benchmark(s) first")
    ap.add_argument("--warm", action="store_true", help="slate: previous day's context first (untimed)")
    args = ap.parse_args()
    warm = ["--warm"] if args.warm else []
    log(f"machine: {machine()}")
    if args.which in ("slate", "both"):
        if args.with_dagster:
            subprocess.run([sys.executable, str(HERE / "bench_daily_slate.py"), *warm], check=True)
        st = slate(SLATE_DATE, args.warm)
        ratios(f"daily_slate{'_warm' if args.warm else ''}", st, "Daily slate (a)/(c)", TARGET_RATIO)
    if args.which in ("season", "both"):
        if args.with_dagster:
            subprocess.run([sys.executable, str(HERE / "bench_season_backfill.py")], check=True)
        st = season(SEASON_START, SEASON_END, HISTORY_START, SEASON_CUTOFF)
        ratios("season_backfill", st, "Season backfill (b)/(c)", None)


if __name__ == "__main__":
    if not child_main(child_stages()):
        main()
