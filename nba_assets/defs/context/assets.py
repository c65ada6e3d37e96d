"""context/*: the dbt models (staging views, context tables), partitioned by game date like the raw layer.

One ``dbt build`` per run covers the run's whole partition range; the dbt schema tests run in the same
invocation and surface as asset checks.

Two things keep a per-date run to one dbt process with a partial parse (bench/README.md):

* the window reaches dbt as environment variables (``NBA_ASSETS_DBT_MIN_DATE`` / ``_MAX_DATE`` /
  ``_HISTORY_DAYS``) that the macros read only at execution time, not as ``--vars``: dbt re-parses the
  whole project whenever ``--vars`` change, and env vars read at parse time would re-parse the models;
* the staging views hold no rows and change only with the project, so the context run builds them only
  when the warehouse lacks them or they were built from another version of the project (a fingerprint of
  the dbt project kept as the views' comment), or while a raw table they read does not exist yet (the
  view reads an empty relation in its place; see ``dbt_project/macros/raw_table.sql``). On BigQuery
  (no warehouse path) every context run rebuilds them. Materializing ``staging/*`` explicitly always
  rebuilds.
"""

from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, dbt_assets

from nba_assets.defs.context.resources import NbaDbtCliResource
from nba_assets.defs.executors import DBT_STEP_TAGS
from nba_assets.defs.partitions import (
    add_partition_row_counts,
    empty_range_message,
    game_date_partitions,
    validate_partition_key,
)
from nba_assets.lib import dbt_state
from nba_assets.lib.dbt_checks import check_description
from nba_assets.lib.dbt_project import (
    DBT_PROJECT_DIR,
    HISTORY_DAYS,
    dbt_project,
    manifest_path,
    window_env,
    window_vars,
)

STAGING_SCHEMA = dbt_state.STAGING_SCHEMA


def partition_vars(window: dg.TimeWindow) -> dict[str, Any]:
    """dbt vars for a partition window: ``min_date``/``max_date`` are inclusive ET game dates
    (``YYYY-MM-DD``; the window's end is exclusive, so ``max_date`` is the day before it)."""
    first = window.start.date()
    last = window.end.date() - timedelta(days=1)
    if last < first:
        raise ValueError(empty_range_message(first.isoformat(), last.isoformat()))
    for day in (first, last):
        validate_partition_key(day.isoformat())
    return window_vars(first, last)


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
        if layer != "context":
            return spec
        return spec.merge_attributes(
            metadata={"partition_expr": "game_date"}, deps=raw_deps(manifest, unique_id)
        )

    def get_asset_check_spec(
        self, asset_spec: dg.AssetSpec, manifest: Mapping[str, Any], unique_id: str, project: Any
    ) -> dg.AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        # what the test proves, its severity and whether it blocks (the UI's check list showed none)
        return spec._replace(description=check_description(manifest["nodes"][unique_id]))


def raw_deps(manifest: Mapping[str, Any], unique_id: str) -> list[dg.AssetDep]:
    """The raw tables a context model reads through the staging views, as direct dependencies.

    The per-date jobs leave the staging views out, so without these a run holding raw and context
    (morning slate, line refresh, overnight) would have no edge from the raw steps to the context step.
    Raw date D feeds context date D; box scores feed the HISTORY_DAYS before it as well."""
    nodes, sources = manifest["nodes"], manifest["sources"]
    seen, stack, keys = set(), [unique_id], set()
    while stack:
        for parent in manifest["parent_map"].get(stack.pop(), []):
            if parent in seen:
                continue
            seen.add(parent)
            if parent in sources:
                meta = sources[parent].get("config", {}).get("meta", {}) or sources[parent].get("meta", {})
                key = (meta.get("dagster") or {}).get("asset_key")
                if key:
                    keys.add(tuple(key))
            elif parent in nodes and nodes[parent]["resource_type"] == "model":
                stack.append(parent)
    history = dg.TimeWindowPartitionMapping(
        start_offset=-HISTORY_DAYS, end_offset=0, allow_nonexistent_upstream_partitions=True
    )
    return [
        dg.AssetDep(dg.AssetKey(list(k)), partition_mapping=history if k == ("raw", "box_scores") else None)
        for k in sorted(keys)
    ]


translator = NbaDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


# ---------------------------------------------------------------- staging views: built when needed


def staging_views() -> tuple[str, ...]:
    """The staging models' relation names (schema ``staging``), from the prepared manifest."""
    return dbt_state.staging_views(manifest_path())


def project_fingerprint() -> str:
    return dbt_state.project_fingerprint(DBT_PROJECT_DIR)


def staging_is_current(warehouse: str, fingerprint: str) -> bool:
    return dbt_state.staging_is_current(warehouse, fingerprint, manifest_path())


def mark_staging_current(warehouse: str, fingerprint: str) -> None:
    dbt_state.mark_staging_current(warehouse, fingerprint, manifest_path())


def missing_raw_tables(warehouse: str) -> list[str]:
    return dbt_state.missing_raw_tables(warehouse, manifest_path())


def _build_staging(
    context: dg.AssetExecutionContext | None, dbt: NbaDbtCliResource, missing: list[str] | None = None
) -> Iterator[Any]:
    """``missing``: the raw tables absent before the build, if the caller has read them already."""
    fingerprint = project_fingerprint()
    # read before the build: a table first written during it may or may not be in the views
    if missing is None:
        missing = missing_raw_tables(dbt.warehouse_path) if dbt.warehouse_path else []
    if context is not None:  # dagster-dbt selects the context's staging models
        invocation = dbt.cli(["build", "--indirect-selection", "cautious"], context=context)
        yield from invocation.stream()
    else:  # the context run's rebuild (ensure_staging logs the views' materializations)
        invocation = dbt.cli(
            ["build", "--select", "path:models/staging", "--indirect-selection", "cautious"],
            manifest=manifest_path(),
            dagster_dbt_translator=translator,
            raise_on_error=True,
        )
        invocation.wait()
    dbt.keep_partial_parse(invocation)
    if dbt.warehouse_path and not missing:
        mark_staging_current(dbt.warehouse_path, fingerprint)


@dbt_assets(
    manifest=manifest_path(),
    project=dbt_project,
    dagster_dbt_translator=translator,
    select="path:models/staging",
    pool="duckdb",
    op_tags=DBT_STEP_TAGS,
    name="staging_dbt_models",
)
def staging_dbt_models(context: dg.AssetExecutionContext, dbt: NbaDbtCliResource) -> Iterator[Any]:
    """The staging views: typed, renamed projections of the raw tables. A view holds no rows of its
    own, so these are not partitioned (one materialization per build, not one per game date). The
    per-date jobs leave them out: the context run builds them when they are missing or stale."""
    # "cautious": only tests whose every parent is a staging view (context tests run with context)
    yield from _build_staging(context, dbt)


def ensure_staging(context: dg.AssetExecutionContext, dbt: NbaDbtCliResource) -> bool:
    """Build the staging views unless the DuckDB warehouse holds them from this project version; a
    build is recorded as a materialization of each view. True when they were built."""
    if dbt.warehouse_path and staging_is_current(dbt.warehouse_path, project_fingerprint()):
        context.log.info("staging views are current (built from this dbt project); not rebuilt")
        return False
    missing = missing_raw_tables(dbt.warehouse_path) if dbt.warehouse_path else []
    if missing:
        context.log.warning(
            f"raw table(s) {', '.join(missing)} not written by any run yet: their staging views read no "
            "rows until then (rebuilt by the first context run after their first write)"
        )
    context.log.info(
        "building the staging views (missing, built from another dbt project version, or over a raw "
        "table that did not exist)"
    )
    for _ in _build_staging(None, dbt, missing):
        pass
    for view in staging_views():
        context.log_event(
            dg.AssetMaterialization(
                asset_key=dg.AssetKey([STAGING_SCHEMA, view]),
                description="built by the context run: the view was missing or stale"
                + (f" (read as empty until written: {', '.join(missing)})" if missing else ""),
                metadata={"fingerprint": project_fingerprint()},
            )
        )
    return True


@dbt_assets(
    manifest=manifest_path(),
    project=dbt_project,
    dagster_dbt_translator=translator,
    select="path:models/context",
    partitions_def=game_date_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="duckdb",
    op_tags=DBT_STEP_TAGS,  # the pod's resources under the k8s executor (ignored by the others)
    name="context_dbt_models",
)
def context_dbt_models(context: dg.AssetExecutionContext, dbt: NbaDbtCliResource) -> Iterator[Any]:
    """The context tables for the run's partition window (NBA_ASSETS_DBT_MIN_DATE / _MAX_DATE); their
    schema tests run in the same ``dbt build`` and surface as asset checks."""
    ensure_staging(context, dbt)
    dbt_vars = partition_vars(context.partition_time_window)
    context.log.info(f"dbt build for {dbt_vars['min_date']} .. {dbt_vars['max_date']}")
    invocation = dbt.cli(["build"], context=context, env=window_env(dbt_vars))
    if not dbt.warehouse_path:  # BigQuery: dagster-dbt's events as they come
        yield from invocation.stream()
    else:
        # held until dbt exits (it holds the DuckDB file's write lock), then each date's row count is
        # read: dagster-dbt's materializations carried none (a range run's dates only dbt's timings)
        events: list[Any] = []
        try:
            for event in invocation.stream():
                events.append(event)
        except Exception:
            yield from events
            raise
        add_row_counts(context, events, dbt.warehouse_path, dbt_vars)
        yield from events
    dbt.keep_partial_parse(invocation)


def add_row_counts(
    context: dg.AssetExecutionContext, events: list[Any], warehouse: str, dbt_vars: Mapping[str, Any]
) -> None:
    """``dagster/row_count`` of each date of each context table the run wrote (its ``Output`` events)."""
    for event in events:
        if not isinstance(event, dg.Output):
            continue
        key = context.asset_key_for_output(event.output_name)
        counts = dbt_state.rows_by_date(
            warehouse, key.path[0], key.path[-1], dbt_vars["min_date"], dbt_vars["max_date"]
        )
        add_partition_row_counts(context, counts, asset_key=key)


context_assets = [staging_dbt_models, context_dbt_models]
