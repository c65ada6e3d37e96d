"""The raw layer: what the sources said about each game date, validated, as DuckDB/BigQuery tables."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import dagster as dg
import polars as pl

from nba_assets.defs.check_results import check_result, partitioned_check_results
from nba_assets.defs.partitions import (
    add_partition_metadata,
    dates_of,
    game_date_partitions,
    record_partition_row_counts,
)
from nba_assets.defs.resources import NbaSourceResource, ObjectStoreResource
from nba_assets.lib import line_fingerprints, raw, schemas
from nba_assets.lib.errors import SourceUnavailableError, StoreUnavailableError
from nba_assets.lib.metadata import markdown_table
from nba_assets.lib.sources.base import SourceBatch
from nba_assets.lib.storage.object_store import ObjectStore

IDENTITY_LOOKBACK = timedelta(days=400)


class RawConfig(dg.Config):
    # Ask the sources as of this moment (ISO-8601, UTC); empty means now.
    as_of_utc: str = ""


@contextmanager
def _retry_when_unavailable(nba_source: NbaSourceResource) -> Iterator[None]:
    """Turn an outage (a transient :class:`SourceUnavailableError`, or the object store that archives
    the payloads still failing after its client's retries) into a Dagster step retry: the run stays
    alive, and the run-failure alert fires only when the last attempt fails."""
    try:
        yield
    except (SourceUnavailableError, StoreUnavailableError) as exc:
        if not exc.transient or nba_source.step_retries < 1:
            raise
        raise dg.RetryRequested(
            max_retries=nba_source.step_retries, seconds_to_wait=nba_source.step_retry_wait_seconds
        ) from exc


def _raw_asset(
    name: str, description: str, checks: list[dg.AssetCheckSpec], ins: dict[str, dg.AssetIn] | None = None
) -> Any:
    return dg.asset(
        key=["raw", name],
        group_name="raw",
        description=description,
        partitions_def=game_date_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool="duckdb",
        kinds={"polars", "duckdb"},
        metadata={"partition_expr": "game_date"},
        check_specs=checks,
        ins=ins or {},
    )


def _check(asset: str, name: str, description: str, blocking: bool = False) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        name=name, asset=dg.AssetKey(["raw", asset]), description=description, blocking=blocking
    )


def _result(asset: str, name: str, outcome: raw.CheckOutcome) -> dg.AssetCheckResult:
    return check_result(dg.AssetKey(["raw", asset]), name, outcome)


def _quarantine(
    store: ObjectStore, table: str, dates: list[date], run_id: str, validated: raw.Validated
) -> str | None:
    if validated.quarantined.is_empty():
        return None
    key = f"quarantine/{table}/{min(dates)}_{max(dates)}/{run_id}.parquet"
    import io

    buf = io.BytesIO()
    validated.quarantined.write_parquet(buf)
    return store.put_bytes(key, buf.getvalue())  # where it is: a file, or gs://<bucket>/<prefix>/<key>


def preview(df: pl.DataFrame, columns: list[str], limit: int = 10) -> str:
    """The first ``limit`` rows of ``columns``, sorted on them: the same table whatever order the source
    returned the rows in (it was the batch's first rows as they came, another preview each time)."""
    view = df.select(columns)
    return markdown_table(view.sort(columns, nulls_last=True), limit)


def _output(
    context: dg.AssetExecutionContext,
    table: str,
    batch: SourceBatch,
    validated: raw.Validated,
    store: ObjectStore,
    dates: list[date],
    extra: dict[str, Any],
    preview_cols: list[str],
) -> dg.Output:
    quarantined = _quarantine(store, table, dates, context.run.run_id, validated)
    df = validated.good
    meta: dict[str, Any] = {
        "dagster/row_count": df.height,
        "dates": len(dates),
        "source": batch.source,
        "quarantined_rows": validated.quarantined.height,
        "quarantine_reasons": validated.quarantine_reasons,
        "archived_payloads": len(batch.payload_keys),
        **extra,
        **{f"note_{k}": v for k, v in batch.notes.items()},
        # numbers the UI plots across materializations (The Odds API's credits left and used)
        **{k: dg.MetadataValue.float(v) for k, v in batch.metrics.items()},
        "preview": dg.MetadataValue.md(preview(df, preview_cols)),
    }
    record_partition_row_counts(context, df)
    if quarantined:
        meta["quarantine_object"] = dg.MetadataValue.path(quarantined)
        context.log.warning(
            f"raw/{table}: {validated.quarantined.height} row(s) quarantined: {validated.quarantine_reasons}"
        )
    return dg.Output(df, metadata=meta)


# ---------------------------------------------------------------- raw/schedule


@_raw_asset(
    "schedule",
    "Games on each game date (ET): ids, tip-off (UTC), teams, status and final scores.",
    [
        _check(
            "schedule", "schedule_game_count_plausible", "At most 16 games a date and no team twice a day."
        ),
    ],
)
def schedule(
    context: dg.AssetExecutionContext,
    config: RawConfig,
    nba_source: NbaSourceResource,
    object_store: ObjectStoreResource,
) -> Iterator[Any]:
    dates = dates_of(context)
    store = object_store.get_store()
    with _retry_when_unavailable(nba_source):
        batch = nba_source.get_source(store).schedule(dates, raw.parse_as_of(config.as_of_utc))
    validated = raw.validate_batch(batch.frame, "schedule", batch.source)
    df = validated.good
    extra = {"games": df.height, "final_games": df.filter(pl.col("status") == "final").height}
    yield _output(
        context,
        "schedule",
        batch,
        validated,
        store,
        dates,
        extra,
        ["game_date", "game_id", "away_abbr", "home_abbr", "status", "away_pts", "home_pts"],
    )
    yield _result("schedule", "schedule_game_count_plausible", raw.schedule_counts_plausible(df, dates))


# ---------------------------------------------------------------- raw/box_scores


@_raw_asset(
    "box_scores",
    "One row per player on the active box score of each final game (minutes as decimals, points ...).",
    [
        _check(
            "box_scores",
            "box_scores_complete_for_slate",
            "Every final game of the date has a box score with both teams' players.",
            blocking=True,
        ),
        _check(
            "box_scores",
            "box_scores_points_match_team_scores",
            "Summed player points equal each team's final score, for both teams of every final game with a box score.",
            blocking=True,
        ),
        _check(
            "box_scores",
            "box_scores_min_players_with_minutes",
            "Each team-game has at least 5 players with minutes (a team missing from its game's box score has none).",
            blocking=True,
        ),
    ],
    ins={"schedule_rows": dg.AssetIn(key=["raw", "schedule"])},
)
def box_scores(
    context: dg.AssetExecutionContext,
    config: RawConfig,
    nba_source: NbaSourceResource,
    object_store: ObjectStoreResource,
    schedule_rows: pl.DataFrame,
) -> Iterator[Any]:
    dates = dates_of(context)
    as_of = raw.parse_as_of(config.as_of_utc)
    store = object_store.get_store()
    with _retry_when_unavailable(nba_source):
        batch = nba_source.get_source(store).box_scores(schedule_rows, as_of)
    validated = raw.validate_batch(batch.frame, "box_scores", batch.source)
    raw.refuse_points_mismatches(schedule_rows, validated, batch.source)
    df = validated.good
    played = df.filter(pl.col("played"))
    extra = {
        "games": df["game_id"].n_unique(),
        "players_with_minutes": played.height,
        "points_of_players_with_minutes": int(played["pts"].sum() or 0),
    }
    yield _output(
        context,
        "box_scores",
        batch,
        validated,
        store,
        dates,
        extra,
        ["game_date", "team_abbr", "player_name", "minutes", "pts", "reb", "ast"],
    )
    yield _result(
        "box_scores", "box_scores_complete_for_slate", raw.box_scores_complete(schedule_rows, df, as_of)
    )
    yield _result(
        "box_scores", "box_scores_points_match_team_scores", raw.team_points_match(schedule_rows, df)
    )
    yield _result(
        "box_scores", "box_scores_min_players_with_minutes", raw.min_players_with_minutes(schedule_rows, df)
    )


# ---------------------------------------------------------------- raw/injury_report


@_raw_asset(
    "injury_report",
    "The latest official injury report for each game date (player, team, status, reason); each game's "
    "rows from the latest edition issued before its tip-off.",
    [
        _check(
            "injury_report",
            "injury_report_present_for_scheduled_games",
            "Every date with a modeled game has injury report rows from its latest edition, where the "
            "source can have a report (the archive has none: its dates are not judged). WARN naming the "
            "dates without rows and those whose latest edition listed nobody (an earlier edition's rows "
            "kept). A blocked host (HTTP 403) fails the run instead.",
        ),
    ],
    ins={"schedule_rows": dg.AssetIn(key=["raw", "schedule"])},
)
def injury_report(
    context: dg.AssetExecutionContext,
    config: RawConfig,
    nba_source: NbaSourceResource,
    object_store: ObjectStoreResource,
    schedule_rows: pl.DataFrame,
) -> Iterator[Any]:
    dates = dates_of(context)
    store = object_store.get_store()
    source = nba_source.get_source(store)
    with _retry_when_unavailable(nba_source):
        batch = source.injury_report(dates, raw.parse_as_of(config.as_of_utc), schedule_rows)
        frame = raw.resolve_injury_ids(batch.frame, source, dates)
    validated = raw.validate_batch(frame, "injury_report", batch.source)
    df = validated.good
    extra = {"players": df.height, "out": df.filter(pl.col("status") == "Out").height}
    yield _output(
        context,
        "injury_report",
        batch,
        validated,
        store,
        dates,
        extra,
        ["game_date", "team_abbr", "player_name", "status", "reason"],
    )
    yield _result(
        "injury_report",
        "injury_report_present_for_scheduled_games",
        raw.injury_report_present(schedule_rows, df, source.injury_report_dates(dates), batch.fallbacks),
    )


# ---------------------------------------------------------------- raw/player_props


@_raw_asset(
    "player_props",
    "Every player-points line seen before tip-off: book, player as named and resolved id, line, prices; "
    "an empty-fetch marker (match_method empty_fetch, no line) where a book pulled every line of a game.",
    [
        _check(
            "player_props",
            "player_props_cover_scheduled_games",
            "Share of scheduled games with lines (where the source has lines).",
        ),
        _check(
            "player_props",
            "player_props_unresolved_name_share",
            "Share of book names not resolved to an NBA person id.",
        ),
        _check(
            "player_props",
            "player_props_from_primary_source",
            "Lines came from The Odds API; WARN naming the dates BettingPros stood in for, and why.",
        ),
    ],
    ins={"schedule_rows": dg.AssetIn(key=["raw", "schedule"])},
)
def player_props(
    context: dg.AssetExecutionContext,
    config: RawConfig,
    nba_source: NbaSourceResource,
    object_store: ObjectStoreResource,
    schedule_rows: pl.DataFrame,
) -> Iterator[Any]:
    dates = dates_of(context)
    store = object_store.get_store()
    source = nba_source.get_source(store)
    as_of = raw.parse_as_of(config.as_of_utc)
    with _retry_when_unavailable(nba_source):
        batch = source.player_props(dates, as_of)
        frame = raw.attach_game_ids(batch.frame, schedule_rows)
        frame = raw.resolve_prop_ids(frame, source, dates)
    validated = raw.validate_batch(frame, "player_props", batch.source)
    df = validated.good
    lines = schemas.offered_lines(df)
    unresolved = raw.unresolved_share(df)
    extra = {
        "lines": lines.height,
        "main_lines": lines.filter(pl.col("is_main_line")).height,
        "games": lines["game_id"].n_unique(),
        "players": lines["player_name"].n_unique(),
        "books": lines["bookmaker"].n_unique(),
        "unresolved_names": unresolved.metadata["unresolved"],
        "match_methods": dict(lines.group_by("match_method").len().sort("match_method").iter_rows()),
        # a book's snapshot of an upcoming game that held no line (it pulled them all)
        "empty_fetch_markers": df.height - lines.height,
    }
    # the stored lines' fingerprints per game, on each date a refresh sensor may still look at: its first
    # look of a day compares the lines then with these (the lines the day's predictions were made from)
    stored = line_fingerprints.stored_lines_by_date(df, dates, as_of)
    add_partition_metadata(
        context,
        {
            key: {line_fingerprints.STORED_LINES_METADATA: dg.MetadataValue.json(g)}
            for key, g in stored.items()
        },
        extra,
    )
    yield _output(
        context,
        "player_props",
        batch,
        validated,
        store,
        dates,
        extra,
        ["game_date", "player_name", "player_id", "bookmaker", "line", "over_price", "under_price"],
    )
    coverage = raw.props_coverage(schedule_rows, df, source.line_dates(dates))
    yield _result("player_props", "player_props_cover_scheduled_games", coverage)
    yield _result("player_props", "player_props_unresolved_name_share", unresolved)
    yield _result(
        "player_props", "player_props_from_primary_source", raw.primary_source_answered(batch.fallbacks)
    )


# ---------------------------------------------------------------- blocking checks on what was stored
#
# A batch that would fail these is refused before it is written (``raw.validate_batch``: the step fails,
# the run fails and the stored partitions keep their rows). These checks read back what the warehouse
# holds for the run's dates, through the IO manager, as downstream steps will: they fail on rows that
# got there another way (stored before the refusals existed, written around the raw assets), and can
# be run alone to audit stored dates. Blocking: downstream steps of the run do not start on them.


# A range run of up to this many dates records one evaluation per date, as a one-date run does, so the UI
# shows each date passed or failed. Dagster files a range run's single result under no partition and shows
# every date of the range as skipped; but each evaluation costs ~70 ms on the local SQLite event log, so
# longer ranges (the main job's 1,130-date history: 80 s per check) record one result for the whole range.
PER_DATE_CHECK_LIMIT = 100


def _stored_check_results(
    context: dg.AssetCheckExecutionContext,
    asset: str,
    name: str,
    by_date: Callable[[list[date]], dict[str, raw.CheckOutcome]],
    whole: Callable[[], raw.CheckOutcome],
) -> Iterator[dg.Output | dg.AssetCheckEvaluation | dg.AssetCheckResult]:
    days = dates_of(context)
    if len(days) == 1 or len(days) > PER_DATE_CHECK_LIMIT:
        outcome = whole()
        if len(days) > 1:
            note = (
                f"one result for the run's {len(days)} dates {days[0]} .. {days[-1]} (more than "
                f"{PER_DATE_CHECK_LIMIT}: dates are not judged one by one, and the UI shows them as skipped)"
            )
            outcome = raw.CheckOutcome(outcome.passed, {**outcome.metadata, "range": note}, outcome.severity)
        yield _result(asset, name, outcome)
        return
    yield from partitioned_check_results(context, by_date(days))


@dg.asset_check(  # type: ignore[arg-type]  # yields one evaluation per date (dagster types a single result)
    asset=dg.AssetKey(["raw", "schedule"]),
    name="schedule_no_duplicate_games",
    blocking=True,
    partitions_def=game_date_partitions,
    pool="duckdb",
    description="The stored schedule of the run's dates lists each game id once a date and at most once "
    "not postponed (a postponed game played on a later date keeps its id). A batch that would break it is "
    "refused before it is written.",
)
def schedule_no_duplicate_games(
    context: dg.AssetCheckExecutionContext, schedule: pl.DataFrame
) -> Iterator[dg.Output | dg.AssetCheckEvaluation | dg.AssetCheckResult]:
    yield from _stored_check_results(
        context,
        "schedule",
        "schedule_no_duplicate_games",
        lambda days: raw.schedule_duplicates_by_date(schedule, days),
        lambda: raw.schedule_duplicates(schedule),
    )


@dg.asset_check(  # type: ignore[arg-type]  # yields one evaluation per date (dagster types a single result)
    asset=dg.AssetKey(["raw", "player_props"]),
    name="player_props_no_placeholder_lines",
    blocking=True,
    partitions_def=game_date_partitions,
    pool="duckdb",
    description="The stored lines of the run's dates hold no filled-in lines: no line without a price, no "
    "date without a single price, no main-line value for more than a quarter of a date's players. A batch "
    "with such a date is refused and an unpriced line quarantined before the write; a line priced on one "
    "side only (an over-only alternate) is real: kept and counted.",
)
def player_props_no_placeholder_lines(
    context: dg.AssetCheckExecutionContext, player_props: pl.DataFrame
) -> Iterator[dg.Output | dg.AssetCheckEvaluation | dg.AssetCheckResult]:
    yield from _stored_check_results(
        context,
        "player_props",
        "player_props_no_placeholder_lines",
        lambda days: raw.placeholder_lines_by_date(player_props, days),
        lambda: raw.placeholder_lines(player_props),
    )


raw_checks = [schedule_no_duplicate_games, player_props_no_placeholder_lines]
# the checks travel with the assets: everything that materializes the raw layer runs them
raw_assets = [schedule, box_scores, injury_report, player_props, *raw_checks]
