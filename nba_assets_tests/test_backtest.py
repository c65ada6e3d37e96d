"""The backtest: lines CSV loader, walk-forward blocks, no look-ahead, report."""

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from nba_assets.lib import backtest, grading
from nba_assets.lib.errors import SourceDataError
from nba_assets.lib.features.catalog import BASE_FEATURES
from nba_assets.lib.modeling.config import MODEL, ModelConfig
from nba_assets.lib.sources.lines_csv import GUARANTEED_COLUMNS, outside_window, read_lines_csv
from nba_assets_tests.conftest import script_module, shared_dir
from nba_assets_tests.test_lib_modeling import synthetic_features

FAST = ModelConfig(iterations=60, validation_days=5, validation_min_rows=200, min_train_rows=200)
DEV_LINES = "props_points_2025-26_dev_oddsapi.csv"


@pytest.fixture(scope="module")
def dev_lines_path() -> Path:
    path = shared_dir() / "data" / "real" / DEV_LINES
    if not path.exists():
        pytest.fail(f"{path} not found; set NBA_ASSETS_SHARED_DIR", pytrace=False)
    return path


def test_lines_csv_reads_the_real_dev_file_like_the_archive(dev_lines_path: Path) -> None:
    lines = read_lines_csv(dev_lines_path)
    archive = pl.read_parquet(Path(backtest.__file__).parents[1] / "data" / "props_points.parquet")
    window = lines.filter(pl.col("game_date").is_between(date(2025, 10, 21), date(2025, 11, 20)))
    cols = archive.columns
    key = ["game_date", "event_id", "bookmaker", "player_name", "line", "snapshot_utc"]
    assert window.select(cols).sort(key).equals(archive.select(cols).sort(key))
    assert window["player_id"].null_count() == window.height  # resolved later, never read from the file


def test_lines_csv_never_reads_outcome_columns(dev_lines_path: Path, tmp_path: Path) -> None:
    full = pl.read_csv(dev_lines_path, infer_schema=False, n_rows=500)
    only = tmp_path / "only.csv"
    full.select(GUARANTEED_COLUMNS).write_csv(only)
    poisoned = tmp_path / "poisoned.csv"
    full.with_columns(
        pl.lit("999").alias("actual_pts"), pl.lit("1").alias("player_id"), pl.lit("x").alias("game_id")
    ).write_csv(poisoned)
    assert read_lines_csv(only).drop("source").equals(read_lines_csv(poisoned).drop("source"))


def test_lines_outside_the_window_are_named_not_silently_dropped(dev_lines_path: Path) -> None:
    lines = read_lines_csv(dev_lines_path)
    dates = lines["game_date"]
    assert outside_window(lines, date(2025, 10, 21), date(2025, 11, 20)) == ""
    note = outside_window(lines, date(2025, 11, 1), date(2025, 11, 20))
    before = lines.filter(pl.col("game_date") < date(2025, 11, 1))
    after = lines.filter(pl.col("game_date") > date(2025, 11, 20))
    assert before.height > 0
    assert note.startswith(f"{before.height + after.height:,} of the file's {lines.height:,} lines")
    assert f"({dates.min()} .. " in note and note.endswith("are not used")


@pytest.mark.parametrize(
    ("column", "value", "field"),
    [
        ("line", "twenty", "line"),
        ("over_odds", "-5", "over_odds"),
        ("game_date", "2025-13-45", "game_date"),
        ("is_main_line", "7", "is_main_line"),
    ],
)
def test_lines_csv_bad_values_name_source_field_and_value(
    dev_lines_path: Path, tmp_path: Path, column: str, value: str, field: str
) -> None:
    frame = pl.read_csv(dev_lines_path, infer_schema=False, n_rows=50)
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 7).then(pl.lit(value)).otherwise(pl.col(column)).alias(column)
    )
    path = tmp_path / "bad.csv"
    frame.write_csv(path)
    with pytest.raises(SourceDataError) as err:
        read_lines_csv(path)
    msg = str(err.value)
    assert "bad.csv" in msg and field in msg and value in msg
    # and the row: line 9 of the file (the header is line 1), and what the line is
    assert "line 9 of the file" in msg and frame["player_name"][7] in msg


def test_lines_csv_reads_is_main_line_written_as_a_boolean(dev_lines_path: Path, tmp_path: Path) -> None:
    """A file exported from a dataframe writes the flag as true/false: read as 1/0 (it was refused)."""
    frame = pl.read_csv(dev_lines_path, infer_schema=False, n_rows=200)
    assert set(frame["is_main_line"]) == {"0", "1"}
    for true, false in (("true", "false"), ("True", "False"), ("TRUE", "FALSE")):
        path = tmp_path / f"{true}.csv"
        frame.with_columns(
            pl.when(pl.col("is_main_line") == "1")
            .then(pl.lit(true))
            .otherwise(pl.lit(false))
            .alias("is_main_line")
        ).write_csv(path)
        assert read_lines_csv(path).drop("source").equals(_read_frame(frame, tmp_path).drop("source"))


def _read_frame(frame: pl.DataFrame, tmp_path: Path) -> pl.DataFrame:
    path = tmp_path / "as_is.csv"
    frame.write_csv(path)
    return read_lines_csv(path)


def test_lines_csv_refuses_a_line_neither_main_nor_alternate(dev_lines_path: Path, tmp_path: Path) -> None:
    """A blank ``is_main_line`` was read as null: the line was neither main nor alternate, so it was
    left out of the consensus, the line's MAE and every main-line record without a word (a file with
    the column blank throughout gave a backtest without one main line)."""
    frame = pl.read_csv(dev_lines_path, infer_schema=False, n_rows=50)
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 7)
        .then(None)
        .otherwise(pl.col("is_main_line"))
        .alias("is_main_line")
    )
    path = tmp_path / "blank.csv"
    frame.write_csv(path)
    with pytest.raises(SourceDataError) as err:
        read_lines_csv(path)
    msg = str(err.value)
    assert "blank.csv" in msg and "is_main_line" in msg and frame["player_name"][7] in msg


@pytest.mark.parametrize(
    "column", ["game_date", "game_time_utc", "snapshot_utc", "home_abbr", "away_abbr", "bookmaker"]
)
def test_lines_csv_refuses_a_line_without_a_value_every_line_needs(
    dev_lines_path: Path, tmp_path: Path, column: str
) -> None:
    """A blank game_date dropped the line from the window without a word (not counted outside it
    either), a blank time quarantined it as a 'snapshot after tip-off', and a blank team or book
    failed the raw contract only after the warehouse was extended, naming neither the file nor the row."""
    frame = pl.read_csv(dev_lines_path, infer_schema=False, n_rows=50)
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 7).then(None).otherwise(pl.col(column)).alias(column)
    )
    path = tmp_path / "blank.csv"
    frame.write_csv(path)
    with pytest.raises(SourceDataError) as err:
        read_lines_csv(path)
    msg = str(err.value)
    # the file, the column, the row (line 9: the header is line 1) and what the line is
    assert "blank.csv" in msg and f"'{column}' is empty" in msg and "line 9 of the file" in msg
    assert frame["player_name"][7] in msg


def test_lines_csv_reads_the_books_team_spellings_and_refuses_an_unknown_team(
    dev_lines_path: Path, tmp_path: Path
) -> None:
    """NO, GS, PHO, UTAH, SA, NY, BRK (the spellings teams.tricode knows) were read as they were and failed
    the raw contract in read_inputs, with a traceback after the warehouse was extended ('lines_csv: field
    home_abbr has unknown home team ... BRK', naming no file or row)."""
    frame = pl.read_csv(dev_lines_path, infer_schema=False).filter(
        pl.col("game_date").is_between(pl.lit("2025-11-18"), pl.lit("2025-11-20"))
    )
    books = {"NOP": "NO", "GSW": "GS", "PHX": "PHO", "UTA": "Utah", "SAS": "SA", "NYK": "NY", "BKN": "BRK"}
    spelled = frame.with_columns(pl.col("home_abbr", "away_abbr").replace(books))
    assert spelled.filter(pl.col("home_abbr").is_in(list(books.values()))).height > 100
    original, other = tmp_path / "lines.csv", tmp_path / "spelled.csv"
    frame.write_csv(original)
    spelled.write_csv(other)
    assert read_lines_csv(other).drop("source").equals(read_lines_csv(original).drop("source"))
    unknown = tmp_path / "unknown.csv"
    frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 7)
        .then(pl.lit("XYZ"))
        .otherwise(pl.col("away_abbr"))
        .alias("away_abbr")
    ).write_csv(unknown)
    with pytest.raises(SourceDataError) as err:
        read_lines_csv(unknown)
    msg = str(err.value)
    assert "unknown.csv" in msg and "'away_abbr'" in msg and "line 9 of the file" in msg and "XYZ" in msg


def test_lines_csv_skips_blank_lines_of_the_file(dev_lines_path: Path, tmp_path: Path) -> None:
    """A blank line (a file ending in two newlines, a gap between two exports pasted together) is read by
    polars as a row of nulls: it was refused as a line with a blank is_main_line ('None None at None on
    None'). It holds no line: skipped, and a later line's error still names its line of the file."""
    frame = pl.read_csv(dev_lines_path, infer_schema=False, n_rows=50)

    def with_gaps(frame: pl.DataFrame, name: str) -> Path:  # a blank line 22 (after 20 lines) and at the end
        rows = frame.write_csv().split("\n")
        path = tmp_path / name
        path.write_text("\n".join([*rows[:21], "", *rows[21:]]) + "\n")
        return path

    original = tmp_path / "lines.csv"
    frame.write_csv(original)
    gaps = read_lines_csv(with_gaps(frame, "gaps.csv"))
    assert gaps.drop("source").equals(read_lines_csv(original).drop("source"))
    # the 30th line of the frame is line 32 of the file: the header, 29 lines, the blank one
    bad = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 29).then(None).otherwise(pl.col("bookmaker")).alias("bookmaker")
    )
    with pytest.raises(SourceDataError, match="'bookmaker' is empty on 1 line.s., first line 32 of the file"):
        read_lines_csv(with_gaps(bad, "bad.csv"))


def test_lines_csv_refuses_a_game_date_that_is_not_the_tip_offs_et_date(
    dev_lines_path: Path, tmp_path: Path
) -> None:
    """``game_date`` is the ET date of ``game_time_utc`` on every line of the dev file (and in production,
    where the feed's date is derived so). A file dated by UTC (as the PRA files' odds_event_date is) was read
    as it was: on 2025-11-18..20 every evening game moved to the next date, 168 player-dates were PASSed
    unscheduled_game and 10 lined players predicted and graded on a game the next day."""
    frame = pl.read_csv(dev_lines_path, infer_schema=False).filter(
        pl.col("game_date") == pl.lit("2025-11-18")
    )
    utc = frame.with_columns(pl.col("game_time_utc").str.slice(0, 10).alias("game_date"))
    late = utc["game_date"] != frame["game_date"]
    assert late.any()
    path = tmp_path / "utc.csv"
    utc.write_csv(path)
    with pytest.raises(SourceDataError) as err:
        read_lines_csv(path)
    msg = str(err.value)
    first = int(late.arg_true()[0])
    assert "utc.csv" in msg and "'game_date'" in msg and f"line {first + 2} of the file" in msg
    assert utc["game_date"][first] in msg and frame["game_date"][first] in msg


def test_lines_csv_says_why_a_file_is_not_a_readable_csv(dev_lines_path: Path, tmp_path: Path) -> None:
    """A file polars cannot read was refused as 'is not a readable CSV (ComputeError)' whatever the cause:
    an export saved in a Windows code page ('Dennis Schröder' in latin-1) said nothing of its encoding or
    where it is, a line with more fields than the header nothing of that."""
    frame = pl.read_csv(dev_lines_path, infer_schema=False, n_rows=30).select(GUARANTEED_COLUMNS)
    rows = frame.write_csv().split("\n")
    latin = tmp_path / "latin.csv"
    latin.write_bytes(
        "\n".join(
            [*rows[:12], rows[12].replace(frame["player_name"][11], "Dennis Schröder"), *rows[13:]]
        ).encode("latin-1")
    )
    with pytest.raises(SourceDataError, match="latin.csv.*not UTF-8 at line 13 of the file"):
        read_lines_csv(latin)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("\n".join([*rows[:5], rows[5] + ",1", *rows[6:]]))
    with pytest.raises(SourceDataError, match="ragged.csv.*more fields"):
        read_lines_csv(ragged)


def test_lines_csv_missing_column(tmp_path: Path, dev_lines_path: Path) -> None:
    path = tmp_path / "short.csv"
    pl.read_csv(dev_lines_path, infer_schema=False, n_rows=5).drop("bookmaker").write_csv(path)
    with pytest.raises(SourceDataError, match="bookmaker"):
        read_lines_csv(path)


def test_cutoffs_retrain_at_least_weekly() -> None:
    blocks = backtest.cutoffs(date(2025, 10, 21), date(2025, 11, 20), 7)
    assert blocks[0] == (date(2025, 10, 21), date(2025, 10, 27))
    assert blocks[-1][1] == date(2025, 11, 20)
    days = sum((b - a).days + 1 for a, b in blocks)
    assert days == 31 and all((b - a).days < 7 for a, b in blocks)
    with pytest.raises(ValueError, match="weekly"):
        backtest.cutoffs(date(2025, 10, 21), date(2025, 11, 20), 8)


def _world(start: date, days: int) -> backtest.BacktestInputs:
    feats = synthetic_features(start - timedelta(days=40), days + 40).with_columns(
        pl.lit("BOS").alias("team_abbr"), pl.lit("x").alias("player_name")
    )
    window = feats.filter(pl.col("game_date") >= start)
    snap = datetime(2025, 1, 1, tzinfo=UTC)
    props = window.select(
        "game_date",
        pl.format("g{}", pl.col("game_date")).alias("game_id"),
        "player_id",
        pl.format("Player {}", pl.col("player_id")).alias("player_name"),
        pl.lit("book").alias("bookmaker"),
        (pl.col("pts_avg_season").round(0) + 0.5).alias("line"),
        pl.lit(-110).cast(pl.Int64).alias("over_price"),
        pl.lit(-110).cast(pl.Int64).alias("under_price"),
        pl.lit(True).alias("is_main_line"),
        pl.lit(snap).alias("snapshot_utc"),
    )
    box = window.select(  # the raw box score's columns grading reads (a line is graded on its game)
        "game_date",
        pl.format("g{}", pl.col("game_date")).alias("game_id"),
        "player_id",
        pl.col("target_pts").round(0).alias("pts"),
        pl.lit(30.0).alias("minutes"),
    )
    return backtest.BacktestInputs(features=feats, props=props, box_scores=box, injuries=pl.DataFrame())


def test_walk_forward_uses_only_games_before_each_block() -> None:
    start = date(2025, 2, 1)
    world = _world(start, 14)
    first = backtest.run_backtest(world, start, start + timedelta(days=13), 7, FAST)
    assert [m["cutoff"] for m in first.models] == ["2025-02-01", "2025-02-08"]
    # scramble every outcome on or after the second cutoff, and every input dated from then on (the
    # features x10, the lines moved, the box scores x10): the first block's predictions, calls and
    # grades can't move, and a model can't have seen any of them
    second = date(2025, 2, 8)
    later = pl.col("game_date") >= second
    scrambled = world.features.with_columns(
        pl.when(later).then(pl.lit(500.0)).otherwise(pl.col("target_pts")).alias("target_pts"),
        *[pl.when(later).then(pl.col(f) * 10).otherwise(pl.col(f)).alias(f) for f in BASE_FEATURES],
    )
    props = world.props.with_columns(
        pl.when(later).then(pl.col("line") + 10).otherwise(pl.col("line")).alias("line")
    )
    box = world.box_scores.with_columns(
        pl.when(later).then(pl.col("pts") * 10).otherwise(pl.col("pts")).alias("pts")
    )
    again = backtest.run_backtest(
        backtest.BacktestInputs(scrambled, props, box, world.injuries),
        start,
        start + timedelta(days=13),
        7,
        FAST,
    )
    cols = [
        "game_date", "player_id", "system", "line", "predicted_points", "p_over", "confidence", "edge",
        "recommendation", "tier", "actual_points", "result", "profit",
    ]  # fmt: skip
    a = first.rows.filter(pl.col("game_date") < second).select(cols).sort(cols[:4])
    b = again.rows.filter(pl.col("game_date") < second).select(cols).sort(cols[:4])
    assert a.height > 0 and a.equals(b)
    model_rows = again.rows.filter(later & pl.col("system").is_in(["catboost", "catboost_line"]))
    assert model_rows["predicted_points"].max() < 100
    # every row is graded and one row per player x line x system
    assert first.rows["result"].null_count() == 0
    assert (
        first.rows.select("game_date", "player_id", "bookmaker", "line", "system").is_duplicated().sum() == 0
    )


def test_report_figures(tmp_path: Path) -> None:
    start = date(2025, 2, 1)
    world = _world(start, 7)
    world.quarantined = {"quarantined: snapshot after tip-off": 2}  # from a --lines file
    result = backtest.run_backtest(world, start, start + timedelta(days=6), 7, FAST)
    assert result.skipped["quarantined: snapshot after tip-off"] == 2
    # the CSV's order is total: no two rows share the sort key, so the file does not depend on row order
    assert not result.rows.select(backtest.OUTPUT_ORDER).is_duplicated().any()
    assert result.rows.equals(
        result.rows.sample(fraction=1, shuffle=True, seed=3).sort(backtest.OUTPUT_ORDER)
    )
    acc = backtest.accuracy(result.rows)
    assert set(acc["system"]) == {"baseline_l10", "baseline_blend", "catboost", "catboost_line"}
    # the line's MAE is computed on the same player-dates for every system
    assert acc["line_mae"].n_unique() == 1 and acc["player_dates"].n_unique() == 1
    path = backtest.write_report(result, start, start + timedelta(days=6), tmp_path, "synthetic")
    text = path.read_text()
    assert "catboost MAE" in text and "Calibration" in text
    assert "## Accuracy by week" in text and "paired bootstrap over the 7 game dates" in text
    assert "hit_low90" in text and "player_dates" in text
    assert "quarantined: snapshot after tip-off" in text
    assert f"models (CatBoost seed {FAST.seed})" in text
    assert (tmp_path / "calibration.png").stat().st_size > 1000
    # the Models table: each weekly model's validation MAE next to the better baseline's, and what its
    # P(over) was calibrated on; every stored metric in backtest_models.json
    (row,) = result.models
    (meta,) = json.loads((tmp_path / backtest.MODELS_JSON).read_text())
    assert (
        meta["version"] == row["version"]
        and meta["predicts"] == row["predicts"] == f"{start} .. {start + timedelta(days=6)}"
    )
    m = meta["metrics"]
    assert row["validation_mae"] == round(m["mae"], 3) and row["validation_from"] == m["validation_start"]
    assert row["validation_mae_best_baseline"] == round(
        min(m["mae_baseline_l10"], m["mae_baseline_blend"]), 3
    )
    assert m["calibrated_on"].startswith("synthetic_lines") and row["calibrated_on"] == "synthetic lines"
    assert row["calibration_rows"] == m["calibration_rows"] > 0
    assert row["brier_out_of_sample"] == round(m["brier_out_of_sample"], 4)
    assert meta["features"] == list(BASE_FEATURES) and meta["params"]["seed"] == FAST.seed
    assert "| validation_mae_best_baseline |" in text and "| synthetic lines |" in text
    assert f"`{backtest.MODELS_JSON}`" in text
    assert (tmp_path / "hit_rate_by_tier.png").stat().st_size > 1000


def test_the_backtest_trains_every_model_with_the_seed_it_is_given() -> None:
    """`nba-assets backtest --seed N` (the README judges a gain over several seeds): the same seed
    gives the same predictions, another seed other catboost predictions; the baselines do not move."""
    start = date(2025, 2, 1)
    world = _world(start, 7)
    end = start + timedelta(days=6)
    runs = {seed: backtest.run_backtest(world, start, end, 7, replace(FAST, seed=seed)) for seed in (5, 6)}
    again = backtest.run_backtest(world, start, end, 7, replace(FAST, seed=5))
    assert [r.seed for r in (runs[5], runs[6], again)] == [5, 6, 5]

    def predicted(result: backtest.BacktestResult, system: str) -> list:
        return result.rows.filter(pl.col("system") == system)["predicted_points"].to_list()

    assert predicted(runs[5], "catboost") == predicted(again, "catboost")
    assert predicted(runs[5], "catboost") != predicted(runs[6], "catboost")
    assert predicted(runs[5], "baseline_l10") == predicted(runs[6], "baseline_l10")


def test_lines_file_without_outcome_columns_resolves_like_the_pipeline(
    dev_lines_path: Path, tmp_path: Path
) -> None:
    """A --lines file with only the guaranteed columns: game ids from the schedule, NBA ids from
    players seen before the date; checked against the dev file's own ground-truth ids."""
    from nba_assets.lib.sources.archive import ArchiveSource

    day = date(2025, 11, 5)
    full = pl.read_csv(dev_lines_path, infer_schema=False).filter(pl.col("game_date") == day.isoformat())
    only = tmp_path / "lines.csv"
    full.select(GUARANTEED_COLUMNS).write_csv(only)
    lines = read_lines_csv(only)
    archive = ArchiveSource()
    schedule = archive.schedule([day], datetime(2025, 11, 7, tzinfo=UTC)).frame
    box = pl.read_parquet(Path(backtest.__file__).parents[1] / "data" / "box_scores.parquet")
    # one line captured after its tip-off: quarantined with its reason, which the report counts
    late = lines.head(1).with_columns(pl.col("snapshot_utc").dt.offset_by("1d"))
    batch = backtest.resolve_lines(
        pl.concat([lines, late]), schedule, box.filter(pl.col("game_date") < day), day, day
    )
    assert batch.quarantine_reasons == {"snapshot after tip-off": 1}
    resolved = batch.good
    assert resolved.height == lines.height and resolved["game_id"].null_count() == 0
    truth = full.select(
        "player_name",
        "bookmaker",
        pl.col("line").cast(pl.Float64),
        pl.col("player_id").cast(pl.Int64).alias("truth"),
    ).unique(subset=["player_name", "bookmaker", "line"])
    joined = resolved.join(truth, on=["player_name", "bookmaker", "line"], how="inner").filter(
        pl.col("truth").is_not_null()
    )
    correct = (joined["player_id"] == joined["truth"]).sum()
    assert joined.height > 1000 and correct / joined.height >= 0.99


def _scored_rows(errors: dict[str, list[float]], dates: list[date]) -> pl.DataFrame:
    """Main-line rows of one player per date: line 20, actual 20, each system off by its error."""
    out = []
    for system, errs in errors.items():
        for day, err in zip(dates, errs, strict=True):
            out.append(
                {
                    "game_date": day,
                    "player_id": 1,
                    "system": system,
                    "is_main_line": True,
                    "line": 20.0,
                    "predicted_points": 20.0 + err,
                    "actual_points": 20.0,
                    "result": "WIN",
                }
            )
    return pl.DataFrame(out)


def test_accuracy_by_week_splits_the_window_at_mondays() -> None:
    # 2025-10-26 is a Sunday, 2025-10-27 a Monday
    dates = [date(2025, 10, 25), date(2025, 10, 26), date(2025, 10, 27)]
    rows = _scored_rows({"catboost": [1.0, 3.0, -4.0], "baseline_l10": [2.0, 2.0, 2.0]}, dates)
    weekly = backtest.accuracy_by_week(rows)
    assert weekly["week"].to_list() == [date(2025, 10, 20), date(2025, 10, 27)]
    assert weekly["player_dates"].to_list() == [2, 1]
    assert weekly["catboost"].to_list() == [2.0, 4.0]
    assert weekly["baseline_l10"].to_list() == [2.0, 2.0]
    assert weekly["line"].to_list() == [0.0, 0.0]


def test_mae_gain_interval_is_paired_and_resamples_dates() -> None:
    dates = [date(2025, 11, 1) + timedelta(days=i) for i in range(20)]
    # a constant gain of 1 point on every date: no spread to resample
    flat = _scored_rows({"catboost": [1.0] * 20, "baseline_blend": [2.0] * 20}, dates)
    g = backtest.mae_gain_interval(flat, "catboost", "baseline_blend", draws=200)
    assert (
        g["gain"] == pytest.approx(1.0) and g["low"] == pytest.approx(1.0) and g["high"] == pytest.approx(1.0)
    )
    assert g["dates"] == 20 and g["player_dates"] == 20
    # a gain that varies by date: the interval holds the point estimate and has width
    varied = _scored_rows(
        {"catboost": [float(i % 4) for i in range(20)], "baseline_blend": [2.0] * 20}, dates
    )
    v = backtest.mae_gain_interval(varied, "catboost", "baseline_blend", draws=500)
    assert v["gain"] == pytest.approx(2.0 - 1.5)
    assert v["low"] < v["gain"] < v["high"]
    with pytest.raises(ValueError, match="catboost_line"):
        backtest.mae_gain_interval(flat, "catboost_line", "baseline_blend")


def test_tier_records_carry_a_wilson_interval() -> None:
    frame = pl.DataFrame({"wins": [55, 0], "n": [100, 10]})
    lo, hi = grading.wilson_bounds(pl.col("wins"), pl.col("n"))
    got = frame.select(lo.alias("lo"), hi.alias("hi"))
    # by hand: p = .55, z = 1.645 -> centre .54869, half-width .08076
    assert got["lo"][0] == pytest.approx(0.46793, abs=1e-4)
    assert got["hi"][0] == pytest.approx(0.62945, abs=1e-4)
    assert got["lo"][1] == pytest.approx(0.0, abs=1e-12) and 0.15 < got["hi"][1] < 0.25


def test_walk_forward_mae_script_scores_a_window_without_lines() -> None:
    """scripts/walk_forward_mae.py: the second-window check (no lines) scores every system on the
    same player-dates with weekly models, and its gain is the paired difference of the MAEs."""
    script = script_module("walk_forward_mae")
    feats = synthetic_features(date(2025, 1, 1), 50)
    start, end = date(2025, 2, 6), date(2025, 2, 19)
    rows = script.scored_rows(feats, None, start, end, rotation_minutes=-1e9, cfg=FAST)
    assert set(rows["system"]) == {"catboost", "baseline_l10", "baseline_blend"}
    assert rows["line"].null_count() == rows.height  # no line is invented
    per_system = rows.group_by("system").len()
    assert per_system["len"].n_unique() == 1 and per_system["len"][0] == 14 * 60
    gain = backtest.mae_gain_interval(rows, "catboost", "baseline_l10", draws=200)
    mae = rows.group_by("system").agg(
        (pl.col("predicted_points") - pl.col("actual_points")).abs().mean().alias("mae")
    )
    by = dict(zip(mae["system"], mae["mae"], strict=True))
    assert gain["player_dates"] == 14 * 60
    assert gain["gain"] == pytest.approx(by["baseline_l10"] - by["catboost"])
    assert gain["low"] <= gain["gain"] <= gain["high"]


def test_walk_forward_mae_script_scores_only_player_dates_known_before_tip_off() -> None:
    """A played row without an expected (pre-game) row is a training row: its team, opponent and venue
    come from D's box score (a rookie or mover no pre-game source placed). The backtest cannot predict
    such a player (no_feature_row); the script scored him, reading D's box score, and in the rotation
    mode let his default last-10 minutes (20) pass the 18-minute filter."""
    script = script_module("walk_forward_mae")
    quick = replace(FAST, monotone_increasing=())  # which rows are scored does not depend on the model
    feats = synthetic_features(date(2025, 1, 1), 50)
    start, end = date(2025, 2, 6), date(2025, 2, 12)
    # players 0-9 appear only in D's box score: no pre-game row
    unplaced = (pl.col("player_id") < 10) & (pl.col("game_date") >= start)
    feats = feats.with_columns(
        pl.when(unplaced).then(False).otherwise(pl.col("is_expected")).alias("is_expected")
    )
    rows = script.scored_rows(feats, None, start, end, rotation_minutes=-1e9, cfg=quick)
    assert rows.filter(pl.col("player_id") < 10).is_empty()
    assert rows.group_by("system").len()["len"].to_list() == [7 * 50] * 3
    lined = feats.filter(pl.col("game_date").is_between(start, end)).select(
        "game_date", "player_id", pl.col("pts_avg_l10").round(0).add(0.5).alias("cons")
    )
    rows = script.scored_rows(feats, lined, start, end, rotation_minutes=-1e9, cfg=quick)
    assert rows.filter(pl.col("player_id") < 10).is_empty() and rows.height == 3 * 7 * 50


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--start", "2024-11-22", "--end", "2024-10-21"], "--end 2024-10-21 is before --start 2024-11-22"),
        (["--start", "2024-10-22", "--end", "2024-11-21"], "holds no lines between --start 2024-10-22"),
        (
            ["--start", "2024-10-22", "--end", "2024-11-21", "--retrain-days", "8"],
            "--retrain-days 8 is not in 1..7",
        ),
    ],
)
def test_walk_forward_mae_script_refuses_bad_arguments_before_training(
    tmp_path: Path, capsys, argv: list[str], expected: str
) -> None:
    # a reversed window ended in "cannot concat empty list", and `--rows lined` on a window without lines
    # trained five models before failing
    import duckdb

    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema features; create schema raw")
        con.execute("create table features.player_features (game_date date, sources varchar)")
        con.execute("create table raw.player_props (game_date date)")
        con.execute("insert into raw.player_props values (date '2025-10-21')")
    script = script_module("walk_forward_mae")
    with pytest.raises(SystemExit) as exc:
        script.main(["--warehouse", str(warehouse), *argv])
    assert exc.value.code == 2
    assert expected in capsys.readouterr().err
    with pytest.raises(SystemExit):
        script.main(["--warehouse", str(tmp_path / "none.duckdb"), *argv])
    assert "--warehouse" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "seed", "days"),
    [([], MODEL.seed, 7), (["--seed", "18"], 18, 7), (["--retrain-days", "3"], MODEL.seed, 3)],
)
def test_walk_forward_mae_script_trains_with_the_seed_asked_for(
    tmp_path: Path, monkeypatch, argv: list[str], seed: int, days: int
) -> None:
    # the README's seed-to-seed figures are measured with --seed, its retraining row with --retrain-days;
    # the defaults are the shipped model's and the backtest's
    import duckdb

    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema features")
        con.execute("create table features.player_features (game_date date, sources varchar)")
    script = script_module("walk_forward_mae")
    seen: list[tuple[int, int]] = []

    def fake_scored_rows(*args, **kwargs):
        seen.append((args[5].seed, args[6]))
        raise SystemExit(0)

    monkeypatch.setattr(script, "scored_rows", fake_scored_rows)
    with pytest.raises(SystemExit):
        script.main(
            ["--warehouse", str(warehouse), "--start", "2024-10-22", "--end", "2024-11-21"]
            + ["--rows", "rotation", *argv]
        )
    assert seen == [(seed, days)]


def test_walk_forward_mae_script_retrains_as_often_as_asked(capsys) -> None:
    """--retrain-days 3 over a 7-day window: three models (cutoffs 3 days apart), each predicting only
    the dates from its cutoff on; the same player-dates are scored as with one weekly model."""
    script = script_module("walk_forward_mae")
    quick = replace(FAST, monotone_increasing=())
    feats = synthetic_features(date(2025, 1, 1), 50)
    start, end = date(2025, 2, 6), date(2025, 2, 12)
    weekly = script.scored_rows(feats, None, start, end, rotation_minutes=-1e9, cfg=quick)
    assert "2025-02-06 .. 2025-02-12" in capsys.readouterr().out
    every3 = script.scored_rows(feats, None, start, end, rotation_minutes=-1e9, cfg=quick, retrain_days=3)
    blocks = [line.split(":")[0].strip() for line in capsys.readouterr().out.splitlines()]
    assert blocks == ["2025-02-06 .. 2025-02-08", "2025-02-09 .. 2025-02-11", "2025-02-12 .. 2025-02-12"]
    key = ["game_date", "player_id", "system"]
    assert every3.select(key).sort(key).equals(weekly.select(key).sort(key))
    baselines = pl.col("system").str.starts_with("baseline")
    assert every3.filter(baselines).sort(key).equals(weekly.filter(baselines).sort(key))
    # later blocks' models saw more games: catboost's predictions there differ
    late = (pl.col("system") == "catboost") & (pl.col("game_date") >= date(2025, 2, 9))
    assert not every3.filter(late).sort(key).equals(weekly.filter(late).sort(key))


def test_line_shopping_script_names_a_missing_csv(tmp_path: Path, capsys) -> None:
    # it ended in a polars FileNotFoundError traceback
    with pytest.raises(SystemExit) as exc:
        script_module("line_shopping").main([str(tmp_path / "backtest.csv")])
    assert exc.value.code == 2
    assert f"csv {tmp_path / 'backtest.csv'} is not a file" in capsys.readouterr().err


def test_line_shopping_bets_each_call_once_at_the_best_offer() -> None:
    """scripts/line_shopping.py: an OVER call at three books is bet once, at the lowest line and, among
    equal lines, the better price; a player-date called on both sides keeps the more confident call."""
    base = {"game_date": date(2025, 11, 1), "system": "catboost", "is_main_line": True, "tier": "high"}
    offers = [  # player 1: OVER at three books
        {"player_id": 1, "bookmaker": "a", "line": 20.5, "over_price": -110, "confidence": 0.63},
        {"player_id": 1, "bookmaker": "b", "line": 19.5, "over_price": -125, "confidence": 0.66},
        {"player_id": 1, "bookmaker": "c", "line": 19.5, "over_price": -105, "confidence": 0.66},
    ]
    rows = [{**base, **o, "recommendation": "OVER", "under_price": -110, "result": "WIN"} for o in offers]
    rows += [  # player 2: UNDER at one book (higher confidence), OVER at another, a PASS ignored
        {**base, "player_id": 2, "bookmaker": "a", "line": 8.5, "recommendation": "UNDER",
         "over_price": -110, "under_price": -110, "confidence": 0.64, "result": "LOSS"},
        {**base, "player_id": 2, "bookmaker": "b", "line": 6.5, "recommendation": "OVER",
         "over_price": -110, "under_price": -110, "confidence": 0.62, "result": "WIN"},
        {**base, "player_id": 2, "bookmaker": "c", "line": 7.5, "recommendation": "PASS",
         "over_price": -110, "under_price": -110, "confidence": 0.5, "result": None},
    ]  # fmt: skip
    best = script_module("line_shopping").best_offers(pl.DataFrame(rows)).sort("player_id")
    assert best["bookmaker"].to_list() == ["c", "a"]
    assert best["recommendation"].to_list() == ["OVER", "UNDER"]


def test_tier_interval_counts_each_player_date_once() -> None:
    """Five books' lines on one player-date win or lose together: the tier's bounds use the
    player-dates, not the bet count."""
    rows = []
    for p in range(20):
        for book in ("a", "b", "c", "d", "e"):
            rows.append(
                {
                    "game_date": date(2025, 11, 1),
                    "player_id": p,
                    "system": "catboost",
                    "tier": "high",
                    "is_main_line": True,
                    "bookmaker": book,
                    "result": "WIN" if p < 11 else "LOSS",
                    "profit": 0.9 if p < 11 else -1.0,
                }
            )
    rec = backtest.by_confidence_tier(pl.DataFrame(rows)).row(0, named=True)
    assert rec["bets"] == 100 and rec["player_dates"] == 20 and rec["hit_rate"] == pytest.approx(0.55)
    lo, hi = grading.wilson_bounds(pl.lit(11.0), pl.lit(20.0))
    expected = pl.select(lo.alias("lo"), hi.alias("hi")).row(0, named=True)
    assert rec["hit_low90"] == pytest.approx(expected["lo"]) and rec["hit_high90"] == pytest.approx(
        expected["hi"]
    )
    assert rec["hit_high90"] - rec["hit_low90"] > 0.3  # 100 independent bets would give about 0.16


def test_report_tables_score_played_main_lines_and_tier_bets_at_their_bounds() -> None:
    """accuracy: one row per player-date that played (a VOID row's 0 points is no error), against the
    median of the main lines (an alternate is no consensus); edge tiers are [lo, hi) (an edge of exactly
    1.5 is in "1.5-2.5"); confidence tiers count main lines only; best_tier takes a tier from exactly
    ``min_bets`` decided bets."""
    d = date(2025, 11, 5)

    def row(player: int, line: float, main: bool, result: str, actual: float, edge: float, tier: str) -> dict:
        return {
            "game_date": d,
            "player_id": player,
            "system": "catboost",
            "tier": tier,
            "is_main_line": main,
            "line": line,
            "edge": edge,
            "predicted_points": 21.0,
            "actual_points": actual,
            "result": result,
            "profit": {"WIN": 1.0, "LOSS": -1.0}.get(result, 0.0),
        }

    rows = pl.DataFrame(
        [
            row(1, 19.5, True, "WIN", 20.0, 1.5, "high"),
            row(1, 14.5, False, "WIN", 20.0, 6.5, "high"),  # an alternate
            row(2, 22.5, True, "VOID", 0.0, -1.5, "high"),  # did not play
            row(3, 18.5, True, "LOSS", 17.0, 2.5, "medium"),
        ]
    )
    acc = backtest.accuracy(rows).row(0, named=True)
    assert acc["player_dates"] == 2
    assert acc["mae"] == pytest.approx((1.0 + 4.0) / 2) and acc["line_mae"] == pytest.approx((0.5 + 1.5) / 2)
    edge = {r["edge_tier"]: r["bets"] for r in backtest.by_edge_tier(rows).iter_rows(named=True)}
    assert edge == {"1.5-2.5": 1, "2.5-4": 1}
    conf = backtest.by_confidence_tier(rows)
    assert dict(conf.select("tier", "bets").iter_rows()) == {"high": 1, "medium": 1}
    assert backtest.best_tier(conf, "catboost", min_bets=1)["tier"] == "high"
    assert backtest.best_tier(conf, "catboost", min_bets=2) is None


def _seed_run(catboost_err: float, wins: int, bets: int = 160) -> pl.DataFrame:
    """A backtest CSV's rows for one seed: ``bets`` player-dates over 10 dates, one book, line 20.5,
    20 points scored (the line is 0.5 off); catboost is ``catboost_err`` off and calls every
    player-date in its `high` tier (the first ``wins`` win at -110), baseline_blend 1.0 off,
    baseline_l10 1.5, catboost_line 0.25."""
    rows = []
    for k in range(bets):
        day, player = date(2025, 11, 1) + timedelta(days=k % 10), 1 + k // 10
        for system, err in (
            ("catboost", catboost_err),
            ("baseline_blend", 1.0),
            ("baseline_l10", 1.5),
            ("catboost_line", 0.25),
        ):
            call = system == "catboost"
            result = ("WIN" if k < wins else "LOSS") if call else "NO_BET"
            rows.append(
                {
                    "game_date": day,
                    "player_id": player,
                    "bookmaker": "fanduel",
                    "line": 20.5,
                    "system": system,
                    "is_main_line": True,
                    "predicted_points": 20.0 + err,
                    "actual_points": 20.0,
                    "tier": "high" if call else None,
                    "result": result,
                    "profit": {"WIN": 100 / 110, "LOSS": -1.0}.get(result, 0.0),
                }
            )
    return pl.DataFrame(rows)


def test_target_figures_are_the_reports_three_targets() -> None:
    t = backtest.target_figures(_seed_run(0.8, wins=100))
    assert t["baseline"] == "baseline_blend" and t["baseline_mae"] == pytest.approx(1.0)
    assert t["catboost_mae"] == pytest.approx(0.8) and t["gain"]["gain"] == pytest.approx(0.2)
    assert t["catboost_line_mae"] == pytest.approx(0.25) and t["line_mae"] == pytest.approx(0.5)
    assert (t["tiers"]["catboost"]["wins"], t["tiers"]["catboost"]["losses"]) == (100, 60)
    assert t["tiers"]["catboost_line"] is None  # it made no call
    # 149 bets: no tier holds the 150 the target asks for
    assert backtest.target_figures(_seed_run(0.8, wins=100, bets=149))["tiers"]["catboost"] is None


def test_compare_seeds_counts_the_runs_meeting_each_target() -> None:
    """scripts/compare_seeds.py: a target is met by a run, not by the best of them; the tier is also
    pooled over the runs."""
    script = script_module("compare_seeds")
    runs = {"seed17": _seed_run(0.8, wins=100), "seed18": _seed_run(0.9, wins=80)}
    table = script.per_run(runs)
    assert table["gain"].to_list() == pytest.approx([0.2, 0.1])
    assert table["hit_rate"].to_list() == pytest.approx([100 / 160, 80 / 160])
    lines = script.verdicts(table, runs)
    assert lines[0].startswith("catboost's MAE gain >= +0.150 over the better baseline: 1 of 2 runs")
    assert "(mean +0.150, range +0.100 .. +0.200)" in lines[0]
    assert lines[1] == "catboost_line's MAE at or below the line's: 2 of 2 runs"
    assert lines[2].endswith("and profitable: 1 of 2 runs")  # 50 % at -110 loses
    assert lines[3].startswith("pooled over the 2 runs: catboost `high` 180-140 (56.2%)")
    # each run below 150 bets: no pooled tier either (150 a run)
    small = {"a": _seed_run(0.8, wins=100, bets=140), "b": _seed_run(0.8, wins=100, bets=140)}
    assert script.verdicts(script.per_run(small), small)[3] == (
        "pooled over the 2 runs: no catboost tier holds 300 bets"
    )


def test_compare_seeds_refuses_runs_of_other_predictions(tmp_path: Path, capsys) -> None:
    script = script_module("compare_seeds")
    a, b = _seed_run(0.8, wins=100), _seed_run(0.8, wins=100)
    other_line = b.with_columns(
        pl.when(pl.col("player_id") == 1).then(21.5).otherwise(pl.col("line")).alias("line")
    )
    with pytest.raises(
        ValueError, match=r"seed18: not the same predictions as seed17 \(40 of its rows missing"
    ):
        script.check_same_predictions({"seed17": a, "seed18": other_line})
    script.check_same_predictions({"seed17": a, "seed18": b})  # the same keys: accepted
    # the command line: each CSV named by its folder; a missing one named before anything is read
    for name, frame in (("s17", a), ("s18", other_line)):
        (tmp_path / name).mkdir()
        frame.write_csv(tmp_path / name / "backtest.csv")
    with pytest.raises(SystemExit) as exc:
        script.main([str(tmp_path / "s17" / "backtest.csv"), str(tmp_path / "s18" / "backtest.csv")])
    assert exc.value.code == 2 and "s18: not the same predictions as s17" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        script.main([str(tmp_path / "s17" / "backtest.csv"), str(tmp_path / "nope.csv")])
    assert f"csv {tmp_path / 'nope.csv'} is not a file" in capsys.readouterr().err
    # the same run twice: refused, the figures would count one seed twice
    with pytest.raises(SystemExit):
        script.main([str(tmp_path / "s17" / "backtest.csv")] * 2)
    assert "the same CSV is named twice" in capsys.readouterr().err
    # two good runs: the table and the verdicts
    b.write_csv(tmp_path / "s18" / "backtest.csv")
    script.main([str(tmp_path / "s17" / "backtest.csv"), str(tmp_path / "s18" / "backtest.csv")])
    out = capsys.readouterr().out
    assert "catboost_line's MAE at or below the line's: 2 of 2 runs" in out and "s18" in out


def test_compare_seeds_reads_a_part_of_the_window(tmp_path: Path, capsys) -> None:
    """--start/--end: the figures of those game dates only (the README's after-opening-week reading)."""
    script = script_module("compare_seeds")
    run = _seed_run(0.8, wins=100)  # dates 2025-11-01 .. 11-10, 16 player-dates each
    assert script.within(run, date(2025, 11, 9), None)["game_date"].n_unique() == 2
    assert script.within(run, None, date(2025, 11, 2))["game_date"].n_unique() == 2
    assert script.within(run, date(2025, 11, 3), date(2025, 11, 3))["game_date"].unique().to_list() == [
        date(2025, 11, 3)
    ]
    for name in ("s17", "s18"):
        (tmp_path / name).mkdir()
        run.write_csv(tmp_path / name / "backtest.csv")
    paths = [str(tmp_path / n / "backtest.csv") for n in ("s17", "s18")]
    script.main([*paths, "--start", "2025-11-01", "--end", "2025-11-10"])
    assert "pooled over the 2 runs: catboost `high` 200-120" in capsys.readouterr().out
    # five dates: 80 bets a run, under the 150 the tier target counts
    script.main([*paths, "--start", "2025-11-06"])
    assert "no catboost tier holds 300 bets" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        script.main([*paths, "--start", "2025-12-01"])
    assert "no rows of the game dates asked for (--start 2025-12-01)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        script.main([*paths, "--start", "2025-11-05", "--end", "2025-11-04"])
    assert "--end 2025-11-04 is before --start 2025-11-05" in capsys.readouterr().err


def test_the_backtest_calibrates_real_lines_with_the_map_it_is_given(tmp_path: Path) -> None:
    """`nba-assets backtest --calibration platt`: every weekly model calibrated on real lines serves
    catboost's P(over) through the Platt map; the points and the other systems do not move, and the
    report's first line names the calibration (the shipped default's text is unchanged)."""
    start = date(2025, 2, 1)
    end = start + timedelta(days=6)
    world = _world(start, 7)
    world.features = world.features.with_columns(  # lines in the validation window: the real branch
        (pl.col("pts_avg_season").round(0) + 0.5).alias("consensus_line")
    )
    cfg = replace(FAST, calibration_min_lined_rows=100)
    runs = {
        m: backtest.run_backtest(world, start, end, 7, replace(cfg, real_line_calibration=m))
        for m in ("isotonic", "platt")
    }
    assert [r.calibration for r in runs.values()] == ["isotonic", "platt"]

    def column(method: str, system: str, name: str) -> list:
        return runs[method].rows.filter(pl.col("system") == system)[name].to_list()

    assert column("platt", "catboost", "predicted_points") == column(
        "isotonic", "catboost", "predicted_points"
    )
    assert column("platt", "catboost", "p_over") != column("isotonic", "catboost", "p_over")
    for system in ("catboost_line", "baseline_l10", "baseline_blend"):
        assert column("platt", system, "p_over") == column("isotonic", system, "p_over"), system
    texts = {
        m: backtest.write_report(r, start, end, tmp_path / m, "synthetic").read_text()
        for m, r in runs.items()
    }
    assert f"models (CatBoost seed {FAST.seed}), each trained only on games before" in texts["isotonic"]
    assert "Platt" not in texts["isotonic"]
    # a run of the old target says so (the shipped one's text is unchanged)
    old = backtest.write_report(
        replace(runs["isotonic"], target="points"), start, end, tmp_path / "points", "synthetic"
    ).read_text()
    assert f"models (CatBoost seed {FAST.seed}, trained on points), each trained only" in old
    assert (
        f"models (CatBoost seed {FAST.seed}, P(over) calibrated by Platt on real lines), each trained only"
        in texts["platt"]
    )
