"""The dbt project (leaf module: imports nothing of the package).

Its manifest is prepared offline by ``dbt parse`` before Dagster loads the definitions:
``python -m nba_assets.lib.dbt_project`` (``scripts/dev.sh`` runs it after installing).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dagster_dbt import DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
# Days of raw box scores before a date that rest days and rosters read (dbt var history_days): about a
# season and an off-season, so a season opener still knows each player's previous game.
HISTORY_DAYS = 400
WAREHOUSE_ENV = "NBA_ASSETS_WAREHOUSE"  # profiles.yml reads the DuckDB path from it

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def dbt_executable() -> str:
    """The dbt installed beside this Python (a venv that is not on PATH still finds it)."""
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else "dbt"


def prepare() -> Path:
    """Write ``dbt_project/target/manifest.json`` with ``dbt parse`` (no warehouse, no network)."""
    env = {
        **os.environ,
        # parse opens no database; point the profile at memory so no warehouse file is created
        WAREHOUSE_ENV: ":memory:",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    subprocess.run(
        [
            dbt_executable(),
            "parse",
            "--quiet",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target",
            "duckdb",
        ],
        check=True,
        env=env,
    )
    return dbt_project.manifest_path


def window_env(dbt_vars: Mapping[str, Any]) -> dict[str, str]:
    """The window as the environment the dbt macros read (macros/window.sql: ``window_value``)."""
    return {f"NBA_ASSETS_DBT_{name.upper()}": str(value) for name, value in dbt_vars.items()}


def manifest_path() -> Path:
    """The prepared manifest, or an error that names the command preparing it."""
    path = dbt_project.manifest_path
    if not path.exists():
        raise FileNotFoundError(
            f"dbt manifest not found at {path}: run `python -m nba_assets.lib.dbt_project` "
            "(scripts/dev.sh does) to prepare it with `dbt parse`"
        )
    return path


if __name__ == "__main__":
    print(prepare())
