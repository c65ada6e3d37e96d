"""The one place the environment is decided.

``NBA_ASSETS_ENV``: ``local`` (default) or ``prod``. ``NBA_ASSETS_DATA_DIR`` moves everything the
local environment writes (DuckDB warehouse, object store, alert log); default ``./.nba_assets``.
``NBA_ASSETS_EXECUTOR``: how a run executes its steps, ``multiprocess`` (default: one process per step on
the run's machine) or ``k8s`` (one Kubernetes pod per step, ``dagster_k8s.k8s_job_executor``; prod only,
since the local warehouse and object store are files on one machine). Read only when definitions are
built (``nba_assets.definitions``), never at import time.
``NBA_ASSETS_ODDS_QUOTA_RESERVE`` (default :data:`ODDS_QUOTA_RESERVE_DEFAULT`): The Odds API credits the
refresh sensor's optional line polls leave for the scheduled fetches (it stops polling at or below it);
``NBA_ASSETS_ODDS_QUOTA_FLOOR`` (default 0): the credits the runs themselves leave (a date they cannot
pay for without going under it is refused). Whole numbers, floor <= reserve; an empty value is the
default. Only the live sources (prod) spend credits.
``NBA_ASSETS_BIGQUERY_MAX_BYTES_BILLED`` (default :data:`BIGQUERY_MAX_BYTES_BILLED_DEFAULT`): the bytes one
BigQuery query job may bill (prod: the IO manager's queries and dbt's ``bigquery`` target); BigQuery
refuses a job that would bill more, without charging it. A whole number above 0; empty: the default.
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

ENV_VAR = "NBA_ASSETS_ENV"
DATA_DIR_VAR = "NBA_ASSETS_DATA_DIR"
Env = Literal["local", "prod"]
ENVS: tuple[Env, ...] = ("local", "prod")
Executor = Literal["multiprocess", "k8s"]
EXECUTORS: tuple[Executor, ...] = ("multiprocess", "k8s")
EXECUTOR_VAR = "NBA_ASSETS_EXECUTOR"

GCP_PROJECT_VAR = "NBA_ASSETS_GCP_PROJECT"
GCS_BUCKET_VAR = "NBA_ASSETS_GCS_BUCKET"
GCS_PREFIX_VAR = "NBA_ASSETS_GCS_PREFIX"
BIGQUERY_LOCATION_VAR = "NBA_ASSETS_BIGQUERY_LOCATION"
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
# The prod variables that hold secrets: a deployment maps them from a secret store (deploy/k8s/values.yaml
# from a Kubernetes Secret), never writes their values into a file. The others name things (project,
# bucket, channel) and may sit in plain configuration.
SECRET_PROD_VARS: tuple[str, ...] = (ODDS_API_KEY_VAR, BETTINGPROS_API_KEY_VAR, SLACK_BOT_TOKEN_VAR)
# The Odds API credits kept back (nba_assets/lib/sources/live/quota.py). The reserve covers the morning
# slates until the plan renews: a full 15-game slate costs 15 credits (player_points x region us), so a
# month of them ~450, plus their retries.
ODDS_QUOTA_RESERVE_VAR = "NBA_ASSETS_ODDS_QUOTA_RESERVE"
ODDS_QUOTA_FLOOR_VAR = "NBA_ASSETS_ODDS_QUOTA_FLOOR"
ODDS_QUOTA_RESERVE_DEFAULT = 500
ODDS_QUOTA_FLOOR_DEFAULT = 0
# The bytes one BigQuery query job may bill (maximumBytesBilled; BigQuery leaves a job without it
# uncapped unless the project sets a default). This warehouse's queries read one partition or a whole
# table of a few hundred thousand rows; 200 GB, about $1.14 at the on-demand list price
# of $6.25 per TiB, still stops a runaway query (a lost partition filter, a join without its keys).
BIGQUERY_MAX_BYTES_BILLED_VAR = "NBA_ASSETS_BIGQUERY_MAX_BYTES_BILLED"
BIGQUERY_MAX_BYTES_BILLED_DEFAULT = 200_000_000_000
# Every variable a production deployment sets for the code (Settings.from_env and the resources read
# nothing else but NBA_ASSETS_DATA_DIR, which only the local environment uses); deploy/k8s/values.yaml
# maps exactly these (nba_assets_tests/test_deploy.py).
DEPLOYMENT_VARS: tuple[str, ...] = (
    ENV_VAR,
    EXECUTOR_VAR,
    GCP_PROJECT_VAR,
    BIGQUERY_LOCATION_VAR,
    GCS_BUCKET_VAR,
    GCS_PREFIX_VAR,
    SLACK_CHANNEL_VAR,
    ODDS_QUOTA_RESERVE_VAR,
    ODDS_QUOTA_FLOOR_VAR,
    BIGQUERY_MAX_BYTES_BILLED_VAR,
    *SECRET_PROD_VARS,
)


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
    # the same test as Settings.from_env / alerts_resource: any channel that is not blank means Slack
    if environ.get(SLACK_CHANNEL_VAR, "").strip():
        why = (
            f"{SLACK_CHANNEL_VAR} is set: alerts go to Slack, which needs the bot token; leave "
            f"{SLACK_CHANNEL_VAR} unset or empty to write alerts to the alert log in GCS (alerts/ under "
            f"{GCS_PREFIX_VAR}) instead"
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
    executor: Executor = "multiprocess"
    data_dir: Path = Path(".nba_assets")
    # prod only (names, not secrets; the GCP project and the GCS bucket reach the resources through
    # dg.EnvVar, see defs/resources_prod.py)
    bigquery_location: str = "US"
    gcs_prefix: str = "nba_assets"
    slack_channel: str = ""
    # The Odds API credits the refresh sensor's polls leave (reserve) and the runs leave (floor)
    odds_quota_reserve: int = ODDS_QUOTA_RESERVE_DEFAULT
    odds_quota_floor: int = ODDS_QUOTA_FLOOR_DEFAULT
    # the bytes one BigQuery query job may bill (prod: the IO manager and dbt's bigquery target)
    bigquery_max_bytes_billed: int = BIGQUERY_MAX_BYTES_BILLED_DEFAULT

    def __post_init__(self) -> None:
        if self.odds_quota_floor < 0 or self.odds_quota_floor > self.odds_quota_reserve:
            raise ValueError(
                f"{ODDS_QUOTA_FLOOR_VAR} must be between 0 and {ODDS_QUOTA_RESERVE_VAR} "
                f"({self.odds_quota_reserve}), got {self.odds_quota_floor}"
            )
        if self.executor == "k8s" and self.env != "prod":
            raise ValueError(
                f"{EXECUTOR_VAR}=k8s needs NBA_ASSETS_ENV=prod, got NBA_ASSETS_ENV={self.env!r}: the "
                "local environment's DuckDB warehouse, object store and alert log are files on one "
                "machine, which the pods of other steps cannot see"
            )

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
        """The settings ``environ`` (default: the process environment) selects. A variable unset or
        empty (a ConfigMap key left blank) takes the field's default above, defined only there."""
        environ = os.environ if environ is None else environ
        env = environ.get(ENV_VAR, "").strip().lower() or cls.env
        if env not in ENVS:
            raise ValueError(f"{ENV_VAR} must be one of {ENVS}, got {env!r}")
        executor = environ.get(EXECUTOR_VAR, "").strip().lower() or cls.executor
        if executor not in EXECUTORS:
            raise ValueError(f"{EXECUTOR_VAR} must be one of {EXECUTORS}, got {executor!r}")
        return cls(
            env=cast(Env, env),  # checked against ENVS above
            executor=cast(Executor, executor),  # checked against EXECUTORS above
            data_dir=Path(environ.get(DATA_DIR_VAR) or cls.data_dir).expanduser().resolve(),
            bigquery_location=environ.get(BIGQUERY_LOCATION_VAR, "").strip() or cls.bigquery_location,
            gcs_prefix=environ.get(GCS_PREFIX_VAR, "").strip() or cls.gcs_prefix,
            slack_channel=environ.get(SLACK_CHANNEL_VAR, cls.slack_channel).strip(),
            odds_quota_reserve=credits_setting(environ, ODDS_QUOTA_RESERVE_VAR, cls.odds_quota_reserve),
            odds_quota_floor=credits_setting(environ, ODDS_QUOTA_FLOOR_VAR, cls.odds_quota_floor),
            bigquery_max_bytes_billed=bytes_setting(
                environ, BIGQUERY_MAX_BYTES_BILLED_VAR, cls.bigquery_max_bytes_billed
            ),
        )


def credits_setting(environ: Mapping[str, str], var: str, default: int) -> int:
    """A whole number of credits (0 or more) from ``var``; unset or empty: ``default``. Anything else
    is a ValueError naming the variable and the value (these are not secrets)."""
    return whole_number_setting(environ, var, default, "credits", 0)


def bytes_setting(environ: Mapping[str, str], var: str, default: int) -> int:
    """A whole number of bytes (above 0) from ``var``; unset or empty: ``default``. Anything else is a
    ValueError naming the variable and the value (not a secret)."""
    return whole_number_setting(environ, var, default, "bytes", 1)


def whole_number_setting(environ: Mapping[str, str], var: str, default: int, unit: str, least: int) -> int:
    """A whole number of ``unit`` of at least ``least`` from ``var``; unset or empty: ``default``.
    Anything else is a ValueError naming the variable, the unit, the bound and the value."""
    raw = environ.get(var, "").strip()
    if not raw:
        return default
    bound = "above 0" if least == 1 else f"{least} or more"
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{var} must be a whole number of {unit} ({bound}), got {raw!r}") from None
    if value < least:
        raise ValueError(f"{var} must be a whole number of {unit} ({bound}), got {raw!r}")
    return value
