"""How a run executes its steps, chosen from ``Settings.executor`` (``NBA_ASSETS_EXECUTOR``) when the
definitions are built, and the Kubernetes resources of the heavy steps.

* ``multiprocess`` (default): Dagster's default executor, one process per step on the machine of the run
  (``multi_or_in_process_executor``); ``nba-assets main`` runs in process whatever is chosen.
* ``k8s``: ``dagster_k8s.k8s_job_executor``, one Kubernetes Job per step, started from the run's pod
  (which the instance's ``K8sRunLauncher`` starts; deploy/k8s/). The step pods get the code location's
  image, environment and secrets from the run (the chart's ``includeConfigInLaunchedRuns``), and each
  step's ``dagster-k8s/config`` tag adds its resource requests. Only with ``NBA_ASSETS_ENV=prod``
  (``Settings`` refuses the local environment: its warehouse and object store are files on one machine).

dagster-k8s (the ``prod`` extra) is imported only when ``k8s`` is chosen.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import dagster as dg

from nba_assets.lib.env import EXECUTOR_VAR, Settings

K8S_CONFIG_TAG = "dagster-k8s/config"


def k8s_step_tags(requests: Mapping[str, str], limits: Mapping[str, str]) -> dict[str, str]:
    """Op tags giving a step's pod these resource requests and limits under ``k8s_job_executor`` (and the
    run's pod under the ``K8sRunLauncher`` when the step is the run's only one); other executors ignore
    them. The value is the JSON string dagster-k8s reads (``get_user_defined_k8s_config``)."""
    config = {"container_config": {"resources": {"requests": dict(requests), "limits": dict(limits)}}}
    return {K8S_CONFIG_TAG: json.dumps(config, sort_keys=True)}


# Sizes from bench/README.md (peak RSS per stage on the season backfill): training 541 MB on one season
# (the main job's three seasons about twice that; CatBoost uses every core it gets); dbt 314 MB (a thin
# client of BigQuery in prod: the warehouse does the work). Limits leave room for a larger history.
TRAINING_STEP_TAGS = k8s_step_tags(
    requests={"cpu": "2", "memory": "2Gi"}, limits={"cpu": "4", "memory": "6Gi"}
)
DBT_STEP_TAGS = k8s_step_tags(requests={"cpu": "500m", "memory": "1Gi"}, limits={"memory": "2Gi"})


def build_executor(settings: Settings) -> dg.ExecutorDefinition:
    """The executor of every job of the code location (``Definitions(executor=...)``)."""
    if settings.executor == "multiprocess":
        return dg.multi_or_in_process_executor
    try:
        from dagster_k8s import k8s_job_executor
    except ImportError as exc:
        raise ImportError(
            f"{EXECUTOR_VAR}=k8s needs dagster-k8s, which is not installed: pip install -e '.[prod]'"
        ) from exc
    return k8s_job_executor
