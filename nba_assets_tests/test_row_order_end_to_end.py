"""Row order, end to end: the whole graph gives the same warehouse, files and metadata whatever order
rows come in.

test_row_order_invariance.py shuffles the inputs of the pure functions. This runs the real code
location (``build_definitions``: the jobs ``nba-assets main`` runs, raw -> dbt context -> features ->
model -> predictions -> grading -> report) twice on the season's first 16 dates of the embedded archive
(plus two hand-made ties, see :func:`_archive_with_ties`), in two data dirs with two Dagster instances:

* as shipped: DuckDB returns a SELECT's rows in the order they were inserted;
* with :class:`ShufflingDuckDBIOManager` (test-only) and a shuffled copy of the archive: every frame an
  asset loads comes back in another order (as BigQuery, production's warehouse, may return it), every
  frame stored is inserted in another order (so dbt's SQL reads the raw tables, and the context tables
  it builds from them, in another physical order), and the source hands its rows over in another order.

Then every warehouse table, every object-store file (the model's files, the day's report) and every
materialization's and check's metadata of the two runs must be the same: tables compared after sorting
on all their columns, floats bit for bit. The only values left out or rewritten are the run-specific
ones in ``RUN_SPECIFIC_COLUMNS`` / ``RUN_SPECIFIC_KEYS`` / ``RUN_SPECIFIC_METADATA`` and the model
version ids (each justified there). It covers what the pure tests do not: the asset bodies (``.head()``,
``[0]``, ``.row(0)``, metadata built from row order), the IO manager's loading paths as they run in the
graph, range loads concatenating partitions, and dbt models reading raw tables in another physical order.
About 45 s on the 2-core machine (two pipelines of ~20 s), so it runs in the default suite.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import numpy as np
import polars as pl
import pytest
from dagster._core.storage.db_io_manager import DbTypeHandler, TableSlice

from nba_assets.defs.build import build_definitions
from nba_assets.defs.resources import ArchiveSourceResource
from nba_assets.lib.env import Settings
from nba_assets.lib.schemas import BOX_SCORE_COUNTING_STATS
from nba_assets.lib.sources.archive import DEFAULT_ARCHIVE_DIR
from nba_assets.lib.storage.duckdb_io import NbaDuckDBIOManager, PolarsDuckDBTypeHandler

START, CUTOFF, END = "2025-10-21", "2025-11-01", "2025-11-05"  # the season's first 16 game dates
TIE_DATE = "2025-11-03"  # a predicted and graded date
SEED = 20251105
# The model trained the way test_lib_modeling's FAST trains (same code, fewer trees, a smaller
# validation window): the first 11 dates train and validate it, the last 5 are predicted and graded.
TRAIN = {"iterations": 60, "validation_days": 5, "validation_min_rows": 200, "min_train_rows": 200}
VERSION = re.compile(r"pm-\d{4}-\d{2}-\d{2}-[0-9a-f]{8}")
# What legitimately differs between two runs of the same data; nothing else is left out.
# Table -> columns dropped before comparing:
RUN_SPECIFIC_COLUMNS: dict[str, tuple[str, ...]] = {
    # the wall-clock time the model was trained (the table listing the registry's versions)
    "models.points_model": ("trained_at",),
}
# Object-store file name -> keys left out (JSON) or values blanked (CatBoost binaries) before comparing:
RUN_SPECIFIC_KEYS: dict[str, tuple[str, ...]] = {
    # the registry's entry of the version: the wall-clock time it was trained
    "record.json": ("trained_at",),
    # CatBoost's own model info: a random GUID it gives every model it trains, and the wall-clock time
    # training finished (the trees, borders, params and learning curve are still compared, byte for byte)
    "model.cbm": ("model_guid", "train_finish_time"),
    "holdout.cbm": ("model_guid", "train_finish_time"),
}
# Materialization / check metadata key -> why it is left out:
RUN_SPECIFIC_METADATA = {
    # dagster-dbt's, on each context table and dbt test: how long dbt took, and the id dbt gives the
    # invocation (a uuid4)
    "Execution Duration": "timing",
    "invocation_id": "dbt's invocation uuid",
}
# Model version ids are not left out but rewritten: "pm-<cutoff>-" + 8 hex digits of uuid4
# (train.train_points_model), so the suffix differs run to run. Each run trains one version, whose id
# is replaced by "pm-<cutoff>-<version>" everywhere (table cells, file paths, file contents): the
# cutoff part, and which rows carry which version, are still compared. In metadata the version's
# trained_at, the run's data dir and the archive its source read (the shuffled run's is a copy) are
# rewritten the same way.

# ---------------------------------------------------------------- the shuffling warehouse

SHUFFLED: Counter[tuple[str, str]] = Counter()  # ("load" | "store", schema.table) -> frames shuffled


def shuffled(frame: pl.DataFrame, salt: str) -> pl.DataFrame:
    """``frame``'s rows in another order, fixed by ``SEED`` and ``salt`` (the table's name): two tables
    of the same height are not shuffled alike."""
    return frame.sample(fraction=1.0, shuffle=True, seed=SEED + zlib.crc32(salt.encode()) % 100_000)


class ShufflingTypeHandler(PolarsDuckDBTypeHandler):
    """The project's polars handler, shuffling every frame it stores (before the insert, so the table's
    physical order is another) and every frame it loads (after the SELECT)."""

    def handle_output(
        self, context: dg.OutputContext, table_slice: TableSlice, obj: pl.DataFrame, connection: Any
    ) -> dict[str, Any]:
        name = f"{table_slice.schema}.{table_slice.table}"
        SHUFFLED["store", name] += 1
        return super().handle_output(context, table_slice, shuffled(obj, name + ":store"), connection)

    def load_input(self, context: dg.InputContext, table_slice: TableSlice, connection: Any) -> pl.DataFrame:
        name = f"{table_slice.schema}.{table_slice.table}"
        SHUFFLED["load", name] += 1
        return shuffled(super().load_input(context, table_slice, connection), name + ":load")


class ShufflingDuckDBIOManager(NbaDuckDBIOManager):
    """Test-only: the project's DuckDB IO manager with :class:`ShufflingTypeHandler`."""

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [ShufflingTypeHandler()]


ARCHIVE_FILES = ("games", "box_scores", "props_points")


def _archive_with_ties(dest: Path) -> dict[str, Any]:
    """The embedded archive plus two ties a rule has to break on TIE_DATE (the real rows hold none, so
    without them a tie-break that follows row order would go unseen; test_row_order_invariance.py
    adds the same to the pure functions' inputs):

    * a player who played for his team is also on another game's box score, without minutes (the
      late-trade case): his lines are graded on their own game's row, whichever row comes first;
    * one book's snapshot holds one of his lines twice, as its main and as an alternate market at
      other prices: the offer is the main market's row, whichever comes last.

    Returns what was added, for the assertions."""
    dest.mkdir(parents=True)
    day = date.fromisoformat(TIE_DATE)
    box = pl.read_parquet(DEFAULT_ARCHIVE_DIR / "box_scores.parquet")
    props = pl.read_parquet(DEFAULT_ARCHIVE_DIR / "props_points.parquet")
    line = props.filter((pl.col("game_date") == day) & pl.col("is_main_line")).sort(
        "player_name", "bookmaker", "snapshot_utc"
    )
    played = box.filter((pl.col("game_date") == day) & (pl.col("minutes") > 0))
    player = played.join(line.select("player_name").unique(), on="player_name", how="semi").sort("player_id")
    own = player.row(0, named=True)
    other = (
        box.filter((pl.col("game_date") == day) & (pl.col("game_id") != own["game_id"]) & pl.col("is_home"))
        .sort("game_id")
        .row(0, named=True)
    )
    twin = player.head(1).with_columns(
        *[
            pl.lit(other[c], box.schema[c]).alias(c)
            for c in ("game_id", "team_id", "team_abbr", "opponent_abbr", "is_home")
        ],
        *[pl.lit(0, box.schema[c]).alias(c) for c in BOX_SCORE_COUNTING_STATS],
        pl.lit(False).alias("starter"),
        pl.lit(False).alias("played"),
        pl.lit(0.0).alias("minutes"),
        pl.lit(None, pl.Float64).alias("plus_minus"),
        pl.lit("DNP").alias("status_comment"),
    )
    main = line.filter(pl.col("player_name") == own["player_name"]).head(1)
    alternate = main.with_columns(
        pl.lit(False).alias("is_main_line"),
        pl.lit(-145, props.schema["over_price"]).alias("over_price"),
        pl.lit(115, props.schema["under_price"]).alias("under_price"),
    )
    pl.concat([box, twin]).write_parquet(dest / "box_scores.parquet")
    pl.concat([props, alternate]).write_parquet(dest / "props_points.parquet")
    shutil.copy(DEFAULT_ARCHIVE_DIR / "games.parquet", dest / "games.parquet")
    shutil.copy(DEFAULT_ARCHIVE_DIR / "PROVENANCE.json", dest / "PROVENANCE.json")
    return {
        "player_id": own["player_id"],
        "game_id": own["game_id"],
        "other_game": other["game_id"],
        "bookmaker": main["bookmaker"].item(),
        "line": main["line"].item(),
    }


def _shuffled_archive(source: Path, dest: Path) -> Path:
    """The archive with each file's rows in another order (a source answers in any order)."""
    dest.mkdir(parents=True)
    for name in ARCHIVE_FILES:
        shuffled(pl.read_parquet(source / f"{name}.parquet"), name).write_parquet(dest / f"{name}.parquet")
    shutil.copy(source / "PROVENANCE.json", dest / "PROVENANCE.json")
    return dest


# ---------------------------------------------------------------- the two runs


def _range(first: str, last: str) -> dict[str, str]:
    return {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}


@dataclass
class Run:
    settings: Settings
    archive: Path  # the archive its source read
    events: dict[tuple[str, str, str | None], list[dict[str, Any]]]  # materializations, check results


def _pipeline(data_dir: Path, archive: Path, shuffle: bool) -> Run:
    """The main job's steps (runner.run_main) on START .. END, the model trained with cutoff CUTOFF."""
    settings = Settings(data_dir=data_dir)
    overrides: dict[str, Any] = {}
    if shuffle:
        archive = _shuffled_archive(archive, data_dir / "archive")
        overrides["io_manager"] = ShufflingDuckDBIOManager(database=str(settings.warehouse_path))
    overrides["nba_source"] = ArchiveSourceResource(archive_dir=str(archive))
    defs = build_definitions(settings, overrides)
    retrain = {"ops": {"models__points_model": {"config": {"cutoff": CUTOFF, **TRAIN}}}}
    steps: list[tuple[str, dict[str, str], dict | None]] = [
        ("ingest_raw_job", _range(START, END), None),
        ("build_context_job", _range(START, END), None),
        ("build_features_job", _range(START, END), None),
        ("weekly_retrain_job", {}, retrain),
        ("predict_job", _range(CUTOFF, END), None),
        ("grade_job", _range(CUTOFF, END), None),
        ("report_job", _range(END, END), None),
    ]
    events: dict[tuple[str, str, str | None], list[dict[str, Any]]] = {}
    with dg.instance_for_test() as instance:
        for job, tags, config in steps:
            result = defs.resolve_job_def(job).execute_in_process(
                instance=instance, tags=tags, run_config=config, raise_on_error=False
            )
            assert result.success, (job, [e.message for e in result.all_events if e.is_failure])
            for m in (e.materialization for e in result.get_asset_materialization_events()):
                events.setdefault((job, m.asset_key.to_user_string(), m.partition), []).append(
                    dict(m.metadata)
                )
            for c in result.get_asset_check_evaluations():
                events.setdefault(
                    (job, f"{c.asset_key.to_user_string()}:{c.check_name}", c.partition), []
                ).append({"passed": c.passed, "severity": c.severity, **c.metadata})
    return Run(settings, archive, events)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> tuple[Path, dict[str, Any]]:
    archive = tmp_path_factory.mktemp("row_order_e2e_archive") / "archive"
    return archive, _archive_with_ties(archive)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, world: tuple[Path, dict[str, Any]]) -> tuple[Run, Run]:
    root = tmp_path_factory.mktemp("row_order_e2e")
    SHUFFLED.clear()
    plain = _pipeline(root / "plain", world[0], shuffle=False)
    assert not SHUFFLED  # the shipped manager ran the first
    return plain, _pipeline(root / "shuffled", world[0], shuffle=True)


# ---------------------------------------------------------------- comparing


def _version(run: Run) -> str:
    """The one model version the run trained."""
    versions = [p.name for p in (run.settings.object_store_root / "models" / "points_model").iterdir()]
    assert len(versions) == 1 and VERSION.fullmatch(versions[0]), versions
    return versions[0]


def _placeholder(version: str) -> str:
    return version[: len("pm-YYYY-MM-DD-")] + "<version>"


def _tables(run: Run) -> dict[str, pl.DataFrame]:
    """Every table and view of the warehouse, read whole."""
    with duckdb.connect(str(run.settings.warehouse_path), read_only=True) as con:
        names = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables ORDER BY 1, 2"
        ).fetchall()
        # identifiers from the warehouse's own catalog, quoted
        return {f"{s}.{t}": con.sql(f'SELECT * FROM "{s}"."{t}"').pl() for s, t in names}


def _canonical(frame: pl.DataFrame, name: str, version: str) -> pl.DataFrame:
    """The frame as compared: run-specific columns dropped, the version id rewritten, floats as their
    bit patterns (so -0.0 != 0.0 and any last-bit difference counts), sorted on every column."""
    frame = frame.drop(RUN_SPECIFIC_COLUMNS.get(name, ()))
    out = []
    for col, dtype in frame.schema.items():
        s = frame[col]
        if dtype == pl.String:
            s = s.str.replace_all(version, _placeholder(version), literal=True)
        elif dtype in (pl.Float32, pl.Float64):
            bits = s.cast(pl.Float64).fill_null(0.0).to_numpy().view(np.uint64)
            s = pl.Series(col, bits).set(s.is_null(), None)  # type: ignore[arg-type]
        out.append(s)
    frame = pl.DataFrame(out)
    return frame.sort(frame.columns, nulls_last=True)


def _differences(a: pl.DataFrame, b: pl.DataFrame) -> str:
    """Which columns differ, and a few rows of each side that the other lacks."""
    if a.schema != b.schema:
        return f"schemas differ: {a.schema} vs {b.schema}"
    if a.height != b.height:
        return f"{a.height} rows vs {b.height}"
    cols = [c for c in a.columns if not a[c].equals(b[c])]
    only_a = a.join(b, on=a.columns, how="anti", nulls_equal=True)
    only_b = b.join(a, on=a.columns, how="anti", nulls_equal=True)
    return (
        f"columns {cols}; {only_a.height} rows only in the plain run, e.g. {only_a.head(2).to_dicts()}; "
        f"only in the shuffled run: {only_b.head(2).to_dicts()}"
    )


def _files(run: Run, version: str) -> dict[str, bytes]:
    """Every object-store file, by its path with the version id rewritten."""
    root = run.settings.object_store_root
    return {
        str(p.relative_to(root)).replace(version, "<version>"): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _comparable(name: str, data: bytes, version: str) -> Any:
    """A file's content as compared: JSON parsed with its run-specific keys left out, a CatBoost
    binary with its run-specific values blanked, every file with the version id rewritten."""
    data = data.replace(version.encode(), _placeholder(version).encode())
    keys = RUN_SPECIFIC_KEYS.get(Path(name).name, ())
    if name.endswith(".cbm"):
        return _blank_model_info(data, keys)
    if name.endswith(".json"):
        parsed = json.loads(data)
        for key in keys:
            assert key in parsed, (name, key)
            parsed.pop(key)
        return parsed
    return data


def _blank_model_info(data: bytes, keys: tuple[str, ...]) -> bytes:
    """A CatBoost binary saved again with the values of ``keys`` in its model info set to "x" (the
    GUID's length varies, so it cannot be overwritten in place); the trees, borders and leaf values are
    CatBoost's own binary serialization, compared byte for byte."""
    from catboost import CatBoost

    model = CatBoost()
    model.load_model(blob=data)
    info = model.get_metadata()
    for key in keys:
        assert info[key], key
        info[key] = "x"
    with tempfile.TemporaryDirectory() as tmp:
        model.save_model(str(Path(tmp) / "model.cbm"))
        return (Path(tmp) / "model.cbm").read_bytes()


def test_the_model_materialization_says_what_its_p_over_was_calibrated_on(runs: tuple[Run, Run]) -> None:
    """The UI shows, next to the validation MAEs and Briers, what catboost's P(over) map was fitted on
    (real consensus lines or synthetic ones), by which map and on how many rows: the model's stored
    metrics, as the backtest report's Models table gives them."""
    run = runs[0]
    (shown,) = run.events[("weekly_retrain_job", "models/points_model", None)]
    meta = json.loads(
        (run.settings.object_store_root / "models/points_model" / _version(run) / "meta.json").read_text()
    )
    stored = meta["metrics"]
    for key in ("calibrated_on", "calibration_map", "calibration_rows"):
        assert getattr(shown[key], "value", shown[key]) == stored[key], key
    assert stored["calibration_map"] == "isotonic" and stored["calibration_rows"] > 0
    # and what the version was fitted with: its feature list and parameters, as meta.json holds them
    assert shown["feature_names"].value == meta["features"] and len(meta["features"]) == 48
    assert shown["params"].value == meta["params"] and meta["params"]["target"] == "sqrt"


def _metadata(run: Run) -> dict[tuple[str, str, str | None], list[dict[str, str]]]:
    """Each run's materialization and check metadata as text (a float as its repr, so bit for bit),
    run-specific keys left out, the run's own names (version, training time, data dir, archive)
    rewritten."""
    version = _version(run)
    record = json.loads(
        (run.settings.object_store_root / "models/points_model" / version / "record.json").read_text()
    )
    rewrite = {
        version: _placeholder(version),
        record["trained_at"]: "<trained_at>",
        str(run.archive): "<archive>",  # first: the shuffled run's archive is in its data dir
        str(run.settings.data_dir): "<data_dir>",
    }

    def text(value: Any) -> str:
        out = str(getattr(value, "value", value))
        for old, new in rewrite.items():
            out = out.replace(old, new)
        return out

    return {
        key: [{k: text(v) for k, v in m.items() if k not in RUN_SPECIFIC_METADATA} for m in entries]
        for key, entries in run.events.items()
    }


# ---------------------------------------------------------------- the tests


def test_every_table_is_the_same_whatever_order_rows_come_in(runs: tuple[Run, Run]) -> None:
    versions = _version(runs[0]), _version(runs[1])
    assert versions[0] != versions[1]  # two trainings: the version ids differ, and are rewritten
    tables = _tables(runs[0]), _tables(runs[1])
    assert sorted(tables[0]) == sorted(tables[1])
    for layer in ("raw", "staging", "context", "features", "models", "predictions", "grading"):
        assert any(n.startswith(layer + ".") for n in tables[0]), layer
    # the shuffling manager stored every table it writes, and loaded the inputs, in another order
    stored = {n for (kind, n) in SHUFFLED if kind == "store"}
    loaded = {n for (kind, n) in SHUFFLED if kind == "load"}
    assert stored == {n for n in tables[0] if n.split(".")[0] not in ("staging", "context")}
    assert {"raw.schedule", "context.player_game_summary", "features.player_features"} <= loaded
    assert {"predictions.player_points_predictions", "grading.prediction_grades"} <= loaded
    with (
        duckdb.connect(str(runs[0].settings.warehouse_path), read_only=True) as a,
        duckdb.connect(str(runs[1].settings.warehouse_path), read_only=True) as b,
    ):
        # dbt read the raw tables in another physical order (DuckDB scans in insertion order)
        query = "SELECT game_id, player_id FROM raw.box_scores"
        assert a.execute(query).fetchall() != b.execute(query).fetchall()
    differ = {}
    for name in sorted(tables[0]):
        left = _canonical(tables[0][name], name, versions[0])
        right = _canonical(tables[1][name], name, versions[1])
        if not left.equals(right):
            differ[name] = _differences(left, right)
    assert not differ, differ
    # not a comparison of empty tables: the window's slates were predicted and graded
    assert tables[0]["grading.prediction_grades"].height > 20_000
    assert tables[0]["predictions.player_points_predictions"]["actionable"].sum() > 1000
    for name, columns in RUN_SPECIFIC_COLUMNS.items():  # each exclusion names a column that exists
        assert set(columns) <= set(tables[0][name].columns), name


def test_the_hand_made_ties_reached_the_warehouse_and_were_broken_by_rule(
    runs: tuple[Run, Run], world: tuple[Path, dict[str, Any]]
) -> None:
    """Not vacuous: both ties were stored, and each run broke them the way the rules say (not only the
    same way in both runs)."""
    tie = world[1]
    day = pl.lit(TIE_DATE).str.to_date()
    for run in runs:
        tables = _tables(run)
        his = (pl.col("game_date") == day) & (pl.col("player_id") == tie["player_id"])
        box = tables["raw.box_scores"].filter(his)
        assert sorted(box["game_id"]) == sorted([tie["game_id"], tie["other_game"]])
        pts = box.filter(pl.col("game_id") == tie["game_id"])["pts"].item()
        grades = tables["grading.prediction_grades"].filter(his)
        assert grades.height > 10 and (grades["game_id"] == tie["game_id"]).all()
        assert (grades["actual_points"] == pts).all() and grades["void_reason"].null_count() == grades.height
        offer = (pl.col("bookmaker") == tie["bookmaker"]) & (pl.col("line") == tie["line"])
        assert tables["raw.player_props"].filter(his & offer).height == 2  # main and alternate, one snapshot
        preds = tables["predictions.player_points_predictions"].filter(his & offer)
        assert preds.height == preds["system"].n_unique() > 1  # one offer per system
        assert preds["is_main_line"].all() and (preds["over_price"] != -145).all()  # the main market's


def test_every_object_store_file_is_the_same_whatever_order_rows_come_in(runs: tuple[Run, Run]) -> None:
    versions = _version(runs[0]), _version(runs[1])
    files = _files(runs[0], versions[0]), _files(runs[1], versions[1])
    assert sorted(files[0]) == sorted(files[1])
    names = {Path(n).name for n in files[0]}
    assert {"model.cbm", "holdout.cbm", "meta.json", "record.json"} <= names
    assert {"picks.csv", "picks.json", "report.html"} <= names
    differ = [
        name
        for name in sorted(files[0])
        if _comparable(name, files[0][name], versions[0]) != _comparable(name, files[1][name], versions[1])
    ]
    assert not differ, differ


def test_every_materialization_s_and_check_s_metadata_is_the_same_whatever_order_rows_come_in(
    runs: tuple[Run, Run],
) -> None:
    """What the UI shows of each run: row counts, records, previews, plots (PNG bytes in markdown),
    the checks' results and figures."""
    meta = _metadata(runs[0]), _metadata(runs[1])
    assert sorted(meta[0], key=str) == sorted(meta[1], key=str)
    keys = {k for entries in runs[0].events.values() for m in entries for k in m}
    assert set(RUN_SPECIFIC_METADATA) <= keys  # each exclusion names a key that exists
    assert {"preview", "picks", "record_by_system", "season_by_system", "calibration"} <= keys
    differ = {
        (*event, k): (a.get(k, "")[:300], b.get(k, "")[:300])
        for event in meta[0]
        for a, b in zip(meta[0][event], meta[1][event], strict=True)
        for k in a.keys() | b.keys()
        if a.get(k) != b.get(k)
    }
    assert not differ, differ


def test_calls_published_before_tip_off_are_kept_and_graded_as_published(
    runs: tuple[Run, Run], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real jobs on a copy of the first run's data dir: predictions run before END's first tip-off
    publish every actionable call of END (an immutable object-store snapshot); a run after the tip-offs
    publishes nothing; grading grades the calls as first published, with a call withdrawn since (here a
    first publication on the other side, written as an earlier snapshot) counted apart."""
    from datetime import UTC, datetime, timedelta

    from nba_assets.defs.predictions import assets as prediction_assets
    from nba_assets.lib import publications
    from nba_assets.lib.raw import CheckOutcome
    from nba_assets.lib.storage.object_store import LocalObjectStore

    settings = Settings(data_dir=tmp_path / "data")
    shutil.copytree(runs[0].settings.data_dir, settings.data_dir)
    defs = build_definitions(settings)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        first_tip, last_tip = con.execute(
            "SELECT min(tipoff_utc), max(tipoff_utc) FROM raw.player_props WHERE game_date = ?", [END]
        ).fetchall()[0]
    morning = first_tip.astimezone(UTC) - timedelta(hours=2)
    store = LocalObjectStore(settings.object_store_root)

    def run(job: str, now: datetime, succeeds: bool = True) -> dict[str, dict[str, Any]]:
        """Each asset's materialization metadata, by asset name, with its observations' (prefixed
        "observed <partition>:")."""
        monkeypatch.setattr(prediction_assets, "utc_now", lambda: now)
        with dg.instance_for_test() as instance:
            result = defs.resolve_job_def(job).execute_in_process(
                instance=instance, tags=_range(END, END), raise_on_error=False
            )
            assert result.success is succeeds, job
            meta: dict[str, dict[str, Any]] = {}
            for e in result.get_asset_materialization_events():
                m = e.materialization
                meta[m.asset_key.path[-1]] = {k: getattr(v, "value", v) for k, v in m.metadata.items()}
            for e in result.get_asset_observation_events():
                o = e.asset_observation_data.asset_observation
                meta.setdefault(o.asset_key.path[-1], {}).update(
                    {f"observed {o.partition}:{k}": getattr(v, "value", v) for k, v in o.metadata.items()}
                )
            return meta

    # the blocking check fails (the run's report would not be written): nothing is published
    with monkeypatch.context() as patched:
        unanswered = CheckOutcome(False, {"lines_without_all_systems": 1})
        patched.setattr(prediction_assets.pchecks, "every_line_answered", lambda props, preds: unanswered)
        blocked = run("predict_job", morning, succeeds=False)["player_points_predictions"]
    assert blocked["calls_to_publish"] == 0 and not any(k.startswith("observed") for k in blocked)
    assert not store.list_keys(f"publications/{END}/")
    # the object store refuses the snapshot: the run fails and nothing is said to be published
    with monkeypatch.context() as patched:
        put = LocalObjectStore.put_bytes

        def refuse(self: LocalObjectStore, key: str, data: bytes, *args: Any) -> str:
            if key.startswith(f"{publications.PREFIX}/"):
                raise OSError(f"object store: cannot write {key}")
            return put(self, key, data, *args)

        patched.setattr(LocalObjectStore, "put_bytes", refuse)
        refused = run("predict_job", morning, succeeds=False)["player_points_predictions"]
    assert refused["calls_to_publish"] > 0 and not any(k.startswith("observed") for k in refused)
    assert not store.list_keys(f"publications/{END}/")
    shown = run("predict_job", morning)["player_points_predictions"]
    assert [k for k in shown if k.startswith("observed")] == [f"observed {END}:calls_published"]
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        calls = con.sql(
            "SELECT * FROM predictions.player_points_predictions WHERE game_date = ? AND actionable",
            params=[END],
        ).pl()
    snapshot = publications.read_snapshots(store, [date.fromisoformat(END)])
    assert (
        snapshot is not None
        and shown[f"observed {END}:calls_published"]
        == shown["calls_to_publish"]
        == snapshot.height
        == calls.height
        > 0
    )
    assert set(snapshot["published_utc"].to_list()) == {morning}
    late = run("predict_job", last_tip.astimezone(UTC) + timedelta(minutes=1))
    late_meta = late["player_points_predictions"]
    assert late_meta["calls_to_publish"] == 0 and not any(k.startswith("observed") for k in late_meta)
    assert len(store.list_keys(f"publications/{END}/")) == 1  # the later run published nothing

    # one main-line catboost call first published on the other side, earlier, then withdrawn
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        decided = con.sql(
            "SELECT p.* FROM predictions.player_points_predictions p JOIN grading.prediction_grades g "
            "USING (game_date, player_id, bookmaker, line, system) WHERE p.game_date = ? AND p.actionable "
            "AND p.is_main_line AND p.system = 'catboost' AND g.result IN ('WIN', 'LOSS') ORDER BY p.player_id, "
            "p.bookmaker LIMIT 1",
            params=[END],
        ).pl()
    flipped = decided.with_columns(
        pl.when(pl.col("recommendation") == "OVER")
        .then(pl.lit("UNDER"))
        .otherwise(pl.lit("OVER"))
        .alias("recommendation")
    )
    earlier = morning - timedelta(hours=1)
    publications.write_snapshots(
        store, publications.publishable(flipped, _tips(settings), earlier), earlier, "x"
    )
    graded = run("grade_job", morning)
    final = graded["prediction_grades"]["record_by_system"]
    published = graded["published_grades"]["published_record_by_system"]
    # the table: one row per call as first published, the withdrawn one flagged
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        table = con.sql("SELECT * FROM grading.published_grades WHERE game_date = ?", params=[END]).pl()
    assert graded["published_grades"]["dagster/row_count"] == table.height == snapshot.height
    assert (
        table.filter("withdrawn").select("player_id", "bookmaker", "system").rows()
        == decided.select("player_id", "bookmaker", "system").rows()
    )
    # the 30-day and season record of the published calls, in the performance's metadata
    perf = graded["system_performance"]["published_by_system"]
    assert "| 30d | catboost |" in perf and "| season | catboost |" in perf
    for system, record in published.items():
        # the archive holds one snapshot of each line: every call's line closed where it was published
        assert record["clv_calls"] > 0 and record["clv_mean"] == 0.0, system
        withdrawn = 1 if system == "catboost" else 0
        assert record["withdrawn_bets"] == withdrawn, system
        wins, losses, _pushes = (int(x) for x in record["record"].split("-"))
        final_wins, final_losses = (int(x) for x in final[system].split("-"))
        # the same calls, one of catboost's on the other side
        assert wins + losses == final_wins + final_losses, system
        if not withdrawn:
            assert (wins, losses) == (final_wins, final_losses), system
    # the flipped call lost where the final one won, or won where it lost
    wins, losses, _pushes = (int(x) for x in published["catboost"]["record"].split("-"))
    final_wins, final_losses = (int(x) for x in final["catboost"].split("-"))
    assert abs(wins - final_wins) == 1 and abs(losses - final_losses) == 1


def _tips(settings: Settings) -> pl.DataFrame:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.sql(
            "SELECT game_id, tipoff_utc FROM raw.player_props WHERE game_date = ?", params=[END]
        ).pl()
