"""Everything the code location holds, for given settings (tests pass their own)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg

from nba_assets.defs.automation.freshness import freshness_checks, freshness_sensor
from nba_assets.defs.automation.schedules import schedules
from nba_assets.defs.automation.sensors import sensors
from nba_assets.defs.context.assets import context_assets
from nba_assets.defs.executors import build_executor
from nba_assets.defs.features.assets import feature_assets
from nba_assets.defs.grading.assets import grading_assets, grading_checks
from nba_assets.defs.jobs import jobs
from nba_assets.defs.models.assets import model_assets
from nba_assets.defs.predictions.assets import prediction_assets
from nba_assets.defs.raw.assets import raw_assets
from nba_assets.defs.reports.assets import report_assets
from nba_assets.defs.resources import build_resources
from nba_assets.lib.env import Settings
from nba_assets.lib.storage.event_log import enable_event_batches


def build_definitions(settings: Settings, resources: Mapping[str, Any] | None = None) -> dg.Definitions:
    """``resources`` replace the environment's by key (tests point the archive source elsewhere). Every
    job runs on ``settings.executor`` (:func:`nba_assets.defs.executors.build_executor`)."""
    if settings.env == "local":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    # a partitioned output's per-partition events reach the instance's storage as one batch
    enable_event_batches()
    assets = [
        *raw_assets,
        *context_assets,
        *feature_assets,
        *model_assets,
        *prediction_assets,
        *grading_assets,
        *report_assets,
    ]
    return dg.Definitions(
        assets=warehouse_kinds(assets, settings),
        asset_checks=[*grading_checks, *freshness_checks],
        jobs=jobs,
        schedules=schedules,
        sensors=[*sensors, freshness_sensor],
        resources={**build_resources(settings), **(resources or {})},
        executor=build_executor(settings),
    )


def warehouse_kinds(assets: list[Any], settings: Settings) -> list[Any]:
    """The assets declare the local warehouse's kind (``duckdb``); in prod their tables are in BigQuery,
    so the UI's kind (icon, ``kind:`` filter) says ``bigquery`` there. Pools keep their name."""
    if settings.env != "prod":
        return assets

    def to_bigquery(spec: dg.AssetSpec) -> dg.AssetSpec:
        if "duckdb" not in spec.kinds:
            return spec
        return spec.replace_attributes(kinds=(spec.kinds - {"duckdb"}) | {"bigquery"})

    return [
        dg.map_asset_specs(to_bigquery, [a])[0] if isinstance(a, dg.AssetsDefinition) and a.specs else a
        for a in assets
    ]
