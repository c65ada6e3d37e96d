"""Reads of the Dagster instance the sensors need, turned into the plain values ``policy`` decides on."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

import dagster as dg

# the instance's tick storage (Dagster-internal, like the other internal imports: pinned to 1.13)
from dagster._core.scheduler.instigation import InstigatorTick, TickStatus
from dagster._utils.error import SerializableErrorInfo

from nba_assets.defs.automation.policy import (
    FAILED,
    PLANNED,
    PartitionWrite,
    ReadinessState,
    RunFacts,
    StaleSlateState,
    StoredLines,
    TickOutcome,
    redact,
)
from nba_assets.defs.grading.assets import BOX, READY
from nba_assets.lib.alerts import check_dict
from nba_assets.lib.line_fingerprints import STORED_LINES_METADATA

READY_CHECK = dg.AssetCheckKey(BOX, READY)
UNFINISHED = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
RunFinishedEvent = Literal[
    dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE, dg.DagsterEventType.RUN_CANCELED
]
FINISHED_EVENTS: dict[str, RunFinishedEvent] = {
    "RUN_SUCCESS": dg.DagsterEventType.RUN_SUCCESS,
    "RUN_FAILURE": dg.DagsterEventType.RUN_FAILURE,
    "RUN_CANCELED": dg.DagsterEventType.RUN_CANCELED,
}
PARTITION_TAG = "dagster/partition"
RANGE_TAGS = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")


def _unfinished(instance: dg.DagsterInstance, run_id: str) -> bool:
    run = instance.get_run_by_id(run_id) if run_id else None
    return run is not None and run.status in UNFINISHED


def unfinished_run_exists(instance: dg.DagsterInstance, job_name: str, partition: str | None = None) -> bool:
    """A run of the job (of that partition, when one is named) is queued, starting or running."""
    tags = {PARTITION_TAG: partition} if partition is not None else None
    records = instance.get_run_records(
        dg.RunsFilter(job_name=job_name, tags=tags, statuses=UNFINISHED), limit=1
    )
    return bool(records)


def ever_materialized(instance: dg.DagsterInstance, key: dg.AssetKey) -> bool:
    """The asset has a materialization (of any partition) on this instance."""
    return instance.get_latest_materialization_event(key) is not None


def readiness_states(
    instance: dg.DagsterInstance, days: list[str], overnight_job: str
) -> dict[str, ReadinessState]:
    """The latest ``box_scores_ready_for_grading`` evaluation of each date, per partition.

    ``get_asset_check_partition_info`` is the event-log storage's per-partition view of a check (the
    status, the run that planned it, the evaluation's storage id, the box-scores materialization it
    judged). A PLANNED row whose run has finished means the check never ran (an upstream step failed).
    """
    infos = {
        i.partition_key: i
        for i in instance.event_log_storage.get_asset_check_partition_info([READY_CHECK], partition_keys=days)
    }
    states = {}
    for day in days:
        info = infos.get(day)
        in_flight = unfinished_run_exists(instance, overnight_job, day)
        if info is None:
            states[day] = ReadinessState(run_in_progress=in_flight)
            continue
        status = info.latest_execution_status.value
        states[day] = ReadinessState(
            status=status,
            run_in_progress=in_flight
            or (status == PLANNED and _unfinished(instance, info.latest_planned_run_id)),
            check_storage_id=info.latest_check_event_storage_id,
            box_scores_storage_id=info.latest_target_materialization_storage_id,
            latest_box_scores_storage_id=info.latest_materialization_storage_id,
        )
    return states


def latest_check_outcome(
    instance: dg.DagsterInstance, check: dg.AssetCheckKey, day: str, limit: int = 100
) -> tuple[str, float] | None:
    """(status, timestamp) of ``check``'s latest finished evaluation in a run of partition ``day``, among
    its newest ``limit`` execution records; None when there is none. For a check evaluated inside its
    asset, Dagster files only the planned record under the run's partition (the evaluation itself has
    none, and the partition view stays PLANNED), so an evaluation is matched to ``day`` by its run."""
    history = instance.event_log_storage.get_asset_check_execution_history(check, limit=limit)
    runs = {r.run_id for r in history if r.partition == day}
    for record in history:  # newest first
        if record.run_id in runs and record.status.value != PLANNED and record.event is not None:
            return record.status.value, record.event.timestamp
    return None


def stale_slate_state(
    instance: dg.DagsterInstance, day: str, check: dg.AssetCheckKey, days_before: list[str], jobs: list[str]
) -> StaleSlateState:
    """The plain values ``policy.stale_slate_decision`` decides on: ``check``'s latest evaluation in a run
    of ``day``, the newest box-scores write of ``days_before`` stored after it, and whether a run of
    ``jobs`` for ``day`` is still going."""
    outcome = latest_check_outcome(instance, check, day)
    status, evaluated = outcome if outcome else (None, None)
    after = None
    if status == FAILED and evaluated is not None:
        written = [
            record.storage_id
            for d in days_before
            if (record := latest_materialization(instance, BOX, d)) is not None
            and record.timestamp > evaluated
        ]
        after = max(written) if written else None
    return StaleSlateState(
        day=day,
        status=status,
        box_scores_after=after,
        run_in_progress=any(unfinished_run_exists(instance, job, day) for job in jobs),
    )


def latest_run_of_check(instance: dg.DagsterInstance, day: str) -> str:
    infos = instance.event_log_storage.get_asset_check_partition_info([READY_CHECK], partition_keys=[day])
    return infos[0].latest_planned_run_id if infos else ""


def latest_materialization(
    instance: dg.DagsterInstance, key: dg.AssetKey, partition: str
) -> dg.EventLogRecord | None:
    result = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1
    )
    return result.records[0] if result.records else None


def latest_materialization_ids(
    instance: dg.DagsterInstance, key: dg.AssetKey, days: Iterable[str]
) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for day in days:
        record = latest_materialization(instance, key, day)
        out[day] = record.storage_id if record else None
    return out


def materializations_after(
    instance: dg.DagsterInstance, key: dg.AssetKey, after: int, limit: int
) -> list[dg.EventLogRecord]:
    """``key``'s materializations stored after ``after``, oldest first (at most ``limit``)."""
    result = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, after_storage_id=after), limit=limit, ascending=True
    )
    return list(result.records)


def materializations_since(
    instance: dg.DagsterInstance, key: dg.AssetKey, after: int | None, since: datetime, limit: int
) -> list[dg.EventLogRecord]:
    """``key``'s materializations stored after storage id ``after`` (or, with None, at or after
    ``since``), oldest first (at most ``limit``)."""
    flt = (
        dg.AssetRecordsFilter(asset_key=key, after_storage_id=after)
        if after is not None
        else dg.AssetRecordsFilter(asset_key=key, after_timestamp=since.timestamp())
    )
    return list(instance.fetch_materializations(flt, limit=limit, ascending=True).records)


def materializations_after_any(
    instance: dg.DagsterInstance, keys: list[dg.AssetKey], after: int, limit: int
) -> list[dg.EventLogRecord]:
    """The materializations of any of ``keys`` stored after ``after``, oldest first: each key's first
    ``limit``, merged, cut where the earliest full page ends (a key's records past its page are read
    from there next time, so none is skipped)."""
    pages = [materializations_after(instance, key, after, limit) for key in keys]
    ends = [page[-1].storage_id for page in pages if len(page) >= limit]
    merged = sorted((r for page in pages for r in page), key=lambda r: r.storage_id)
    return [r for r in merged if not ends or r.storage_id <= min(ends)]


def latest_materialization_id_by_partition(instance: dg.DagsterInstance, key: dg.AssetKey) -> dict[str, int]:
    """Per materialized partition of ``key``, the storage id of its latest materialization (one query)."""
    return dict(instance.get_latest_storage_id_by_partition(key, dg.DagsterEventType.ASSET_MATERIALIZATION))


def stored_lines(
    instance: dg.DagsterInstance, key: dg.AssetKey, day: str, writers: Iterable[str]
) -> StoredLines:
    """The lines stored for ``day`` (``key``: ``raw/player_props``): whether a run of one of the jobs
    ``writers`` (those that store them) is still queued or running for ``day``, and the latest stored
    partition's run and fingerprints (its ``STORED_LINES_METADATA``)."""
    writing = next((job for job in writers if unfinished_run_exists(instance, job, day)), None)
    record = latest_materialization(instance, key, day)
    if record is None or record.asset_materialization is None:
        return StoredLines(writing=writing)
    value = record.asset_materialization.metadata.get(STORED_LINES_METADATA)
    games = getattr(value, "value", None)
    return StoredLines(
        writing=writing,
        stored=True,
        run_id=record.run_id,
        games=games if isinstance(games, dict) else None,
    )


def partition_writes(instance: dg.DagsterInstance, records: list[dg.EventLogRecord]) -> list[PartitionWrite]:
    """Each materialization record as a :class:`PartitionWrite`, in order, asking each run's status once."""
    finished: dict[str, bool] = {}
    out = []
    for record in records:
        if record.run_id not in finished:
            finished[record.run_id] = run_finished(instance, record.run_id)
        out.append(PartitionWrite(record.storage_id, record.partition_key or "", finished[record.run_id]))
    return out


def run_finished(instance: dg.DagsterInstance, run_id: str) -> bool:
    """The run has finished, or there is none (a runless report, a run deleted since)."""
    return not _unfinished(instance, run_id)


def materialization_metadata(
    instance: dg.DagsterInstance, key: dg.AssetKey, partition: str, run_id: str
) -> dict[str, Any] | None:
    """Plain metadata values of ``key``'s materialization of ``partition`` in run ``run_id``."""
    record = latest_materialization(instance, key, partition)
    if record is None or record.run_id != run_id or record.asset_materialization is None:
        return None
    return {k: getattr(v, "value", v) for k, v in record.asset_materialization.metadata.items()}


def finished_runs(
    instance: dg.DagsterInstance,
    after: dict[str, int],
    since: datetime,
    event_names: Iterable[str] = tuple(FINISHED_EVENTS),
    limit: int = 50,
) -> list[tuple[str, dg.EventLogRecord]]:
    """Run-finished events after each type's cursor (or, with no cursor yet, since ``since``), in
    storage order. Each type keeps its own cursor, so a page limit never skips events of another."""
    out = []
    for name in event_names:
        flt = (
            dg.RunStatusChangeRecordsFilter(FINISHED_EVENTS[name], after_storage_id=after[name])
            if name in after
            else dg.RunStatusChangeRecordsFilter(FINISHED_EVENTS[name], after_timestamp=since.timestamp())
        )
        result = instance.fetch_run_status_changes(flt, limit=limit, ascending=True)
        out += [(name, r) for r in result.records]
    return sorted(out, key=lambda pair: pair[1].storage_id)


def partition_label(tags: dict[str, str]) -> str:
    if tags.get(PARTITION_TAG):
        return tags[PARTITION_TAG]
    start, end = (tags.get(t) for t in RANGE_TAGS)
    return f"{start}..{end}" if start and end else ""


def run_facts(instance: dg.DagsterInstance, run_id: str) -> RunFacts | None:
    """A finished run's status, job, partition(s), failed checks (with description and metadata) and
    failed steps."""
    run = instance.get_run_by_id(run_id)
    if run is None:
        return None
    partition = partition_label(dict(run.tags))
    checks = []
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = entry.dagster_event.event_specific_data if entry.dagster_event else None
        if not isinstance(evaluation, dg.AssetCheckEvaluation) or evaluation.passed:
            continue
        # a result's description leads (the freshness check's names the partition it expected)
        described = {"description": evaluation.description} if evaluation.description else {}
        entry_dict = check_dict(
            evaluation.asset_key.to_user_string(),
            evaluation.check_name,
            evaluation.severity.value,
            evaluation.partition or partition,
            {**described, **evaluation.metadata},
        )
        entry_dict["metadata"] = {k: redact(v) for k, v in entry_dict["metadata"].items()}
        checks.append(entry_dict)
    steps = []
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        event = entry.dagster_event
        if event is None:
            continue
        error = event.step_failure_data.error if event.step_failure_data else None
        # an asset's own exception comes wrapped in Dagster's step error: name the cause's class
        # (SourceDataError, ...), never its text
        if error is not None and error.cls_name == "DagsterExecutionStepExecutionError" and error.cause:
            error = error.cause
        steps.append((event.step_key or "", (error.cls_name or "") if error else ""))
    return RunFacts(
        run_id=run_id,
        job=run.job_name,
        status=run.status.value,
        partition=partition,
        failed_checks=tuple(checks),
        failed_steps=tuple(steps),
        failure_reason=run.tags.get("dagster/failure_reason", ""),
        relaunched_as=run.tags.get(AUTO_RETRY_TAG, ""),
    )


AUTO_RETRY_TAG = "dagster/auto_retry_run_id"  # set on a failed run by the daemon that relaunched it


def failed_readiness(instance: dg.DagsterInstance, day: str) -> dict[str, Any] | None:
    """The latest failed readiness evaluation of ``day`` as an alert check entry, if any."""
    run_id = latest_run_of_check(instance, day)
    facts = run_facts(instance, run_id) if run_id else None
    if facts is None:
        return None
    return next((c for c in facts.failed_checks if c["check"] == READY and c["partition"] == day), None)


def finished_ticks(
    instance: dg.DagsterInstance, last: dict[str, tuple[int, bool]], since: datetime, limit: int = 100
) -> list[tuple[str, str, list[TickOutcome]]]:
    """For every sensor and schedule the instance knows: ``(kind, name, ticks)``, its finished ticks
    after the one ``last`` names under ``"<kind>:<name>"`` (or, for one not there yet, since ``since``),
    oldest first, up to ``limit`` and stopping at a tick still running (it is read once finished)."""
    out = []
    for state in instance.all_instigator_state():
        kind = state.instigator_type.value.lower()
        seen = last.get(f"{kind}:{state.instigator_name}")
        ticks = instance.get_ticks(
            state.instigator_origin_id,
            state.selector_id,
            after=None if seen else since.timestamp(),
            limit=limit,
        )
        done: list[TickOutcome] = []
        for t in sorted(ticks, key=lambda t: t.tick_id):
            if seen and t.tick_id <= seen[0]:
                continue
            if t.status == TickStatus.STARTED:
                break
            done.append(_tick_outcome(t))
        out.append((kind, state.instigator_name, done))
    return out


def _tick_outcome(tick: InstigatorTick) -> TickOutcome:
    error: SerializableErrorInfo | None = tick.error
    while error is not None and error.cause is not None:  # the user code's own exception, not the wrapper
        error = error.cause
    failed = tick.status == TickStatus.FAILURE
    return TickOutcome(
        tick.tick_id, tick.timestamp, failed, (error.cls_name or "") if failed and error else ""
    )
