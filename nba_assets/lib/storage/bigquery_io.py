"""The prod warehouse IO manager: dagster-polars' BigQuery manager, with the local manager's rule for a
table that was never created (see :func:`nba_assets.lib.storage.duckdb_io.missing_table_is_empty`):
an error naming the table and the asset, unless the input declared emptiness legitimate."""

from collections.abc import Sequence
from typing import Any

import dagster as dg
import polars as pl
from dagster._core.storage.db_io_manager import DbTypeHandler, TableSlice
from dagster_polars import PolarsBigQueryIOManager
from dagster_polars.io_managers.bigquery import PolarsBigQueryTypeHandler
from google.api_core.exceptions import NotFound

from nba_assets.lib.storage.duckdb_io import missing_table


class NbaPolarsBigQueryTypeHandler(PolarsBigQueryTypeHandler):
    def load_input(  # type: ignore[override]
        self, context: dg.InputContext, table_slice: TableSlice, connection: Any
    ) -> pl.DataFrame:
        try:
            return super().load_input(context, table_slice, connection)
        except NotFound:
            return missing_table(context, f"{table_slice.database}.{table_slice.schema}.{table_slice.table}")


class NbaPolarsBigQueryIOManager(PolarsBigQueryIOManager):
    """BigQuery warehouse for polars frames; dataset = asset key prefix (the layer)."""

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [NbaPolarsBigQueryTypeHandler()]
