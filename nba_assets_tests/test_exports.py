"""Exports: the day's picks (CSV, JSON), the self-contained HTML report and the plots; the
reports/daily_report asset; the system_performance plots; ``nba-assets report``.

Synthetic predictions (built with the pipeline's own decision rules) and grades (the pipeline's own
grading of synthetic box scores) for 2025-11-16 .. 2025-11-20: no archive, no model, no dbt run.
"""

import base64
import html
import io
import json
import math
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import polars as pl
import pytest

from nba_assets.defs.build import build_definitions
from nba_assets.defs.grading.assets import PUBLISHED, prediction_grades, system_performance
from nba_assets.defs.partitions import game_date_partitions
from nba_assets.defs.resources import build_resources
from nba_assets.lib import exports, grading, publications
from nba_assets.lib.cli import main
from nba_assets.lib.env import Settings
from nba_assets.lib.modeling.config import SYSTEMS
from nba_assets.lib.modeling.decisions import PREDICTION_SCHEMA, decide
from nba_assets.lib.reports import picks_table, record_by_system

D = date(2025, 11, 20)
DAYS = [D - timedelta(days=k) for k in range(4, -1, -1)]  # 11-16 .. 11-20
SCRIPT = '<script>alert("x")</script> & Sons'
TEAMS = ("BOS", "NYK", "LAL")
PNG = b"\x89PNG\r\n\x1a\n"


def synthetic_predictions(day: date, n_players: int = 14) -> pl.DataFrame:
    """Per player: two books, a main line and an alternate each, four systems; the last player is below
    the quality threshold (PASS, ``low_quality``, no prediction), as predict_lines leaves him."""
    rng = np.random.default_rng(day.toordinal())
    rows = []
    for i in range(n_players):
        low = i == n_players - 1
        main_line = 8.5 + 1.5 * i
        true = main_line + rng.normal(0, 4)
        mus = {s: None if low else true + rng.normal(0, 1.5) for s in SYSTEMS}
        for book, shift, over_price in (("draftkings", 0.0, -115), ("fanduel", 1.0, 105)):
            for line, is_main in ((main_line + shift, True), (main_line + shift + 4.0, False)):
                for system in SYSTEMS:
                    mu = mus[system]
                    p_over = None if mu is None else 0.5 * math.erfc((line - mu) / (5.0 * math.sqrt(2)))
                    rows.append(
                        {
                            "game_date": day,
                            "game_id": f"00225{day:%m%d}{i % 3}",
                            "player_id": 1000 + i,
                            "player_name": SCRIPT if i == 0 else f"Player {i:02d}",
                            "team_abbr": TEAMS[i % 3],
                            "bookmaker": book,
                            "line": line,
                            "over_price": over_price,
                            "under_price": -110 - (5 if over_price > 0 else 0),
                            "is_main_line": is_main,
                            "system": system,
                            "model_version": "pm-test",
                            "predicted_points": mu,
                            "p_over": p_over,
                            "quality": 50.0 if low else 90.0,
                        }
                    )
    frame = pl.DataFrame(rows, infer_schema_length=None)
    return decide(frame).select([pl.col(c).cast(t) for c, t in PREDICTION_SCHEMA.items()])


def synthetic_box_scores(preds: pl.DataFrame) -> pl.DataFrame:
    """Actual points around each player's catboost prediction; player 1001 did not play (VOIDs). The
    draws follow the players' order in ``preds``: a ``unique`` without ``maintain_order`` hands them
    out in hash order, which changes from one process to the next (another fixture every run)."""
    rng = np.random.default_rng(7)
    players = preds.filter(pl.col("system") == "catboost").unique(
        ["game_date", "player_id"], keep="first", maintain_order=True
    )
    return players.select(
        "game_date",
        "game_id",
        "player_id",
        pl.Series(
            "pts",
            np.maximum(
                0, np.round(players["predicted_points"].fill_null(10.0) + rng.normal(0, 5, players.height))
            ),
        ).cast(pl.Int64),
        pl.when(pl.col("player_id") == 1001).then(0.0).otherwise(30.0).alias("minutes"),
    )


@pytest.fixture(scope="module")
def preds_all() -> pl.DataFrame:
    return pl.concat([synthetic_predictions(d) for d in DAYS])


@pytest.fixture(scope="module")
def preds(preds_all) -> pl.DataFrame:
    return preds_all.filter(pl.col("game_date") == D)


@pytest.fixture(scope="module")
def grades(preds_all) -> pl.DataFrame:
    before = preds_all.filter(pl.col("game_date") < D)
    return grading.grade(before, synthetic_box_scores(before))


@pytest.fixture(scope="module")
def published(grades) -> pl.DataFrame:
    """``grading/published_grades`` rows of the graded days: their calls as first published, a third of
    them withdrawn later, every line closing a point toward its call."""
    toward = pl.when(pl.col("recommendation") == "OVER").then(1.0).otherwise(-1.0)
    return grades.filter(pl.col("actionable")).with_columns(
        published_utc=pl.lit(datetime(2025, 11, 1, 15, tzinfo=UTC)).cast(pl.Datetime("us", "UTC")),
        closing_line=pl.col("line") + toward,
        clv=pl.lit(1.0),
        withdrawn=pl.col("player_id") % 3 == 0,
    )


def write_warehouse(
    path: Path, preds: pl.DataFrame, grades: pl.DataFrame | None, published: pl.DataFrame | None = None
) -> None:
    """The tables the report reads, as the IO manager stores them (schema = layer, table = asset)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tables = [("predictions", "player_points_predictions", preds)]
    if grades is not None:
        tables.append(("grading", "prediction_grades", grades))
    if published is not None:
        tables.append(("grading", "published_grades", published))
    with duckdb.connect(str(path)) as con:
        for schema, table, frame in tables:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            con.register("_frame", frame.to_arrow())
            con.execute(f"CREATE OR REPLACE TABLE {schema}.{table} AS SELECT * FROM _frame")
            con.unregister("_frame")


# ---------------------------------------------------------------- pure functions


def test_csv_and_json_hold_every_line_with_its_call_or_skip_reason(preds) -> None:
    csv = pl.read_csv(
        io.BytesIO(exports.picks_csv(preds)), try_parse_dates=True, schema_overrides={"game_id": pl.Utf8}
    )
    assert csv.columns == exports.EXPORT_COLUMNS
    assert csv.height == preds.height
    key = ["player_id", "bookmaker", "line", "system"]
    assert csv.select(key).sort(key).equals(preds.select(key).sort(key))
    # data, not markup: the name is written as the source spelled it
    assert SCRIPT in csv["player_name"].to_list()
    low = csv.filter(pl.col("player_id") == 1013)
    assert set(low["skip_reason"]) == {"low_quality"} and set(low["recommendation"]) == {"PASS"}
    assert low["predicted_points"].null_count() == low.height
    # picks first within a system, main lines first, by confidence
    cb = csv.filter(pl.col("system") == "catboost")
    assert cb["actionable"][0] and cb["is_main_line"][0]
    n_picks = cb["actionable"].sum()
    assert cb["actionable"].head(n_picks).all() and not cb["actionable"].tail(cb.height - n_picks).any()
    assert set(csv["recommendation"]) <= {"OVER", "UNDER", "PASS", "NO_LINE"}

    doc = json.loads(exports.picks_json(preds, D))
    assert doc["game_date"] == "2025-11-20" and doc["columns"] == exports.EXPORT_COLUMNS
    assert len(doc["rows"]) == preds.height
    assert doc["rows"][0] == {
        k: (v.isoformat() if isinstance(v, date) else v) for k, v in csv.row(0, named=True).items()
    }
    expected_picks = preds.filter(
        pl.col("actionable") & pl.col("is_main_line") & pl.col("system").is_in(exports.REPORT_SYSTEMS)
    )
    assert len(doc["picks"]) == expected_picks.height > 0
    assert all(p["actionable"] and p["is_main_line"] for p in doc["picks"])
    cov = doc["coverage"]
    assert cov["players"] == 14 and cov["lines"] == 14 * 4 and cov["main_lines"] == 28 and cov["books"] == 2
    assert cov["skipped"]["low_quality"]["catboost"] == {"lines": 4, "players": 1}
    assert (
        cov["calls_by_system"]["catboost"]["lines"]
        == preds.filter((pl.col("system") == "catboost") & pl.col("actionable")).height
    )


def test_best_picks_one_row_per_player_with_the_books_that_agree(preds) -> None:
    best = exports.best_picks(preds, "catboost")
    picks = preds.filter((pl.col("system") == "catboost") & pl.col("actionable") & pl.col("is_main_line"))
    assert best.height == picks["player_id"].n_unique() == best["player_id"].n_unique()
    assert best["confidence"].is_sorted(descending=True)
    for r in best.iter_rows(named=True):
        same = picks.filter(
            (pl.col("player_id") == r["player_id"]) & (pl.col("recommendation") == r["recommendation"])
        )
        assert r["books"] == same["bookmaker"].n_unique()
        assert r["confidence"] == same["confidence"].max()
    md = exports.picks_markdown(preds)
    assert md.startswith("| system | player_name |") and "catboost" in md
    assert exports.picks_markdown(preds.clear()) == "_no actionable picks on main lines_"


def test_the_report_does_not_depend_on_the_order_the_warehouse_returns_rows_in(preds, grades) -> None:
    """BigQuery returns a table's rows in no set order. Two books offering a player's main line at the
    same price give the same confidence and price, and the pick named whichever book came first: the
    same stored predictions made reports naming other books (on the main job's data, 1-3 of the 36-41
    catboost picks of a date). A tie goes to the book first by name."""
    betmgm = preds.filter(pl.col("bookmaker") == "draftkings").with_columns(bookmaker=pl.lit("betmgm"))
    tied = pl.concat([preds, betmgm])
    first = exports.build_daily_report(tied, grades, D)
    for seed in range(6):
        shuffled = exports.build_daily_report(
            tied.sample(fraction=1.0, shuffle=True, seed=seed),
            grades.sample(fraction=1.0, shuffle=True, seed=seed),
            D,
        )
        assert shuffled == first
    best = exports.best_picks(tied.reverse(), "catboost")
    from_draftkings = exports.best_picks(preds, "catboost").filter(pl.col("bookmaker") == "draftkings")
    assert from_draftkings.height > 0
    named = best.filter(pl.col("player_id").is_in(from_draftkings["player_id"].implode()))
    assert named["bookmaker"].unique().to_list() == ["betmgm"]


def test_the_cli_picks_table_names_the_reports_picks_whatever_the_row_order(preds) -> None:
    """``nba-assets main`` prints picks_table. It chose each player's row by confidence alone, so with
    two books tied it printed whichever came first in the warehouse's (unset) order, and not always the
    book the HTML report and picks.json name. It prints the report's picks (best_picks), in their order."""
    betmgm = preds.filter(pl.col("bookmaker") == "draftkings").with_columns(bookmaker=pl.lit("betmgm"))
    tied = pl.concat([preds, betmgm])
    table = picks_table(tied, limit=100)
    for seed in range(6):
        assert picks_table(tied.sample(fraction=1.0, shuffle=True, seed=seed), limit=100) == table
    assert picks_table(tied.reverse(), limit=100) == table
    best = exports.best_picks(tied, "catboost")
    rows = table.splitlines()[1:]
    assert len(rows) == best.height > 0
    for row, pick in zip(rows, best.iter_rows(named=True), strict=True):
        assert row.split()[-2] == pick["recommendation"]
        assert row[28:43].strip() == pick["bookmaker"][:14]
    assert picks_table(tied, limit=3).count("\n") == 3
    assert picks_table(tied.clear()) == "  (no actionable picks)"


def test_html_escapes_data_and_needs_nothing_from_the_network(preds, grades) -> None:
    page = exports.render_html(preds, grades, D)
    assert "<script" not in page.lower()
    assert html.escape(SCRIPT) in page
    assert "http://" not in page and "https://" not in page
    assert "<link" not in page and "@import" not in page and "url(" not in page
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", page)
    assert len(refs) == 2, refs  # the two plots, nothing else
    for ref in refs:
        prefix = "data:image/png;base64,"
        assert ref.startswith(prefix) and base64.b64decode(ref[len(prefix) :]).startswith(PNG)
    for heading in (
        "Today's picks",
        "Last graded day",
        "Rolling performance",
        "Season to date",
        "Coverage",
    ):
        assert f"<h2>{heading}</h2>" in page
    # the last graded day's record, as record_by_system counts it
    rec = record_by_system(grades.filter(pl.col("game_date") == D - timedelta(days=1))).filter(
        pl.col("system") == "catboost"
    )
    wlp = f"{rec['wins'][0]}-{rec['losses'][0]}-{rec['pushes'][0]}"
    assert f"<td>{wlp}</td>" in page and "2025-11-19 (yesterday)" in page
    for window in ("7d", "30d", "season"):
        assert f'<td class="t">{window}</td>' in page


def test_rolling_performance_counts_main_line_bets_up_to_the_day_before(grades) -> None:
    perf = exports.rolling_performance(grades, D - timedelta(days=1))
    assert set(perf["window"]) == {"7d", "30d", "season"} and set(perf["system"]) == set(SYSTEMS)
    main = grades.filter(pl.col("is_main_line") & (pl.col("system") == "catboost"))
    season = perf.filter((pl.col("system") == "catboost") & (pl.col("window") == "season"))
    assert season["wins"][0] == main.filter(pl.col("result") == "WIN").height
    assert season["losses"][0] == main.filter(pl.col("result") == "LOSS").height


def test_plots_are_pngs_and_markdown_images(grades) -> None:
    for png in (exports.hit_rate_by_tier_png(grades), exports.calibration_png(grades, min_n=1)):
        assert png is not None and png.startswith(PNG)
    table = exports.calibration_table(grades, "catboost")
    eligible = grades.filter(
        (pl.col("system") == "catboost")
        & pl.col("is_main_line")
        & pl.col("played")
        & pl.col("p_over").is_not_null()
        & (pl.col("actual_points") != pl.col("line"))
    )
    assert int(table["n"].sum()) == eligible.height
    assert table["over_rate"].is_between(0, 1).all() and table["mean_p"].is_sorted()
    plots = exports.performance_plots(grades, D - timedelta(days=1))
    assert plots["hit_rate_by_tier"].startswith("![hit rate by tier](data:image/png;base64,")
    assert plots["calibration"].startswith("![calibration](data:image/png;base64,")
    empty = exports.performance_plots(pl.DataFrame(), D)
    assert empty == {"hit_rate_by_tier": "_no graded bets yet_", "calibration": "_no graded bets yet_"}


def test_tier_plot_is_left_out_when_every_bet_pushed(preds, grades) -> None:
    # the bars' y range read the smallest hit rate, which is null when every main-line bet of the season
    # pushed (no decided bet): the plot, the performance metadata and the daily report raised TypeError
    bets = pl.col("result").is_in(["WIN", "LOSS", "PUSH"])
    pushed = grades.with_columns(
        pl.when(bets).then(pl.lit("PUSH")).otherwise(pl.col("result")).alias("result"),
        pl.when(bets).then(0.0).otherwise(pl.col("profit")).alias("profit"),
    )
    record = exports.tier_record(pushed)
    assert record.height and record["pushes"].sum() > 0 and record["hit_rate"].null_count() == record.height
    assert exports.hit_rate_by_tier_png(pushed) is None
    assert (
        exports.performance_plots(pushed, D - timedelta(days=1))["hit_rate_by_tier"] == "_no graded bets yet_"
    )
    page = exports.build_daily_report(preds, pushed, D).html.decode()
    assert 'alt="Hit rate by confidence tier"' not in page and 'alt="Calibration of P(over)"' in page


def test_the_report_shows_the_calls_as_first_published(preds, grades, published) -> None:
    page = exports.render_html(preds, grades, D, published)
    section = page.split("<h2>As first published</h2>")[1].split("<h2>")[0]
    perf = publications.published_performance(published, D - timedelta(days=1))
    assert set(perf["window"]) == {"30d", "season"} and perf.filter(pl.col("withdrawn_bets") > 0).height
    for r in perf.iter_rows(named=True):
        row = (
            f'<td class="t">{r["system"]}</td><td class="t">{r["window"]}</td><td>{r["bets"]}</td>'
            f"<td>{r['record']}</td>"
        )
        assert row in section, row
        assert f"<td>{r['withdrawn_bets']}</td><td>{r['withdrawn_record']}</td>" in section
    # every OVER closed a point higher, every UNDER a point lower than it was called: CLV +1.00, all beat it
    assert section.count("<td>+1.00</td>") == perf.height and section.count("<td>100.0%</td>") == perf.height
    # a publication on D or later is not in D's report
    assert exports.render_html(preds, grades, D, published.with_columns(game_date=pl.lit(D))) == (
        exports.render_html(preds, grades, D)
    )


def test_a_season_without_calls_in_the_last_30_days_says_so(preds, grades, published) -> None:
    # the 30-day rows were left out without a word when the season's calls were all older
    page = exports.render_html(preds, grades, D, published)
    assert "No call published in the" not in page
    older = published.with_columns(pl.col("game_date") - timedelta(days=40))
    section = exports.render_html(preds, grades, D, older).split("<h2>As first published</h2>")[1]
    section = section.split("<h2>")[0]
    assert '<td class="t">season</td>' in section and '<td class="t">30d</td>' not in section
    assert "No call published in the 30d window." in section


def test_coverage_counts_no_game_for_lines_of_no_scheduled_game(preds) -> None:
    games = exports.coverage(preds)["games"]
    unscheduled = preds.head(3).with_columns(
        game_id=pl.lit(None, pl.Utf8), player_id=pl.lit(999_999, pl.Int64)
    )
    assert exports.coverage(pl.concat([preds, unscheduled]))["games"] == games


def test_report_without_grades_says_so(preds) -> None:
    report = exports.build_daily_report(preds, pl.DataFrame(), D)
    page = report.html.decode()
    assert "No graded game before this date." in page and "<img" not in page
    assert "No call published before tip-off this season" in page
    assert report.summary["last_graded_day"] is None and report.summary["graded_days"] == 0
    assert set(report.files()) == {"picks.csv", "picks.json", "report.html"}


# ---------------------------------------------------------------- the asset, the CLI


def _report_run(settings: Settings, instance: dg.DagsterInstance, **kw) -> dict:
    """report_job through the real code location; the report's materialization metadata."""
    result = (
        build_definitions(settings).resolve_job_def("report_job").execute_in_process(instance=instance, **kw)
    )
    assert result.success
    return result.asset_materializations_for_node("reports__daily_report")[0].metadata


def test_daily_report_asset_writes_the_files_to_the_object_store(
    tmp_path, preds_all, grades, published
) -> None:
    settings = Settings(data_dir=tmp_path)
    write_warehouse(settings.warehouse_path, preds_all, grades, published)
    with dg.instance_for_test() as instance:
        meta = _report_run(settings, instance, partition_key=D.isoformat())
        folder = settings.object_store_root / "reports" / D.isoformat()
        assert sorted(p.name for p in folder.iterdir()) == ["picks.csv", "picks.json", "report.html"]
        assert meta["html"].value == str(folder / "report.html")
        assert meta["reports_written"].value == 1 and meta["last_graded_day"].value == "2025-11-19"
        assert meta["lines"].value == 56 and meta["players"].value == 14
        assert meta["graded_days"].value == 4
        assert meta["picks"].value.startswith("| system | player_name |")
        expected = exports.build_daily_report(preds_all, grades, D, published)
        assert "No call published before tip-off" not in expected.html.decode()
        assert (folder / "picks.csv").read_bytes() == expected.csv
        assert (folder / "report.html").read_bytes() == expected.html

        # a range in one run; a date without predictions writes nothing and is named
        tags = {
            "dagster/asset_partition_range_start": "2025-11-19",
            "dagster/asset_partition_range_end": "2025-11-21",
        }
        meta = _report_run(settings, instance, tags=tags)
        assert meta["reports_written"].value == 2 and meta["dates_without_predictions"].value == [
            "2025-11-21"
        ]
        assert (settings.object_store_root / "reports" / "2025-11-19" / "report.html").exists()
        assert not (settings.object_store_root / "reports" / "2025-11-21").exists()


def test_a_report_whose_lines_were_all_pulled_is_replaced_not_left_standing(
    tmp_path, preds_all, grades, published
) -> None:
    """The morning report of D listed its picks; by the next line refresh the books had pulled every line
    of D (a postponed slate), so D has no predictions. The run wrote nothing for D and the morning's
    report.html, picks.csv and picks.json stayed in reports/<D>/, listing picks nobody could bet any more.
    They are replaced by a report that says D has no line, with no picks; a date that never had a report
    still gets none."""
    settings = Settings(data_dir=tmp_path)
    write_warehouse(settings.warehouse_path, preds_all, grades, published)
    folder = settings.object_store_root / "reports" / D.isoformat()
    with dg.instance_for_test() as instance:
        _report_run(settings, instance, partition_key=D.isoformat())
        assert "Player 02" in (folder / "report.html").read_text()
        write_warehouse(
            settings.warehouse_path, preds_all.filter(pl.col("game_date") != D), grades, published
        )
        meta = _report_run(settings, instance, partition_key=D.isoformat())
        _report_run(settings, instance, partition_key="2025-11-21")
    page = (folder / "report.html").read_text()
    assert "Player 02" not in page and "No line is offered for this date" in page
    assert "Every line got a call" not in page
    assert pl.read_csv(folder / "picks.csv").height == 0
    assert json.loads((folder / "picks.json").read_bytes())["picks"] == []
    assert meta["dates_without_predictions"].value == [D.isoformat()] and meta["lines"].value == 0
    assert not (settings.object_store_root / "reports" / "2025-11-21").exists()


def test_a_range_run_links_each_dates_own_report(tmp_path, preds_all, grades, published) -> None:
    """A UI backfill of the report is one run writing one materialization per date. Each carried the
    last written date's entries: 2025-11-18's linked reports/2025-11-20/report.html, its picks and counts
    (the partition view in the UI), and 2025-11-21, which has no report, linked one too."""
    settings = Settings(data_dir=tmp_path)
    write_warehouse(settings.warehouse_path, preds_all, grades, published)
    tags = {
        "dagster/asset_partition_range_start": "2025-11-18",
        "dagster/asset_partition_range_end": "2025-11-21",
    }
    with dg.instance_for_test() as instance:
        result = (
            build_definitions(settings)
            .resolve_job_def("report_job")
            .execute_in_process(instance=instance, tags=tags)
        )
        assert result.success
        by_date = {
            m.partition: m.metadata for m in result.asset_materializations_for_node("reports__daily_report")
        }
    assert sorted(by_date) == ["2025-11-18", "2025-11-19", "2025-11-20", "2025-11-21"]
    for day in ("2025-11-18", "2025-11-19", "2025-11-20"):
        meta = by_date[day]
        folder = settings.object_store_root / "reports" / day
        assert meta["report_date"].value == day
        assert meta["html"] == dg.MetadataValue.path(str(folder / "report.html"))
        assert meta["csv"] == dg.MetadataValue.path(str(folder / "picks.csv"))
        expected = exports.build_daily_report(preds_all, grades, date.fromisoformat(day), published)
        assert meta["last_graded_day"].value == (expected.summary["last_graded_day"] or "")
        assert meta["picks"].value == expected.picks_md
    # no predictions on 2025-11-21: no report, and no other date's files named
    assert "html" not in by_date["2025-11-21"] and "report_date" not in by_date["2025-11-21"]
    assert by_date["2025-11-21"]["dates_without_predictions"].value == ["2025-11-21"]


def test_system_performance_shows_tier_and_calibration_plots(tmp_path, preds_all, grades) -> None:
    settings = Settings(data_dir=tmp_path)
    write_warehouse(settings.warehouse_path, preds_all, grades)
    # the grades table stands in for its asset (loaded through the IO manager like in a run)
    grades_spec = dg.AssetSpec(
        prediction_grades.key, partitions_def=game_date_partitions, metadata={"partition_expr": "game_date"}
    )
    # never materialized here: read as empty (nothing published yet)
    published_spec = dg.AssetSpec(
        PUBLISHED, partitions_def=game_date_partitions, metadata={"partition_expr": "game_date"}
    )
    result = dg.materialize(
        [grades_spec, published_spec, system_performance],
        selection=[system_performance.key],
        partition_key="2025-11-19",
        resources=build_resources(settings),
    )
    meta = result.asset_materializations_for_node("grading__system_performance")[0].metadata
    assert meta["calibration"].value.startswith("![calibration](data:image/png;base64,")
    assert meta["hit_rate_by_tier"].value.startswith("![hit rate by tier](data:image/png;base64,")
    assert meta["published_by_system"].value == publications.NOTHING_PUBLISHED


def test_cli_report_writes_the_three_files_and_names_a_missing_date(
    tmp_path, monkeypatch, capsys, preds_all, grades, published
) -> None:
    monkeypatch.setenv("NBA_ASSETS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("NBA_ASSETS_ENV", raising=False)
    with pytest.raises(SystemExit, match="no warehouse at"):
        main(["report", "--date", D.isoformat()])
    write_warehouse(tmp_path / "warehouse.duckdb", preds_all, grades, published)

    assert main(["report", "--date", D.isoformat()]) == 0
    printed = capsys.readouterr().out.split()
    folder = tmp_path / "reports" / D.isoformat()
    assert printed == [str(folder / n) for n in ("picks.csv", "picks.json", "report.html")]
    expected = exports.build_daily_report(preds_all, grades, D, published)
    assert (folder / "picks.json").read_bytes() == expected.json
    assert (folder / "report.html").read_bytes() == expected.html

    out = tmp_path / "elsewhere"
    assert main(["report", "--date", D.isoformat(), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["picks.csv", "picks.json", "report.html"]

    with pytest.raises(SystemExit, match=r"no predictions for 2025-12-01 .*2025-11-16 \.\. 2025-11-20"):
        main(["report", "--date", "2025-12-01"])
    assert not (tmp_path / "reports" / "2025-12-01").exists()
    with pytest.raises(SystemExit, match="not a YYYY-MM-DD date"):
        main(["report", "--date", "11/20/2025"])
    # a date inside the stored schedule's dates with no game (a preseason game only): said so, not
    # "materialize the predictions first"; a date after them is still "no predictions"
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS raw")
        con.execute("CREATE TABLE raw.schedule (game_date DATE, game_id VARCHAR, status VARCHAR)")
        con.execute(
            "INSERT INTO raw.schedule VALUES ('2025-11-10', '0012500001', 'final'), "
            "('2025-11-20', '0022500300', 'final')"
        )
    with pytest.raises(SystemExit, match=r"lists no game on 2025-11-10: there are no predictions"):
        main(["report", "--date", "2025-11-10"])
    with pytest.raises(SystemExit, match=r"no predictions for 2025-12-01 "):
        main(["report", "--date", "2025-12-01"])


def test_cli_report_without_a_grades_table(tmp_path, monkeypatch, preds) -> None:
    monkeypatch.setenv("NBA_ASSETS_DATA_DIR", str(tmp_path))
    write_warehouse(tmp_path / "warehouse.duckdb", preds, None)
    assert main(["report", "--date", D.isoformat()]) == 0
    page = (tmp_path / "reports" / D.isoformat() / "report.html").read_text()
    assert "No graded game before this date." in page


def test_daily_report_asset_runs_before_anything_was_ever_graded(tmp_path, preds_all) -> None:
    """The first report of a deployment: the grades table does not exist yet. The report is written
    and says so instead of failing on the missing table."""
    settings = Settings(data_dir=tmp_path)
    write_warehouse(settings.warehouse_path, preds_all, None)
    with dg.instance_for_test() as instance:
        meta = _report_run(settings, instance, partition_key=D.isoformat())
        assert meta["reports_written"].value == 1 and meta["graded_days"].value == 0
        assert meta["last_graded_day"].value == ""
        html_text = (settings.object_store_root / "reports" / D.isoformat() / "report.html").read_text()
        assert "No graded game before this date." in html_text


def test_every_record_counts_bets_the_same_way(grades) -> None:
    """grading.performance, the report's record and tier tables and the backtest's tiers all use
    grading.bet_record: on the same main-line rows they agree (a VOID bet is never a bet)."""
    from nba_assets.lib import backtest

    main = grades.filter(pl.col("is_main_line"))
    assert main.filter(pl.col("result") == "VOID").height  # the fixture has voids to leave out
    hand = main.filter(pl.col("result").is_in(["WIN", "LOSS", "PUSH"])).group_by("system", "tier").len()
    tiers = exports.tier_record(grades).join(hand, on=["system", "tier"])
    assert tiers.height == hand.height and (tiers["bets"] == tiers["len"]).all()
    assert backtest.by_confidence_tier(grades).equals(exports.tier_record(grades))
    last = grades["game_date"].max()
    season = grading.performance(grades, last).filter(  # alternates too: counted only on main lines
        (pl.col("window") == "season") & (pl.col("tier") == "all")
    )
    rec = record_by_system(grades)
    joined = season.join(rec, on="system", suffix="_rec")
    assert joined.height == len(SYSTEMS)
    for col in ("bets", "wins", "losses", "pushes"):
        assert (joined[col] == joined[f"{col}_rec"]).all(), col
    assert (joined["roi"] - joined["roi_rec"]).abs().max() < 1e-12


def test_values_at_a_threshold_are_not_shown_rounded_onto_it(preds) -> None:
    """A P(over) of 0.6186 in the tier below 0.62 was printed "0.62 OVER (medium)", and an edge of 1.497
    PASSed edge_below_threshold was exported as 1.50: the values shown contradicted the calls. They keep
    enough digits now (the summary and the HTML three for P(over); the CSV/JSON three for edge)."""
    pick = preds.filter(
        pl.col("actionable") & pl.col("is_main_line") & (pl.col("system") == "catboost")
    ).head(1)
    near = pick.with_columns(
        p_over=pl.lit(0.6186), confidence=pl.lit(0.6186), tier=pl.lit("medium"), recommendation=pl.lit("OVER")
    )
    table = picks_table(near)
    assert "0.619  OVER (medium)" in table and "0.62 " not in table
    assert "0.619" in exports.render_html(near, pl.DataFrame(), D)
    passed = pick.with_columns(
        edge=pl.lit(1.497), actionable=pl.lit(False), skip_reason=pl.lit("edge_below_threshold")
    )
    assert exports.export_rows(passed)["edge"].to_list() == [1.497]
