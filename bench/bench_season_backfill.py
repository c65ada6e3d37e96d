"""Benchmark (b): the 2024-25 regular season, raw -> predictions, as partition-range runs through Dagster.

    python bench/bench_season_backfill.py [--start 2024-10-22] [--end 2025-04-13] [--cutoff 2025-04-14]

From a fresh data dir (``$NBA_BENCH_DIR/season_backfill``, default ``/tmp/nba_bench/...``) and a fresh
Dagster home, one run per job, each in its own child process:

* raw       ingest_raw_job      2022-10-18 .. end   (history: the season's features read every earlier game's context)
* context   build_context_job   2022-10-18 .. end
* features  build_features_job  start .. end
* model     weekly_retrain_job  cutoff (trains on the feature rows before it: the season's, here)
* predictions predict_job       start .. end

The archive holds points lines only from 2025-10-21, so the season's predictions are (correctly) empty;
the model stage still measures training. Targets: <= 5 min wall and <= 4 GB peak RSS.

``--event-log consolidated`` runs the same with Dagster's ConsolidatedSqliteEventLogStorage (one SQLite
file instead of a file per run plus an index file) to measure the per-event cost of the local instance;
``--stages raw,context`` runs a subset (results then go to ``season_backfill_<event-log>``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from _common import (
    BENCH_DIR,
    HISTORY_START,
    SEASON_CUTOFF,
    SEASON_END,
    SEASON_START,
    STAGE_TABLES,
    count_rows,
    dagster_args,
    dagster_child,
    fresh_dir,
    log,
    machine,
    parse_date,
    print_table,
    run_child,
    save_results,
    write_instance_home,
)

TARGET_WALL_S = 300.0
TARGET_RSS_MB = 4096.0


def model_train_rows(data_dir: Path, cutoff: str) -> int:
    # versions are named pm-<cutoff>-<id>; the newest training of the cutoff
    metas = sorted(
        (data_dir / "objects" / "models" / "points_model").glob(f"pm-{cutoff}-*/meta.json"),
        key=lambda p: p.stat().st_mtime,
    )
    return int(json.loads(metas[-1].read_text())["metrics"]["train_rows"]) if metas else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--start", type=parse_date, default=SEASON_START)
    ap.add_argument("--end", type=parse_date, default=SEASON_END)
    ap.add_argument("--history-start", type=parse_date, default=HISTORY_START)
    ap.add_argument("--cutoff", type=parse_date, default=SEASON_CUTOFF)
    ap.add_argument("--event-log", choices=["default", "consolidated"], default="default")
    ap.add_argument("--stages", default="raw,context,features,model,predictions")
    args = ap.parse_args()
    wanted = args.stages.split(",")
    suffix = "" if args.event_log == "default" and len(wanted) == 5 else f"_{args.event_log}"
    work = fresh_dir(BENCH_DIR / f"season_backfill{suffix}")
    home = write_instance_home(work / "dagster_home")
    if args.event_log == "consolidated":
        with open(home / "dagster.yaml", "a") as f:
            f.write(
                "event_log_storage:\n  module: dagster._core.storage.event_log\n"
                f"  class: ConsolidatedSqliteEventLogStorage\n  config:\n    base_dir: {home / 'event_log'}\n"
            )
    env = {"DAGSTER_HOME": str(home), "NBA_ASSETS_DATA_DIR": str(work)}
    log(f"machine: {machine()}; fresh data dir {work}; DAGSTER_HOME={home}")
    h, s, e = args.history_start, args.start, args.end
    plan = [
        ("raw", "ingest_raw_job", h, e, None),
        ("context", "build_context_job", h, e, None),
        ("features", "build_features_job", s, e, None),
        (
            "model",
            "weekly_retrain_job",
            None,
            None,
            {"ops": {"models__points_model": {"config": {"cutoff": args.cutoff.isoformat()}}}},
        ),
        ("predictions", "predict_job", s, e, None),
    ]
    stages = []
    for name, job, lo, hi, cfg in [p for p in plan if p[0] in wanted]:
        span = f"{lo} .. {hi} ({(hi - lo).days + 1} partitions)" if lo and hi else f"cutoff {args.cutoff}"
        log(f"-> {name}: {job} for {span} ...")
        r = run_child(name, Path(__file__), dagster_args(work, job, lo, hi, cfg), env)
        if name == "model":
            r.rows = model_train_rows(work, args.cutoff.isoformat())
        else:
            r.rows = count_rows(work / "warehouse.duckdb", STAGE_TABLES[name], lo, hi)
        log(
            f"   {r.wall_s:.1f}s wall ({r.run_wall_s or 0:.1f}s in the run), {r.events} events "
            f"{r.extra.get('events_by_type')}, ok={r.ok}, checks not passed: {r.extra.get('checks_not_passed')}"
        )
        stages.append(r)
        if not r.ok:
            log("   stopped: the stage failed")
            break
    print_table(
        f"Season backfill {s} .. {e} through Dagster (raw/context from {h}; one run per job, each in a child process)",
        stages,
    )
    preds = next((x for x in stages if x.name == "predictions"), None)
    if preds is not None and preds.rows == 0:
        log(
            "note: predictions for the season are empty, as they should be: the archive holds no points lines "
            "before 2025-10-21 (predict_job still ran: loaded features, props and the model table, wrote nothing)"
        )
    wall = sum(x.wall_s for x in stages)
    peak = max(x.peak_rss_mb for x in stages)
    if len(stages) < len(plan):
        log("targets: not judged (a subset of the stages ran)")
    else:
        log(
            f"targets: <= {TARGET_WALL_S / 60:.0f} min wall -> {wall:.1f} s "
            f"({'met' if wall <= TARGET_WALL_S else 'MISSED'}); <= {TARGET_RSS_MB / 1024:.0f} GB peak RSS -> "
            f"{peak:,.0f} MB ({'met' if peak <= TARGET_RSS_MB else 'MISSED'})"
        )
    path = save_results(
        f"season_backfill{suffix}",
        stages,
        {
            "start": s,
            "end": e,
            "history_start": h,
            "cutoff": args.cutoff,
            "data_dir": str(work),
            "event_log": args.event_log,
        },
    )
    log(f"results: {path}")


if __name__ == "__main__":
    if not (len(sys.argv) > 2 and sys.argv[1] == "--child" and sys.argv[2] == "dagster"):
        main()
    else:
        dagster_child(sys.argv[3:])
