"""The live source: the real APIs behind the same contract as the archive.

* schedule: stats.nba.com ``scoreboardv3`` per date (``scoreboardV2`` fallback); a date without games
  only when the season schedule agrees (:meth:`LiveSource._confirm_no_games`);
* box scores: ``boxscoretraditionalv3`` per final game, cdn.nba.com liveData as the fallback;
* injury report: the latest official PDF edition issued before ``as_of``, and for a game that had
  tipped off by then, the latest edition issued before its tip-off. A date with modeled games whose
  editions the host refused (403) fails the batch (``injury_report.EditionsRefusedError``: a block);
  a date whose latest edition lists nobody for it keeps the latest earlier report of the date kept in
  the object store's injury ledger (a refresh never replaces a report with nothing), and the batch
  says so (``SourceBatch.fallbacks``: the raw asset's presence check warns);
* lines: The Odds API v4 events of the date, then ``player_points`` odds per event (alternates too),
  only for events that have not tipped off (a line after tip-off is not a pre-game line), plus every
  earlier snapshot of the date, kept in the object store's lines ledger. A book that offered lines of
  an event in the ledger and answers none when the event is asked again, still upcoming, gets an
  empty-fetch marker in that snapshot (``schemas.EMPTY_FETCH``): it pulled them all, and its earlier
  snapshot is no longer its current offer. When The Odds API fails for a
  date (down after its retries, a refused key or spent quota, a payload off its contract) and a
  BettingPros key is configured, BettingPros' offers for the date's events not yet tipped off stand in,
  and the batch says so (``SourceBatch.fallbacks``: the raw asset's primary-source check warns).
  Before paying for a date's event odds, the free events list's ``x-requests-remaining`` is checked
  against the credits this source keeps back (``kept``: the floor for runs, the reserve for the
  refresh sensor's probe); a date it cannot pay for is refused (:class:`quota.OddsQuotaError`), and
  the last reading goes into the batch's ``metrics`` (the raw asset's numeric metadata);
* player history: ``leaguegamelog`` for every season the range touches, for name resolution.

Every HTTP body is archived before it is parsed (``HttpClient``).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl

from nba_assets.lib import schemas
from nba_assets.lib.errors import SourceDataError, SourceUnavailableError
from nba_assets.lib.features.build import season_of
from nba_assets.lib.game_types import games_to_play
from nba_assets.lib.parsers._common import BETTINGPROS, ODDS_API
from nba_assets.lib.raw import validate_batch
from nba_assets.lib.sources.base import HISTORY_COLUMNS, NbaSource, SourceBatch
from nba_assets.lib.sources.live.bettingpros import BettingProsClient
from nba_assets.lib.sources.live.http import HttpClient, RetryPolicy
from nba_assets.lib.sources.live.injury_report import EditionsRefusedError, InjuryReportClient, edition_slot
from nba_assets.lib.sources.live.nba_cdn import NbaCdnClient
from nba_assets.lib.sources.live.nba_stats import TIMEOUT as STATS_TIMEOUT
from nba_assets.lib.sources.live.nba_stats import NbaStatsClient
from nba_assets.lib.sources.live.odds_api import OddsApiClient
from nba_assets.lib.sources.live.quota import CreditsKept, quota_metadata
from nba_assets.lib.storage.object_store import ObjectStore

log = logging.getLogger(__name__)
ET = ZoneInfo("America/New_York")
# Per-host minimum spacing between requests (seconds): stats.nba.com throttles cloud IPs hard.
HOST_INTERVALS = {
    "stats.nba.com": 2.0,
    "cdn.nba.com": 0.5,
    "api.the-odds-api.com": 0.5,
    "api.bettingpros.com": 1.0,
    "ak-static.cms.nba.com": 1.0,
}


def pre_tip_off_editions(games: pl.DataFrame, edition_et: datetime) -> pl.DataFrame:
    """Teams whose game had tipped off by the naive ET time ``edition_et``, each with the naive ET time
    before which its injury statuses must have been issued (one minute before the tip-off)."""
    started = games.filter(pl.col("tipoff_utc").is_not_null()).with_columns(
        pl.col("tipoff_utc")
        .dt.convert_time_zone("America/New_York")
        .dt.replace_time_zone(None)
        .alias("tip_et")
    )
    started = started.filter(pl.col("tip_et") <= edition_et)
    return pl.concat(
        [
            started.select(
                pl.col(side).alias("team_abbr"), (pl.col("tip_et") - timedelta(minutes=1)).alias("before_et")
            )
            for side in ("home_abbr", "away_abbr")
        ]
    )


LEDGER_PREFIX = "lines_ledger"


def _ledger_put(store: ObjectStore, key: str, frame: pl.DataFrame) -> str:
    """Write one ledger object (parquet) under ``key``; the same key again replaces it (idempotent)."""
    buf = io.BytesIO()
    frame.write_parquet(buf)
    return store.put_bytes(key, buf.getvalue())


def _ledger_get(store: ObjectStore, key: str, ledger: str, what: str) -> pl.DataFrame:
    """Read one ledger object; a damaged one must not pass silently: :class:`SourceDataError` naming
    the ledger, the key and the error's class."""
    try:
        return pl.read_parquet(io.BytesIO(store.get_bytes(key)))
    except Exception as exc:
        raise SourceDataError(ledger, key, f"is not a readable {what}", type(exc).__name__) from None


def lines_ledger_write(store: ObjectStore, day: date, snapshot: pl.DataFrame) -> str:
    """Keep one call's snapshot of ``day``'s lines in the object store, keyed by its first
    ``snapshot_utc``: writing the same snapshot again replaces it (idempotent)."""
    stamp = snapshot["snapshot_utc"].min().astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")  # type: ignore[union-attr]
    return _ledger_put(store, f"{LEDGER_PREFIX}/{day.isoformat()}/{stamp}.parquet", snapshot)


def lines_ledger_read(store: ObjectStore, day: date, as_of: datetime) -> pl.DataFrame:
    """The snapshots of ``day`` kept so far, taken at or before ``as_of`` (their rows passed the raw
    contract when written, so every one is a pre-game line)."""
    frames = []
    for key in store.list_keys(f"{LEDGER_PREFIX}/{day.isoformat()}/"):
        frames.append(_ledger_get(store, key, "lines ledger", "snapshot"))
    if not frames:
        return schemas.empty(schemas.PROPS_SCHEMA)
    seen = schemas.conform(pl.concat(frames, how="vertical_relaxed"), schemas.PROPS_SCHEMA, "lines ledger")
    return seen.filter(pl.col("snapshot_utc") <= as_of)


INJURY_LEDGER_PREFIX = "injury_ledger"


def injury_ledger_write(store: ObjectStore, day: date, report: pl.DataFrame) -> str:
    """Keep ``day``'s non-empty report in the object store, keyed by its latest edition (naive ET):
    writing the same edition again replaces it (idempotent)."""
    stamp = report["report_time_et"].max().strftime("%Y%m%dT%H%M")  # type: ignore[union-attr]
    return _ledger_put(store, f"{INJURY_LEDGER_PREFIX}/{day.isoformat()}/{stamp}.parquet", report)


def injury_ledger_latest(store: ObjectStore, day: date, before_et: datetime) -> pl.DataFrame | None:
    """The latest report of ``day`` kept so far whose edition was issued at or before the naive ET time
    ``before_et`` (no look-ahead), or None."""
    keys = [
        k
        for k in store.list_keys(f"{INJURY_LEDGER_PREFIX}/{day.isoformat()}/")
        if k.endswith(".parquet")
        and datetime.strptime(k.rsplit("/", 1)[-1].removesuffix(".parquet"), "%Y%m%dT%H%M") <= before_et
    ]
    if not keys:
        return None
    report = _ledger_get(store, max(keys), "injury ledger", "report")
    return schemas.conform(report, schemas.INJURY_SCHEMA, "injury ledger")


def days_with_modeled_games(schedule: pl.DataFrame | None, dates: list[date]) -> set[date]:
    """The dates of ``dates`` with a modeled game not postponed in ``schedule``; every date when there is
    no schedule (nothing says a date has no game)."""
    if schedule is None:
        return set(dates)
    return set(games_to_play(schedule)["game_date"].to_list()) & set(dates)


# What a lines fetch asked for: one row per event asked, still upcoming by the feed's events list, and
# answered (a 404 is no answer), with the moment it was asked (the snapshot time of its rows).
ASKED_SCHEMA: dict[str, pl.DataType] = {
    "game_date": pl.Date(),
    "event_id": pl.Utf8(),
    "tipoff_utc": schemas.UTC_DT,
    "home_abbr": pl.Utf8(),
    "away_abbr": pl.Utf8(),
    "snapshot_utc": schemas.UTC_DT,
}


def empty_fetch_markers(
    fetched: pl.DataFrame,
    asked: pl.DataFrame,
    earlier: pl.DataFrame,
    source: str,
    bookmakers: list[str] | None = None,
) -> pl.DataFrame:
    """The empty-fetch markers of one fetch (``player_props`` rows, see ``schemas.EMPTY_FETCH``): one per
    (event, book) where the event was asked while still upcoming (``asked``: snapshot before its
    tip-off), the book's latest snapshot of that game before this one (``earlier``: the ledger, same
    feed ``source``) held lines, and this fetch (``fetched``) has no row of that book for the event.

    Only the books the fetch asked for count: ``bookmakers`` (the feed's bookmakers parameter; None:
    every book it reports), and only those the same feed reported before (another feed names and
    covers other books). A book already marked stays marked without a new marker (its latest snapshot
    is the marker); events not asked (started, or not listed any more) get none, so their last
    pre-game lines stay current. Events are matched on the feed's event id (its own, hence one feed).
    Earlier snapshots at or after the fetch's own are ignored, so the same fetch run again gives the
    same markers (idempotent)."""
    event = ["game_date", "event_id"]
    upcoming = asked.filter(pl.col("snapshot_utc") < pl.col("tipoff_utc"))
    if upcoming.is_empty() or earlier.is_empty():
        return schemas.empty(schemas.PROPS_SCHEMA)
    prior = earlier.filter(pl.col("source") == source).join(
        upcoming.select(*event, pl.col("snapshot_utc").alias("_asked_at")), on=event
    )
    prior = prior.filter(pl.col("snapshot_utc") < pl.col("_asked_at"))
    latest = prior.filter(pl.col("snapshot_utc") == pl.col("snapshot_utc").max().over([*event, "bookmaker"]))
    offering = latest.filter(~schemas.is_empty_fetch_marker()).select(*event, "bookmaker").unique()
    if bookmakers:  # the parameter, when set (else every book of the regions)
        offering = offering.filter(pl.col("bookmaker").is_in(bookmakers))
    gone = offering.join(fetched.select(*event, "bookmaker").unique(), on=[*event, "bookmaker"], how="anti")
    markers = gone.join(upcoming, on=event).with_columns(
        pl.lit(None, pl.Utf8).alias("game_id"),
        pl.lit(None, pl.Utf8).alias("player_name"),
        pl.lit(None, pl.Int64).alias("player_id"),
        pl.lit(None, pl.Utf8).alias("team_abbr"),
        pl.lit(schemas.EMPTY_FETCH).alias("match_method"),
        pl.lit(None, pl.Float64).alias("line"),
        pl.lit(None, pl.Int64).alias("over_price"),
        pl.lit(None, pl.Int64).alias("under_price"),
        pl.lit(None, pl.Boolean).alias("is_main_line"),
        pl.lit(source).alias("source"),
    )
    return schemas.conform(markers, schemas.PROPS_SCHEMA, source).sort("event_id", "bookmaker")


def seasons_between(first: date, last: date) -> list[str]:
    """Every NBA season label ("2023-24") that the ET dates ``first``..``last`` (inclusive) touch, in
    order: the middle seasons of a multi-season range too. Empty when ``first`` is after ``last``."""
    if first > last:
        return []
    ends = pl.DataFrame({"game_date": [first, last]}).select(season_of()).to_series().to_list()
    start, stop = (int(label[:4]) for label in ends)
    return [f"{y}-{(y + 1) % 100:02d}" for y in range(start, stop + 1)]


class LiveSource(NbaSource):
    name = "live"

    def __init__(
        self,
        store: ObjectStore,
        odds_api_key: str,
        bettingpros_api_key: str = "",
        timeout: float = 30.0,
        max_attempts: int = 5,
        bookmakers: list[str] | None = None,
        http: HttpClient | None = None,
        now: Callable[[], datetime] | None = None,
        stats_timeout: float = STATS_TIMEOUT[1],
        request_deadline: float = RetryPolicy.request_deadline,
        budget_seconds: float | None = 600.0,
        total_budget_seconds: float | None = None,
        kept: CreditsKept | None = None,
    ) -> None:
        """``timeout``: read timeout (s) of every host but stats.nba.com, which gets ``stats_timeout``;
        ``request_deadline``: seconds for one whole request, body included; ``budget_seconds``: for all
        requests of one unit of work, retries and fallbacks included: one date (schedule, injury
        report, lines) or one game (box scores), so a range run's time grows with its dates and games
        but no single one can hold it; ``total_budget_seconds``: for every request of this source, from
        its first (a sensor tick's probe; None for runs); ``kept``: The Odds API credits this source
        will not spend (default: none, the API's own refusal at 0 stands)."""
        self.http = http or HttpClient(
            timeout=(10.0, timeout),
            host_intervals=HOST_INTERVALS,
            policy=RetryPolicy(
                max_attempts=max_attempts,
                request_deadline=request_deadline,
                budget_seconds=budget_seconds,
                total_budget_seconds=total_budget_seconds,
            ),
        )
        self.store = store
        self.stats = NbaStatsClient(self.http, store, timeout=(10.0, stats_timeout))
        self.cdn = NbaCdnClient(self.http, store)
        self.injuries = InjuryReportClient(self.http, store)
        self.now = now or (lambda: datetime.now(UTC))
        self.odds = OddsApiClient(
            self.http, store, odds_api_key, bookmakers=bookmakers, now=self.now, kept=kept
        )
        # the lines fallback, only with a key (without one, The Odds API's failures fail the run)
        self.bettingpros = (
            BettingProsClient(self.http, store, bettingpros_api_key) if bettingpros_api_key else None
        )

    def schedule(self, dates: list[date], as_of: datetime) -> SourceBatch:
        frames, keys = [], []
        notes: dict[str, str] = {}
        seasons: dict[str, pl.DataFrame] = {}
        for day in dates:
            self.http.start_unit()  # the time budget is per date
            got = self.stats.scoreboard_v3(day)
            keys += got.archive_keys
            if "v3_error" in got.meta:  # shown in the asset's metadata, not only in the run's stderr
                notes[f"schedule_fallback_{day}"] = (
                    f"scoreboardV2 answered; scoreboardv3: {got.meta['v3_error']}"
                )
            if got.frame.is_empty():
                keys += self._confirm_no_games(day, seasons)
            frames.append(got.frame)
        frame = (
            pl.concat(frames, how="vertical_relaxed") if frames else schemas.empty(schemas.SCHEDULE_SCHEMA)
        )
        return SourceBatch(frame, "stats.nba.com", keys, notes)

    def _confirm_no_games(self, day: date, seasons: dict[str, pl.DataFrame]) -> list[str]:
        """A scoreboard without a game is taken only when the season's schedule agrees.

        A scoreboard that answers 200 with no games (a cache or a backend gone wrong) would otherwise
        replace the date's stored games, and then its box scores, with nothing, and every check would
        pass on an empty date. The season schedule (cdn.nba.com's current-season file, else
        stats.nba.com ``scheduleleaguev2``; read once per season per batch, in ``seasons``) is asked:
        a game it lists on ``day`` (not postponed) refuses the batch, naming the date and the game; a
        schedule that cannot be read fails the batch as unavailable (retried), since the empty answer
        is then unconfirmed. Returns the archive keys of the schedule read."""
        season = seasons_between(day, day)[0]
        keys: list[str] = []
        if season not in seasons:
            seasons[season], keys = self._season_schedule(season, day)
        listed = seasons[season].filter((pl.col("game_date") == day) & (pl.col("status") != "postponed"))
        if listed.height:
            raise SourceDataError(
                "stats.nba.com",
                "scoreboard.games",
                f"is empty for {day}, while the {season} season schedule lists {listed.height} game(s) "
                f"that day (first {listed['game_id'].sort()[0]}); the stored games are kept",
                "[]",
            )
        return keys

    def _season_schedule(self, season: str, day: date) -> tuple[pl.DataFrame, list[str]]:
        failures: list[str] = []
        transient = False
        try:
            got = self.cdn.schedule(as_of=day)
            if got.meta["season"] == season:
                return got.frame, got.archive_keys
            failures.append(f"cdn.nba.com's schedule is of {got.meta['season']}, not {season}")
        except (SourceUnavailableError, SourceDataError) as exc:
            failures.append(str(exc))
            transient |= getattr(exc, "transient", False)
        try:
            got = self.stats.schedule_league_v2(season)
            return got.frame, got.archive_keys
        except (SourceUnavailableError, SourceDataError) as exc:
            failures.append(str(exc))
            transient |= getattr(exc, "transient", False)
        raise SourceUnavailableError(
            f"stats.nba.com scoreboard: no game on {day}, and no {season} season schedule could confirm "
            "it: " + "; ".join(failures),
            transient=transient,
        )

    def box_scores(self, schedule: pl.DataFrame, as_of: datetime) -> SourceBatch:
        frames, keys = [], []
        notes: dict[str, str] = {}
        for row in schedule.filter(pl.col("status") == "final").iter_rows(named=True):
            self.http.start_unit()  # the time budget is per game
            try:
                got = self.stats.boxscore_traditional_v3(row["game_id"], row["game_date"])
            except (SourceUnavailableError, SourceDataError) as exc:
                log.warning("boxscoretraditionalv3 %s failed (%s); trying cdn.nba.com", row["game_id"], exc)
                self.http.start_unit()  # the fallback gets its own time budget: the primary may have spent it
                fallback = self.cdn.boxscore(row["game_id"], row["game_date"])
                if fallback is None:
                    # the schedule says final, the primary failed and the fallback has no file: the batch
                    # fails (stored rows stay) instead of storing the game as empty; the catch-up retries
                    raise SourceUnavailableError(
                        f"box score of final game {row['game_id']}: stats.nba.com failed ({exc}) and "
                        "cdn.nba.com has no file for it"
                    ) from None
                cdn_status = fallback.meta["game"]["status"][0]
                if cdn_status != "final":
                    # a live game's file holds a partial box score: it must not be stored as the final one
                    raise SourceUnavailableError(
                        f"box score of final game {row['game_id']}: stats.nba.com failed ({exc}) and "
                        f"cdn.nba.com's file says the game is {cdn_status}, not final"
                    ) from None
                got = fallback
                notes[f"box_score_fallback_{row['game_id']}"] = (
                    f"cdn.nba.com answered; boxscoretraditionalv3: {exc}"
                )
            frames.append(got.frame)
            keys += got.archive_keys
        frame = (
            pl.concat(frames, how="vertical_relaxed") if frames else schemas.empty(schemas.BOX_SCORE_SCHEMA)
        )
        return SourceBatch(frame, "stats.nba.com", keys, notes)

    def injury_report(
        self, dates: list[date], as_of: datetime, schedule: pl.DataFrame | None = None
    ) -> SourceBatch:
        """See the module docstring. A date without a modeled game (an off day, the All-Star break) may
        have no edition at all: refused editions are a note there, not a failure."""
        frames, keys, notes, kept = [], [], {}, {}
        before = as_of.astimezone(ET).replace(tzinfo=None)
        game_days = days_with_modeled_games(schedule, dates)
        for day in dates:
            self.http.start_unit()  # the time budget is per date
            cutoff = min(before, datetime.combine(day + timedelta(days=1), datetime.min.time()))
            try:
                got = self.injuries.fetch_latest(day, cutoff)
            except EditionsRefusedError as exc:
                if day in game_days:
                    raise
                notes[f"injury_report_{day}"] = f"no modeled game scheduled; {exc}"
                continue
            frame = schemas.empty(schemas.INJURY_SCHEMA)
            if got is None:
                notes[f"injury_report_{day}"] = "no edition published before as_of (404 for every edition)"
            else:
                frame = got.frame.filter(pl.col("game_date") == day)
                keys += got.archive_keys
                if schedule is not None:
                    frame, more, replaced = self._before_tip_offs(day, frame, schedule)
                    keys += more
                    if replaced:
                        notes[f"injury_report_{day}_before_tip_off"] = replaced
            if not frame.is_empty():
                injury_ledger_write(self.store, day, frame)
            elif day in game_days and (earlier := injury_ledger_latest(self.store, day, cutoff)) is not None:
                issued: datetime = earlier["report_time_et"].max()  # type: ignore[assignment]
                latest = (
                    f"the {got.meta['report_time_et']:%Y-%m-%d %H:%M} ET edition lists no player for {day}"
                    if got
                    else f"no edition for {day} was published before as_of"
                )
                kept[day.isoformat()] = (
                    f"{latest}: kept the {earlier.height} row(s) of the {issued:%Y-%m-%d %H:%M} ET edition "
                    "(injury ledger)"
                )
                frame = earlier
            frames.append(frame)
        frame = pl.concat(frames, how="vertical_relaxed") if frames else schemas.empty(schemas.INJURY_SCHEMA)
        notes.update({f"injury_report_kept_{day}": why for day, why in kept.items()})
        return SourceBatch(frame, "nba.com injury report", keys, notes, kept)

    def _before_tip_offs(
        self, day: date, frame: pl.DataFrame, schedule: pl.DataFrame
    ) -> tuple[pl.DataFrame, list[str], str]:
        """Keep the edition's rows for games that had not tipped off when it was issued; for each game
        that had, take its teams' rows from the latest edition issued before its tip-off (editions are
        labelled by the hour, from 2025-12-23 the quarter-hour, they are issued), so no status reported after a game started reaches that
        game. Returns the rows, the extra archive keys and a note."""
        if frame.is_empty():
            return frame, [], ""
        edition = frame["report_time_et"].max()
        games = pre_tip_off_editions(schedule.filter(pl.col("game_date") == day), edition)  # type: ignore[arg-type]
        if games.is_empty():
            return frame, [], ""
        keep = frame.filter(~pl.col("team_abbr").is_in(games["team_abbr"].implode()))
        parts, keys, found = [keep], [], {}
        for cap in games["before_et"].unique().sort():
            teams = games.filter(pl.col("before_et") == cap)["team_abbr"]
            slot = edition_slot(cap)  # the edition fetch_latest starts from
            if slot not in found:
                found[slot] = self.injuries.fetch_latest(day, cap)
            earlier = found[slot]
            if earlier is None:
                continue  # no edition before that tip-off: no statuses for those teams
            keys += [k for k in earlier.archive_keys if k not in keys]
            parts.append(
                earlier.frame.filter(
                    (pl.col("game_date") == day) & pl.col("team_abbr").is_in(teams.implode())
                )
            )
        out = pl.concat(parts, how="vertical_relaxed")
        note = f"{games['team_abbr'].n_unique()} team(s) had tipped off by the {edition:%H:%M} ET edition"  # type: ignore[str-bytes-safe]
        return out, keys, note

    def player_props(self, dates: list[date], as_of: datetime, *, ledger: bool = True) -> SourceBatch:
        """Every line seen for each date: this call's snapshot of the events that have not tipped off,
        plus the earlier snapshots of the date kept in the lines ledger (the live API answers only for
        events not yet started, so without the ledger a refresh after the first tip-off would drop the
        started games' lines, and every refresh the opening lines). ``ledger=False``: this call's
        snapshot only, nothing recorded. A date whose lines came from BettingPros because The Odds API
        failed is in the batch's ``fallbacks``, with the reason. With the ledger, a book that offered
        lines of a game still upcoming and answers none now gets an empty-fetch marker
        (:func:`empty_fetch_markers`), recorded with the snapshot: downstream it offers nothing of that
        game any more. A probe (``ledger=False``) knows no earlier snapshot and marks nothing."""
        frames, keys, notes, fallbacks = [], [], {}, {}
        for day in dates:
            self.http.start_unit()  # the time budget is per date
            fresh, fresh_keys, fallback, asked = self._current_lines(day, as_of)
            keys += fresh_keys
            if fallback:
                fallbacks[day.isoformat()] = fallback
            seen = (
                lines_ledger_read(self.store, day, as_of) if ledger else schemas.empty(schemas.PROPS_SCHEMA)
            )
            feed = BETTINGPROS if fallback else ODDS_API
            if ledger:
                lines = (
                    pl.concat(fresh, how="vertical_relaxed") if fresh else schemas.empty(schemas.PROPS_SCHEMA)
                )
                # The Odds API's bookmakers parameter names the books asked for; BettingPros is asked
                # for every book (book_id=null)
                books = None if fallback else self.odds.bookmakers
                markers = empty_fetch_markers(lines, asked, seen, feed, books)
                if not markers.is_empty():
                    fresh = [*fresh, markers]
                    notes[f"lines_pulled_{day}"] = str(markers.height)
            if fresh:
                current = pl.concat(fresh, how="vertical_relaxed")
                if ledger and not current.is_empty():
                    # only what passes the raw contract is kept: a corrupt snapshot fails this run (as
                    # before) and quarantined rows are reported by it, but neither reaches later runs
                    kept = validate_batch(current, "player_props", feed).good
                    if not kept.is_empty():
                        lines_ledger_write(self.store, day, kept)
                    seen = seen.filter(
                        ~pl.col("snapshot_utc").is_in(current["snapshot_utc"].unique().implode())
                    )
                seen = pl.concat([seen, current], how="vertical_relaxed")
            frames.append(seen)
            notes[f"lines_snapshots_{day}"] = str(seen["snapshot_utc"].n_unique())
            if self.odds.quota:
                notes["odds_api_quota"] = ", ".join(f"{k}={v}" for k, v in sorted(self.odds.quota.items()))
        frame = pl.concat(frames, how="vertical_relaxed") if frames else schemas.empty(schemas.PROPS_SCHEMA)
        notes.update({f"lines_fallback_{day}": why for day, why in fallbacks.items()})
        label = "the-odds-api, bettingpros" if fallbacks else "the-odds-api"
        if self.odds.answers and self.odds.reading.remaining is None:
            notes["odds_api_quota_unknown"] = (
                "the-odds-api answered without an x-requests-remaining header: credits left unknown, "
                "no reserve or floor could be applied"
            )
        for header, why in sorted(self.odds.quota_problems.items()):
            notes[f"odds_api_quota_unreadable_{header}"] = f"{why}; the credits reading kept its last value"
        return SourceBatch(frame, label, keys, notes, fallbacks, quota_metadata(self.odds.reading))

    def _current_lines(
        self, day: date, as_of: datetime
    ) -> tuple[list[pl.DataFrame], list[str], str, pl.DataFrame]:
        """This call's lines of ``day``'s events not yet tipped off at ``as_of``, their archive keys,
        why BettingPros answered instead of The Odds API ("" when it did not), and the events asked
        and answered (``ASKED_SCHEMA``)."""
        try:
            frames, keys, asked = self._odds_api_lines(day, as_of)
            return frames, keys, "", asked
        except (SourceUnavailableError, SourceDataError) as exc:
            if self.bettingpros is None:
                raise
            reason = f"the-odds-api failed ({exc}); lines from api.bettingpros.com"
            log.warning("lines of %s: %s", day, reason)
            self.http.start_unit()  # the fallback gets its own time budget: the primary may have spent it
            try:
                frames, keys, asked = self._bettingpros_lines(self.bettingpros, day, as_of)
                return frames, keys, reason, asked
            except (SourceUnavailableError, SourceDataError) as fallback_exc:
                raise SourceUnavailableError(
                    f"lines of {day}: the-odds-api failed ({exc}) and the bettingpros fallback failed too "
                    f"({fallback_exc})",
                    # waiting helps when either failure was an outage
                    transient=any(getattr(e, "transient", False) for e in (exc, fallback_exc)),
                ) from fallback_exc

    def _odds_api_lines(
        self, day: date, as_of: datetime
    ) -> tuple[list[pl.DataFrame], list[str], pl.DataFrame]:
        events = self.odds.events(day)  # free, and its headers tell the credits left
        upcoming = [
            ev
            for ev in events.frame.iter_rows(named=True)
            # started: its lines are no longer pre-game lines
            if ev["tipoff_utc"] is None or ev["tipoff_utc"] > as_of
        ]
        self.odds.ensure_credits(len(upcoming), f"asking the lines of {len(upcoming)} event(s) of {day}")
        frames, keys, asked = [], list(events.archive_keys), []
        for ev in upcoming:
            got = self.odds.event_odds(ev["event_id"], day)
            if got is None:
                continue  # 404: the API does not know the event any more; nothing was answered
            keys += got.archive_keys
            frames.append(got.frame)
            # listed as upcoming and answered (200, or 204: nothing posted): every book asked for and
            # missing from the answer has no line of it at this moment
            asked.append(
                {**{c: ev[c] for c in ASKED_SCHEMA if c in ev}, "snapshot_utc": got.meta["snapshot_utc"]}
            )
        return frames, keys, pl.DataFrame(asked, schema=ASKED_SCHEMA)

    def _bettingpros_lines(
        self, client: BettingProsClient, day: date, as_of: datetime
    ) -> tuple[list[pl.DataFrame], list[str], pl.DataFrame]:
        events = client.events(day)
        upcoming = events.frame.filter((pl.col("game_date") == day) & (pl.col("tipoff_utc") > as_of))
        if upcoming.is_empty():
            return [], list(events.archive_keys), schemas.empty(ASKED_SCHEMA)
        snapshot = self.now()
        got = client.offers(day, upcoming, snapshot_utc=snapshot)
        # every upcoming event was asked for, for every book, in one request
        asked = upcoming.select(*(c for c in ASKED_SCHEMA if c != "snapshot_utc")).with_columns(
            pl.lit(snapshot, schemas.UTC_DT).alias("snapshot_utc")
        )
        return [got.frame], [*events.archive_keys, *got.archive_keys], asked.select(list(ASKED_SCHEMA))

    def player_history(self, before: date, since: date) -> pl.DataFrame:
        last = before - timedelta(days=1)
        frames = []
        for season in seasons_between(since, last):
            self.http.start_unit()  # the time budget is per season's game log
            got = self.stats.league_game_log(since, last, season)
            frames.append(got.frame)
        if not frames:
            return pl.DataFrame(schema={c: schemas.BOX_SCORE_SCHEMA[c] for c in HISTORY_COLUMNS})
        hist = pl.concat(frames, how="vertical_relaxed").select(HISTORY_COLUMNS)
        return hist.filter(pl.col("game_date").is_between(since, before, closed="left"))

    def player_directory(self) -> pl.DataFrame:
        today = datetime.now(UTC).astimezone(ET).date()
        hist = self.player_history(today, today - timedelta(days=365))
        return hist.select("player_id", "player_name").unique(subset="player_id", keep="last")
