"""context/*: the dbt models (staging views, context tables), partitioned by game date like the raw layer.

One ``dbt build`` per run covers the run's whole partition range (vars ``min_date``/``max_date``); the dbt
schema tests run in the same invocation and surface as asset checks.
"""

import json
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, dbt_assets

from nba_assets.defs.context.resources import NbaDbtCliResource
from nba_assets.defs.partitions import game_date_partitions, validate_partition_key
from nba_assets.lib.dbt_project import dbt_project, manifest_path

# Days of raw box scores before a date that rest days and rosters read (dbt var history_days): about a
# season and an off-season, so a season opener still knows each player's previous game.
HISTORY_DAYS = 400


def partition_vars(window: dg.TimeWindow) -> dict[str, Any]:
    """dbt vars for a partition window: ``min_date``/``max_date`` are inclusive ET game dates
    (``YYYY-MM-DD``; the window's end is exclusive, so ``max_date`` is the day before it)."""
    first = window.start.date()
    last = window.end.date() - timedelta(days=1)
    if last < first:
        raise ValueError(f"empty partition window {window.start} .. {window.end}")
    for day in (first, last):
        validate_partition_key(day.isoformat())
    return {"min_date": first.isoformat(), "max_date": last.isoformat(), "history_days": HISTORY_DAYS}


class NbaDbtTranslator(DagsterDbtTranslator):
    """Keys ``[layer, table]`` where the layer is the model's schema (``staging`` | ``context``), group =
    layer, ``partition_expr`` = ``game_date``; raw sources keep the keys their ``meta.dagster`` names."""

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: Any) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] != "model":
            return spec
        layer = props["config"].get("schema") or props["schema"]
        spec = spec.replace_attributes(
            key=dg.AssetKey([layer, props["name"]]), group_name=layer, kinds={"dbt", "duckdb"}
        )
        # context tables are partitioned by game date; staging views are not partitioned
        return spec.merge_attributes(metadata={"partition_expr": "game_date"}) if layer == "context" else spec


translator = NbaDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


@dbt_assets(
    manifest=manifest_path(),
    project=dbt_project,
    dagster_dbt_translator=translator,
    select="path:models/staging",
    pool="duckdb",
    name="staging_dbt_models",
)
def staging_dbt_models(context: dg.AssetExecutionContext, dbt: NbaDbtCliResource) -> Iterator[Any]:
    """The staging views: typed, renamed projections of the raw tables. A view holds no rows of its
    own, so these are not partitioned (one materialization per build, not one per game date)."""
    # "cautious": only tests whose every parent is a staging view (context tests run with context)
    yield from dbt.cli(["build", "--indirect-selection", "cautious"], context=context).stream()


@dbt_assets(
    manifest=manifest_path(),
    project=dbt_project,
    dagster_dbt_translator=translator,
    select="path:models/context",
    partitions_def=game_date_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="duckdb",
    name="context_dbt_models",
)
def context_dbt_models(context: dg.AssetExecutionContext, dbt: NbaDbtCliResource) -> Iterator[Any]:
    """The context tables for the run's partition window (vars min_date / max_date); their schema
    tests run in the same ``dbt build`` and surface as asset checks."""
    dbt_vars = partition_vars(context.partition_time_window)
    context.log.info(f"dbt build for {dbt_vars['min_date']} .. {dbt_vars['max_date']}")
    yield from dbt.cli(["build", "--vars", json.dumps(dbt_vars)], context=context).stream()


context_assets = [staging_dbt_models, context_dbt_models]
