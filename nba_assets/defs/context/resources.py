"""The dbt CLI resource of the context layer."""

import hashlib
import os
import shutil
import sys
import threading
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

from dagster_dbt import DbtCliResource

# dbt reads the DuckDB path from its environment (profiles.yml: env_var('NBA_ASSETS_WAREHOUSE')), and
# DbtCliResource builds the subprocess environment from os.environ; the variables are set only around the
# call that starts dbt, under a lock, so concurrent invocations in one process never see another value.
_ENV_LOCK = threading.Lock()
WAREHOUSE_ENV = "NBA_ASSETS_WAREHOUSE"
PARTIAL_PARSE_FILE = "partial_parse.msgpack"


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

    def partial_parse_cache(self) -> Path | None:
        """Where the partial-parse state for this resource's profile is kept (None: not kept)."""
        if not self.warehouse_path:
            return None
        key = hashlib.sha256(f"{self.target}\0{self.warehouse_path}".encode()).hexdigest()[:16]
        return Path(self.project_dir) / "target" / "partial_parse" / f"{key}.msgpack"

    def cli(self, args: list[str], *, env: Mapping[str, str] | None = None, **kwargs: Any) -> Any:  # type: ignore[override]
        """``DbtCliResource.cli`` with ``env`` added to the dbt subprocess's environment (and the
        warehouse path, for DuckDB)."""
        overrides = dict(env or {})
        if self.warehouse_path:
            overrides[WAREHOUSE_ENV] = self.warehouse_path
        cache = self.partial_parse_cache()
        if cache is not None and kwargs.get("target_path") is None:
            target_path = self._get_unique_target_path(context=kwargs.get("context"))
            _seed_partial_parse(cache, Path(self.project_dir) / target_path)
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
        if cache is None:
            return
        written = Path(invocation.target_path) / PARTIAL_PARSE_FILE
        if not written.exists():
            return
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_name(f"{cache.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            shutil.copyfile(written, tmp)
            os.replace(tmp, cache)  # atomic: a concurrent reader sees the old or the new file
            _prune(cache.parent)
        except OSError:
            pass  # a read-only install only loses the speed-up


def _beside_interpreter(executable: str) -> bool:
    """Whether ``executable`` is the dbt script of this interpreter's environment."""
    path = Path(executable)
    return path.is_absolute() and path.parent == Path(sys.executable).parent and path.exists()


KEEP_PARTIAL_PARSE_FILES = 16  # one per warehouse path (tests make many); the newest are kept


def _prune(folder: Path) -> None:
    files = sorted(folder.glob("*.msgpack"), key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in files[KEEP_PARTIAL_PARSE_FILES:]:
        stale.unlink(missing_ok=True)


def _seed_partial_parse(cache: Path, target_dir: Path) -> None:
    if not cache.exists():
        return  # dagster-dbt then seeds from the project's target/ (as the stock resource does)
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cache, target_dir / PARTIAL_PARSE_FILE)
    except OSError:
        pass
