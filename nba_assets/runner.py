"""Runs jobs of the code location in-process against a persistent Dagster instance.

Used by ``nba-assets main``: the same instance (``$DAGSTER_HOME``, default ``<data dir>/dagster_home``)
is what ``dagster dev`` shows afterwards, so every run, materialization and check is visible in the UI.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb

from nba_assets.defs.build import build_definitions
from nba_assets.lib.env import Settings

INSTANCE_YAML = """\
# Written by nba-assets for the local environment.
concurrency:
  runs:
    max_concurrent_runs: 2
    tag_concurrency_limits:
      # Runs for the same partition never overlap.
      - key: dagster/partition
        value:
          applyLimitPerUniqueValue: true
        limit: 1
  pools:
    # Every DuckDB-touching step is in pool "duckdb": one writer at a time.
    default_limit: 1
telemetry:
  enabled: false
"""


def ensure_dagster_home(settings: Settings) -> Path:
    """``$DAGSTER_HOME`` if set, else ``<data dir>/dagster_home`` with the project's dagster.yaml."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.data_dir / "dagster_home")
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "dagster.yaml"
    if not cfg.exists():
        cfg.write_text(INSTANCE_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


@dataclass
class StepTiming:
    name: str
    seconds: float


def run_job_range(
    defs: dg.Definitions, job_name: str, start: date, end: date, instance: dg.DagsterInstance
) -> dg.ExecuteInProcessResult:
    job = defs.resolve_job_def(job_name)
    return job.execute_in_process(
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": start.isoformat(),
            "dagster/asset_partition_range_end": end.isoformat(),
        },
        raise_on_error=False,
    )


def _print(msg: str) -> None:
    print(msg, flush=True)


def summarize_raw(warehouse: Path, start: date, end: date) -> list[str]:
    lines = []
    params = [start, end]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        q = {
            "raw/schedule": "SELECT count(*), count(DISTINCT game_date), count(*) FILTER (WHERE status = 'final') FROM raw.schedule WHERE game_date BETWEEN ? AND ?",
            "raw/box_scores": "SELECT count(*), count(DISTINCT game_id), count(*) FILTER (WHERE played), sum(pts) FILTER (WHERE played) FROM raw.box_scores WHERE game_date BETWEEN ? AND ?",
            "raw/player_props": "SELECT count(*), count(DISTINCT game_id), count(DISTINCT bookmaker), count(DISTINCT player_name) FILTER (WHERE player_id IS NULL) FROM raw.player_props WHERE game_date BETWEEN ? AND ?",
            "raw/injury_report": "SELECT count(*) FROM raw.injury_report WHERE game_date BETWEEN ? AND ?",
        }
        s = con.execute(q["raw/schedule"], params).fetchone()
        lines.append(f"raw/schedule       {s[0]:>6,} games on {s[1]} dates, {s[2]:,} final")
        b = con.execute(q["raw/box_scores"], params).fetchone()
        lines.append(
            f"raw/box_scores     {b[0]:>6,} player rows in {b[1]:,} games, {b[2]:,} with minutes scoring {int(b[3] or 0):,} points"
        )
        p = con.execute(q["raw/player_props"], params).fetchone()
        lines.append(
            f"raw/player_props   {p[0]:>6,} lines for {p[1]:,} games from {p[2]} books; {p[3]} unresolved names"
        )
        i = con.execute(q["raw/injury_report"], params).fetchone()
        lines.append(f"raw/injury_report  {i[0]:>6,} rows (the archive has no injury reports)")
    return lines


def run_main(start: date, end: date, settings: Settings | None = None) -> int:
    """The main job on the configured environment: every layer for ``start..end`` as range runs."""
    settings = settings or Settings.from_env()
    home = ensure_dagster_home(settings)
    defs = build_definitions(settings)
    t0 = time.perf_counter()
    _print(f"nba_assets main: {settings.env} environment, data in {settings.data_dir}, DAGSTER_HOME={home}")
    with dg.DagsterInstance.get() as instance:
        for job_name in ("ingest_raw_job",):
            t = time.perf_counter()
            _print(f"-> {job_name} for {start} .. {end} (one run) ...")
            result = run_job_range(defs, job_name, start, end, instance)
            failed_checks = [e for e in result.get_asset_check_evaluations() if not e.passed]
            _print(
                f"   {'ok' if result.success else 'FAILED'} in {time.perf_counter() - t:.1f}s (run {result.run_id[:8]}); {len(failed_checks)} check(s) did not pass"
            )
            for e in failed_checks:
                _print(
                    f"   check {e.asset_key.to_user_string()}:{e.check_name} did not pass ({e.severity.value})"
                )
            if not result.success:
                return 1
    if settings.env == "local":
        for line in summarize_raw(settings.warehouse_path, start, end):
            _print("   " + line)
    _print(f"done in {time.perf_counter() - t0:.1f}s")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run_main(date(2025, 10, 21), date(2025, 11, 20)))
