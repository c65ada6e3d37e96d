"""The dbt CLI resource of the context layer."""

import os
import threading
from typing import Any

from dagster_dbt import DbtCliResource

# dbt reads the DuckDB path from its environment (profiles.yml: env_var('NBA_ASSETS_WAREHOUSE')), and
# DbtCliResource builds the subprocess environment from os.environ; the variable is set only around the
# call that starts dbt, under a lock, so concurrent invocations in one process never see another path.
_ENV_LOCK = threading.Lock()
WAREHOUSE_ENV = "NBA_ASSETS_WAREHOUSE"


class NbaDbtCliResource(DbtCliResource):
    """``DbtCliResource`` whose dbt writes to ``warehouse_path`` (the IO manager's DuckDB file).

    ``warehouse_path`` is empty for targets that are not DuckDB (BigQuery).
    """

    warehouse_path: str = ""

    def cli(self, args: list[str], **kwargs: Any) -> Any:  # type: ignore[override]
        if not self.warehouse_path:
            return super().cli(args, **kwargs)
        with _ENV_LOCK:
            previous = os.environ.get(WAREHOUSE_ENV)
            os.environ[WAREHOUSE_ENV] = self.warehouse_path
            try:
                # the dbt subprocess is started (and its environment copied) inside this call
                return super().cli(args, **kwargs)
            finally:
                if previous is None:
                    os.environ.pop(WAREHOUSE_ENV, None)
                else:
                    os.environ[WAREHOUSE_ENV] = previous
