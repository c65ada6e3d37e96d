"""A fresh deployment's first runs on a warehouse no run has written yet.

The overnight job writes the schedule and box scores but no injury report or lines; a morning slate
writes no box scores. The staging views read every raw table, so a first overnight run failed in the
context step (``Catalog Error: Table with name injury_report does not exist!``), alerted, and the
catch-up sensor relaunched it. A staging view now reads a missing raw table as an empty relation with
the table's contract columns and types (``dbt_project/macros/raw_table.sql``), and is rebuilt by the first
context run after the table's first write.
"""

from datetime import date, datetime

import dagster as dg
import duckdb
import polars as pl
import yaml

from nba_assets.defs.build import build_definitions
from nba_assets.defs.context import assets as ctx
from nba_assets.defs.jobs import CONTEXT, FEATURES, PRE_GAME_RAW
from nba_assets.defs.resources import ArchiveSourceResource
from nba_assets.lib import schemas
from nba_assets.lib.env import Settings
from nba_assets.lib.sources.archive import ArchiveSource
from nba_assets.lib.sources.base import SourceBatch
from nba_assets_tests.conftest import REPO_ROOT

YESTERDAY, D = "2025-11-04", "2025-11-05"
EMBIID = 203954  # PHI played on 2025-11-04 and plays on 2025-11-05


class InjuryReportArchive(ArchiveSource):
    """The archive, with one injury report row for D (the archive has no injury reports)."""

    def injury_report(
        self, dates: list[date], as_of: datetime, schedule: pl.DataFrame | None = None
    ) -> SourceBatch:
        if date.fromisoformat(D) not in dates:
            return super().injury_report(dates, as_of, schedule)
        row = {
            "game_date": date.fromisoformat(D),
            "report_time_et": datetime(2025, 11, 5, 13, 30),
            "game_time_et": "07:00 (ET)",
            "matchup": "PHI",
            "team_abbr": "PHI",
            "player_name": "Embiid, Joel",
            "player_id": None,
            "status": "Out",
            "reason": "Injury/Illness - Left Knee; Injury Management",
            "source": "test",
        }
        return SourceBatch(pl.DataFrame([row], schema=schemas.INJURY_SCHEMA), "test")


class InjuryReportArchiveResource(ArchiveSourceResource):
    def get_source(self, store):  # type: ignore[override]
        return InjuryReportArchive()


def _run(defs: dg.Definitions, job: str, instance, day: str, selection=None) -> dg.ExecuteInProcessResult:
    job_def = defs.resolve_job_def(job)
    keys = None
    if selection is not None:
        keys = list(selection.resolve(defs.resolve_asset_graph()))
    result = job_def.execute_in_process(
        instance=instance, partition_key=day, asset_selection=keys, raise_on_error=False
    )
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result


def _types(warehouse, schema: str) -> dict[tuple[str, str], str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = ?",
            [schema],
        ).fetchall()
    return {(t, c): typ for t, c, typ in rows}


def test_sources_yml_declares_the_raw_contracts() -> None:
    """The empty relation's columns come from sources.yml: the same names, order and types as the
    Python contracts the raw assets write."""
    sources = yaml.safe_load((REPO_ROOT / "dbt_project" / "models" / "sources.yml").read_text())
    (raw,) = [s for s in sources["sources"] if s["name"] == "raw"]
    declared = {t["name"]: [(c["name"], c["data_type"]) for c in t.get("columns", [])] for t in raw["tables"]}
    expected = {
        table: [(name, schemas.column_type_name(dtype)) for name, dtype in contract.items()]
        for table, contract in schemas.RAW_CONTRACTS.items()
    }
    assert declared == expected


def test_overnight_first_then_the_morning_slate_reads_the_injury_report(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path)
    defs = build_definitions(settings, resources={"nba_source": InjuryReportArchiveResource()})
    warehouse = settings.warehouse_path
    with dg.instance_for_test() as instance:
        # 1. a fresh warehouse's first run: yesterday's box scores, context and features
        _run(defs, "overnight_box_scores_job", instance, YESTERDAY)
        assert ctx.missing_raw_tables(str(warehouse)) == ["raw.injury_report", "raw.player_props"]
        # built over the empty relations: not current, so the next context run rebuilds them
        assert not ctx.staging_is_current(str(warehouse), ctx.project_fingerprint())
        fallback = _types(warehouse, "staging")
        # the grading sensor grades yesterday next: nothing was predicted, nothing to grade
        graded = _run(defs, "grade_job", instance, YESTERDAY)
        (grades,) = [
            e.materialization
            for e in graded.get_asset_materialization_events()
            if e.materialization.asset_key == dg.AssetKey(["grading", "prediction_grades"])
        ]
        assert grades.metadata["dagster/row_count"].value == 0

        # 2. the morning slate of D (predictions need a model a fresh warehouse lacks: not run here)
        slate = PRE_GAME_RAW | CONTEXT | FEATURES
        result = _run(defs, "morning_slate_job", instance, D, selection=slate)
        built = [
            e.asset_key for e in result.get_asset_materialization_events() if e.asset_key.path[0] == "staging"
        ]
        assert dg.AssetKey(["staging", "stg_injury_report"]) in built
        assert ctx.missing_raw_tables(str(warehouse)) == []
        assert ctx.staging_is_current(str(warehouse), ctx.project_fingerprint())

    # 3. D's context and features read the injury report written by the slate
    with duckdb.connect(str(warehouse), read_only=True) as con:
        context_rows = con.execute(
            "SELECT team_abbr, injury_status FROM context.player_game_context WHERE game_date = ? AND player_id = ?",
            [D, EMBIID],
        ).fetchall()
        lines = con.execute(
            "SELECT count(*) FROM staging.stg_player_props WHERE game_date = ?", [D]
        ).fetchone()
    assert context_rows == [("PHI", "Out")]
    assert lines is not None and lines[0] > 100
    # the views over the empty relations had the real views' columns and types
    assert fallback == _types(warehouse, "staging")
