"""Summarize py-spy ``--format raw`` profiles (collapsed stacks) written by the benchmarks.

    NBA_BENCH_PYSPY=/tmp/nba_bench/profiles python bench/bench_season_backfill.py   # record
    python bench/pyspy_summary.py /tmp/nba_bench/profiles/bench_season_backfill.raw.txt [--top 25]

Prints the share of samples per process (the stage and e.g. its dbt subprocesses), of a few buckets that
answer "where does a stage's time go" (Dagster event-log writes, dbt, imports, DuckDB IO, the library's
work; inclusive, so buckets overlap, e.g. imports inside dbt), and of the hottest functions. py-spy samples
only non-idle threads by default, so shares are roughly shares of CPU time.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

BUCKETS = {
    "Dagster event log (store_event / SQLite)": re.compile(
        r"store_event|sqlite_event_log|event_log/sql|handle_new_event|_store_event"
    ),
    "  of which: asset materialization events": re.compile(r"ASSET_MATERIALIZATION|materialization", re.I),
    "dbt subprocesses (dbt build / dbt --version)": re.compile(r"process \d+:\"[^\"]*/bin/dbt "),
    "dagster_dbt in the run process (adapter, events)": re.compile(r"\(dagster_dbt/"),
    "imports (importlib)": re.compile(r"_find_and_load|<frozen importlib"),
    "DuckDB IO manager (handle_output / load_input)": re.compile(
        r"handle_output|load_input|load_table_slice"
    ),
    "nba_assets.lib (the work)": re.compile(r"nba_assets/lib/"),
    "CatBoost": re.compile(r"catboost", re.I),
}


# Wall-time phases of a stage's main thread (needs a profile recorded with --idle: NBA_BENCH_PYSPY_IDLE=1);
# the first matching rule wins.
PHASES = [
    (
        "start: imports + definitions (before the run)",
        lambda st: (
            "execute_in_process" not in st
            and "ChildTimer" not in st
            and "_direct.py" not in st
            and "stage_" not in st
        ),
    ),
    (
        "dagster-dbt: waiting for the dbt subprocess",
        lambda st: (
            "dagster_dbt/" in st
            and re.search(r"_stream_stdout|readline|Popen.wait|communicate|_wait|stream_raw_events", st)
            is not None
        ),
    ),
    ("dagster-dbt: other (adapter init, dbt --version, manifest)", lambda st: "dagster_dbt/" in st),
    ("Dagster event log writes", lambda st: re.search(r"handle_new_event|store_event", st) is not None),
    ("DuckDB IO manager", lambda st: re.search(r"handle_output|load_input|db_io_manager", st) is not None),
    (
        "the asset's work (nba_assets.lib, polars, catboost)",
        lambda st: re.search(r"nba_assets/lib/|polars/|catboost|_direct\.py|stage_", st) is not None,
    ),
    ("Dagster other (planning, resources, checks)", lambda st: "dagster/" in st),
    ("other", lambda st: True),
]


def wall_breakdown(stacks: list[tuple[list[str], int]]) -> list[tuple[str, int]]:
    main: Counter[str] = Counter()
    for frames, c in stacks:
        body = [f for f in frames if not f.startswith("process ")]
        procs = [f for f in frames if f.startswith("process ")]
        if len(procs) > 1 or not body or not body[0].startswith("<module>"):
            continue  # subprocesses (dbt) and non-main threads
        st = ";".join(body)
        for label, rule in PHASES:
            if rule(st):
                main[label] += c
                break
    return [(label, main[label]) for label, _ in PHASES if main[label]]


def load(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        stack, _, n = line.rpartition(" ")
        try:
            stacks.append((stack.split(";"), int(n)))
        except ValueError:
            continue
    return stacks


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("profiles", nargs="+", type=Path)
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument(
        "--wall", action="store_true", help="main-thread wall-time phases (profiles recorded with --idle)"
    )
    args = ap.parse_args()
    for path in args.profiles:
        stacks = load(path)
        total = sum(n for _, n in stacks) or 1
        print(f"\n{path} ({total:,} samples)")
        if args.wall:
            phases = wall_breakdown(stacks)
            n_main = sum(c for _, c in phases) or 1
            print(f"  main thread, wall time by phase ({n_main:,} samples, ~{n_main / 100:.0f} s at 100 Hz):")
            for label, c in phases:
                print(f"   {c / n_main:6.1%}  {c / 100:6.1f} s  {label}")
            continue
        procs: Counter[str] = Counter()
        for frames, c in stacks:
            names = [f for f in frames if f.startswith("process ")]
            procs[re.sub(r"^process \d+:", "", names[-1])[:100] if names else "?"] += c
        print("  by process:")
        for name, c in procs.most_common(5):
            print(f"   {c / total:6.1%}  {name}")
        print("  buckets (inclusive, overlapping):")
        for label, rx in BUCKETS.items():
            n = sum(c for frames, c in stacks if rx.search(";".join(frames)))
            print(f"  {label:<50} {n / total:6.1%}")
        incl: Counter[str] = Counter()
        for frames, c in stacks:
            for f in set(frames):
                incl[f] += c
        print(f"  hottest functions (inclusive), top {args.top}:")
        shown = 0
        for f, c in incl.most_common():
            if f.startswith("process ") or c / total > 0.97:
                continue  # roots: the process itself, <module>, main
            print(f"   {c / total:6.1%}  {f[:150]}")
            shown += 1
            if shown >= args.top:
                break


if __name__ == "__main__":
    main()
