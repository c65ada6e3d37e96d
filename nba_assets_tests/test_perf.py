"""Issue 7 (performance): what keeps a run process and a per-date run cheap (bench/README.md)."""

import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pytest

from nba_assets.defs.build import build_definitions
from nba_assets.defs.context import assets as ctx
from nba_assets.defs.context.resources import NbaDbtCliResource
from nba_assets.lib.dbt_project import dbt_executable, dbt_project
from nba_assets.lib.env import Settings

REPO = Path(__file__).resolve().parents[1]
D = "2025-11-05"


def test_local_code_location_imports_no_prod_or_model_libraries() -> None:
    """Every run process imports the code location: the prod clients (dagster_gcp, BigQuery), pandera,
    pandas and CatBoost are imported only where they are used."""
    code = (
        "import sys, nba_assets.definitions\n"
        "heavy = ['dagster_gcp', 'google.cloud.bigquery', 'google.cloud.storage', 'dagster_polars',"
        " 'pandera', 'pandas', 'catboost']\n"
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout.strip()
    assert out == "", f"imported with the local definitions: {out}"


def test_prod_resources_still_construct_lazily() -> None:
    from nba_assets.defs.resources import GCSObjectStoreResource, build_resources

    res = build_resources(Settings.from_env({"NBA_ASSETS_ENV": "prod"}))
    assert isinstance(res["object_store"], GCSObjectStoreResource)


def test_dbt_version_is_not_probed_with_a_subprocess(monkeypatch, tmp_path) -> None:
    from dbt.version import __version__

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"subprocess started: {args}")

    monkeypatch.setattr("dagster_dbt.core.resource.check_output", no_subprocess)
    dbt = NbaDbtCliResource(project_dir=dbt_project, target="duckdb", dbt_executable=dbt_executable())
    assert str(dbt._cli_version) == __version__
    # another dbt than the one beside this interpreter is still asked
    elsewhere = tmp_path / "dbt"
    elsewhere.write_text("#!/bin/sh\necho 'Core: 1.0.0'\n")
    elsewhere.chmod(0o755)
    other = NbaDbtCliResource(project_dir=dbt_project, target="duckdb", dbt_executable=str(elsewhere))
    with pytest.raises(AssertionError, match="subprocess started"):
        other._cli_version  # noqa: B018


def test_window_reaches_dbt_as_environment_not_vars() -> None:
    et = ZoneInfo("America/New_York")
    window = dg.TimeWindow(datetime(2025, 11, 5, tzinfo=et), datetime(2025, 11, 6, tzinfo=et))
    assert ctx.window_env(ctx.partition_vars(window)) == {
        "NBA_ASSETS_DBT_MIN_DATE": D,
        "NBA_ASSETS_DBT_MAX_DATE": D,
        "NBA_ASSETS_DBT_HISTORY_DAYS": str(ctx.HISTORY_DAYS),
    }


def _run(defs: dg.Definitions, job: str, instance, start: str, end: str) -> dg.ExecuteInProcessResult:
    result = defs.resolve_job_def(job).execute_in_process(
        instance=instance,
        tags={"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end},
        raise_on_error=False,
    )
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result


def _staging_materializations(result: dg.ExecuteInProcessResult) -> list[str]:
    return sorted(
        e.asset_key.to_user_string()
        for e in result.get_asset_materialization_events()
        if e.asset_key.path[0] == "staging"
    )


def _dbt_logs(run_id: str) -> str:
    target = Path(dbt_project.project_dir) / "target"
    return "".join(p.read_text() for p in target.glob(f"context_dbt_models-{run_id[:7]}-*/dbt.log"))


def test_context_run_builds_staging_only_when_missing_or_stale_and_reuses_the_parse(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path)
    defs = build_definitions(settings)
    with dg.instance_for_test() as instance:
        _run(defs, "ingest_raw_job", instance, "2025-10-21", D)
        # fresh warehouse: the context run builds the views first and records their materializations
        first = _run(defs, "build_context_job", instance, D, D)
        views = [f"staging/{v}" for v in ctx.staging_views()]
        assert _staging_materializations(first) == views
        assert ctx.staging_is_current(str(settings.warehouse_path), ctx.project_fingerprint())
        # views current: not rebuilt; the window is not --vars, so dbt reuses the earlier parse
        second = _run(defs, "build_context_job", instance, D, D)
        assert _staging_materializations(second) == []
        log = _dbt_logs(second.run_id)
        assert "Unable to do partial parsing" not in log and "partial parsing" in log.lower()
        assert "--vars" not in log
        # a view from another project version (or dropped) is rebuilt
        with duckdb.connect(str(settings.warehouse_path)) as con:
            con.execute(f"COMMENT ON VIEW staging.{ctx.staging_views()[0]} IS 'old'")
        third = _run(defs, "build_context_job", instance, D, D)
        assert _staging_materializations(third) == views
        # the rows equal a run that rebuilt everything
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            n = con.sql(
                "SELECT count(*) FROM context.player_game_context WHERE game_date = ?", params=[D]
            ).fetchall()[0][0]
        assert n > 100
