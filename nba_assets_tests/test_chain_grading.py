"""The whole chain for 2025-11-05 through the real code location, then its grading, and the alerts.

History (raw, context, features for 2024-10-22 .. 2025-11-04, and a model with cutoff 2025-11-05) is
built once; then the chain for D runs as the schedules run it (one partition per job) twice: on the
archive, where every prediction with a real line is graded and no alert is written, and on a copy of
the archive without one of D's box scores, where grading readiness fails and exactly one alert is
written. Slow (a few minutes): run with ``scripts/dev.sh slow`` or ``pytest -m slow``.
"""

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from nba_assets.defs.automation import sensors
from nba_assets.defs.automation.resources import LocalAlertsResource
from nba_assets.defs.build import build_definitions
from nba_assets.defs.resources import ArchiveSourceResource
from nba_assets.lib.alerts import LocalAlertLog
from nba_assets.lib.env import Settings
from nba_assets.lib.sources.archive import DEFAULT_ARCHIVE_DIR

pytestmark = pytest.mark.slow

D = "2025-11-05"
HISTORY = ("2024-10-22", "2025-11-04")  # a season back: vs-opponent and position features need it
PRE_GAME_RAW = ("schedule", "injury_report", "player_props")
AS_OF_PRE_GAME = "2025-11-05T20:00:00+00:00"  # lines were captured 17:00 UTC, first tip-off 00:00 UTC
REMOVED_GAME = "0022500171"  # one of D's 11 games


def _run(defs: dg.Definitions, instance: dg.DagsterInstance, job: str, partition: str | None = None, **kw):
    tags = {}
    if isinstance(partition, tuple):
        tags = {
            "dagster/asset_partition_range_start": partition[0],
            "dagster/asset_partition_range_end": partition[1],
        }
        partition = None
    return defs.resolve_job_def(job).execute_in_process(
        instance=instance, partition_key=partition, tags=tags, raise_on_error=False, **kw
    )


def _tick(repo: dg.RepositoryDefinition, instance: dg.DagsterInstance, cursor: str | None, log: Path):
    with dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"alerts": LocalAlertsResource(path=str(log))},
        repository_def=repo,
    ) as ctx:
        return sensors.alerts_sensor.evaluate_tick(ctx)


def _archive_without_game(dest: Path, game_id: str) -> Path:
    dest.mkdir(parents=True)
    for f in ("games.parquet", "props_points.parquet", "PROVENANCE.json"):
        shutil.copy(DEFAULT_ARCHIVE_DIR / f, dest / f)
    box = pl.read_parquet(DEFAULT_ARCHIVE_DIR / "box_scores.parquet")
    game = box.filter(pl.col("game_id") == game_id)
    assert game.height > 20 and game["game_date"].unique().to_list() == [date.fromisoformat(D)]
    box.filter(pl.col("game_id") != game_id).write_parquet(dest / "box_scores.parquet")
    return dest


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Path:
    """A data dir (warehouse + object store + Dagster home) holding the history before D and a model."""
    root = tmp_path_factory.mktemp("chain") / "history"
    settings = Settings(data_dir=root)
    defs = build_definitions(settings)
    with dg.instance_for_test() as instance:
        for job in ("ingest_raw_job", "build_context_job", "build_features_job"):
            assert _run(defs, instance, job, HISTORY).success, job
        model = _run(
            defs,
            instance,
            "weekly_retrain_job",
            run_config={
                "ops": {
                    "models__points_model": {
                        "config": {"cutoff": D, "iterations": 200, "validation_min_rows": 1000}
                    }
                }
            },
        )
        assert model.success
    return root


def _chain(
    history: Path, dest: Path, archive: Path | None, monkeypatch: pytest.MonkeyPatch
) -> tuple[Settings, list, list, Path]:
    """Copy the history, then run D's chain as the automation does: the pre-game and overnight jobs,
    then grading only if the grading sensor (06:00 ET the next morning) requests it. Returns the
    settings, the runs, the grading sensor's requests and the alert log."""
    shutil.copytree(history, dest, ignore=shutil.ignore_patterns("home"))
    settings = Settings(data_dir=dest)
    overrides = {"nba_source": ArchiveSourceResource(archive_dir=str(archive))} if archive else None
    defs = build_definitions(settings, overrides)
    repo = defs.get_repository_def()
    log = dest / "alerts.log"
    instance = dg.DagsterInstance.ephemeral()
    # the sensor's cursor starts now: only the chain's runs can raise alerts
    cursor = _tick(repo, instance, None, log).cursor
    # 10:00 ET slate (sources asked at 15:00 ET: after the day's lines, before the first tip-off), then
    # the 04:00 ET overnight job for D (sources asked now: the games are final)
    pre_game = {f"raw__{a}": {"config": {"as_of_utc": AS_OF_PRE_GAME}} for a in PRE_GAME_RAW}
    results = [
        _run(defs, instance, "morning_slate_job", D, run_config={"ops": pre_game}),
        _run(defs, instance, "overnight_box_scores_job", D),
    ]
    monkeypatch.setattr(sensors, "utc_now", lambda: datetime(2025, 11, 6, 11, 0, tzinfo=UTC))
    with dg.build_sensor_context(instance=instance, repository_def=repo) as ctx:
        requests = list(sensors.grading_sensor.evaluate_tick(ctx).run_requests or [])
    results += [_run(defs, instance, "grade_job", r.partition_key) for r in requests]
    for _ in range(2):  # a second tick must not repeat anything
        cursor = _tick(repo, instance, cursor, log).cursor
    return settings, results, requests, log


def test_chain_grades_every_prediction_with_a_real_line_and_alerts_nothing(
    history, tmp_path, monkeypatch
) -> None:
    settings, results, requests, log = _chain(history, tmp_path / "ok", None, monkeypatch)
    assert [r.partition_key for r in requests] == [D]
    assert all(r.success for r in results), [r.dagster_run.job_name for r in results if not r.success]
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        preds = con.sql(
            "SELECT * FROM predictions.player_points_predictions WHERE game_date = ?", params=[D]
        ).pl()
        grades = con.sql("SELECT * FROM grading.prediction_grades WHERE game_date = ?", params=[D]).pl()
        features = con.sql("SELECT * FROM features.player_features WHERE game_date = ?", params=[D]).pl()
    lined = preds.filter(pl.col("line").is_not_null())
    assert lined.height > 1000 and lined["player_id"].n_unique() > 100
    key = ["player_id", "bookmaker", "line", "system"]
    assert grades.select(key).sort(key).equals(lined.select(key).sort(key))
    assert grades["result"].null_count() == 0
    assert set(grades["result"]) <= {"WIN", "LOSS", "PUSH", "VOID", "NO_BET"}
    assert grades.filter(pl.col("result") != "VOID")["actual_points"].null_count() == 0
    assert LocalAlertLog(log).read() == []
    # the overnight job rebuilt D's features with the finals: D's games are training rows for the retrain
    assert features.filter(pl.col("played") & pl.col("target_pts").is_not_null()).height > 200
    # the morning slate wrote the day's picks file: one row per prediction of D
    picks = pl.read_csv(settings.object_store_root / "reports" / D / "picks.csv")
    assert picks.height == preds.height


def test_chain_without_one_box_score_fails_readiness_and_alerts_once(history, tmp_path, monkeypatch) -> None:
    archive = _archive_without_game(tmp_path / "archive", REMOVED_GAME)
    settings, results, requests, log = _chain(history, tmp_path / "broken", archive, monkeypatch)
    slate, overnight = results
    assert slate.success and not overnight.success  # the blocking completeness check stops the night
    evaluations = {e.check_name: e.passed for e in overnight.get_asset_check_evaluations()}
    assert evaluations["box_scores_complete_for_slate"] is False
    assert requests == []  # grading does not run on an incomplete day
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        tables = con.sql("SELECT table_schema || '.' || table_name FROM information_schema.tables").fetchall()
        graded = (
            con.sql(
                "SELECT count(*) FROM grading.prediction_grades WHERE game_date = ?", params=[D]
            ).fetchall()[0][0]
            if ("grading.prediction_grades",) in tables
            else 0
        )
    assert graded == 0  # no grades on an incomplete day
    alerts = LocalAlertLog(log).read()
    assert len(alerts) == 1, [a["title"] for a in alerts]
    checks = {c["check"] for c in alerts[0]["checks"]}
    assert alerts[0]["kind"] == "run_failure" and alerts[0]["job"] == "overnight_box_scores_job"
    assert "box_scores_complete_for_slate" in checks and alerts[0]["partition"] == D
