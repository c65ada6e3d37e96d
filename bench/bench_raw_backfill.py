"""Benchmark: a single-run range backfill of raw/schedule + raw/box_scores over a whole season.

    python bench/bench_raw_backfill.py [--start 2024-10-22] [--end 2025-04-13]

Prints wall time, CPU time, peak RSS and rows per second. A figure, not a test.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import warnings
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb

from nba_assets.defs.build import build_definitions
from nba_assets.lib.env import Settings


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--start", default="2024-10-22")
    ap.add_argument("--end", default="2025-04-13")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        defs = dg.Definitions.merge(
            build_definitions(settings),
            dg.Definitions(
                jobs=[dg.define_asset_job("bench_box_scores", selection=["raw/schedule", "raw/box_scores"])]
            ),
        )
        job = defs.resolve_job_def("bench_box_scores")
        cpu0, t0 = time.process_time(), time.perf_counter()
        with dg.instance_for_test() as instance:
            result = job.execute_in_process(
                instance=instance,
                tags={
                    "dagster/asset_partition_range_start": args.start,
                    "dagster/asset_partition_range_end": args.end,
                },
            )
            runs = len(instance.get_run_records())
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            rows, games = con.execute(
                "SELECT count(*), count(DISTINCT game_id) FROM raw.box_scores"
            ).fetchone()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    days = (date.fromisoformat(args.end) - date.fromisoformat(args.start)).days + 1
    print(
        f"raw/box_scores backfill {args.start} .. {args.end}: {days} partitions in {runs} run(s), success={result.success}"
    )
    print(f"  rows {rows:,} in {games:,} games")
    print(f"  wall {wall:.1f} s, cpu {cpu:.1f} s, peak RSS {peak_mb:,.0f} MB, {rows / wall:,.0f} rows/s")


if __name__ == "__main__":
    main()
