"""Shared helpers of the benchmark scripts: stage runner (one child process per stage), preparation of
the starting warehouses, the Dagster and direct stage bodies, and the figures table.

Every stage runs in its own child process (``python <script> --child <stage> ...``); the parent reads the
child's rusage with ``os.wait4``: wall time, CPU time (user + system, including grandchildren such as the
dbt subprocess) and peak RSS of the largest single process of the stage (the stage process or one of its
waited-for children; Linux reports the max, not a sum). The child writes what it knows (in-run wall time,
Dagster events, row counts) to a JSON file named by ``NBA_BENCH_RESULT``.

Not a test: figures for ``bench/README.md``.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BENCH_DIR = Path(os.environ.get("NBA_BENCH_DIR", "/tmp/nba_bench"))
RESULTS_DIR = BENCH_DIR / "results"
MAINRUN = Path(os.environ.get("NBA_BENCH_MAINRUN", "/tmp/mainrun"))

HISTORY_START = date(2022, 10, 18)
SLATE_DATE = date(2025, 11, 5)
SEASON_START = date(2024, 10, 22)
SEASON_END = date(2025, 4, 13)
SEASON_CUTOFF = date(2025, 4, 14)

# Tables partitioned by game_date, per layer (the slate base drops their rows after its last date).
PARTITIONED = {
    "raw": ["schedule", "box_scores", "injury_report", "player_props"],
    "context": ["player_game_context", "player_game_summary", "team_game_summary"],
    "features": ["player_features"],
    "predictions": ["player_points_predictions"],
    "grading": ["prediction_grades", "published_grades", "system_performance"],
}
STAGE_TABLES = {
    "raw": [f"raw.{t}" for t in PARTITIONED["raw"]],
    "context": [f"context.{t}" for t in PARTITIONED["context"]],
    "features": ["features.player_features"],
    "predictions": ["predictions.player_points_predictions"],
}


def log(msg: str) -> None:
    print(msg, flush=True)


# ---------------------------------------------------------------- parent side: one child per stage


@dataclass
class StageResult:
    name: str
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    rows: int = 0
    run_wall_s: float | None = None  # the timed block inside the child (no interpreter start, imports)
    run_cpu_s: float | None = None
    events: int | None = None  # Dagster event log entries of the run
    ok: bool = True
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.wall_s if self.wall_s else 0.0


def run_child(
    name: str, script: Path, args: list[str], env: dict[str, str] | None = None, log_dir: Path | None = None
) -> StageResult:
    """``python script --child <args>`` in a child process; wall/CPU/peak RSS from ``os.wait4``."""
    log_dir = log_dir or BENCH_DIR / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    fd, result_path = tempfile.mkstemp(prefix=f"{name.replace('/', '_')}_", suffix=".json", dir=log_dir)
    os.close(fd)
    child_env = {**os.environ, **(env or {}), "NBA_BENCH_RESULT": result_path, "PYTHONWARNINGS": "ignore"}
    out_path = log_dir / f"{Path(script).stem}.{name.replace('/', '_')}.log"
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    cmd = [sys.executable, str(script), "--child", *args]
    profile_dir = os.environ.get("NBA_BENCH_PYSPY")
    if profile_dir:
        # py-spy samples the stage (and its subprocesses); its own overhead lands in the figures
        fmt = os.environ.get("NBA_BENCH_PYSPY_FORMAT", "raw")
        ext = {"raw": "txt", "flamegraph": "svg", "speedscope": "json"}[fmt]
        Path(profile_dir).mkdir(parents=True, exist_ok=True)
        prof = Path(profile_dir) / f"{Path(script).stem}.{name}.{ext}"
        pyspy = str(Path(sys.executable).with_name("py-spy"))
        idle = ["--idle"] if os.environ.get("NBA_BENCH_PYSPY_IDLE") else []  # wall time, not CPU
        cmd = [pyspy, "record", "--subprocesses", *idle, "--format", fmt, "-o", str(prof), "--", *cmd]
    with open(out_path, "w") as out:
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=child_env,
            cwd=str(REPO),
        )
        _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    load_after = os.getloadavg()
    data: dict[str, Any] = {}
    try:
        data = json.loads(Path(result_path).read_text() or "{}")
    except (OSError, json.JSONDecodeError):
        data = {}
    Path(result_path).unlink(missing_ok=True)
    ok = proc.returncode == 0 and bool(data.get("ok", True))
    if proc.returncode != 0:
        tail = out_path.read_text().splitlines()[-15:]
        log(f"   !! stage {name} exited {proc.returncode}; log {out_path}:\n      " + "\n      ".join(tail))
    return StageResult(
        name=name,
        wall_s=wall,
        cpu_s=ru.ru_utime + ru.ru_stime,
        peak_rss_mb=ru.ru_maxrss / 1024,
        rows=int(data.pop("rows", 0) or 0),
        run_wall_s=data.pop("run_wall_s", None),
        run_cpu_s=data.pop("run_cpu_s", None),
        events=data.pop("events", None),
        ok=ok and data.pop("ok", True),
        load_before=tuple(round(x, 2) for x in load_before),  # type: ignore[arg-type]
        load_after=tuple(round(x, 2) for x in load_after),  # type: ignore[arg-type]
        extra=data,
    )


def print_table(title: str, stages: list[StageResult], total_label: str = "total") -> None:
    log(f"\n{title}")
    head = (
        f"  {'stage':<22} {'wall s':>7} {'cpu s':>7} {'peak RSS MB':>11} {'rows':>10} {'rows/s':>10}"
        f" {'in-run s':>8} {'rows/s in-run':>13} {'events':>7}  load 1m before/after"
    )
    log(head)
    for s in stages:
        run = f"{s.run_wall_s:8.1f}" if s.run_wall_s is not None else f"{'-':>8}"
        rps_run = f"{s.rows / s.run_wall_s:13,.0f}" if s.run_wall_s else f"{'-':>13}"
        ev = f"{s.events:7,}" if s.events is not None else f"{'-':>7}"
        flag = "" if s.ok else "  FAILED"
        log(
            f"  {s.name:<22} {s.wall_s:7.1f} {s.cpu_s:7.1f} {s.peak_rss_mb:11,.0f} {s.rows:10,} {s.rows_per_s:10,.0f}"
            f" {run} {rps_run} {ev}  {s.load_before[0]:.2f} / {s.load_after[0]:.2f}{flag}"
        )
    if len(stages) > 1:
        wall = sum(s.wall_s for s in stages)
        cpu = sum(s.cpu_s for s in stages)
        peak = max(s.peak_rss_mb for s in stages)
        run = sum(s.run_wall_s or 0.0 for s in stages)
        log(f"  {total_label:<22} {wall:7.1f} {cpu:7.1f} {peak:11,.0f} {'':>10} {'':>10} {run:8.1f}")


def machine() -> dict[str, Any]:
    mem = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        k, v = line.split(":", 1)
        if k in ("MemTotal", "MemAvailable"):
            mem[k] = f"{int(v.split()[0]) / 1024 / 1024:.1f} GB"
    return {"nproc": os.cpu_count(), **mem, "python": platform.python_version()}


def save_results(name: str, stages: list[StageResult], meta: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    payload = {
        "name": name,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "meta": meta,
        "stages": [asdict(s) | {"rows_per_s": s.rows_per_s} for s in stages],
        "total_wall_s": sum(s.wall_s for s in stages),
        "total_cpu_s": sum(s.cpu_s for s in stages),
        "total_run_wall_s": sum(s.run_wall_s or 0.0 for s in stages),
        "peak_rss_mb": max((s.peak_rss_mb for s in stages), default=0.0),
    }
    path.write_text(json.dumps(payload, indent=1, default=str))
    return path


def load_results(name: str) -> dict[str, Any] | None:
    path = RESULTS_DIR / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


# ---------------------------------------------------------------- child side


class ChildTimer:
    """The timed block of a child: wall and CPU (self + waited-for children, e.g. dbt)."""

    def __enter__(self) -> ChildTimer:
        import resource

        self._r = resource
        self.t0 = time.perf_counter()
        self.c0 = self._cpu()
        return self

    def _cpu(self) -> float:
        s = self._r.getrusage(self._r.RUSAGE_SELF)
        c = self._r.getrusage(self._r.RUSAGE_CHILDREN)
        return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.t0
        self.cpu = self._cpu() - self.c0


def child_report(**fields: Any) -> None:
    path = os.environ.get("NBA_BENCH_RESULT")
    if path:
        Path(path).write_text(json.dumps(fields, default=str))
    else:
        print(json.dumps(fields, default=str))


def count_rows(warehouse: Path, tables: list[str], start: date, end: date) -> int:
    import duckdb

    total = 0
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for t in tables:
            schema, name = t.split(".")
            exists = con.sql(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                params=[schema, name],
            ).fetchall()[0][0]
            if exists:
                total += con.sql(
                    f"SELECT count(*) FROM {t} WHERE game_date BETWEEN ? AND ?",  # noqa: S608 (fixed names)
                    params=[start, end],
                ).fetchall()[0][0]
    return total


def dagster_stage(
    data_dir: Path, job_name: str, start: date | None, end: date | None, run_config: dict | None = None
) -> None:
    """Child body: one job of nba_assets/defs/jobs.py in-process against the instance in $DAGSTER_HOME,
    as nba_assets.runner does (range tags, planned-events subset, console at INFO)."""
    os.environ["DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"] = "1"
    import warnings

    warnings.filterwarnings("ignore")
    import dagster as dg

    from nba_assets.defs.build import build_definitions
    from nba_assets.lib.env import Settings
    from nba_assets.runner import console_run_config, range_tags

    t_defs = time.perf_counter()
    defs = build_definitions(Settings(data_dir=data_dir))
    job = defs.resolve_job_def(job_name)
    defs_s = time.perf_counter() - t_defs
    with dg.DagsterInstance.get() as instance:
        with ChildTimer() as t:
            result = job.execute_in_process(
                instance=instance,
                tags=range_tags(start, end),
                run_config=console_run_config(run_config),
                raise_on_error=False,
            )
        logs = instance.all_logs(result.run_id)
        by_type: dict[str, int] = {}
        for e in logs:
            key = e.dagster_event.event_type_value if e.dagster_event else "log_message"
            by_type[key] = by_type.get(key, 0) + 1
        failed = [
            f"{e.asset_key.to_user_string()}:{e.check_name}"
            for e in result.get_asset_check_evaluations()
            if not e.passed
        ]
    child_report(
        ok=result.success,
        run_wall_s=t.wall,
        run_cpu_s=t.cpu,
        events=len(logs),
        events_by_type=dict(sorted(by_type.items(), key=lambda kv: -kv[1])[:8]),
        definitions_s=round(defs_s, 2),
        checks_not_passed=failed,
        run_id=result.run_id,
    )


def dagster_child(args: list[str]) -> None:
    """``--child dagster <data_dir> <job> <start|-> <end|-> <run_config json|->``."""
    data_dir, job, start, end, cfg = args
    dagster_stage(
        Path(data_dir),
        job,
        None if start == "-" else parse_date(start),
        None if end == "-" else parse_date(end),
        None if cfg == "-" else json.loads(cfg),
    )


def dagster_args(
    data_dir: Path, job: str, start: date | None, end: date | None, run_config: dict | None = None
) -> list[str]:
    return [
        "dagster",
        str(data_dir),
        job,
        start.isoformat() if start else "-",
        end.isoformat() if end else "-",
        json.dumps(run_config) if run_config else "-",
    ]


def write_instance_home(home: Path) -> Path:
    """A fresh Dagster home with the project's dagster.yaml (``nba_assets.runner.instance_yaml``: SQLite
    storage with the batching event log, as ``nba-assets main`` writes it). Read from the source so the
    parent process does not import the code location (imports are the children's cost, measured there)."""
    import ast

    tree = ast.parse((REPO / "nba_assets" / "runner.py").read_text())
    literals = {
        t.id: ast.literal_eval(n.value)
        for n in tree.body
        if isinstance(n, ast.Assign)
        for t in n.targets
        if getattr(t, "id", "") in ("INSTANCE_YAML", "EVENT_LOG_YAML")
    }
    fresh_dir(home)
    # as nba_assets.runner.instance_yaml writes it (the event log section, when the runner has one)
    yaml = literals["INSTANCE_YAML"] + literals.get("EVENT_LOG_YAML", "").format(
        home=json.dumps(str(home.resolve()))
    )
    (home / "dagster.yaml").write_text(yaml)
    return home


# ---------------------------------------------------------------- starting points


def fresh_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def copy_mainrun(dest: Path) -> Path:
    """A writable copy of the main-run warehouse and object store (``/tmp/mainrun`` stays untouched)."""
    if not (MAINRUN / "warehouse.duckdb").exists():
        raise SystemExit(
            f"{MAINRUN}/warehouse.duckdb not found: run the main job once "
            f"(NBA_ASSETS_DATA_DIR={MAINRUN} .venv/bin/nba-assets main) or set NBA_BENCH_MAINRUN"
        )
    fresh_dir(dest)
    shutil.copy2(MAINRUN / "warehouse.duckdb", dest / "warehouse.duckdb")
    if (MAINRUN / "objects").exists():
        shutil.copytree(MAINRUN / "objects", dest / "objects")
    return dest


def prepare_slate_base(last_history_date: date = SLATE_DATE - timedelta(days=1)) -> Path:
    """``$NBA_BENCH_DIR/slate_base``: the main-run warehouse cut back to history through
    ``last_history_date`` (every game_date-partitioned table loses later rows) with its promoted
    champion (pm-2025-10-21, cutoff 2025-10-21, trained by the main run). Made once, then reused."""
    import duckdb

    base = BENCH_DIR / "slate_base"
    marker = base / f"prepared_through_{last_history_date}"
    if marker.exists():
        return base
    copy_mainrun(base)
    with duckdb.connect(str(base / "warehouse.duckdb")) as con:
        for schema, tables in PARTITIONED.items():
            for t in tables:
                con.execute(f"DELETE FROM {schema}.{t} WHERE game_date > ?", [last_history_date])  # noqa: S608 (fixed names)
        con.execute("CHECKPOINT")
    marker.write_text("copied from /tmp/mainrun; rows after this date deleted\n")
    return base


def stage_copy(base: Path, dest: Path) -> Path:
    """A working copy of a prepared starting point (each benchmark run starts from the same state)."""
    fresh_dir(dest)
    shutil.copy2(base / "warehouse.duckdb", dest / "warehouse.duckdb")
    if (base / "objects").exists():
        shutil.copytree(base / "objects", dest / "objects")
    return dest


def warm_up(work: Path, day: date) -> StageResult:
    """Yesterday's context run in this data dir, untimed (``--warm``): what a data dir that ran the
    pipeline the day before holds, i.e. staging views built from this dbt project and dbt's
    partial-parse state for this warehouse path. It rebuilds ``day``'s context rows (same content)."""
    d = day.isoformat()
    log(f"-> warm-up: the context of {d} in {work} (not counted) ...")
    r = run_child("warmup", REPO / "bench" / "bench_direct.py", ["context_direct", str(work), d, d])
    log(f"   {r.wall_s:.1f}s, ok={r.ok}")
    return r


def parse_date(value: str) -> date:
    return date.fromisoformat(value)


def child_main(stages: dict[str, Callable[[list[str]], None]]) -> bool:
    """When argv is ``--child <stage> ...``: run that stage body and return True."""
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        stages[sys.argv[2]](sys.argv[3:])
        return True
    return False
