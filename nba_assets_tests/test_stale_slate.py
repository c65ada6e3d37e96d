"""A morning slate built while yesterday's box scores are missing (its overnight run failed, or its
catch-up has not succeeded yet) is blocked by ``player_features_history_current`` instead of predicting
on stale rest, back-to-back and last-game features; ``stale_slate_sensor`` runs the slate again once those
box scores are written. Real jobs on the embedded archive, a temporary instance."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from nba_assets.defs.automation import policy, sensors
from nba_assets.defs.build import build_definitions
from nba_assets.defs.jobs import CONTEXT, FEATURES, PRE_GAME_RAW
from nba_assets.lib.env import Settings

ET = ZoneInfo("America/New_York")
CHECK = "player_features_history_current"
BEFORE, YESTERDAY, D = "2025-11-03", "2025-11-04", "2025-11-05"
# yesterday's slate read its sources at 10:00 ET, before any of its games
SLATE_AS_OF = "2025-11-04T15:00:00"


def _run(
    defs: dg.Definitions, job: str, instance, day: str, selection=None, as_of: str = ""
) -> dg.ExecuteInProcessResult:
    keys = list(selection.resolve(defs.resolve_asset_graph())) if selection is not None else None
    config = None
    if as_of:
        raw = ("schedule", "injury_report", "player_props")
        config = {"ops": {f"raw__{a}": {"config": {"as_of_utc": as_of}} for a in raw}}
    return defs.resolve_job_def(job).execute_in_process(
        instance=instance, partition_key=day, asset_selection=keys, run_config=config, raise_on_error=False
    )


def _history_check(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    (check,) = [e for e in result.get_asset_check_evaluations() if e.check_name == CHECK]
    return check


def _tick(repo: dg.RepositoryDefinition, instance, monkeypatch: pytest.MonkeyPatch, moment: datetime):
    monkeypatch.setattr(sensors, "utc_now", lambda: moment.astimezone(UTC))
    with dg.build_sensor_context(instance=instance, repository_def=repo) as ctx:
        return sensors.stale_slate_sensor.evaluate_tick(ctx)


def test_a_slate_without_yesterdays_box_scores_is_blocked_then_runs_again_once_they_are_written(
    tmp_path, monkeypatch
) -> None:
    settings = Settings(data_dir=tmp_path)
    defs = build_definitions(settings)
    repo = defs.get_repository_def()
    slate = PRE_GAME_RAW | CONTEXT | FEATURES  # predictions need a model; the check blocks them anyway
    eleven = datetime(2025, 11, 5, 11, 0, tzinfo=ET)
    with dg.instance_for_test() as instance:
        assert _run(defs, "overnight_box_scores_job", instance, BEFORE).success
        # yesterday's slate stored its schedule (6 games, not played yet); its overnight run never ran
        assert _run(defs, "morning_slate_job", instance, YESTERDAY, slate, SLATE_AS_OF).success
        blocked = _run(defs, "morning_slate_job", instance, D, slate)
        check = _history_check(blocked)
        assert not blocked.success and not check.passed
        assert check.metadata["dates_without_box_scores"].value == [YESTERDAY]
        assert check.metadata["games_without_box_scores"].value == 6  # the six games of 2025-11-04
        assert "overnight_box_scores_job" in check.metadata["fix"].value
        # D's features are stored (the check judges them), nothing downstream of them ran
        assert dg.AssetKey(["features", "player_features"]) in {
            e.asset_key for e in blocked.get_asset_materialization_events()
        }

        waiting = _tick(repo, instance, monkeypatch, eleven)
        assert not waiting.run_requests and "wait for the box scores" in waiting.skip_message

        # the catch-up (or a run by hand) writes yesterday's box scores: the slate of D runs again, once
        assert _run(defs, "overnight_box_scores_job", instance, YESTERDAY).success
        box = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(["raw", "box_scores"]), asset_partitions=[YESTERDAY]),
            limit=1,
        ).records[0]
        (request,) = _tick(repo, instance, monkeypatch, eleven).run_requests
        assert request.partition_key == D
        assert request.run_key == f"stale_slate:{D}:box_scores@{box.storage_id}"
        assert request.tags["nba_assets/trigger"] == "stale_slate_sensor"
        assert sensors.stale_slate_sensor.job_name == "morning_slate_job"

        again = _run(defs, "morning_slate_job", instance, D, slate)
        assert again.success and _history_check(again).passed
        done = _tick(repo, instance, monkeypatch, eleven)
        assert not done.run_requests and "not waiting" in done.skip_message


def test_the_stale_slate_decision() -> None:
    def state(**kw) -> policy.StaleSlateState:
        values = {
            "day": D,
            "status": policy.FAILED,
            "box_scores_after": 12,
            "run_in_progress": False,
        }
        return policy.StaleSlateState(**{**values, **kw})

    assert policy.stale_slate_decision(state()) == (
        f"stale_slate:{D}:box_scores@12",
        "box scores written since the check failed",
    )
    assert policy.stale_slate_decision(state(status=policy.SUCCEEDED))[0] is None
    assert policy.stale_slate_decision(state(status=None))[0] is None
    assert policy.stale_slate_decision(state(box_scores_after=None))[0] is None
    assert policy.stale_slate_decision(state(run_in_progress=True))[0] is None
