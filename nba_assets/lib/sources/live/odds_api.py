"""The Odds API v4 client: NBA events and per-event ``player_points`` odds, live and historical.

The key travels in the ``apiKey`` query parameter; the HttpClient redacts it from logs and errors and
archive keys are content hashes. Quota headers (``x-requests-remaining``/``-used``/``-last``) of the
latest responses are kept on the client (``quota`` as sent, ``reading`` as numbers, see ``quota.py``) and
in each result's ``meta``; :meth:`OddsApiClient.ensure_credits` refuses a fetch that would spend the
credits the client keeps back (``kept``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import astuple
from datetime import UTC, date, datetime

import polars as pl

from nba_assets.lib.errors import SourceDataError
from nba_assets.lib.parsers import odds_api
from nba_assets.lib.parsers._common import ODDS_API, decode_json, et_date_of, et_day_bounds_utc, to_date
from nba_assets.lib.sources.live.http import Fetched, HttpClient, HttpResponse
from nba_assets.lib.sources.live.quota import (
    QUOTA_HEADERS,
    CreditsKept,
    OddsQuota,
    OddsQuotaError,
    event_odds_cost,
    parse_credits,
    quota_refusal,
)
from nba_assets.lib.storage.object_store import ObjectStore

BASE_URL = "https://api.the-odds-api.com/v4"
SPORT = "basketball_nba"


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class OddsApiClient:
    def __init__(
        self,
        http: HttpClient,
        store: ObjectStore,
        api_key: str,
        *,
        regions: str = "us",
        bookmakers: list[str] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        kept: CreditsKept | None = None,
    ) -> None:
        self.http = http
        self.store = store
        self._api_key = api_key
        self.regions = regions
        self.bookmakers = bookmakers
        self.now = now
        self.quota: dict[str, str] = {}  # the latest quota headers, as sent
        self.quota_problems: dict[str, str] = {}  # header -> why a value it sent was not read (the last)
        self.reading = OddsQuota()  # the same as numbers (None: never sent)
        self.answers = 0  # answers received (their quota headers read)
        self.kept = kept or CreditsKept()

    def _get(
        self, path: str, params: dict[str, str], kind: str, game_date: date, accept: tuple[int, ...] = (200,)
    ) -> HttpResponse:
        resp = self.http.get(
            f"{BASE_URL}{path}",
            params={"apiKey": self._api_key, **params},
            headers={"Accept": "application/json"},
            store=self.store,
            source=kind,
            game_date=game_date,
            accept=accept,
        )
        self._read_quota(resp.headers)
        self.answers += 1
        return resp

    def _read_quota(self, headers: Mapping[str, str]) -> None:
        """Keep this answer's quota headers. One it did not send (or sent blank) keeps its last value:
        credits only go down until the plan renews, so the last number the API gave beats none. One that is not a
        number of credits is treated the same way and named in ``quota_problems`` (the lines asset's
        notes): the answer (lines already paid for) is kept, only the credits reading is not."""
        lowered = {k.lower(): v for k, v in headers.items()}
        credits = dict(zip(QUOTA_HEADERS, astuple(self.reading), strict=True))  # the values kept, as numbers
        for header in QUOTA_HEADERS:
            if not lowered.get(header, "").strip():  # not sent, or blank: says nothing new
                continue
            try:
                credits[header] = parse_credits(header, lowered[header])
            except SourceDataError as exc:
                self.quota_problems[header] = str(exc)
                continue
            self.quota[header] = lowered[header]
        self.reading = OddsQuota(*(credits[h] for h in QUOTA_HEADERS))

    def event_odds_cost(self) -> int:
        """Credits one :meth:`event_odds` call costs with this client's parameters."""
        return event_odds_cost(self.regions, odds_api.MARKET, self.bookmakers)

    def ensure_credits(self, events: int, what: str) -> None:
        """Refuse (:class:`OddsQuotaError`, naming the header and its value) ``events`` event-odds
        calls when the latest ``x-requests-remaining`` minus their cost is below the credits this
        client keeps; an unknown remaining (header never sent) lets them go out."""
        why = quota_refusal(self.reading, events * self.event_odds_cost(), self.kept, what)
        if why:
            raise OddsQuotaError(why, self.reading)

    def _odds_params(self) -> dict[str, str]:
        params = {
            "regions": self.regions,
            "markets": odds_api.MARKET,
            "oddsFormat": "american",
            "dateFormat": "iso",
        }
        if self.bookmakers:
            params["bookmakers"] = ",".join(self.bookmakers)
        return params

    def events(self, game_date: date | str) -> Fetched:
        """Upcoming events tipping off on the ET date ``game_date`` (free: no quota cost)."""
        day = to_date(game_date)
        start, end = et_day_bounds_utc(day)
        params = {"dateFormat": "iso", "commenceTimeFrom": _iso(start), "commenceTimeTo": _iso(end)}
        resp = self._get(f"/sports/{SPORT}/events", params, "odds-api-events", day)
        frame = odds_api.parse_odds_events(decode_json(resp.body or b"", ODDS_API))
        frame = frame.filter(pl.col("game_date") == day)
        return Fetched(frame, [resp.archive_key] if resp.archive_key else [], {"quota": dict(self.quota)})

    def event_odds(self, event_id: str, game_date: date | str) -> Fetched | None:
        """Live ``player_points`` lines of one event, snapshot = now (UTC), also in ``meta["snapshot_utc"]``
        (an empty answer has no row to carry it). A 204 or no bookmakers gives an empty frame; a 404
        (finished game) gives None: use :meth:`historical_event_odds`."""
        day = to_date(game_date)
        snapshot = self.now()
        resp = self._get(
            f"/sports/{SPORT}/events/{event_id}/odds",
            self._odds_params(),
            "odds-api-event-odds",
            day,
            (200, 204, 404),
        )
        if resp.status == 404:
            return None
        # only a 204 means "nothing posted": a 200 with an empty body is refused, not read as every book
        # having pulled its lines
        payload = None if resp.status == 204 else decode_json(resp.body or b"", ODDS_API)
        frame = odds_api.parse_event_odds(payload, snapshot)
        return Fetched(
            frame,
            [resp.archive_key] if resp.archive_key else [],
            {"quota": dict(self.quota), "status": resp.status, "snapshot_utc": snapshot},
        )

    def historical_events(self, at: datetime, game_date: date | str | None = None) -> Fetched:
        """Events as listed at the snapshot nearest before ``at`` (tz-aware), archived under
        ``game_date``, by default the ET date of ``at`` (not its UTC date: 01:00 UTC is the evening before)."""
        day = to_date(game_date) if game_date is not None else et_date_of(at)
        resp = self._get(
            f"/historical/sports/{SPORT}/events",
            {"date": _iso(at), "dateFormat": "iso"},
            "odds-api-events",
            day,
        )
        frame = odds_api.parse_odds_events(decode_json(resp.body or b"", ODDS_API))
        return Fetched(frame, [resp.archive_key] if resp.archive_key else [], {"quota": dict(self.quota)})

    def historical_event_odds(self, event_id: str, at: datetime, game_date: date | str) -> Fetched:
        """Lines of one event at the historical snapshot nearest before ``at`` (snapshot = its timestamp).
        Costs 10x the live call."""
        day = to_date(game_date)
        params = {"date": _iso(at), **self._odds_params()}
        resp = self._get(
            f"/historical/sports/{SPORT}/events/{event_id}/odds",
            params,
            "odds-api-event-odds",
            day,
            (200, 204),
        )
        payload = None if resp.status == 204 else decode_json(resp.body or b"", ODDS_API)
        frame = odds_api.parse_event_odds(payload)
        return Fetched(
            frame,
            [resp.archive_key] if resp.archive_key else [],
            {"quota": dict(self.quota), "status": resp.status},
        )
