"""The prod environment's resources (BigQuery, GCS, the live sources): imported only when prod is selected,
so the local code location never imports dagster_gcp or the BigQuery clients."""

from typing import Any

import dagster as dg
from dagster_gcp import GCSResource

from nba_assets.defs.automation.resources import alerts_resource
from nba_assets.defs.context.resources import NbaDbtCliResource
from nba_assets.defs.resources import LiveSourceResource, ObjectStoreResource
from nba_assets.lib.dbt_project import dbt_executable, dbt_project
from nba_assets.lib.env import (
    BETTINGPROS_API_KEY_VAR,
    GCP_PROJECT_VAR,
    GCS_BUCKET_VAR,
    ODDS_API_KEY_VAR,
    Settings,
    require_value,
)
from nba_assets.lib.storage.bigquery_io import NbaPolarsBigQueryIOManager
from nba_assets.lib.storage.object_store import GCSObjectStore, ObjectStore


class GCSObjectStoreResource(ObjectStoreResource):
    gcs: GCSResource
    bucket: str
    prefix: str = "nba_assets"

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # dg.EnvVar refuses NBA_ASSETS_GCS_BUCKET unset, not set to ""
        require_value(GCS_BUCKET_VAR, self.bucket)

    def get_store(self) -> ObjectStore:
        return GCSObjectStore(self.gcs.get_client(), self.bucket, self.prefix)


def build_prod_resources(settings: Settings) -> dict[str, Any]:
    """Every resource of the prod environment."""
    gcs = GCSResource(project=dg.EnvVar(GCP_PROJECT_VAR))
    object_store = GCSObjectStoreResource(
        gcs=gcs, bucket=dg.EnvVar(GCS_BUCKET_VAR), prefix=settings.gcs_prefix
    )
    return {
        "io_manager": NbaPolarsBigQueryIOManager(
            project=dg.EnvVar(GCP_PROJECT_VAR),
            location=settings.bigquery_location,
            maximum_bytes_billed=settings.bigquery_max_bytes_billed,
        ),
        "object_store": object_store,
        "nba_source": LiveSourceResource(
            odds_api_key=dg.EnvVar(ODDS_API_KEY_VAR),
            bettingpros_api_key=dg.EnvVar(BETTINGPROS_API_KEY_VAR),
            odds_quota_reserve=settings.odds_quota_reserve,
            odds_quota_floor=settings.odds_quota_floor,
        ),
        # DbtCliResource.__init__ takes a DbtProject; mypy sees only the pydantic field (a str)
        "dbt": NbaDbtCliResource(
            project_dir=dbt_project,  # type: ignore[arg-type]
            target="bigquery",
            dbt_executable=dbt_executable(),
        ),
        # Slack with a channel, else the alert log in GCS (never a file of the code server's pod)
        "alerts": alerts_resource(settings, object_store),
    }
