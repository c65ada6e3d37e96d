"""stats.nba.com client: scoreboards, box scores, season schedule and the league game log.

Headers follow API_CONTRACTS §1 (nba_api PR #571): desktop Chrome UA with matching ``Sec-Ch-Ua``,
``Origin``/``Referer`` nba.com, no ``x-nba-stats-token``/``x-nba-stats-origin``. stats.nba.com is slow
and throttles datacenter IPs, so reads get a long timeout.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from nba_assets.lib.errors import SourceDataError, SourceUnavailableError
from nba_assets.lib.parsers import nba_stats
from nba_assets.lib.parsers._common import STATS_NBA, decode_json, require_game, to_date
from nba_assets.lib.sources.live.http import Fetched, HttpClient, browser_headers
from nba_assets.lib.storage.object_store import ObjectStore

log = logging.getLogger(__name__)

BASE_URL = "https://stats.nba.com/stats"
HEADERS: dict[str, str] = {
    **browser_headers("https://www.nba.com", "https://www.nba.com/"),
    "Host": "stats.nba.com",
}
TIMEOUT = (10.0, 120.0)


def _check_day(answered: str, day: date, field: str) -> None:
    """A scoreboard's rows are stored under the date it names: it must be the ET date asked for."""
    if answered != day.isoformat():
        raise SourceDataError(STATS_NBA, field, f"is not the requested date {day}", answered)


class NbaStatsClient:
    """Each method fetches, archives (kind = registry kind, date = ET game date) and parses."""

    def __init__(
        self, http: HttpClient, store: ObjectStore, timeout: tuple[float, float] | None = None
    ) -> None:
        self.http = http
        self.store = store
        self.timeout = timeout  # None = TIMEOUT (stats.nba.com is slow from datacenter IPs)

    def _get(
        self, endpoint: str, params: dict[str, Any], kind: str, game_date: date | str
    ) -> tuple[Any, str | None]:
        resp = self.http.get(
            f"{BASE_URL}/{endpoint}",
            params=params,
            headers=HEADERS,
            store=self.store,
            source=kind,
            game_date=game_date,
            accept=(200,),
            timeout=self.timeout or TIMEOUT,
        )
        return decode_json(resp.body or b"", STATS_NBA), resp.archive_key

    def scoreboard_v3(self, game_date: date | str) -> Fetched:
        """Games on the ET ``game_date`` from ``scoreboardv3``, falling back to ``scoreboardV2`` when v3
        is unavailable or its payload does not parse (najicham reports v3 blocked at times)."""
        day = to_date(game_date)
        keys: list[str] = []
        try:
            payload, key = self._get(
                "scoreboardv3", {"GameDate": day.isoformat(), "LeagueID": "00"}, "scoreboard-v3", day
            )
            keys += [key] if key else []
            frame = nba_stats.parse_scoreboard_v3(payload)
            # parsed above, so present and a date: a board of another day (a stale cache) is refused
            _check_day(payload["scoreboard"]["gameDate"][:10], day, "scoreboard.gameDate")
            return Fetched(frame, keys, {"endpoint": "scoreboardv3"})
        except (SourceUnavailableError, SourceDataError) as exc:
            log.warning("scoreboardv3 for %s failed (%s); falling back to scoreboardV2", day, exc)
            self.http.start_unit()  # the fallback gets its own time budget: v3 may have spent it all
            fallback = self.scoreboard_v2(day)
            fallback.archive_keys[:0] = keys
            fallback.meta["v3_error"] = str(exc)
            return fallback

    def scoreboard_v2(self, game_date: date | str) -> Fetched:
        """Games on the ET ``game_date`` from the legacy ``scoreboardV2``."""
        day = to_date(game_date)
        params = {"GameDate": day.isoformat(), "LeagueID": "00", "DayOffset": "0"}
        payload, key = self._get("scoreboardv2", params, "scoreboard-v2", day)
        frame = nba_stats.parse_scoreboard_v2(payload)
        params = payload.get("parameters")
        echoed = params.get("GameDate") if isinstance(params, dict) else None  # the parser reads it first
        field = "parameters.GameDate" if echoed else "resultSets[GameHeader].GAME_DATE_EST"
        for answered in frame["game_date"].unique().sort().to_list():
            _check_day(answered.isoformat(), day, field)
        return Fetched(frame, [key] if key else [], {"endpoint": "scoreboardV2"})

    def boxscore_traditional_v3(self, game_id: str, game_date: date | str) -> Fetched:
        """Player box score of one game (``game_date`` is its ET date; the payload has none)."""
        day = to_date(game_date)
        params = {
            "GameID": game_id,
            "StartPeriod": "0",
            "EndPeriod": "10",
            "StartRange": "0",
            "EndRange": "28800",
            "RangeType": "0",
        }
        payload, key = self._get("boxscoretraditionalv3", params, "boxscore-v3", day)
        frame = require_game(
            nba_stats.parse_boxscore_traditional_v3(payload, day),
            game_id,
            STATS_NBA,
            "boxScoreTraditional.gameId",
        )
        return Fetched(frame, [key] if key else [])

    def schedule_league_v2(self, season: str) -> Fetched:
        """A whole season's schedule (``season`` like "2024-25"); archived under the season label."""
        payload, key = self._get(
            "scheduleleaguev2", {"LeagueID": "00", "Season": season}, "schedule-v2", season
        )
        frame = nba_stats.parse_schedule_v2(payload, season, source=STATS_NBA)
        return Fetched(frame, [key] if key else [])

    def league_game_log(
        self, date_from: date | str, date_to: date | str, season: str, season_type: str = "Regular Season"
    ) -> Fetched:
        """Player lines for games between two ET dates (inclusive) from ``leaguegamelog``."""
        start, end = to_date(date_from), to_date(date_to)
        params = {
            "LeagueID": "00",
            "Season": season,
            "SeasonType": season_type,
            "PlayerOrTeam": "P",
            "Counter": "1000",
            "Sorter": "DATE",
            "Direction": "DESC",
            "DateFrom": start.isoformat(),
            "DateTo": end.isoformat(),
        }
        payload, key = self._get("leaguegamelog", params, "leaguegamelog", start)
        return Fetched(nba_stats.parse_leaguegamelog_players(payload), [key] if key else [])
