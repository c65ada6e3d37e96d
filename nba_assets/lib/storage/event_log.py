"""The local Dagster instance's event log: Dagster's SQLite storage, writing a batch of asset events in
one transaction per database instead of two per event.

A partition-range run of a partitioned asset logs one ``ASSET_MATERIALIZATION`` per partition (909 for
raw/schedule over 2022-10-18 .. 2025-04-13). Dagster hands such a partitioned output's events to the
storage as one batch when ``DAGSTER_EVENT_BATCH_SIZE`` is set (``EventLogStorage.store_event_batch``),
but ``SqliteEventLogStorage`` inherits the base method, which stores them one by one: for each, a new
engine, connection and transaction on the run's shard, then the same on the index shard (~30 ms each
on the project's 2-core machine; bench/README.md). Here a batch of asset events of one run is written
with the same rows (the run shard's event rows; the index shard's event rows, asset event tags and
asset key entries), in one transaction per shard. Every partition still has its own materialization
event; the UI and every instance query see exactly what the stock storage would write.

Configured by ``nba_assets.runner.INSTANCE_YAML``; ``base_dir`` is the instance directory
(``$DAGSTER_HOME``), and the files live where the stock storage puts them (``history/runs/``), so an
existing instance home reads and writes the same databases.
"""

import os
from collections.abc import Sequence
from typing import Any

from dagster._core.events import ASSET_EVENTS
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlalchemy_compat import db_result
from dagster._serdes import ConfigurableClassData

# partitions of one output written per batch (a range run's output over more partitions makes several)
EVENT_BATCH_SIZE = 1000


def enable_event_batches() -> None:
    """Let Dagster hand a partitioned output's events to the storage as batches (read by Dagster
    when events are logged, in the process that executes the steps)."""
    os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", str(EVENT_BATCH_SIZE))


class BatchingSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` with ``store_event_batch`` in one transaction per shard."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        super().__init__(os.path.join(base_dir, "history", "runs"), inst_data=inst_data)

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Any
    ) -> "BatchingSqliteEventLogStorage":
        return cls(inst_data=inst_data, **config_value)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        # the batches Dagster makes: one output's asset events, one run; anything else as before
        if not events or any(
            e.run_id != events[0].run_id
            or not e.is_dagster_event
            or e.dagster_event_type not in ASSET_EVENTS
            or not e.get_dagster_event().asset_key
            for e in events
        ):
            super().store_event_batch(events)
            return
        statements = [self.prepare_insert_event(e) for e in events]
        with self.run_connection(events[0].run_id) as conn:
            for statement in statements:
                conn.execute(statement)
        # mirrored in the cross-run index shard, as SqliteEventLogStorage.store_event does per event
        with self.index_transaction() as conn:
            event_ids = []
            for statement in statements:
                with db_result(conn, statement) as result:
                    event_ids.append(result.inserted_primary_key[0])
            self._store_asset_event_tags(conn, events, event_ids)
            for event, event_id in zip(events, event_ids, strict=True):
                self._store_asset_event(conn, event, event_id)
