"""Benchmark (e), issue 3: the full 2024-25 feature build, through Dagster and as a direct library call.

    python bench/bench_features_season.py [--start 2024-10-22] [--end 2025-06-22]

Starting point: a copy of the main-run warehouse (``/tmp/mainrun``, read-only; context already built for
2022-10-18 .. 2025-11-20) in ``$NBA_BENCH_DIR/features_season`` with a fresh Dagster home. Stages, each
in its own child process, on the same copy (each rewrites exactly the window, so the second starts from
the same state as the first):

* dagster  build_features_job for start .. end in one run (player and team games from 730 days before
           start, via the asset's TimeWindowPartitionMapping; the three feature checks)
* direct   the same inputs read with duckdb, ``nba_assets.lib.features.store.feature_rows``, the same
           checks, the same write (bench/_direct.py ``features_direct``)

Prints wall, CPU, peak RSS, rows and rows/s of each, and the ratio.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from _common import (
    BENCH_DIR,
    STAGE_TABLES,
    copy_mainrun,
    count_rows,
    dagster_args,
    dagster_child,
    log,
    machine,
    parse_date,
    print_table,
    run_child,
    save_results,
    write_instance_home,
)
from _direct import child_stages

START, END = date(2024, 10, 22), date(2025, 6, 22)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--start", type=parse_date, default=START)
    ap.add_argument("--end", type=parse_date, default=END)
    args = ap.parse_args()
    s, e = args.start, args.end
    work = copy_mainrun(BENCH_DIR / "features_season")
    home = write_instance_home(work / "dagster_home")
    env = {"DAGSTER_HOME": str(home), "NBA_ASSETS_DATA_DIR": str(work)}
    log(f"machine: {machine()}; copy of the main-run warehouse in {work}")
    stages = []
    log(f"-> dagster: build_features_job for {s} .. {e} ({(e - s).days + 1} partitions, one run) ...")
    r = run_child("dagster", Path(__file__), dagster_args(work, "build_features_job", s, e), env)
    r.rows = count_rows(work / "warehouse.duckdb", STAGE_TABLES["features"], s, e)
    log(
        f"   {r.wall_s:.1f}s wall, {r.events} events, ok={r.ok}, checks not passed: {r.extra.get('checks_not_passed')}"
    )
    stages.append(r)
    log("-> direct: features_direct (store.feature_rows) for the same window ...")
    d = run_child("direct", Path(__file__), ["features_direct", str(work), s.isoformat(), e.isoformat()])
    d.rows = count_rows(work / "warehouse.duckdb", STAGE_TABLES["features"], s, e)
    log(f"   {d.wall_s:.1f}s wall, history rows read {d.extra.get('history_rows_read'):,}, ok={d.ok}")
    stages.append(d)
    print_table(f"Feature build {s} .. {e} (context already built; each in a child process)", stages)
    log(
        f"Dagster / direct: {r.wall_s / d.wall_s:.2f}x wall, "
        f"{(r.run_wall_s or 0) / (d.run_wall_s or 1):.2f}x in-run; peak RSS {r.peak_rss_mb:,.0f} vs {d.peak_rss_mb:,.0f} MB"
    )
    path = save_results("features_season", stages, {"start": s, "end": e, "data_dir": str(work)})
    log(f"results: {path}")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        if sys.argv[2] == "dagster":
            dagster_child(sys.argv[3:])
        else:
            child_stages()[sys.argv[2]](sys.argv[3:])
    else:
        main()
