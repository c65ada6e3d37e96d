"""Bad batches are refused before the write (stored rows survive), real one-sided lines are kept, and the
blocking raw checks judge what the warehouse holds."""

from dataclasses import replace
from datetime import UTC, date, datetime

import dagster as dg
import duckdb
import polars as pl
import pytest

from nba_assets.defs.automation import sensors
from nba_assets.defs.automation.resources import LocalAlertsResource
from nba_assets.defs.raw.assets import (
    player_props_no_placeholder_lines,
    raw_assets,
    schedule_no_duplicate_games,
)
from nba_assets.defs.resources import ArchiveSourceResource, build_resources
from nba_assets.lib import raw
from nba_assets.lib.alerts import LocalAlertLog
from nba_assets.lib.env import Settings
from nba_assets.lib.errors import SourceDataError
from nba_assets.lib.sources.archive import ArchiveSource
from nba_assets.lib.sources.base import SourceBatch

DAY = date(2025, 11, 5)
AFTER = datetime(2025, 11, 7, tzinfo=UTC)
SCHEDULE, PROPS = raw_assets[0], raw_assets[3]


def _q(db, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def _props() -> pl.DataFrame:
    """The archive's lines of 2025-11-05 with game ids and player ids, as the asset validates them."""
    src = ArchiveSource()
    schedule = src.schedule([DAY], AFTER).frame
    frame = raw.attach_game_ids(src.player_props([DAY], AFTER).frame, schedule)
    return raw.resolve_prop_ids(frame, src, [DAY])


def _alternate(props: pl.DataFrame, line: float, under: int | None, over: int | None = -140) -> pl.DataFrame:
    """One more line for the first player's first book: an alternate at ``line`` with these prices."""
    first = props.filter(pl.col("is_main_line")).sort("player_name", "bookmaker").head(1)
    return pl.concat(
        [
            props,
            first.with_columns(
                line=pl.lit(line),
                over_price=pl.lit(over, pl.Int64),
                under_price=pl.lit(under, pl.Int64),
                is_main_line=pl.lit(False),
            ),
        ]
    )


def test_a_book_listing_a_game_s_teams_the_other_way_round_gets_its_game_id() -> None:
    """A neutral-site game (Paris, Mexico City, the Cup's Las Vegas rounds): the book can name as home the
    team the NBA lists away. Its lines used to keep no game id: the game read as without lines, and its
    events as unmatched."""
    src = ArchiveSource()
    schedule = src.schedule([DAY], AFTER).frame
    lines = src.player_props([DAY], AFTER).frame
    swapped = lines.with_columns(home_abbr=pl.col("away_abbr"), away_abbr=pl.col("home_abbr"))
    expected = raw.attach_game_ids(lines, schedule)["game_id"]
    assert expected.null_count() == 0 and expected.n_unique() > 1
    assert raw.attach_game_ids(swapped, schedule)["game_id"].equals(expected)
    # a pair of teams the schedule does not have that day stays unmatched
    stranger = lines.with_columns(home_abbr=pl.col("home_abbr"), away_abbr=pl.col("home_abbr"))
    assert raw.attach_game_ids(stranger, schedule)["game_id"].null_count() == lines.height


# ---------------------------------------------------------------- lines: rows vs batches


def test_an_over_only_alternate_at_20_is_kept_and_passes() -> None:
    """Before: one real over-only 20.0 alternate failed the blocking check and held back the whole day."""
    props = _alternate(_props(), 20.0, under=None)
    v = raw.validate_batch(props, "player_props", "the-odds-api")
    assert v.good.height == props.height and v.quarantined.is_empty()
    kept = v.good.filter((pl.col("line") == 20.0) & pl.col("under_price").is_null())
    assert kept.height == 1 and kept["over_price"][0] == -140
    outcome = raw.placeholder_lines(v.good)
    assert outcome.passed, outcome.metadata
    assert outcome.metadata["one_sided_lines"] >= 1
    assert outcome.metadata["one_sided_at_placeholder_values"] == 1


def test_a_line_without_prices_is_quarantined_not_the_day() -> None:
    props = _alternate(_props(), 23.5, under=None, over=None)
    v = raw.validate_batch(props, "player_props", "the-odds-api")
    assert v.quarantine_reasons == {"line without prices": 1}
    assert v.good.height == props.height - 1
    assert v.quarantined["line"].to_list() == [23.5]
    assert raw.placeholder_lines(v.good).passed
    # what the check still catches: such a row in the stored table (written before the rule)
    stored = raw.placeholder_lines(props)
    assert not stored.passed and stored.metadata["lines_without_prices"] == 1


@pytest.mark.parametrize("line", [0.0, -0.5, 100.0])
def test_a_line_of_zero_or_out_of_range_is_quarantined_not_the_day(line: float) -> None:
    """A priced line at 0 (the value feeds fill in for "no line") or outside (0, 100) is a row matter:
    quarantined with its reason, never stored to be predicted and graded, and the day's other lines
    are kept (the frame-level contract would otherwise refuse the whole batch)."""
    props = _alternate(_props(), line, under=-110)
    v = raw.validate_batch(props, "player_props", "the-odds-api")
    assert v.quarantine_reasons == {"line out of range": 1}
    assert v.quarantined["line"].to_list() == [line]
    assert v.good.height == props.height - 1 and v.good.filter(pl.col("line") == line).is_empty()


def test_a_date_without_a_single_price_is_refused() -> None:
    props = _props().with_columns(over_price=pl.lit(None, pl.Int64), under_price=pl.lit(None, pl.Int64))
    with pytest.raises(SourceDataError) as err:
        raw.validate_batch(props, "player_props", "the-odds-api")
    assert (err.value.source, err.value.field, err.value.value) == (
        "the-odds-api",
        "over_price/under_price",
        "2025-11-05",
    )
    assert f"first 2025-11-05 ({props.height} lines)" in str(err.value)
    assert raw.placeholder_lines(props).metadata["dates_without_prices"] == ["2025-11-05"]


def test_a_fetch_of_empty_fetch_markers_only_is_neither_refused_nor_quarantined() -> None:
    """Every book pulled every line of every game (a fetch answered with markers only): markers carry no
    price by contract, so they are no evidence of filled-in lines and no "line without prices"."""
    from nba_assets.lib import schemas

    markers = (
        _props()
        .unique(subset=["game_id", "bookmaker"])
        .with_columns(
            match_method=pl.lit(schemas.EMPTY_FETCH),
            player_name=pl.lit(None, pl.Utf8),
            player_id=pl.lit(None, pl.Int64),
            team_abbr=pl.lit(None, pl.Utf8),
            line=pl.lit(None, pl.Float64),
            over_price=pl.lit(None, pl.Int64),
            under_price=pl.lit(None, pl.Int64),
            is_main_line=pl.lit(None, pl.Boolean),
        )
    )
    assert markers.height > 1
    validated = raw.validate_batch(markers, "player_props", "the-odds-api")
    assert validated.good.height == markers.height and validated.quarantined.is_empty()
    assert raw.placeholder_lines(validated.good).passed


def test_one_value_for_a_quarter_of_the_players_is_refused() -> None:
    props = _props()
    players = props["player_name"].unique().sort()
    filled = players.head(players.len() // 4 + 1)
    bad = props.with_columns(
        line=pl.when(pl.col("is_main_line") & pl.col("player_name").is_in(filled.implode()))
        .then(20.0)
        .otherwise(pl.col("line"))
    )
    with pytest.raises(SourceDataError) as err:
        raw.validate_batch(bad, "player_props", "the-odds-api")
    assert (err.value.field, err.value.value) == ("line", 20.0)
    assert f"main line of {filled.len()} of {players.len()} players on 2025-11-05" in str(err.value)
    assert not raw.placeholder_lines(bad).passed


# ---------------------------------------------------------------- schedule


def test_a_schedule_listing_a_game_twice_is_refused_naming_it() -> None:
    """Before: validated and stored; only the blocking check, after the write, failed."""
    schedule = ArchiveSource().schedule([DAY], AFTER).frame
    twice = pl.concat([schedule, schedule.sort("game_id").head(1)])
    first = schedule.sort("game_id")["game_id"][0]
    with pytest.raises(SourceDataError) as err:
        raw.validate_batch(twice, "schedule", "stats.nba.com")
    assert (err.value.source, err.value.field, err.value.value) == ("stats.nba.com", "game_id", first)
    assert f"first {first}: 2025-11-05 final, 2025-11-05 final" in str(err.value)
    # a postponed game played on a later date is one game, not refused
    replay = schedule.sort("game_id").head(1).with_columns(game_date=pl.lit(date(2025, 11, 6)))
    postponed = schedule.with_columns(
        status=pl.when(pl.col("game_id") == first).then(pl.lit("postponed")).otherwise("status"),
        home_pts=pl.when(pl.col("game_id") == first).then(None).otherwise("home_pts"),
        away_pts=pl.when(pl.col("game_id") == first).then(None).otherwise("away_pts"),
    )
    v = raw.validate_batch(pl.concat([postponed, replay]), "schedule", "stats.nba.com")
    assert v.good.height == schedule.height + 1


@pytest.mark.parametrize("side", ["home_pts", "away_pts"])
def test_a_final_game_without_its_score_refuses_the_schedule_batch(side: str) -> None:
    """Before: the row was quarantined (home score only), so the stored schedule of the date lost the
    game: grading readiness no longer waited for it and its lined players were graded VOID. Refused,
    the stored schedule keeps the game as it was (scheduled or live) and the day waits."""
    schedule = ArchiveSource().schedule([DAY], AFTER).frame
    first = schedule.sort("game_id")["game_id"][0]
    glitch = schedule.with_columns(pl.when(pl.col("game_id") == first).then(None).otherwise(side).alias(side))
    with pytest.raises(SourceDataError) as err:
        raw.validate_batch(glitch, "schedule", "stats.nba.com")
    assert (err.value.source, err.value.field, err.value.value) == ("stats.nba.com", "game_id", first)
    assert "final game without its score" in str(err.value)


# ---------------------------------------------------------------- end to end on a DuckDB warehouse


class _Bad(ArchiveSource):
    """The archive, with the schedule or the lines of a date spoiled the way ``mode`` says."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def schedule(self, dates: list[date], as_of: datetime) -> SourceBatch:
        batch = super().schedule(dates, as_of)
        if self.mode != "duplicate_game":
            return batch
        return replace(batch, frame=pl.concat([batch.frame, batch.frame.sort("game_id").head(1)]))

    def box_scores(self, schedule: pl.DataFrame, as_of: datetime) -> SourceBatch:
        """The first scorer of the first game (by id) credited 2 more points on a made shot (every row
        valid), or 7 more points than his makes give (his row quarantined), or every row of that game
        spoiled that way (the game's rows all quarantined)."""
        batch = super().box_scores(schedule, as_of)
        frame = batch.frame.sort("game_id", "team_abbr", "player_id")
        first = frame.filter(pl.col("pts") > 0).row(0, named=True)
        him = (pl.col("game_id") == first["game_id"]) & (pl.col("player_id") == first["player_id"])
        plus = {
            "box_made_shot_added": (him, {"pts": 2, "fgm": 1, "fga": 1}),
            "box_points_off_makes": (him, {"pts": 7}),
            "box_game_all_quarantined": (pl.col("game_id") == first["game_id"], {"pts": 1}),
        }
        if self.mode not in plus:
            return batch
        rows, add = plus[self.mode]
        return replace(
            batch,
            frame=frame.with_columns(
                pl.when(rows).then(pl.col(c) + n).otherwise(pl.col(c)).alias(c) for c, n in add.items()
            ),
        )

    def player_props(self, dates: list[date], as_of: datetime, *, ledger: bool = True) -> SourceBatch:
        batch = super().player_props(dates, as_of, ledger=ledger)
        frame = batch.frame
        if self.mode == "unpriced_lines":
            frame = frame.with_columns(over_price=pl.lit(None, pl.Int64), under_price=pl.lit(None, pl.Int64))
        elif self.mode == "over_only_20":
            frame = _alternate(frame, 20.0, under=None)
        return replace(batch, frame=frame)


class _BadResource(ArchiveSourceResource):
    mode: str

    def get_source(self, store):
        return _Bad(self.mode)


def _failure_message(result: dg.ExecuteInProcessResult) -> str:
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    return str(failure.event_specific_data.error.cause or failure.event_specific_data.error)


@pytest.fixture
def stored(tmp_path):
    """2025-11-05's raw layer materialized from the archive into a fresh warehouse."""
    settings = Settings(data_dir=tmp_path / "nba")
    settings.data_dir.mkdir()
    res = build_resources(settings)
    assert dg.materialize(raw_assets, resources=res, partition_key=DAY.isoformat()).success
    return settings, res


SNAPSHOT = {
    "schedule": "select count(*), count(distinct game_id), sum(home_pts) from raw.schedule",
    "player_props": "select count(*), count(over_price), count(under_price), sum(line) from raw.player_props",
}


@pytest.mark.parametrize(
    ("mode", "assets", "step", "says"),
    [
        (
            "duplicate_game",
            [SCHEDULE, schedule_no_duplicate_games, raw_assets[1]],
            "raw__schedule",
            "archive: field 'game_id' lists 1 game(s) more than once",
        ),
        (
            "unpriced_lines",
            [SCHEDULE, PROPS, player_props_no_placeholder_lines],
            "raw__player_props",
            "archive: field 'over_price/under_price' is missing on every line of 1 date(s)",
        ),
    ],
)
def test_a_bad_batch_fails_the_run_alerts_and_keeps_the_stored_rows(
    stored, tmp_path, mode, assets, step, says
) -> None:
    """Before: the batch replaced the partition, then the blocking check failed (the good rows were gone)."""
    settings, res = stored
    db = settings.warehouse_path
    before = {t: _q(db, sql) for t, sql in SNAPSHOT.items()}
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            assets,
            resources={**res, "nba_source": _BadResource(mode=mode)},
            partition_key=DAY.isoformat(),
            instance=instance,
            raise_on_error=False,
        )
        assert not result.success
        assert says in _failure_message(result)
        failed = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        assert failed == [step]
        # nothing downstream of the refused asset ran, its blocking check included
        assert result.get_asset_check_evaluations() == [] or all(
            e.check_name not in ("schedule_no_duplicate_games", "player_props_no_placeholder_lines")
            for e in result.get_asset_check_evaluations()
        )
        # the run failure reaches the alert sink through the alerts sensor
        alerts = LocalAlertsResource(path=str(tmp_path / "alerts.log"))
        with dg.build_sensor_context(instance=instance, resources={"alerts": alerts}) as ctx:
            sensors.alerts_sensor.evaluate_tick(ctx)
        (alert,) = LocalAlertLog(tmp_path / "alerts.log").read()
        assert alert["kind"] == "run_failure" and alert["partition"] == DAY.isoformat()
        assert f"{step} (SourceDataError)" in alert["text"]
    assert {t: _q(db, sql) for t, sql in SNAPSHOT.items()} == before


@pytest.mark.parametrize(
    ("mode", "says"),
    [
        (
            "box_made_shot_added",
            "0022500171 (2025-11-05) CLE: players 134 vs team 132 (quarantined rows: none)",
        ),
        (
            "box_points_off_makes",
            "0022500171 (2025-11-05) CLE: players 125 vs team 132 "
            "(quarantined rows: {'points inconsistent with makes': 1})",
        ),
        (
            "box_game_all_quarantined",
            "in 2 team-game(s) on 2025-11-05, first game 0022500171 (2025-11-05) CLE: no row kept vs team 132 "
            "(quarantined rows: "
            "{'points inconsistent with makes': 26})",
        ),
    ],
)
def test_a_box_score_batch_off_the_final_scores_is_refused_and_the_stored_rows_stay(
    stored, mode, says
) -> None:
    """Before: the batch replaced the date's stored box scores (a player's wrong points, a player's row
    or a whole game's rows quarantined away), then the blocking points check failed on what was left."""
    settings, res = stored
    query = "select count(*), sum(pts), count(distinct game_id), sum(fgm) from raw.box_scores"
    before = _q(settings.warehouse_path, query)
    result = dg.materialize(
        raw_assets,
        selection=dg.AssetSelection.assets(raw_assets[1]),
        resources={**res, "nba_source": _BadResource(mode=mode)},
        partition_key=DAY.isoformat(),
        raise_on_error=False,
    )
    assert not result.success
    message = _failure_message(result)
    assert "archive: field 'pts' does not sum to the final score" in message and says in message
    assert "the batch is refused" in message
    assert result.get_asset_materialization_events() == []
    assert _q(settings.warehouse_path, query) == before


def test_an_over_only_alternate_is_stored_and_the_run_succeeds(stored) -> None:
    settings, res = stored
    db = settings.warehouse_path
    (lines,) = _q(db, "select count(*) from raw.player_props")[0]
    result = dg.materialize(
        [SCHEDULE, PROPS, player_props_no_placeholder_lines],
        resources={**res, "nba_source": _BadResource(mode="over_only_20")},
        partition_key=DAY.isoformat(),
    )
    assert result.success
    (check,) = [
        e for e in result.get_asset_check_evaluations() if e.check_name == "player_props_no_placeholder_lines"
    ]
    assert check.passed and check.metadata["one_sided_at_placeholder_values"].value == 1
    assert _q(db, "select count(*) from raw.player_props") == [(lines + 1,)]
    assert _q(db, "select count(*) from raw.player_props where line = 20.0 and under_price is null") == [(1,)]


@pytest.mark.parametrize(
    ("check", "table", "spoil"),
    [
        (
            schedule_no_duplicate_games,
            "schedule",
            "insert into raw.schedule select * from raw.schedule order by game_id limit 1",
        ),
        (
            player_props_no_placeholder_lines,
            "player_props",
            "update raw.player_props set over_price = null, under_price = null "
            "where rowid = (select min(rowid) from raw.player_props)",
        ),
    ],
)
def test_the_blocking_checks_fail_on_what_is_stored(stored, check, table, spoil) -> None:
    """Rows stored around the refusals (an older version, a manual write) fail the check run on its own."""
    settings, res = stored
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute(spoil)
    result = dg.materialize(
        raw_assets,
        selection=dg.AssetSelection.checks(check),
        resources=res,
        # a check-only run names its date by tag (partition_key wants a selected asset)
        tags={"dagster/partition": DAY.isoformat()},
        raise_on_error=False,
    )
    assert [e.step_key for e in result.all_events if e.event_type_value == "STEP_START"] == [
        f"raw__{table}_{check.check_key.name}"
    ]
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert not result.success  # blocking: an ERROR fails the step
    assert _q(settings.warehouse_path, f"select count(*) from raw.{table}")[0][0] > 0


def test_a_range_run_of_a_stored_check_fails_only_the_spoiled_date_and_the_step(tmp_path) -> None:
    # A range run used to record one result for all its dates: in the UI, a backfill of two dates with
    # one spoiled showed both dates skipped. Each date is judged apart now, and the step still fails.
    settings = Settings(data_dir=tmp_path / "nba")
    settings.data_dir.mkdir()
    res = build_resources(settings)
    span = {
        "dagster/asset_partition_range_start": "2025-11-04",
        "dagster/asset_partition_range_end": "2025-11-05",
    }
    assert dg.materialize([SCHEDULE], resources=res, tags=span).success
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute(
            "insert into raw.schedule select * from raw.schedule where game_date = '2025-11-05' order by game_id limit 1"
        )
    result = dg.materialize(
        raw_assets,
        selection=dg.AssetSelection.checks(schedule_no_duplicate_games),
        resources=res,
        tags=span,
        raise_on_error=False,
    )
    by_date = {e.partition: e for e in result.get_asset_check_evaluations()}
    assert {d: e.passed for d, e in by_date.items()} == {"2025-11-04": True, "2025-11-05": False}
    assert len(by_date["2025-11-05"].metadata["duplicate_game_ids"].value) == 1
    assert not result.success  # blocking: the spoiled date's ERROR fails the step


def test_a_game_listed_postponed_and_played_on_one_date_is_refused() -> None:
    """A game is listed once a date: a feed listing it postponed and final on the same date is a
    duplicate (mutant W04, duplicates counted on a date only from 3 rows, survived the suite: the
    postponed row is not counted as played, so only the per-date rule refuses it)."""
    schedule = ArchiveSource().schedule([DAY], AFTER).frame
    first = schedule.sort("game_id")["game_id"][0]
    postponed = schedule.filter(pl.col("game_id") == first).with_columns(
        status=pl.lit("postponed"), home_pts=pl.lit(None, pl.Int64), away_pts=pl.lit(None, pl.Int64)
    )
    both = pl.concat([schedule, postponed])
    assert raw.duplicate_game_ids(both).to_list() == [first]
    with pytest.raises(SourceDataError) as err:
        raw.validate_batch(both, "schedule", "stats.nba.com")
    assert (err.value.field, err.value.value) == ("game_id", first)
    assert not raw.schedule_duplicates(both).passed


def _players(props: pl.DataFrame, n: int) -> pl.DataFrame:
    """All lines of the first ``n`` players (by name) of the day."""
    names = props["player_name"].unique().sort().head(n)
    return props.filter(pl.col("player_name").is_in(names.implode()))


def _filled(props: pl.DataFrame, k: int, value: float = 77.5) -> pl.DataFrame:
    """``props`` with the main lines of its first ``k`` players (by name) set to ``value``."""
    names = props["player_name"].unique().sort().head(k)
    return props.with_columns(
        line=pl.when(pl.col("is_main_line") & pl.col("player_name").is_in(names.implode()))
        .then(value)
        .otherwise(pl.col("line"))
    )


def test_one_main_line_value_is_refused_above_a_quarter_of_a_date_s_20_players_and_not_at_it() -> None:
    """The repeated-value rule at its edges: a date of exactly 20 players is judged (mutant W07, the rule
    only from 21 players, survived), 5 of 20 players (a quarter, not more) is kept (W08, refused from a
    quarter on, survived), 6 of 20 is refused; below 20 players the rule does not judge the date."""
    twenty = _players(_props(), 20)
    assert twenty["player_name"].n_unique() == 20
    assert raw.repeated_line_values(twenty).is_empty()  # no real value repeated for 6 of these players
    five = _filled(twenty, 5)
    assert raw.validate_batch(five, "player_props", "the-odds-api").good.height == five.height
    assert raw.placeholder_lines(five).passed
    six = _filled(twenty, 6)
    with pytest.raises(SourceDataError) as err:
        raw.validate_batch(six, "player_props", "the-odds-api")
    assert (err.value.field, err.value.value) == ("line", 77.5)
    assert "main line of 6 of 20 players on 2025-11-05" in str(err.value)
    assert not raw.placeholder_lines(six).passed
    # 19 players: too few to tell a default from a coincidence, even all at one value
    nineteen = _filled(_players(_props(), 19), 19)
    assert raw.validate_batch(nineteen, "player_props", "the-odds-api").good.height == nineteen.height
