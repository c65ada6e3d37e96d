"""The one place the environment is decided.

``NBA_ASSETS_ENV``: ``local`` (default) or ``prod``. ``NBA_ASSETS_DATA_DIR`` moves everything the
local environment writes (DuckDB warehouse, object store, alert log); default ``./.nba_assets``.
Read only when definitions are built (``nba_assets.definitions``), never at import time.
Secrets are not read here: resources take them through ``dg.EnvVar``.

``dg.EnvVar`` refuses an unset variable when a run starts, but passes one set to ``""`` on, which then
failed deep inside a client (an ``IndexError`` from GCS, "'' is not a BigQuery project id"). The prod
resources call :func:`require_value` when a run sets them up, so an empty required variable fails there,
naming the variable (never its value). ``BETTINGPROS_API_KEY`` is not required: empty means no lines
fallback.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

Env = Literal["local", "prod"]
ENVS: tuple[Env, ...] = ("local", "prod")

GCP_PROJECT_VAR = "NBA_ASSETS_GCP_PROJECT"
GCS_BUCKET_VAR = "NBA_ASSETS_GCS_BUCKET"
ODDS_API_KEY_VAR = "ODDS_API_KEY"
# The variables the prod environment cannot run without (README, "Environments").
REQUIRED_PROD_VARS: tuple[str, ...] = (GCP_PROJECT_VAR, GCS_BUCKET_VAR, ODDS_API_KEY_VAR)
BETTINGPROS_API_KEY_VAR = "BETTINGPROS_API_KEY"
# Variables a prod run reads through ``dg.EnvVar`` that may be empty but not unset (dg.EnvVar refuses an
# unset one when the run starts): an empty BETTINGPROS_API_KEY means no lines fallback.
SET_PROD_VARS: tuple[str, ...] = (BETTINGPROS_API_KEY_VAR,)
# A Slack channel sends prod alerts to Slack (``alerts_resource``), whose client needs the bot token.
SLACK_CHANNEL_VAR = "NBA_ASSETS_SLACK_CHANNEL"
SLACK_BOT_TOKEN_VAR = "SLACK_BOT_TOKEN"


class SettingError(ValueError):
    """A required setting is unset or empty; the message names the variable, never its value."""


def require_value(var: str, value: str | None) -> str:
    """``value`` (what ``var`` resolved to), or a :class:`SettingError` naming ``var`` when it is unset
    (None) or empty (blank counts as empty)."""
    if value is None:
        raise SettingError(f"{var} is not set (the prod environment needs it)")
    if not str(value).strip():
        raise SettingError(
            f"{var} is set but empty (the prod environment needs a value; of its variables only "
            "BETTINGPROS_API_KEY may be empty)"
        )
    return value


def prod_setting_problems(environ: Mapping[str, str] | None = None) -> list[str]:
    """One message per required prod variable that is unset or empty in ``environ`` (default: the
    process environment), per variable that may be empty but is unset, and for ``SLACK_BOT_TOKEN``
    unset or empty while ``NBA_ASSETS_SLACK_CHANNEL`` is set (alerts go to Slack); empty when the prod
    environment has what it needs. Messages name variables, never their values."""
    environ = os.environ if environ is None else environ
    problems = []
    for var in REQUIRED_PROD_VARS:
        try:
            require_value(var, environ.get(var))
        except SettingError as exc:
            problems.append(str(exc))
    problems += [
        f"{var} is not set (the prod environment needs it set; it may be empty: no lines fallback)"
        for var in SET_PROD_VARS
        if environ.get(var) is None
    ]
    # the same test as Settings.from_env / alerts_resource: any non-empty channel means Slack
    if environ.get(SLACK_CHANNEL_VAR, ""):
        why = (
            f"{SLACK_CHANNEL_VAR} is set: alerts go to Slack, which needs the bot token; leave "
            f"{SLACK_CHANNEL_VAR} unset or empty for the local alert log"
        )
        token = environ.get(SLACK_BOT_TOKEN_VAR)
        if token is None:
            problems.append(f"{SLACK_BOT_TOKEN_VAR} is not set ({why})")
        elif not token.strip():
            problems.append(f"{SLACK_BOT_TOKEN_VAR} is set but empty ({why})")
    return problems


@dataclass(frozen=True)
class Settings:
    env: Env = "local"
    data_dir: Path = Path(".nba_assets")
    # prod only (names, not secrets; the GCP project and the GCS bucket reach the resources through
    # dg.EnvVar, see defs/resources_prod.py)
    bigquery_location: str = "US"
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
            env=cast(Env, env),  # checked against ENVS above
            data_dir=Path(environ.get("NBA_ASSETS_DATA_DIR") or ".nba_assets").expanduser().resolve(),
            bigquery_location=environ.get("NBA_ASSETS_BIGQUERY_LOCATION", "US"),
            gcs_prefix=environ.get("NBA_ASSETS_GCS_PREFIX", "nba_assets"),
            slack_channel=environ.get(SLACK_CHANNEL_VAR, ""),
        )
