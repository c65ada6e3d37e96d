"""api.bettingpros.com client: NBA events of a date and their player-points offers (market 156).

Offers are paged 10 per page (the API maximum); the client walks ``page`` while
``page < _pagination.total_pages``, bounded by ``max_pages``. The ``X-Api-Key`` comes from
configuration (a ``dg.EnvVar`` in the resource) and is redacted from every log and error.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl

from nba_assets.lib.errors import SourceDataError, require
from nba_assets.lib.parsers import bettingpros
from nba_assets.lib.parsers._common import BETTINGPROS, decode_json, get_obj, to_date, to_int
from nba_assets.lib.schemas import PROPS_SCHEMA
from nba_assets.lib.sources.live.http import Fetched, HttpClient, browser_headers
from nba_assets.lib.storage.object_store import ObjectStore

BASE_URL = "https://api.bettingpros.com/v3"
POINTS_MARKET_ID = 156
PAGE_LIMIT = 10


class BettingProsClient:
    def __init__(self, http: HttpClient, store: ObjectStore, api_key: str, max_pages: int = 50) -> None:
        self.http = http
        self.store = store
        self.max_pages = max_pages
        self.headers = {
            # najicham drops ``br`` for this host
            **browser_headers(
                "https://www.bettingpros.com",
                "https://www.bettingpros.com/nba/odds/player-props/points/",
                allow_br=False,
            ),
            "Sec-Fetch-Site": "same-site",
            "X-Api-Key": api_key,
        }

    def events(self, game_date: date | str) -> Fetched:
        """NBA events BettingPros lists for the ET date ``game_date``."""
        day = to_date(game_date)
        resp = self.http.get(
            f"{BASE_URL}/events",
            params={"sport": "NBA", "date": day.isoformat()},
            headers=self.headers,
            store=self.store,
            source="bettingpros-events",
            game_date=day,
            accept=(200,),
        )
        frame = bettingpros.parse_bp_events(decode_json(resp.body or b"", BETTINGPROS))
        return Fetched(frame, [resp.archive_key] if resp.archive_key else [])

    def offers(
        self,
        game_date: date | str,
        events_frame: pl.DataFrame | None = None,
        market_id: int = POINTS_MARKET_ID,
        snapshot_utc: datetime | None = None,
    ) -> Fetched:
        """Player-points offers for every event of ``game_date`` (events fetched first unless given),
        every row stamped ``snapshot_utc`` (default: now), the moment they were asked for."""
        day = to_date(game_date)
        snapshot = snapshot_utc or datetime.now(UTC)
        keys: list[str] = []
        if events_frame is None:
            fetched = self.events(day)
            events_frame, keys = fetched.frame, list(fetched.archive_keys)
        if events_frame.is_empty():
            return Fetched(pl.DataFrame(schema=PROPS_SCHEMA), keys, {"pages": 0})
        event_ids = ":".join(events_frame["event_id"].to_list())
        frames = []
        page, total = 1, 1
        while True:
            resp = self.http.get(
                f"{BASE_URL}/offers",
                params={
                    "sport": "NBA",
                    "market_id": str(market_id),
                    "event_id": event_ids,
                    "book_id": "null",
                    "limit": str(PAGE_LIMIT),
                    "page": str(page),
                },
                headers=self.headers,
                store=self.store,
                source="bettingpros-offers",
                game_date=day,
                accept=(200,),
            )
            keys += [resp.archive_key] if resp.archive_key else []
            payload = decode_json(resp.body or b"", BETTINGPROS)
            frames.append(bettingpros.parse_bp_offers(payload, events_frame, snapshot))
            pagination = get_obj(payload, "_pagination", BETTINGPROS)
            # required: without it the walk could not know whether pages follow (a default of 1 dropped them)
            total = to_int(
                require(pagination, "total_pages", BETTINGPROS, "_pagination"),
                BETTINGPROS,
                "_pagination.total_pages",
            )
            total = max(total or 0, 1)  # 0 pages (no offers) still means this one page was read
            if page >= total:
                break
            if page >= self.max_pages:
                raise SourceDataError(
                    BETTINGPROS, "_pagination.total_pages", f"exceeds the {self.max_pages}-page bound", total
                )
            page += 1
        return Fetched(pl.concat(frames), keys, {"pages": page, "total_pages": total})
