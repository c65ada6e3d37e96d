"""Sensors: thin bodies that read the instance or the source, let ``policy`` decide, and act.

* ``refresh_lines_sensor``: from the morning slate to the last tip-off, polls today's lines through the
  ``nba_source`` resource (the current offer, not the lines ledger) and re-runs injuries, lines, context,
  features, predictions and the report when a game's lines moved or were pulled; it waits until today's
  schedule is stored (the morning slate ran), which the refreshed assets read. Its first look of a day
  compares the lines with those stored for the day (the fingerprints ``raw/player_props`` records), so
  lines posted or moved between the slate's fetch and that tick are refreshed; it waits while the
  slate's run is still going, or when no lines were stored. Its polls are optional:
  one that would take The Odds API's credits under the reserve is refused before any paid call, the
  tick skips naming the header and its value, and the alert sink hears of it once per drop.
* ``box_scores_catch_up_sensor``: re-runs the overnight box scores for recent dates whose grading
  readiness failed or never ran, a bounded number of times, then alerts once (an alert that cannot go
  out is retried next tick without holding back the other dates' runs).
* ``grading_sensor``: grades a date once its readiness passed and no grades were written since: the
  recent dates, and any older one whose box scores were written since its last tick (a date the
  catch-up gave up on, run again by hand days later).
* ``stale_slate_sensor``: runs today's slate again once the box scores its blocked features lacked
  (``player_features_history_current``) are written.
* ``system_performance_refresh_sensor``: after the grades of a date older than the newest graded one
  are written again (a regrade, a backfill), recomputes the performance of the later dates of its
  season in one run; the nightly grading of the newest date asks for nothing.
* ``alerts_sensor``: every failed run and every failed check, once, to the alert sink (a backlog over
  several ticks, each within its time budget). Every sensor that sends alerts retries a transient
  delivery failure in a skipped tick, and fails its tick red on a refusal that needs a person (Slack
  auth, a 403/404 from the bucket, an alert log it cannot write) or after an hour of failures.
* ``daily_summary_sensor``: after a date's grading succeeds, its record and performance, once.
* ``failed_ticks_sensor``: a sensor or schedule whose ticks start failing (it raises, so it launches
  nothing and no run fails to say so), once per failure streak, to the alert sink.
* ``model_bootstrap_sensor``: when no promoted model serves today (a first deployment, an emptied
  registry), one ``weekly_retrain_job`` run a day with cutoff = today, instead of every prediction
  failing until the Monday retrain.
"""

from datetime import UTC, datetime, timedelta

import dagster as dg

from nba_assets.defs.automation import policy, queries
from nba_assets.defs.automation.resources import AlertsResource
from nba_assets.defs.automation.schedules import retrain_request
from nba_assets.defs.features.assets import KEY as FEATURES
from nba_assets.defs.grading.assets import BOX, GRADES, PERF, PUBLISHED
from nba_assets.defs.jobs import (
    grade_job,
    ingest_raw_job,
    morning_slate_job,
    overnight_box_scores_job,
    refresh_lines_job,
    system_performance_job,
    weekly_retrain_job,
)
from nba_assets.defs.partitions import RANGE_END_TAG, RANGE_START_TAG, TRIGGER_TAG
from nba_assets.defs.resources import NbaSourceResource, ObjectStoreResource
from nba_assets.lib.alerts import Alert, AlertDeliveryError, delivery_error
from nba_assets.lib.features.store import HISTORY_CHECK_DAYS
from nba_assets.lib.line_fingerprints import line_fingerprints
from nba_assets.lib.sources.live.quota import REMAINING_METADATA, OddsQuotaError

SCHEDULE = dg.AssetKey(["raw", "schedule"])
PROPS = dg.AssetKey(["raw", "player_props"])
# the jobs whose runs of a date store its lines (raw/player_props)
LINES_WRITERS = (morning_slate_job.name, refresh_lines_job.name, ingest_raw_job.name)
RUNNING = dg.DefaultSensorStatus.RUNNING


def utc_now() -> datetime:
    """The sensors' clock (tests replace it to stand at a chosen ET moment)."""
    return datetime.now(UTC)


class Delivery:
    """A tick's deliveries to the alert sink, and the failing-since moment it keeps in its cursor
    (``policy.delivery_failing_since``).

    A transient delivery error (an outage, a rate limit, a timeout) logs its code or class (never its
    text) and :meth:`send` returns False, so the caller keeps its cursor before the batch and the next
    tick tries again. A refusal that needs a person (a revoked token, a wrong channel, a bucket that
    answers 403 or 404, an alert log that cannot be written), an error of unknown kind, or transient
    errors for ``policy.ALERT_DELIVERY_PATIENCE`` fail the tick (red in the UI) with an
    :class:`AlertDeliveryError` naming the sink and the error; a failed tick stores no cursor, so the
    alerts are held and go out once the sink is fixed, and nobody mistakes the silence for a quiet day.
    """

    def __init__(self, context: dg.SensorEvaluationContext, alerts: AlertsResource) -> None:
        self.log = context.log
        self.alerts = alerts
        self.failing_since = policy.delivery_failing_since(context.cursor)

    def send(self, batch: list[Alert]) -> bool:
        """Send ``batch`` (one event's alerts, together): True when delivered."""
        try:
            self.alerts.send_all(batch)
        except Exception as exc:
            error = delivery_error(f"the alert sink {type(self.alerts).__name__}", exc)
            failure = policy.delivery_failure_decision(
                str(error), error.transient, error.fix, self.failing_since, utc_now()
            )
            self.failing_since = failure.since
            if failure.red:
                raise AlertDeliveryError(failure.message, error.transient, error.fix) from None
            self.log.error(failure.message)
            return False
        if batch:
            self.failing_since = None
        return True

    def send_or_stop(self, batch: list[Alert], sent: int, what: str, cursor: str) -> dg.SensorResult | None:
        """Send one batch of a tick that goes through events one by one: None when delivered, else the
        tick's result. A transient failure skips with ``cursor`` (the events done so far); so does a
        refusal once ``sent`` (``what``: "alert(s)", ...) went out this tick, since a failed tick stores
        no cursor and they would go out again (the next tick fails at once). A refusal before anything
        went out fails the tick."""
        try:
            delivered = self.send(batch)
        except AlertDeliveryError as exc:
            if not sent:
                raise
            return dg.SensorResult(skip_reason=f"{sent} {what} sent, then: {exc}", cursor=self.cursor(cursor))
        if not delivered:
            return dg.SensorResult(
                skip_reason="alert delivery failed; retrying next tick", cursor=self.cursor(cursor)
            )
        return None

    def cursor(self, cursor: str | None) -> str:
        """``cursor`` with this tick's failing-since moment (set, or cleared by a delivery)."""
        return policy.with_delivery_failing_since(cursor, self.failing_since)


@dg.sensor(
    name="refresh_lines_sensor",
    job=refresh_lines_job,
    minimum_interval_seconds=15 * 60,
    default_status=RUNNING,
    description="10:00 ET to today's last tip-off: polls today's lines (nba_source) and re-runs injuries, "
    "lines, context, features, predictions and the report for today when a game's lines moved (player, book, "
    "line, prices) or were pulled; the first poll of a day compares with the lines the morning slate stored "
    "(raw/player_props). Stops polling (and alerts once) when The Odds API's credits left would "
    "go under the reserve kept for the scheduled fetches.",
)
def refresh_lines_sensor(
    context: dg.SensorEvaluationContext,
    nba_source: NbaSourceResource,
    object_store: ObjectStoreResource,
    alerts: AlertsResource,
) -> dg.SensorResult:
    now = utc_now()
    day = policy.et_date(now)
    opens = datetime.combine(day, policy.SLATE_TIME, policy.ET)
    if now < opens:
        return dg.SensorResult(
            skip_reason=f"before the morning slate ({opens:%H:%M} ET)", cursor=context.cursor
        )
    # The refresh re-reads injuries and lines over the slate's schedule (raw/schedule of today, which
    # the refresh job does not write): without it (a deployment started after 10:00, a slate that
    # failed before its schedule step) every run would fail on a missing table or predict nothing.
    if queries.latest_materialization(context.instance, SCHEDULE, day.isoformat()) is None:
        return dg.SensorResult(
            skip_reason=f"no schedule of {day} stored: the morning slate has not run for it "
            f"(run morning_slate_job for {day}; lines are refreshed over a slate)",
            cursor=context.cursor,
        )
    # The first look of a day compares the lines now with those the day's runs stored (the morning
    # slate's, predicted on), not with itself: lines posted between the slate's fetch and this tick are
    # a move. It waits (asking no source) while they are being stored, or when none were.
    stored = None
    if policy.first_look(context.cursor, day.isoformat()):
        stored = queries.stored_lines(context.instance, PROPS, day.isoformat(), LINES_WRITERS)
        wait = policy.stored_lines_wait(day.isoformat(), stored)
        if wait:
            return dg.SensorResult(skip_reason=wait, cursor=context.cursor)
    # The source's schedule, not raw/schedule: tip-offs can move after the slate ran, and the raw
    # asset's metadata does not carry them.
    source = nba_source.get_probe_source(object_store.get_store())
    last = policy.last_tipoff(source.schedule([day], now).frame, day.isoformat())
    if last is None:
        return dg.SensorResult(skip_reason=f"no games on {day}", cursor=context.cursor)
    if now >= last:
        return dg.SensorResult(
            skip_reason=f"every game of {day} has tipped off (last at {last.astimezone(policy.ET):%H:%M} ET)",
            cursor=context.cursor,
        )
    alerted_at = policy.quota_alerted_at(context.cursor)
    delivery = Delivery(context, alerts)
    try:
        # the current offer only: the ledger would keep a pulled line alive, and a probe records nothing
        batch = source.player_props([day], now, ledger=False)
    except OddsQuotaError as exc:
        # the poll would spend the reserve of the scheduled fetches: no paid call went out
        send, alerted_at = policy.quota_alert_decision(alerted_at, exc.quota.remaining, refused=True)
        status = "alerted before"
        if send:
            delivered = delivery.send([policy.odds_quota_alert(day.isoformat(), str(exc))])
            status = "alert sent" if delivered else "alert delivery failed; retrying next tick"
            alerted_at = alerted_at if delivered else None
        return dg.SensorResult(
            skip_reason=f"line polling stopped: {exc} ({status})",
            cursor=delivery.cursor(policy.with_quota_alerted_at(context.cursor, alerted_at)),
        )
    _, alerted_at = policy.quota_alert_decision(alerted_at, batch.metrics.get(REMAINING_METADATA), False)
    games = line_fingerprints(batch.frame)
    decision = policy.lines_decision(
        context.cursor, day.isoformat(), games, now, stored.games if stored else None
    )
    cursor = delivery.cursor(policy.with_quota_alerted_at(decision.cursor, alerted_at))
    if decision.baseline:
        return dg.SensorResult(
            skip_reason=f"first look at {day}: lines of {len(games)} game(s) as stored "
            f"({stored.label() if stored else 'raw/player_props'}), remembered",
            cursor=cursor,
        )
    if not decision.changed_games:
        return dg.SensorResult(skip_reason=f"no line moved ({len(games)} game(s))", cursor=cursor)
    request = dg.RunRequest(
        run_key=decision.run_key,
        partition_key=day.isoformat(),
        tags={
            TRIGGER_TAG: "refresh_lines_sensor",
            "nba_assets/lines_moved": ",".join(decision.changed_games),
            # the first look of a day compares with the stored lines, later ticks with the last poll
            "nba_assets/lines_compared_with": stored.label() if stored else "the previous poll",
        },
    )
    return dg.SensorResult(run_requests=[request], cursor=cursor)


@dg.sensor(
    name="box_scores_catch_up_sensor",
    job=overnight_box_scores_job,
    minimum_interval_seconds=30 * 60,
    default_status=RUNNING,
    description=f"Re-runs overnight_box_scores_job for the last {policy.RECENT_DAYS} ET dates whose grading "
    f"readiness failed or never ran (yesterday after 05:00 ET), at most {policy.MAX_CATCH_UP_ATTEMPTS} times "
    "per date, then alerts once.",
)
def box_scores_catch_up_sensor(
    context: dg.SensorEvaluationContext, alerts: AlertsResource
) -> dg.SensorResult:
    now = utc_now()
    days = policy.recent_game_dates(now)
    states = queries.readiness_states(context.instance, days, overnight_box_scores_job.name)
    decision = policy.catch_up_decision(states, context.cursor, now)
    gave_up = [
        policy.catch_up_exhausted_alert(
            day, policy.MAX_CATCH_UP_ATTEMPTS, queries.failed_readiness(context.instance, day)
        )
        for day in decision.exhausted
    ]
    requests = [
        dg.RunRequest(
            run_key=f"box_scores_catch_up:{day}:{attempt}",
            partition_key=day,
            tags={TRIGGER_TAG: "box_scores_catch_up_sensor", "nba_assets/attempt": str(attempt)},
        )
        for day, attempt in decision.requests
    ]
    # An alert that cannot go out waits for the next tick (its dates are not marked exhausted); the
    # other dates' catch-up runs go out regardless. A refusal that needs a person (or an outage past
    # the patience) still fails a tick that has nothing else to do.
    delivery = Delivery(context, alerts)
    try:
        delivered = delivery.send(gave_up)
    except AlertDeliveryError as exc:
        if not requests:
            raise
        context.log.error(f"{exc}; the catch-up runs are requested, the alert is retried next tick")
        delivered = False
    cursor = delivery.cursor(
        decision.cursor if delivered else policy.catch_up_cursor_without(decision.cursor, decision.exhausted)
    )
    if requests:
        return dg.SensorResult(run_requests=requests, cursor=cursor)
    if not delivered:
        return dg.SensorResult(skip_reason="alert delivery failed; retrying next tick", cursor=cursor)
    if decision.exhausted:
        return dg.SensorResult(
            skip_reason=f"gave up on {', '.join(decision.exhausted)} after {policy.MAX_CATCH_UP_ATTEMPTS} "
            "catch-up runs each (alert sent)",
            cursor=cursor,
        )
    return dg.SensorResult(skip_reason=f"nothing to catch up in {days[0]}..{days[-1]}", cursor=cursor)


@dg.sensor(
    name="grading_sensor",
    job=grade_job,
    minimum_interval_seconds=5 * 60,
    default_status=RUNNING,
    description=f"Grades each of the last {policy.RECENT_DAYS} ET dates, and any older date whose box scores "
    "were written again (an overnight run by hand, however late), once box_scores_ready_for_grading passed on "
    "its latest box scores and no grades were written after that evaluation.",
)
def grading_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    now = utc_now()
    records = queries.materializations_since(
        context.instance,
        BOX,
        policy.grading_box_scores_after(context.cursor),
        now - policy.FIRST_TICK_LOOKBACK,
        policy.BOX_SCORES_EVENTS_PER_TICK,
    )
    writes = queries.partition_writes(context.instance, records)
    days = policy.grading_dates(now, writes)
    states = queries.readiness_states(context.instance, days, overnight_box_scores_job.name)
    graded = queries.latest_materialization_ids(context.instance, GRADES, days)
    decision = policy.grading_decision(states, graded, context.cursor, writes)
    requests = [
        dg.RunRequest(run_key=key, partition_key=day, tags={TRIGGER_TAG: "grading_sensor"})
        for day, key in decision.requests
    ]
    if requests:
        return dg.SensorResult(run_requests=requests, cursor=decision.cursor)
    return dg.SensorResult(skip_reason="no date newly ready for grading", cursor=decision.cursor)


HISTORY_CHECK = dg.AssetCheckKey(FEATURES, "player_features_history_current")


@dg.sensor(
    name="stale_slate_sensor",
    job=morning_slate_job,
    minimum_interval_seconds=5 * 60,
    default_status=RUNNING,
    description="Runs today's slate again once the box scores its blocked features lacked are written: "
    "when player_features_history_current failed on today's partition (a game of the "
    f"{HISTORY_CHECK_DAYS} days before without box scores: no predictions were made on stale history) and "
    "raw/box_scores of one of those days was written since (the overnight run late, its catch-up, a run by "
    "hand). Once per box-scores write.",
)
def stale_slate_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    today = policy.et_date(utc_now())
    days_before = [(today - timedelta(days=k)).isoformat() for k in range(1, HISTORY_CHECK_DAYS + 1)]
    state = queries.stale_slate_state(
        context.instance,
        today.isoformat(),
        HISTORY_CHECK,
        days_before,
        [morning_slate_job.name, refresh_lines_job.name],
    )
    run_key, why = policy.stale_slate_decision(state)
    if run_key is None:
        return dg.SensorResult(skip_reason=why)
    context.log.info(f"{today}: {why}; running the slate again")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=run_key, partition_key=today.isoformat(), tags={TRIGGER_TAG: "stale_slate_sensor"}
            )
        ]
    )


@dg.sensor(
    name="system_performance_refresh_sensor",
    job=system_performance_job,
    minimum_interval_seconds=5 * 60,
    default_status=RUNNING,
    description="When the grades of a date older than the newest graded date are written again (a regrade "
    "of corrected box scores, a backfill; the final calls' or the published calls' grades), recomputes "
    "grading/system_performance for the dates whose windows hold it (the rest of its season, up to the newest "
    "graded date) in one run, once per grades write.",
)
def system_performance_refresh_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    after = policy.performance_refresh_after(context.cursor)
    # the final calls' grades and the published calls' grades: the performance reads both
    records = queries.materializations_after_any(
        context.instance, [GRADES, PUBLISHED], after, policy.REFRESH_EVENTS_PER_TICK
    )
    if not records:
        return dg.SensorResult(skip_reason="no grades written since the last tick", cursor=context.cursor)
    writes = queries.partition_writes(context.instance, records)
    performance = queries.latest_materialization_id_by_partition(context.instance, PERF)
    decision = policy.performance_refresh_decision(writes, performance, context.cursor)
    requests = [
        dg.RunRequest(
            run_key=run.run_key,
            tags={
                TRIGGER_TAG: "system_performance_refresh_sensor",
                RANGE_START_TAG: run.start,
                RANGE_END_TAG: run.end,
                "nba_assets/regraded": policy.regraded_label(run.regraded),
            },
        )
        for run in decision.runs
    ]
    if requests:
        return dg.SensorResult(run_requests=requests, cursor=decision.cursor)
    waiting = f"; waiting for the grading run of {decision.waiting_on}" if decision.waiting_on else ""
    return dg.SensorResult(
        skip_reason=f"no performance left stale by the grades written{waiting}", cursor=decision.cursor
    )


@dg.sensor(
    name="alerts_sensor",
    minimum_interval_seconds=60,
    default_status=RUNNING,
    description="One alert per failed run (with the checks that failed in it) and one per failed check of "
    "any other finished run, exactly once (cursor: last run-finished event id per type).",
)
def alerts_sensor(context: dg.SensorEvaluationContext, alerts: AlertsResource) -> dg.SensorResult:
    cursor = policy.RunEventsCursor.parse(context.cursor)
    delivery = Delivery(context, alerts)
    started = utc_now()
    since = started - policy.FIRST_TICK_LOOKBACK
    sent = 0
    for name, record in queries.finished_runs(context.instance, cursor.after, since):
        if utc_now() - started >= policy.ALERTS_TICK_BUDGET:
            # a tick past Dagster's timeout stores no cursor: what it had sent would go out again
            return dg.SensorResult(
                skip_reason=f"{sent} alert(s) sent; the tick's time budget is spent, the rest next tick",
                cursor=delivery.cursor(cursor.dump()),
            )
        facts = queries.run_facts(context.instance, record.run_id)
        batch = policy.run_alerts(facts) if facts else []
        stop = delivery.send_or_stop(batch, sent, "alert(s)", cursor.dump())
        if stop is not None:
            return stop
        sent += len(batch)
        cursor.after[name] = record.storage_id
    # a tick that alerted says so in the tick history (an empty result reads like one with nothing to do)
    return dg.SensorResult(
        skip_reason=f"{sent} alert(s) sent" if sent else "no new failures",
        cursor=delivery.cursor(cursor.dump()),
    )


@dg.sensor(
    name="daily_summary_sensor",
    minimum_interval_seconds=5 * 60,
    default_status=RUNNING,
    description="After a run grades a date successfully: the date's record and performance by system, "
    "once per date.",
)
def daily_summary_sensor(context: dg.SensorEvaluationContext, alerts: AlertsResource) -> dg.SensorResult:
    cursor = policy.RunEventsCursor.parse(context.cursor)
    delivery = Delivery(context, alerts)
    since = utc_now() - policy.FIRST_TICK_LOOKBACK
    sent = 0
    for name, record in queries.finished_runs(
        context.instance, cursor.after, since, event_names=("RUN_SUCCESS",)
    ):
        run = context.instance.get_run_by_id(record.run_id)
        day = run.tags.get(queries.PARTITION_TAG) if run else None
        grades = (
            queries.materialization_metadata(context.instance, GRADES, day, record.run_id) if day else None
        )
        if day and grades is not None and day not in cursor.done:
            perf = queries.materialization_metadata(context.instance, PERF, day, record.run_id) or {}
            published = (
                queries.materialization_metadata(context.instance, PUBLISHED, day, record.run_id) or {}
            )
            summary = [policy.daily_summary(day, grades, perf, published)]
            stop = delivery.send_or_stop(summary, sent, "summary", cursor.dump())
            if stop is not None:
                return stop
            cursor.done.append(day)
            sent += 1
        cursor.after[name] = record.storage_id
    return dg.SensorResult(
        skip_reason=f"daily summary sent for {', '.join(cursor.done[-sent:])}"
        if sent
        else "no newly graded date",
        cursor=delivery.cursor(cursor.dump()),
    )


@dg.sensor(
    name="failed_ticks_sensor",
    minimum_interval_seconds=5 * 60,
    default_status=RUNNING,
    description="One alert when a sensor or schedule starts failing its ticks (a sensor that raises "
    "launches nothing it should, and no run fails to tell of it); one per failure streak, again after a "
    "tick without error.",
)
def failed_ticks_sensor(context: dg.SensorEvaluationContext, alerts: AlertsResource) -> dg.SensorResult:
    cursor = policy.TickCursor.parse(context.cursor)
    delivery = Delivery(context, alerts)
    sent = 0
    since = utc_now() - policy.FIRST_TICK_LOOKBACK
    for kind, name, outcomes in queries.finished_ticks(context.instance, cursor.last, since):
        key = f"{kind}:{name}"
        batch, failing = policy.tick_failure_alerts(kind, name, outcomes, cursor.last.get(key, (0, False))[1])
        stop = delivery.send_or_stop(batch, sent, "alert(s)", cursor.dump())
        if stop is not None:
            return stop
        sent += len(batch)
        if outcomes:
            cursor.last[key] = (outcomes[-1].tick_id, failing)
    return dg.SensorResult(
        skip_reason=f"{sent} alert(s) sent" if sent else "no sensor or schedule started failing",
        cursor=delivery.cursor(cursor.dump()),
    )


@dg.sensor(
    name="model_bootstrap_sensor",
    job=weekly_retrain_job,
    minimum_interval_seconds=60 * 60,
    default_status=RUNNING,
    description="When no promoted model serves today's ET date (a first deployment, an emptied registry), "
    "requests one weekly_retrain_job run a day with cutoff = today (none while a retrain is queued or "
    "running, none before the features were ever materialized); a failed one is alerted, and the next try "
    "is the next day's.",
)
def model_bootstrap_sensor(
    context: dg.SensorEvaluationContext, object_store: ObjectStoreResource
) -> dg.SensorResult:
    # the registry module imports CatBoost: only in the process that evaluates this sensor
    from nba_assets.lib.modeling.registry import ModelRegistry

    now = utc_now()
    served = ModelRegistry(object_store.get_store()).version_for(policy.et_date(now))
    running = queries.unfinished_run_exists(context.instance, weekly_retrain_job.name)
    features = queries.ever_materialized(context.instance, FEATURES)
    cutoff, why = policy.bootstrap_decision(now, served, running, features)
    if cutoff is None:
        return dg.SensorResult(skip_reason=why)
    context.log.info(why)
    return dg.SensorResult(
        run_requests=[retrain_request(cutoff, "model_bootstrap_sensor", run_key=f"model_bootstrap:{cutoff}")]
    )


sensors = [
    refresh_lines_sensor,
    box_scores_catch_up_sensor,
    grading_sensor,
    stale_slate_sensor,
    system_performance_refresh_sensor,
    alerts_sensor,
    daily_summary_sensor,
    failed_ticks_sensor,
    model_bootstrap_sensor,
]
