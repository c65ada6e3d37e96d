"""Markdown tables of the newest benchmark results (``$NBA_BENCH_DIR/results/*.json``), for bench/README.md.

    python bench/report.py

Prints one table row per stage of each benchmark whose results file exists (wall, CPU, peak RSS, rows,
rows/s, in-run wall, Dagster events, load average) and a total row where the stages add up to one
pipeline. ``NBA_BENCH_DIR`` (default ``/tmp/nba_bench``) is read as by the benchmark scripts: set it as
for the run.
"""

from __future__ import annotations

import argparse

from _common import RESULTS_DIR, load_results

# (results name, label, whether the stages add up to one pipeline)
ORDER = [
    ("daily_slate", "(a) daily slate 2025-11-05, Dagster, 4 runs", True),
    ("daily_slate_one_run", "(a') daily slate, morning_slate_job as 1 run", False),
    ("direct_slate", "(c) daily slate, direct", True),
    ("season_backfill", "(b) season 2024-25, Dagster, 5 runs", True),
    ("direct_season", "(c) season 2024-25, direct", True),
    ("season_backfill_consolidated", "(b) raw stage with ConsolidatedSqliteEventLogStorage", False),
    ("catboost_scoring", "(d) CatBoost scoring, 1M lines", False),
    ("features_season", "(e) features 2024-10-22..2025-06-22", False),
    ("dbt_variants", "dbt variants (context layer, 1 date)", False),
]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        epilog=f"Reads {RESULTS_DIR}/<benchmark>.json (set NBA_BENCH_DIR, default /tmp/nba_bench, as for the run).",
    )
    ap.parse_args(argv)
    print(
        "| benchmark | stage | wall s | CPU s | peak RSS MB | rows | rows/s | in-run s | rows/s in-run | events | load 1m before/after |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, label, adds_up in ORDER:
        res = load_results(name)
        if res is None:
            continue
        for i, s in enumerate(res["stages"]):
            run = s["run_wall_s"]
            rps_run = f"{s['rows'] / run:,.0f}" if run and s["rows"] else ""
            rps = f"{s['rows_per_s']:,.0f}" if s["rows"] else ""
            events = "" if s["events"] is None else f"{s['events']:,}"
            print(
                f"| {label if i == 0 else ''} | {s['name']} | {s['wall_s']:.1f} | {s['cpu_s']:.1f} | {s['peak_rss_mb']:,.0f} "
                f"| {s['rows']:,} | {rps} | {'' if run is None else f'{run:.1f}'} | {rps_run} "
                f"| {events} | {s['load_before'][0]:.2f} / {s['load_after'][0]:.2f} |"
            )
        if adds_up and len(res["stages"]) > 1:
            print(
                f"| | **total** | **{res['total_wall_s']:.1f}** | {res['total_cpu_s']:.1f} | {res['peak_rss_mb']:,.0f} (max) "
                f"| | | {res['total_run_wall_s']:.1f} | | | |"
            )
        print(f"<!-- {name}: {res['when']} -->")


if __name__ == "__main__":
    main()
