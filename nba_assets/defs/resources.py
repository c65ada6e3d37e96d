"""Resources per environment, chosen in one place (:func:`build_resources`)."""

from typing import Any

import dagster as dg
from pydantic import PrivateAttr

from nba_assets.defs.automation.resources import alerts_resource
from nba_assets.defs.context.resources import NbaDbtCliResource
from nba_assets.defs.object_store_resource import ObjectStoreResource
from nba_assets.lib.dbt_project import dbt_executable, dbt_project
from nba_assets.lib.env import (
    ODDS_API_KEY_VAR,
    ODDS_QUOTA_FLOOR_DEFAULT,
    ODDS_QUOTA_FLOOR_VAR,
    ODDS_QUOTA_RESERVE_DEFAULT,
    ODDS_QUOTA_RESERVE_VAR,
    Settings,
    require_value,
)
from nba_assets.lib.sources.archive import ArchiveSource
from nba_assets.lib.sources.base import NbaSource
from nba_assets.lib.sources.live.quota import CreditsKept
from nba_assets.lib.storage.duckdb_io import NbaDuckDBIOManager
from nba_assets.lib.storage.object_store import LocalObjectStore, ObjectStore

# ---------------------------------------------------------------- object stores


class LocalObjectStoreResource(ObjectStoreResource):
    root: str

    def get_store(self) -> ObjectStore:
        return LocalObjectStore(self.root)


# ---------------------------------------------------------------- sources


class NbaSourceResource(dg.ConfigurableResource):
    """Schedule, box scores, injury report and points lines for game dates."""

    # A source still down after its own bounded HTTP retries fails the raw asset's step; Dagster then
    # retries the step this many times, this many seconds apart. A refusal waiting cannot fix (HTTP
    # 401, 404 ...) and a payload that breaks its contract fail at once.
    step_retries: int = 2
    step_retry_wait_seconds: int = 600

    def get_source(self, store: ObjectStore) -> NbaSource:
        raise NotImplementedError

    def get_probe_source(self, store: ObjectStore) -> NbaSource:
        """The source as a sensor should ask it, fresh for one tick: a tick must finish inside Dagster's
        sensor deadline (60 s by default), so a slow source fails the tick fast instead of timing it out."""
        return self.get_source(store)


class ArchiveSourceResource(NbaSourceResource):
    """The embedded archive (real data shipped as parquet); no network, no keys."""

    archive_dir: str = ""
    _source: ArchiveSource | None = PrivateAttr(default=None)

    def get_source(self, store: ObjectStore) -> NbaSource:
        if self._source is None:
            self._source = ArchiveSource(self.archive_dir or None)
        return self._source


# A sensor probe's limits: one request (read timeout, whole-request deadline), and every request of the
# tick together. The last request may start just before the tick's budget runs out and take its full
# deadline, so a probe takes at most PROBE_TICK_SECONDS + PROBE_UNIT_SECONDS (48 s), inside Dagster's 60 s.
# One budget for the tick, not per date: The Odds API needs one call per game (0.5 s apart at least), so a
# per-date budget either fails ordinary slates or, scaled up, lets schedule and lines each take it.
PROBE_UNIT_SECONDS = 8.0
PROBE_TICK_SECONDS = 40.0


class LiveSourceResource(NbaSourceResource):
    """The real APIs: stats.nba.com / cdn.nba.com, the NBA injury report, The Odds API, BettingPros."""

    odds_api_key: str
    bettingpros_api_key: str = ""  # empty: no lines fallback when The Odds API fails
    timeout_seconds: float = 30.0  # read timeout of every host but stats.nba.com
    stats_timeout_seconds: float = 120.0  # stats.nba.com answers datacenter IPs slowly
    request_deadline_seconds: float = 300.0  # one whole request, body included
    # all requests for one date (one game for box scores), retries included; a fallback endpoint gets its own;
    # null = unbounded
    budget_seconds: float | None = 600.0
    max_attempts: int = 5
    odds_api_bookmakers: str = ""  # comma-separated; empty = every US book
    # The Odds API credits left untouched: by the refresh sensor's polls (the reserve, kept for the
    # scheduled fetches) and by the runs (the floor); from NBA_ASSETS_ODDS_QUOTA_RESERVE / _FLOOR
    odds_quota_reserve: int = ODDS_QUOTA_RESERVE_DEFAULT
    odds_quota_floor: int = ODDS_QUOTA_FLOOR_DEFAULT

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # dg.EnvVar refuses ODDS_API_KEY unset, not set to "" (BETTINGPROS_API_KEY may be empty)
        require_value(ODDS_API_KEY_VAR, self.odds_api_key)

    def get_source(self, store: ObjectStore) -> NbaSource:
        return self._live(
            store,
            bettingpros_api_key=self.bettingpros_api_key,
            timeout=self.timeout_seconds,
            stats_timeout=self.stats_timeout_seconds,
            request_deadline=self.request_deadline_seconds,
            budget_seconds=self.budget_seconds,
            max_attempts=self.max_attempts,
            kept=CreditsKept(self.odds_quota_floor, ODDS_QUOTA_FLOOR_VAR, "the floor"),
        )

    def get_probe_source(self, store: ObjectStore) -> NbaSource:
        """``PROBE_UNIT_SECONDS`` per request, two attempts, and ``PROBE_TICK_SECONDS`` for every request
        of the tick: the refresh sensor's schedule (stats.nba.com scoreboardv3, then its v2 fallback)
        and lines (The Odds API's events, then one call per game not yet tipped off: a 15-game slate at
        0.7 s an answer takes 11 s) share it, so the probe takes at most 40 + 8 = 48 s, inside Dagster's
        60 s. A tick spends the same Odds API credits as before (one per game; events are free), and
        only two attempts. The run it requests uses the full limits. No BettingPros fallback: it would
        need time the tick does not have, so a tick during an Odds API outage fails (red in the UI)
        while the runs still get their lines from the fallback. A new source per call: the tick's
        budget runs from its first request. Its polls are optional: they leave the reserve of credits
        (``odds_quota_reserve``) to the scheduled fetches, and a poll that would go under it is refused
        before any paid call (the sensor skips and alerts once)."""
        unit, tick = PROBE_UNIT_SECONDS, PROBE_TICK_SECONDS
        return self._live(
            store,
            bettingpros_api_key="",
            timeout=min(self.timeout_seconds, unit),
            stats_timeout=min(self.stats_timeout_seconds, unit),
            request_deadline=min(self.request_deadline_seconds, unit),
            budget_seconds=min(self.budget_seconds or tick, tick),
            total_budget_seconds=tick,
            max_attempts=min(self.max_attempts, 2),
            kept=CreditsKept(
                self.odds_quota_reserve, ODDS_QUOTA_RESERVE_VAR, "the reserve kept for the scheduled fetches"
            ),
        )

    def _live(
        self, store: ObjectStore, bettingpros_api_key: str, kept: CreditsKept, **limits: Any
    ) -> NbaSource:
        from nba_assets.lib.sources.live.source import LiveSource

        return LiveSource(
            store=store,
            odds_api_key=self.odds_api_key,
            bettingpros_api_key=bettingpros_api_key,
            # "draftkings, fanduel" names the books without the blanks (the API matches keys exactly)
            bookmakers=[b.strip() for b in self.odds_api_bookmakers.split(",") if b.strip()],
            kept=kept,
            **limits,
        )


# ---------------------------------------------------------------- per environment


def build_resources(settings: Settings) -> dict[str, Any]:
    """Every resource the definitions need, for ``settings.env``."""
    if settings.env == "prod":
        # BigQuery, GCS and their clients (dagster_gcp: ~1.3 s of imports) only where they are used
        from nba_assets.defs.resources_prod import build_prod_resources

        return build_prod_resources(settings)
    return {
        "io_manager": NbaDuckDBIOManager(database=str(settings.warehouse_path)),
        "object_store": LocalObjectStoreResource(root=str(settings.object_store_root)),
        "nba_source": ArchiveSourceResource(),
        "dbt": NbaDbtCliResource(
            # DbtCliResource.__init__ takes a DbtProject; mypy sees only the pydantic field (a str)
            project_dir=dbt_project,  # type: ignore[arg-type]
            target="duckdb",
            warehouse_path=str(settings.warehouse_path),
            dbt_executable=dbt_executable(),
        ),
        "alerts": alerts_resource(settings),
    }
