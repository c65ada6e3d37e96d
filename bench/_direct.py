"""The pipeline's computations without Dagster: the library calls the assets make, and the same
writes the IO manager does (delete the window + insert, one transaction per table).

Each ``*_direct`` function is a child-process body (see ``_common.child_main``); it times its work with
``ChildTimer`` and reports through ``child_report``. Outputs are the same tables, so the row counts of
a direct run and a Dagster run can be compared.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from _common import REPO, ChildTimer, child_report

warnings.filterwarnings("ignore")

FEATURE_HISTORY_DAYS = 730  # nba_assets.lib.features.store.HISTORY_DAYS (the feature asset's mapping)
CONTEXT_HISTORY_DAYS = 400  # nba_assets.defs.context.assets.HISTORY_DAYS (dbt var history_days)


def _dates(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def write_window(con: Any, schema: str, table: str, frame: Any, start: date, end: date) -> None:
    """What NbaDuckDBIOManager does for a partition range: in one transaction, create the table from
    the frame's schema if missing, delete ``start .. end`` and insert the frame."""
    con.begin()
    try:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        con.register("_bench_out", frame.to_arrow())
        con.execute(f"CREATE TABLE IF NOT EXISTS {schema}.{table} AS SELECT * FROM _bench_out LIMIT 0")  # noqa: S608 (fixed names)
        con.execute(
            f"DELETE FROM {schema}.{table} WHERE game_date >= ? AND game_date < ?",  # noqa: S608 (fixed names)
            [start, end + timedelta(days=1)],
        )
        if frame.height:
            con.execute(f"INSERT INTO {schema}.{table} BY NAME SELECT * FROM _bench_out")  # noqa: S608
        con.unregister("_bench_out")
        con.commit()
    except BaseException:
        con.rollback()
        raise


def replace_table(con: Any, schema: str, table: str, frame: Any) -> None:
    con.begin()
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    con.register("_bench_out", frame.to_arrow())
    con.execute(f"CREATE OR REPLACE TABLE {schema}.{table} AS SELECT * FROM _bench_out")  # noqa: S608
    con.unregister("_bench_out")
    con.commit()


def _quarantine(store: Any, table: str, dates: list[date], validated: Any) -> None:
    if validated.quarantined.is_empty():
        return
    buf = io.BytesIO()
    validated.quarantined.write_parquet(buf)
    store.put_bytes(f"quarantine/{table}/{min(dates)}_{max(dates)}/direct.parquet", buf.getvalue())


# ---------------------------------------------------------------- raw


def raw_direct(data_dir: Path, start: date, end: date) -> None:
    import duckdb
    import polars as pl

    from nba_assets.lib import raw
    from nba_assets.lib.sources.archive import ArchiveSource
    from nba_assets.lib.storage.object_store import LocalObjectStore

    with ChildTimer() as t:
        dates = _dates(start, end)
        store = LocalObjectStore(data_dir / "objects")
        source = ArchiveSource()
        as_of = raw.parse_as_of("")
        checks: dict[str, bool] = {}
        # raw/schedule
        sched = raw.validate_batch(source.schedule(dates, as_of).frame, "schedule", "archive")
        _quarantine(store, "schedule", dates, sched)
        s = sched.good
        checks["schedule_no_duplicate_games"] = raw.schedule_duplicates(s).passed
        checks["schedule_game_count_plausible"] = raw.schedule_counts_plausible(s, dates).passed
        # raw/box_scores (the schedule frame in memory; Dagster loads it back from DuckDB)
        box = raw.validate_batch(source.box_scores(s, as_of).frame, "box_scores", "archive")
        _quarantine(store, "box_scores", dates, box)
        b = box.good
        checks["box_scores_complete_for_slate"] = raw.box_scores_complete(s, b, as_of).passed
        checks["box_scores_points_match_team_scores"] = raw.team_points_match(s, b).passed
        checks["box_scores_min_players_with_minutes"] = raw.min_players_with_minutes(s, b).passed
        _ = b.filter(pl.col("played"))["pts"].sum()
        # raw/injury_report
        inj_batch = source.injury_report(dates, as_of)
        inj = raw.validate_batch(
            raw.resolve_injury_ids(inj_batch.frame, source, dates), "injury_report", "archive"
        )
        # raw/player_props
        frame = raw.attach_game_ids(source.player_props(dates, as_of).frame, s)
        frame = raw.resolve_prop_ids(frame, source, dates)
        props = raw.validate_batch(frame, "player_props", "archive")
        _quarantine(store, "player_props", dates, props)
        p = props.good
        checks["player_props_cover_scheduled_games"] = raw.props_coverage(
            s, p, source.line_dates(dates)
        ).passed
        checks["player_props_no_placeholder_lines"] = raw.placeholder_lines(p).passed
        checks["player_props_unresolved_name_share"] = raw.unresolved_share(p).passed
        with duckdb.connect(str(data_dir / "warehouse.duckdb")) as con:
            for name, df in (
                ("schedule", s),
                ("box_scores", b),
                ("injury_report", inj.good),
                ("player_props", p),
            ):
                write_window(con, "raw", name, df, start, end)
    child_report(
        run_wall_s=t.wall,
        run_cpu_s=t.cpu,
        checks_not_passed=[k for k, v in checks.items() if not v],
    )


# ---------------------------------------------------------------- context (dbt)


def dbt_build(
    warehouse: Path, args: list[str], target_path: Path, extra_env: dict[str, str] | None = None
) -> None:
    """One ``dbt build`` as dagster-dbt starts it: project dir as cwd, a fresh target path seeded with
    the project's partial_parse.msgpack, the warehouse in NBA_ASSETS_WAREHOUSE."""
    project = REPO / "dbt_project"
    target_path.mkdir(parents=True, exist_ok=True)
    pp = project / "target" / "partial_parse.msgpack"
    if pp.exists() and not (target_path / pp.name).exists():
        shutil.copy(pp, target_path / pp.name)
    env = {
        **os.environ,
        "NBA_ASSETS_WAREHOUSE": str(warehouse),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_TARGET_PATH": str(target_path),
        "DBT_LOG_PATH": str(target_path),
        "DBT_PROFILES_DIR": str(project),
        "DBT_PROJECT_DIR": str(project),
        **(extra_env or {}),
    }
    # the dbt beside this Python, as nba_assets.lib.dbt_project.dbt_executable() finds it (that module
    # imports dagster_dbt, ~5 s, which is not part of running dbt)
    beside = Path(sys.executable).with_name("dbt")
    subprocess.run(
        [str(beside) if beside.exists() else "dbt", "build", *args, "--target", "duckdb"],
        cwd=project,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def context_direct(data_dir: Path, start: date, end: date) -> None:
    """What build_context_job's dbt does: the staging views only when the warehouse lacks them or holds
    another project version's (nba_assets.lib.dbt_state), then the context tables for the window (env
    NBA_ASSETS_DBT_MIN_DATE / _MAX_DATE / _HISTORY_DAYS), both seeded with the partial-parse state kept
    for this warehouse path and keeping what dbt wrote."""
    from nba_assets.lib import dbt_state

    warehouse = data_dir / "warehouse.duckdb"
    project = REPO / "dbt_project"
    manifest = project / "target" / "manifest.json"
    cache_file = dbt_state.partial_parse_cache(project, "duckdb", str(warehouse))

    def build(args: list[str], target: Path, env: dict[str, str] | None = None) -> None:
        dbt_state.seed_partial_parse(cache_file, target)
        dbt_build(warehouse, args, target, env)
        dbt_state.keep_partial_parse(target, cache_file)

    with ChildTimer() as t, tempfile.TemporaryDirectory(prefix="dbt_direct_") as tmp:
        fingerprint = dbt_state.project_fingerprint(project)
        built_staging = not dbt_state.staging_is_current(warehouse, fingerprint, manifest)
        if built_staging:
            missing = dbt_state.missing_raw_tables(warehouse, manifest)  # as the context asset does
            build(
                ["--indirect-selection", "cautious", "--select", "path:models/staging"],
                Path(tmp) / "staging",
            )
            if not missing:
                dbt_state.mark_staging_current(warehouse, fingerprint, manifest)
        window = {
            "NBA_ASSETS_DBT_MIN_DATE": start.isoformat(),
            "NBA_ASSETS_DBT_MAX_DATE": end.isoformat(),
            "NBA_ASSETS_DBT_HISTORY_DAYS": str(CONTEXT_HISTORY_DAYS),
        }
        build(["--select", "path:models/context"], Path(tmp) / "context", window)
    child_report(run_wall_s=t.wall, run_cpu_s=t.cpu, built_staging=built_staging)


# ---------------------------------------------------------------- features


def features_direct(data_dir: Path, start: date, end: date) -> None:
    """The feature asset's work: its inputs as the partition mappings load them (player and team games
    from 730 days before ``start``), ``store.feature_rows``, the three checks, the write."""
    import duckdb

    from nba_assets.lib.features import store

    with ChildTimer() as t:
        lo, hi = start - timedelta(days=FEATURE_HISTORY_DAYS), end + timedelta(days=1)
        with duckdb.connect(str(data_dir / "warehouse.duckdb")) as con:

            def q(sql: str, params: list[Any]) -> Any:
                return con.sql(sql, params=params).pl()

            player_games = q(
                "SELECT * FROM context.player_game_summary WHERE game_date >= ? AND game_date < ?", [lo, hi]
            )
            team_games = q(
                "SELECT * FROM context.team_game_summary WHERE game_date >= ? AND game_date < ?", [lo, hi]
            )
            expected = q(
                "SELECT * FROM context.player_game_context WHERE game_date >= ? AND game_date < ?",
                [start, hi],
            )
            injuries = q(
                "SELECT * FROM raw.injury_report WHERE game_date >= ? AND game_date < ?", [start, hi]
            )
            rows = store.feature_rows(_dates(start, end), expected, player_games, team_games, injuries)
            checks = {}
            if rows.height:
                store.default_shares(rows)
                checks = {
                    "no_look_ahead": store.check_no_look_ahead(rows).passed,
                    "quality": store.check_quality(rows).passed,
                    "null_share": store.check_null_share(rows).passed,
                }
            write_window(con, "features", "player_features", rows, start, end)
    child_report(
        run_wall_s=t.wall,
        run_cpu_s=t.cpu,
        history_rows_read=player_games.height,
        checks_not_passed=[k for k, v in checks.items() if not v],
    )


# ---------------------------------------------------------------- model


def model_direct(data_dir: Path, cutoff: date) -> None:
    """models/points_model: train on every feature row before the cutoff, gate, save, version table."""
    import duckdb

    from nba_assets.lib.modeling.registry import ModelRegistry
    from nba_assets.lib.modeling.train import promotion_gate, train_points_model
    from nba_assets.lib.storage.object_store import LocalObjectStore

    with ChildTimer() as t:
        with duckdb.connect(str(data_dir / "warehouse.duckdb")) as con:
            features = con.sql("SELECT * FROM features.player_features").pl()
            registry = ModelRegistry(LocalObjectStore(data_dir / "objects"))
            champion = registry.champion_for(cutoff)
            candidate = train_points_model(features, cutoff)
            gate = promotion_gate(candidate, champion, features)
            registry.save(candidate, gate.promote, gate.metadata)
            replace_table(con, "models", "points_model", registry.versions_frame())
    child_report(
        run_wall_s=t.wall,
        run_cpu_s=t.cpu,
        rows=candidate.metrics["train_rows"],
        version=candidate.version,
        promoted=gate.promote,
        validation_mae=round(candidate.metrics["mae"], 3),
    )


# ---------------------------------------------------------------- predictions


def predictions_direct(data_dir: Path, start: date, end: date) -> None:
    """The prediction asset's work: per date the newest promoted model with cutoff <= date,
    ``predict_dates``, the two checks, the write."""
    import duckdb

    from nba_assets.lib.modeling import checks as pchecks
    from nba_assets.lib.modeling.predict import predict_dates
    from nba_assets.lib.modeling.registry import ModelRegistry
    from nba_assets.lib.storage.object_store import LocalObjectStore

    with ChildTimer() as t:
        hi = end + timedelta(days=1)
        with duckdb.connect(str(data_dir / "warehouse.duckdb")) as con:
            features = con.sql(
                "SELECT * FROM features.player_features WHERE game_date >= ? AND game_date < ?",
                params=[start, hi],
            ).pl()
            props = con.sql(
                "SELECT * FROM raw.player_props WHERE game_date >= ? AND game_date < ?", params=[start, hi]
            ).pl()
            registry = ModelRegistry(LocalObjectStore(data_dir / "objects"))
            used: dict[str, Any] = {}

            def model_for(day: date) -> Any:
                version = registry.version_for(day)
                if version is None:
                    raise SystemExit(f"no promoted model with cutoff <= {day}")
                if version not in used:
                    used[version] = registry.load(version)
                return used[version]

            preds = predict_dates(props, features, _dates(start, end), model_for).predictions
            ok = pchecks.every_line_answered(props, preds).passed
            pchecks.not_all_fallbacks(preds)
            write_window(con, "predictions", "player_points_predictions", preds, start, end)
    child_report(
        run_wall_s=t.wall,
        run_cpu_s=t.cpu,
        lines=props.height,
        models_used=sorted(used),
        checks_not_passed=[] if ok else ["every_line_answered"],
    )


def child_stages() -> dict[str, Any]:
    """``--child <name> <data_dir> <start> <end>`` (model: ``<data_dir> <cutoff>``)."""

    def ranged(fn: Any) -> Any:
        return lambda a: fn(Path(a[0]), date.fromisoformat(a[1]), date.fromisoformat(a[2]))

    return {
        "raw_direct": ranged(raw_direct),
        "context_direct": ranged(context_direct),
        "features_direct": ranged(features_direct),
        "predictions_direct": ranged(predictions_direct),
        "model_direct": lambda a: model_direct(Path(a[0]), date.fromisoformat(a[1])),
    }
