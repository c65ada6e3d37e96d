"""cdn.nba.com client: liveData box scores and the current season's schedule file (no key)."""

from __future__ import annotations

from datetime import date, datetime

from nba_assets.lib.errors import SourceUnavailableError
from nba_assets.lib.parsers import nba_cdn, nba_stats
from nba_assets.lib.parsers._common import CDN_NBA, ET, decode_json, require_game, season_from_year, to_date
from nba_assets.lib.sources.live.http import Fetched, HttpClient, browser_headers
from nba_assets.lib.storage.object_store import ObjectStore

BOXSCORE_URL = "https://cdn.nba.com/static/json/liveData/boxscore/boxscore_{game_id}.json"
# najicham's primary is the ``_1`` file; the unsuffixed file is its backup.
SCHEDULE_URLS = (
    "https://cdn.nba.com/static/json/staticData/scheduleLeagueV2_1.json",
    "https://cdn.nba.com/static/json/staticData/scheduleLeagueV2.json",
)
HEADERS = browser_headers("https://www.nba.com", "https://www.nba.com/")
# Every 4xx but 429 means "no such file (yet)"; 429 and 5xx are retried by the HttpClient.
NOT_AVAILABLE = tuple(s for s in range(400, 500) if s != 429)


class NbaCdnClient:
    def __init__(self, http: HttpClient, store: ObjectStore) -> None:
        self.http = http
        self.store = store

    def boxscore(self, game_id: str, game_date: date | str) -> Fetched | None:
        """Active-player box score of one game, or None when the cdn has no file for it yet (any
        non-200, e.g. a game that has not started). ``meta["game"]`` holds the game's schedule row."""
        day = to_date(game_date)
        resp = self.http.get(
            BOXSCORE_URL.format(game_id=game_id),
            headers=HEADERS,
            store=self.store,
            source="cdn-boxscore",
            game_date=day,
            accept=(200, *NOT_AVAILABLE),
        )
        if resp.status != 200 or not resp.body:
            return None
        payload = decode_json(resp.body, CDN_NBA)
        frame = require_game(nba_cdn.parse_cdn_boxscore(payload, day), game_id, CDN_NBA, "game.gameId")
        return Fetched(
            frame,
            [resp.archive_key] if resp.archive_key else [],
            {"game": nba_cdn.parse_cdn_game_header(payload)},
        )

    def schedule(self, as_of: date | None = None) -> Fetched:
        """The current season's schedule (primary file, then the backup). Archived under ``as_of``
        (default: today's ET date), the day the file was read."""
        day = as_of or datetime.now(ET).date()
        failures: list[SourceUnavailableError] = []
        for url in SCHEDULE_URLS:
            try:
                resp = self.http.get(
                    url, headers=HEADERS, store=self.store, source="schedule-v2", game_date=day, accept=(200,)
                )
            except SourceUnavailableError as exc:
                failures.append(exc)
                continue
            payload = decode_json(resp.body or b"", CDN_NBA)
            frame = nba_stats.parse_schedule_v2(payload, source=CDN_NBA)
            year = payload["leagueSchedule"].get("seasonYear")  # the parser checked leagueSchedule
            meta = {"url": url, "season": season_from_year(year) if year else None}
            return Fetched(frame, [resp.archive_key] if resp.archive_key else [], meta)
        raise SourceUnavailableError(
            "cdn.nba.com schedule: " + "; ".join(map(str, failures)),
            transient=any(f.transient for f in failures),
        )
