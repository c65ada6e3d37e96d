"""One way to turn a library check outcome into a Dagster asset check result."""

from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg

# not exported by ``dagster``; the record Dagster attaches to a one-partition run's check result
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)


def check_result(asset_key: dg.AssetKey, name: str, outcome: Any) -> dg.AssetCheckResult:
    """``outcome``: a :class:`nba_assets.lib.raw.CheckOutcome` (passed, metadata, severity)."""
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=name,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity(outcome.severity),
        metadata=outcome.metadata,
    )


def _target_materializations(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, partitions: list[str]
) -> dict[str, AssetCheckEvaluationTargetMaterializationData]:
    """The asset's latest materialization of each partition (two queries, whatever the range): what
    each evaluation judged, as Dagster records it for a one-partition run's result."""
    ids = instance.get_latest_storage_id_by_partition(
        asset_key, dg.DagsterEventType.ASSET_MATERIALIZATION, set(partitions)
    )
    if not ids:
        return {}
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, storage_ids=list(ids.values())), limit=len(ids)
    ).records
    return {
        r.partition_key: AssetCheckEvaluationTargetMaterializationData(
            storage_id=r.storage_id, run_id=r.run_id, timestamp=r.timestamp
        )
        for r in records
        if r.partition_key is not None
    }


def partitioned_check_results(
    context: dg.AssetCheckExecutionContext, outcomes: Mapping[str, Any]
) -> Iterator[dg.Output | dg.AssetCheckEvaluation]:
    """The results of a partitioned ``@asset_check``: one evaluation per partition of the run.

    ``outcomes``: a :class:`nba_assets.lib.raw.CheckOutcome` per partition key of the run. Dagster
    files an ``AssetCheckResult`` under the run's partition only when the run has one; a
    partition-range run's result is stored without a partition, and each date of the range stays
    PLANNED. So the check yields its output (downstream steps of a blocking check wait on it) and one
    ``AssetCheckEvaluation`` per partition, with the materialization it judged; a failed blocking
    ERROR evaluation still fails the step after all of them are recorded.
    """
    (spec,) = context.check_specs
    (output,) = context.op_def.output_defs  # an @asset_check's op has one output, for its check
    yield dg.Output(None, output_name=output.name)
    targets = _target_materializations(context.instance, spec.asset_key, list(outcomes))
    for partition, outcome in outcomes.items():
        yield dg.AssetCheckEvaluation(
            asset_key=spec.asset_key,
            check_name=spec.name,
            passed=outcome.passed,
            metadata=outcome.metadata,
            target_materialization_data=targets.get(partition),
            severity=dg.AssetCheckSeverity(outcome.severity),
            blocking=spec.blocking,
            partition=partition,
        )
