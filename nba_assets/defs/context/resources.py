"""The dbt CLI resource of the context layer."""

import os
import sys
import threading
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

from dagster_dbt import DbtCliResource

from nba_assets.lib.dbt_project import WAREHOUSE_ENV
from nba_assets.lib.dbt_state import (
    keep_partial_parse,
    partial_parse_cache,
    prune_invocation_dirs,
    seed_partial_parse,
)
from nba_assets.lib.env import GCP_PROJECT_VAR, require_value

# dbt reads the DuckDB path from its environment (profiles.yml: env_var('NBA_ASSETS_WAREHOUSE')), and
# DbtCliResource builds the subprocess environment from os.environ; the variables are set only around the
# call that starts dbt, under a lock, so concurrent invocations in one process never see another value.
_ENV_LOCK = threading.Lock()


class NbaDbtCliResource(DbtCliResource):
    """``DbtCliResource`` whose dbt writes to ``warehouse_path`` (the IO manager's DuckDB file).

    ``warehouse_path`` is empty for targets that are not DuckDB (BigQuery).

    Three costs of the stock resource are avoided (bench/README.md):

    * ``dbt --version`` (a Python process importing dbt: 4-8 s per run process) when the dbt executable
      is the one installed beside this interpreter: its version is the imported dbt-core's;
    * the in-process dbt adapter (2-5 s per invocation: profile, project and every macro loaded) unless
      ``adapter_metadata`` is set: dagster-dbt uses it only for ``fetch_row_counts`` /
      ``fetch_column_metadata``, which the project does not call;
    * a full parse in every invocation: dbt's ``partial_parse.msgpack`` is kept per warehouse path and
      seeded into each invocation's target directory (dbt itself checks it against the project files,
      profile, vars and its version, and re-parses what changed).
    """

    warehouse_path: str = ""
    adapter_metadata: bool = False

    @cached_property
    def _cli_version(self) -> Any:
        from dagster_dbt.compat import DBT_PYTHON_VERSION

        if DBT_PYTHON_VERSION is not None and _beside_interpreter(self.dbt_executable):
            return DBT_PYTHON_VERSION
        return DbtCliResource._cli_version.func(self)  # type: ignore[attr-defined]

    def _initialize_dbt_core_adapter(self, args: Any) -> Any:
        if self.adapter_metadata:
            return super()._initialize_dbt_core_adapter(args)
        return None  # dagster-dbt accepts no adapter (it is what it falls back to when set-up fails)

    def setup_for_execution(self, context: Any) -> None:
        # dbt's bigquery profile reads env_var('NBA_ASSETS_GCP_PROJECT'): an empty project fails here,
        # named, instead of in the dbt subprocess
        if self.target == "bigquery":
            require_value(GCP_PROJECT_VAR, os.environ.get(GCP_PROJECT_VAR))
        super().setup_for_execution(context)

    def partial_parse_cache(self) -> Path | None:
        """Where the partial-parse state for this resource's profile is kept (None: not kept)."""
        if not self.warehouse_path:
            return None
        return partial_parse_cache(self.project_dir, self.target or "", self.warehouse_path)

    def cli(self, args: list[str], *, env: Mapping[str, str] | None = None, **kwargs: Any) -> Any:  # type: ignore[override]
        """``DbtCliResource.cli`` with ``env`` added to the dbt subprocess's environment (and the
        warehouse path, for DuckDB)."""
        overrides = dict(env or {})
        if self.warehouse_path:
            overrides[WAREHOUSE_ENV] = self.warehouse_path
        # dagster-dbt's own default, DBT_TARGET_PATH or "target" (dbt_cli_invocation._get_dbt_target_path)
        prune_invocation_dirs(Path(self.project_dir) / os.environ.get("DBT_TARGET_PATH", "target"))
        cache = self.partial_parse_cache()
        if cache is not None and kwargs.get("target_path") is None:
            target_path = self._get_unique_target_path(context=kwargs.get("context"))
            seed_partial_parse(cache, Path(self.project_dir) / target_path)
            kwargs["target_path"] = target_path
        if not overrides:
            return super().cli(args, **kwargs)
        with _ENV_LOCK:
            previous = {k: os.environ.get(k) for k in overrides}
            os.environ.update(overrides)
            try:
                # the dbt subprocess is started (and its environment copied) inside this call
                return super().cli(args, **kwargs)
            finally:
                for k, v in previous.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v

    def keep_partial_parse(self, invocation: Any) -> None:
        """After a finished invocation: keep the partial-parse state dbt wrote, for the next one."""
        cache = self.partial_parse_cache()
        if cache is not None:
            keep_partial_parse(Path(invocation.target_path), cache)


def _beside_interpreter(executable: str) -> bool:
    """Whether ``executable`` is the dbt script of this interpreter's environment."""
    path = Path(executable)
    return path.is_absolute() and path.parent == Path(sys.executable).parent and path.exists()
