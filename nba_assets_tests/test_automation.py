"""Schedules and sensors: partitions at ET ticks across DST, lines moves, catch-up, grading, alerts
and the daily summary, driven through Dagster's own evaluation against a temporary instance."""

import json
import os
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import polars as pl
import pytest
from dagster._utils.schedules import cron_string_iterator  # test-only: the daemon's tick generator
from dagster_slack import SlackResource

from nba_assets.defs.automation import policy, queries, sensors
from nba_assets.defs.automation.resources import (
    AlertsResource,
    LocalAlertsResource,
    ObjectStoreAlertsResource,
    SlackAlertsResource,
    alerts_resource,
)
from nba_assets.defs.automation.schedules import (
    morning_slate_job_schedule,
    overnight_box_scores_job_schedule,
    weekly_retrain_job_schedule,
)
from nba_assets.defs.build import build_definitions
from nba_assets.defs.grading.assets import GRADES, PERF, PUBLISHED, READY, box_scores_ready_for_grading
from nba_assets.defs.raw.assets import raw_assets
from nba_assets.defs.resources import (
    PROBE_TICK_SECONDS,
    PROBE_UNIT_SECONDS,
    ArchiveSourceResource,
    LiveSourceResource,
    LocalObjectStoreResource,
    build_resources,
)
from nba_assets.lib import line_fingerprints, publications
from nba_assets.lib.alerts import (
    SLACK_MAX_RETRY_AFTER_SECONDS,
    SLACK_MAX_TEXT,
    SLACK_TIMEOUT_SECONDS,
    Alert,
    AlertDeliveryError,
    LocalAlertLog,
    SlackAlerts,
    slack_client,
)
from nba_assets.lib.env import Settings
from nba_assets.lib.storage.object_store import LocalObjectStore
from nba_assets_tests.test_odds_quota import serve_slate
from nba_assets_tests.test_reliability_support import FaultServer, reply, reset

ET = ZoneInfo("America/New_York")
SCHEDULE_AND_BOX = dg.AssetSelection.assets(
    ["raw", "schedule"], ["raw", "box_scores"]
) | dg.AssetSelection.checks(box_scores_ready_for_grading)


def et(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=ET)


def at(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    """Stand the sensors' clock at ``moment``."""
    monkeypatch.setattr(sensors, "utc_now", lambda: moment.astimezone(UTC))


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> dg.RepositoryDefinition:
    """The real code location (its jobs resolve the partitions the requests name)."""
    return build_definitions(Settings(data_dir=tmp_path_factory.mktemp("defs"))).get_repository_def()


def tick(
    sensor: dg.SensorDefinition,
    repo: dg.RepositoryDefinition,
    instance: dg.DagsterInstance,
    cursor: str | None = None,
    **resources,
):
    """One evaluation as the daemon runs it; ``resources`` replace the code location's."""
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, resources=resources, repository_def=repo
    ) as ctx:
        return sensor.evaluate_tick(ctx)


def slate_ran(instance: dg.DagsterInstance, day: str, lines: dict[str, list] | None = None) -> None:
    """Record what the morning slate of ``day`` stores: its ``raw/schedule`` partition, then its
    ``raw/player_props`` partition carrying the fingerprints of ``lines`` (default: none, as on
    2025-11-05 at 10:00 ET in the archive, whose lines are posted from 12:00)."""
    instance.report_runless_asset_event(dg.AssetMaterialization(["raw", "schedule"], partition=day))
    stored = {line_fingerprints.STORED_LINES_METADATA: dg.MetadataValue.json(lines or {})}
    instance.report_runless_asset_event(
        dg.AssetMaterialization(["raw", "player_props"], partition=day, metadata=stored)
    )


def requests_at(schedule: dg.ScheduleDefinition, repo: dg.RepositoryDefinition, moment: datetime) -> list:
    """The run requests of the tick at ``moment``, resolved the way the daemon resolves them."""
    ctx = dg.build_schedule_context(scheduled_execution_time=moment, repository_def=repo)
    return list(schedule.evaluate_tick(ctx).run_requests or [])


# ---------------------------------------------------------------- schedules


def test_partition_rules_use_the_et_date() -> None:
    # 03:30 UTC on Nov 3 is still Nov 2 in New York: a UTC-date bug shows here
    assert policy.et_date(datetime(2025, 11, 3, 3, 30, tzinfo=UTC)) == date(2025, 11, 2)
    assert policy.overnight_partition(datetime(2025, 11, 3, 9, 0, tzinfo=UTC)) == "2025-11-02"
    assert policy.slate_partition(et(2026, 3, 9, 10)) == "2026-03-09"
    assert policy.recent_game_dates(et(2025, 11, 3, 0, 30)) == ["2025-10-31", "2025-11-01", "2025-11-02"]
    with pytest.raises(ValueError, match="naive"):
        policy.et_date(datetime(2025, 11, 3, 4))


@pytest.mark.parametrize(
    ("schedule", "hour", "expected"),
    [
        (overnight_box_scores_job_schedule, 4, lambda d: (d - timedelta(days=1)).isoformat()),
        (morning_slate_job_schedule, 10, lambda d: d.isoformat()),
    ],
)
def test_daily_schedules_tick_at_et_hours_and_request_the_right_partition_across_dst(
    repo, schedule, hour, expected
) -> None:
    for start in (et(2025, 10, 31, 0), et(2026, 3, 6, 0)):  # DST ended 2025-11-02, began 2026-03-08
        ticks = cron_string_iterator(start.timestamp(), schedule.cron_schedule, schedule.execution_timezone)
        for moment in [next(ticks) for _ in range(5)]:
            local = moment.astimezone(ET)
            assert (local.hour, local.minute) == (hour, 0), moment
            (request,) = requests_at(schedule, repo, moment)
            assert request.partition_key == expected(local.date())
            # the tag the instance's per-partition concurrency limit keys on
            assert request.tags["dagster/partition"] == request.partition_key


def test_overnight_tick_after_dst_end_requests_yesterday(repo) -> None:
    (request,) = requests_at(overnight_box_scores_job_schedule, repo, et(2025, 11, 3, 4))
    assert request.partition_key == "2025-11-02"
    # 08:00 UTC is 04:00 EDT the day after DST began
    (request,) = requests_at(overnight_box_scores_job_schedule, repo, datetime(2026, 3, 9, 8, 0, tzinfo=UTC))
    assert request.partition_key == "2026-03-08"
    (request,) = requests_at(morning_slate_job_schedule, repo, et(2025, 11, 3, 10))
    assert request.partition_key == "2025-11-03"


def test_weekly_retrain_runs_mondays_at_six_with_a_valid_cutoff_config(repo) -> None:
    ticks = cron_string_iterator(
        et(2025, 10, 29, 0).timestamp(), weekly_retrain_job_schedule.cron_schedule, "America/New_York"
    )
    mondays = [next(ticks).astimezone(ET) for _ in range(2)]
    assert [(m.date(), m.hour, m.weekday()) for m in mondays] == [
        (date(2025, 11, 3), 6, 0),
        (date(2025, 11, 10), 6, 0),
    ]
    job = repo.get_job("weekly_retrain_job")
    for moment, cutoff in ((mondays[0], "2025-11-03"), (et(2026, 3, 9, 6), "2026-03-09")):
        (request,) = requests_at(weekly_retrain_job_schedule, repo, moment)
        assert request.run_config == {"ops": {"models__points_model": {"config": {"cutoff": cutoff}}}}
        assert dg.validate_run_config(job, request.run_config)  # the op name and field exist


def test_schedules_and_sensors_start_with_the_daemon(repo) -> None:
    assert {s.name for s in repo.schedule_defs} == {
        "morning_slate_job_schedule",
        "overnight_box_scores_job_schedule",
        "weekly_retrain_job_schedule",
    }
    assert all(s.default_status == dg.DefaultScheduleStatus.RUNNING for s in repo.schedule_defs)
    assert all(s.execution_timezone == "America/New_York" for s in repo.schedule_defs)
    assert {s.name for s in repo.sensor_defs} == {
        "refresh_lines_sensor",
        "box_scores_catch_up_sensor",
        "grading_sensor",
        "stale_slate_sensor",
        "system_performance_refresh_sensor",
        "alerts_sensor",
        "daily_summary_sensor",
        "failed_ticks_sensor",
        "predictions_freshness_sensor",
        "model_bootstrap_sensor",
    }
    assert all(s.default_status == dg.DefaultSensorStatus.RUNNING for s in repo.sensor_defs)


def test_bootstrap_decision_trains_today_only_without_a_serving_model_or_a_retrain_in_flight() -> None:
    late = et(2025, 11, 3, 22, 30).astimezone(UTC)  # 03:30 UTC on the 4th: still the 3rd in ET
    assert policy.bootstrap_decision(late, None, False, True) == (
        "2025-11-03",
        "no promoted model serves 2025-11-03: training one with cutoff 2025-11-03",
    )
    assert policy.bootstrap_decision(late, "pm-2025-10-21-ab", False, True) == (
        None,
        "pm-2025-10-21-ab serves 2025-11-03",
    )
    cutoff, why = policy.bootstrap_decision(late, None, True, True)
    assert cutoff is None and "already queued or running" in why
    # a fresh instance that never built the features: a retrain could only fail on the missing table
    cutoff, why = policy.bootstrap_decision(late, None, False, False)
    assert cutoff is None and "features/player_features was never materialized here" in why


def test_model_bootstrap_sensor_trains_a_first_model_once_a_day(repo, tmp_path, monkeypatch) -> None:
    """A first deployment (no promoted model) does not wait for Monday: one retrain run a day with
    cutoff = today, none while a retrain is in flight, none once a promoted model serves today."""
    from dagster._core.test_utils import create_run_for_test

    from nba_assets.lib.modeling.registry import ModelRegistry
    from nba_assets.lib.modeling.train import train_points_model
    from nba_assets_tests.test_backtest import FAST
    from nba_assets_tests.test_lib_modeling import synthetic_features

    store = LocalObjectStoreResource(root=str(tmp_path))
    at(monkeypatch, et(2025, 11, 5, 8))  # a Wednesday: the weekly retrain is five days off
    with dg.instance_for_test() as instance:
        # nothing built yet (`dagster dev` on a fresh data dir): no run that can only fail
        bare = tick(sensors.model_bootstrap_sensor, repo, instance, object_store=store)
        assert not bare.run_requests and "never materialized here" in (bare.skip_message or "")
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key=["features", "player_features"], partition="2025-11-04")
        )
        result = tick(sensors.model_bootstrap_sensor, repo, instance, object_store=store)
        (request,) = result.run_requests
        assert request.run_key == "model_bootstrap:2025-11-05"
        assert request.run_config == {"ops": {"models__points_model": {"config": {"cutoff": "2025-11-05"}}}}
        assert dg.validate_run_config(repo.get_job("weekly_retrain_job"), request.run_config)
        assert request.tags["nba_assets/trigger"] == "model_bootstrap_sensor"
        assert request.tags["nba_assets/cutoff"] == "2025-11-05"
        # a retrain queued or running (this request's run, or the Monday schedule's): nothing more
        running = create_run_for_test(
            instance, job_name="weekly_retrain_job", status=dg.DagsterRunStatus.STARTED
        )
        again = tick(sensors.model_bootstrap_sensor, repo, instance, object_store=store)
        assert not again.run_requests and "already queued or running" in (again.skip_message or "")
        # it failed: asked again (the daemon runs a run key once, so the next try is the next day's)
        instance.report_run_failed(running)
        (retry,) = tick(sensors.model_bootstrap_sensor, repo, instance, object_store=store).run_requests
        assert retry.run_key == "model_bootstrap:2025-11-05"
    # a promoted model with a cutoff on or before today serves it: nothing to do
    model = train_points_model(synthetic_features(date(2025, 9, 1), 50), date(2025, 10, 20), FAST)
    ModelRegistry(store.get_store()).save(model, True, {"reason": "no champion yet"})
    with dg.instance_for_test() as instance:
        served = tick(sensors.model_bootstrap_sensor, repo, instance, object_store=store)
        assert not served.run_requests and served.skip_message == f"{model.version} serves 2025-11-05"


# ---------------------------------------------------------------- lines


def _props(rows: list[tuple], snapshot: str = "2025-11-05T17:00:00+00:00") -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "away_abbr": away,
                "home_abbr": home,
                "player_name": player,
                "bookmaker": book,
                "line": line,
                "over_price": over,
                "under_price": under,
                "snapshot_utc": datetime.fromisoformat(snapshot),
                "tipoff_utc": datetime.fromisoformat(tip),
            }
            for away, home, player, book, line, over, under, tip in rows
        ]
    )


BOS_NYK = ("BOS", "NYK", "Jalen Brunson", "fanduel", 27.5, -110, -110, "2025-11-06T00:00:00+00:00")
LAL_GSW = ("LAL", "GSW", "Stephen Curry", "draftkings", 28.5, -115, -105, "2025-11-06T03:00:00+00:00")


def test_line_fingerprints_ignore_snapshot_times_and_see_line_and_price_moves() -> None:
    base = line_fingerprints.line_fingerprints(_props([BOS_NYK, LAL_GSW]))
    assert set(base) == {"BOS@NYK", "LAL@GSW"}
    later = line_fingerprints.line_fingerprints(
        _props([LAL_GSW, BOS_NYK], snapshot="2025-11-05T18:00:00+00:00")
    )
    assert later == base  # same lines polled again, in another order
    priced = line_fingerprints.line_fingerprints(_props([BOS_NYK[:6] + (-120,) + BOS_NYK[7:], LAL_GSW]))
    assert priced["BOS@NYK"].digest != base["BOS@NYK"].digest and priced["LAL@GSW"] == base["LAL@GSW"]
    # history from the archive: only each book's latest snapshot counts
    history = pl.concat(
        [
            _props([BOS_NYK[:4] + (26.5,) + BOS_NYK[5:]], snapshot="2025-11-05T15:00:00+00:00"),
            _props([BOS_NYK]),
        ]
    )
    assert line_fingerprints.line_fingerprints(history)["BOS@NYK"] == base["BOS@NYK"]


def test_line_fingerprints_see_no_line_of_a_book_whose_latest_snapshot_is_an_empty_fetch_marker() -> None:
    """A ledgered history where draftkings pulled every LAL@GSW line (its latest snapshot is an empty-fetch
    marker): the game has no current line, as if the book had never posted, like the predictions read it."""
    history = _props([BOS_NYK, LAL_GSW]).with_columns(pl.lit("exact").alias("match_method"))
    marker = _props(
        [LAL_GSW[:2] + (None, "draftkings", None, None, None) + LAL_GSW[7:]], "2025-11-05T18:00:00+00:00"
    )
    history = pl.concat([history, marker.with_columns(pl.lit("empty_fetch").alias("match_method"))])
    assert line_fingerprints.line_fingerprints(history) == line_fingerprints.line_fingerprints(
        _props([BOS_NYK])
    )


def test_lines_decision_baseline_moves_vanishing_and_a_new_day() -> None:
    noon = et(2025, 11, 5, 12)
    games = line_fingerprints.line_fingerprints(_props([BOS_NYK, LAL_GSW]))
    first = policy.lines_decision(None, "2025-11-05", games, noon, line_fingerprints.game_lines_doc(games))
    assert first.baseline and first.changed_games == ()
    same = policy.lines_decision(first.cursor, "2025-11-05", games, noon, None)
    assert not same.baseline and same.changed_games == ()
    moved = line_fingerprints.line_fingerprints(_props([BOS_NYK[:4] + (28.5,) + BOS_NYK[5:], LAL_GSW]))
    decision = policy.lines_decision(same.cursor, "2025-11-05", moved, noon, None)
    assert decision.changed_games == ("BOS@NYK",) and decision.run_key != same.run_key
    # 19:30 ET: BOS@NYK tipped off and the live feed drops it; not a move. LAL@GSW pulled: a move.
    evening = et(2025, 11, 5, 19, 30)
    assert (
        policy.lines_decision(
            decision.cursor, "2025-11-05", {"LAL@GSW": moved["LAL@GSW"]}, evening, None
        ).changed_games
        == ()
    )
    assert policy.lines_decision(decision.cursor, "2025-11-05", {}, evening, None).changed_games == (
        "LAL@GSW",
    )
    next_day = noon + timedelta(days=1)
    stored = line_fingerprints.game_lines_doc(moved)
    assert policy.lines_decision(decision.cursor, "2025-11-06", moved, next_day, stored).baseline


def test_lines_decision_gives_a_return_to_earlier_lines_a_new_run_key() -> None:
    """Dagster skips a run request whose run key the sensor has used before. Lines that move away and
    back (a line pulled, then re-posted: A -> B -> A -> B) must refresh each time, so each launch gets
    a key of its own; an unchanged state still launches nothing, and a tick evaluated again from the
    same cursor (its cursor not saved) names the same key, which Dagster then skips."""
    day, noon = "2025-11-05", et(2025, 11, 5, 12)
    a = line_fingerprints.line_fingerprints(_props([BOS_NYK, LAL_GSW]))
    b = line_fingerprints.line_fingerprints(_props([LAL_GSW]))  # BOS@NYK's line pulled
    cursor = policy.lines_decision(
        None, day, a, noon, line_fingerprints.game_lines_doc(a)
    ).cursor  # the baseline
    launched = []
    for games in (b, a, b):
        decision = policy.lines_decision(cursor, day, games, noon, None)
        assert decision.changed_games == ("BOS@NYK",)
        launched.append(decision)
        cursor = decision.cursor
    assert len({d.run_key for d in launched}) == 3
    assert not policy.lines_decision(cursor, day, b, noon, None).changed_games
    assert policy.lines_decision(launched[0].cursor, day, a, noon, None).run_key == launched[1].run_key


def test_the_first_look_of_a_day_compares_the_lines_with_those_stored_not_with_itself() -> None:
    """The review's case: the slate fetched at 10:01 ET when only BOS@NYK had lines; LAL@GSW's were posted
    at 10:05. The first tick (10:15) took its own probe as the baseline, so LAL@GSW was never predicted
    unless a line moved later. It now compares the probe with the lines stored: LAL@GSW is new."""
    day, t1, t2 = "2025-11-05", et(2025, 11, 5, 10, 15), et(2025, 11, 5, 10, 30)
    slate = line_fingerprints.line_fingerprints(_props([BOS_NYK]))
    probe = line_fingerprints.line_fingerprints(_props([BOS_NYK, LAL_GSW]))
    first = policy.lines_decision(None, day, probe, t1, line_fingerprints.game_lines_doc(slate))
    assert first.changed_games == ("LAL@GSW",) and not first.baseline
    assert first.run_key.startswith(f"refresh_lines:{day}:1:")
    # the same tick evaluated again (its cursor not saved) names the same run: Dagster skips it
    assert policy.lines_decision(None, day, probe, t1, line_fingerprints.game_lines_doc(slate)) == first
    later = policy.lines_decision(first.cursor, day, probe, t2, None)
    assert later.changed_games == () and not later.baseline
    # the probe sees the lines stored: a baseline, no run
    same = policy.lines_decision(None, day, slate, t1, line_fingerprints.game_lines_doc(slate))
    assert same.baseline and same.changed_games == () and same.run_key.startswith(f"refresh_lines:{day}:0:")
    # lines stored, pulled since (before tip-off): a move; a stored game that has tipped off since: none
    assert policy.lines_decision(
        None, day, {}, t1, line_fingerprints.game_lines_doc(slate)
    ).changed_games == ("BOS@NYK",)
    evening = et(2025, 11, 5, 19, 30)  # BOS@NYK tipped off at 19:00 ET; LAL@GSW tips at 22:00
    assert policy.lines_decision(None, day, {}, evening, line_fingerprints.game_lines_doc(slate)).baseline
    # a stored partition without fingerprints (written before they were recorded): every game is new
    assert policy.lines_decision(None, day, probe, t1, None).changed_games == ("BOS@NYK", "LAL@GSW")


def test_the_first_look_waits_while_the_lines_are_being_stored_or_when_none_were() -> None:
    day = "2025-11-05"
    running = policy.stored_lines_wait(day, policy.StoredLines(writing="morning_slate_job", stored=True))
    assert running and running.startswith(f"first look at {day} waits for the morning_slate_job run")
    missing = policy.stored_lines_wait(day, policy.StoredLines())
    assert missing and missing.startswith(f"no lines of {day} stored") and "morning_slate_job" in missing
    assert policy.stored_lines_wait(day, policy.StoredLines(stored=True, run_id="r", games={})) is None
    assert policy.first_look(None, day) and policy.first_look(json.dumps({"day": "2025-11-04"}), day)
    assert not policy.first_look(json.dumps({"day": day}), day)


def refresh_resources(tmp_path: Path, nba_source: Any) -> dict[str, Any]:
    """The refresh sensor's resources: ``nba_source``, an object store and an alert log in ``tmp_path``."""
    return {
        "nba_source": nba_source,
        "object_store": LocalObjectStoreResource(root=str(tmp_path)),
        "alerts": LocalAlertsResource(path=str(tmp_path / "alerts.log")),
    }


def test_refresh_lines_sensor_over_a_real_archive_day(repo, tmp_path, monkeypatch) -> None:
    """2025-11-05 in the archive: lines appear at 12:00 ET, the last game tips at 22:10 ET."""
    res = refresh_resources(tmp_path, ArchiveSourceResource())
    with dg.instance_for_test() as instance:
        at(monkeypatch, et(2025, 11, 5, 9, 30))
        assert (
            "before the morning slate"
            in tick(sensors.refresh_lines_sensor, repo, instance, **res).skip_message
        )
        slate_ran(instance, "2025-11-05")
        at(monkeypatch, et(2025, 11, 5, 10, 30))
        first = tick(sensors.refresh_lines_sensor, repo, instance, **res)
        assert not first.run_requests and "first look" in first.skip_message
        at(monkeypatch, et(2025, 11, 5, 12, 30))
        moved = tick(sensors.refresh_lines_sensor, repo, instance, first.cursor, **res)
        (request,) = moved.run_requests
        assert request.partition_key == "2025-11-05" and request.tags["dagster/partition"] == "2025-11-05"
        assert request.tags["nba_assets/lines_moved"].count("@") == len(json.loads(moved.cursor)["games"])
        assert len(json.loads(moved.cursor)["games"]) >= 8
        at(monkeypatch, et(2025, 11, 5, 12, 45))
        assert not tick(sensors.refresh_lines_sensor, repo, instance, moved.cursor, **res).run_requests
        at(monkeypatch, et(2025, 11, 5, 22, 0))  # most games started, one to go: still watching
        late = tick(sensors.refresh_lines_sensor, repo, instance, moved.cursor, **res)
        assert not late.run_requests and late.skip_message.startswith("no line moved")
        at(monkeypatch, et(2025, 11, 5, 22, 15))
        assert (
            "tipped off"
            in tick(sensors.refresh_lines_sensor, repo, instance, moved.cursor, **res).skip_message
        )


def test_the_refresh_sensor_asks_the_source_within_the_sensor_deadline(repo, tmp_path, monkeypatch) -> None:
    """Dagster abandons a sensor tick after 60 s. With the run limits (stats.nba.com read timeout 120 s,
    600 s per date, five attempts) one slow answer timed the tick out; the sensor now asks a probe
    source whose worst case (one budget for the whole tick, plus the last request's deadline) fits,
    while the runs keep the full limits."""

    class ProbeOnly(ArchiveSourceResource):
        def get_source(self, store):  # type: ignore[override]
            raise AssertionError("the sensor must ask the probe source")

        def get_probe_source(self, store):  # type: ignore[override]
            return super().get_source(store)

    res = refresh_resources(tmp_path, ProbeOnly())
    with dg.instance_for_test() as instance:
        slate_ran(instance, "2025-11-05")
        at(monkeypatch, et(2025, 11, 5, 10, 30))
        assert "first look" in tick(sensors.refresh_lines_sensor, repo, instance, **res).skip_message

    live = LiveSourceResource(odds_api_key="k")
    store = LocalObjectStore(tmp_path)
    full, probe = live.get_source(store), live.get_probe_source(store)
    assert (full.http.policy.budget_seconds, full.http.policy.max_attempts) == (600.0, 5)
    assert full.stats.timeout == (10.0, 120.0)
    limits = probe.http.policy
    assert (limits.request_deadline, limits.max_attempts) == (PROBE_UNIT_SECONDS, 2)
    assert limits.budget_seconds == limits.total_budget_seconds == PROBE_TICK_SECONDS
    assert probe.stats.timeout == probe.http.timeout == (10.0, PROBE_UNIT_SECONDS)
    # the last request may start just before the tick's budget runs out and take its whole deadline
    assert PROBE_TICK_SECONDS + PROBE_UNIT_SECONDS <= 50
    assert full.http.policy.total_budget_seconds is None  # runs: per unit only


def test_refresh_lines_sensor_probes_the_current_offer_not_the_ledger(repo, tmp_path, monkeypatch) -> None:
    """A source's lines ledger keeps every snapshot (a pulled line included): the sensor must compare
    the current offer, and its 15-minute probes must not record snapshots."""
    from nba_assets.lib.sources.archive import ArchiveSource

    asked: list[bool] = []

    class Recording(ArchiveSource):
        def player_props(self, dates, as_of, *, ledger=True):  # type: ignore[override]
            asked.append(ledger)
            return super().player_props(dates, as_of, ledger=ledger)

    class RecordingResource(ArchiveSourceResource):
        def get_source(self, store):  # type: ignore[override]
            return Recording()

    res = refresh_resources(tmp_path, RecordingResource())
    with dg.instance_for_test() as instance:
        slate_ran(instance, "2025-11-05")
        at(monkeypatch, et(2025, 11, 5, 12, 30))
        tick(sensors.refresh_lines_sensor, repo, instance, **res)
    assert asked == [False]


def recording_probes(asked: list[bool]) -> ArchiveSourceResource:
    """The archive source, appending to ``asked`` each time the sensor asks it for a probe."""

    class Recording(ArchiveSourceResource):
        def get_probe_source(self, store):  # type: ignore[override]
            asked.append(True)
            return super().get_probe_source(store)

    return Recording()


def test_refresh_lines_sensor_waits_for_the_days_schedule(repo, tmp_path, monkeypatch) -> None:
    """A deployment started after 10:00 ET has no morning slate for today: the refresh job reads
    today's raw/schedule, which it does not write, so each run it launched on a line move failed
    ("warehouse table raw.schedule does not exist") and alerted until the last tip-off. The sensor
    waits for the schedule (asking no source), naming the job to run; once stored it proceeds."""
    asked: list[bool] = []
    res = refresh_resources(tmp_path, recording_probes(asked))
    with dg.instance_for_test() as instance:
        at(monkeypatch, et(2025, 11, 5, 13, 0))
        slate_ran(instance, "2025-11-04")  # yesterday's slate does not count
        waiting = tick(sensors.refresh_lines_sensor, repo, instance, "kept", **res)
        assert not waiting.run_requests and asked == []
        assert waiting.skip_message.startswith("no schedule of 2025-11-05 stored")
        assert "morning_slate_job" in waiting.skip_message and waiting.cursor == "kept"
        slate_ran(instance, "2025-11-05")
        first = tick(sensors.refresh_lines_sensor, repo, instance, **res)
        assert len(asked) == 1
        # the slate (10:00) stored no line; the archive's were posted at 12:00: every game is new
        (request,) = first.run_requests
        assert request.tags["nba_assets/lines_moved"].count("@") == len(json.loads(first.cursor)["games"])


class QuotaProbe(LiveSourceResource):
    """The live probe exactly as the resource builds it (reserve included), without real sleeping."""

    def get_probe_source(self, store):  # type: ignore[no-untyped-def]
        probe = super().get_probe_source(store)
        probe.http.sleep = lambda seconds: None
        return probe


def test_refresh_lines_sensor_stops_polling_at_the_reserve_and_alerts_once(
    repo, tmp_path, fixtures_dir, monkeypatch
) -> None:
    """The 15-minute polls spent a paid call per game until The Odds API answered 401 (credits
    spent), silently, and the next morning slate had no lines. With 501 credits left a poll of two
    games would go under the reserve (500): the tick skips before any paid call, naming the source,
    the header and its value; the alert goes out once, not every tick; credits renewed, polling
    resumes and a later drop alerts again."""
    import responses

    log = tmp_path / "alerts.log"
    res = {
        "nba_source": QuotaProbe(odds_api_key="k", odds_quota_reserve=500),
        "object_store": LocalObjectStoreResource(root=str(tmp_path / "objects")),
        "alerts": LocalAlertsResource(path=str(log)),
    }

    def poll(remaining: str, cursor: str | None):
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            scoreboard = fixtures_dir / "stats_scoreboardv3_2025-11-05.json"
            mock.get("https://stats.nba.com/stats/scoreboardv3", body=scoreboard.read_bytes())
            serve_slate(fixtures_dir, remaining, mock=mock)
            result = tick(sensors.refresh_lines_sensor, repo, instance, cursor, **res)
            paid = [c.request.url for c in mock.calls if "/odds" in c.request.url]
        return result, paid

    def alerts_sent() -> list[dict]:
        return LocalAlertLog(log).read() if log.exists() else []

    with dg.instance_for_test() as instance:
        slate_ran(instance, "2025-11-05")
        at(monkeypatch, et(2025, 11, 5, 12, 0))
        first, paid = poll("501.0", None)
        assert not first.run_requests and paid == []
        assert first.skip_message.startswith(
            "line polling stopped: the-odds-api: header 'x-requests-remaining' is 501: asking the lines of "
            "2 event(s) of 2025-11-05 would cost 2 credit(s) and leave less than the reserve kept for the "
            "scheduled fetches of 500 (NBA_ASSETS_ODDS_QUOTA_RESERVE)"
        )
        (alert,) = alerts_sent()
        assert alert["kind"] == "odds_quota_low" and "'x-requests-remaining' is 501" in alert["text"]
        at(monkeypatch, et(2025, 11, 5, 12, 15))
        second, paid = poll("498", first.cursor)
        assert paid == [] and "(alerted before)" in second.skip_message and len(alerts_sent()) == 1
        # the plan renewed: polling resumes (a first look: the slate stored no line), the alert is re-armed
        at(monkeypatch, et(2025, 11, 5, 12, 30))
        renewed, paid = poll("20000", second.cursor)
        (request,) = renewed.run_requests
        assert len(paid) == 2 and request.tags["nba_assets/lines_moved"] == "PHI@CLE,UTA@DET"
        assert policy.quota_alerted_at(renewed.cursor) is None
        at(monkeypatch, et(2025, 11, 5, 12, 45))
        again, paid = poll("500", renewed.cursor)
        assert paid == [] and "(alert sent)" in again.skip_message and len(alerts_sent()) == 2
        assert json.loads(again.cursor)["day"] == "2025-11-05"  # the lines state is kept while stopped


class SlateClock(LiveSourceResource):
    """The live source as the runs build it, its clock at ``now_utc``, without real sleeping."""

    now_utc: str

    def get_source(self, store):  # type: ignore[no-untyped-def]
        source = super().get_source(store)
        moment = datetime.fromisoformat(self.now_utc)
        source.now = source.odds.now = lambda: moment
        source.http.sleep = lambda seconds: None
        return source


def serve_day(fixtures_dir: Path, mock: Any, games: int) -> None:
    """2025-11-05's scoreboard and players, and The Odds API offering lines of its first ``games`` games."""
    stats = "https://stats.nba.com/stats"
    mock.get(f"{stats}/scoreboardv3", body=(fixtures_dir / "stats_scoreboardv3_2025-11-05.json").read_bytes())
    mock.get(
        f"{stats}/leaguegamelog",
        body=(fixtures_dir / "stats_leaguegamelog_players_2025-03-15.json").read_bytes(),
    )
    serve_slate(fixtures_dir, "20000", games=games, mock=mock)


def store_the_slate(instance: dg.DagsterInstance, tmp_path: Path, fixtures_dir: Path, moment: datetime):
    """The morning slate's raw/schedule and raw/player_props of 2025-11-05, run at ``moment`` on the live
    source when The Odds API has lines of PHI@CLE only."""
    import responses

    from nba_assets.lib.storage.duckdb_io import NbaDuckDBIOManager

    res = {
        "io_manager": NbaDuckDBIOManager(database=str(tmp_path / "w.duckdb")),
        "object_store": LocalObjectStoreResource(root=str(tmp_path / "objects")),
        "nba_source": SlateClock(odds_api_key="k", now_utc=moment.astimezone(UTC).isoformat()),
    }
    schedule, props = (a for a in raw_assets if a.node_def.name in ("raw__schedule", "raw__player_props"))
    as_of = {"config": {"as_of_utc": moment.astimezone(UTC).isoformat()}}
    cfg = {"ops": {"raw__schedule": as_of, "raw__player_props": as_of}}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        serve_day(fixtures_dir, mock, games=1)
        result = dg.materialize(
            [schedule, props], resources=res, partition_key="2025-11-05", run_config=cfg, instance=instance
        )
    assert result.success
    return result


@pytest.mark.parametrize(("offered", "moved"), [(2, "UTA@DET"), (1, None)])
def test_the_first_look_of_a_day_refreshes_lines_posted_after_the_slate_fetched(
    repo, tmp_path, fixtures_dir, monkeypatch, offered, moved
) -> None:
    """The review's case end to end: the morning slate fetched the lines at 10:01 ET when only PHI@CLE
    had props (the real raw assets on the live source); UTA@DET's were posted at 10:05. The first tick
    (10:15 ET) took its own probe as the baseline and the 10:30 tick saw no change: UTA@DET was never
    predicted. It now compares the probe with the lines stored and asks for a refresh naming UTA@DET;
    a probe that sees the lines as stored is a baseline, no run."""
    import responses

    res = refresh_resources(tmp_path, QuotaProbe(odds_api_key="k"))
    with dg.instance_for_test() as instance:
        slate = store_the_slate(instance, tmp_path, fixtures_dir, et(2025, 11, 5, 10, 1))
        (stored,) = slate.asset_materializations_for_node("raw__player_props")
        assert list(stored.metadata[line_fingerprints.STORED_LINES_METADATA].value) == ["PHI@CLE"]

        def poll(moment: datetime, cursor: str | None):
            at(monkeypatch, moment)
            with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
                serve_day(fixtures_dir, mock, games=offered)
                return tick(sensors.refresh_lines_sensor, repo, instance, cursor, **res)

        first = poll(et(2025, 11, 5, 10, 15), None)
        if moved is None:
            assert not first.run_requests and first.skip_message.startswith("first look at 2025-11-05")
            assert f"stored by run {slate.run_id[:8]}" in first.skip_message
        else:
            (request,) = first.run_requests
            assert request.partition_key == "2025-11-05"
            assert request.tags["nba_assets/lines_moved"] == moved
            assert request.tags["nba_assets/lines_compared_with"] == (
                f"raw/player_props stored by run {slate.run_id[:8]}"
            )
            assert request.run_key == poll(et(2025, 11, 5, 10, 15), None).run_requests[0].run_key
        later = poll(et(2025, 11, 5, 10, 30), first.cursor)
        assert not later.run_requests and later.skip_message.startswith("no line moved")


def test_the_first_look_waits_for_the_lines_the_slate_stores(repo, tmp_path, monkeypatch) -> None:
    """Today's schedule stored but not its lines: while the slate's run is still going its lines are not
    final, and when it stopped before them there is nothing to compare with. The first look waits (asking
    no source, keeping the cursor), naming why; once the lines are stored it compares."""
    from dagster._core.test_utils import create_run_for_test

    asked: list[bool] = []
    res = refresh_resources(tmp_path, recording_probes(asked))
    day = "2025-11-05"
    with dg.instance_for_test() as instance:
        at(monkeypatch, et(2025, 11, 5, 10, 15))
        instance.report_runless_asset_event(dg.AssetMaterialization(["raw", "schedule"], partition=day))
        running = create_run_for_test(
            instance,
            job_name="morning_slate_job",
            status=dg.DagsterRunStatus.STARTED,
            tags={"dagster/partition": day},
        )
        waiting = tick(sensors.refresh_lines_sensor, repo, instance, "kept", **res)
        assert waiting.skip_message.startswith(f"first look at {day} waits for the morning_slate_job run")
        assert waiting.cursor == "kept" and not waiting.run_requests and asked == []
        instance.report_run_failed(running)  # it failed before storing the lines
        failed = tick(sensors.refresh_lines_sensor, repo, instance, "kept", **res)
        assert failed.skip_message.startswith(f"no lines of {day} stored") and failed.cursor == "kept"
        assert "morning_slate_job" in failed.skip_message and asked == []
        slate_ran(instance, day)
        first = tick(sensors.refresh_lines_sensor, repo, instance, "kept", **res)
        assert first.skip_message.startswith(f"first look at {day}") and len(asked) == 1


def test_the_low_credits_alert_is_once_per_drop() -> None:
    assert policy.quota_alert_decision(None, 480.0, refused=True) == (True, 480.0)
    assert policy.quota_alert_decision(480.0, 470.0, refused=True) == (False, 480.0)  # same drop
    assert policy.quota_alert_decision(480.0, None, refused=False) == (False, 480.0)  # no reading
    assert policy.quota_alert_decision(480.0, 20000.0, refused=False) == (False, None)  # renewed
    assert policy.quota_alert_decision(480.0, 495.0, refused=True) == (True, 495.0)  # renewed, dropped
    assert policy.quota_alert_decision(None, 600.0, refused=False) == (False, None)
    cursor = policy.with_quota_alerted_at('{"day": "2025-11-05", "games": {}, "launches": 0}', 480.0)
    assert policy.quota_alerted_at(cursor) == 480.0 and json.loads(cursor)["day"] == "2025-11-05"
    assert policy.quota_alerted_at(policy.with_quota_alerted_at(cursor, None)) is None
    assert policy.quota_alerted_at("not json") is None


# ---------------------------------------------------------------- catch-up and grading (real raw runs)


@pytest.fixture(scope="module")
def overnight(tmp_path_factory):
    """An instance with real overnight runs: 2025-11-04 ready, 2025-11-05 read at 22:30 ET while games
    were still on (readiness fails, the blocking check fails the run), 2025-11-03 never run."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("nba"))
    settings.data_dir.mkdir(exist_ok=True)
    assets = [*raw_assets, box_scores_ready_for_grading]
    with dg.instance_for_test() as instance:
        ok = dg.materialize(
            assets,
            selection=SCHEDULE_AND_BOX,
            resources=build_resources(settings),
            instance=instance,
            partition_key="2025-11-04",
        )
        assert ok.success
        during = dg.RunConfig(
            ops={
                k: {"config": {"as_of_utc": "2025-11-06T03:30:00"}}
                for k in ("raw__schedule", "raw__box_scores")
            }
        )
        late = dg.materialize(
            assets,
            selection=SCHEDULE_AND_BOX,
            resources=build_resources(settings),
            instance=instance,
            partition_key="2025-11-05",
            run_config=during,
            raise_on_error=False,
        )
        assert not late.success
        yield instance, settings, late.run_id


def test_catch_up_requests_failed_and_missing_dates_then_gives_up_once(
    repo, overnight, tmp_path, monkeypatch
) -> None:
    instance, _, _ = overnight
    alerts = LocalAlertsResource(path=str(tmp_path / "alerts.log"))
    at(monkeypatch, et(2025, 11, 6, 6))
    result = tick(sensors.box_scores_catch_up_sensor, repo, instance, alerts=alerts)
    assert sorted(r.partition_key for r in result.run_requests) == ["2025-11-03", "2025-11-05"]
    assert {r.run_key for r in result.run_requests} == {
        "box_scores_catch_up:2025-11-03:1",
        "box_scores_catch_up:2025-11-05:1",
    }
    assert json.loads(result.cursor)["attempts"] == {"2025-11-03": 1, "2025-11-05": 1}
    # five more ticks use up the attempts; the seventh gives up and says so, once per date
    cursor = result.cursor
    for _ in range(5):
        cursor = tick(sensors.box_scores_catch_up_sensor, repo, instance, cursor, alerts=alerts).cursor
    assert json.loads(cursor)["attempts"] == {"2025-11-03": 6, "2025-11-05": 6}
    done = tick(sensors.box_scores_catch_up_sensor, repo, instance, cursor, alerts=alerts)
    assert not done.run_requests
    # not "nothing to catch up": the tick gave up and alerted
    assert done.skip_message == ("gave up on 2025-11-03, 2025-11-05 after 6 catch-up runs each (alert sent)")
    again = tick(sensors.box_scores_catch_up_sensor, repo, instance, done.cursor, alerts=alerts)
    assert not again.run_requests
    sent = LocalAlertLog(tmp_path / "alerts.log").read()
    assert sorted(a["partition"] for a in sent) == ["2025-11-03", "2025-11-05"]
    assert {a["kind"] for a in sent} == {"catch_up_exhausted"}
    (nov5,) = [a for a in sent if a["partition"] == "2025-11-05"]
    assert (
        nov5["checks"][0]["check"] == "box_scores_ready_for_grading"
        and nov5["checks"][0]["metadata"]["not_final"]
    )


class DownAlerts(AlertsResource):
    """A sink that refuses every alert: an outage (transient) or a revoked token (not transient)."""

    transient: bool = True

    def send_all(self, alerts: list[Alert]) -> None:
        if alerts:
            raise AlertDeliveryError("Slack unreachable: ConnectionResetError", self.transient)


@pytest.mark.parametrize("transient", [True, False])
def test_an_alert_that_cannot_go_out_does_not_hold_back_the_catch_up_of_other_dates(
    repo, overnight, tmp_path, monkeypatch, transient
) -> None:
    """2025-11-03 runs out of attempts on this tick while 2025-11-05 has attempts left. With the sink
    down, the tick requested nothing at all (and, the cursor held, every later tick the same) until
    the sink came back: one date's undeliverable alert stopped every other date's box scores and so
    its grading. Now the catch-up runs are requested and only the alert waits for the next tick."""
    instance, _, _ = overnight
    at(monkeypatch, et(2025, 11, 6, 6))
    cursor = json.dumps({"attempts": {"2025-11-03": 6, "2025-11-05": 2}, "exhausted": []})
    down = tick(
        sensors.box_scores_catch_up_sensor, repo, instance, cursor, alerts=DownAlerts(transient=transient)
    )
    assert [(r.partition_key, r.run_key) for r in down.run_requests] == [
        ("2025-11-05", "box_scores_catch_up:2025-11-05:3")
    ]
    held = json.loads(down.cursor)
    assert held["attempts"] == {"2025-11-03": 6, "2025-11-05": 3} and held["exhausted"] == []
    # the sink is back: the held alert goes out, once
    alerts = LocalAlertsResource(path=str(tmp_path / "alerts.log"))
    back = tick(sensors.box_scores_catch_up_sensor, repo, instance, down.cursor, alerts=alerts)
    tick(sensors.box_scores_catch_up_sensor, repo, instance, back.cursor, alerts=alerts)
    sent = LocalAlertLog(tmp_path / "alerts.log").read()
    assert [(a["kind"], a["partition"]) for a in sent] == [("catch_up_exhausted", "2025-11-03")]


def test_catch_up_leaves_yesterday_to_the_overnight_run(repo, overnight, tmp_path, monkeypatch) -> None:
    instance, _, _ = overnight
    alerts = LocalAlertsResource(path=str(tmp_path / "alerts.log"))
    at(monkeypatch, et(2025, 11, 6, 4, 30))  # 2025-11-05 is yesterday; its 04:00 run has the first hour
    result = tick(sensors.box_scores_catch_up_sensor, repo, instance, alerts=alerts)
    assert [r.partition_key for r in result.run_requests] == ["2025-11-03"]
    busy = {
        "2025-11-03": policy.ReadinessState(status="FAILED", run_in_progress=True),
        "2025-11-04": policy.ReadinessState(status="SUCCEEDED"),
    }
    assert policy.catch_up_decision(busy, None, et(2025, 11, 6, 6)).requests == (("2025-11-05", 1),)


def test_grading_sensor_grades_a_ready_date_once(repo, overnight, monkeypatch) -> None:
    instance, _, _ = overnight
    at(monkeypatch, et(2025, 11, 6, 6))
    first = tick(sensors.grading_sensor, repo, instance)
    (request,) = first.run_requests
    assert request.partition_key == "2025-11-04" and request.run_key.startswith(
        "grade_job:2025-11-04:box_scores@"
    )
    assert not tick(sensors.grading_sensor, repo, instance, first.cursor).run_requests
    # grades written after the readiness evaluation: nothing to do even without a cursor
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=GRADES, partition="2025-11-04"))
    assert not tick(sensors.grading_sensor, repo, instance).run_requests


def test_grading_follows_box_scores_written_for_an_older_date() -> None:
    """The catch-up gives up on Friday 11-14 on Saturday and says: run the overnight job by hand and
    grading follows. Run on Tuesday 11-18, the sensor judged 11-15..11-17 only: 11-14 was never graded.
    Box scores written since the last read bring their date in, within GRADING_LOOKBACK and before
    today; a write whose run is still going holds the read cursor (its readiness is still to come)."""
    now = et(2025, 11, 18, 9)
    recent = ["2025-11-15", "2025-11-16", "2025-11-17"]
    hand = [policy.PartitionWrite(110, "2025-11-14")]
    assert policy.grading_dates(now, hand) == ["2025-11-14", *recent]
    ignored = [
        policy.PartitionWrite(1, "2024-11-01"),  # older than the lookback
        policy.PartitionWrite(2, "2025-11-18"),  # today: not over yet
        policy.PartitionWrite(3, ""),  # a runless event without a partition
    ]
    assert policy.grading_dates(now, ignored) == recent
    ready = policy.ReadinessState(
        status="SUCCEEDED", check_storage_id=120, box_scores_storage_id=110, latest_box_scores_storage_id=110
    )
    states = {"2025-11-14": ready} | {d: policy.ReadinessState() for d in recent}
    read = json.dumps({"box_scores_after": 100})
    first = policy.grading_decision(states, {}, read, hand)
    assert first.requests == (("2025-11-14", "grade_job:2025-11-14:box_scores@110"),)
    assert json.loads(first.cursor)["box_scores_after"] == 110
    # evaluated again from the same cursor: the same run key (Dagster runs a key once)
    assert policy.grading_decision(states, {}, read, hand).requests == first.requests
    # the next tick reads no new write: 11-14 is not judged again
    later = {d: policy.ReadinessState() for d in recent}
    assert policy.grading_decision(later, {}, first.cursor, []).requests == ()
    # graded after its readiness passed: nothing
    assert policy.grading_decision(states, {"2025-11-14": 130}, read, hand).requests == ()
    # the hand run has written the box scores and not yet evaluated readiness: wait, read it again
    running = policy.ReadinessState(status="PLANNED", run_in_progress=True)
    held = policy.grading_decision(
        {**states, "2025-11-14": running}, {}, read, [policy.PartitionWrite(110, "2025-11-14", False)]
    )
    assert held.requests == () and json.loads(held.cursor)["box_scores_after"] == 100
    first_read = policy.grading_decision(states, {}, None, [policy.PartitionWrite(110, "2025-11-14", False)])
    assert json.loads(first_read.cursor)["box_scores_after"] == 109


def test_a_date_run_by_hand_days_after_the_catch_up_gave_up_is_graded(repo, tmp_path, monkeypatch) -> None:
    """Sunday 11-09: the sensor judges 11-06..11-08. Someone runs the box scores (and readiness) of
    11-04 by hand: grading is requested for 11-04, once per box-scores materialization."""
    settings = Settings(data_dir=tmp_path / "nba")
    settings.data_dir.mkdir()
    at(monkeypatch, et(2025, 11, 9, 9))
    with dg.instance_for_test() as instance:
        # box scores written without readiness (a raw backfill): read, and nothing to grade
        instance.report_runless_asset_event(
            dg.AssetMaterialization(["raw", "box_scores"], partition="2025-10-25")
        )
        first = tick(sensors.grading_sensor, repo, instance)
        assert not first.run_requests
        hand = dg.materialize(
            [*raw_assets, box_scores_ready_for_grading],
            selection=SCHEDULE_AND_BOX,
            resources=build_resources(settings),
            instance=instance,
            partition_key="2025-11-04",
        )
        assert hand.success
        second = tick(sensors.grading_sensor, repo, instance, first.cursor)
        (request,) = second.run_requests
        box = queries.latest_materialization(instance, dg.AssetKey(["raw", "box_scores"]), "2025-11-04")
        assert request.partition_key == "2025-11-04"
        assert request.run_key == f"grade_job:2025-11-04:box_scores@{box.storage_id}"
        assert request.tags["nba_assets/trigger"] == "grading_sensor"
        assert not tick(sensors.grading_sensor, repo, instance, second.cursor).run_requests
        # a tick evaluated again from the older cursor (not saved) names the same run key
        again = tick(sensors.grading_sensor, repo, instance, first.cursor)
        assert [r.run_key for r in again.run_requests] == [request.run_key]
        # the first tick had read the backfill's write: the cursor names it
        assert json.loads(first.cursor)["box_scores_after"] < box.storage_id
        # the catch-up's give-up alert says so
        assert "grading follows" in policy.catch_up_exhausted_alert("2025-11-04", 6, None).text


def test_a_range_run_gives_each_date_its_own_readiness(repo, tmp_path, monkeypatch) -> None:
    """One overnight run over 2025-11-03 .. 2025-11-05, read at 22:30 ET on the 5th: the 3rd and 4th
    are ready, the 5th is not. Each date gets its own evaluation (a range run's result used to be
    stored without a partition, leaving all three PLANNED: the catch-up relaunched the ready dates and
    grading never saw them)."""
    from nba_assets.defs.automation import queries

    settings = Settings(data_dir=tmp_path / "nba")
    settings.data_dir.mkdir()
    days = ["2025-11-03", "2025-11-04", "2025-11-05"]
    during = dg.RunConfig(
        ops={
            k: {"config": {"as_of_utc": "2025-11-06T03:30:00"}} for k in ("raw__schedule", "raw__box_scores")
        }
    )
    with dg.instance_for_test() as instance:
        run = dg.materialize(
            [*raw_assets, box_scores_ready_for_grading],
            selection=SCHEDULE_AND_BOX,
            resources=build_resources(settings),
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": days[0],
                "dagster/asset_partition_range_end": days[-1],
            },
            run_config=during,
            raise_on_error=False,
        )
        assert not run.success  # the 5th's blocking check failed
        ready = [e for e in run.get_asset_check_evaluations() if e.check_name == READY]
        assert sorted((e.partition, e.passed) for e in ready) == [
            ("2025-11-03", True),
            ("2025-11-04", True),
            ("2025-11-05", False),
        ]
        states = queries.readiness_states(instance, days, "overnight_box_scores_job")
        assert [states[d].status for d in days] == ["SUCCEEDED", "SUCCEEDED", "FAILED"]
        assert all(states[d].current and states[d].box_scores_storage_id for d in days)

        alerts = LocalAlertsResource(path=str(tmp_path / "alerts.log"))
        at(monkeypatch, et(2025, 11, 6, 6))
        catch_up = tick(sensors.box_scores_catch_up_sensor, repo, instance, alerts=alerts)
        assert [r.partition_key for r in catch_up.run_requests] == ["2025-11-05"]
        grading = tick(sensors.grading_sensor, repo, instance)
        assert sorted(r.partition_key for r in grading.run_requests) == ["2025-11-03", "2025-11-04"]
        # the alerts name the date that failed, and the catch-up's give-up alert finds its evaluation
        (alert,) = policy.run_alerts(queries.run_facts(instance, run.run_id))
        assert [c["partition"] for c in alert.checks] == ["2025-11-05"]
        last = queries.failed_readiness(instance, "2025-11-05")
        assert last is not None and last["metadata"]["not_final"] and last["metadata"]["games"] == 11


def test_readiness_runs_in_the_overnight_and_grade_jobs_not_the_raw_backfill(repo) -> None:
    """One evaluation per date is ~70 ms on the local event log: the history ingest leaves it out."""
    step = "raw__box_scores_box_scores_ready_for_grading"
    assert step in repo.get_job("overnight_box_scores_job").graph.node_dict
    assert step in repo.get_job("grade_job").graph.node_dict
    assert step not in repo.get_job("ingest_raw_job").graph.node_dict


# ---------------------------------------------------------------- alerts


@dg.op
def _dies() -> None:
    os._exit(1)  # the step's process is killed: no step failure event, as for an out-of-memory kill


@dg.job(executor_def=dg.multiprocess_executor)
def crashing_job() -> None:
    _dies()


def test_a_crashed_runs_alert_names_the_run_that_relaunched_it() -> None:
    # Seen from `dagster dev`: a dbt step's process died and the run failed; the instance relaunched it
    # (run_retries, tag dagster/auto_retry_run_id), but the alert did not say so: whoever reads it at
    # 4 am cannot tell a run that needs a person from one already being retried.
    from nba_assets.defs.automation import queries

    with dg.instance_for_test() as instance:
        result = dg.execute_job(dg.reconstructable(crashing_job), instance=instance, raise_on_error=False)
        assert not result.success
        facts = queries.run_facts(instance, result.run_id)
        assert facts.failed_steps == (("_dies", "ChildProcessCrashException"),)
        (before,) = policy.run_alerts(facts)
        assert "relaunched" not in before.text  # the daemon had not relaunched it (yet)
        instance.add_run_tags(
            result.run_id, {"dagster/auto_retry_run_id": "b3e7df85-c7cb-4a3e-9218-d75650604d29"}
        )
        (alert,) = policy.run_alerts(queries.run_facts(instance, result.run_id))
    assert alert.kind == "run_failure"
    assert "failed steps: _dies (ChildProcessCrashException)" in alert.text
    assert "relaunched as run b3e7df85 (run_retries)" in alert.text


def test_alerts_sensor_reports_the_real_failed_overnight_run_once(repo, overnight, tmp_path) -> None:
    instance, _, failed_run = overnight
    alerts = LocalAlertsResource(path=str(tmp_path / "alerts.log"))
    first = tick(sensors.alerts_sensor, repo, instance, alerts=alerts)
    second = tick(sensors.alerts_sensor, repo, instance, first.cursor, alerts=alerts)
    assert second.skip_message == "no new failures"
    (alert,) = LocalAlertLog(tmp_path / "alerts.log").read()
    assert (
        alert["kind"] == "run_failure"
        and alert["run_id"] == failed_run
        and alert["partition"] == "2025-11-05"
    )
    (check,) = alert["checks"]
    assert (check["asset"], check["check"], check["severity"]) == (
        "raw/box_scores",
        "box_scores_ready_for_grading",
        "ERROR",
    )
    assert check["partition"] == "2025-11-05" and check["metadata"]["games"] == 11
    assert "raw__box_scores_box_scores_ready_for_grading" in alert["text"]


SLACK_SERVERS: dict[str, FaultServer] = {}
POST_MESSAGE = "/api/chat.postMessage"


def slack_reply(code: str | None = None, status: int = 200, headers: dict[str, str] | None = None) -> Any:
    """A Slack Web API answer: ``{"ok": true}``, or ``{"ok": false, "error": code}``."""
    body = {"ok": True, "channel": "C1", "ts": "1.0"} if code is None else {"ok": False, "error": code}
    return reply(status, json.dumps(body).encode(), {"Content-Type": "application/json", **(headers or {})})


class FakeSlack(SlackResource):
    """dagster-slack's resource and its real ``WebClient``, pointed at a loopback Slack API."""

    def get_client(self):  # type: ignore[override]
        client = super().get_client()
        client.base_url = f"{SLACK_SERVERS[self.token].base}/api/"
        return client


@pytest.fixture
def slack():
    def serve(token: str, *answers: Any) -> FaultServer:
        server = SLACK_SERVERS[token] = FaultServer()
        server.script(POST_MESSAGE, *answers)
        return server

    yield serve
    for server in SLACK_SERVERS.values():
        server.close()
    SLACK_SERVERS.clear()


def _slack_alerts(token: str, channel: str = "#c") -> SlackAlertsResource:
    return SlackAlertsResource(slack=FakeSlack(token=token), channel=channel)


def posted(server: FaultServer) -> list[dict]:
    """The messages the server accepted or refused, in order (chat.postMessage sends JSON)."""
    return [json.loads(c.body) for c in server.calls if c.path == POST_MESSAGE]


DAILY = dg.DailyPartitionsDefinition(start_date="2025-11-01", timezone="America/New_York")


class DemoConfig(dg.Config):
    priced: bool = True


@dg.asset(
    key=["demo", "lines"],
    partitions_def=DAILY,
    check_specs=[
        dg.AssetCheckSpec("lines_fresh", asset=["demo", "lines"]),
        dg.AssetCheckSpec("lines_priced", asset=["demo", "lines"], blocking=True),
    ],
)
def demo_lines(config: DemoConfig):
    yield dg.MaterializeResult()
    yield dg.AssetCheckResult(
        check_name="lines_fresh",
        passed=False,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"age_minutes": 95, "source_url": "https://api.example/odds?apiKey=s3cr3t&market=pts"},
    )
    yield dg.AssetCheckResult(
        check_name="lines_priced", passed=config.priced, metadata={"unpriced": 0 if config.priced else 4}
    )


def test_alerts_sensor_end_to_end_to_slack_exactly_once(repo, slack) -> None:
    server = slack("xoxb-test-token", slack_reply())
    alerts = _slack_alerts("xoxb-test-token", "#nba-alerts")
    with dg.instance_for_test() as instance:
        ok = dg.materialize([demo_lines], instance=instance, partition_key="2025-11-05")
        assert ok.success  # the failed check is a WARN: the run goes on
        first = tick(sensors.alerts_sensor, repo, instance, alerts=alerts)
        assert len(posted(server)) == 1
        # the tick history tells the tick that alerted from one with nothing to do (a blank skip did not)
        assert first.skip_message == "1 alert(s) sent"
        text = posted(server)[0]["text"]
        assert posted(server)[0]["channel"] == "#nba-alerts"
        assert server.calls[0].headers["Authorization"] == "Bearer xoxb-test-token"  # the real client
        assert (
            "demo/lines:lines_fresh" in text
            and "WARN" in text
            and "2025-11-05" in text
            and "age_minutes=95" in text
        )
        assert "s3cr3t" not in text and "xoxb-test-token" not in text
        second = tick(sensors.alerts_sensor, repo, instance, first.cursor, alerts=alerts)
        assert len(posted(server)) == 1 and second.skip_message == "no new failures"

        bad = dg.materialize(
            [demo_lines],
            instance=instance,
            partition_key="2025-11-06",
            raise_on_error=False,
            run_config=dg.RunConfig(ops={"demo__lines": DemoConfig(priced=False)}),
        )
        assert not bad.success  # blocking ERROR check
        third = tick(sensors.alerts_sensor, repo, instance, second.cursor, alerts=alerts)
        assert len(posted(server)) == 2  # one message for the failed run, with both failed checks in it
        run_text = posted(server)[1]["text"]
        assert "Run failed" in run_text and bad.run_id[:8] in run_text
        assert "demo/lines:lines_priced" in run_text and "demo/lines:lines_fresh" in run_text
        tick(sensors.alerts_sensor, repo, instance, third.cursor, alerts=alerts)
        assert len(posted(server)) == 2


def test_alert_delivery_failure_keeps_the_cursor_and_retries(repo, slack) -> None:
    """Slack unreachable (connections reset; slack_sdk retries a connection error once): the tick is
    skipped with the cursor held, and the next tick delivers."""
    down = slack("xoxb-down", reset())
    up = slack("xoxb-up", slack_reply())
    with dg.instance_for_test() as instance:
        assert dg.materialize([demo_lines], instance=instance, partition_key="2025-11-05").success
        failed = tick(sensors.alerts_sensor, repo, instance, alerts=_slack_alerts("xoxb-down"))
        assert "delivery failed" in failed.skip_message and down.count(POST_MESSAGE) == 2
        tick(sensors.alerts_sensor, repo, instance, failed.cursor, alerts=_slack_alerts("xoxb-up"))
        assert len(posted(up)) == 1


SLOW_SINK: dict[str, Any] = {"now": None, "sent": []}


class SlowAlerts(AlertsResource):
    """A sink that takes 8 s of the sensors' clock per message (Slack answering slowly, or pacing
    a burst at its rate limit)."""

    def send_all(self, alerts: list[Alert]) -> None:
        SLOW_SINK["now"] += timedelta(seconds=8)
        SLOW_SINK["sent"] += [a.run_id for a in alerts]


def test_a_backlog_of_alerts_is_sent_over_several_ticks_each_within_its_time_budget(
    repo, monkeypatch
) -> None:
    """A tick that outlives Dagster's sensor timeout (60 s) stores no cursor: the alerts it had already
    posted went out again on the next tick, which timed out the same way, and so on. After an outage
    (or a first tick, which looks back 24 hours) a backlog of failed runs at 8 s a message took
    8 x 8 = 64 s in one tick. A tick now stops posting once its budget is spent and keeps its place;
    the next tick goes on, and every alert goes out exactly once."""
    SLOW_SINK.update(now=datetime.now(UTC), sent=[])
    monkeypatch.setattr(sensors, "utc_now", lambda: SLOW_SINK["now"])
    with dg.instance_for_test() as instance:
        runs = [
            dg.materialize([demo_lines], instance=instance, partition_key=f"2025-11-{d:02d}").run_id
            for d in range(1, 9)
        ]
        cursor, ticks = None, 0
        while ticks < 10:
            start = SLOW_SINK["now"]
            result = tick(sensors.alerts_sensor, repo, instance, cursor, alerts=SlowAlerts())
            ticks += 1
            assert SLOW_SINK["now"] - start < timedelta(seconds=45)  # well inside Dagster's 60 s
            cursor = result.cursor
            if result.skip_message == "no new failures":
                break
        assert SLOW_SINK["sent"] == runs and ticks > 2


def test_a_rate_limited_post_waits_once_and_is_delivered_in_the_same_tick(repo, slack) -> None:
    """HTTP 429 with Retry-After: by default slack_sdk does not retry it (the delivery failed and the
    next tick posted the whole batch again); the client now waits it out once."""
    server = slack("xoxb-busy", slack_reply("ratelimited", 429, {"Retry-After": "0"}), slack_reply())
    with dg.instance_for_test() as instance:
        assert dg.materialize([demo_lines], instance=instance, partition_key="2025-11-05").success
        result = tick(sensors.alerts_sensor, repo, instance, alerts=_slack_alerts("xoxb-busy"))
        assert "failed" not in (result.skip_message or "") and len(posted(server)) == 2  # refused, then taken


@pytest.fixture
def slack_sleeps(monkeypatch) -> list[float]:
    """slack_sdk's 429 handler sleeps ``Retry-After`` (+ up to 1 s): recorded here, not slept."""
    from types import SimpleNamespace

    from slack_sdk.http_retry import builtin_handlers

    sleeps: list[float] = []
    monkeypatch.setattr(builtin_handlers, "time", SimpleNamespace(sleep=sleeps.append))
    return sleeps


@pytest.mark.parametrize(
    ("wait", "waited"),
    [(str(SLACK_MAX_RETRY_AFTER_SECONDS), True), ("11", False), ("3600", False), ("soon", False)],
)
def test_a_send_waits_out_only_a_short_retry_after(slack, slack_sleeps, wait, waited) -> None:
    """slack_sdk's 429 handler sleeps for the whole Retry-After: an hour's rate limit held a sensor tick
    (Dagster's limit: 60 s) for an hour. A Retry-After up to SLACK_MAX_RETRY_AFTER_SECONDS is waited out
    once; a longer or unreadable one fails the send at once, as transient, naming Slack, the channel and
    the Retry-After."""
    server = slack("xoxb-limited", slack_reply("ratelimited", 429, {"Retry-After": wait}), slack_reply())
    sink = SlackAlerts(slack_client(FakeSlack(token="xoxb-limited").get_client()), "#nba-alerts")
    alert = Alert(kind="run_failure", title="Run failed", run_id="r1")
    if waited:
        sink.send_all([alert])
        assert len(posted(server)) == 2 and len(slack_sleeps) == 1
        assert int(wait) <= slack_sleeps[0] < int(wait) + 1
        return
    with pytest.raises(AlertDeliveryError) as err:
        sink.send_all([alert])
    assert err.value.transient and slack_sleeps == [] and len(posted(server)) == 1
    message = str(err.value)
    assert "Slack rate-limited the alert to channel #nba-alerts" in message
    assert f"Retry-After: {wait}" in message and "xoxb" not in message


def test_a_long_rate_limit_holds_the_alert_for_a_later_tick(repo, slack, slack_sleeps) -> None:
    """A tick that meets a long Retry-After does not wait for it: the delivery fails as transient, the
    tick ends at once with its cursor before the alert, and a later tick sends it, exactly once."""
    limited = slack("xoxb-hour", slack_reply("ratelimited", 429, {"Retry-After": "3600"}), slack_reply())
    with dg.instance_for_test() as instance:
        assert dg.materialize([demo_lines], instance=instance, partition_key="2025-11-05").success
        held = tick(sensors.alerts_sensor, repo, instance, alerts=_slack_alerts("xoxb-hour"))
        assert held.skip_message == "alert delivery failed; retrying next tick"
        assert slack_sleeps == [] and len(posted(limited)) == 1
        later = tick(sensors.alerts_sensor, repo, instance, held.cursor, alerts=_slack_alerts("xoxb-hour"))
        assert len(posted(limited)) == 2 and "demo/lines:lines_fresh" in posted(limited)[1]["text"]
        tick(sensors.alerts_sensor, repo, instance, later.cursor, alerts=_slack_alerts("xoxb-hour"))
        assert len(posted(limited)) == 2


def test_a_slack_delivery_fits_the_alerts_ticks_budget() -> None:
    """The slowest send (a call timing out, the longest Retry-After waited out with its up to 1 s of
    jitter, a second call timing out) started at the end of the tick's budget ends inside Dagster's 60 s."""
    slowest = 2 * SLACK_TIMEOUT_SECONDS + SLACK_MAX_RETRY_AFTER_SECONDS + 1
    assert policy.ALERTS_TICK_BUDGET.total_seconds() + slowest < 60


@pytest.mark.parametrize("code", ["channel_not_found", "invalid_auth", "not_in_channel"])
def test_a_refusal_that_needs_a_person_fails_the_tick_and_holds_the_alerts(repo, slack, code) -> None:
    """A wrong channel or a revoked token is not an outage: retrying every minute in silence would
    look like a quiet day. The tick fails (red in the UI) naming Slack's error code and what to fix,
    the cursor stays put, and once Slack accepts, the held alerts go out exactly once."""
    refused = slack("xoxb-refused", slack_reply(code))
    fixed = slack("xoxb-fixed", slack_reply())
    with dg.instance_for_test() as instance:
        assert dg.materialize([demo_lines], instance=instance, partition_key="2025-11-05").success
        with pytest.raises(Exception, match=rf"Slack refused the alert: {code}\. Alerts are held") as err:
            tick(sensors.alerts_sensor, repo, instance, alerts=_slack_alerts("xoxb-refused"))
        assert "xoxb" not in str(err.value) and len(posted(refused)) == 1
        delivered = tick(
            sensors.alerts_sensor,
            repo,
            instance,
            None,  # the failed tick stored no cursor
            alerts=_slack_alerts("xoxb-fixed"),
        )
        assert len(posted(fixed)) == 1 and "demo/lines:lines_fresh" in posted(fixed)[0]["text"]
        tick(sensors.alerts_sensor, repo, instance, delivered.cursor, alerts=_slack_alerts("xoxb-fixed"))
        assert len(posted(fixed)) == 1


def test_one_events_alerts_are_one_slack_message(slack) -> None:
    """A run's failed checks go out together: a failure part-way can never repeat half a batch."""
    server = slack("xoxb-batch", slack_reply())
    client = slack_client(FakeSlack(token="xoxb-batch").get_client())
    assert client.timeout == SLACK_TIMEOUT_SECONDS
    alerts = [
        Alert(kind="check_failure", title=f"Check failed: a:c{i} (WARN)", run_id="r1") for i in range(3)
    ]
    SlackAlerts(client, "#c").send_all(alerts)
    (message,) = posted(server)
    assert all(f"a:c{i}" in message["text"] for i in range(3))


def test_slack_alerts_escape_slacks_control_characters(slack) -> None:
    """Slack reads &, < and > as control characters (``<!channel>`` notifies the whole channel, ``<a|b>``
    is a link, an unmatched ``<`` swallows text): its formatting docs ask for them as &amp; &lt; &gt;.
    Alert texts carry check metadata, book-supplied player names and dbt test output; they used to go
    out raw, so "quality < 70 ... > 0.2" rendered mangled and a name like "<!channel>" pinged everyone."""
    server = slack("xoxb-escape", slack_reply())
    client = slack_client(FakeSlack(token="xoxb-escape").get_client())
    check = {
        "asset": "raw/player_props",
        "check": "player_props_unresolved_name_share",
        "severity": "WARN",
        "partition": "2025-11-05",
        "metadata": {"unresolved": "<!channel> Smith & Jones", "rule": "quality < 70 and share > 0.2"},
    }
    SlackAlerts(client, "#c").send_all(
        [Alert(kind="check_failure", title="Check failed: raw/player_props (WARN)", checks=(check,))]
    )
    (message,) = posted(server)
    text = message["text"]
    assert "unresolved=&lt;!channel&gt; Smith &amp; Jones" in text
    assert "rule=quality &lt; 70 and share &gt; 0.2" in text
    assert "<" not in text and ">" not in text
    assert text.startswith("*Check failed: raw/player_props (WARN)*")  # mrkdwn is kept
    # a cut long message never ends inside an entity
    SlackAlerts(client, "#c").send_all([Alert(kind="daily_summary", title="t", text="<" * 20_000)])
    long = posted(server)[1]["text"]
    assert len(long) <= SLACK_MAX_TEXT and long.endswith("\n... (cut: see the run in Dagster)")
    assert long.removesuffix("\n... (cut: see the run in Dagster)").endswith("&lt;")


def test_alerts_resource_is_slack_only_in_prod_with_a_channel(tmp_path) -> None:
    local = alerts_resource(Settings(data_dir=tmp_path))
    assert isinstance(local, LocalAlertsResource) and local.path == str(tmp_path / "alerts.log")
    # prod without a channel: the alert log in the object store (a file of the sensor's pod is lost)
    store = LocalObjectStoreResource(root=str(tmp_path / "objects"))
    logged = alerts_resource(Settings(env="prod", data_dir=tmp_path), store)
    assert isinstance(logged, ObjectStoreAlertsResource) and logged.object_store is store
    with pytest.raises(ValueError, match="pass the object_store resource"):
        alerts_resource(Settings(env="prod", data_dir=tmp_path))
    prod = alerts_resource(Settings(env="prod", data_dir=tmp_path, slack_channel="#nba"))
    assert isinstance(prod, SlackAlertsResource) and prod.channel == "#nba"
    assert isinstance(prod.slack.token, dg.EnvVar) and prod.slack.token.env_var_name == "SLACK_BOT_TOKEN"
    assert isinstance(build_resources(Settings(data_dir=tmp_path))["alerts"], LocalAlertsResource)


def test_redact_masks_keys_and_tokens() -> None:
    assert policy.redact("GET /odds?apiKey=abc123&x=1") == "GET /odds?apiKey=***&x=1"
    assert policy.redact("token xoxb-1234-abcd used") == "token xox?-*** used"
    assert policy.redact(42) == 42


# ---------------------------------------------------------------- alert sinks that fail


def test_delivery_errors_are_transient_only_when_a_later_try_can_work() -> None:
    """Every sink classifies its errors the same way (Slack's codes apart): an outage, a rate limit or a
    timeout is retried; a refusal (403/404/401, a permission, a missing folder, a full disk) or an error
    of unknown kind is not."""
    import errno

    from google.api_core import exceptions as google_errors

    from nba_assets.lib.alerts import delivery_error, is_transient
    from nba_assets.lib.errors import StoreUnavailableError

    transient = [
        StoreUnavailableError("object store: writing alerts/x failed after retries (ServiceUnavailable)"),
        google_errors.ServiceUnavailable("503"),
        google_errors.TooManyRequests("429"),
        google_errors.InternalServerError("500"),
        TimeoutError("timed out"),
        ConnectionResetError(errno.ECONNRESET, "reset"),
        OSError(errno.EAGAIN, "try again"),
    ]
    permanent = [
        google_errors.Forbidden("403 POST https://storage.googleapis.com/upload/b/nba-bucket"),
        google_errors.NotFound("404 bucket nba-bucket"),
        google_errors.Unauthorized("401"),
        PermissionError(errno.EACCES, "Permission denied", "/data/alerts.log"),
        OSError(errno.EROFS, "Read-only file system", "/data/alerts.log"),
        OSError(errno.ENOSPC, "No space left on device", "/data/alerts.log"),
        NotADirectoryError(errno.ENOTDIR, "Not a directory", "/data/alerts.log"),
        ValueError("a bug"),
    ]
    assert [is_transient(e) for e in transient] == [True] * len(transient)
    assert [is_transient(e) for e in permanent] == [False] * len(permanent)
    error = delivery_error("the alert log gs://nba-bucket/prod/alerts", permanent[0], "check the bucket")
    assert (
        str(error)
        == "the alert log gs://nba-bucket/prod/alerts could not take the alert: Forbidden (HTTP 403)"
    )
    assert not error.transient and error.fix == "check the bucket"
    assert "PermissionError (EACCES: Permission denied, /data/alerts.log)" in str(
        delivery_error("the alert log /data/alerts.log", permanent[3])
    )


def test_an_alert_log_that_cannot_be_written_fails_the_tick_and_holds_the_alerts(repo, tmp_path) -> None:
    """The alert log's folder is a file (as for a read-only or full disk, every write raises an OSError):
    every tick used to be a grey skip, "retrying next tick", with the cursor held, so failed runs went
    unreported and it looked like a quiet day. The tick now fails red naming the log and the error; once
    the log can be written, the held alerts go out, once."""
    (tmp_path / "data").write_text("")
    broken = LocalAlertsResource(path=str(tmp_path / "data" / "alerts.log"))
    fixed = LocalAlertsResource(path=str(tmp_path / "alerts.log"))
    with dg.instance_for_test() as instance:
        assert dg.materialize([demo_lines], instance=instance, partition_key="2025-11-05").success
        for _ in range(2):  # every tick, not only the first
            with pytest.raises(AlertDeliveryError) as err:
                tick(sensors.alerts_sensor, repo, instance, alerts=broken)
            message = str(err.value)
            assert f"the alert log {tmp_path / 'data' / 'alerts.log'} could not take the alert" in message
            assert "FileExistsError" in message and "Alerts are held" in message
        delivered = tick(sensors.alerts_sensor, repo, instance, None, alerts=fixed)
        tick(sensors.alerts_sensor, repo, instance, delivered.cursor, alerts=fixed)
    (alert,) = LocalAlertLog(tmp_path / "alerts.log").read()
    assert alert["checks"][0]["check"] == "lines_fresh"


class BucketAlerts(AlertsResource):
    """The prod alert log without a Slack channel: GCS, through the client the object store wraps."""

    refuse: str = ""  # a google.api_core exception class name, raised by every upload

    def get_sink(self):
        from google.api_core import exceptions as google_errors

        from nba_assets.lib.alerts import ObjectStoreAlertLog
        from nba_assets.lib.storage.object_store import GCSObjectStore
        from nba_assets_tests.fake_gcs import FakeGCSClient

        refusal = getattr(google_errors, self.refuse)(f"{self.refuse} on nba-bucket") if self.refuse else None
        client = FakeGCSClient("nba-bucket", fail_uploads=0 if refusal else 1, refuse=refusal)
        return ObjectStoreAlertLog(GCSObjectStore(client, "nba-bucket", "prod"))


@pytest.mark.parametrize("refusal", ["Forbidden", "NotFound"])
def test_a_bucket_that_refuses_the_alerts_fails_the_tick_red(repo, refusal) -> None:
    """GCS answering 403 (the service account may not write alerts/) or 404 (no such bucket) to the
    alert log is not an outage: the tick fails red naming the bucket and the status. A 503 still failing
    after the client's retries is an outage: skipped, retried next tick."""
    with dg.instance_for_test() as instance:
        assert dg.materialize([demo_lines], instance=instance, partition_key="2025-11-05").success
        with pytest.raises(AlertDeliveryError) as err:
            tick(sensors.alerts_sensor, repo, instance, alerts=BucketAlerts(refuse=refusal))
        assert "the alert log gs://nba-bucket/prod/alerts could not take the alert" in str(err.value)
        assert refusal in str(err.value) and "service account" in str(err.value)
        outage = tick(sensors.alerts_sensor, repo, instance, alerts=BucketAlerts())
        assert outage.skip_message == "alert delivery failed; retrying next tick"


def test_an_outage_of_the_alert_sink_turns_red_after_an_hour(repo, tmp_path, monkeypatch) -> None:
    """A transient failure (Slack unreachable) is a grey skip, retried every tick; a sink down all day
    used to stay grey all day. After ALERT_DELIVERY_PATIENCE of failures the ticks fail red, naming how
    long; once the sink takes the alerts they go out, once, and the count starts over."""
    start = et(2025, 11, 6, 9)
    with dg.instance_for_test() as instance:
        assert dg.materialize([demo_lines], instance=instance, partition_key="2025-11-05").success
        at(monkeypatch, start)
        first = tick(sensors.alerts_sensor, repo, instance, alerts=DownAlerts())
        assert first.skip_message == "alert delivery failed; retrying next tick"
        assert policy.delivery_failing_since(first.cursor) == start
        at(monkeypatch, start + timedelta(minutes=59))
        grey = tick(sensors.alerts_sensor, repo, instance, first.cursor, alerts=DownAlerts())
        assert grey.skip_message and policy.delivery_failing_since(grey.cursor) == start
        at(monkeypatch, start + policy.ALERT_DELIVERY_PATIENCE)
        with pytest.raises(AlertDeliveryError, match=r"alert delivery has failed for 60 min \(since "):
            tick(sensors.alerts_sensor, repo, instance, grey.cursor, alerts=DownAlerts())
        alerts = LocalAlertsResource(path=str(tmp_path / "alerts.log"))
        back = tick(sensors.alerts_sensor, repo, instance, grey.cursor, alerts=alerts)
        assert policy.delivery_failing_since(back.cursor) is None
        tick(sensors.alerts_sensor, repo, instance, back.cursor, alerts=alerts)
    assert len(LocalAlertLog(tmp_path / "alerts.log").read()) == 1


SINK_LOG: list[str] = []


class RefusesAfterOne(AlertsResource):
    """Takes one batch, then refuses every other until it is fixed (a disk that fills up)."""

    def send_all(self, alerts: list[Alert]) -> None:
        if alerts and SINK_LOG:
            raise AlertDeliveryError("the alert log x could not take the alert: OSError (ENOSPC)", False)
        SINK_LOG.extend(a.partition for a in alerts)


def test_a_sink_that_breaks_part_way_through_a_tick_keeps_what_went_out(repo) -> None:
    """Two failed checks to report; the sink takes the first and then refuses. A red tick stores no
    cursor: the first alert would go out again once the sink is fixed. The tick keeps what it sent
    (a skip naming the error), the next one fails red, and after the fix the second goes out, once."""
    SINK_LOG.clear()
    with dg.instance_for_test() as instance:
        for day in ("2025-11-05", "2025-11-06"):
            assert dg.materialize([demo_lines], instance=instance, partition_key=day).success
        part = tick(sensors.alerts_sensor, repo, instance, alerts=RefusesAfterOne())
        assert part.skip_message.startswith("1 alert(s) sent, then: the alert log x") and SINK_LOG == [
            "2025-11-05"
        ]
        with pytest.raises(AlertDeliveryError, match="ENOSPC"):
            tick(sensors.alerts_sensor, repo, instance, part.cursor, alerts=RefusesAfterOne())
        fixed = LocalAlertsResource(path=str(Path(instance.root_directory) / "alerts.log"))
        tick(sensors.alerts_sensor, repo, instance, part.cursor, alerts=fixed)
        assert [
            a["partition"] for a in LocalAlertLog(Path(instance.root_directory) / "alerts.log").read()
        ] == ["2025-11-06"]


def test_the_catch_up_give_up_alert_turns_red_after_an_hour_of_failed_deliveries(
    repo, overnight, monkeypatch
) -> None:
    """The catch-up's "gave up" alert has the same path: an outage is retried every tick (30 min), and
    after an hour of failures a tick with nothing else to do fails red."""
    instance, _, _ = overnight
    cursor = json.dumps({"attempts": {"2025-11-03": 6, "2025-11-05": 6}, "exhausted": []})
    start = et(2025, 11, 6, 6)
    at(monkeypatch, start)
    first = tick(sensors.box_scores_catch_up_sensor, repo, instance, cursor, alerts=DownAlerts())
    assert not first.run_requests and "delivery failed" in first.skip_message
    at(monkeypatch, start + timedelta(minutes=30))
    second = tick(sensors.box_scores_catch_up_sensor, repo, instance, first.cursor, alerts=DownAlerts())
    assert "delivery failed" in second.skip_message
    at(monkeypatch, start + timedelta(minutes=60))
    with pytest.raises(AlertDeliveryError, match="alert delivery has failed for 60 min"):
        tick(sensors.box_scores_catch_up_sensor, repo, instance, second.cursor, alerts=DownAlerts())


# ---------------------------------------------------------------- daily summary


class GradeConfig(dg.Config):
    record: dict = {}


@dg.asset(key=GRADES, partitions_def=DAILY)
def fake_grades(config: GradeConfig) -> dg.MaterializeResult:
    """The metadata contract of grading/prediction_grades, without the graph behind it."""
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": 120,
            "record_by_system": config.record,
            "results": {"LOSS": 9, "PASS": 80, "VOID": 2, "WIN": 14},
        }
    )


@dg.asset(key=PERF, partitions_def=DAILY, deps=[GRADES])
def fake_performance() -> dg.MaterializeResult:
    return dg.MaterializeResult(
        metadata={
            "season_by_system": dg.MetadataValue.md("| system | hit_rate |\n|---|---|\n| catboost | 0.56 |")
        }
    )


def test_daily_summary_once_per_graded_date(repo, tmp_path) -> None:
    alerts = LocalAlertsResource(path=str(tmp_path / "alerts.log"))
    record = dg.RunConfig(
        ops={"grading__prediction_grades": GradeConfig(record={"catboost": "14-9", "baseline_l10": "10-12"})}
    )
    with dg.instance_for_test() as instance:
        assert dg.materialize(
            [fake_grades, fake_performance], instance=instance, partition_key="2025-11-04", run_config=record
        ).success
        first = tick(sensors.daily_summary_sensor, repo, instance, alerts=alerts)
        assert first.skip_message == "daily summary sent for 2025-11-04"
        # a regrade of the same date, and a run that grades nothing: no second summary
        assert dg.materialize(
            [fake_grades, fake_performance], instance=instance, partition_key="2025-11-04", run_config=record
        ).success
        assert dg.materialize([demo_lines], instance=instance, partition_key="2025-11-04").success
        tick(sensors.daily_summary_sensor, repo, instance, first.cursor, alerts=alerts)
    (summary,) = LocalAlertLog(tmp_path / "alerts.log").read()
    assert summary["kind"] == "daily_summary" and summary["partition"] == "2025-11-04"
    assert (
        "`catboost`: 14-9 (60.9%)" in summary["text"] and "`baseline_l10`: 10-12 (45.5%)" in summary["text"]
    )
    assert "catboost | 0.56" in summary["text"] and "WIN 14" in summary["text"]


def test_the_daily_summary_gives_the_calls_as_first_published_when_any_were() -> None:
    published = {
        "catboost": {
            "bets": 3,
            "record": "2-1-0",
            "roi": 0.2,
            "clv_calls": 2,
            "clv_mean": 1.5,
            "beat_close_share": 1.0,
            "withdrawn_bets": 2,
            "withdrawn_record": "2-0-0",
        },
        "catboost_line": {"bets": 0, "record": "0-0-0", "roi": None, "clv_calls": 0, "clv_mean": None},
    }
    meta = {"record_by_system": {"catboost": "0-2"}}
    perf = {"published_by_system": "| window | system |\n|---|---|\n| 30d | catboost |"}
    text = policy.daily_summary("2025-11-05", meta, perf, {"published_record_by_system": published}).text
    assert "`catboost`: 0-2 (0.0%)" in text
    assert "As first published" in text
    assert "`catboost`: 2-1-0, CLV +1.50 pts (100% beat the close), withdrawn 2 (2-0-0)" in text
    assert "`catboost_line`: 0-0-0, no CLV" in text
    assert "As first published, last 30 days and season to date:\n| window | system |" in text
    # nothing published (a backfill): the metadata says so in words, and the summary leaves it out
    quiet = {"published_record_by_system": publications.NOTHING_PUBLISHED}
    assert "As first published" not in policy.daily_summary("2025-11-05", meta, perf, quiet).text
    # a grading run without the published grades (none yet in its run) neither
    assert "As first published" not in policy.daily_summary("2025-11-05", meta, perf, {}).text


def test_predictions_freshness_check_before_first_tipoff(repo) -> None:
    """Today's predictions must exist before the first tip-off: a freshness check with an 11:30 ET
    deadline on the predictions, evaluated by a sensor that starts with the daemon."""
    from nba_assets.defs.automation.freshness import DEADLINE_CRON, PREDICTIONS

    graph = repo.asset_graph
    keys = {k for k in graph.asset_check_keys if k.asset_key == PREDICTIONS}
    assert any("freshness" in k.name for k in keys)
    sensor = repo.get_sensor_def("predictions_freshness_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert DEADLINE_CRON == "30 11 * * *"
    # evaluated on an instance where the predictions were never written: the check fails
    from nba_assets.defs.automation.freshness import freshness_checks
    from nba_assets.defs.partitions import game_date_partitions

    defs = dg.Definitions(
        assets=[dg.AssetSpec(PREDICTIONS, partitions_def=game_date_partitions)], asset_checks=freshness_checks
    )
    job = defs.resolve_implicit_global_asset_job_def()
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False)
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.asset_key == PREDICTIONS and not evaluation.passed


def test_no_job_runs_the_freshness_check_only_its_sensor_does(repo) -> None:
    """The check judges today's partition at the deadline. Selected by the predictions jobs (Dagster adds
    an asset's checks to a job selecting it), it ran in every predict/morning/refresh run of any date
    against the clock: the main job on the archive, a backfill, the slow chain test's morning slate all
    failed it and alerted. Only the sensor evaluates it now."""
    from nba_assets.defs.automation.freshness import freshness_checks

    fresh = {key for c in freshness_checks for key in c.check_keys}
    with_predictions = []
    for job in repo.get_all_jobs():
        if job.name.startswith("__ASSET_JOB"):  # the UI's implicit job: every asset and check
            continue
        graph = job.asset_layer.asset_graph
        assert not fresh & set(graph.asset_check_keys), job.name
        if any(k.path[0] == "predictions" for k in graph.get_all_asset_keys()):
            with_predictions.append(job.name)
    assert {"predict_job", "morning_slate_job", "refresh_lines_job"} <= set(with_predictions)


def test_the_freshness_deadline_is_before_every_first_tipoff_of_the_archive() -> None:
    """DESIGN s9: today's predictions exist by tip-off. The deadline was 18:30 ET, after the first
    tip-off of 6 of the archive's 31 dates with tip-off times (weekend slates: 14:10 on 2025-10-26,
    15:30 on three Sundays, 17:10 on two Saturdays): a morning slate that failed on 2025-11-02 was
    reported at 18:30, three hours after its first game started. The check must fail before then."""
    from dagster._core.test_utils import freeze_time

    from nba_assets.defs.automation.freshness import DEADLINE_CRON, PREDICTIONS, freshness_checks
    from nba_assets.defs.partitions import game_date_partitions
    from nba_assets.lib.sources.archive import DEFAULT_ARCHIVE_DIR

    minute, hour = (int(v) for v in DEADLINE_CRON.split()[:2])
    games = pl.read_parquet(DEFAULT_ARCHIVE_DIR / "games.parquet").filter(pl.col("tipoff_utc").is_not_null())
    first = games.group_by("game_date").agg(
        pl.col("tipoff_utc").min().dt.convert_time_zone("America/New_York").dt.time().alias("first")
    )
    assert first.height == 31
    assert first.filter(pl.col("first") <= time(hour, minute)).is_empty()
    # 2025-11-02 (first tip-off 15:30 ET): at noon the slate of the 2nd is due, and it never ran
    defs = dg.Definitions(
        assets=[dg.AssetSpec(PREDICTIONS, partitions_def=game_date_partitions)], asset_checks=freshness_checks
    )
    job = defs.resolve_implicit_global_asset_job_def()
    with dg.instance_for_test() as instance:
        with freeze_time(et(2025, 11, 1, 10, 5)):
            instance.report_runless_asset_event(dg.AssetMaterialization(PREDICTIONS, partition="2025-11-01"))
        with freeze_time(et(2025, 11, 2, 12)):
            result = job.execute_in_process(instance=instance, raise_on_error=False)
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed and "2025-11-02" in (evaluation.description or "")


def test_predictions_freshness_is_about_todays_partition(repo, tmp_path, monkeypatch) -> None:
    """At 11:30 ET the check asks for today's partition. A write of another date (a backfill of past
    predictions) used to pass it, hiding a missing morning slate; now the check fails naming the date
    it expected, and the alert says so."""
    from dagster._core.test_utils import freeze_time  # test-only: the check reads Dagster's clock

    from nba_assets.defs.automation.freshness import PREDICTIONS, freshness_checks
    from nba_assets.defs.partitions import game_date_partitions

    defs = dg.Definitions(
        assets=[dg.AssetSpec(PREDICTIONS, partitions_def=game_date_partitions)], asset_checks=freshness_checks
    )
    job = defs.resolve_implicit_global_asset_job_def()

    def write(instance: dg.DagsterInstance, partition: str, moment: datetime) -> None:
        with freeze_time(moment):
            instance.report_runless_asset_event(dg.AssetMaterialization(PREDICTIONS, partition=partition))

    def evaluate(instance: dg.DagsterInstance, moment: datetime):
        with freeze_time(moment):
            result = job.execute_in_process(instance=instance, raise_on_error=False)
        (evaluation,) = result.get_asset_check_evaluations()
        return result, evaluation

    with dg.instance_for_test() as instance:
        write(instance, "2025-11-20", et(2025, 11, 20, 10, 5))  # the 20th's slate
        # before the 21st's deadline the 20th is the partition due: fresh
        assert evaluate(instance, et(2025, 11, 21, 11))[1].passed
        write(instance, "2025-11-19", et(2025, 11, 21, 12))  # a backfill of past predictions
        result, late = evaluate(instance, et(2025, 11, 21, 18, 45))  # the 21st's slate never ran
        assert not late.passed and late.severity == dg.AssetCheckSeverity.WARN
        assert "2025-11-21" in (late.description or "")
        alerts = LocalAlertsResource(path=str(tmp_path / "alerts.log"))
        at(monkeypatch, et(2025, 11, 21, 18, 50))
        tick(sensors.alerts_sensor, repo, instance, alerts=alerts)
        (alert,) = LocalAlertLog(tmp_path / "alerts.log").read()
        assert alert["run_id"] == result.run_id and "2025-11-21" in json.dumps(alert["checks"])
        write(instance, "2025-11-21", et(2025, 11, 21, 18, 55))  # written late, by hand
        assert evaluate(instance, et(2025, 11, 21, 19))[1].passed


def test_every_day_without_predictions_fails_the_freshness_check_anew(repo, tmp_path, monkeypatch) -> None:
    """Dagster's freshness sensor evaluates a failed check again only after a write of the asset: the
    slate of 2025-11-20 missing was alerted, then the 21st and 22nd without predictions (the slate stuck
    in the queue, its schedule stopped) were never evaluated, no alert, and the check stayed failed on
    the 20th. Now each deadline passed since a failed evaluation brings one more, naming its day."""
    from dagster._core.test_utils import freeze_time  # test-only: the check reads Dagster's clock

    from nba_assets.defs.automation.freshness import PREDICTIONS, freshness_checks, freshness_sensor
    from nba_assets.defs.partitions import game_date_partitions

    defs = dg.Definitions(
        assets=[dg.AssetSpec(PREDICTIONS, partitions_def=game_date_partitions)], asset_checks=freshness_checks
    )
    job = defs.resolve_implicit_global_asset_job_def()
    alerts = LocalAlertsResource(path=str(tmp_path / "alerts.log"))

    cursor: list[str | None] = [None]

    def sensor_tick(instance: dg.DagsterInstance, moment: datetime) -> list[dg.RunRequest]:
        """The freshness sensor's tick at ``moment``, the run it asks for, and the alerts sensor after."""
        with freeze_time(moment):
            requests = list(tick(freshness_sensor, repo, instance).run_requests or [])
            for _ in requests:  # the run the daemon would launch
                job.execute_in_process(instance=instance, raise_on_error=False)
        at(monkeypatch, moment + timedelta(minutes=1))
        cursor[0] = tick(sensors.alerts_sensor, repo, instance, cursor[0], alerts=alerts).cursor
        return requests

    with dg.instance_for_test() as instance:
        with freeze_time(et(2025, 11, 19, 10, 5)):
            instance.report_runless_asset_event(dg.AssetMaterialization(PREDICTIONS, partition="2025-11-19"))
        (first,) = sensor_tick(instance, et(2025, 11, 20, 11, 45))  # the 20th: overdue (Dagster's rules)
        assert not sensor_tick(instance, et(2025, 11, 21, 10, 45))  # the 21st not due yet
        (again,) = sensor_tick(instance, et(2025, 11, 21, 11, 45))
        assert again.run_key == "predictions_freshness:2025-11-21"
        # the UI's run list tells who launched a run by nba_assets/trigger, as for every other sensor
        assert (
            first.tags["nba_assets/trigger"]
            == again.tags["nba_assets/trigger"]
            == "predictions_freshness_sensor"
        )
        assert not sensor_tick(instance, et(2025, 11, 21, 12))  # once a deadline
        assert len(sensor_tick(instance, et(2025, 11, 22, 11, 45))) == 1
    alerted = [
        a["checks"][0]["metadata"]["description"] for a in LocalAlertLog(tmp_path / "alerts.log").read()
    ]
    assert [text.split("partition ")[1][:10] for text in alerted] == [
        "2025-11-20",
        "2025-11-21",
        "2025-11-22",
    ]


# ---------------------------------------------------------------- performance after a regrade

SEASONS = dg.DailyPartitionsDefinition(start_date="2025-05-01", timezone="America/New_York")


@dg.asset(key=GRADES, partitions_def=SEASONS, backfill_policy=dg.BackfillPolicy.single_run())
def stored_grades() -> None:
    """Stands for grading/prediction_grades: the sensor reads only the instance's materializations."""


@dg.asset(key=PUBLISHED, partitions_def=SEASONS, backfill_policy=dg.BackfillPolicy.single_run())
def stored_published() -> None:
    """Stands for grading/published_grades (the performance reads it over the same window)."""


@dg.asset(
    key=PERF,
    partitions_def=SEASONS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    deps=[
        dg.AssetDep(
            key,
            partition_mapping=dg.TimeWindowPartitionMapping(
                start_offset=-300, end_offset=0, allow_nonexistent_upstream_partitions=True
            ),
        )
        for key in (GRADES, PUBLISHED)
    ],
)
def stored_performance() -> None:
    """Stands for grading/system_performance (same key, partitions and read windows)."""


GRADED = [stored_grades, stored_published, stored_performance]


def grade_run(instance: dg.DagsterInstance, start: str, end: str | None = None, *, performance: bool = True):
    """What grade_job does for start..end: grades (final and published), then performance, in one run
    (``performance=False``: the grades alone, as a UI materialization of prediction_grades does)."""
    run = dg.materialize(
        GRADED,
        instance=instance,
        selection=[GRADES, PUBLISHED, PERF] if performance else [GRADES],
        tags={
            "dagster/asset_partition_range_start": start,
            "dagster/asset_partition_range_end": end or start,
        },
    )
    assert run.success
    return run


def refresh(repo, instance, cursor: str | None = None):
    return tick(sensors.system_performance_refresh_sensor, repo, instance, cursor)


def requested(result) -> list[tuple[str, str]]:
    return [
        (r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
        for r in result.run_requests or []
    ]


def test_a_regrade_of_an_old_date_recomputes_the_later_performance_once_in_one_run(repo) -> None:
    """2025-10-21..11-05 graded in one run, 11-06 graded the next morning: nothing to recompute. Then
    2025-11-02 is regraded (corrected box scores): the performance of 11-03..11-06 was computed from
    its old grades, and one run recomputes exactly those dates, once."""
    with dg.instance_for_test() as instance:
        grade_run(instance, "2025-10-21", "2025-11-05")
        first = refresh(repo, instance)
        assert not first.run_requests and "no performance left stale" in first.skip_message
        grade_run(instance, "2025-11-06")  # the nightly grading of the newest date
        nightly = refresh(repo, instance, first.cursor)
        assert not nightly.run_requests

        grade_run(instance, "2025-11-02")  # the grading sensor's regrade: grades and performance of D
        regrade = refresh(repo, instance, nightly.cursor)
        (request,) = regrade.run_requests
        assert requested(regrade) == [("2025-11-03", "2025-11-06")]
        assert request.partition_key is None and request.tags["nba_assets/regraded"] == "2025-11-02"
        assert request.run_key.startswith("system_performance_refresh:2025-11-03..2025-11-06:grades@")
        assert sensors.system_performance_refresh_sensor.job_name == "system_performance_job"
        job = repo.get_job("system_performance_job")  # the performance (its model check in its step)
        assert job.asset_layer.selected_asset_keys == {PERF}
        assert list(job.graph.node_dict) == ["grading__system_performance"] and job.partitions_def
        # the next tick asks for nothing; the same tick evaluated again names the same run (skipped)
        assert not refresh(repo, instance, regrade.cursor).run_requests
        assert refresh(repo, instance, nightly.cursor).run_requests[0].run_key == request.run_key

        # the requested run: one run writes the four dates, after which nothing is stale, even for a
        # sensor starting over without a cursor
        run = dg.materialize(GRADED, instance=instance, selection=[PERF], tags=dict(request.tags))
        assert run.success
        assert sorted(e.partition for e in run.get_asset_materialization_events()) == [
            "2025-11-03",
            "2025-11-04",
            "2025-11-05",
            "2025-11-06",
        ]
        assert not refresh(repo, instance).run_requests


def test_grades_written_without_their_performance_make_that_date_stale_too(repo) -> None:
    """Materializing prediction_grades alone (a hand backfill from the UI) leaves D's own performance
    stale as well as the later dates'; a first grading of a date older than the newest (its box
    scores came late) changes the later dates' windows the same way."""
    with dg.instance_for_test() as instance:
        grade_run(instance, "2025-11-01", "2025-11-04")
        grade_run(instance, "2025-11-06")  # 11-05 waited for its box scores
        cursor = refresh(repo, instance).cursor
        grade_run(instance, "2025-11-02", performance=False)
        alone = refresh(repo, instance, cursor)
        assert requested(alone) == [("2025-11-02", "2025-11-06")]
        late = refresh(repo, instance, alone.cursor)
        assert not late.run_requests
        grade_run(instance, "2025-11-05")  # graded for the first time, after 11-06
        assert requested(refresh(repo, instance, late.cursor)) == [("2025-11-06", "2025-11-06")]


def test_published_grades_written_again_make_the_later_performance_stale_too(repo) -> None:
    """The performance also reads grading/published_grades: rewriting them for an old date (from the UI,
    a backfill) recomputes the later dates' performance, as a regrade of the final calls does."""
    with dg.instance_for_test() as instance:
        grade_run(instance, "2025-11-01", "2025-11-04")
        cursor = refresh(repo, instance).cursor
        assert dg.materialize(
            GRADED, instance=instance, selection=[PUBLISHED], partition_key="2025-11-02"
        ).success
        assert requested(refresh(repo, instance, cursor)) == [("2025-11-02", "2025-11-04")]


def test_materializations_of_two_assets_are_read_in_storage_order_without_skipping_any() -> None:
    """Each key's page of at most ``limit`` records, merged and cut where the earliest full page ends:
    read page after page, every record of both keys comes once, in storage order."""
    with dg.instance_for_test() as instance:
        for day in ("2025-11-01", "2025-11-02", "2025-11-03"):
            assert dg.materialize(GRADED, instance=instance, selection=[GRADES], partition_key=day).success
        for day in ("2025-11-01", "2025-11-02"):
            assert dg.materialize(GRADED, instance=instance, selection=[PUBLISHED], partition_key=day).success
        seen, after = [], 0
        while page := queries.materializations_after_any(instance, [GRADES, PUBLISHED], after, 2):
            seen += page
            after = page[-1].storage_id
        ids = [r.storage_id for r in seen]
        assert ids == sorted(set(ids)) and len(ids) == 5
        assert [r.asset_key for r in seen] == [GRADES] * 3 + [PUBLISHED] * 2


def test_a_regrade_reaches_the_end_of_its_season_only(repo) -> None:
    """The season window ends on Jul 31: a regrade of a June date recomputes the rest of that season,
    none of the next (whose windows never read it); regrades in two seasons are one run per season."""
    with dg.instance_for_test() as instance:
        grade_run(instance, "2025-06-01", "2025-06-20")
        grade_run(instance, "2025-10-21", "2025-11-05")
        cursor = refresh(repo, instance).cursor
        grade_run(instance, "2025-06-10")
        june = refresh(repo, instance, cursor)
        assert requested(june) == [("2025-06-11", "2025-06-20")]
        # before that run: 06-15 and 11-01 regraded, read on one tick (the dates up to 06-15 are in
        # the run already requested)
        grade_run(instance, "2025-06-15")
        grade_run(instance, "2025-11-01")
        both = refresh(repo, instance, june.cursor)
        assert requested(both) == [("2025-06-16", "2025-06-20"), ("2025-11-02", "2025-11-05")]
        assert [r.tags["nba_assets/regraded"] for r in both.run_requests] == ["2025-06-15", "2025-11-01"]
        assert len({r.run_key for r in both.run_requests}) == 2


def test_performance_refresh_waits_for_the_grading_run_to_finish() -> None:
    """A grade run writes the grades before the performance: a tick between its two steps must not
    take the old performance of its dates for stale. The cursor stays before the unfinished write."""
    perf = {"2025-11-01": 10, "2025-11-02": 11, "2025-11-03": 12}
    writes = [
        policy.PartitionWrite(20, "2025-11-02"),
        policy.PartitionWrite(21, "2025-11-03", run_finished=False),
    ]
    decision = policy.performance_refresh_decision(writes, perf, json.dumps({"after": 12}))
    assert [(r.start, r.end) for r in decision.runs] == [("2025-11-02", "2025-11-03")]
    assert json.loads(decision.cursor) == {"after": 20} and decision.waiting_on == "2025-11-03"
    # once finished with its performance written (storage ids 21 grades, 22..23 performance)
    done = policy.performance_refresh_decision(
        [policy.PartitionWrite(21, "2025-11-03")], {**perf, "2025-11-03": 22}, decision.cursor
    )
    assert not done.runs and json.loads(done.cursor) == {"after": 21}
    # writes at or before the cursor are not read again; a cursor that is not ours starts over
    assert not policy.performance_refresh_decision(writes[:1], perf, json.dumps({"after": 20})).runs
    assert policy.performance_refresh_after("not json") == 0
    assert policy.performance_refresh_after(json.dumps({"after": True})) == 0


def test_performance_refresh_sees_a_run_in_flight(repo) -> None:
    from dagster._core.test_utils import create_run_for_test

    from nba_assets.defs.automation import queries

    with dg.instance_for_test() as instance:
        running = create_run_for_test(instance, job_name="grade_job", status=dg.DagsterRunStatus.STARTED)
        done = create_run_for_test(instance, job_name="grade_job", status=dg.DagsterRunStatus.SUCCESS)
        assert not queries.run_finished(instance, running.run_id)
        assert queries.run_finished(instance, done.run_id) and queries.run_finished(instance, "")


class RegradeConfig(dg.Config):
    losing_day: str = ""  # the corrected box score of this date turns every call into a loss


def _grades_of(days: list[str], losing_day: str) -> pl.DataFrame:
    rows = []
    for day in days:
        for player in range(1, 5):
            for system in ("baseline_l10", "catboost"):
                win = day != losing_day
                rows.append(
                    {
                        "game_date": date.fromisoformat(day),
                        "player_id": player,
                        "system": system,
                        "tier": "high",
                        "is_main_line": True,
                        "line": 20.5,
                        "p_over": 0.6,
                        "recommendation": "OVER",
                        "predicted_points": 24.0,
                        "actual_points": 25.0 if win else 15.0,
                        "played": True,
                        "result": "WIN" if win else "LOSS",
                        "profit": 0.91 if win else -1.0,
                    }
                )
    return pl.DataFrame(rows)


def test_the_refresh_run_rewrites_the_stale_windows_in_the_warehouse(repo, tmp_path) -> None:
    """End to end on the real system_performance asset and DuckDB warehouse: 2025-11-01..11-04 graded
    (every call a win), then 11-02 regraded as losses. The 11-04 season window still said 32-0 until
    the run the sensor asks for, one run over 11-03..11-04 with the real job."""
    from nba_assets.defs.partitions import game_date_partitions

    @dg.asset(
        key=GRADES,
        partitions_def=game_date_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        metadata={"partition_expr": "game_date"},
    )
    def written_grades(context: dg.AssetExecutionContext, config: RegradeConfig) -> pl.DataFrame:
        return _grades_of(context.partition_keys, config.losing_day)

    settings = Settings(data_dir=tmp_path / "nba")
    settings.data_dir.mkdir()
    defs = build_definitions(settings)
    perf_job = defs.resolve_job_def("system_performance_job")

    def season_record(day: str) -> tuple[int, int]:
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            return con.execute(
                "select wins, losses from grading.system_performance where game_date = ? and "
                "\"window\" = 'season' and tier = 'all' and system = 'catboost'",
                [date.fromisoformat(day)],
            ).fetchone()

    def write_grades(start: str, end: str, losing_day: str = "") -> None:
        assert dg.materialize(
            [written_grades],
            instance=instance,
            resources={"io_manager": build_resources(settings)["io_manager"]},
            run_config=dg.RunConfig(ops={"grading__prediction_grades": RegradeConfig(losing_day=losing_day)}),
            tags={"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end},
        ).success

    with dg.instance_for_test() as instance:
        write_grades("2025-11-01", "2025-11-04")
        assert perf_job.execute_in_process(
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": "2025-11-01",
                "dagster/asset_partition_range_end": "2025-11-04",
            },
        ).success
        assert season_record("2025-11-04") == (16, 0)
        cursor = refresh(repo, instance).cursor

        write_grades("2025-11-02", "2025-11-02", losing_day="2025-11-02")  # the regrade of D alone
        regrade = refresh(repo, instance, cursor)
        (request,) = regrade.run_requests
        assert requested(regrade) == [("2025-11-02", "2025-11-04")]
        assert season_record("2025-11-04") == (16, 0)  # stale: 11-02's four calls are now losses
        run = perf_job.execute_in_process(instance=instance, tags=dict(request.tags))
        assert run.success
        assert sorted(e.partition for e in run.get_asset_materialization_events()) == [
            "2025-11-02",
            "2025-11-03",
            "2025-11-04",
        ]
        assert season_record("2025-11-02") == (4, 4) and season_record("2025-11-04") == (12, 4)
        assert not refresh(repo, instance).run_requests


def _instigator(instance: dg.DagsterInstance, kind: str, name: str):
    """The state the daemon stores for a sensor or schedule of this code location (as it starts it)."""
    from dagster._core.remote_origin import (
        InProcessCodeLocationOrigin,
        RemoteInstigatorOrigin,
        RemoteRepositoryOrigin,
    )
    from dagster._core.scheduler.instigation import (
        InstigatorState,
        InstigatorStatus,
        InstigatorType,
        ScheduleInstigatorData,
        SensorInstigatorData,
    )
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

    location = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(module_name="nba_assets.definitions"), location_name="nba_assets"
    )
    origin = RemoteInstigatorOrigin(RemoteRepositoryOrigin(location, "__repository__"), name)
    data = ScheduleInstigatorData("0 10 * * *") if kind == "schedule" else SensorInstigatorData()
    state = InstigatorState(origin, InstigatorType(kind.upper()), InstigatorStatus.DECLARED_IN_CODE, data)
    return instance.add_instigator_state(state)


def _ticked(instance: dg.DagsterInstance, state, status: str, at: datetime, error: str = "") -> None:
    """A finished tick as the daemon records it (a failed one with the user code's error as the cause
    of Dagster's wrapper, as a sensor that raises is recorded)."""
    from dagster._core.scheduler.instigation import TickData, TickStatus
    from dagster._utils.error import SerializableErrorInfo

    cause = SerializableErrorInfo("boom https://x?apiKey=SECRET", [], error) if error else None
    wrapper = SerializableErrorInfo(
        "Error occurred during sensor evaluation", [], "SensorExecutionError", cause
    )
    instance.create_tick(
        TickData(
            instigator_origin_id=state.instigator_origin_id,
            instigator_name=state.instigator_name,
            instigator_type=state.instigator_type,
            status=TickStatus(status),
            timestamp=at.timestamp(),
            run_ids=[],
            selector_id=state.selector_id,
            error=wrapper if status == "FAILURE" else None,
            skip_reason="nothing to do" if status == "SKIPPED" else None,
        )
    )


def test_a_sensor_that_starts_failing_is_alerted_once_per_streak(repo, tmp_path, monkeypatch) -> None:
    """A sensor that raises launches nothing (no grades, no summary) and no run fails to say so: its
    failed ticks are alerted, once per failure streak, naming the error's class and never its text."""
    log = tmp_path / "alerts.log"
    alerts = LocalAlertsResource(path=str(log))
    now = datetime(2025, 11, 6, 12, 0, tzinfo=UTC)
    monkeypatch.setattr(sensors, "utc_now", lambda: now)
    with dg.instance_for_test() as instance:
        grading = _instigator(instance, "sensor", "grading_sensor")
        slate = _instigator(instance, "schedule", "morning_slate_job_schedule")
        old = now - timedelta(days=2)  # before the first tick's 24 h look-back
        _ticked(instance, grading, "FAILURE", old, "KeyError")
        for minutes, status in ((50, "SUCCESS"), (40, "FAILURE"), (35, "FAILURE"), (30, "SKIPPED")):
            _ticked(instance, grading, status, now - timedelta(minutes=minutes), "DuckDBIOException")
        _ticked(instance, slate, "SUCCESS", now - timedelta(minutes=45))

        first = tick(sensors.failed_ticks_sensor, repo, instance, alerts=alerts)
        (alert,) = LocalAlertLog(log).read()
        assert (alert["kind"], alert["title"]) == ("tick_failure", "Sensor failed: grading_sensor")
        assert "11:20 UTC raised DuckDBIOException" in alert["text"] and "SECRET" not in alert["text"]
        assert first.skip_message == "1 alert(s) sent"
        # the same ticks read again send nothing
        again = tick(sensors.failed_ticks_sensor, repo, instance, first.cursor, alerts=alerts)
        assert (
            again.skip_message == "no sensor or schedule started failing"
            and len(LocalAlertLog(log).read()) == 1
        )

        # a streak: failing every tick is one alert; a tick without error, then a failure, is a new one
        _ticked(instance, grading, "FAILURE", now - timedelta(minutes=20), "ValueError")
        _ticked(instance, grading, "FAILURE", now - timedelta(minutes=15), "ValueError")
        _ticked(instance, slate, "FAILURE", now - timedelta(minutes=10), "DagsterInvalidConfigError")
        second = tick(sensors.failed_ticks_sensor, repo, instance, again.cursor, alerts=alerts)
        assert [a["title"] for a in LocalAlertLog(log).read()[1:]] == [
            "Sensor failed: grading_sensor",
            "Schedule failed: morning_slate_job_schedule",
        ]
        _ticked(instance, grading, "FAILURE", now - timedelta(minutes=5), "ValueError")
        third = tick(sensors.failed_ticks_sensor, repo, instance, second.cursor, alerts=alerts)
        assert len(LocalAlertLog(log).read()) == 3 and third.skip_message.startswith("no sensor")
