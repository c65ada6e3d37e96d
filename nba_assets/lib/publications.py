"""Published calls: what the predictions told users before each game, kept whatever later runs say.

The line refresh re-predicts today's partition whenever lines move, so the predictions table, and the
graded record built on it, hold each date's *final* calls. A call published at 10:00 and withdrawn at
15:00 (the line moved against it, the call became a PASS) is in neither: the record of final calls can
leave out exactly the calls the market disagreed with. So every predictions run also writes (once its
predictions are stored and its blocking check passed: what a report can show) the actionable calls of the
games that have not tipped off yet as an immutable snapshot in the object store
(``publications/<D>/<UTC time>-<run id>.parquet``; never overwritten), and grading reads the first
publication of each call back and grades it: the record of what was published, next to the record of
the final calls, with the calls withdrawn before tip-off counted apart, and each call's closing-line
value (how far the book's line moved toward it before tip-off), the least noisy sign of an edge.

A run after a game's tip-off (a backfill, the main job's replay of past dates) publishes nothing of it:
nobody could have acted on it.

Grading stores the graded first publications as a table (``grading/published_grades``, one row per call:
:func:`published_grades`); its record per system (:func:`published_record`) is the date's in the grading
metadata and, over the rolling 30 days and the season, in ``grading/system_performance``'s
(:func:`published_performance`).
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from nba_assets.lib import grading
from nba_assets.lib.modeling.decisions import PREDICTION_SCHEMA, book_lines
from nba_assets.lib.storage.object_store import ObjectStore

PREFIX = "publications"
# One call: a system's call on a book's main line of a player on a date, whatever that line was when
# published (a main line that moved from 18.5 to 19.5 is still the one main-line bet), or on one of the
# book's alternate lines (the line is the offer).
CALL_KEY = ["game_date", "player_id", "bookmaker", "system", "is_main_line", "_alternate_line"]
# A snapshot's columns: the predictions' and when they were published.
SNAPSHOT_SCHEMA: dict[str, pl.DataType] = {**PREDICTION_SCHEMA, "published_utc": pl.Datetime("us", "UTC")}


def _keyed(calls: pl.DataFrame) -> pl.DataFrame:
    return calls.with_columns(
        pl.when(pl.col("is_main_line")).then(None).otherwise(pl.col("line")).alias("_alternate_line")
    )


def publishable(predictions: pl.DataFrame, props: pl.DataFrame, now: datetime) -> pl.DataFrame:
    """The actionable calls of ``predictions`` whose game tips off after ``now`` (the earliest
    ``tipoff_utc`` the lines give the game), with ``published_utc`` = ``now``. A game whose tip-off no
    line gives publishes nothing: it cannot be shown to be ahead."""
    if now.tzinfo is None:
        raise ValueError(f"publications: {now!r} is naive; pass an aware datetime")
    tips = (
        props.filter(pl.col("game_id").is_not_null() & pl.col("tipoff_utc").is_not_null())
        .group_by("game_id")
        # DuckDB gives the zone as Etc/UTC, the archive and the live sources as UTC: compare in one
        .agg(pl.col("tipoff_utc").min().dt.convert_time_zone("UTC").alias("_tipoff"))
    )
    at = pl.lit(now).cast(pl.Datetime("us", "UTC"))
    return (
        predictions.filter(pl.col("actionable"))
        .join(tips, on="game_id", how="inner")
        .filter(pl.col("_tipoff") > at)
        .drop("_tipoff")
        .with_columns(at.alias("published_utc"))
    )


def snapshot_key(day: date, now: datetime, run_id: str) -> str:
    """A snapshot's object key: its date, its UTC time (keys of a date sort by time) and its run."""
    return f"{PREFIX}/{day.isoformat()}/{now.astimezone(UTC).strftime('%Y%m%dT%H%M%S%fZ')}-{run_id}.parquet"


def write_snapshots(store: ObjectStore, calls: pl.DataFrame, now: datetime, run_id: str) -> dict[str, int]:
    """One immutable snapshot per date of ``calls`` (:func:`publishable`'s rows); calls per date."""
    written = {}
    for (day,), rows in calls.partition_by("game_date", as_dict=True, maintain_order=True).items():
        buf = io.BytesIO()
        rows.write_parquet(buf)
        store.put_bytes(snapshot_key(day, now, run_id), buf.getvalue())
        written[day.isoformat()] = rows.height
    return written


def read_snapshots(store: ObjectStore, days: list[date]) -> pl.DataFrame | None:
    """Every snapshot of ``days``, or None when none was published."""
    frames = [
        pl.read_parquet(io.BytesIO(store.get_bytes(key)))
        for day in days
        for key in sorted(store.list_keys(f"{PREFIX}/{day.isoformat()}/"))
    ]
    return pl.concat(frames, how="diagonal_relaxed") if frames else None


def first_publications(snapshots: pl.DataFrame) -> pl.DataFrame:
    """Each call as it was first published: a later snapshot that flipped its side or moved its price
    does not change it (the first is what a user could have acted on first). A book that posted two
    main lines for a player in one snapshot counts once, with its lower line (as the consensus does),
    whatever order the snapshot's rows come in."""
    return (
        _keyed(snapshots)
        .sort([*CALL_KEY, "published_utc", "line"], nulls_last=True)
        .unique(subset=CALL_KEY, keep="first", maintain_order=True)
        .sort(CALL_KEY, nulls_last=True)
        .drop("_alternate_line")
    )


def mark_withdrawn(first: pl.DataFrame, final: pl.DataFrame) -> pl.DataFrame:
    """``first`` with ``withdrawn``: true for a first-published call that is not among the final
    predictions' actionable calls on the same side (a main-line call at whatever the main line became):
    dropped to a PASS, flipped, or an alternate no longer offered when the last run predicted."""
    on = [*CALL_KEY, "recommendation"]
    kept = (
        _keyed(final.filter(pl.col("actionable"))).select(on).unique().with_columns(withdrawn=pl.lit(False))
    )
    return (
        _keyed(first)
        .join(kept, on=on, how="left", nulls_equal=True, maintain_order="left")
        .with_columns(pl.col("withdrawn").fill_null(True))
        .drop("_alternate_line")
    )


def closing_line_value(calls: pl.DataFrame, props: pl.DataFrame) -> pl.DataFrame:
    """``calls`` with ``closing_line``: for a main-line call, the book's main line of the player in its
    last snapshot of the game before tip-off (:func:`~nba_assets.lib.modeling.decisions.book_lines` over
    every snapshot the raw lines hold; a book posting two counts with its lower, as in
    :func:`~nba_assets.lib.modeling.decisions.consensus`), and ``clv``: how far the market moved toward the call after it
    was published, in points (OVER: closing - called line; UNDER: called - closing). Positive is a call
    that beat the close; null when the book no longer offered the player's main line, and for an
    alternate line (its offer has no closing counterpart)."""
    closing = (
        book_lines(props)
        .filter(pl.col("is_main_line"))
        .group_by("game_date", "player_id", "bookmaker")
        # one main line a book and player: its lower, as the consensus and first_publications count it
        .agg(pl.col("line").min().alias("closing_line"))
    )
    moved = pl.col("closing_line") - pl.col("line")
    return (
        calls.join(closing, on=["game_date", "player_id", "bookmaker"], how="left", maintain_order="left")
        .with_columns(pl.when(pl.col("is_main_line")).then(pl.col("closing_line")).alias("closing_line"))
        .with_columns(pl.when(pl.col("recommendation") == "OVER").then(moved).otherwise(-moved).alias("clv"))
    )


def published_record(graded: pl.DataFrame) -> dict[str, dict[str, object]] | str:
    """Per system, over main lines (as every record counts them), from :func:`published_grades`' rows:
    the first-published calls' bets, W-L-P and ROI at the published prices, their mean closing-line
    value in points and the share that beat the close (over the calls whose book still offered the
    line), and how many of those bets were withdrawn before tip-off with their W-L-P;
    :data:`NOTHING_PUBLISHED` when no call was published."""
    if graded.is_empty():
        return NOTHING_PUBLISHED
    main = graded.filter(pl.col("is_main_line"))
    records, gone = _records_by_system(main), _records_by_system(main.filter(pl.col("withdrawn")))
    out: dict[str, dict[str, object]] = {}
    for system in sorted(set(main["system"].to_list())):
        r, wr = records.get(system), gone.get(system)
        out[system] = {
            "bets": r["bets"] if r else 0,
            "record": _wlp(r),
            "roi": round(r["roi"], 4) if r and r["roi"] is not None else None,
            **_clv(main.filter(pl.col("system") == system)),
            "withdrawn_bets": wr["bets"] if wr else 0,
            "withdrawn_record": _wlp(wr),
        }
    return out


def _records_by_system(calls: pl.DataFrame) -> dict[str, dict[str, Any]]:
    """:func:`nba_assets.lib.grading.bet_record` by system, as one row per system."""
    return {r["system"]: r for r in grading.bet_record(calls, ["system"]).iter_rows(named=True)}


def _wlp(record: dict[str, Any] | None) -> str:
    return f"{record['wins']}-{record['losses']}-{record['pushes']}" if record else "0-0-0"


NOTHING_PUBLISHED = "no calls published before tip-off (a backfill, or no morning slate)"


def published_grades(
    store: ObjectStore,
    days: list[date],
    final: pl.DataFrame,
    box_scores: pl.DataFrame,
    injuries: pl.DataFrame,
    schedule: pl.DataFrame,
    props: pl.DataFrame,
) -> pl.DataFrame:
    """Every call of ``days`` as first published (:func:`first_publications` of the snapshots), graded
    as :func:`nba_assets.lib.grading.grade` grades the final calls ``final``, with its closing line and
    closing-line value (:func:`closing_line_value`) and whether it was withdrawn before tip-off
    (:func:`mark_withdrawn`). No snapshot: no rows, with the same columns."""
    snapshots = read_snapshots(store, days)
    published = pl.DataFrame(schema=SNAPSHOT_SCHEMA) if snapshots is None else snapshots
    # the contract's columns and types, whatever a snapshot's parquet gave (a zone named Etc/UTC, ...)
    first = first_publications(published.select(pl.col(c).cast(t) for c, t in SNAPSHOT_SCHEMA.items()))
    graded = grading.grade(first, box_scores, injuries, schedule)
    return mark_withdrawn(closing_line_value(graded, props), final)


PERFORMANCE_WINDOWS = ("30d", "season")


def published_performance(graded: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """:func:`published_record` over each of ``PERFORMANCE_WINDOWS`` ending on ``as_of`` (the windows
    of :func:`nba_assets.lib.grading.performance`), one row per window and system; no rows for a window
    with no published call."""
    rows: list[dict[str, object]] = []
    if graded.is_empty():  # no table yet, or nothing published in the lookback
        return pl.DataFrame(rows, schema=PERFORMANCE_SCHEMA)
    for window in PERFORMANCE_WINDOWS:
        lo = grading.window_start(window, as_of)
        record = published_record(graded.filter(pl.col("game_date").is_between(lo, as_of)))
        if isinstance(record, dict):
            rows += [{"window": window, "system": system, **rec} for system, rec in record.items()]
    return pl.DataFrame(rows, schema=PERFORMANCE_SCHEMA)


PERFORMANCE_SCHEMA: dict[str, pl.DataType] = {
    "window": pl.Utf8(),
    "system": pl.Utf8(),
    "bets": pl.Int64(),
    "record": pl.Utf8(),
    "roi": pl.Float64(),
    "clv_calls": pl.Int64(),
    "clv_mean": pl.Float64(),
    "beat_close_share": pl.Float64(),
    "withdrawn_bets": pl.Int64(),
    "withdrawn_record": pl.Utf8(),
}


def _clv(calls: pl.DataFrame) -> dict[str, object]:
    clv = calls["clv"].drop_nulls()
    return {
        "clv_calls": clv.len(),
        # summed in value order, as the records' floats are (the same figure whatever the row order)
        "clv_mean": round(float(clv.sort().sum()) / clv.len(), 3) if clv.len() else None,
        "beat_close_share": round(float((clv > 0).sum()) / clv.len(), 3) if clv.len() else None,
    }
