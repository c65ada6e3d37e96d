"""What the schedules and sensors decide, as pure functions of plain values (no Dagster, no I/O).

All clock times are ET (``America/New_York``); instants passed in are timezone-aware. Partition keys
are ET game dates as ``YYYY-MM-DD``. Cursors are small JSON documents so a sensor's state is readable
in the UI and bounded in size.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from nba_assets.lib import grading
from nba_assets.lib.alerts import Alert
from nba_assets.lib.line_fingerprints import GameLines, game_lines_doc

ET = ZoneInfo("America/New_York")

SLATE_TIME = time(10, 0)  # morning slate; the lines sensor starts watching then
OVERNIGHT_TIME = time(4, 0)  # yesterday's box scores
RETRAIN_TIME = time(6, 0)  # Mondays
FRESHNESS_DEADLINE = time(11, 30)  # today's predictions due (the freshness check)

# Catch-up and grading look at this many ET days before today (yesterday first in line).
RECENT_DAYS = 3
# Grading also follows box scores written for an older date (an overnight run by hand after the catch-up
# gave up, a fix days later) back to this far before today: a season and its offseason.
GRADING_LOOKBACK = timedelta(days=366)
# Box-score materializations the grading sensor reads per tick (a range backfill writes one per date).
BOX_SCORES_EVENTS_PER_TICK = 100
# Yesterday belongs to the 04:00 overnight run until this long after it.
CATCH_UP_GRACE = timedelta(hours=1)
MAX_CATCH_UP_ATTEMPTS = 6
# Summaries remembered (once per game date) and runs looked back on when a sensor has no cursor yet.
SUMMARY_MEMORY = 60
FIRST_TICK_LOOKBACK = timedelta(hours=24)
# The alerts sensor starts no new delivery after this long in a tick: Dagster abandons a tick after
# 60 s without storing its cursor, and one delivery can take 31 s (a 10 s Slack call, retried once,
# after a rate limit's Retry-After of at most 10 s plus 1 s: alerts.SLACK_MAX_RETRY_AFTER_SECONDS).
ALERTS_TICK_BUDGET = timedelta(seconds=20)
# A transient delivery failure (an outage, a rate limit) is retried every tick in a grey skip; once
# deliveries have failed for this long, the ticks fail red: a sink down all day is not a quiet day.
ALERT_DELIVERY_PATIENCE = timedelta(hours=1)

# Readiness statuses as Dagster stores them (AssetCheckExecutionRecordStatus values).
SUCCEEDED, FAILED, PLANNED = "SUCCEEDED", "FAILED", "PLANNED"


# ---------------------------------------------------------------- time and partitions


def et_date(moment: datetime) -> date:
    """The ET calendar date of an aware instant (a schedule tick, now)."""
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} is naive; pass an aware datetime")
    return moment.astimezone(ET).date()


def slate_partition(tick: datetime) -> str:
    """The morning slate plays the tick's own ET date."""
    return et_date(tick).isoformat()


def overnight_partition(tick: datetime) -> str:
    """The overnight run collects the ET date before the tick (games that ended last night)."""
    return (et_date(tick) - timedelta(days=1)).isoformat()


def bootstrap_decision(
    now: datetime, served: str | None, retrain_unfinished: bool, features_materialized: bool
) -> tuple[str | None, str]:
    """The model bootstrap: a retrain with cutoff = today (ET) when no promoted model serves today (a
    first deployment, an emptied or moved registry), no ``weekly_retrain_job`` run is queued or running
    and the feature store was materialized on this instance (a retrain without it can only fail); else
    no cutoff. Either way, why."""
    today = et_date(now)
    if served is not None:
        return None, f"{served} serves {today}"
    if retrain_unfinished:
        return None, f"no model serves {today}; a weekly_retrain_job run is already queued or running"
    if not features_materialized:
        return None, (
            f"no model serves {today}, and features/player_features was never materialized here: a retrain "
            "would fail; materialize the features (or run `nba-assets main`) first"
        )
    return today.isoformat(), f"no promoted model serves {today}: training one with cutoff {today}"


def retrain_cutoff(tick: datetime) -> str:
    """The weekly model trains on every game before the tick's ET date."""
    return et_date(tick).isoformat()


def recent_game_dates(now: datetime, days: int = RECENT_DAYS) -> list[str]:
    """The ``days`` ET dates before today, oldest first."""
    today = et_date(now)
    return [(today - timedelta(days=n)).isoformat() for n in range(days, 0, -1)]


def last_freshness_deadline(now: datetime) -> datetime:
    """The latest freshness deadline (11:30 ET) at or before ``now``."""
    today = et_date(now)
    deadline = datetime.combine(today, FRESHNESS_DEADLINE, ET)
    return (
        deadline if now >= deadline else datetime.combine(today - timedelta(days=1), FRESHNESS_DEADLINE, ET)
    )


def overnight_run_time(day: str) -> datetime:
    """When the scheduled overnight run for game date ``day`` fires (04:00 ET the next day)."""
    return datetime.combine(date.fromisoformat(day) + timedelta(days=1), OVERNIGHT_TIME, ET)


# ---------------------------------------------------------------- lines


def last_tipoff(schedule: pl.DataFrame, day: str) -> datetime | None:
    """The last tip-off of ``day`` (UTC) among games not postponed; midnight ET when games exist but
    the schedule gives no tip-off; None when there are no games."""
    games = schedule.filter(pl.col("status") != "postponed")
    times = [t for t in games["tipoff_utc"].to_list() if t is not None]
    if times:
        return max(times)
    if games.is_empty():
        return None
    return datetime.combine(date.fromisoformat(day) + timedelta(days=1), time(0), ET)


@dataclass(frozen=True)
class StoredLines:
    """What the instance says of the lines stored for a day, for the refresh sensor's first look.

    ``writing``: the name of a job with a run of the day still queued or running that stores them (the
    morning slate); ``stored``: a ``raw/player_props`` partition of the day is stored, written by run
    ``run_id`` ("" for one reported without a run); ``games``: that materialization's fingerprints
    (``line_fingerprints.STORED_LINES_METADATA``; None when it carries none, as one written before they were recorded)."""

    writing: str | None = None
    stored: bool = False
    run_id: str = ""
    games: dict[str, list] | None = None

    def label(self) -> str:
        """Where the lines compared with come from, for a run's tags."""
        origin = f"run {self.run_id[:8]}" if self.run_id else "a runless report"
        fingerprints = "" if self.games is not None else " (no fingerprints: every game counted as new)"
        return f"raw/player_props stored by {origin}{fingerprints}"


def first_look(cursor: str | None, day: str) -> bool:
    """The refresh sensor has not looked at ``day``'s lines yet (its cursor is of another day)."""
    return _load(cursor).get("day") != day


def stored_lines_wait(day: str, stored: StoredLines) -> str | None:
    """Why the first look at ``day`` must wait (the skip reason), or None when it can compare.

    It compares the probe with the lines stored for the day: while a run that stores them is still
    going, they are not final; when none are stored (the slate failed or stopped before
    ``raw/player_props``), there is nothing the morning's predictions were made from to compare with,
    and a silent baseline would hide lines posted since. Either way it waits, like for the schedule."""
    if stored.writing:
        return (
            f"first look at {day} waits for the {stored.writing} run of {day} still in progress: the lines "
            "it stores are what today's lines are compared with"
        )
    if not stored.stored:
        return (
            f"no lines of {day} stored (raw/player_props): the morning slate failed or stopped before them "
            f"(run morning_slate_job for {day}; lines are compared with those it stores)"
        )
    return None


@dataclass(frozen=True)
class LinesDecision:
    changed_games: tuple[str, ...]
    baseline: bool  # first look of the day with the lines as stored: remember, don't refresh
    cursor: str
    run_key: str


def lines_decision(
    cursor: str | None,
    day: str,
    games: dict[str, GameLines],
    now: datetime,
    stored: dict[str, list] | None,
) -> LinesDecision:
    """Which games' lines moved since the last tick, or, at the first look of a day, since the lines
    the day's runs stored (``stored``, ``game_lines_doc`` form, from the stored ``raw/player_props``).

    The cursor holds ``{"day": D, "games": {game: [digest, tipoff]}, "launches": n}``. The first look of a
    day compares the probe with ``stored`` (the lines the morning slate fetched, and predicted on): lines
    posted or moved between that fetch and the first tick are a move like any other; lines as stored are a
    baseline (remember, don't refresh). ``stored`` None (a stored partition without fingerprints) counts
    every current game as new. A game counts as moved when it has not tipped off and its digest differs,
    it is new, or its lines vanished (books pulled them); a game whose lines vanished because it started
    (the live feed drops started games) is not a move.

    The run key is the day, the number of refreshes requested that day (counted in the cursor) and a hash
    of the lines: lines that come back to an earlier state (a line pulled, then re-posted) get a key of
    their own, since Dagster skips a key it has seen, while a tick evaluated again from the same cursor
    (its cursor not saved) names the same key and is skipped.
    """
    prev = _load(cursor)
    current = game_lines_doc(games)
    lines = json.dumps({"day": day, "games": current}, sort_keys=True)
    digest = hashlib.sha256(lines.encode()).hexdigest()[:16]
    first = prev.get("day") != day
    before: dict[str, list] = (stored or {}) if first else prev.get("games", {})
    launches = 0 if first else prev.get("launches", 0)
    launches = launches if isinstance(launches, int) else 0

    def started(tipoff: Any) -> bool:
        if tipoff is None:
            return False
        moment = tipoff if isinstance(tipoff, datetime) else datetime.fromisoformat(tipoff)
        return moment <= now

    changed = [
        g for g, gl in games.items() if not started(gl.tipoff_utc) and before.get(g, [None])[0] != gl.digest
    ]
    changed += [g for g, (_, tip) in before.items() if g not in games and not started(tip)]
    if changed:
        launches += 1
    return LinesDecision(
        tuple(sorted(changed)),
        first and not changed,
        _lines_cursor(day, current, launches),
        f"refresh_lines:{day}:{launches}:{digest}",
    )


def _lines_cursor(day: str, games: dict[str, list], launches: int) -> str:
    return json.dumps({"day": day, "games": games, "launches": launches}, sort_keys=True)


# ---------------------------------------------------------------- The Odds API credits

# In the refresh sensor's cursor, beside the lines: the credits left (x-requests-remaining) when the
# low-credits alert went out; absent while none is due.
QUOTA_ALERTED_KEY = "quota_alerted_at"


def quota_alerted_at(cursor: str | None) -> float | None:
    """The remaining credits the low-credits alert was sent at, or None (not sent, or re-armed)."""
    value = _load(cursor).get(QUOTA_ALERTED_KEY)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def with_quota_alerted_at(cursor: str | None, alerted_at: float | None) -> str:
    """``cursor`` (the refresh sensor's JSON) with the low-credits alert state set, or removed."""
    doc = _load(cursor)
    doc.pop(QUOTA_ALERTED_KEY, None)
    if alerted_at is not None:
        doc[QUOTA_ALERTED_KEY] = alerted_at
    return json.dumps(doc, sort_keys=True)


def quota_alert_decision(
    alerted_at: float | None, remaining: float | None, refused: bool
) -> tuple[bool, float | None]:
    """Whether to send the low-credits alert now, and the state to keep.

    Once per drop: a poll refused for the reserve sends it when none is outstanding and remembers the
    credits left then. Credits only go down until the plan renews, so a later reading above that
    number means they were renewed (or topped up): the alert is re-armed, and the next drop below the
    reserve alerts again. Refusals in between (every tick until the renewal) send nothing, nor do
    readings that cannot be compared (header not sent)."""
    if alerted_at is not None and remaining is not None and remaining > alerted_at:
        alerted_at = None  # renewed since the alert
    if refused and alerted_at is None:
        return True, remaining
    return False, alerted_at


def odds_quota_alert(day: str, reason: str) -> Alert:
    """The low-credits alert: why the refresh sensor stopped polling, and what still runs."""
    return Alert(
        kind="odds_quota_low",
        title="The Odds API credits at the reserve: line polling stopped",
        partition=day,
        text=f"{reason}. refresh_lines_sensor no longer polls today's lines (line moves are not picked "
        "up) until the credits renew or the plan is raised; the scheduled morning slate and other runs "
        "still fetch lines, spending the reserve down to the floor (NBA_ASSETS_ODDS_QUOTA_FLOOR).",
    )


# ---------------------------------------------------------------- alert delivery failures

# In the cursor of every sensor that sends alerts, beside its own state: when (UTC, ISO) the first of
# the deliveries failing since the last one that went through failed; absent while deliveries go out.
DELIVERY_FAILING_KEY = "alert_delivery_failing_since"


def delivery_failing_since(cursor: str | None) -> datetime | None:
    """When the alert deliveries started failing, per ``cursor`` (None: they go out)."""
    value = _load(cursor).get(DELIVERY_FAILING_KEY)
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


def with_delivery_failing_since(cursor: str | None, since: datetime | None) -> str:
    """``cursor`` (a sensor's JSON) with the failing-since moment set, or removed."""
    doc = _load(cursor)
    doc.pop(DELIVERY_FAILING_KEY, None)
    if since is not None:
        doc[DELIVERY_FAILING_KEY] = since.isoformat(timespec="seconds")
    return json.dumps(doc, sort_keys=True)


@dataclass(frozen=True)
class DeliveryFailure:
    """What a tick does about an alert it could not deliver: ``red`` fails the tick (with ``message``),
    else it skips and the next tick tries again; ``since`` is kept in the cursor."""

    red: bool
    since: datetime
    message: str


def delivery_failure_decision(
    error: str,
    transient: bool,
    fix: str,
    failing_since: datetime | None,
    now: datetime,
    patience: timedelta = ALERT_DELIVERY_PATIENCE,
) -> DeliveryFailure:
    """A delivery failed with ``error`` (naming the sink and its error code or class). A refusal that
    needs a person (not ``transient``) fails the tick red at once; a transient failure skips the tick,
    until deliveries have been failing for ``patience``: then every tick that fails is red, naming how
    long. Either way the alerts are held (the cursor stays before them) and go out once the sink takes
    them."""
    since = failing_since or now
    held = "Alerts are held until the sink accepts them" + (f": {fix}" if fix else "")
    if not transient:
        return DeliveryFailure(True, since, f"{error}. {held}")
    if now - since >= patience:
        minutes = int((now - since).total_seconds() // 60)
        return DeliveryFailure(
            True,
            since,
            f"alert delivery has failed for {minutes} min (since {since:%Y-%m-%d %H:%M} UTC), last: "
            f"{error}. {held}",
        )
    return DeliveryFailure(False, since, f"alert delivery failed ({error}); retrying next tick")


# ---------------------------------------------------------------- readiness: catch-up and grading


@dataclass(frozen=True)
class ReadinessState:
    """Where ``box_scores_ready_for_grading`` stands for one game date.

    ``status``: SUCCEEDED / FAILED, PLANNED (a run meant to evaluate it), or None (never planned).
    ``run_in_progress``: a run that will (re-)evaluate it has not finished yet.
    """

    status: str | None = None
    run_in_progress: bool = False
    check_storage_id: int | None = None
    box_scores_storage_id: int | None = None  # the box-scores materialization the check judged
    latest_box_scores_storage_id: int | None = None

    @property
    def passed(self) -> bool:
        return self.status == SUCCEEDED

    @property
    def current(self) -> bool:
        """The evaluation judged the latest box scores of the date."""
        return self.latest_box_scores_storage_id in (None, self.box_scores_storage_id)


@dataclass(frozen=True)
class StaleSlateState:
    """Where today's slate stands on ``player_features_history_current``.

    ``status``: the check's latest evaluation in a run of today's partition (SUCCEEDED / FAILED, None:
    none yet); ``box_scores_after``: the storage id of the newest ``raw/box_scores`` materialization of
    the dates the check looks back on, written after that evaluation (None: none since);
    ``run_in_progress``: a run of today's slate or lines refresh has not finished."""

    day: str
    status: str | None
    box_scores_after: int | None
    run_in_progress: bool


def stale_slate_decision(state: StaleSlateState) -> tuple[str | None, str]:
    """(run key, why): run today's slate again once box scores its failed history check lacked may have
    been written since (a late overnight run, its catch-up, a run by hand); the slate judges the history
    again, so a write that still leaves a date missing fails the check anew and waits for the next one.
    One run per box-scores write (the key names it)."""
    if state.status != FAILED:
        return None, f"today's features ({state.day}) are not waiting for history"
    if state.box_scores_after is None:
        return None, f"today's features ({state.day}) wait for the box scores of the days before"
    if state.run_in_progress:
        return None, f"a run of {state.day}'s slate is in progress"
    return (
        f"stale_slate:{state.day}:box_scores@{state.box_scores_after}",
        "box scores written since the check failed",
    )


@dataclass
class CatchUpCursor:
    attempts: dict[str, int] = field(default_factory=dict)
    exhausted: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, raw: str | None) -> CatchUpCursor:
        doc = _load(raw)
        return cls(dict(doc.get("attempts", {})), list(doc.get("exhausted", [])))

    def dump(self) -> str:
        return json.dumps({"attempts": self.attempts, "exhausted": self.exhausted}, sort_keys=True)


@dataclass(frozen=True)
class CatchUpDecision:
    requests: tuple[tuple[str, int], ...]  # (game date, attempt number)
    exhausted: tuple[str, ...]  # dates that just ran out of attempts (alert once)
    cursor: str


def catch_up_decision(
    states: dict[str, ReadinessState],
    cursor: str | None,
    now: datetime,
    max_attempts: int = MAX_CATCH_UP_ATTEMPTS,
) -> CatchUpDecision:
    """Re-run the overnight box scores for recent dates whose readiness failed or never ran.

    Yesterday waits for its 04:00 run (plus a grace period); a date with a run in flight waits for it;
    each date gets ``max_attempts`` catch-up runs, then is reported once as exhausted. Dates that
    leave the recent window are forgotten, which keeps the cursor bounded.
    """
    cur = CatchUpCursor.parse(cursor)
    window = recent_game_dates(now)
    cur.attempts = {d: n for d, n in cur.attempts.items() if d in window}
    cur.exhausted = [d for d in cur.exhausted if d in window]
    requests, exhausted = [], []
    for day in window:
        state = states.get(day, ReadinessState())
        if state.passed or state.run_in_progress or now < overnight_run_time(day) + CATCH_UP_GRACE:
            continue
        done = cur.attempts.get(day, 0)
        if done < max_attempts:
            cur.attempts[day] = done + 1
            requests.append((day, done + 1))
        elif day not in cur.exhausted:
            cur.exhausted.append(day)
            exhausted.append(day)
    return CatchUpDecision(tuple(requests), tuple(exhausted), cur.dump())


def catch_up_cursor_without(cursor: str, days: tuple[str, ...]) -> str:
    """``cursor`` with ``days`` no longer marked exhausted: their alert was not delivered, so the next
    tick finds them exhausted again and retries it (their attempts stay used up)."""
    cur = CatchUpCursor.parse(cursor)
    cur.exhausted = [d for d in cur.exhausted if d not in days]
    return cur.dump()


@dataclass(frozen=True)
class PartitionWrite:
    """One materialization of a daily asset (``raw/box_scores`` for grading, the grades for the
    performance refresh): its event storage id, its date, and whether the run that wrote it has
    finished (a runless report has; while it runs, what follows the write, a readiness evaluation or the
    performance, is still to come)."""

    storage_id: int
    day: str
    run_finished: bool = True


@dataclass(frozen=True)
class GradingDecision:
    requests: tuple[tuple[str, str], ...]  # (game date, run key)
    cursor: str


def grading_box_scores_after(cursor: str | None) -> int | None:
    """The storage id of the last box-scores materialization the grading sensor has read; None before
    its first read (it then reads those of the last ``FIRST_TICK_LOOKBACK``)."""
    after = _load(cursor).get("box_scores_after")
    return after if isinstance(after, int) and not isinstance(after, bool) else None


def grading_dates(now: datetime, writes: list[PartitionWrite]) -> list[str]:
    """The dates the grading sensor judges: the recent ones (``recent_game_dates``), and those of the
    box scores written since its last read that are before today and within ``GRADING_LOOKBACK``
    (a date run again by hand, whatever its age), oldest first."""
    today = et_date(now)
    oldest = (today - GRADING_LOOKBACK).isoformat()
    written = {w.day for w in writes if w.day and oldest <= w.day < today.isoformat()}
    return sorted(written | set(recent_game_dates(now)))


def grading_decision(
    states: dict[str, ReadinessState],
    grades_storage_ids: dict[str, int | None],
    cursor: str | None,
    writes: list[PartitionWrite] | None = None,
) -> GradingDecision:
    """Grade date D once its readiness passed on its latest box scores and no grades of D were
    written after that evaluation.

    ``states`` holds the dates judged (``grading_dates``): the recent ones, and any older date whose
    box scores were written since the last read (``writes``, oldest first): the catch-up gives up on a
    date after a day, and its alert asks for the overnight job by hand, days later maybe.

    The run key names the box-scores materialization that readiness judged, so D is graded once per
    version of its box scores: a failed grade run is not relaunched in a loop (the alert reports it),
    and a catch-up that brings corrected box scores leads to a regrade. The cursor keeps the run key
    last requested per judged date (``{"requested": {D: key}}``) so a tick does not repeat itself,
    and the last box-scores write read (``"box_scores_after"``): a write whose run has not finished, or
    whose date has a run in flight, holds it (its readiness is still to come; it is read again).
    """
    doc = _load(cursor)
    requested: dict[str, str] = dict(doc.get("requested", {}))
    requested = {d: k for d, k in requested.items() if d in states}
    out = []
    for day, state in sorted(states.items()):
        if not state.passed or state.run_in_progress or not state.current:
            continue
        graded = grades_storage_ids.get(day)
        if graded is not None and state.check_storage_id is not None and graded > state.check_storage_id:
            continue
        version = state.box_scores_storage_id or state.latest_box_scores_storage_id or state.check_storage_id
        key = f"grade_job:{day}:box_scores@{version}"
        if requested.get(day) != key:
            requested[day] = key
            out.append((day, key))
    after = grading_box_scores_after(cursor)
    for write in sorted(writes or [], key=lambda w: w.storage_id):
        waiting = states.get(write.day)
        if not write.run_finished or (waiting is not None and waiting.run_in_progress):
            after = write.storage_id - 1 if after is None else after
            break
        after = write.storage_id if after is None else max(after, write.storage_id)
    new: dict[str, Any] = {"requested": requested}
    if after is not None:
        new["box_scores_after"] = after
    return GradingDecision(tuple(out), json.dumps(new, sort_keys=True))


# ---------------------------------------------------------------- performance after a regrade

# Grades materializations read per tick by the performance refresh (a season's backfill is ~250).
REFRESH_EVENTS_PER_TICK = 500


@dataclass(frozen=True)
class PerformanceRefresh:
    """One run of ``system_performance_job`` over ``start .. end`` (one season's dates)."""

    start: str
    end: str
    regraded: tuple[str, ...]  # the dates whose new grades made these dates stale
    run_key: str


@dataclass(frozen=True)
class PerformanceRefreshDecision:
    runs: tuple[PerformanceRefresh, ...]
    cursor: str
    waiting_on: str | None = None  # a date whose grading run is still going (read again next tick)


def performance_refresh_decision(
    writes: list[PartitionWrite], performance_ids: dict[str, int], cursor: str | None
) -> PerformanceRefreshDecision:
    """Which ``grading/system_performance`` dates to recompute after grades were written.

    ``performance_ids`` holds, per date, the storage id of its latest performance materialization.
    A write of D's grades leaves stale the dates whose windows hold D (``grading.performance_dates_
    reading``: D and the rest of D's season, up to the newest date with a performance) and whose
    performance was materialized before that write. Dates never materialized are not stale: grading
    them writes them. So the nightly grading of the newest date (its performance written after its
    grades, in the same run) asks for nothing, and a regrade of an older date asks for every later
    date of its season once.

    The cursor is the storage id of the last write considered (``{"after": id}``). A write whose run
    has not finished (a grade run whose performance step is still to come) holds the cursor before
    it. The affected dates of one season are one contiguous range (from the oldest regraded date on):
    one run each, keyed by the range and the last write considered, so a tick evaluated again from the
    same cursor names the same run.
    """
    after = performance_refresh_after(cursor)
    newest = max(performance_ids) if performance_ids else None
    stale: dict[date, set[date]] = {}
    regraded: dict[date, set[str]] = {}
    last, waiting = after, None
    for write in sorted(writes, key=lambda w: w.storage_id):
        if write.storage_id <= after:
            continue
        if not write.run_finished:
            waiting = write.day
            break
        last = write.storage_id
        if newest is None or not write.day:
            continue
        for day in grading.performance_dates_reading(
            date.fromisoformat(write.day), date.fromisoformat(newest)
        ):
            written = performance_ids.get(day.isoformat())
            if written is not None and written < write.storage_id:
                season = grading.season_start_of(day)
                stale.setdefault(season, set()).add(day)
                regraded.setdefault(season, set()).add(write.day)
    runs = []
    for season in sorted(stale):
        start, end = min(stale[season]).isoformat(), max(stale[season]).isoformat()
        runs.append(
            PerformanceRefresh(
                start,
                end,
                tuple(sorted(regraded[season])),
                f"system_performance_refresh:{start}..{end}:grades@{last}",
            )
        )
    return PerformanceRefreshDecision(tuple(runs), json.dumps({"after": last}), waiting)


def performance_refresh_after(cursor: str | None) -> int:
    """The storage id of the last grades write the refresh considered (0 before its first tick)."""
    after = _load(cursor).get("after", 0)
    return after if isinstance(after, int) and not isinstance(after, bool) else 0


def regraded_label(days: tuple[str, ...]) -> str:
    """The regraded dates for a run tag: a few by name, a backfill's as a count and a range."""
    if len(days) <= 5:
        return ",".join(days)
    return f"{len(days)} dates {days[0]}..{days[-1]}"


# ---------------------------------------------------------------- run-event cursors


@dataclass
class RunEventsCursor:
    """The last storage id processed per run-status event type (``RUN_FAILURE`` ...), plus the game
    dates already summarized (for the once-per-date summary)."""

    after: dict[str, int] = field(default_factory=dict)
    done: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, raw: str | None) -> RunEventsCursor:
        doc = _load(raw)
        return cls({k: int(v) for k, v in doc.get("after", {}).items()}, list(doc.get("done", [])))

    def dump(self) -> str:
        return json.dumps({"after": self.after, "done": self.done[-SUMMARY_MEMORY:]}, sort_keys=True)


# ---------------------------------------------------------------- alert content


@dataclass(frozen=True)
class RunFacts:
    """What an alert may say about a finished run: ids, names, partitions, check metadata (never an
    error message: an HTTP error can carry a URL with an API key in it)."""

    run_id: str
    job: str
    status: str  # SUCCESS | FAILURE | CANCELED
    partition: str
    failed_checks: tuple[dict[str, Any], ...] = ()
    failed_steps: tuple[tuple[str, str], ...] = ()  # (step key, error class name)
    failure_reason: str = ""
    relaunched_as: str = ""  # the run the instance's run_retries launched in its place


def run_alerts(facts: RunFacts) -> list[Alert]:
    """One alert for a failed run (listing the checks that failed in it); one per failed check of a
    run that did not fail. So every failed check is reported exactly once, with its run."""
    if facts.status == "FAILURE":
        steps = ", ".join(f"{s} ({cls})" if cls else s for s, cls in facts.failed_steps)
        text = "; ".join(
            t
            for t in (
                f"failed steps: {steps}" if steps else "",
                f"reason: {facts.failure_reason}" if facts.failure_reason else "",
                f"relaunched as run {facts.relaunched_as[:8]} (run_retries)" if facts.relaunched_as else "",
                f"{len(facts.failed_checks)} failed check(s)" if facts.failed_checks else "",
            )
            if t
        )
        return [
            Alert(
                kind="run_failure",
                title=f"Run failed: {facts.job}" + (f" [{facts.partition}]" if facts.partition else ""),
                run_id=facts.run_id,
                job=facts.job,
                partition=facts.partition,
                checks=facts.failed_checks,
                text=text,
            )
        ]
    return [
        Alert(
            kind="check_failure",
            title=f"Check failed: {c['asset']}:{c['check']} ({c['severity']})"
            + (f" [{c['partition']}]" if c["partition"] else ""),
            run_id=facts.run_id,
            job=facts.job,
            partition=c["partition"],
            checks=(c,),
        )
        for c in facts.failed_checks
    ]


@dataclass(frozen=True)
class TickOutcome:
    """A finished tick of a sensor or schedule: its id, when it started (a UTC timestamp) and, when it
    failed, its error's class (never its text: it can hold a URL with a key in it)."""

    tick_id: int
    timestamp: float
    failed: bool
    error_class: str = ""


@dataclass
class TickCursor:
    """Per instigator (``"sensor:<name>"``, ``"schedule:<name>"``), the last finished tick read and
    whether it had failed (a failure streak in progress)."""

    last: dict[str, tuple[int, bool]] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: str | None) -> TickCursor:
        doc = _load(raw).get("last", {})
        return cls({k: (int(v[0]), bool(v[1])) for k, v in doc.items()})

    def dump(self) -> str:
        return json.dumps({"last": {k: list(v) for k, v in self.last.items()}}, sort_keys=True)


def tick_failure_alerts(
    kind: str, name: str, outcomes: list[TickOutcome], failing: bool
) -> tuple[list[Alert], bool]:
    """One alert per failure streak of a sensor or schedule: for each failed tick in ``outcomes``
    (finished ticks, oldest first) that follows one that did not fail (``failing``: the tick before
    them had failed). A sensor failing every minute is one alert, not one a minute; after a tick without
    error its next failure is alerted again. Returns the alerts and whether the last tick failed."""
    alerts = []
    for outcome in outcomes:
        if outcome.failed and not failing:
            at = datetime.fromtimestamp(outcome.timestamp, UTC)
            alerts.append(
                Alert(
                    kind="tick_failure",
                    title=f"{kind.capitalize()} failed: {name}",
                    text=f"its tick of {at:%Y-%m-%d %H:%M} UTC raised {outcome.error_class or 'an error'}; "
                    "while it keeps failing it launches nothing it should (runs, alerts, retries). Later "
                    "failures of this streak are not alerted again: its tick history in the UI has each "
                    "one, with the error.",
                )
            )
        failing = outcome.failed
    return alerts, failing


def catch_up_exhausted_alert(day: str, attempts: int, last_check: dict[str, Any] | None) -> Alert:
    return Alert(
        kind="catch_up_exhausted",
        title=f"Box scores for {day} still not ready after {attempts} catch-up runs",
        job="overnight_box_scores_job",
        partition=day,
        checks=(last_check,) if last_check else (),
        text=f"Grading of {day} waits. The catch-up sensor has stopped retrying; once the feed has the "
        f"games, run overnight_box_scores_job for {day} by hand and grading follows (grading_sensor "
        "grades a date whose readiness passes, however late).",
    )


def daily_summary(
    day: str, grades_meta: dict[str, Any], perf_meta: dict[str, Any], published_meta: dict[str, Any]
) -> Alert:
    """D's record and hit rate by system (from ``grading/prediction_grades`` metadata), the record of
    its calls as first published when any were (``grading/published_grades``), and the season table by
    system with the published calls' 30-day and season record (``grading/system_performance``)."""
    lines = []
    for system, rec in sorted((grades_meta.get("record_by_system") or {}).items()):
        try:
            wins, losses = (int(x) for x in str(rec).split("-"))
        except ValueError:
            lines.append(f"- `{system}`: {rec}")
            continue
        rate = f"{wins / (wins + losses):.1%}" if wins + losses else "-"
        lines.append(f"- `{system}`: {wins}-{losses} ({rate})")
    results = grades_meta.get("results") or {}
    parts = [f"Record on {day} by system (WIN-LOSS):", *(lines or ["- no graded bets"])]
    published = published_meta.get("published_record_by_system")
    if isinstance(published, dict) and published:
        # the calls as first published before tip-off, the withdrawn ones apart (lib/publications)
        parts.append(
            "As first published (WIN-LOSS-PUSH; closing-line value; withdrawn before tip-off apart):"
        )
        for system, rec in sorted(published.items()):
            clv = rec.get("clv_mean")
            beat = rec.get("beat_close_share")
            clv_text = f"CLV {clv:+.2f} pts ({beat:.0%} beat the close)" if clv is not None else "no CLV"
            parts.append(
                f"- `{system}`: {rec.get('record')}, {clv_text}, withdrawn {rec.get('withdrawn_bets')} "
                f"({rec.get('withdrawn_record')})"
            )
    if results:
        parts.append("Results: " + ", ".join(f"{k} {v}" for k, v in sorted(results.items())))
    if grades_meta.get("dagster/row_count") is not None:
        parts.append(f"Predictions graded: {grades_meta['dagster/row_count']}")
    season = perf_meta.get("season_by_system")
    if season:
        parts += ["Season to date by system:", str(season)]
    published_perf = perf_meta.get("published_by_system")
    if isinstance(published, dict) and published and published_perf:
        parts += ["As first published, last 30 days and season to date:", str(published_perf)]
    return Alert(
        kind="daily_summary", title=f"Daily summary {day}", partition=day, text=redact("\n".join(parts))
    )


_SECRETISH = re.compile(r"(?i)\b(api[_-]?key|apikey|token|secret|password|key)=([^&\s,;]+)")
_SLACK_TOKEN = re.compile(r"\bxox[abposr]-[A-Za-z0-9-]+")


def redact(value: Any) -> Any:
    """Strings with ``key=...``/``token=...`` pairs or Slack tokens masked; other values as they are."""
    if not isinstance(value, str):
        return value
    return _SLACK_TOKEN.sub("xox?-***", _SECRETISH.sub(r"\1=***", value))


def _load(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        doc = json.loads(raw)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}
