"""The one place the environment is decided.

``NBA_ASSETS_ENV``: ``local`` (default) or ``prod``. ``NBA_ASSETS_DATA_DIR`` moves everything the
local environment writes (DuckDB warehouse, object store, alert log); default ``./.nba_assets``.
Read only when definitions are built (``nba_assets.definitions``), never at import time.
Secrets are not read here: resources take them through ``dg.EnvVar``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Env = Literal["local", "prod"]
ENVS: tuple[Env, ...] = ("local", "prod")


@dataclass(frozen=True)
class Settings:
    env: Env = "local"
    data_dir: Path = Path(".nba_assets")
    # prod only (names, not secrets)
    gcp_project: str = ""
    bigquery_location: str = "US"
    gcs_bucket: str = ""
    gcs_prefix: str = "nba_assets"
    slack_channel: str = ""

    @property
    def warehouse_path(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def object_store_root(self) -> Path:
        return self.data_dir / "objects"

    @property
    def alert_log(self) -> Path:
        return self.data_dir / "alerts.log"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        env = environ.get("NBA_ASSETS_ENV", "local").strip().lower() or "local"
        if env not in ENVS:
            raise ValueError(f"NBA_ASSETS_ENV must be one of {ENVS}, got {env!r}")
        return cls(
            env=env,  # type: ignore[arg-type]
            data_dir=Path(environ.get("NBA_ASSETS_DATA_DIR") or ".nba_assets").expanduser().resolve(),
            gcp_project=environ.get("NBA_ASSETS_GCP_PROJECT", ""),
            bigquery_location=environ.get("NBA_ASSETS_BIGQUERY_LOCATION", "US"),
            gcs_bucket=environ.get("NBA_ASSETS_GCS_BUCKET", ""),
            gcs_prefix=environ.get("NBA_ASSETS_GCS_PREFIX", "nba_assets"),
            slack_channel=environ.get("NBA_ASSETS_SLACK_CHANNEL", ""),
        )
