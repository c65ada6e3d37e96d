"""The dbt project (leaf module: imports nothing of the package).

Its manifest is prepared offline by ``dbt parse`` before Dagster loads the definitions:
``python -m nba_assets.lib.dbt_project`` (``scripts/dev.sh`` runs it after installing).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import date
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


def _run_dbt(
    command: Sequence[str], warehouse: str, env: Mapping[str, str] | None = None, **run: Any
) -> subprocess.CompletedProcess[str]:
    """``dbt <command>`` on this project and its ``duckdb`` target with the DuckDB file ``warehouse``
    (``WAREHOUSE_ENV``), no usage stats, and ``env`` added to this process's environment; ``run`` goes
    to :func:`subprocess.run`."""
    args = [*command, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    environ = {
        **os.environ,
        WAREHOUSE_ENV: warehouse,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        **(env or {}),
    }
    return subprocess.run([dbt_executable(), *args, "--target", "duckdb"], env=environ, text=True, **run)


def prepare() -> Path:
    """Write ``dbt_project/target/manifest.json`` with ``dbt parse`` (no warehouse, no network)."""
    # parse opens no database; point the profile at memory so no warehouse file is created
    _run_dbt(["parse", "--quiet"], ":memory:", check=True)
    return dbt_project.manifest_path


def window_vars(first: date, last: date) -> dict[str, Any]:
    """The context run's dbt vars for the game dates ``first``..``last`` (inclusive, ``YYYY-MM-DD``) and
    HISTORY_DAYS of history before them: the context asset's partitions and the backtest's scratch run."""
    return {"min_date": first.isoformat(), "max_date": last.isoformat(), "history_days": HISTORY_DAYS}


def window_env(dbt_vars: Mapping[str, Any]) -> dict[str, str]:
    """The window as the environment the dbt macros read (macros/window.sql: ``window_value``)."""
    return {f"NBA_ASSETS_DBT_{name.upper()}": str(value) for name, value in dbt_vars.items()}


def run_models(warehouse: Path, select: Sequence[str], dbt_vars: Mapping[str, Any], work_dir: Path) -> None:
    """``dbt run --select <select>`` (models only, no tests) on the DuckDB file ``warehouse`` for the
    window ``dbt_vars`` (``min_date``, ``max_date``, ``history_days``, passed as the context run passes
    them: :func:`window_env`); dbt's target and logs go under ``work_dir``, not the project. A failed
    run raises ``RuntimeError`` with the end of dbt's output."""
    paths = ["--target-path", str(work_dir / "target"), "--log-path", str(work_dir / "logs")]
    done = _run_dbt(
        ["run", "--select", *select, *paths],
        str(warehouse),
        window_env(dbt_vars),
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"dbt run --select {' '.join(select)} failed: {(done.stdout + done.stderr)[-2000:]}"
        )


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
