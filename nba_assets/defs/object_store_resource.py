"""The object store resource's interface (leaf module: the alert sinks and the resources both use it)."""

import dagster as dg

from nba_assets.lib.storage.object_store import ObjectStore


class ObjectStoreResource(dg.ConfigurableResource):
    """Where raw payloads, quarantined rows, models, reports and (prod without Slack) alerts are kept."""

    def get_store(self) -> ObjectStore:
        raise NotImplementedError
