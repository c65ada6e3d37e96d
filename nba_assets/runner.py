"""Runs jobs of the code location in-process against a persistent Dagster instance.

Used by ``nba-assets main``: the same instance (``$DAGSTER_HOME``, default ``<data dir>/dagster_home``)
is what ``dagster dev`` shows afterwards, so every run, materialization and check is visible in the UI.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb

from nba_assets.defs.build import build_definitions
from nba_assets.defs.partitions import CUTOFF_TAG, TRIGGER_TAG
from nba_assets.lib.env import Settings
from nba_assets.lib.exports import game_date_span
from nba_assets.lib.sources.archive import HISTORY_START

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
run_retries:
  # A run whose process died (killed, out of memory, a restart) is relaunched once by the daemon. A run
  # that failed in an asset is not: raw steps retry a source that is down themselves, and a failed
  # blocking check or a bad batch needs a look, not a repeat.
  enabled: true
  max_retries: 1
  retry_on_asset_or_op_failure: false
run_monitoring:
  # A step whose process died keeps its pool slot: without this the duckdb slot (limit 1) stayed
  # claimed by the dead run, and every later run, its own relaunch included, waited QUEUED for ever.
  # The daemon frees the slots of a run that ended a minute ago.
  enabled: true
  poll_interval_seconds: 30
  free_slots_after_run_end_seconds: 60
telemetry:
  enabled: false
"""
# Dagster's SQLite event log, its files where the default puts them (history/runs/ of the instance
# directory), writing the per-partition events of a range run in one transaction per database
# (nba_assets/lib/storage/event_log.py). The directory is read from $DAGSTER_HOME when the instance loads,
# not written into the file: a data dir copied or moved elsewhere keeps its events in its own home (an
# absolute path written here sent a copy's events to the original's history).
EVENT_LOG_YAML = """\
event_log_storage:
  module: nba_assets.lib.storage.event_log
  class: BatchingSqliteEventLogStorage
  config:
    base_dir:
      env: DAGSTER_HOME
"""
# The project's dagster.yaml, the same for every instance directory.
INSTANCE_FILE = INSTANCE_YAML + EVENT_LOG_YAML


WRITTEN_BY = INSTANCE_YAML.splitlines()[0]


def ensure_dagster_home(settings: Settings) -> Path:
    """``$DAGSTER_HOME`` if set, else ``<data dir>/dagster_home`` with the project's dagster.yaml. A
    dagster.yaml an earlier version wrote (its first line says so) is brought up to date, the old one
    kept as ``dagster.yaml.bak``; a file of the user's own is left alone."""
    # absolute: Dagster refuses a relative DAGSTER_HOME, and the event log's directory is read from it
    home = Path(os.environ.get("DAGSTER_HOME") or settings.data_dir / "dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "dagster.yaml"
    wanted = INSTANCE_FILE
    if not cfg.exists():
        cfg.write_text(wanted)
    else:
        current = cfg.read_text()
        if current != wanted and current.startswith(WRITTEN_BY):
            (home / "dagster.yaml.bak").write_text(current)
            cfg.write_text(wanted)
            _print(f"updated {cfg} to this version's instance settings (the old file: dagster.yaml.bak)")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def range_tags(start: date | None, end: date | None) -> dict[str, str]:
    """The tags that make one run cover the partitions ``start .. end`` (none without a range)."""
    if not (start and end):
        return {}
    return {
        "dagster/asset_partition_range_start": start.isoformat(),
        "dagster/asset_partition_range_end": end.isoformat(),
    }


def console_run_config(run_config: dict | None = None) -> dict:
    """``run_config`` with the console logger at INFO: Dagster's own events are DEBUG, so the console
    shows the assets' INFO lines and warnings only (every event is still in the instance, for the UI)."""
    return {**(run_config or {}), "loggers": {"console": {"config": {"log_level": "INFO"}}}}


def _print(msg: str) -> None:
    print(msg, flush=True)


def summarize_raw(warehouse: Path, start: date, end: date) -> list[str]:
    lines = []
    params = [start, end]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        q = {
            "raw/schedule": "SELECT count(*), count(DISTINCT game_date), count(*) FILTER (WHERE status = 'final') FROM raw.schedule WHERE game_date BETWEEN ? AND ?",
            "raw/box_scores": "SELECT count(*), count(DISTINCT game_id), count(*) FILTER (WHERE played), sum(pts) FILTER (WHERE played) FROM raw.box_scores WHERE game_date BETWEEN ? AND ?",
            "raw/player_props": "SELECT count(line), count(DISTINCT game_id) FILTER (WHERE line IS NOT NULL), count(DISTINCT bookmaker) FILTER (WHERE line IS NOT NULL), count(DISTINCT player_name) FILTER (WHERE player_id IS NULL) FROM raw.player_props WHERE game_date BETWEEN ? AND ?",
            "raw/injury_report": "SELECT count(*) FROM raw.injury_report WHERE game_date BETWEEN ? AND ?",
        }
        s = con.execute(q["raw/schedule"], params).fetchall()[0]
        lines.append(f"raw/schedule       {s[0]:>6,} games on {s[1]} dates, {s[2]:,} final")
        b = con.execute(q["raw/box_scores"], params).fetchall()[0]
        lines.append(
            f"raw/box_scores     {b[0]:>6,} player rows in {b[1]:,} games, {b[2]:,} with minutes scoring {int(b[3] or 0):,} points"
        )
        p = con.execute(q["raw/player_props"], params).fetchall()[0]
        lines.append(
            f"raw/player_props   {p[0]:>6,} lines for {p[1]:,} games from {p[2]} books; {p[3]} unresolved names"
        )
        i = con.execute(q["raw/injury_report"], params).fetchall()[0]
        lines.append(f"raw/injury_report  {i[0]:>6,} rows (the archive has no injury reports)")
    return lines


def run_tags(
    trigger: str, start: date | None, end: date | None, run_config: dict | None = None
) -> dict[str, str]:
    """The tags of a run launched by the command ``trigger`` (``nba-assets main``): its range, the
    trigger, and the training cutoff of a retrain (as ``weekly_retrain_job_schedule`` tags its runs)."""
    tags = {**range_tags(start, end), TRIGGER_TAG: trigger}
    cutoff = ((run_config or {}).get("ops", {}).get("models__points_model", {}).get("config", {})).get(
        "cutoff"
    )
    if cutoff:
        tags[CUTOFF_TAG] = str(cutoff)
    return tags


def _run(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    job_name: str,
    start: date | None,
    end: date | None,
    run_config: dict | None = None,
    trigger: str = "nba-assets main",
) -> bool:
    t = time.perf_counter()
    span = f" for {start} .. {end} (one run)" if start else ""
    _print(f"-> {job_name}{span} ...")
    job = defs.resolve_job_def(job_name)
    result = job.execute_in_process(
        instance=instance,
        tags=run_tags(trigger, start, end, run_config),
        run_config=console_run_config(run_config),
        raise_on_error=False,
    )
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    _print(
        f"   {'ok' if result.success else 'FAILED'} in {time.perf_counter() - t:.1f}s (run {result.run_id[:8]}); {len(failed)} check(s) did not pass"
    )
    for e in failed[:10]:
        _print(f"   check {e.asset_key.to_user_string()}:{e.check_name} did not pass ({e.severity.value})")
    return result.success


def run_main(
    start: date, end: date, settings: Settings | None = None, history_start: date = HISTORY_START
) -> int:
    """The main job on the configured environment: every layer as partition-range runs.

    Raw, context and features cover ``history_start .. end`` (the model learns from the seasons before
    ``start``); the model is trained with cutoff ``start``; predictions and grading cover ``start .. end``."""
    settings = settings or Settings.from_env()
    home = ensure_dagster_home(settings)
    # A single-run backfill of N partitions logs one "planned" event per asset instead of N (the
    # SQLite event log writes events one by one; ~1,100 partitions x 10 assets took minutes).
    # Trade-off documented by Dagster: partitions of a failed run are not marked failed.
    os.environ.setdefault("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "1")
    defs = build_definitions(settings)
    t0 = time.perf_counter()
    _print(f"nba_assets main: {settings.env} environment, data in {settings.data_dir}, DAGSTER_HOME={home}")
    steps: list[tuple[str, date | None, date | None, dict | None]] = [
        ("ingest_raw_job", history_start, end, None),
        ("build_context_job", history_start, end, None),
        ("build_features_job", history_start, end, None),
        (
            "weekly_retrain_job",
            None,
            None,
            {"ops": {"models__points_model": {"config": {"cutoff": start.isoformat()}}}},
        ),
        ("predict_job", start, end, None),
        ("grade_job", start, end, None),
        ("report_job", end, end, None),  # picks CSV/JSON + HTML report of the last date
    ]
    with dg.DagsterInstance.get() as instance:
        for job_name, lo, hi, cfg in steps:
            if not _run(defs, instance, job_name, lo, hi, cfg):
                _print(f"stopped: {job_name} failed (see the run in the Dagster UI)")
                return 1
    if settings.env == "local":
        for line in summarize_raw(settings.warehouse_path, start, end):
            _print("   " + line)
        report = summarize_picks(settings.warehouse_path, start, end)
        _print(report)
    _print(f"done in {time.perf_counter() - t0:.1f}s")
    return 0


def features_cover(warehouse: Path, first: date, last: date) -> bool:
    """Whether the warehouse holds feature rows for both ends of ``first .. last``."""
    lo, hi = game_date_span(warehouse, "features.player_features")
    return lo is not None and hi is not None and lo <= first and hi >= last


def ensure_history(settings: Settings, end: date, history_start: date = HISTORY_START) -> bool:
    """Raw, context and features for ``history_start .. end`` through the Dagster jobs (the same runs
    ``main`` launches), unless the warehouse already holds them. True when they are there."""
    if settings.env == "local" and features_cover(
        settings.warehouse_path, history_start + timedelta(days=7), end
    ):
        _print(f"warehouse {settings.warehouse_path} already holds features through {end}")
        return True
    ensure_dagster_home(settings)
    os.environ.setdefault("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "1")
    defs = build_definitions(settings)
    with dg.DagsterInstance.get() as instance:
        for job_name in ("ingest_raw_job", "build_context_job", "build_features_job"):
            if not _run(defs, instance, job_name, history_start, end, trigger="nba-assets backtest"):
                _print(f"stopped: {job_name} failed (see the run in the Dagster UI)")
                return False
    return True


def summarize_picks(warehouse: Path, start: date, end: date) -> str:
    """The picks of the last date and the graded record by system over the window (text)."""
    from nba_assets.lib.reports import picks_table, record_table

    with duckdb.connect(str(warehouse), read_only=True) as con:
        last = con.execute(
            "SELECT max(game_date) FROM predictions.player_points_predictions WHERE game_date BETWEEN ? AND ?",
            [start, end],
        ).fetchall()[0][0]
        preds = con.sql(
            "SELECT * FROM predictions.player_points_predictions WHERE game_date = ?", params=[last]
        ).pl()
        grades = con.sql(
            "SELECT * FROM grading.prediction_grades WHERE game_date BETWEEN ? AND ?", params=[start, end]
        ).pl()
    picks = (
        f"Picks for {last} (catboost, main lines, actionable):\n{picks_table(preds)}"
        if last is not None
        else f"Picks: no predictions between {start} and {end} (no lines on those dates)"
    )
    return f"\n{picks}\n\nGraded record {start} .. {end} (bets on main lines, offered prices):\n{record_table(grades)}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run_main(date(2025, 10, 21), date(2025, 11, 20)))
