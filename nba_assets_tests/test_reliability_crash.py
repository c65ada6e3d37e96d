"""Crash safety, idempotency and concurrency of the DuckDB warehouse.

* **Crash:** a child process materializing ``raw/box_scores`` is SIGKILLed inside the partition's
  delete + insert transaction (after the DELETE; after the INSERT, before COMMIT). The warehouse opens,
  the partitions keep their previous rows exactly, untouched partitions too, and the next run
  completes them.
* **Idempotency:** the four raw assets materialized twice over the same partitions leave exactly the
  rows of one run.
* **Concurrency:** two runs started at once on one DuckDB file. Without a shared Dagster instance the
  second *waits*: its connection is refused (``Could not set lock on file``) and dagster-duckdb retries
  with exponential backoff (10 retries, 0.1 s doubling, about 100 s in all) until the first commits,
  then replaces the partitions; past that budget it would fail cleanly, before its transaction starts.
  With the project's instance (``nba_assets.runner.INSTANCE_YAML``: pool ``duckdb`` limited to 1) the
  second run's step *queues* for the pool slot and never touches the file while the first writes.
  Two threads of one process share DuckDB's database instance instead of a file lock: the second
  writer's DELETE conflicts with the first's open transaction and its step fails cleanly (rolled back).
  In every case the partition holds exactly one run's rows.
"""

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from nba_assets.defs.raw.assets import raw_assets
from nba_assets.defs.resources import build_resources
from nba_assets.lib.env import Settings
from nba_assets.lib.storage import duckdb_io
from nba_assets.lib.storage.duckdb_io import NbaDuckDBIOManager
from nba_assets.runner import INSTANCE_YAML
from nba_assets_tests.conftest import REPO_ROOT
from nba_assets_tests.test_reliability_support import (
    add,
    archive_box_scores_asset,
    reliability_figures,  # noqa: F401 (session fixture: prints the suite's figures)
    run_box_scores,
    wait_for,
)

CHILD = [
    sys.executable,
    "-c",
    "from nba_assets_tests.test_reliability_support import child_main; child_main()",
]
START, END = "2025-11-04", "2025-11-05"  # the range the child runs write
UNTOUCHED = "2025-11-03"  # a partition only the setup run writes


def _spawn(
    db: Path,
    mode: str,
    marker: Path,
    label: str,
    hold: float = 600.0,
    home: Path | None = None,
    wait_for: Path | None = None,
):
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "NBA_RELIABILITY_WAIT_FOR")}
    if wait_for is not None:
        env["NBA_RELIABILITY_WAIT_FOR"] = str(wait_for)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")])
    if home is not None:
        env["DAGSTER_HOME"] = str(home)
    return subprocess.Popen(
        [*CHILD, str(db), mode, str(marker), label, START, END, str(hold)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen, timeout: float = 180.0) -> dict:
    out, err = proc.communicate(timeout=timeout)
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    assert proc.returncode == 0 and lines, f"child failed ({proc.returncode}):\n{err[-3000:]}"
    return json.loads(lines[-1])


def _rows(db: Path, read_only: bool = True) -> list[tuple]:
    with duckdb.connect(str(db), read_only=read_only) as con:
        return con.execute(
            "SELECT game_date::VARCHAR, game_id, player_id, pts, source FROM raw.box_scores ORDER BY ALL"
        ).fetchall()


def _by_date(rows: list[tuple]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rows:
        out[r[0]] = out.get(r[0], 0) + 1
    return out


def _count_duplicates(rows: list[tuple]) -> int:
    keys = [(r[1], r[2]) for r in rows]  # (game_id, player_id) is the box score's key
    return len(keys) - len(set(keys))


# ---------------------------------------------------------------- crash safety


def test_sigkill_inside_the_write_transaction_keeps_previous_rows(tmp_path: Path) -> None:
    kill_points = ("kill_after_delete", "kill_before_commit")
    dbs = {p: tmp_path / p / "warehouse.duckdb" for p in kill_points}
    first_db = next(iter(dbs.values()))
    for db in dbs.values():
        db.parent.mkdir()
    assert run_box_scores(str(first_db), "previous", UNTOUCHED, END)
    for db in dbs.values():
        if db != first_db:
            shutil.copyfile(first_db, db)
    before = _rows(next(iter(dbs.values())))
    counts = _by_date(before)
    assert set(counts) == {UNTOUCHED, START, END} and all(n > 50 for n in counts.values())
    children = {p: _spawn(dbs[p], p, tmp_path / p / "in_txn", "killed") for p in kill_points}
    try:
        for p, proc in children.items():
            marker = tmp_path / p / "in_txn"
            assert wait_for(lambda m=marker, pr=proc: m.exists() or pr.poll() is not None, 120), p
            assert proc.poll() is None, f"{p}: child exited early:\n{proc.stderr.read()[-3000:]}"
            # while the writer holds the file, another process can't even open it read-only
            with pytest.raises(duckdb.IOException, match="lock"):
                duckdb.connect(str(dbs[p]), read_only=True)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(30)
            assert proc.returncode == -signal.SIGKILL
            add("crash_kills")
    finally:
        for proc in children.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)
    for p, db in dbs.items():
        wal = db.with_name(db.name + ".wal")
        after = _rows(db, read_only=False)  # the next writer's open: replays/discards the WAL
        lost = len(set(before) - set(after))
        add("rows_lost", lost)
        assert after == before, f"{p}: partition changed by a killed run (lost {lost})"
        assert {r[4] for r in after} == {"previous"}
        # the next run completes the partitions
        assert run_box_scores(str(db), "next", START, END), p
        done = _rows(db)
        add("duplicates", _count_duplicates(done))
        assert _by_date(done) == counts and _count_duplicates(done) == 0
        assert {r[4] for r in done if r[0] == UNTOUCHED} == {"previous"}
        assert {r[4] for r in done if r[0] != UNTOUCHED} == {"next"}
        print(f"\n{p}: SIGKILL inside the transaction; WAL left: {wal.exists()}; {len(before)} rows intact")


# ---------------------------------------------------------------- idempotency


def test_materializing_the_raw_partitions_twice_leaves_one_runs_rows(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    res = build_resources(settings)
    job_defs = dg.Definitions(
        assets=raw_assets,
        jobs=[dg.define_asset_job("raw_job", selection=dg.AssetSelection.groups("raw"))],
        resources=res,
    )
    job = job_defs.resolve_job_def("raw_job")
    tags = {"dagster/asset_partition_range_start": START, "dagster/asset_partition_range_end": END}
    tables = ("schedule", "box_scores", "player_props", "injury_report")
    snapshots = []
    with dg.DagsterInstance.ephemeral() as instance:
        for _ in range(2):
            assert job.execute_in_process(instance=instance, tags=tags).success
            with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
                snapshots.append(
                    {t: con.execute(f"SELECT * FROM raw.{t} ORDER BY ALL").fetchall() for t in tables}
                )
    first, second = snapshots
    for t in tables:
        extra = len(second[t]) - len(first[t])
        add("duplicates", max(extra, 0))
        add("rows_lost", max(-extra, 0))
        assert second[t] == first[t], t
    assert len(first["box_scores"]) > 400 and len(first["player_props"]) > 1000
    print(
        "\nraw twice over "
        f"{START}..{END}: " + ", ".join(f"{t} {len(first[t])} rows" for t in tables) + ", identical"
    )


# ---------------------------------------------------------------- concurrency


def _assert_one_runs_rows(db: Path, labels: set[str], expected: dict[str, int]) -> str:
    rows = _rows(db)
    mine = [r for r in rows if r[0] != UNTOUCHED]
    holders = {r[4] for r in mine}
    dups = _count_duplicates(rows)
    add("duplicates", dups)
    add("rows_lost", max(0, sum(expected.values()) - len(mine)))
    assert len(holders) == 1 and holders <= labels, holders
    assert _by_date(mine) == expected and dups == 0
    return holders.pop()


def test_two_processes_on_one_duckdb_file_the_second_waits_for_the_lock(tmp_path: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    assert run_box_scores(str(db), "setup", START, END)
    expected = _by_date(_rows(db))
    # both start at once; A holds its transaction open 1.2 s after inserting, and B asks for the file
    # only once A is inside that transaction, so the two writes collide every time
    a = _spawn(db, "hold_in_transaction", tmp_path / "a", "A", hold=1.2)
    b = _spawn(db, "hold_in_transaction", tmp_path / "b", "B", hold=0.0, wait_for=tmp_path / "a")
    ra, rb = _finish(a), _finish(b)
    add("concurrent_runs", 2)
    assert ra["success"] and rb["success"], (ra, rb)
    first, second = ra, rb
    assert second["connect_asked"] < first["committed"], (first, second)  # they did collide
    # the second writer got the file only after the first committed (it waited, it did not interleave)
    assert second["connected"] >= first["committed"] - 0.05, (first, second)
    waited = second["connected"] - second["connect_asked"]
    winner = _assert_one_runs_rows(db, {"A", "B"}, expected)
    assert winner == second["label"]  # the later commit replaced the partitions whole
    print(
        f"\ntwo processes, no shared instance: {second['label']} waited {waited:.1f}s for the lock; rows = {winner}'s"
    )


def test_the_projects_instance_relaunches_a_crashed_run_once_and_not_a_failed_asset(tmp_path: Path) -> None:
    (tmp_path / "dagster.yaml").write_text(INSTANCE_YAML)
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert instance.run_retries_enabled
        assert instance.run_retries_max_retries == 1
        assert not instance.run_retries_retry_on_asset_or_op_failure


@pytest.mark.parametrize("where", ["local", "deploy"])
def test_a_dead_runs_duckdb_slot_is_freed_so_later_runs_start(tmp_path: Path, monkeypatch, where) -> None:
    # Seen from `dagster dev`: a run's dbt step process died, the run failed holding the duckdb slot
    # (limit 1), and its own relaunch and every later run stayed QUEUED: nothing ever freed the slot.
    from types import SimpleNamespace

    from dagster._core.test_utils import freeze_time
    from dagster._daemon.daemon import MonitoringDaemon
    from dagster._daemon.monitoring.concurrency import execute_concurrency_slots_iteration
    from dagster._time import get_current_datetime

    if where == "local":
        (tmp_path / "dagster.yaml").write_text(INSTANCE_YAML)
    else:  # production's file, its Postgres storage left out (the slot logic is the same)
        deploy = (REPO_ROOT / "deploy" / "dagster.yaml").read_text()
        (tmp_path / "dagster.yaml").write_text(deploy.split("storage:")[0])
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert MonitoringDaemon.daemon_type() in instance.get_required_daemon_types()
        storage = instance.event_log_storage
        storage.initialize_concurrency_limit_to_default("duckdb")
        run = instance.create_run_for_job(dg.GraphDefinition("dead").to_job(), run_id=None)
        assert storage.claim_concurrency_slot("duckdb", run.run_id, "context_dbt_models").is_claimed
        instance.report_run_failed(run)  # the step's process died: no step event freed the slot
        assert storage.get_concurrency_info("duckdb").active_slot_count == 1
        with freeze_time(get_current_datetime() + timedelta(minutes=5)):
            list(execute_concurrency_slots_iteration(SimpleNamespace(instance=instance), logging.getLogger()))
        assert storage.get_concurrency_info("duckdb").active_slot_count == 0


@pytest.mark.slow
def test_two_runs_on_the_projects_instance_queue_on_the_duckdb_pool(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(INSTANCE_YAML)
    with dg.DagsterInstance.from_config(str(home)) as instance:  # create its storage once, not racing
        assert instance.event_log_storage.supports_global_concurrency_limits
        # the pool's slot exists as after the instance's first run (on a brand-new instance the first
        # step creates it from default_limit; two runs racing for that creation were seen to overlap)
        instance.event_log_storage.initialize_concurrency_limit_to_default("duckdb")
        assert instance.event_log_storage.get_concurrency_info("duckdb").slot_count == 1
    db = tmp_path / "warehouse.duckdb"
    assert run_box_scores(str(db), "setup", START, END)
    expected = _by_date(_rows(db))
    a = _spawn(db, "hold_in_transaction", tmp_path / "a", "A", hold=3.0, home=home)
    b = _spawn(db, "hold_in_transaction", tmp_path / "b", "B", hold=0.0, home=home)
    ra, rb = _finish(a), _finish(b)
    add("concurrent_runs", 2)
    assert ra["success"] and rb["success"], (ra, rb)
    first, second = sorted((ra, rb), key=lambda r: r["step_started"])
    assert second["started"] < first["committed"], (first, second)  # both runs were live at once
    # the second step did not even start before the first committed: it queued on the pool
    assert second["step_started"] >= first["committed"], (first, second)
    assert second["connected"] - second["connect_asked"] < 1.0  # so it never met the lock
    winner = _assert_one_runs_rows(db, {"A", "B"}, expected)
    assert winner == second["label"]
    print(
        f"\ntwo runs on the project's instance: {second['label']} queued on pool 'duckdb'; rows = {winner}'s"
    )


def test_two_threads_in_one_process_conflict_cleanly(tmp_path: Path, monkeypatch) -> None:
    """Same process, same file: DuckDB shares one database instance, so there is no file lock; the
    second writer's DELETE meets the first's uncommitted one and fails (rolled back), or runs after it."""
    db = tmp_path / "warehouse.duckdb"
    assert run_box_scores(str(db), "setup", START, END)
    expected = _by_date(_rows(db))
    inside = threading.Event()
    original = duckdb_io.PolarsDuckDBTypeHandler.handle_output

    def slow_output(self, context, table_slice, obj, connection):
        meta = original(self, context, table_slice, obj, connection)
        if threading.current_thread().name == "A":
            inside.set()
            time.sleep(1.5)  # A holds its transaction open while B writes
        return meta

    monkeypatch.setattr(duckdb_io.PolarsDuckDBTypeHandler, "handle_output", slow_output)
    results: dict[str, bool] = {}

    def run(label: str) -> None:
        results[label] = dg.materialize(
            [archive_box_scores_asset(label)],
            resources={"io_manager": NbaDuckDBIOManager(database=str(db))},
            partition_key=START,
            raise_on_error=False,
        ).success

    ta = threading.Thread(target=run, args=("A",), name="A")
    ta.start()
    assert inside.wait(60)
    tb = threading.Thread(target=run, args=("B",), name="B")
    tb.start()
    ta.join(120)
    tb.join(120)
    add("concurrent_runs", 2)
    assert results["A"] is True
    rows = [r for r in _rows(db) if r[0] == START]
    holders = {r[4] for r in rows}
    assert len(holders) == 1 and len(rows) == expected[START] and _count_duplicates(rows) == 0
    outcome = "failed on the write conflict (rolled back)" if not results["B"] else "ran after A"
    assert holders == ({"A"} if not results["B"] else {"B"})
    print(f"\ntwo threads, one process: B {outcome}; partition holds {holders.pop()}'s rows")
