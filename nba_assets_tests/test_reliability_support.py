"""Shared helpers of the reliability suite (issue 6); this module holds no tests.

* :data:`FIGURES` — the suite's figures (faults tried, mutations tried, rows lost, duplicates, secrets
  leaked ...). Tests add what they measured with :func:`add`; the session fixture
  :func:`reliability_figures` (imported by every ``test_reliability_*`` module) prints one summary line
  in pytest's terminal summary (shown with or without ``-s``) and writes the figures as JSON to
  ``<pytest basetemp>/reliability_summary.json`` (or ``$NBA_RELIABILITY_SUMMARY``). Under pytest-xdist
  (``scripts/dev.sh test``) each worker hands its figures to the controller, which sums them
  (:func:`merge_worker_figures`, called from conftest.py) and prints and writes the run's summary; a
  worker that crashed sent nothing, so the summary then says it is PARTIAL (``workers_crashed``).
* :class:`FaultServer` — a loopback-only HTTP server (``http.server`` in a thread) that answers from a
  script of faults: statuses, resets, stalls, short reads, trickled bodies, redirects.
* :class:`LoopbackAdapter` — a requests transport that sends every request of a session to that server
  while the clients keep their real URLs (so error messages still name the real host and path).
* :func:`fast_http` — an ``HttpClient`` with short timeouts and a recording, non-sleeping ``sleep``.
"""

import json
import os
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from requests.adapters import HTTPAdapter

from nba_assets.lib.sources.live.http import HttpClient, RetryPolicy

# ---------------------------------------------------------------- figures

FIGURES: dict[str, int] = {
    "faults_tried": 0,
    "fault_requests_served": 0,
    "mutations_tried": 0,
    "mutations_rejected_clearly": 0,
    "mutations_accepted": 0,
    "rows_lost": 0,
    "rows_replaced_by_lagging_feed": 0,
    "duplicates": 0,
    "secrets_leaked": 0,
    "secret_surfaces_scanned": 0,
    "crash_kills": 0,
    "concurrent_runs": 0,
    "sql_sites_checked": 0,
    # pytest-xdist workers that crashed: their figures never reached the controller (merge_worker_figures)
    "workers_crashed": 0,
}


def add(name: str, n: int = 1) -> None:
    FIGURES[name] = FIGURES.get(name, 0) + n


def summary_line() -> str:
    f = FIGURES
    return (
        f"reliability: faults tried {f['faults_tried']}, mutations tried {f['mutations_tried']}, "
        f"rows lost {f['rows_lost']}, duplicates {f['duplicates']}, secrets leaked {f['secrets_leaked']} "
        f"(crash kills {f['crash_kills']}, concurrent runs {f['concurrent_runs']}, "
        f"SQL sites checked {f['sql_sites_checked']}, secret surfaces scanned {f['secret_surfaces_scanned']})"
        + (
            f"; PARTIAL: {f['workers_crashed']} pytest-xdist worker(s) crashed, their figures are missing"
            if f.get("workers_crashed")
            else ""
        )
    )


REPORTER_NAME = "nba_reliability_figures"
WORKER_OUTPUT_KEY = "nba_reliability_figures"


class _FiguresReporter:
    """A pytest plugin registered at run time: its terminal-summary hook runs at session end."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps({**FIGURES, "summary": summary_line()}, indent=2))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        self.write()
        terminalreporter.write_sep("-", "reliability figures")
        terminalreporter.write_line(summary_line())
        terminalreporter.write_line(f"figures written to {self.path}")


def _reporter(config: pytest.Config) -> _FiguresReporter:
    """The session's reporter, registered on first use."""
    manager = config.pluginmanager
    reporter = manager.get_plugin(REPORTER_NAME)
    if reporter is None:
        default = config._tmp_path_factory.getbasetemp() / "reliability_summary.json"  # type: ignore[attr-defined]
        reporter = _FiguresReporter(Path(os.environ.get("NBA_RELIABILITY_SUMMARY") or default))
        manager.register(reporter, REPORTER_NAME)
    return reporter


def merge_worker_figures(config: pytest.Config, worker_output: dict[str, Any] | None) -> None:
    """Under pytest-xdist (the controller's ``pytest_testnodedown``, in conftest.py): add the figures a
    worker measured to this process's, so the summary and the JSON cover the whole run, not one worker.
    ``worker_output`` None: the worker crashed and sent nothing; whatever it measured is lost, so the
    summary is printed and says it is partial (it may have run no reliability test: that cannot be told)."""
    if worker_output is None:
        add("workers_crashed")
        _reporter(config)
        return
    figures = worker_output.get(WORKER_OUTPUT_KEY)
    if figures is None:
        return  # this worker ran no reliability test
    for name, n in figures.items():
        add(name, n)
    _reporter(config)


@pytest.fixture(scope="session", autouse=True)
def reliability_figures(request: pytest.FixtureRequest):
    config = request.config
    worker_output = getattr(config, "workeroutput", None)  # set in a pytest-xdist worker only
    if worker_output is not None:
        # a worker sees only its share of the tests: it hands its figures to the controller, which sums
        # them (merge_worker_figures) and prints and writes the summary
        yield FIGURES
        worker_output[WORKER_OUTPUT_KEY] = dict(FIGURES)
        return
    reporter = _reporter(config)
    yield FIGURES
    reporter.write()


# ---------------------------------------------------------------- a faulty server on loopback

Action = Callable[["_Handler"], None]


def reply(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Action:
    def act(h: "_Handler") -> None:
        h.send_response(status)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.write(body)

    act.__name__ = f"reply_{status}"
    return act


def reset() -> Action:
    """Accept, read the request, then abort the TCP connection with an RST."""

    def act(h: "_Handler") -> None:
        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        h.connection.close()
        h.aborted = True

    return act


def stall(seconds: float) -> Action:
    """Say nothing for ``seconds`` (longer than the client's read timeout), then hang up."""

    def act(h: "_Handler") -> None:
        h.server.stop.wait(seconds)  # type: ignore[attr-defined]
        h.aborted = True

    return act


def short_read(body: bytes, declared: int) -> Action:
    """Promise ``declared`` bytes, send ``body`` (fewer), close: the body is cut in transit."""

    def act(h: "_Handler") -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(declared))
        h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.write(body)
        h.wfile.flush()
        h.aborted = True

    return act


def trickle(body: bytes, chunks: int, delay: float, stop_after: int | None = None) -> Action:
    """Send the body in ``chunks`` pieces ``delay`` seconds apart; with ``stop_after`` stall after that
    many pieces (a body that stops arriving)."""

    def act(h: "_Handler") -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.send_header("Connection", "close")
        h.end_headers()
        size = max(1, -(-len(body) // chunks))
        for i in range(chunks):
            if stop_after is not None and i >= stop_after:
                h.server.stop.wait(5.0)  # type: ignore[attr-defined]
                h.aborted = True
                return
            h.wfile.write(body[i * size : (i + 1) * size])
            h.wfile.flush()
            if h.server.stop.wait(delay):  # type: ignore[attr-defined]
                return

    return act


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    aborted = False

    def do_GET(self, body: bytes = b"") -> None:
        server: FaultServer = self.server.owner  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        server.record(parts.path, parts.query, dict(self.headers), body)
        action = server.next_action(parts.path)
        try:
            action(self)
        except OSError:
            self.aborted = True
        if self.aborted:
            self.close_connection = True

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.do_GET(self.rfile.read(length) if length else b"")

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # aborted connections are the point of this server


@dataclass
class Call:
    path: str
    query: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class FaultServer:
    """Loopback HTTP server answering each path from a script (the last action repeats)."""

    host: str = "127.0.0.1"
    scripts: dict[str, list[Action]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._httpd = _Server((self.host, 0), _Handler)
        self._httpd.owner = self  # type: ignore[attr-defined]
        self._httpd.stop = threading.Event()  # type: ignore[attr-defined]
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def script(self, path: str, *actions: Action) -> None:
        """Answer ``path`` (exact, or ``*`` for every other path) with ``actions`` in turn."""
        with self._lock:
            self.scripts[path] = list(actions)

    def next_action(self, path: str) -> Action:
        with self._lock:
            queue = self.scripts.get(path) or self.scripts.get("*") or [reply(404, b"no script")]
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def record(self, path: str, query: str, headers: dict[str, str], body: bytes = b"") -> None:
        with self._lock:
            self.calls.append(Call(path, query, headers, body))

    def count(self, path: str) -> int:
        return sum(1 for c in self.calls if c.path == path)

    def reset_calls(self) -> None:
        with self._lock:
            self.calls.clear()

    def close(self) -> None:
        self._httpd.stop.set()  # type: ignore[attr-defined]
        self._httpd.shutdown()
        self._httpd.server_close()


class LoopbackAdapter(HTTPAdapter):
    """Sends every request to ``127.0.0.1:port`` keeping path and query; nothing leaves the machine."""

    def __init__(self, port: int) -> None:
        super().__init__(max_retries=0)
        self.port = port

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        parts = urlsplit(request.url or "")
        request.headers["X-Loopback-For"] = parts.netloc  # the host the client meant to reach
        request.url = urlunsplit(("http", f"127.0.0.1:{self.port}", parts.path, parts.query, ""))
        return super().send(request, **kwargs)


def loopback_session(port: int) -> requests.Session:
    session = requests.Session()
    adapter = LoopbackAdapter(port)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class SleepRecorder:
    """``sleep`` that records the delay and returns at once (backoff and Retry-After cost no time)."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.sleeps.append(seconds)


MAX_ATTEMPTS = 3
READ_TIMEOUT = 0.25


def fast_http(
    session: requests.Session, sleep: SleepRecorder | None = None, read_timeout: float = READ_TIMEOUT
) -> HttpClient:
    return HttpClient(
        session=session,
        timeout=(1.0, read_timeout),
        min_interval=0.0,
        policy=RetryPolicy(max_attempts=MAX_ATTEMPTS, backoff_base=0.05, backoff_cap=0.2, jitter=0.0),
        sleep=sleep or SleepRecorder(),
        rng=lambda: 0.0,
    )


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


# ---------------------------------------------------------------- a warehouse writer for child processes
#
# The crash and concurrency tests run materializations in separate python processes (so one can be
# SIGKILLed, and two can race for the DuckDB file). The child imports only dagster, the archive and
# the warehouse IO manager (a few seconds), not the whole code location: its asset has the real key,
# partitions, partition column, pool and IO manager of ``raw/box_scores`` and stores the archive's real
# rows, with ``source`` set to a run label so the tests can tell whose rows a partition holds.

CHILD_MODES = ("normal", "kill_after_delete", "kill_before_commit", "hold_in_transaction")
STEP_TIMES: dict[str, float] = {}  # when the asset's step body started (set in the child)


def archive_box_scores_asset(label: str, start_after: str | None = None):
    import dagster as dg
    import polars as pl

    from nba_assets.defs.partitions import game_date_partitions, validate_partition_key
    from nba_assets.lib.sources.archive import ArchiveSource

    @dg.asset(
        key=["raw", "box_scores"],
        partitions_def=game_date_partitions,
        metadata={"partition_expr": "game_date"},
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool="duckdb",
    )
    def box_scores(context: dg.AssetExecutionContext) -> pl.DataFrame:
        from datetime import UTC, datetime

        STEP_TIMES.setdefault("step_started", time.time())
        source = ArchiveSource()
        dates = [validate_partition_key(k) for k in context.partition_keys]
        now = datetime.now(UTC)
        frame = source.box_scores(source.schedule(dates, now).frame, now).frame
        if start_after:  # hand over for writing only once the other run is inside its transaction
            assert wait_for(Path(start_after).exists, 120), f"{start_after} never appeared"
        return frame.with_columns(pl.lit(label).alias("source"))

    return box_scores


def run_box_scores(
    db: str, label: str, start: str, end: str, instance: Any = None, start_after: str | None = None
) -> bool:
    """One run writing ``raw/box_scores`` for ``start .. end`` (a single-run range) into ``db``."""
    import dagster as dg

    from nba_assets.lib.storage.duckdb_io import NbaDuckDBIOManager

    defs = dg.Definitions(
        assets=[archive_box_scores_asset(label, start_after)],
        jobs=[dg.define_asset_job("box_job", selection=[dg.AssetKey(["raw", "box_scores"])])],
        resources={"io_manager": NbaDuckDBIOManager(database=db)},
    )
    tags = {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}
    job = defs.resolve_job_def("box_job")
    if instance is None:
        with dg.DagsterInstance.ephemeral() as inst:
            return job.execute_in_process(instance=inst, tags=tags, raise_on_error=False).success
    return job.execute_in_process(instance=instance, tags=tags, raise_on_error=False).success


def child_main(argv: list[str] | None = None) -> None:
    """``python -c 'from nba_assets_tests.test_reliability_support import child_main; child_main()'
    DB MODE MARKER LABEL START END [HOLD]``; prints one JSON line of timings and the outcome."""
    import sys
    from contextlib import contextmanager

    import dagster as dg

    from nba_assets.lib.storage import duckdb_io

    db, mode, marker, label, start, end, *rest = argv or sys.argv[1:]
    hold = float(rest[0]) if rest else 600.0
    assert mode in CHILD_MODES, mode
    times: dict[str, float] = {"started": time.time()}

    def arrive() -> None:
        times["in_transaction"] = time.time()
        Path(marker).write_text(str(os.getpid()))
        time.sleep(hold)  # killed here in the kill modes; a held lock in hold_in_transaction

    client = duckdb_io.TransactionalDuckDbClient
    original_connect = client.connect
    original_delete = client.delete_table_slice
    original_output = duckdb_io.PolarsDuckDBTypeHandler.handle_output

    @contextmanager
    def timed_connect(context: Any, table_slice: Any):
        times.setdefault("connect_asked", time.time())
        with original_connect(context, table_slice) as conn:
            times.setdefault("connected", time.time())
            yield conn
        times["committed"] = time.time()

    def delete_then_wait(context: Any, table_slice: Any, connection: Any) -> None:
        original_delete(context, table_slice, connection)
        arrive()

    def insert_then_wait(self: Any, context: Any, table_slice: Any, obj: Any, connection: Any) -> Any:
        meta = original_output(self, context, table_slice, obj, connection)
        arrive()
        return meta

    client.connect = staticmethod(timed_connect)  # type: ignore[method-assign]
    if mode == "kill_after_delete":
        client.delete_table_slice = staticmethod(delete_then_wait)  # type: ignore[method-assign]
    elif mode in ("kill_before_commit", "hold_in_transaction"):
        duckdb_io.PolarsDuckDBTypeHandler.handle_output = insert_then_wait  # type: ignore[method-assign]
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else None
    try:
        ok = run_box_scores(db, label, start, end, instance, os.environ.get("NBA_RELIABILITY_WAIT_FOR"))
    finally:
        if instance is not None:
            instance.dispose()
    times["finished"] = time.time()
    print(json.dumps({"label": label, "success": ok, **times, **STEP_TIMES}), flush=True)


def agreeing_season_schedule(fresh: FaultServer, season: str) -> None:
    """The tests that serve an empty scoreboard to keep the schedule out of their way also serve a
    ``season`` schedule without that date's games: the live source takes an empty board only when the
    season schedule agrees (``LiveSource._confirm_no_games``)."""
    empty = {"leagueSchedule": {"seasonYear": season, "leagueId": "00", "gameDates": []}}
    fresh.script("/static/json/staticData/scheduleLeagueV2_1.json", reply(200, json.dumps(empty).encode()))
