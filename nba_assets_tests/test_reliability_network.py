"""Network faults against the live clients, on loopback only (a scripted ``http.server`` thread).

Every fault ends in one of: a bounded retry then :class:`SourceUnavailableError` naming host and path,
an immediate :class:`SourceDataError` naming the source and ``<body>`` (a 200 whose body is not the
payload), or a correct empty result. No other exception type escapes, and no fault changes the rows a
raw partition already holds in the warehouse (the raw assets are driven on a LiveSource pointed at the
faulty server).
"""

import gzip
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import dagster as dg
import duckdb
import polars as pl
import pytest

from nba_assets.defs.raw.assets import raw_assets
from nba_assets.defs.resources import LocalObjectStoreResource, NbaSourceResource, ObjectStoreResource
from nba_assets.lib.errors import SourceDataError, SourceUnavailableError
from nba_assets.lib.sources.live import nba_stats as stats_module
from nba_assets.lib.sources.live.bettingpros import BettingProsClient
from nba_assets.lib.sources.live.http import RetryPolicy
from nba_assets.lib.sources.live.injury_report import InjuryReportClient
from nba_assets.lib.sources.live.nba_cdn import NbaCdnClient
from nba_assets.lib.sources.live.nba_stats import NbaStatsClient
from nba_assets.lib.sources.live.odds_api import OddsApiClient
from nba_assets.lib.sources.live.source import LiveSource
from nba_assets.lib.storage.duckdb_io import NbaDuckDBIOManager
from nba_assets.lib.storage.object_store import GCSObjectStore, LocalObjectStore, ObjectStore
from nba_assets_tests.fake_gcs import FakeGCSClient
from nba_assets_tests.test_reliability_support import (
    MAX_ATTEMPTS,
    Action,
    FaultServer,
    SleepRecorder,
    add,
    agreeing_season_schedule,
    fast_http,
    loopback_session,
    reliability_figures,  # noqa: F401 (session fixture: prints the suite's figures)
    reply,
    reset,
    short_read,
    stall,
    trickle,
)

KEY = "odds-key-network-suite"
EVENT = "f54c4a22568ce9dc33fb410d1b0e75e9"
SLOW_TIMEOUT = 0.2  # read timeout (s) for the stall faults; the good paths get a generous one
GOOD_TIMEOUT = 10.0


@pytest.fixture(scope="module")
def server():
    srv = FaultServer()
    yield srv
    srv.close()


@pytest.fixture
def fresh(server: FaultServer) -> FaultServer:
    server.scripts.clear()
    server.reset_calls()
    return server


def _body(fixtures_dir: Path, name: str) -> bytes:
    return (fixtures_dir / name).read_bytes()


# ---------------------------------------------------------------- targets: one call per live client


@dataclass(frozen=True)
class Target:
    name: str
    paths: tuple[str, ...]  # every path the call may request (fallbacks included)
    host: str  # the host an error must name
    call: Callable[[Any, LocalObjectStore], Any]
    good: Callable[[Path], bytes]  # a correct body (a recorded real payload)
    check_good: Callable[[Any], bool]
    empty_slate: bytes | None = None  # a correct "nothing today" body, if the endpoint has one
    empty_body_gives: str = "error"  # what a 200 with an empty body gives: error | empty | none


def _frame_of(result: Any) -> pl.DataFrame | None:
    return None if result is None else result.frame


TARGETS = [
    Target(
        "stats-scoreboard",
        ("/stats/scoreboardv3", "/stats/scoreboardv2"),
        "stats.nba.com",
        lambda http, store: NbaStatsClient(http, store).scoreboard_v3(date(2025, 11, 5)),
        lambda f: _body(f, "stats_scoreboardv3_2025-11-05.json"),
        lambda r: r.frame.height == 11 and r.frame["home_pts"].null_count() == 0,
        json.dumps({"scoreboard": {"gameDate": "2025-11-05", "leagueId": "00", "games": []}}).encode(),
    ),
    Target(
        "stats-boxscore",
        ("/stats/boxscoretraditionalv3",),
        "stats.nba.com",
        lambda http, store: NbaStatsClient(http, store).boxscore_traditional_v3(
            "0022500165", date(2025, 11, 4)
        ),
        lambda f: _body(f, "stats_boxscoretraditionalv3_0022500165.json"),
        lambda r: r.frame["pts"].sum() == 228,
    ),
    Target(
        "cdn-boxscore",
        ("/static/json/liveData/boxscore/boxscore_0022000001.json",),
        "cdn.nba.com",
        lambda http, store: NbaCdnClient(http, store).boxscore("0022000001", "2020-12-22"),
        lambda f: _body(f, "cdn_liveData_boxscore_0022000001.json"),
        lambda r: r is not None and r.frame["pts"].sum() == 224,
        empty_body_gives="none",  # the client reads an empty 200 as "no file yet" (None)
    ),
    Target(
        "odds-events",
        ("/v4/sports/basketball_nba/events",),
        "api.the-odds-api.com",
        lambda http, store: OddsApiClient(http, store, KEY).events(date(2025, 3, 10)),
        lambda f: json.dumps(
            json.loads(_body(f, "oddsapi_v4_historical_events_2025-03-09T235538Z.json"))["data"]
        ).encode(),
        lambda r: r.frame.height == 10,
        b"[]",
    ),
    Target(
        "odds-event-odds",
        (f"/v4/sports/basketball_nba/events/{EVENT}/odds",),
        "api.the-odds-api.com",
        lambda http, store: OddsApiClient(
            http, store, KEY, now=lambda: datetime(2024, 2, 22, 20, tzinfo=UTC)
        ).event_odds(EVENT, date(2024, 2, 22)),
        lambda f: _body(f, "oddsapi_v4_event_odds_player_points_ORL-at-CLE_2024-02-22.json"),
        lambda r: r is not None and r.frame["bookmaker"].n_unique() == 10,
        # only a 204 means no lines posted: a bodiless 200 would read as every book pulling its lines
    ),
    Target(
        "bettingpros-events",
        ("/v3/events",),
        "api.bettingpros.com",
        lambda http, store: BettingProsClient(http, store, api_key="bp-key-network-suite").events(
            date(2021, 10, 21)
        ),
        lambda f: _body(f, "bettingpros_v3_events_NBA_2021-10-21.json"),
        lambda r: r.frame.height == 3,
        json.dumps({"events": []}).encode(),
    ),
    Target(
        "injury-pdf",
        ("/referee/injury/Injury-Report_2024-01-04_12PM.pdf",),
        "ak-static.cms.nba.com",
        lambda http, store: InjuryReportClient(http, store).fetch_edition(
            datetime(2024, 1, 4, 12), date(2024, 1, 4)
        ),
        lambda f: _body(f, "nba_injury_report_2024-01-04_12PM.pdf"),
        lambda r: r is not None and r.frame.height == 14,
        # only 403/404 mean "edition not published": a bodiless 200 is refused, not skipped for an older one
    ),
]
TARGET_IDS = [t.name for t in TARGETS]
SLOW_TARGETS = [t for t in TARGETS if t.name in ("stats-scoreboard", "odds-events", "cdn-boxscore")]

# ---------------------------------------------------------------- the fault catalogue

HTML_PAGE = b"<!DOCTYPE html><html><head><title>Access Denied</title></head><body>Reference #18</body></html>"


@dataclass(frozen=True)
class Fault:
    name: str
    actions: Callable[[bytes], list[Action]]  # from the target's good body
    expect: str  # retried | data_error | empty_body | not_retried
    slow: bool = False  # needs a short read timeout


FAULTS = [
    Fault("429-retry-after-exhausted", lambda b: [reply(429, b"", {"Retry-After": "2"})], "retried"),
    Fault("500", lambda b: [reply(500, b"Internal Server Error")], "retried"),
    Fault("502", lambda b: [reply(502, b"<html>Bad Gateway</html>")], "retried"),
    Fault("503", lambda b: [reply(503, b"", {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})], "retried"),
    Fault("504", lambda b: [reply(504, b"Gateway Timeout")], "retried"),
    Fault("connection-reset", lambda b: [reset()], "retried"),
    Fault("short-read", lambda b: [short_read(b[: len(b) // 3], len(b))], "retried"),
    Fault(
        "corrupt-gzip",
        lambda b: [reply(200, b"\x1f\x8b\x08\x00garbage-not-deflate", {"Content-Encoding": "gzip"})],
        "retried",
    ),
    Fault(
        "html-error-page-200", lambda b: [reply(200, HTML_PAGE, {"Content-Type": "text/html"})], "data_error"
    ),
    Fault("truncated-json-200", lambda b: [reply(200, b[: len(b) // 2])], "data_error"),
    Fault("empty-body-200", lambda b: [reply(200, b"")], "empty_body"),
    Fault("401", lambda b: [reply(401, b'{"message": "unauthorized"}')], "not_retried"),
    Fault("redirect-loop", lambda b: [reply(302, b"", {"Location": "/loop"})], "not_retried"),
    Fault("read-timeout", lambda b: [stall(3.0)], "retried", slow=True),
    Fault("stalled-body", lambda b: [trickle(b, 4, 0.01, stop_after=1)], "retried", slow=True),
]
FAST_FAULTS = [f for f in FAULTS if not f.slow]
SLOW_FAULTS = [f for f in FAULTS if f.slow]


@dataclass
class Outcome:
    result: Any = None
    error: BaseException | None = None


def _run(target: Target, http: Any, store: LocalObjectStore) -> Outcome:
    try:
        return Outcome(result=target.call(http, store))
    except Exception as exc:  # classified by the caller: only the two source errors may escape
        return Outcome(error=exc)


def _assert_fault_outcome(
    fault: Fault, target: Target, out: Outcome, server: FaultServer, store: LocalObjectStore
) -> None:
    add("faults_tried")
    add("fault_requests_served", len(server.calls))
    err = out.error
    if err is not None:
        assert isinstance(err, SourceUnavailableError | SourceDataError), (
            f"{target.name}/{fault.name}: unexpected {type(err).__name__}: {err}"
        )
        assert "\n" not in str(err) and len(str(err)) < 600
    requested = {p: server.count(p) for p in target.paths}
    if fault.expect == "retried":
        assert isinstance(err, SourceUnavailableError), f"{target.name}/{fault.name}: {out}"
        assert target.host in str(err) and f"gave up after {MAX_ATTEMPTS} attempts" in str(err), str(err)
        # bounded: exactly max_attempts per endpoint tried (a fallback endpoint gets its own budget)
        assert all(n in (0, MAX_ATTEMPTS) for n in requested.values()) and sum(requested.values()) > 0, (
            requested
        )
        assert store.list_keys("raw_payloads") == []  # nothing archived from a failed transfer
    elif fault.expect == "data_error":
        assert isinstance(err, SourceDataError), f"{target.name}/{fault.name}: {out}"
        assert "<body>" in str(err)
        assert all(n <= 1 for n in requested.values()), requested  # a 200 is not retried
    elif fault.expect == "empty_body":
        if target.empty_body_gives == "error":
            assert isinstance(err, SourceDataError) and "is empty" in str(err), out
        elif target.empty_body_gives == "none":
            assert err is None and out.result is None, out
        else:
            assert err is None and out.result.frame.is_empty(), out
    elif fault.expect == "not_retried":
        if target.name == "cdn-boxscore" and fault.name == "401":
            assert err is None and out.result is None  # cdn: every 4xx but 429 is "no file yet"
            return
        assert isinstance(err, SourceUnavailableError), f"{target.name}/{fault.name}: {out}"
        assert target.host in str(err)
        assert sum(requested.values()) <= len(target.paths), requested


@pytest.mark.parametrize("fault", FAST_FAULTS, ids=[f.name for f in FAST_FAULTS])
@pytest.mark.parametrize("target", TARGETS, ids=TARGET_IDS)
def test_fault_ends_in_bounded_retry_or_clear_error(
    fresh: FaultServer, tmp_path: Path, fixtures_dir: Path, target: Target, fault: Fault, monkeypatch
) -> None:
    monkeypatch.setattr(stats_module, "TIMEOUT", (1.0, GOOD_TIMEOUT))
    fresh.script("*", *fault.actions(target.good(fixtures_dir)))
    sleeps = SleepRecorder()
    store = LocalObjectStore(tmp_path / "objects")
    out = _run(target, fast_http(loopback_session(fresh.port), sleeps, read_timeout=GOOD_TIMEOUT), store)
    _assert_fault_outcome(fault, target, out, fresh, store)
    if fault.name == "429-retry-after-exhausted":
        assert sleeps.sleeps and all(s == 2.0 for s in sleeps.sleeps)  # Retry-After honoured


@pytest.mark.parametrize("fault", SLOW_FAULTS, ids=[f.name for f in SLOW_FAULTS])
@pytest.mark.parametrize("target", SLOW_TARGETS, ids=[t.name for t in SLOW_TARGETS])
def test_timeouts_end_in_bounded_retry(
    fresh: FaultServer, tmp_path: Path, fixtures_dir: Path, target: Target, fault: Fault, monkeypatch
) -> None:
    monkeypatch.setattr(stats_module, "TIMEOUT", (1.0, SLOW_TIMEOUT))
    fresh.script("*", *fault.actions(target.good(fixtures_dir)))
    store = LocalObjectStore(tmp_path / "objects")
    out = _run(target, fast_http(loopback_session(fresh.port), read_timeout=SLOW_TIMEOUT), store)
    _assert_fault_outcome(fault, target, out, fresh, store)
    assert "Timeout" in str(out.error) or "timed out" in str(out.error), str(out.error)


@pytest.mark.parametrize("target", TARGETS, ids=TARGET_IDS)
def test_transient_faults_then_success_give_the_right_rows(
    fresh: FaultServer, tmp_path: Path, fixtures_dir: Path, target: Target, monkeypatch
) -> None:
    """429 (Retry-After 1), a reset and a 503 in a row, then the real payload: the call succeeds with
    the payload's rows, after exactly 3 retries, waiting what the server asked."""
    monkeypatch.setattr(stats_module, "TIMEOUT", (1.0, GOOD_TIMEOUT))
    good = target.good(fixtures_dir)
    sleeps = SleepRecorder()
    http = fast_http(loopback_session(fresh.port), sleeps, read_timeout=GOOD_TIMEOUT)
    http.policy = RetryPolicy(max_attempts=4, backoff_base=0.05, backoff_cap=0.2, jitter=0.0)
    fresh.script(
        target.paths[0], reply(429, b"", {"Retry-After": "1"}), reset(), reply(503), reply(200, good)
    )
    store = LocalObjectStore(tmp_path / "objects")
    out = _run(target, http, store)
    add("faults_tried", 3)
    assert out.error is None, f"{target.name}: {type(out.error).__name__}: {out.error}"
    assert target.check_good(out.result)
    assert fresh.count(target.paths[0]) == 4 and sleeps.sleeps[0] == 1.0 and len(sleeps.sleeps) == 3
    assert len(store.list_keys("raw_payloads")) == 1  # only the good body is archived


@pytest.mark.parametrize("target", SLOW_TARGETS, ids=[t.name for t in SLOW_TARGETS])
def test_slow_body_within_read_timeout_completes(
    fresh: FaultServer, tmp_path: Path, fixtures_dir: Path, target: Target, monkeypatch
) -> None:
    """A body trickling in 6 pieces 0.15 s apart (0.75 s before the last) with a 0.5 s read timeout
    arrives whole: the read timeout bounds each socket read, not the whole body (the request deadline
    does that, below). Each gap leaves 0.35 s of the read timeout: a server thread woken late on a
    loaded machine (two test workers on two cores) must not time a read out (with 0.12 s gaps and a
    0.3 s timeout the margin was 0.18 s)."""
    monkeypatch.setattr(stats_module, "TIMEOUT", (1.0, 0.5))
    fresh.script("*", trickle(target.good(fixtures_dir), 6, 0.15))
    out = _run(target, fast_http(loopback_session(fresh.port), read_timeout=0.5), LocalObjectStore(tmp_path))
    add("faults_tried")
    assert out.error is None, out.error
    assert target.check_good(out.result)


@pytest.mark.parametrize("target", SLOW_TARGETS, ids=[t.name for t in SLOW_TARGETS])
def test_a_body_trickling_past_the_request_deadline_is_abandoned(
    fresh: FaultServer, tmp_path: Path, fixtures_dir: Path, target: Target, monkeypatch
) -> None:
    """Every piece arrives well within the read timeout, but the whole body would take 3 s: with a
    0.4 s request deadline each attempt is abandoned, retried, and the call ends in a clear error
    within about 0.4 s per attempt (plus the piece that trips the deadline) instead of holding the run
    for 3 s per attempt while the server trickles. A fallback endpoint gets its own attempts
    (stats-scoreboard: v3 then v2, 6 attempts in all), so the bound counts the attempts made: it was
    MAX_ATTEMPTS x 0.4 s + 2 s = 3.2 s whatever the target, against about 2.5 s measured for the 6
    attempts of stats-scoreboard on an idle machine."""
    monkeypatch.setattr(stats_module, "TIMEOUT", (1.0, 0.5))
    fresh.script("*", trickle(target.good(fixtures_dir), 30, 0.1))
    http = fast_http(loopback_session(fresh.port), read_timeout=0.5)
    http.policy = RetryPolicy(
        max_attempts=MAX_ATTEMPTS, backoff_base=0.05, backoff_cap=0.2, jitter=0.0, request_deadline=0.4
    )
    store = LocalObjectStore(tmp_path)
    started = time.monotonic()
    out = _run(target, http, store)
    elapsed = time.monotonic() - started
    add("faults_tried")
    assert isinstance(out.error, SourceUnavailableError), out
    assert "body not complete after 0.4s (request deadline)" in str(out.error)
    assert target.host in str(out.error)
    attempts = sum(fresh.count(p) for p in target.paths)
    assert attempts == len(target.paths) * MAX_ATTEMPTS, attempts  # every endpoint, all its attempts
    assert elapsed < attempts * (0.4 + 0.1) + 2.0, (attempts, elapsed)  # a full trickle: 3 s each
    assert store.list_keys("raw_payloads") == []  # nothing half-read is archived


@pytest.mark.parametrize("target", [t for t in TARGETS if t.empty_slate], ids=lambda t: t.name)
def test_empty_slate_is_an_empty_result(
    fresh: FaultServer, tmp_path: Path, target: Target, monkeypatch
) -> None:
    monkeypatch.setattr(stats_module, "TIMEOUT", (1.0, GOOD_TIMEOUT))
    fresh.script("*", reply(200, target.empty_slate or b""))
    out = _run(
        target, fast_http(loopback_session(fresh.port), read_timeout=GOOD_TIMEOUT), LocalObjectStore(tmp_path)
    )
    add("faults_tried")
    assert out.error is None, out.error
    assert out.result.frame.is_empty()
    assert sum(fresh.count(p) for p in target.paths) == 1


# ---------------------------------------------------------------- the raw assets on a faulty live source

DAY = "2025-11-05"
STATS_PATHS = ("/stats/scoreboardv3", "/stats/scoreboardv2")


class _LoopbackLive(NbaSourceResource):
    """A LiveSource whose HTTP session goes to the fault server (timeouts short, sleeps recorded)."""

    port: int
    read_timeout: float = GOOD_TIMEOUT
    now_utc: str = "2025-11-06T12:00:00+00:00"  # the odds snapshot clock
    bettingpros_api_key: str = ""

    def get_source(self, store):
        http = fast_http(loopback_session(self.port), read_timeout=self.read_timeout)
        return LiveSource(
            store,
            KEY,
            self.bettingpros_api_key,
            http=http,
            now=lambda: datetime.fromisoformat(self.now_utc),
        )


def _resources(tmp: Path, port: int, read_timeout: float = GOOD_TIMEOUT, **live: Any) -> dict[str, Any]:
    live.setdefault("step_retries", 0)  # these tests judge one attempt; the step retry has its own test
    return {
        "io_manager": NbaDuckDBIOManager(database=str(tmp / "w.duckdb")),
        "object_store": LocalObjectStoreResource(root=str(tmp / "objects")),
        "nba_source": _LoopbackLive(port=port, read_timeout=read_timeout, **live),
    }


def _rows(db: Path, table: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(f"SELECT * FROM raw.{table} ORDER BY ALL").fetchall()


def _failure_message(result: dg.ExecuteInProcessResult) -> str:
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    err = failure.event_specific_data.error
    text = err.message
    while err.cause is not None:
        err = err.cause
        text += " | " + err.message
    return text


def _schedule_survives(
    server: FaultServer, tmp_path: Path, fixtures_dir: Path, monkeypatch, faults: list[Fault]
) -> None:
    """raw/schedule on a LiveSource: a good run stores 11 games; then each fault on both scoreboard
    endpoints fails the run with an error naming stats.nba.com, and the partition keeps its 11 rows."""
    good = _body(fixtures_dir, "stats_scoreboardv3_2025-11-05.json")
    db = tmp_path / "w.duckdb"
    server.script("*", reply(200, good))
    monkeypatch.setattr(stats_module, "TIMEOUT", (1.0, GOOD_TIMEOUT))
    with dg.DagsterInstance.ephemeral() as instance:
        res = _resources(tmp_path, server.port)
        assert dg.materialize([raw_assets[0]], resources=res, partition_key=DAY, instance=instance).success
        before = _rows(db, "schedule")
        assert len(before) == 11
        for fault in faults:
            read_timeout = SLOW_TIMEOUT if fault.slow else GOOD_TIMEOUT
            monkeypatch.setattr(stats_module, "TIMEOUT", (1.0, read_timeout))
            server.reset_calls()
            server.script("*", *fault.actions(good))
            result = dg.materialize(
                [raw_assets[0]],
                resources=_resources(tmp_path, server.port, read_timeout),
                partition_key=DAY,
                raise_on_error=False,
                instance=instance,
            )
            add("faults_tried")
            after = _rows(db, "schedule")
            add("rows_lost", len(set(before) - set(after)))
            add("duplicates", len(after) - len(set(after)))
            assert not result.success, fault.name
            message = _failure_message(result)
            assert "stats.nba.com" in message, (fault.name, message)
            assert after == before, fault.name
    print(
        f"\nraw/schedule kept its 11 rows through {len(faults)} faults: {', '.join(f.name for f in faults)}"
    )


def test_a_source_still_down_is_retried_by_dagster_and_a_refusal_is_not(
    fresh: FaultServer, tmp_path: Path, fixtures_dir: Path, monkeypatch
) -> None:
    """An outage that outlasts the HTTP retries (both scoreboard endpoints answer 503 every attempt)
    fails the step's first attempt; Dagster retries the step and the second attempt stores the 11
    games. A 404 (waiting will not fix it) fails at once, with no step retry."""
    good = _body(fixtures_dir, "stats_scoreboardv3_2025-11-05.json")
    monkeypatch.setattr(stats_module, "TIMEOUT", (1.0, GOOD_TIMEOUT))
    fresh.script("*", *[reply(503)] * (2 * MAX_ATTEMPTS), reply(200, good))
    with dg.DagsterInstance.ephemeral() as instance:
        res = _resources(tmp_path, fresh.port, step_retries=2, step_retry_wait_seconds=0)
        result = dg.materialize([raw_assets[0]], resources=res, partition_key=DAY, instance=instance)
        events = [e.event_type_value for e in result.all_events]
        assert result.success
        assert events.count("STEP_UP_FOR_RETRY") == 1, events
        assert len(_rows(tmp_path / "w.duckdb", "schedule")) == 11
        assert sum(fresh.count(p) for p in STATS_PATHS) == 2 * MAX_ATTEMPTS + 1

        fresh.reset_calls()
        fresh.script("*", reply(404, b"not here"))
        result = dg.materialize(
            [raw_assets[0]], resources=res, partition_key=DAY, instance=instance, raise_on_error=False
        )
        events = [e.event_type_value for e in result.all_events]
        assert not result.success
        assert "STEP_UP_FOR_RETRY" not in events, events
        assert "HTTP 404 (not retried)" in _failure_message(result)
        assert sum(fresh.count(p) for p in STATS_PATHS) == 2  # v3 once, its v2 fallback once


class _FlakyGCSStore(ObjectStoreResource):
    """The prod object store (GCSObjectStore) over an in-memory bucket whose first uploads fail the
    way google-cloud-storage fails once its own retries are spent."""

    def get_store(self) -> ObjectStore:
        return GCSObjectStore(FLAKY_GCS[0], "nba-bucket", "prod")


FLAKY_GCS: list[FakeGCSClient] = []


def test_an_object_store_outage_is_retried_by_dagster_and_archives_before_parsing(
    fresh: FaultServer, tmp_path: Path, fixtures_dir: Path
) -> None:
    """The payload is archived before it is parsed; GCS still failing after its client's retries
    (503) fails the step's first attempt, Dagster retries the step, and the second attempt archives
    and stores the 11 games. Before, the store's error was not an outage to the raw assets: the run
    failed at once."""
    fresh.script("*", reply(200, _body(fixtures_dir, "stats_scoreboardv3_2025-11-05.json")))
    FLAKY_GCS[:] = [FakeGCSClient(fail_uploads=1)]
    with dg.DagsterInstance.ephemeral() as instance:
        res = {
            **_resources(tmp_path, fresh.port, step_retries=2, step_retry_wait_seconds=0),
            "object_store": _FlakyGCSStore(),
        }
        result = dg.materialize([raw_assets[0]], resources=res, partition_key=DAY, instance=instance)
        events = [e.event_type_value for e in result.all_events]
        assert result.success and events.count("STEP_UP_FOR_RETRY") == 1, events
    assert len(_rows(tmp_path / "w.duckdb", "schedule")) == 11
    archived = [k for k in FLAKY_GCS[0].b.blobs if k.startswith("prod/raw_payloads/")]
    assert archived and FLAKY_GCS[0].b.fail_uploads == 0


ASSET_FAULTS = (
    "429-retry-after-exhausted",
    "503",
    "connection-reset",
    "corrupt-gzip",
    "html-error-page-200",
    "truncated-json-200",
    "read-timeout",
)


def test_raw_schedule_keeps_its_rows_through_faults(
    fresh: FaultServer, tmp_path: Path, fixtures_dir: Path, monkeypatch
) -> None:
    _schedule_survives(
        fresh, tmp_path, fixtures_dir, monkeypatch, [f for f in FAULTS if f.name in ASSET_FAULTS]
    )


@pytest.mark.slow
def test_raw_schedule_keeps_its_rows_through_every_fault(
    fresh: FaultServer, tmp_path: Path, fixtures_dir: Path, monkeypatch
) -> None:
    _schedule_survives(fresh, tmp_path, fixtures_dir, monkeypatch, FAULTS)


def test_raw_box_scores_and_props_keep_rows_when_their_sources_fail(
    fresh: FaultServer, tmp_path: Path, fixtures_dir: Path, monkeypatch
) -> None:
    """box_scores: stats.nba.com and the cdn fallback both failing fails the step and keeps the stored
    player rows. player_props: The Odds API failing (503, truncated odds) keeps the stored lines."""
    monkeypatch.setattr(stats_module, "TIMEOUT", (1.0, GOOD_TIMEOUT))
    db = tmp_path / "w.duckdb"
    res = _resources(tmp_path, fresh.port)
    box = _body(fixtures_dir, "stats_boxscoretraditionalv3_0022500165.json")
    scoreboard = json.loads(_body(fixtures_dir, "stats_scoreboardv3_2025-11-05.json"))
    # a one-game slate on 2025-11-04: MIL at TOR, final, the game of the recorded box score
    game = dict(scoreboard["scoreboard"]["games"][0])
    game.update(
        gameId="0022500165",
        homeTeam={**game["homeTeam"], "teamId": 1610612761, "teamTricode": "TOR", "score": 128},
        awayTeam={**game["awayTeam"], "teamId": 1610612749, "teamTricode": "MIL", "score": 100},
    )
    board = {"scoreboard": {**scoreboard["scoreboard"], "gameDate": "2025-11-04", "games": [game]}}
    box_payload = json.loads(box)
    pts = {
        side: sum(p["statistics"]["points"] for p in box_payload["boxScoreTraditional"][side]["players"])
        for side in ("homeTeam", "awayTeam")
    }
    game["homeTeam"]["score"], game["awayTeam"]["score"] = pts["homeTeam"], pts["awayTeam"]
    fresh.script("/stats/scoreboardv3", reply(200, json.dumps(board).encode()))
    fresh.script("/stats/boxscoretraditionalv3", reply(200, box))
    selection = raw_assets[:2]
    assert dg.materialize(selection, resources=res, partition_key="2025-11-04").success
    before = _rows(db, "box_scores")
    assert len(before) == 29
    cdn = "/static/json/liveData/boxscore/boxscore_0022500165.json"
    for name, actions in (
        ("503 on both", [reply(503)]),
        ("html 200 on both", [reply(200, HTML_PAGE)]),
    ):
        fresh.reset_calls()
        fresh.script("/stats/boxscoretraditionalv3", *actions)
        fresh.script(cdn, *actions)
        result = dg.materialize(
            selection,
            resources=res,
            partition_key="2025-11-04",
            selection=[raw_assets[1].key],
            raise_on_error=False,
        )
        add("faults_tried")
        after = _rows(db, "box_scores")
        add("rows_lost", len(set(before) - set(after)))
        assert not result.success, name
        assert "cdn.nba.com" in _failure_message(result), name
        assert after == before, name
    # stats.nba.com failing while the cdn answers 403 for a game the schedule calls final is a failed
    # batch, not an empty game: the step fails naming both sources and the stored rows stay.
    fresh.script("/stats/boxscoretraditionalv3", reply(503))
    fresh.script(cdn, reply(403, b"<Error>AccessDenied</Error>"))
    result = dg.materialize(
        selection,
        resources=res,
        partition_key="2025-11-04",
        selection=[raw_assets[1].key],
        raise_on_error=False,
    )
    add("faults_tried")
    message = _failure_message(result)
    assert not result.success and "stats.nba.com failed" in message and "cdn.nba.com has no file" in message
    after = _rows(db, "box_scores")
    add("rows_lost", len(set(before) - set(after)))
    assert after == before

    # player_props: the recorded ORL@CLE odds on 2024-02-22, identity from the recorded game log
    odds = json.loads(_body(fixtures_dir, "oddsapi_v4_event_odds_player_points_ORL-at-CLE_2024-02-22.json"))
    events = [{k: odds[k] for k in ("id", "sport_key", "commence_time", "home_team", "away_team")}]
    sb_day = {"scoreboard": {**scoreboard["scoreboard"], "gameDate": "2024-02-22", "games": []}}
    fresh.script("/stats/scoreboardv3", reply(200, json.dumps(sb_day).encode()))
    agreeing_season_schedule(fresh, "2023-24")
    fresh.script(
        "/stats/leaguegamelog", reply(200, _body(fixtures_dir, "stats_leaguegamelog_players_2025-03-15.json"))
    )
    fresh.script("/v4/sports/basketball_nba/events", reply(200, json.dumps(events).encode()))
    fresh.script(f"/v4/sports/basketball_nba/events/{EVENT}/odds", reply(200, json.dumps(odds).encode()))
    res = _resources(tmp_path, fresh.port, now_utc="2024-02-22T20:00:00+00:00")
    props_sel = [raw_assets[0], raw_assets[3]]
    as_of = {"ops": {"raw__player_props": {"config": {"as_of_utc": "2024-02-22T20:00:00"}}}}
    assert dg.materialize(props_sel, resources=res, partition_key="2024-02-22", run_config=as_of).success
    lines = _rows(db, "player_props")
    assert len(lines) > 100
    for name, actions in (
        ("503", [reply(503)]),
        ("truncated odds", [reply(200, json.dumps(odds).encode()[:3000])]),
    ):
        fresh.script(f"/v4/sports/basketball_nba/events/{EVENT}/odds", *actions)
        result = dg.materialize(
            props_sel,
            resources=res,
            partition_key="2024-02-22",
            selection=[raw_assets[3].key],
            run_config=as_of,
            raise_on_error=False,
        )
        add("faults_tried")
        after = _rows(db, "player_props")
        add("rows_lost", len(set(lines) - set(after)))
        assert not result.success, name
        assert "the-odds-api" in _failure_message(result), name
        assert after == lines, name


def test_bettingpros_stands_in_for_the_odds_api_and_the_check_warns(
    fresh: FaultServer, tmp_path: Path, fixtures_dir: Path, local_fixtures_dir: Path, monkeypatch
) -> None:
    """The Odds API refuses (401, spent quota). Without a BettingPros key the props step fails naming it
    and is not retried (waiting will not refill the quota); with one, BettingPros' offers for the three
    events not yet tipped off at 23:10 UTC are stored, and the primary-source check warns naming the
    date and the refusal (the alert sensor sends every failed check). The BettingPros payloads of
    2021-10-21 are moved to 2023-10-26: the game-date partitions start in October 2022."""

    def moved(folder: Path, name: str) -> bytes:
        text = _body(folder, name).decode()
        return text.replace("2021-10-21", "2023-10-26").replace("2021-10-22", "2023-10-27").encode()

    monkeypatch.setattr(stats_module, "TIMEOUT", (1.0, GOOD_TIMEOUT))
    scoreboard = json.loads(_body(fixtures_dir, "stats_scoreboardv3_2025-11-05.json"))
    sb_day = {"scoreboard": {**scoreboard["scoreboard"], "gameDate": "2023-10-26", "games": []}}
    fresh.script("/stats/scoreboardv3", reply(200, json.dumps(sb_day).encode()))
    agreeing_season_schedule(fresh, "2023-24")
    fresh.script(
        "/stats/leaguegamelog", reply(200, _body(fixtures_dir, "stats_leaguegamelog_players_2025-03-15.json"))
    )
    fresh.script(
        "/v4/sports/basketball_nba/events", reply(401, b'{"message": "Usage quota has been reached."}')
    )
    pages = [
        reply(200, moved(local_fixtures_dir, f"bettingpros_v3_offers_NBA_2021-10-21_page{n}.json"))
        for n in (1, 2)
    ]
    now = "2023-10-26T23:10:00+00:00"
    as_of = {"ops": {"raw__player_props": {"config": {"as_of_utc": now}}}}
    props_sel = [raw_assets[0], raw_assets[3]]

    def run(tmp: Path, bp_key: str) -> dg.ExecuteInProcessResult:
        fresh.script(
            "/v3/events", reply(200, moved(fixtures_dir, "bettingpros_v3_events_NBA_2021-10-21.json"))
        )
        fresh.script("/v3/offers", *pages)
        res = _resources(tmp, fresh.port, now_utc=now, bettingpros_api_key=bp_key, step_retries=2)
        return dg.materialize(
            props_sel, resources=res, partition_key="2023-10-26", run_config=as_of, raise_on_error=False
        )

    refused = run(tmp_path / "no_key", "")
    add("faults_tried")
    assert not refused.success and "401" in _failure_message(refused)
    assert not any(e.event_type_value == "STEP_UP_FOR_RETRY" for e in refused.all_events)
    assert not [c for c in fresh.calls if c.path.startswith("/v3/")]  # no key: BettingPros never asked

    result = run(tmp_path / "with_key", "bp-key-network-suite")
    assert result.success
    with duckdb.connect(str(tmp_path / "with_key" / "w.duckdb"), read_only=True) as con:
        stored = con.execute("SELECT count(*), list(DISTINCT source) FROM raw.player_props").fetchone()
    assert stored == (9, ["bettingpros"])
    offers = [parse_qs(c.query) for c in fresh.calls if c.path == "/v3/offers"]
    assert [q["page"] for q in offers] == [["1"], ["2"]]
    assert offers[0]["event_id"] == ["20879:20880:20881"]
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    primary = checks["player_props_from_primary_source"]
    assert not primary.passed and primary.severity == dg.AssetCheckSeverity.WARN
    assert primary.metadata["fallback_dates"].value == ["2023-10-26"]
    assert "401" in primary.metadata["reasons"].value["2023-10-26"]
    assert "bp-key-network-suite" not in json.dumps(primary.metadata["reasons"].value)


def test_empty_slate_writes_an_empty_partition(fresh: FaultServer, tmp_path: Path, monkeypatch) -> None:
    """A date without games: the schedule run succeeds, stores no rows for it, and says so."""
    monkeypatch.setattr(stats_module, "TIMEOUT", (1.0, GOOD_TIMEOUT))
    empty = {"scoreboard": {"gameDate": "2025-08-01", "leagueId": "00", "games": []}}
    fresh.script("*", reply(200, json.dumps(empty).encode()))
    agreeing_season_schedule(fresh, "2025-26")
    result = dg.materialize(
        [raw_assets[0]], resources=_resources(tmp_path, fresh.port), partition_key="2025-08-01"
    )
    add("faults_tried")
    assert result.success
    assert _rows(tmp_path / "w.duckdb", "schedule") == []
    check = {e.check_name: e for e in result.get_asset_check_evaluations()}["schedule_game_count_plausible"]
    assert check.metadata["note"].value == "no games on these dates"


def test_gzip_body_is_decoded(fresh: FaultServer, tmp_path: Path, fixtures_dir: Path, monkeypatch) -> None:
    """Control for the corrupt-gzip fault: a valid gzip body parses."""
    monkeypatch.setattr(stats_module, "TIMEOUT", (1.0, GOOD_TIMEOUT))
    body = gzip.compress(_body(fixtures_dir, "stats_scoreboardv3_2025-11-05.json"))
    fresh.script("*", reply(200, body, {"Content-Encoding": "gzip"}))
    got = NbaStatsClient(
        fast_http(loopback_session(fresh.port), read_timeout=GOOD_TIMEOUT), LocalObjectStore(tmp_path)
    ).scoreboard_v3(date(2025, 11, 5))
    assert got.frame.height == 11
