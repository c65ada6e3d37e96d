"""Issue 7 (performance): what keeps a run process and a per-date run cheap (bench/README.md)."""

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import date, datetime
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
    from nba_assets.defs.resources import build_resources
    from nba_assets.defs.resources_prod import GCSObjectStoreResource

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


# ---------------------------------------------------------------- predict_lines: same rows, cheaper


def _reference_predict_lines(props, features, model, blend_weight, cfg):
    """predict_lines as it was before issue 7 (cross join of lines x systems, joins on the 4x frame,
    then a sort of the output): the rows the optimized version must reproduce exactly."""
    import numpy as np
    import polars as pl

    from nba_assets.lib.modeling.baselines import baseline_predictions
    from nba_assets.lib.modeling.decisions import PREDICTION_SCHEMA, book_lines, consensus, decide
    from nba_assets.lib.modeling.predict import SYSTEMS, system_probabilities

    lines = book_lines(props)
    cons = consensus(lines)
    feats = features.filter(pl.col("is_expected")) if "is_expected" in features.columns else features
    feats = feats.unique(subset=["game_date", "player_id"], keep="first")
    players = (
        lines.select("game_date", "player_id").unique().join(cons, on=["game_date", "player_id"], how="left")
    )
    players = players.join(
        feats.drop([c for c in ("consensus_line",) if c in feats.columns]),
        on=["game_date", "player_id"],
        how="left",
    )
    have = players.filter(pl.col("quality").is_not_null() & (pl.col("quality") >= cfg.quality_min))
    mus = {}
    if have.height:
        base = baseline_predictions(have)
        cb = model.predict(have)
        cons_line = have["consensus_line"].to_numpy()
        # no consensus line: no line-aware prediction (PASSed no_consensus_line below)
        with_line = np.where(
            np.isnan(cons_line.astype(float)), np.nan, blend_weight * cb + (1 - blend_weight) * cons_line
        )
        mus = {**base, "catboost": cb, "catboost_line": with_line}
    per_system = [
        have.select("game_date", "player_id").with_columns(
            pl.lit(s).alias("system"), pl.Series("predicted_points", mu, pl.Float64, nan_to_null=True)
        )
        for s, mu in mus.items()
    ]
    mu_frame = (
        pl.concat(per_system)
        if per_system
        else pl.DataFrame(
            schema={
                "game_date": pl.Date,
                "player_id": pl.Int64,
                "system": pl.Utf8,
                "predicted_points": pl.Float64,
            }
        )
    )
    systems = pl.DataFrame({"system": ["baseline_l10", "baseline_blend", "catboost", "catboost_line"]})
    rows = (
        lines.join(systems, how="cross")
        .join(
            players.select("game_date", "player_id", "team_abbr", "quality"),
            on=["game_date", "player_id"],
            how="left",
        )
        .join(mu_frame, on=["game_date", "player_id", "system"], how="left")
    )
    mu = rows["predicted_points"].fill_null(np.nan).to_numpy()
    line = rows["line"].to_numpy()
    system = rows["system"].to_numpy()
    code = np.array([SYSTEMS.index(s) for s in system])
    p_over, p_under = system_probabilities(model, code, mu, line)
    rows = rows.with_columns(
        pl.Series("p_over", p_over).fill_nan(None),
        pl.Series("p_under", p_under).fill_nan(None),
        pl.lit(model.version).alias("model_version"),
        pl.col("quality").fill_null(0.0),
    )
    rows = decide(rows, cfg).with_columns(
        pl.when(pl.col("predicted_points").is_null() & pl.col("skip_reason").is_null())
        .then(pl.lit("no_feature_row"))
        .otherwise(pl.col("skip_reason"))
        .alias("skip_reason")
    )
    rows = rows.with_columns(
        pl.when(pl.col("quality") == 0)
        .then(pl.lit("no_feature_row"))
        .when((pl.col("system") == "catboost_line") & (pl.col("skip_reason") == "no_prediction"))
        .then(pl.lit("no_consensus_line"))
        .otherwise(pl.col("skip_reason"))
        .alias("skip_reason")
    )
    return rows.select([pl.col(c).cast(t) for c, t in PREDICTION_SCHEMA.items()]).sort(
        "game_date", "player_id", "bookmaker", "line", "system"
    )


def _synthetic_props(features, seed: int = 7):
    """Several books per player with alternates, repeated snapshots, unresolved names, players
    without a feature row, a book name that sorts between others and a null book."""
    from datetime import UTC
    from datetime import datetime as dt

    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    rows = []
    books = ["fanduel", "draftkings", "betmgm", "caesars", "bet365", "espnbet"]
    pairs = features.select("game_date", "player_id").unique().sort("game_date", "player_id").rows()
    pairs += [(d, 990_000 + i) for i, (d, _) in enumerate(pairs[:25])]  # no feature row
    for day, pid in pairs:
        main = float(np.round(rng.uniform(6, 30)) + 0.5)
        for book in rng.choice(books, size=rng.integers(1, 5), replace=False).tolist() + (
            [None] if pid % 17 == 0 else []
        ):
            for line, is_main in [(main, True), (main - 2.0, False), (main + 3.0, False)][
                : rng.integers(1, 4)
            ]:
                for snap in range(rng.integers(1, 3)):
                    rows.append(
                        {
                            "game_date": day,
                            "game_id": f"00225{pid % 1000:05d}",
                            "player_id": pid if pid % 23 else None,
                            "player_name": f"Player {pid}",
                            "bookmaker": book,
                            "line": line,
                            "over_price": int(rng.integers(-130, 110)),
                            "under_price": int(rng.integers(-130, 110)),
                            "is_main_line": is_main,
                            "snapshot_utc": dt(2025, 1, 1, 12, snap, tzinfo=UTC),
                        }
                    )
    return pl.DataFrame(rows, schema_overrides={"player_id": pl.Int64, "bookmaker": pl.Utf8})


def test_predict_lines_equals_the_reference_rows_and_order() -> None:
    import polars as pl

    from nba_assets.lib.modeling.config import DecisionConfig
    from nba_assets.lib.modeling.predict import predict_lines
    from nba_assets.lib.modeling.train import train_points_model
    from nba_assets_tests.test_lib_modeling import FAST, synthetic_features

    feats = synthetic_features(date(2025, 1, 1), 40).with_columns(
        pl.lit("BOS").alias("team_abbr"),
        # a few players under the quality threshold
        pl.when(pl.col("player_id") % 5 == 0).then(40.0).otherwise(pl.col("quality")).alias("quality"),
    )
    model = train_points_model(feats, date(2025, 1, 31), FAST)
    cfg = DecisionConfig(quality_min=70, edge_min=1.5, p_side_min=0.56)
    window = feats.filter(pl.col("game_date") >= date(2025, 1, 31))
    props = _synthetic_props(window)
    for bw in (0.0, 0.6):
        got = predict_lines(props, window, model, bw, cfg).predictions
        want = _reference_predict_lines(props, window, model, bw, cfg)
        assert got.height == want.height > 1000
        assert got.equals(want), "rows or their order differ from the reference"
    # one date, and lines of players who have no feature row at all
    one = props.filter(pl.col("game_date") == props["game_date"].max())
    assert predict_lines(one, window, model, 0.6, cfg).predictions.equals(
        _reference_predict_lines(one, window, model, 0.6, cfg)
    )
    assert predict_lines(props, window.head(0), model, 0.6, cfg).predictions.equals(
        _reference_predict_lines(props, window.head(0), model, 0.6, cfg)
    )


def test_predict_dates_scores_each_date_with_its_own_model() -> None:
    """predict_dates (the predictions asset's, the backtest's and the direct bench's loop) gives the
    rows of predict_lines date by date, each date with the model model_for names for it and that
    model's blend weight, in date order; dates without lines are passed over (no model asked) and the
    skipped player-dates are summed."""
    import polars as pl

    from nba_assets.lib.modeling.config import DecisionConfig
    from nba_assets.lib.modeling.predict import predict_dates, predict_lines
    from nba_assets.lib.modeling.train import train_points_model
    from nba_assets_tests.test_lib_modeling import FAST, synthetic_features

    feats = synthetic_features(date(2025, 1, 1), 40).with_columns(pl.lit("BOS").alias("team_abbr"))
    early, late = (train_points_model(feats, date(2025, 1, d), FAST) for d in (30, 31))
    cfg = DecisionConfig(quality_min=70, edge_min=1.5, p_side_min=0.56)
    days = [date(2025, 2, 7), date(2025, 2, 8), date(2025, 2, 9)]
    window = feats.filter(pl.col("game_date").is_in(days))
    props = _synthetic_props(window).filter(pl.col("game_date") != days[1])  # no lines on the 8th
    models = {days[0]: early, days[2]: late}
    asked: list[date] = []

    def model_for(day: date):
        asked.append(day)
        return models[day]

    got = predict_dates(props, window, days, model_for, cfg)
    assert asked == [days[0], days[2]]
    want = [
        predict_lines(
            props.filter(pl.col("game_date") == d),
            window.filter(pl.col("game_date") == d),
            models[d],
            models[d].metrics["blend_weight"],
            cfg,
        )
        for d in (days[0], days[2])
    ]
    assert got.predictions.equals(pl.concat([w.predictions for w in want]))
    assert got.predictions["model_version"].unique(maintain_order=True).to_list() == [
        early.version,
        late.version,
    ]
    assert got.skipped == {k: want[0].skipped[k] + want[1].skipped[k] for k in want[0].skipped}
    assert got.skipped["no_feature_row"] > 0
    empty = predict_dates(props.head(0), window, days, model_for, cfg)
    assert empty.predictions.is_empty() and empty.skipped == {} and asked == [days[0], days[2]]


# ---------------------------------------------------------------- event log: range runs in batches


def _range_run_on(home: Path, yaml: str, monkeypatch) -> dict:
    import sqlite3

    from nba_assets.lib.storage.event_log import enable_event_batches

    home.mkdir()
    (home / "dagster.yaml").write_text(yaml)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.delenv("DAGSTER_EVENT_BATCH_SIZE", raising=False)
    enable_event_batches()
    parts = dg.DailyPartitionsDefinition(start_date="2025-01-01", end_date="2025-03-02")

    @dg.asset(partitions_def=parts, backfill_policy=dg.BackfillPolicy.single_run(), io_manager_key="nop")
    def ranged() -> None:
        return None

    class Nop(dg.IOManager):
        def handle_output(self, context, obj) -> None:
            pass

        def load_input(self, context) -> None:
            return None

    defs = dg.Definitions(
        assets=[ranged],
        jobs=[dg.define_asset_job("j", selection=[ranged], partitions_def=parts)],
        resources={"nop": Nop()},
    )
    calls = {"store_event": 0}
    with dg.DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        original = storage.store_event

        def counting(event):
            calls["store_event"] += 1
            return original(event)

        monkeypatch.setattr(storage, "store_event", counting)
        result = defs.resolve_job_def("j").execute_in_process(
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": "2025-01-01",
                "dagster/asset_partition_range_end": "2025-03-01",
            },
        )
        key = dg.AssetKey("ranged")
        out = {
            "storage": type(storage).__name__,
            "types": sorted(
                Counter(
                    e.dagster_event.event_type_value
                    for e in instance.all_logs(result.run_id)
                    if e.dagster_event
                ).items()
            ),
            "partitions": sorted(instance.get_materialized_partitions(key)),
            "latest": instance.get_latest_materialization_event(key).dagster_event.partition,
            "store_event_calls": calls["store_event"],
        }
    with sqlite3.connect(home / "history" / "runs" / "index.db") as con:
        out["index_rows"] = {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("event_logs", "asset_keys", "asset_event_tags")
        }
    return out


def test_range_run_events_are_written_in_batches_with_the_same_records(tmp_path, monkeypatch) -> None:
    from nba_assets.runner import INSTANCE_FILE, INSTANCE_YAML

    stock = _range_run_on(tmp_path / "stock", INSTANCE_YAML, monkeypatch)
    ours = _range_run_on(tmp_path / "ours", INSTANCE_FILE, monkeypatch)
    assert (stock["storage"], ours["storage"]) == ("SqliteEventLogStorage", "BatchingSqliteEventLogStorage")
    for field in ("types", "partitions", "latest", "index_rows"):
        assert ours[field] == stock[field], field
    assert len(ours["partitions"]) == 60 and ours["latest"] == "2025-03-01"
    # the 60 materializations went in one batch, not through store_event one by one
    assert stock["store_event_calls"] - ours["store_event_calls"] >= 59


def test_jobs_with_raw_and_context_run_context_after_raw(tmp_path) -> None:
    """The per-date jobs leave the staging views out; the context tables depend on the raw tables
    directly, so a run holding both (morning slate, line refresh, overnight) orders them."""
    from dagster._core.execution.api import create_execution_plan

    defs = build_definitions(Settings(data_dir=tmp_path))
    expected = {
        "morning_slate_job": {"raw__schedule", "raw__injury_report", "raw__player_props"},
        "refresh_lines_job": {"raw__injury_report", "raw__player_props"},
        "overnight_box_scores_job": {"raw__schedule", "raw__box_scores"},
    }
    for job, raw_steps in expected.items():
        plan = create_execution_plan(defs.resolve_job_def(job))
        assert raw_steps <= set(plan.get_step_by_key("context_dbt_models").get_execution_dependency_keys()), (
            job
        )
    graph = defs.resolve_asset_graph()
    box = graph.get_partition_mapping(
        dg.AssetKey(["context", "player_game_context"]), dg.AssetKey(["raw", "box_scores"])
    )
    assert box.start_offset == -ctx.HISTORY_DAYS and box.end_offset == 0


@pytest.mark.parametrize(("argv", "status"), [(["--help"], 0), (["-h"], 0), (["bogus"], 2)])
def test_bench_report_has_a_usage_text_instead_of_printing_the_table(tmp_path, argv, status) -> None:
    # `bench/report.py --help` printed the results table (it read no arguments at all)
    env = {**os.environ, "NBA_BENCH_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, str(REPO / "bench" / "report.py"), *argv],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert out.returncode == status, out.stderr
    usage = out.stdout if status == 0 else out.stderr
    assert usage.startswith("usage: report.py"), usage
    assert "| benchmark |" not in out.stdout
    if status == 0:
        assert "NBA_BENCH_DIR" in out.stdout


def test_bench_report_without_arguments_prints_the_table(tmp_path) -> None:
    env = {**os.environ, "NBA_BENCH_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, str(REPO / "bench" / "report.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("| benchmark | stage | wall s |")


def test_bench_direct_raw_stage_runs_the_raw_checks_and_writes_the_tables(tmp_path) -> None:
    # bench/_direct.py called raw.min_players_with_minutes(box) after the check gained its schedule
    # argument: the direct raw stage (bench_direct.py, (c)) died with a TypeError before writing anything
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    env.pop("NBA_BENCH_RESULT", None)
    out = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "bench_direct.py"),
            "--child",
            "raw_direct",
            str(tmp_path),
            D,
            D,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1])["checks_not_passed"] == []
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        games = con.execute("SELECT count(DISTINCT game_id) FROM raw.box_scores").fetchone()[0]
        scheduled = con.execute("SELECT count(*) FROM raw.schedule WHERE status = 'final'").fetchone()[0]
    assert games == scheduled > 0
