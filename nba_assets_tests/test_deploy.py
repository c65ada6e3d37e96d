"""The production scale-out configuration (deploy/k8s/), offline: no cluster, no Helm, no Docker here.

* the Kubernetes instance file passes Dagster's instance schema, the K8sRunLauncher's and the GCS compute
  log manager's config schemas, and keeps deploy/dagster.yaml's run queue, pool, retry and monitoring
  settings;
* the Helm values set the same instance settings for the chart to render, name the image and the code
  location's module, and map exactly the variables the code reads (secrets only from a Secret);
* the definitions built with NBA_ASSETS_EXECUTOR=k8s load and every job runs on k8s_job_executor, with
  resource requests on the heavy steps;
* the Dockerfile installs ``.[prod]`` and prepares the dbt manifest at build time;
* in prod every alert goes to Slack or the object store, never to a file of the pod that sends it.
"""

import json
import logging
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from nba_assets.defs.build import build_definitions
from nba_assets.lib.alerts import Alert
from nba_assets.lib.env import (
    DATA_DIR_VAR,
    DEPLOYMENT_VARS,
    EXECUTOR_VAR,
    REQUIRED_PROD_VARS,
    SECRET_PROD_VARS,
    SET_PROD_VARS,
    Settings,
)

REPO = Path(__file__).resolve().parents[1]
K8S = REPO / "deploy" / "k8s"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
MODULE = PYPROJECT["tool"]["dagster"]["module_name"]

# what the chart (or, without it, the deployer) sets on the pods that read the instance file
INSTANCE_ENV = {
    "DAGSTER_HOME": "/opt/dagster/dagster_home",
    "DAGSTER_K8S_JOB_NAMESPACE": "nba-assets",
    "DAGSTER_K8S_SERVICE_ACCOUNT": "nba-assets-dagster",
    "DAGSTER_K8S_INSTANCE_CONFIG_MAP": "nba-assets-instance",
    "DAGSTER_K8S_PG_PASSWORD_SECRET": "dagster-postgresql-secret",
    "DAGSTER_PG_HOST": "postgres.example.internal",
    "DAGSTER_PG_USER": "dagster",
    "DAGSTER_PG_PASSWORD": "not-a-real-password",
    "DAGSTER_PG_DB": "dagster",
    "NBA_ASSETS_GCS_BUCKET": "nba-bucket",
}


def _yaml(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def _k8s_instance(monkeypatch) -> dict[str, Any]:
    from dagster._core.instance.config import dagster_instance_config

    for name, value in INSTANCE_ENV.items():
        monkeypatch.setenv(name, value)
    config, _ = dagster_instance_config(str(K8S))
    return config


def _process(config_type: Any, value: Any) -> dict[str, Any]:
    """``value`` checked against a configurable class's schema, env sources resolved (as Dagster does when
    it builds the class)."""
    from dagster._config import process_config, resolve_to_config_type

    result = process_config(resolve_to_config_type(config_type), value)
    assert result.success, [e.message for e in result.errors or []]
    return dict(result.value or {})


def _user_deployment() -> dict[str, Any]:
    (deployment,) = _yaml(K8S / "values.yaml")["dagster-user-deployments"]["deployments"]
    return deployment


# ---------------------------------------------------------------- the instance file


def test_k8s_instance_file_passes_dagsters_instance_schema(monkeypatch) -> None:
    config = _k8s_instance(monkeypatch)
    assert config["run_launcher"]["class"] == "K8sRunLauncher"
    assert config["run_launcher"]["module"] == "dagster_k8s"
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert "postgres" in config["storage"]
    assert config["compute_logs"]["class"] == "GCSComputeLogManager"


def test_k8s_run_launcher_and_compute_log_config_pass_their_schemas(monkeypatch) -> None:
    """The instance schema takes any ``config`` for a configurable class; the class's own schema is
    applied when the instance is built, i.e. on the cluster. Here it is applied offline."""
    pytest.importorskip("dagster_k8s", reason="dagster-k8s (the prod and dev extras) is not installed")
    from dagster_gcp.gcs.compute_log_manager import GCSComputeLogManager
    from dagster_k8s import K8sRunLauncher

    config = _k8s_instance(monkeypatch)
    launcher = _process(K8sRunLauncher.config_type(), config["run_launcher"]["config"])
    assert launcher["instance_config_map"] == "nba-assets-instance"
    assert launcher["job_namespace"] == "nba-assets"
    assert launcher["load_incluster_config"] is True
    assert launcher["fail_pod_on_run_failure"] is True
    logs = _process(GCSComputeLogManager.config_type(), config["compute_logs"]["config"])
    assert logs["bucket"] == "nba-bucket"
    # a key that is not in the launcher's schema is refused (the check is not a pass-through)
    from dagster._config import process_config, resolve_to_config_type

    bad = {**config["run_launcher"]["config"], "job_namespaces": "typo"}
    assert not process_config(resolve_to_config_type(K8sRunLauncher.config_type()), bad).success


def test_k8s_instance_keeps_the_limits_of_the_production_instance(monkeypatch) -> None:
    """Same run queue (8 runs, one run per game date), pool slots, retries and slot freeing as
    deploy/dagster.yaml: moving to Kubernetes changes where runs execute, not what may run at once."""
    from dagster._core.instance.config import dagster_instance_config

    k8s = _k8s_instance(monkeypatch)
    monkeypatch.setenv("DAGSTER_PG_URL", "postgresql://user:password@localhost:5432/dagster")
    single, _ = dagster_instance_config(str(REPO / "deploy"))
    assert k8s["concurrency"] == single["concurrency"]
    assert k8s["run_retries"] == single["run_retries"]
    for key in ("enabled", "poll_interval_seconds", "free_slots_after_run_end_seconds"):
        assert k8s["run_monitoring"][key] == single["run_monitoring"][key], key


# ---------------------------------------------------------------- the Helm values


def test_helm_values_set_the_instance_files_settings(monkeypatch) -> None:
    """The chart renders the instance from values.yaml: its run queue, pools, retries, monitoring, compute
    logs and launcher settings are the instance file's, key by key."""
    values = _yaml(K8S / "values.yaml")
    instance = _k8s_instance(monkeypatch)
    runs, pools = values["concurrency"]["runs"], values["concurrency"]["pools"]
    assert values["concurrency"]["enabled"] is True
    assert runs["maxConcurrentRuns"] == instance["concurrency"]["runs"]["max_concurrent_runs"]
    assert runs["tagConcurrencyLimits"] == instance["concurrency"]["runs"]["tag_concurrency_limits"]
    assert pools["defaultLimit"] == instance["concurrency"]["pools"]["default_limit"]
    # the chart refuses queue limits in both places; the queue itself must be on
    coordinator = values["dagsterDaemon"]["runCoordinator"]
    assert coordinator["enabled"] and coordinator["type"] == "QueuedRunCoordinator"
    assert not coordinator["config"]["queuedRunCoordinator"]
    retries = values["dagsterDaemon"]["runRetries"]
    assert {
        "enabled": retries["enabled"],
        "max_retries": retries["maxRetries"],
        "retry_on_asset_or_op_failure": retries["retryOnAssetOrOpFailure"],
    } == instance["run_retries"]
    monitoring = values["dagsterDaemon"]["runMonitoring"]
    assert {
        "enabled": monitoring["enabled"],
        "start_timeout_seconds": monitoring["startTimeoutSeconds"],
        "poll_interval_seconds": monitoring["pollIntervalSeconds"],
        "free_slots_after_run_end_seconds": monitoring["freeSlotsAfterRunEndSeconds"],
    } == instance["run_monitoring"]
    assert values["runLauncher"]["type"] == instance["run_launcher"]["class"]
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    assert launcher["failPodOnRunFailure"] == instance["run_launcher"]["config"]["fail_pod_on_run_failure"]
    assert launcher["loadInclusterConfig"] == instance["run_launcher"]["config"]["load_incluster_config"]
    gcs = values["computeLogManager"]["config"]["gcsComputeLogManager"]
    assert values["computeLogManager"]["type"] == instance["compute_logs"]["class"]
    assert {"bucket": gcs["bucket"], "prefix": gcs["prefix"], "upload_interval": gcs["uploadInterval"]} == (
        instance["compute_logs"]["config"]
    )
    assert values["postgresql"]["enabled"] is False and values["generatePostgresqlPasswordSecret"] is False
    assert values["telemetry"] == instance["telemetry"]


def test_helm_values_name_the_image_and_the_code_locations_module() -> None:
    values = _yaml(K8S / "values.yaml")
    assert values["dagster-user-deployments"]["enabled"] is True
    deployment = _user_deployment()
    assert deployment["image"]["repository"] and deployment["image"]["tag"]
    args = deployment["dagsterApiGrpcArgs"]
    assert args[args.index("--module-name") + 1] == MODULE == "nba_assets.definitions"
    # run and step pods inherit the code location's environment and secrets
    assert deployment["includeConfigInLaunchedRuns"]["enabled"] is True


def test_helm_values_map_exactly_the_variables_the_code_reads_and_secrets_only_from_a_secret() -> None:
    """Every variable of lib/env.py's DEPLOYMENT_VARS is set on the code location (and so on its run and
    step pods), nothing else; the secrets come from a Kubernetes Secret, never a value in the file; the
    variables prod cannot run without are not optional."""
    env = {e["name"]: e for e in _user_deployment()["env"]}
    assert set(env) == set(DEPLOYMENT_VARS)
    for var in SECRET_PROD_VARS:
        assert "value" not in env[var], var
        assert "secretKeyRef" in env[var]["valueFrom"], var
    for var in set(DEPLOYMENT_VARS) - set(SECRET_PROD_VARS):
        assert "secretKeyRef" not in env[var].get("valueFrom", {}), f"{var} is not a secret"
    for var in (*REQUIRED_PROD_VARS, *SET_PROD_VARS):
        ref = next(iter(env[var]["valueFrom"].values()))
        assert not ref.get("optional", False), f"{var} is required in prod"
    literal = {name: e["value"] for name, e in env.items() if "value" in e}
    settings = Settings.from_env(literal)
    assert (settings.env, settings.executor) == ("prod", "k8s")


def test_settings_read_only_the_deployment_variables() -> None:
    """DEPLOYMENT_VARS cannot miss a variable Settings reads (the values file would then lack it)."""

    class Recording(dict):
        def get(self, key, default=None):
            seen.add(key)
            return super().get(key, default)

    seen: set[str] = set()
    Settings.from_env(Recording({"NBA_ASSETS_ENV": "prod"}))
    assert seen - {DATA_DIR_VAR} <= set(DEPLOYMENT_VARS), seen - set(DEPLOYMENT_VARS)


def test_no_deploy_file_holds_a_secret_value() -> None:
    """No file under deploy/ sets a secret variable to a value (`NAME=...`, `NAME: value`)."""
    for path in (REPO / "deploy").rglob("*"):
        if not path.is_file():
            continue
        text = path.read_text()
        for var in SECRET_PROD_VARS:
            assert not re.search(rf"{var}\s*[=:]\s*\S", text), f"{path.name} sets {var}"


# ---------------------------------------------------------------- executor selection


def _prod(executor: str | None) -> Settings:
    environ = {"NBA_ASSETS_ENV": "prod", "NBA_ASSETS_DATA_DIR": "/nonexistent/never-created"}
    if executor is not None:
        environ[EXECUTOR_VAR] = executor
    return Settings.from_env(environ)


@pytest.mark.parametrize(("channel", "expected"), [("  ", ""), (" #nba-alerts ", "#nba-alerts")])
def test_a_blank_slack_channel_is_no_channel_and_a_padded_one_is_trimmed(channel: str, expected: str) -> None:
    """A blank NBA_ASSETS_SLACK_CHANNEL chose Slack (then channel_not_found on the first alert) and made
    `main` ask for the bot token; it means the alert log in GCS like an empty one."""
    from nba_assets.lib.env import SLACK_CHANNEL_VAR, prod_setting_problems

    environ = {"NBA_ASSETS_ENV": "prod", SLACK_CHANNEL_VAR: channel}
    assert Settings.from_env(environ).slack_channel == expected
    asks_token = any("SLACK_BOT_TOKEN" in p for p in prod_setting_problems(environ))
    assert asks_token == bool(expected)


def _jobs(defs: dg.Definitions) -> list[dg.JobDefinition]:
    jobs = list(defs.resolve_all_job_defs())
    assert len(jobs) > 10  # the declared jobs and the implicit asset job
    return jobs


def test_executor_is_chosen_from_the_environment_and_validated() -> None:
    assert Settings.from_env({}).executor == "multiprocess"
    assert _prod(None).executor == "multiprocess"
    assert _prod(" K8S ").executor == "k8s"
    with pytest.raises(ValueError, match=r"NBA_ASSETS_EXECUTOR must be one of .* got 'celery'"):
        _prod("celery")
    # the local warehouse and object store are files on one machine: not with pods per step
    with pytest.raises(ValueError, match=r"NBA_ASSETS_EXECUTOR=k8s needs NBA_ASSETS_ENV=prod"):
        Settings.from_env({EXECUTOR_VAR: "k8s"})


def test_k8s_executor_runs_every_job(monkeypatch) -> None:
    pytest.importorskip("dagster_k8s", reason="dagster-k8s (the prod and dev extras) is not installed")
    from dagster_k8s import k8s_job_executor

    defs = build_definitions(_prod("k8s"))
    for job in _jobs(defs):
        assert job.executor_def is k8s_job_executor, job.name
    assert not Path("/nonexistent/never-created").exists()


def test_default_executor_is_dagsters_multiprocess_one(tmp_path) -> None:
    for settings in (Settings(data_dir=tmp_path), _prod(None)):
        for job in _jobs(build_definitions(settings)):
            assert job.executor_def is dg.multi_or_in_process_executor, job.name


def test_heavy_steps_request_kubernetes_resources() -> None:
    """Training and the dbt steps carry ``dagster-k8s/config`` op tags, in the form dagster-k8s reads
    for each step's pod; the light steps keep the executor's defaults."""
    pytest.importorskip("dagster_k8s", reason="dagster-k8s (the prod and dev extras) is not installed")
    from dagster_k8s.job import get_user_defined_k8s_config

    defs = build_definitions(_prod("k8s"))
    requests = {}
    for name in ("weekly_retrain_job", "build_context_job", "ingest_raw_job"):
        for node in defs.resolve_job_def(name).graph.node_dict.values():
            config = get_user_defined_k8s_config(node.tags)
            requests[node.name] = config.container_config.get("resources", {}).get("requests")
    assert requests["models__points_model"] == {"cpu": "2", "memory": "2Gi"}
    assert requests["context_dbt_models"] == {"cpu": "500m", "memory": "1Gi"}
    assert requests["raw__schedule"] is None


def test_code_location_loads_with_the_k8s_executor(tmp_path) -> None:
    """`dagster definitions validate` loads the module as the code server in the chart does, with the
    deployment's NBA_ASSETS_ENV and NBA_ASSETS_EXECUTOR and no secret set."""
    pytest.importorskip("dagster_k8s", reason="dagster-k8s (the prod and dev extras) is not installed")
    env = {
        k: v for k, v in os.environ.items() if k not in SECRET_PROD_VARS and not k.startswith("NBA_ASSETS_")
    }
    env |= {"DAGSTER_HOME": str(tmp_path), "NBA_ASSETS_ENV": "prod", EXECUTOR_VAR: "k8s"}
    out = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "definitions", "validate", "-m", MODULE],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]


# ---------------------------------------------------------------- the image


def _docker_instructions() -> list[tuple[str, str]]:
    text = (K8S / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_dockerfile_installs_the_prod_extra_and_builds_the_dbt_manifest() -> None:
    steps = _docker_instructions()
    runs = [arg for op, arg in steps if op == "RUN"]
    install = next(i for i, arg in enumerate(runs) if "pip install" in arg)
    assert '-e ".[prod]"' in runs[install]  # editable: dbt_project/ stays beside the package
    manifest = next(i for i, arg in enumerate(runs) if "python -m nba_assets.lib.dbt_project" in arg)
    assert manifest > install
    copied = " ".join(arg for op, arg in steps if op == "COPY")
    for part in ("pyproject.toml", "nba_assets", "dbt_project"):
        assert part in copied, part
    (base,) = [arg for op, arg in steps if op == "FROM"]
    assert base.startswith("python:3.11")  # requires-python >= 3.11
    assert PYPROJECT["project"]["requires-python"] == ">=3.11"
    (user,) = [arg for op, arg in steps if op == "USER"]
    assert user != "root"
    (cmd,) = [json.loads(arg) for op, arg in steps if op == "CMD"]
    assert cmd[:3] == ["dagster", "api", "grpc"] and cmd[cmd.index("--module-name") + 1] == MODULE
    ignored = (K8S / "Dockerfile.dockerignore").read_text().splitlines()
    assert "dbt_project/target" in ignored  # the image prepares its own manifest


def test_prod_extra_pins_the_kubernetes_and_postgres_libraries_to_dagsters_release_line() -> None:
    prod = PYPROJECT["project"]["optional-dependencies"]["prod"]
    assert "dagster-k8s>=0.29,<0.30" in prod and "dagster-postgres>=0.29,<0.30" in prod
    assert "dagster>=1.13,<1.14" in PYPROJECT["project"]["dependencies"]


# ---------------------------------------------------------------- nothing on one machine: alerts


def test_prod_alerts_without_slack_go_to_the_object_store_not_a_file_of_the_pod(
    tmp_path, monkeypatch
) -> None:
    """The alert sensors run in the code server's pod. Before, prod without NBA_ASSETS_SLACK_CHANNEL
    appended alerts to $NBA_ASSETS_DATA_DIR/alerts.log there: a file nobody reads, lost on restart.
    They now go to the object store (GCS), where every pod writes and a person can read them."""
    from dagster_gcp import GCSResource

    from nba_assets_tests.fake_gcs import FakeGCSClient

    client = FakeGCSClient("nba-bucket")
    monkeypatch.setattr(GCSResource, "get_client", lambda self: client)
    for name, value in {
        "NBA_ASSETS_GCP_PROJECT": "my-project",
        "NBA_ASSETS_GCS_BUCKET": "nba-bucket",
    }.items():
        monkeypatch.setenv(name, value)
    data_dir = tmp_path / "pod"
    settings = Settings.from_env(
        {"NBA_ASSETS_ENV": "prod", "NBA_ASSETS_DATA_DIR": str(data_dir), "NBA_ASSETS_GCS_PREFIX": "prod"}
    )
    alerts = build_definitions(settings).resources["alerts"]
    sent = [
        Alert(kind="run_failure", title="Run failed: predict_job", run_id="r1", job="predict_job"),
        Alert(kind="check_failure", title="Check failed", partition="2025-11-05"),
    ]
    with dg.build_resources({"alerts": alerts}) as built:
        built.alerts.send_all(sent)
    assert not data_dir.exists()  # nothing written on the pod
    (key,) = client.b.blobs
    assert re.fullmatch(r"prod/alerts/\d{4}-\d{2}-\d{2}/\d{8}T\d{12}Z-[0-9a-f]{12}\.jsonl", key), key
    logged = [json.loads(line) for line in client.b.blobs[key].decode().splitlines()]
    assert [(a["kind"], a["title"], a["partition"]) for a in logged] == [
        ("run_failure", "Run failed: predict_job", ""),
        ("check_failure", "Check failed", "2025-11-05"),
    ]


def test_object_store_alert_log_reads_back_in_order_and_an_outage_is_transient(tmp_path) -> None:
    from nba_assets.lib.alerts import AlertDeliveryError, ObjectStoreAlertLog
    from nba_assets.lib.storage.object_store import GCSObjectStore, LocalObjectStore
    from nba_assets_tests.fake_gcs import FakeGCSClient

    log = ObjectStoreAlertLog(LocalObjectStore(tmp_path))
    for i in range(3):
        log.send_all([Alert(kind="daily_summary", title=f"t{i}")])
    log.send_all([])  # nothing to send writes nothing
    assert [a["title"] for a in log.read()] == ["t0", "t1", "t2"]
    assert len(LocalObjectStore(tmp_path).list_keys("alerts")) == 3
    down = ObjectStoreAlertLog(GCSObjectStore(FakeGCSClient(fail_uploads=1), "nba-bucket", "prod"))
    with pytest.raises(AlertDeliveryError) as err:
        down.send_all([Alert(kind="daily_summary", title="t")])
    assert err.value.transient


def test_every_job_a_schedule_or_sensor_launches_fails_once_past_its_max_runtime(
    tmp_path, monkeypatch
) -> None:
    """A run that hangs would hold its pool slot and stall the daily runs behind it with no alert: the jobs
    the automation launches carry ``dagster/max_runtime``, and run monitoring (enabled in both production
    instance files) fails a run past it, which ``alerts_sensor`` reports like any failed run."""
    from dagster._core.instance.config import dagster_instance_config
    from dagster._core.storage.tags import MAX_RUNTIME_SECONDS_TAG
    from dagster._core.test_utils import create_run_for_test, instance_for_test
    from dagster._daemon.monitoring import run_monitoring

    defs = build_definitions(Settings(data_dir=tmp_path))
    launched = {s.job_name for s in defs.schedules or []} | {
        t.job_name for s in defs.sensors or [] for t in s.targets
    }
    assert {"morning_slate_job", "refresh_lines_job", "grade_job", "weekly_retrain_job"} <= launched
    limits = {name: float(defs.resolve_job_def(name).tags[MAX_RUNTIME_SECONDS_TAG]) for name in launched}
    assert all(0 < seconds <= 3 * 3600 for seconds in limits.values()), limits
    for name, value in {**INSTANCE_ENV, "DAGSTER_PG_URL": "postgresql://u:p@localhost:5432/d"}.items():
        monkeypatch.setenv(name, value)
    for instance_dir in (REPO / "deploy", K8S):
        assert dagster_instance_config(str(instance_dir))[0]["run_monitoring"]["enabled"] is True

    # what the run-monitoring daemon does with a lines refresh still going past its limit
    job = defs.resolve_job_def("refresh_lines_job")
    limit = limits[job.name]
    with instance_for_test() as instance:
        run = create_run_for_test(
            instance, job_name=job.name, tags=dict(job.tags), status=dg.DagsterRunStatus.STARTED
        )
        record = instance.get_run_record_by_id(run.run_id)
        assert record is not None
        started = record._replace(start_time=1_000.0)
        for now, status in (
            (1_000.0 + limit - 60, dg.DagsterRunStatus.STARTED),
            (1_000.0 + limit + 60, dg.DagsterRunStatus.FAILURE),
        ):
            monkeypatch.setattr(run_monitoring, "get_current_timestamp", lambda now=now: now)
            run_monitoring.check_run_timeout(instance, started, logging.getLogger("test"), 0.0)
            after = instance.get_run_by_id(run.run_id)
            assert after is not None and after.status == status
