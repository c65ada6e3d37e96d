"""The raw layer end to end through the real graph, on the embedded archive, into a tmp DuckDB."""

import shutil
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import duckdb
import polars as pl
import pytest

from nba_assets.defs.raw import assets as raw_defs
from nba_assets.defs.raw.assets import raw_assets
from nba_assets.defs.resources import ArchiveSourceResource, build_resources
from nba_assets.lib import raw
from nba_assets.lib.env import Settings
from nba_assets.lib.errors import SourceDataError
from nba_assets.lib.sources.archive import DEFAULT_ARCHIVE_DIR, ArchiveSource
from nba_assets.lib.sources.base import SourceBatch


def _q(db, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def slate(tmp_path_factory):
    """raw/* for 2025-11-05, materialized once for the module."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("nba"))
    settings.data_dir.mkdir(exist_ok=True)
    result = dg.materialize(raw_assets, resources=build_resources(settings), partition_key="2025-11-05")
    assert result.success
    return settings, result


def test_slate_2025_11_05_matches_the_archive(slate) -> None:
    settings, result = slate
    db = settings.warehouse_path
    assert _q(db, "select count(*) from raw.schedule") == [(11,)]
    games, players, points = _q(
        db,
        "select count(distinct game_id), count(*) filter (where played), sum(pts) filter (where played) from raw.box_scores",
    )[0]
    assert (games, players, points) == (11, 246, 2557)
    assert _q(db, "select count(distinct game_id) from raw.player_props where game_id is not null") == [(11,)]
    assert _q(
        db, "select count(*) from raw.player_props where line is null or line = 20.0 and over_price is null"
    ) == [(0,)]


def test_checks_pass_and_metadata_is_useful(slate) -> None:
    _, result = slate
    evals = {e.check_name: e for e in result.get_asset_check_evaluations()}
    for name in (
        "schedule_no_duplicate_games",
        "box_scores_complete_for_slate",
        "box_scores_points_match_team_scores",
        "box_scores_min_players_with_minutes",
        "player_props_cover_scheduled_games",
        "player_props_no_placeholder_lines",
    ):
        assert evals[name].passed, (name, evals[name].metadata)
    mats = {
        m.asset_key.to_user_string(): m.metadata
        for m in (e.materialization for e in result.get_asset_materialization_events())
    }
    box = mats["raw/box_scores"]
    assert box["players_with_minutes"].value == 246
    assert box["points_of_players_with_minutes"].value == 2557
    props = mats["raw/player_props"]
    assert props["games"].value == 11 and props["books"].value >= 5
    assert "unresolved_names" in props and "preview" in props
    assert "no injury reports" in mats["raw/injury_report"]["note_injury_report"].value
    # the archive has no injury reports: its dates with games are not judged, so no warning for every date
    presence = evals["injury_report_present_for_scheduled_games"]
    assert presence.passed and presence.metadata["dates_not_judged"].value == 1
    assert presence.metadata["dates_with_games"].value == 0


def test_the_previews_are_the_same_whatever_order_the_source_returns_rows_in(slate, tmp_path) -> None:
    """The archive's files with their rows reversed (a source answers in no set order): each raw
    asset's preview shows the same rows (it showed the batch's first ten as they came)."""
    _, result = slate
    archive = tmp_path / "archive"
    archive.mkdir()
    for name in ("games", "box_scores", "props_points"):
        pl.read_parquet(DEFAULT_ARCHIVE_DIR / f"{name}.parquet").reverse().write_parquet(
            archive / f"{name}.parquet"
        )
    shutil.copy(DEFAULT_ARCHIVE_DIR / "PROVENANCE.json", archive / "PROVENANCE.json")
    settings = Settings(data_dir=tmp_path / "data")
    settings.data_dir.mkdir()
    resources = {**build_resources(settings), "nba_source": ArchiveSourceResource(archive_dir=str(archive))}
    reversed_run = dg.materialize(raw_assets, resources=resources, partition_key="2025-11-05")
    assert reversed_run.success

    def previews(run: dg.ExecuteInProcessResult) -> dict[str, str]:
        return {
            m.asset_key.to_user_string(): m.metadata["preview"].value
            for m in (e.materialization for e in run.get_asset_materialization_events())
        }

    want = previews(result)
    assert want["raw/box_scores"].startswith("| game_date | team_abbr | player_name |")
    assert want["raw/box_scores"].count("\n| 2025-11-05 | ") == 10
    assert previews(reversed_run) == want


def test_rematerializing_is_idempotent(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path)
    res = build_resources(settings)
    counts = []
    for _ in range(2):
        assert dg.materialize(raw_assets, resources=res, partition_key="2025-11-04").success
        counts.append(
            _q(
                settings.warehouse_path,
                "select (select count(*) from raw.box_scores), (select count(*) from raw.player_props), (select count(*) from raw.schedule)",
            )
        )
    assert counts[0] == counts[1] and counts[0][0][0] > 0


def _raw_job_defs(settings: Settings) -> dg.Definitions:
    """The raw assets with one job over the raw group, on ``settings``' warehouse."""
    return dg.Definitions(
        assets=raw_assets,
        jobs=[dg.define_asset_job("raw_job", selection=dg.AssetSelection.groups("raw"))],
        resources=build_resources(settings),
    )


def test_range_backfill_is_one_run(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path)
    defs = _raw_job_defs(settings)
    job = defs.resolve_job_def("raw_job")
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": "2025-11-01",
                "dagster/asset_partition_range_end": "2025-11-07",
            },
        )
        assert result.success
        assert len(instance.get_run_records()) == 1
    rows = _q(
        settings.warehouse_path, "select game_date::varchar, count(*) from raw.schedule group by 1 order by 1"
    )
    assert [r[0] for r in rows] == [f"2025-11-0{d}" for d in range(1, 8)]
    full = ArchiveSource().schedule([date(2025, 11, d) for d in range(1, 8)], datetime.now(UTC)).frame
    assert sum(r[1] for r in rows) == full.height


def test_reversed_range_fails_naming_the_range_and_writes_nothing(tmp_path) -> None:
    # `dagster asset materialize --partition-range 2025-11-07...2025-11-01`: Dagster accepts each key and
    # runs the range with no partition; the run used to succeed (exit 0) having written nothing.
    settings = Settings(data_dir=tmp_path)
    defs = _raw_job_defs(settings)
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("raw_job").execute_in_process(
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": "2025-11-07",
                "dagster/asset_partition_range_end": "2025-11-01",
            },
            raise_on_error=False,
        )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = str(failure.event_specific_data.error.cause or failure.event_specific_data.error)
    assert "partition range 2025-11-07...2025-11-01 holds no game date" in message
    assert "dagster/asset_partition_range_start='2025-11-07'" in message
    assert not result.get_asset_materialization_events()


def test_pre_tipoff_run_sees_no_results(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path)
    cfg = dg.RunConfig(
        ops={
            k: {"config": {"as_of_utc": "2025-11-05T20:00:00"}}
            for k in ("raw__schedule", "raw__box_scores", "raw__player_props", "raw__injury_report")
        }
    )
    assert dg.materialize(
        raw_assets, resources=build_resources(settings), partition_key="2025-11-05", run_config=cfg
    ).success
    db = settings.warehouse_path
    assert _q(db, "select distinct status from raw.schedule") == [("scheduled",)]
    assert _q(db, "select count(*) from raw.schedule where home_pts is not null") == [(0,)]
    assert _q(db, "select count(*) from raw.box_scores") == [(0,)]
    assert _q(db, "select max(snapshot_utc) < min(tipoff_utc) from raw.player_props") == [(True,)]


class _BrokenArchive(ArchiveSource):
    def box_scores(self, schedule: pl.DataFrame, as_of: datetime) -> SourceBatch:
        batch = super().box_scores(schedule, as_of)
        return SourceBatch(
            batch.frame.with_columns(
                minutes=pl.when(pl.col("player_id") == pl.col("player_id").first())
                .then(-3.0)
                .otherwise(pl.col("minutes"))
            ),
            "archive",
        )


class _BrokenResource(ArchiveSourceResource):
    def get_source(self, store):
        return _BrokenArchive()


def test_bad_batch_fails_clearly_and_keeps_stored_rows(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path)
    res = build_resources(settings)
    assert dg.materialize(raw_assets, resources=res, partition_key="2025-11-05").success
    before = _q(settings.warehouse_path, "select count(*), sum(pts) from raw.box_scores")
    bad = {**res, "nba_source": _BrokenResource()}
    result = dg.materialize(raw_assets[:2], resources=bad, partition_key="2025-11-05", raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = str(failure.event_specific_data.error.cause or failure.event_specific_data.error)
    assert "archive: field 'minutes' has negative minutes" in message and "-3.0" in message
    assert _q(settings.warehouse_path, "select count(*), sum(pts) from raw.box_scores") == before


def test_quarantine_counts_rows_and_keeps_them(tmp_path) -> None:
    from nba_assets.lib.raw import validate_batch

    frame = (
        ArchiveSource()
        .box_scores(ArchiveSource().schedule([date(2025, 11, 5)], datetime.now(UTC)).frame, datetime.now(UTC))
        .frame
    )
    frame = frame.with_columns(fga=pl.when(pl.col("pts") > 20).then(0).otherwise(pl.col("fga")))
    v = validate_batch(frame, "box_scores", "archive")
    assert v.quarantined.height == frame.filter(pl.col("pts") > 20).height > 0
    assert v.quarantine_reasons == {"made more than attempted": v.quarantined.height}
    assert v.good.height + v.quarantined.height == frame.height
    with pytest.raises(SourceDataError, match="team_abbr"):
        validate_batch(frame.with_columns(team_abbr=pl.lit("XXX")), "box_scores", "archive")


class _NegativeReboundsArchive(ArchiveSource):
    """Players without a point get -1 rebounds: quarantined ("negative stat"), the team scores still sum
    (a quarantined row with points refuses the batch: ``test_raw_refusals``)."""

    def box_scores(self, schedule: pl.DataFrame, as_of: datetime) -> SourceBatch:
        batch = super().box_scores(schedule, as_of)
        frame = batch.frame.with_columns(reb=pl.when(pl.col("pts") == 0).then(-1).otherwise(pl.col("reb")))
        return SourceBatch(frame, "archive")


class _NegativeReboundsResource(ArchiveSourceResource):
    def get_source(self, store):
        return _NegativeReboundsArchive()


def test_the_quarantined_rows_are_linked_where_they_were_written(tmp_path) -> None:
    """The materialization named its quarantine file by its object-store key as text
    (``quarantine/box_scores/...parquet``): relative to a root the UI does not show, no link. It is the
    store's path now (``gs://`` in prod), as the report's files are."""
    settings = Settings(data_dir=tmp_path)
    res = {**build_resources(settings), "nba_source": _NegativeReboundsResource()}
    result = dg.materialize(raw_assets[:2], resources=res, partition_key="2025-11-05", raise_on_error=False)
    meta = next(
        m.metadata
        for m in (e.materialization for e in result.get_asset_materialization_events())
        if m.asset_key.to_user_string() == "raw/box_scores"
    )
    assert meta["quarantined_rows"].value > 0
    linked = meta["quarantine_object"]
    assert isinstance(linked, dg.PathMetadataValue), linked
    written = pl.read_parquet(linked.path)
    assert written.height == meta["quarantined_rows"].value
    assert set(written["quarantine_reason"]) == {"negative stat"}


# ---------------------------------------------------------------- a box score missing a team


def _one_game_2025_11_04(fixtures_dir) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The recorded boxscoretraditionalv3 of 0022500165 (MIL at TOR, 128-100), parsed and validated,
    and that game's schedule row from the archive."""
    import json

    from nba_assets.lib.parsers import nba_stats
    from nba_assets.lib.raw import validate_batch

    payload = json.loads((fixtures_dir / "stats_boxscoretraditionalv3_0022500165.json").read_bytes())
    box = validate_batch(
        nba_stats.parse_boxscore_traditional_v3(payload, date(2025, 11, 4)), "box_scores", "stats.nba.com"
    ).good
    schedule = ArchiveSource().schedule([date(2025, 11, 4)], datetime(2025, 11, 6, tzinfo=UTC)).frame
    return box, schedule.filter(pl.col("game_id") == "0022500165")


def test_box_score_checks_fail_naming_a_missing_team(fixtures_dir) -> None:
    """Before: with MIL's players gone every check passed (1 of 2 team-games compared)."""
    from nba_assets.lib import grading, raw

    box, schedule = _one_game_2025_11_04(fixtures_dir)
    assert (schedule["home_abbr"][0], schedule["away_abbr"][0]) == ("TOR", "MIL")
    as_of = datetime(2025, 11, 5, 12, tzinfo=UTC)
    for outcome in (
        raw.box_scores_complete(schedule, box, as_of),
        raw.team_points_match(schedule, box),
        raw.min_players_with_minutes(schedule, box),
        grading.readiness(schedule, box),
    ):
        assert outcome.passed, outcome.metadata

    half = box.filter(pl.col("team_abbr") == "TOR")
    complete = raw.box_scores_complete(schedule, half, as_of)
    assert not complete.passed and complete.severity == "ERROR"  # final for more than six hours
    assert complete.metadata["missing_teams"] == ["0022500165 MIL (away)"]
    assert complete.metadata["completeness"] == 0.0
    points = raw.team_points_match(schedule, half)
    assert not points.passed and points.metadata["team_games_compared"] == 2
    assert points.metadata["first_mismatches"] == ["0022500165 MIL: no players vs team 100"]
    short = raw.min_players_with_minutes(schedule, half)
    assert not short.passed and short.metadata["first_short"] == ["0022500165 MIL: 0 with minutes"]
    ready = grading.readiness(schedule, half)
    assert not ready.passed and ready.metadata["final_missing_a_team"] == ["0022500165 MIL (away)"]
    # the home side missing is named as such
    away_only = raw.box_scores_complete(schedule, box.filter(pl.col("team_abbr") == "MIL"), as_of)
    assert away_only.metadata["missing_teams"] == ["0022500165 TOR (home)"]


def test_a_box_score_batch_missing_a_team_is_rejected_naming_game_and_team(fixtures_dir) -> None:
    from nba_assets.lib.raw import validate_batch

    box, _ = _one_game_2025_11_04(fixtures_dir)
    with pytest.raises(SourceDataError) as err:
        validate_batch(box.filter(pl.col("team_abbr") == "TOR"), "box_scores", "stats.nba.com")
    assert (err.value.source, err.value.field, err.value.value) == (
        "stats.nba.com",
        "team_abbr",
        "0022500165 MIL",
    )
    assert "game 0022500165 without MIL" in str(err.value)


class _OneTeamArchive(ArchiveSource):
    """The archive's box scores with the away team of the date's first game gone."""

    def box_scores(self, schedule: pl.DataFrame, as_of: datetime) -> SourceBatch:
        batch = super().box_scores(schedule, as_of)
        first = schedule.sort("game_id").row(0, named=True)
        drop = (pl.col("game_id") == first["game_id"]) & (pl.col("team_abbr") == first["away_abbr"])
        return SourceBatch(batch.frame.filter(~drop), "archive")


class _OneTeamResource(ArchiveSourceResource):
    def get_source(self, store):
        return _OneTeamArchive()


def test_a_box_score_missing_a_team_never_replaces_stored_rows(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path)
    res = build_resources(settings)
    assert dg.materialize(raw_assets, resources=res, partition_key="2025-11-05").success
    before = _q(
        settings.warehouse_path, "select count(*), sum(pts), count(distinct team_abbr) from raw.box_scores"
    )
    bad = {**res, "nba_source": _OneTeamResource()}
    result = dg.materialize(raw_assets[:2], resources=bad, partition_key="2025-11-05", raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = str(failure.event_specific_data.error.cause or failure.event_specific_data.error)
    assert "archive: field 'team_abbr' has no player of a team of its game" in message
    assert (
        _q(
            settings.warehouse_path,
            "select count(*), sum(pts), count(distinct team_abbr) from raw.box_scores",
        )
        == before
    )


# ---------------------------------------------------------------- an empty-fetch marker through the raw asset


class _PulledArchive(ArchiveSource):
    """The archive's lines of the date plus an empty-fetch marker (as the live source writes one) for
    the first (event, book), one second after that book's latest snapshot of the event."""

    def player_props(self, dates: list[date], as_of: datetime, *, ledger: bool = True) -> SourceBatch:
        batch = super().player_props(dates, as_of, ledger=ledger)
        first = batch.frame.sort("event_id", "bookmaker").row(0, named=True)
        latest = batch.frame.filter(
            (pl.col("event_id") == first["event_id"]) & (pl.col("bookmaker") == first["bookmaker"])
        )["snapshot_utc"].max()
        marker = pl.DataFrame(
            [
                {
                    **first,
                    "snapshot_utc": latest + timedelta(seconds=1),
                    "player_name": None,
                    "player_id": None,
                    "team_abbr": None,
                    "match_method": "empty_fetch",
                    "line": None,
                    "over_price": None,
                    "under_price": None,
                    "is_main_line": None,
                }
            ],
            schema=batch.frame.schema,
        )
        return SourceBatch(pl.concat([batch.frame, marker]), batch.source, batch.payload_keys, batch.notes)


class _PulledResource(ArchiveSourceResource):
    def get_source(self, store):
        return _PulledArchive()


def test_an_empty_fetch_marker_is_stored_with_its_game_and_is_not_a_line(tmp_path) -> None:
    """The raw asset keeps a marker (no line, player or price) with its game id attached, not resolved,
    not quarantined; the props checks and counts are about lines."""
    settings = Settings(data_dir=tmp_path)
    res = {**build_resources(settings), "nba_source": _PulledResource()}
    result = dg.materialize(raw_assets, resources=res, partition_key="2025-11-05")
    assert result.success
    db = settings.warehouse_path
    rows = _q(
        db,
        "select game_id is not null, player_name, player_id, line, over_price from raw.player_props "
        "where match_method = 'empty_fetch'",
    )
    assert rows == [(True, None, None, None, None)]
    evals = {e.check_name: e for e in result.get_asset_check_evaluations()}
    for name in ("player_props_no_placeholder_lines", "player_props_cover_scheduled_games"):
        assert evals[name].passed, (name, evals[name].metadata)
    meta = next(
        m.metadata
        for m in (e.materialization for e in result.get_asset_materialization_events())
        if m.asset_key.to_user_string() == "raw/player_props"
    )
    assert meta["empty_fetch_markers"].value == 1
    assert meta["lines"].value == _q(db, "select count(*) from raw.player_props where line is not null")[0][0]
    assert "empty_fetch" not in meta["match_methods"].value


RANGE_3 = {
    "dagster/asset_partition_range_start": "2025-11-04",
    "dagster/asset_partition_range_end": "2025-11-06",
}


def test_a_range_run_gives_each_date_its_row_count_and_its_check_evaluations(tmp_path) -> None:
    # A UI backfill of 3 dates is one run (single-run policy). Each date's materialization carried the
    # run's total as its row count (18 games for 2025-11-06's one game), and the two stored-rows checks
    # were filed under no partition, so the UI showed every date of the range as skipped.
    settings = Settings(data_dir=tmp_path)
    with dg.instance_for_test() as instance:
        result = (
            _raw_job_defs(settings)
            .resolve_job_def("raw_job")
            .execute_in_process(instance=instance, tags=RANGE_3)
        )
        assert result.success
        stored = {
            table: dict(
                _q(
                    settings.warehouse_path,
                    f"select game_date::varchar, count(*) from raw.{table} group by 1",
                )
            )
            for table in ("schedule", "box_scores", "player_props")
        }
        assert stored["schedule"] == {"2025-11-04": 6, "2025-11-05": 11, "2025-11-06": 1}
        mats = [e.materialization for e in result.get_asset_materialization_events()]
        for table, per_date in stored.items():
            counts = {
                m.partition: m.metadata["dagster/row_count"].value
                for m in mats
                if m.asset_key == dg.AssetKey(["raw", table])
            }
            assert counts == per_date, table
        schedule_mat = next(m for m in mats if m.asset_key == dg.AssetKey(["raw", "schedule"]))
        columns = schedule_mat.metadata["dagster/column_schema"].value.columns
        assert "game_id" in [c.name for c in columns]
        evals = result.get_asset_check_evaluations()
        for name in ("schedule_no_duplicate_games", "player_props_no_placeholder_lines"):
            per_date = {e.partition: e for e in evals if e.check_name == name}
            assert set(per_date) == {"2025-11-04", "2025-11-05", "2025-11-06"}, name
            assert all(e.passed for e in per_date.values()), name
        games = {
            e.partition: e.metadata["games"].value
            for e in evals
            if e.check_name == "schedule_no_duplicate_games"
        }
        assert games == stored["schedule"]
        lines = {
            e.partition: e.metadata["lines"].value
            for e in evals
            if e.check_name == "player_props_no_placeholder_lines"
        }
        assert lines == stored["player_props"]
        # what the UI reads: each date of the check's partitions succeeded, none skipped
        check = dg.AssetCheckKey(dg.AssetKey(["raw", "schedule"]), "schedule_no_duplicate_games")
        records = instance.event_log_storage.get_asset_check_execution_history(check, limit=10)
        assert sorted(r.partition for r in records) == ["2025-11-04", "2025-11-05", "2025-11-06"]
        assert {r.status.value for r in records} == {"SUCCEEDED"}


def test_stored_checks_judge_a_date_on_its_own_rows() -> None:
    day = date(2025, 11, 5)
    schedule = pl.DataFrame(
        {
            "game_date": [day, day, day + timedelta(days=1), day + timedelta(days=1)],
            "game_id": ["0022500001", "0022500002", "0022500002", "0022500003"],
            "status": ["final", "final", "final", "final"],
        }
    )
    # game 0022500002 is listed as played on both dates: both dates fail, naming it; a third date passes
    days = [day, day + timedelta(days=1), day + timedelta(days=2)]
    out = raw.schedule_duplicates_by_date(schedule, days)
    assert [out[d.isoformat()].passed for d in days] == [False, False, True]
    assert out["2025-11-05"].metadata["duplicate_game_ids"] == ["0022500002"]
    assert out["2025-11-06"].metadata["games"] == 2


def test_a_range_longer_than_the_per_date_limit_records_one_result_naming_it(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(raw_defs, "PER_DATE_CHECK_LIMIT", 2)
    settings = Settings(data_dir=tmp_path)
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [raw_defs.schedule, raw_defs.schedule_no_duplicate_games],
            resources=build_resources(settings),
            instance=instance,
            tags=RANGE_3,
        )
    (evaluation,) = [
        e for e in result.get_asset_check_evaluations() if e.check_name == "schedule_no_duplicate_games"
    ]
    assert evaluation.passed and evaluation.partition is None
    assert evaluation.metadata["games"].value == 18
    assert "3 dates 2025-11-04 .. 2025-11-06" in evaluation.metadata["range"].value


def test_a_missing_box_score_is_a_warn_for_exactly_six_hours_after_every_incomplete_game_ended() -> None:
    """Box-score completeness lets the feed lag six hours after a game's end (tipoff + 3 h): at exactly
    six hours it is an ERROR (mutant W12, the grace including its end, survived), and one incomplete
    game older than that makes it an ERROR whatever the others (W13, WARN when any game is recent,
    survived)."""
    from nba_assets.lib import raw

    schedule = ArchiveSource().schedule([date(2025, 11, 4)], datetime(2025, 11, 6, tzinfo=UTC)).frame
    no_box = pl.DataFrame(schema={"game_id": pl.Utf8, "team_abbr": pl.Utf8})
    late = schedule.filter(pl.col("game_id") == "0022500169")  # GSW-PHX, tipoff 03:10 UTC, ended 06:10
    ended = datetime(2025, 11, 5, 6, 10, tzinfo=UTC)
    assert late["tipoff_utc"][0] + timedelta(hours=3) == ended
    lagging = raw.box_scores_complete(late, no_box, ended + raw.BOX_SCORE_GRACE - timedelta(seconds=1))
    assert not lagging.passed and lagging.severity == "WARN"
    assert raw.box_scores_complete(late, no_box, ended + raw.BOX_SCORE_GRACE).severity == "ERROR"
    # with an earlier game (0022500166, ended 04:10) also without its box score: that one is 6 h 50 min
    # late at 11:00, the other 4 h 50 min: the day is an ERROR
    both = schedule.filter(pl.col("game_id").is_in(["0022500166", "0022500169"]))
    outcome = raw.box_scores_complete(both, no_box, datetime(2025, 11, 5, 11, tzinfo=UTC))
    assert outcome.metadata["missing_game_ids"] == ["0022500166", "0022500169"]
    assert not outcome.passed and outcome.severity == "ERROR"


def test_the_box_score_and_lines_checks_pass_exactly_at_their_thresholds(fixtures_dir) -> None:
    """Each threshold passes at its value and fails one step past it: 5 players with minutes for a team
    (mutant W15, 5 counted short, survived the suite), lines for 80% of the games (W16, 80% short,
    survived), 2% of the book names unresolved (W17)."""
    from nba_assets.lib import raw

    box, schedule = _one_game_2025_11_04(fixtures_dir)
    tor = box.filter((pl.col("team_abbr") == "TOR") & pl.col("played"))["player_id"].head(5)
    five = box.filter((pl.col("team_abbr") != "TOR") | pl.col("player_id").is_in(tor.implode()))
    assert raw.MIN_PLAYERS_WITH_MINUTES == 5
    assert raw.min_players_with_minutes(schedule, five).passed
    four = five.filter(pl.col("player_id") != tor[0])
    short = raw.min_players_with_minutes(schedule, four)
    assert not short.passed and short.metadata["first_short"] == ["0022500165 TOR: 4 with minutes"]

    games = ArchiveSource().schedule([date(2025, 11, 4)], datetime(2025, 11, 6, tzinfo=UTC)).frame.head(5)
    ids = games.sort("game_id")["game_id"]
    lines = pl.DataFrame({"game_id": ids.head(4), "event_id": ["e1", "e2", "e3", "e4"]})
    assert raw.MIN_PROPS_COVERAGE == 0.8
    covered = raw.props_coverage(games, lines)
    assert covered.passed and covered.metadata["coverage"] == 0.8
    assert not raw.props_coverage(games, lines.head(3)).passed

    names = pl.DataFrame({"player_name": [f"p{i}" for i in range(50)], "player_id": [None, *range(1, 50)]})
    assert raw.MAX_UNRESOLVED_SHARE == 0.02
    assert raw.unresolved_share(names).passed  # 1 of 50
    two = names.with_columns(
        player_id=pl.when(pl.col("player_name") == "p1").then(None).otherwise("player_id")
    )
    assert not raw.unresolved_share(two).passed  # 2 of 50
    # a name with a resolved and an unresolved line (its second game's line could not be resolved) is
    # unresolved, in either row order (it used to be whichever row unique() kept)
    again = pl.DataFrame({"player_name": ["p1"], "player_id": [None]}, schema=names.schema)
    for frame in (pl.concat([names, again]), pl.concat([again, names])):
        outcome = raw.unresolved_share(frame)
        assert outcome.metadata["unresolved"] == 2 and outcome.metadata["names"] == 50
        assert outcome.metadata["unresolved_names"] == ["p0", "p1"]


def test_a_run_s_as_of_without_a_zone_is_utc() -> None:
    """A naive ``as_of_utc`` is UTC (mutant W21, kept naive, survived the suite: every check comparing
    it with a game's tipoff then failed with a TypeError on aware vs naive datetimes)."""
    assert raw.parse_as_of("2025-11-05T12:00:00") == datetime(2025, 11, 5, 12, tzinfo=UTC)
    assert raw.parse_as_of("2025-11-05T12:00:00").tzinfo is not None
    assert raw.parse_as_of("2025-11-05T07:00:00-05:00") == datetime(2025, 11, 5, 12, tzinfo=UTC)
    schedule = ArchiveSource().schedule([date(2025, 11, 4)], datetime(2025, 11, 6, tzinfo=UTC)).frame
    no_box = pl.DataFrame(schema={"game_id": pl.Utf8, "team_abbr": pl.Utf8})
    assert (
        raw.box_scores_complete(schedule, no_box, raw.parse_as_of("2025-11-05T08:00:00")).severity == "WARN"
    )
    with pytest.raises(SourceDataError) as err:
        raw.parse_as_of("yesterday")
    assert (err.value.source, err.value.field, err.value.value) == ("run config", "as_of_utc", "yesterday")


def test_the_stored_lines_carry_their_fingerprints_on_each_date_a_sensor_may_look_at(tmp_path) -> None:
    """The refresh sensor's first look of a day compares the lines then with those stored for the day:
    each stored raw/player_props partition not before the run's as-of date carries the fingerprints of
    its own stored rows (a range run's dates each theirs), as the sensor computes its probe's; an older
    date carries none (no sensor looks at it again)."""
    from nba_assets.lib import line_fingerprints as fp

    settings = Settings(data_dir=tmp_path)
    as_of = "2025-11-05T20:00:00+00:00"  # 15:00 ET: 2025-11-05's lines are posted
    with dg.instance_for_test() as instance:
        result = (
            _raw_job_defs(settings)
            .resolve_job_def("raw_job")
            .execute_in_process(
                instance=instance,
                tags=RANGE_3,
                run_config={
                    "ops": {
                        f"raw__{t}": {"config": {"as_of_utc": as_of}} for t in ("schedule", "player_props")
                    }
                },
            )
        )
        assert result.success
    mats = {
        e.materialization.partition: e.materialization.metadata
        for e in result.get_asset_materialization_events()
        if e.materialization.asset_key == dg.AssetKey(["raw", "player_props"])
    }
    assert fp.STORED_LINES_METADATA not in mats["2025-11-04"]
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")  # the run's tip-offs are UTC; the session's is the machine's
        for day in ("2025-11-05", "2025-11-06"):
            stored = con.sql("select * from raw.player_props where game_date = ?", params=[day]).pl()
            expected = fp.game_lines_doc(fp.line_fingerprints(stored))
            assert mats[day][fp.STORED_LINES_METADATA].value == expected, day
    assert len(mats["2025-11-05"][fp.STORED_LINES_METADATA].value) >= 8
