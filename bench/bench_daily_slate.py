"""Benchmark (a): one busy game date, raw -> predictions, through Dagster.

    python bench/bench_daily_slate.py [--date 2025-11-05]

Starting point (prepared once, then reused): ``$NBA_BENCH_DIR/slate_base`` (default
``/tmp/nba_bench/slate_base``) = a copy of the main-run warehouse and object store (``/tmp/mainrun``,
read-only) with every game_date-partitioned row after ``date - 1`` deleted, so it holds history through
2025-11-04 and the main run's promoted champion ``pm-2025-10-21`` (cutoff 2025-10-21). Each run works
on a fresh copy of it with a fresh Dagster home (the project's dagster.yaml, SQLite storage).

Stages, each one job of nba_assets/defs/jobs.py run in-process (``execute_in_process``, as
``nba-assets main`` does) in its own child process: raw (ingest_raw_job), context (build_context_job),
features (build_features_job), predictions (predict_job). Prints wall, CPU, peak RSS, rows and rows/s
per stage, the in-run wall (without interpreter start, imports and loading the definitions), the number
of Dagster events the run logged and the load average. Target: the slate in <= 60 s wall.

``--one-run`` also measures the production slate path: morning_slate_job (schedule, injuries, lines,
context, features, predictions; no box scores, which arrive overnight) as ONE run in one child process,
from a fresh copy of the same starting point, to show what per-process start-up costs.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from _common import (
    BENCH_DIR,
    SLATE_DATE,
    STAGE_TABLES,
    count_rows,
    dagster_args,
    dagster_child,
    log,
    machine,
    parse_date,
    prepare_slate_base,
    print_table,
    run_child,
    save_results,
    stage_copy,
    warm_up,
    write_instance_home,
)

JOBS = [
    ("raw", "ingest_raw_job"),
    ("context", "build_context_job"),
    ("features", "build_features_job"),
    ("predictions", "predict_job"),
]
TARGET_WALL_S = 60.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--date", type=parse_date, default=SLATE_DATE)
    ap.add_argument("--one-run", action="store_true", help="also time morning_slate_job as one run")
    ap.add_argument(
        "--warm", action="store_true", help="run the previous day's context first, untimed (steady state)"
    )
    args = ap.parse_args()
    day = args.date
    t = time.perf_counter()
    base = prepare_slate_base(day - timedelta(days=1))
    log(
        f"starting point: {base} (history through {day - timedelta(days=1)}), ready in {time.perf_counter() - t:.1f}s"
    )
    work = stage_copy(base, BENCH_DIR / "daily_slate")
    if args.warm:
        warm_up(work, day - timedelta(days=1))
    home = write_instance_home(work / "dagster_home")
    env = {"DAGSTER_HOME": str(home), "NBA_ASSETS_DATA_DIR": str(work)}
    log(f"machine: {machine()}; data dir {work}; DAGSTER_HOME={home}")
    stages = []
    for name, job in JOBS:
        log(f"-> {name}: {job} for {day} ...")
        r = run_child(name, Path(__file__), dagster_args(work, job, day, day), env)
        r.rows = count_rows(work / "warehouse.duckdb", STAGE_TABLES[name], day, day)
        log(
            f"   {r.wall_s:.1f}s wall ({r.run_wall_s or 0:.1f}s in the run, definitions {r.extra.get('definitions_s')}s),"
            f" {r.events} events, ok={r.ok}, checks not passed: {r.extra.get('checks_not_passed')}"
        )
        stages.append(r)
    print_table(f"Daily slate {day} through Dagster (one run per job, each in a child process)", stages)
    total = sum(s.wall_s for s in stages)
    log(
        f"\ntarget: slate <= {TARGET_WALL_S:.0f} s wall -> {total:.1f} s: "
        f"{'met' if total <= TARGET_WALL_S else 'MISSED'}"
    )
    suffix = "_warm" if args.warm else ""
    path = save_results(
        f"daily_slate{suffix}",
        stages,
        {"date": day.isoformat(), "starting_point": str(base), "data_dir": str(work), "warm": args.warm},
    )
    log(f"results: {path}")
    if args.one_run:
        one_run(base, day, args.warm)


def one_run(base: Path, day: date, warm: bool = False) -> None:
    work = stage_copy(base, BENCH_DIR / "daily_slate_one_run")
    if warm:
        warm_up(work, day - timedelta(days=1))
    home = write_instance_home(work / "dagster_home")
    env = {"DAGSTER_HOME": str(home), "NBA_ASSETS_DATA_DIR": str(work)}
    log(f"\n-> morning_slate_job for {day} as one run (fresh copy of {base}) ...")
    r = run_child("morning_slate_job", Path(__file__), dagster_args(work, "morning_slate_job", day, day), env)
    r.rows = sum(
        count_rows(work / "warehouse.duckdb", STAGE_TABLES[n], day, day)
        for n in ("raw", "context", "features", "predictions")
    )
    log(f"   ok={r.ok}, {r.events} events, checks not passed: {r.extra.get('checks_not_passed')}")
    print_table(f"Daily slate {day}: morning_slate_job, one run in one child process (rows: all layers)", [r])
    suffix = "_warm" if warm else ""
    save_results(
        f"daily_slate_one_run{suffix}", [r], {"date": day.isoformat(), "data_dir": str(work), "warm": warm}
    )


if __name__ == "__main__":
    if not (len(sys.argv) > 2 and sys.argv[1] == "--child" and sys.argv[2] == "dagster"):
        main()
    else:
        dagster_child(sys.argv[3:])
