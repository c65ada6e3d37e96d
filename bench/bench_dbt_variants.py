"""What the context layer's dbt calls cost, and what two changes would save (for the daily slate).

    python bench/bench_dbt_variants.py [--date 2025-11-05]

On a copy of the slate starting point with raw for the date already ingested (bench_direct.py's raw
stage), each variant in its own child process:

* today         ``dbt build`` staging views, then ``dbt build`` context with ``--vars`` (what
                build_context_job runs): dbt cannot reuse dbt_project/target/partial_parse.msgpack because
                it was written by ``dbt parse`` with NBA_ASSETS_WAREHOUSE=':memory:' (profile differs) and
                because the vars differ per run, so both calls parse the project from scratch
* context_only  only the context build (the staging views exist already and do not change per date)
* context_only_partial_parse  the context build seeded with a partial_parse.msgpack written by an
                earlier call with the same profile and vars (what a stable profile path plus a window that
                is not passed as ``--vars`` would allow every run)
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from _common import (
    BENCH_DIR,
    SLATE_DATE,
    ChildTimer,
    child_main,
    child_report,
    log,
    machine,
    parse_date,
    prepare_slate_base,
    print_table,
    run_child,
    save_results,
    stage_copy,
)
from _direct import CONTEXT_HISTORY_DAYS, dbt_build

SEED = BENCH_DIR / "dbt_variants_partial_parse"


def _vars(day: str) -> list[str]:
    return ["--vars", json.dumps({"min_date": day, "max_date": day, "history_days": CONTEXT_HISTORY_DAYS})]


def variant(args: list[str]) -> None:
    name, data_dir, day = args
    warehouse = Path(data_dir) / "warehouse.duckdb"
    with tempfile.TemporaryDirectory(prefix="dbt_variant_") as tmp, ChildTimer() as t:
        if name == "today":
            dbt_build(
                warehouse,
                ["--indirect-selection", "cautious", "--select", "path:models/staging"],
                Path(tmp) / "s",
            )
            dbt_build(warehouse, [*_vars(day), "--select", "path:models/context"], Path(tmp) / "c")
        elif name == "context_only":
            dbt_build(warehouse, [*_vars(day), "--select", "path:models/context"], Path(tmp) / "c")
        else:
            target = Path(tmp) / "c"
            target.mkdir()
            shutil.copy(SEED / "partial_parse.msgpack", target / "partial_parse.msgpack")
            dbt_build(warehouse, [*_vars(day), "--select", "path:models/context"], target)
    child_report(run_wall_s=t.wall, run_cpu_s=t.cpu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--date", type=parse_date, default=SLATE_DATE)
    args = ap.parse_args()
    day = args.date.isoformat()
    base = prepare_slate_base(args.date - timedelta(days=1))
    work = stage_copy(base, BENCH_DIR / "dbt_variants")
    log(f"machine: {machine()}; {work}")
    log("-> raw for the date (direct, not timed here) ...")
    run_child("raw", Path(__file__), ["raw_direct", str(work), day, day])
    # the partial-parse seed: one call with this profile and these vars, keeping its target dir
    if SEED.exists():
        shutil.rmtree(SEED)
    dbt_build(work / "warehouse.duckdb", [*_vars(day), "--select", "path:models/context"], SEED)
    stages = []
    for name in ("today", "context_only", "context_only_partial_parse"):
        log(f"-> {name} ...")
        stages.append(run_child(name, Path(__file__), ["variant", name, str(work), day]))
    print_table(f"dbt calls of the context layer for {day} (each variant in a child process)", stages)
    save_results("dbt_variants", stages, {"date": day})


if __name__ == "__main__":
    from _direct import child_stages

    if not child_main({"variant": variant, **child_stages()}):
        main()
    sys.exit(0)
