"""The code location: it loads, both environments construct, and its graph matches the snapshot."""

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from nba_assets.defs.build import build_definitions
from nba_assets.defs.partitions import game_date_partitions
from nba_assets.defs.resources import (
    ArchiveSourceResource,
    LiveSourceResource,
    LocalObjectStoreResource,
)
from nba_assets.defs.resources_prod import GCSObjectStoreResource
from nba_assets.lib.env import Settings
from nba_assets.lib.storage.duckdb_io import NbaDuckDBIOManager

REPO = Path(__file__).resolve().parents[1]
SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.json"


def graph_snapshot(defs: dg.Definitions) -> dict:
    """Asset keys with their group, partitioning, kinds and pool; checks; jobs; schedules; sensors."""
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "partitioned": node.partitions_def is not None,
            "deps": sorted(d.to_user_string() for d in node.parent_keys),
            "kinds": sorted(node.kinds),
            "pool": node.pools and sorted(node.pools),
        }
    checks = sorted(f"{c.asset_key.to_user_string()}:{c.name}" for c in graph.asset_check_keys)
    return {
        "assets": assets,
        "checks": checks,
        "jobs": sorted(j.name for j in defs.resolve_all_job_defs() if not j.name.startswith("__")),
        "schedules": sorted(s.name for s in defs.schedules or []),
        "sensors": sorted(s.name for s in defs.sensors or []),
    }


def test_asset_graph_matches_snapshot(tmp_path) -> None:
    snap = graph_snapshot(build_definitions(Settings(data_dir=tmp_path)))
    if os.environ.get("UPDATE_SNAPSHOTS") or not SNAPSHOT.exists():
        SNAPSHOT.write_text(json.dumps(snap, indent=1, sort_keys=True) + "\n")
    assert snap == json.loads(SNAPSHOT.read_text()), (
        "graph drifted: re-run with UPDATE_SNAPSHOTS=1 if intended"
    )


def test_local_resources(tmp_path) -> None:
    defs = build_definitions(Settings(data_dir=tmp_path))
    res = defs.resources
    assert isinstance(res["io_manager"], NbaDuckDBIOManager)
    assert res["io_manager"].database == str(tmp_path / "warehouse.duckdb")
    assert isinstance(res["nba_source"], ArchiveSourceResource)
    assert isinstance(res["object_store"], LocalObjectStoreResource)


def test_prod_wiring_constructs_without_network_or_secrets(monkeypatch) -> None:
    for var in ("ODDS_API_KEY", "BETTINGPROS_API_KEY", "NBA_ASSETS_GCP_PROJECT", "NBA_ASSETS_GCS_BUCKET"):
        monkeypatch.delenv(var, raising=False)
    settings = Settings.from_env(
        {"NBA_ASSETS_ENV": "prod", "NBA_ASSETS_DATA_DIR": "/nonexistent/never-created"}
    )
    defs = build_definitions(settings)
    res = defs.resources
    from dagster_polars import PolarsBigQueryIOManager

    assert isinstance(res["io_manager"], PolarsBigQueryIOManager)
    assert type(res["io_manager"]).__name__ == "NbaPolarsBigQueryIOManager"
    assert isinstance(res["nba_source"], LiveSourceResource)
    assert isinstance(res["object_store"], GCSObjectStoreResource)
    # Secrets stay environment-variable references until a run starts.
    assert isinstance(res["nba_source"].odds_api_key, dg.EnvVar)
    assert res["nba_source"].odds_api_key.env_var_name == "ODDS_API_KEY"
    assert not Path("/nonexistent/never-created").exists()
    defs.resolve_asset_graph()  # the graph builds with prod resources


def test_the_kinds_name_the_warehouse_the_tables_are_in(monkeypatch, tmp_path) -> None:
    """In prod the tables are in BigQuery, but the UI tagged every one "duckdb" (its kind icon and filter):
    a search for the BigQuery assets found none."""
    for var in ("ODDS_API_KEY", "BETTINGPROS_API_KEY", "NBA_ASSETS_GCP_PROJECT", "NBA_ASSETS_GCS_BUCKET"):
        monkeypatch.delenv(var, raising=False)
    local = build_definitions(Settings(data_dir=tmp_path)).resolve_asset_graph()
    prod = build_definitions(Settings.from_env({"NBA_ASSETS_ENV": "prod"})).resolve_asset_graph()
    warehouse_tables = {k for k in local.get_all_asset_keys() if "duckdb" in local.get(k).kinds}
    assert {k.path[0] for k in warehouse_tables} == {
        "raw",
        "staging",
        "context",
        "features",
        "predictions",
        "grading",
    }
    for key in warehouse_tables:
        assert prod.get(key).kinds == (local.get(key).kinds - {"duckdb"}) | {"bigquery"}, key
        assert prod.get(key).pools == local.get(key).pools == {"duckdb"}, key  # the pool keeps its name
    for key in local.get_all_asset_keys() - warehouse_tables:  # the model, the report
        assert prod.get(key).kinds == local.get(key).kinds


PROD_VALUES = {
    "NBA_ASSETS_GCP_PROJECT": "my-project",
    "NBA_ASSETS_GCS_BUCKET": "my-bucket",
    "ODDS_API_KEY": "cAnArY-odds-key",
    "BETTINGPROS_API_KEY": "",  # may be empty: no lines fallback
}


@pytest.mark.parametrize(
    ("var", "resource"),
    [
        ("NBA_ASSETS_GCS_BUCKET", "object_store"),
        ("NBA_ASSETS_GCP_PROJECT", "io_manager"),
        ("NBA_ASSETS_GCP_PROJECT", "dbt"),
        ("ODDS_API_KEY", "nba_source"),
    ],
)
def test_an_empty_prod_variable_fails_at_resource_set_up_naming_it(
    monkeypatch, var: str, resource: str
) -> None:
    """dg.EnvVar refuses an unset variable; one set to "" used to pass and fail deep in a client (GCS: an
    IndexError; BigQuery: "'' is not a BigQuery project id"). A run now fails where it sets the resource
    up, naming the variable and never a value."""
    from nba_assets.defs.resources_prod import build_prod_resources

    for name, value in {**PROD_VALUES, var: ""}.items():
        monkeypatch.setenv(name, value)
    res = build_prod_resources(Settings.from_env({"NBA_ASSETS_ENV": "prod"}))
    with pytest.raises(dg.DagsterResourceFunctionError) as exc:
        with dg.build_resources({resource: res[resource]}):
            pass
    cause = str(exc.value.__cause__)
    assert cause.startswith(f"{var} is set but empty"), cause
    assert "cAnArY" not in cause and "my-" not in cause


def test_prod_resources_set_up_with_every_required_variable_and_bettingpros_empty(monkeypatch) -> None:
    from nba_assets.defs.resources_prod import build_prod_resources

    for name, value in PROD_VALUES.items():
        monkeypatch.setenv(name, value)
    res = build_prod_resources(Settings.from_env({"NBA_ASSETS_ENV": "prod"}))
    keys = ("object_store", "io_manager", "dbt", "nba_source")
    with dg.build_resources({k: res[k] for k in keys}) as built:
        assert built.nba_source.bettingpros_api_key == ""
        assert built.object_store.bucket == "my-bucket"


def test_prod_setting_problems_name_each_unset_or_empty_variable() -> None:
    from nba_assets.lib.env import prod_setting_problems

    assert prod_setting_problems(PROD_VALUES) == []
    problems = prod_setting_problems({"NBA_ASSETS_GCP_PROJECT": " ", "ODDS_API_KEY": "k"})
    assert [p.split(" is ")[0] for p in problems] == [
        "NBA_ASSETS_GCP_PROJECT",
        "NBA_ASSETS_GCS_BUCKET",
        "BETTINGPROS_API_KEY",  # may be empty, not unset: dg.EnvVar refuses it unset
    ]
    assert "set but empty" in problems[0] and "not set" in problems[1] and "not set" in problems[2]


@pytest.mark.parametrize("token", [None, "", "  "])
def test_prod_setting_problems_need_the_slack_token_when_alerts_go_to_slack(token: str | None) -> None:
    """With NBA_ASSETS_SLACK_CHANNEL set, alerts go to Slack through dg.EnvVar("SLACK_BOT_TOKEN"): the
    sensors failed on it later. Without a channel alerts go to the alert log in GCS and need no token."""
    from nba_assets.lib.env import prod_setting_problems

    slack = {**PROD_VALUES, "NBA_ASSETS_SLACK_CHANNEL": "#props-alerts"}
    if token is not None:
        slack["SLACK_BOT_TOKEN"] = token
    problems = prod_setting_problems(slack)
    assert [p.split(" is ")[0] for p in problems] == ["SLACK_BOT_TOKEN"]
    assert ("not set" if token is None else "set but empty") in problems[0]
    assert "NBA_ASSETS_SLACK_CHANNEL is set" in problems[0] and "#props-alerts" not in problems[0]
    # the way out it names is prod's (these checks run in prod only): without a channel alerts go to GCS
    assert "alert log in GCS" in problems[0] and "local" not in problems[0], problems[0]
    assert prod_setting_problems({**slack, "SLACK_BOT_TOKEN": "xoxb-cAnArY"}) == []
    # no channel (unset or empty): the alert log in GCS, no token needed
    assert prod_setting_problems(PROD_VALUES) == []
    assert prod_setting_problems({**PROD_VALUES, "NBA_ASSETS_SLACK_CHANNEL": ""}) == []


def test_gcs_store_refuses_an_empty_bucket_name() -> None:
    from nba_assets.lib.storage.object_store import GCSObjectStore

    with pytest.raises(ValueError, match="GCS bucket name '' is empty"):
        GCSObjectStore(object(), "")


def test_env_is_decided_in_one_place_and_validated() -> None:
    assert Settings.from_env({}).env == "local"
    assert Settings.from_env({"NBA_ASSETS_DATA_DIR": "/tmp/x"}).warehouse_path == Path(
        "/tmp/x/warehouse.duckdb"
    )
    with pytest.raises(ValueError, match="NBA_ASSETS_ENV"):
        Settings.from_env({"NBA_ASSETS_ENV": "staging"})


def test_optional_prod_settings_left_blank_take_their_defaults() -> None:
    # a Kubernetes ConfigMap key left empty reached the resources as "": objects at the bucket's root,
    # BigQuery location ""
    blank = Settings.from_env({"NBA_ASSETS_GCS_PREFIX": " ", "NBA_ASSETS_BIGQUERY_LOCATION": ""})
    assert (blank.gcs_prefix, blank.bigquery_location) == (
        Settings().gcs_prefix,
        Settings().bigquery_location,
    )
    set_ = Settings.from_env({"NBA_ASSETS_GCS_PREFIX": "pp", "NBA_ASSETS_BIGQUERY_LOCATION": "EU"})
    assert (set_.gcs_prefix, set_.bigquery_location) == ("pp", "EU")


def test_importing_the_package_reads_no_environment(monkeypatch) -> None:
    code = "import nba_assets.definitions, nba_assets.defs.build, os; print('ok')"
    env = {**os.environ, "NBA_ASSETS_ENV": "not-an-env"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_dagster_definitions_validate(tmp_path) -> None:
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "NBA_ASSETS_DATA_DIR": str(tmp_path / "data")}
    dagster = Path(sys.executable).parent / "dagster"
    out = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]


def test_duckdb_steps_share_one_pool(tmp_path) -> None:
    graph = build_definitions(Settings(data_dir=tmp_path)).resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        if "duckdb" in graph.get(key).kinds:
            assert graph.get(key).pools == {"duckdb"}, key


def test_every_asset_and_check_says_what_it_is_for(tmp_path) -> None:
    # The UI's asset and check lists show these descriptions; the 40 dbt schema tests had none.
    graph = build_definitions(Settings(data_dir=tmp_path)).resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        assert graph.get(key).description, key
        # dagster-dbt's stand-in for a model without a description (the staging views had only it)
        assert not graph.get(key).description.startswith("dbt model "), key
    undescribed = [
        k.to_user_string() for k in graph.asset_check_keys if not graph.get_check_spec(k).description
    ]
    assert undescribed == []
    gate = dg.AssetCheckKey(
        dg.AssetKey(["context", "player_game_context"]),
        "unique_combination_of_columns_player_game_context_game_date__player_id",
    )
    assert graph.get_check_spec(gate).description == (
        "dbt `unique_combination_of_columns` (ERROR, blocking): one row per `game_date`, `player_id`."
    )
    assert graph.get_check_spec(gate).blocking


def test_a_dbt_tests_own_description_wins() -> None:
    from nba_assets.lib.dbt_checks import check_description

    node = {
        "test_metadata": {"name": "not_null", "kwargs": {"column_name": "pts"}},
        "config": {"severity": "warn"},
    }
    assert check_description(node) == "dbt `not_null` (WARN): `pts` is never null."
    assert check_description({**node, "meta": {"description": "points are known"}}) == "points are known"


def test_morning_slate_and_line_refresh_rewrite_the_days_report_after_its_predictions(tmp_path) -> None:
    """The day's picks file is part of the automated day: the 10:00 slate writes it and a line refresh
    rewrites it, each after the predictions it reads (report_job alone is for reruns and backfills)."""
    from dagster._core.execution.api import create_execution_plan

    defs = build_definitions(Settings(data_dir=tmp_path))
    for job in ("morning_slate_job", "refresh_lines_job"):
        plan = create_execution_plan(defs.resolve_job_def(job))
        report = plan.get_step_by_key("reports__daily_report")
        assert report is not None, job
        assert "predictions__player_points_predictions" in report.get_execution_dependency_keys(), job


def test_overnight_job_rebuilds_the_features_with_the_finals_for_the_weekly_retrain(tmp_path) -> None:
    """D's features are first built at the morning slate, before D's games: without target_pts. The
    overnight job rebuilds them after the finals and the context, so the retrain can learn from D."""
    from dagster._core.execution.api import create_execution_plan

    defs = build_definitions(Settings(data_dir=tmp_path))
    plan = create_execution_plan(defs.resolve_job_def("overnight_box_scores_job"))
    features = plan.get_step_by_key("features__player_features")
    assert features is not None
    assert "context_dbt_models" in features.get_execution_dependency_keys()


@pytest.mark.parametrize("where", ["deploy", "local"])
def test_instance_configs_pass_dagsters_schema(tmp_path, monkeypatch, where) -> None:
    """The production instance file and the one ``nba-assets main`` writes load under the pinned Dagster
    (an earlier README snippet set ``run_coordinator.max_concurrent_runs`` next to ``concurrency.pools``,
    which Dagster refuses), and both keep runs of one game date apart and retry only crashed runs."""
    from dagster._core.instance.config import dagster_instance_config

    from nba_assets.runner import INSTANCE_YAML

    if where == "deploy":
        folder = Path(__file__).resolve().parents[1] / "deploy"
        monkeypatch.setenv("DAGSTER_PG_URL", "postgresql://user:password@localhost:5432/dagster")
    else:
        folder = tmp_path
        (folder / "dagster.yaml").write_text(INSTANCE_YAML)
    config, _ = dagster_instance_config(str(folder))
    limits = config["concurrency"]["runs"]["tag_concurrency_limits"]
    assert {"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True}, "limit": 1} in limits
    assert config["run_retries"] == {"enabled": True, "max_retries": 1, "retry_on_asset_or_op_failure": False}
    assert config["concurrency"]["pools"]["default_limit"] == (4 if where == "deploy" else 1)
    if where == "deploy":
        assert "postgres" in config["storage"]


def test_predictions_load_their_inputs_but_not_the_model_versions_table(tmp_path) -> None:
    """The predictions take the model from the registry in the object store; the warehouse's table of
    versions (``models/points_model``) is upstream only so they run after a retrain: the IO manager
    must not read it (a whole-table read on BigQuery, and a failure where that table is missing)."""
    import polars as pl

    from nba_assets.defs.predictions.assets import player_points_predictions
    from nba_assets.lib.schemas import RAW_CONTRACTS

    loaded: list[str] = []

    class RecordingIOManager(dg.IOManager):
        def handle_output(self, context: dg.OutputContext, obj: object) -> None:
            pass

        def load_input(self, context: dg.InputContext) -> pl.DataFrame:
            key = context.asset_key.to_user_string()
            loaded.append(key)
            if key == "raw/player_props":
                return pl.DataFrame(schema=RAW_CONTRACTS["player_props"])
            return pl.DataFrame(schema={"game_date": pl.Date, "player_id": pl.Int64})

    node = (
        build_definitions(Settings(data_dir=tmp_path))
        .resolve_asset_graph()
        .get(player_points_predictions.key)
    )
    assert dg.AssetKey(["models", "points_model"]) in node.parent_keys  # still runs after a retrain
    upstream = [dg.AssetSpec(key) for key in (["features", "player_features"], ["raw", "player_props"])]
    result = dg.materialize(
        [player_points_predictions, *upstream, dg.AssetSpec(["models", "points_model"])],
        partition_key="2025-11-05",
        resources={
            "io_manager": RecordingIOManager(),
            "object_store": LocalObjectStoreResource(root=str(tmp_path / "objects")),
        },
    )
    assert result.success
    assert sorted(loaded) == ["features/player_features", "raw/player_props"]


def test_a_range_run_of_predictions_names_the_model_version_of_each_date(tmp_path) -> None:
    """A backfill over dates two versions serve: each date's materialization names the version that
    predicted it, the newest promoted one whose cutoff is on or before the date (its games are not in
    its training rows). The run-wide ``models_used`` lists both on every date, which told a date
    served by the older version as if the newer one, trained on that date's games, had predicted it."""
    from datetime import UTC, date, datetime, timedelta

    import polars as pl

    from nba_assets.defs.partitions import game_date_partitions
    from nba_assets.defs.predictions.assets import player_points_predictions
    from nba_assets.lib.modeling.config import ModelConfig
    from nba_assets.lib.modeling.registry import ModelRegistry
    from nba_assets.lib.modeling.train import train_points_model
    from nba_assets.lib.schemas import RAW_CONTRACTS
    from nba_assets.lib.storage.object_store import LocalObjectStore
    from nba_assets_tests.test_lib_modeling import synthetic_features

    feats = synthetic_features(date(2025, 1, 1), 16).with_columns(pl.lit("BOS").alias("team_abbr"))
    tiny = ModelConfig(iterations=3, validation_days=5, validation_min_rows=200, min_train_rows=200)
    registry = ModelRegistry(LocalObjectStore(tmp_path / "objects"))
    versions = {}
    for cutoff in (date(2025, 1, 12), date(2025, 1, 15)):
        model = train_points_model(feats, cutoff, tiny)
        registry.save(model, True, {})
        versions[cutoff] = model.version
    days = [date(2025, 1, 11) + timedelta(days=k) for k in range(6)]  # 11 .. 16
    props = pl.DataFrame(
        [
            {
                "game_date": day,
                "game_id": f"0022400{(day - date(2025, 1, 1)).days:03d}",
                "event_id": "ev",
                "tipoff_utc": datetime(day.year, day.month, day.day, 23, tzinfo=UTC),
                "snapshot_utc": datetime(day.year, day.month, day.day, 15, tzinfo=UTC),
                "home_abbr": "BOS",
                "away_abbr": "NYK",
                "bookmaker": "draftkings",
                "player_name": f"p{player}",
                "player_id": player,
                "team_abbr": "BOS",
                "match_method": "exact",
                "line": 12.5,
                "over_price": -110,
                "under_price": -110,
                "is_main_line": True,
                "source": "test",
            }
            for day in days
            for player in (3, 4)
        ],
        schema=RAW_CONTRACTS["player_props"],
    )

    class FramesIOManager(dg.IOManager):
        def handle_output(self, context: dg.OutputContext, obj: object) -> None:
            pass

        def load_input(self, context: dg.InputContext) -> pl.DataFrame:
            frame = props if context.asset_key == dg.AssetKey(["raw", "player_props"]) else feats
            span = context.asset_partition_key_range
            first, last = date.fromisoformat(span.start), date.fromisoformat(span.end)
            return frame.filter(pl.col("game_date").is_between(first, last))

    upstream = [
        dg.AssetSpec(key, partitions_def=game_date_partitions)
        for key in (["features", "player_features"], ["raw", "player_props"])
    ]
    with dg.instance_for_test() as instance:

        def run(first: date, last: date) -> dg.ExecuteInProcessResult:
            return dg.materialize(
                [player_points_predictions, *upstream, dg.AssetSpec(["models", "points_model"])],
                instance=instance,
                tags={
                    "dagster/asset_partition_range_start": first.isoformat(),
                    "dagster/asset_partition_range_end": last.isoformat(),
                },
                resources={
                    "io_manager": FramesIOManager(),
                    "object_store": LocalObjectStoreResource(root=str(tmp_path / "objects")),
                },
                raise_on_error=False,
            )

        # a date before every version's cutoff: refused, saying which cutoff would serve it (a model
        # trained without one, today's cutoff, would not)
        early = run(days[0], days[0])
        assert not early.success
        (failure,) = [e for e in early.all_events if e.is_step_failure]
        message = str(failure.step_failure_data.error)
        assert "no promoted model with a cutoff on or before 2025-01-11" in message
        assert "cutoff 2025-01-11 or earlier" in message
        result = run(days[2], days[-1])
        assert result.success
        by_date = {
            m.partition: m.metadata["model_version"].value
            for m in result.asset_materializations_for_node("predictions__player_points_predictions")
        }
    older, newer = versions[date(2025, 1, 12)], versions[date(2025, 1, 15)]
    assert by_date == {"2025-01-13": older, "2025-01-14": older, "2025-01-15": newer, "2025-01-16": newer}


def test_every_job_but_the_retrain_runs_game_date_partitions(tmp_path) -> None:
    """The jobs take their partitioning from the assets they select (``define_asset_job``'s own
    ``partitions_def`` is deprecated, to go in Dagster 2.0): every one but the retrain, which trains on
    a cutoff, is partitioned by game date."""
    defs = build_definitions(Settings(data_dir=tmp_path))
    partitioning = {
        job.name: job.partitions_def for job in defs.resolve_all_job_defs() if not job.name.startswith("__")
    }
    assert partitioning.pop("weekly_retrain_job") is None
    assert partitioning and all(p == game_date_partitions for p in partitioning.values()), partitioning
