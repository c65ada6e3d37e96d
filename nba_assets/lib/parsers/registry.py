"""One parser per payload KIND, raw bytes in, a contract frame out.

The kind names are also the ``source`` part of archive keys (``raw_payloads/<kind>/<date>/<sha>.json``,
written by the live clients), so an archived body can be replayed through ``PARSERS[kind]`` after a
parser fix. Bodies are decoded here: an empty, HTML or truncated body raises :class:`SourceDataError`
naming the source and the ``<body>`` field.

Some payloads do not carry all the context a row needs; pass it as keyword arguments:
``boxscore-v3`` needs ``game_date`` (the payload has no date), ``bettingpros-offers`` takes
``events_frame`` (else event columns are null), ``odds-api-event-odds`` takes ``snapshot_utc``.
"""

from __future__ import annotations

from typing import Any, Protocol

import polars as pl

from nba_assets.lib.parsers import bettingpros, injury_report, nba_cdn, nba_stats, odds_api
from nba_assets.lib.parsers._common import BETTINGPROS, CDN_NBA, ODDS_API, STATS_NBA, decode_json


class Parser(Protocol):
    def __call__(self, body: bytes, /, **context: Any) -> pl.DataFrame: ...


def _boxscore_v3(body: bytes, /, **context: Any) -> pl.DataFrame:
    if context.get("game_date") is None:
        raise ValueError("boxscore-v3: pass game_date= (boxscoretraditionalv3 payloads carry no date)")
    return nba_stats.parse_boxscore_traditional_v3(decode_json(body, STATS_NBA), context["game_date"])


def _cdn_boxscore(body: bytes, /, **context: Any) -> pl.DataFrame:
    return nba_cdn.parse_cdn_boxscore(decode_json(body, CDN_NBA), context.get("game_date"))


def _scoreboard_v3(body: bytes, /, **context: Any) -> pl.DataFrame:
    return nba_stats.parse_scoreboard_v3(decode_json(body, STATS_NBA))


def _scoreboard_v2(body: bytes, /, **context: Any) -> pl.DataFrame:
    return nba_stats.parse_scoreboard_v2(decode_json(body, STATS_NBA))


def _schedule_v2(body: bytes, /, **context: Any) -> pl.DataFrame:
    source = context.get("source", CDN_NBA)
    return nba_stats.parse_schedule_v2(decode_json(body, source), context.get("season"), source=source)


def _leaguegamelog(body: bytes, /, **context: Any) -> pl.DataFrame:
    return nba_stats.parse_leaguegamelog_players(decode_json(body, STATS_NBA))


def _injury_pdf(body: bytes, /, **context: Any) -> pl.DataFrame:
    return injury_report.parse_injury_pdf(body, context.get("report_time_et"))


def _bp_events(body: bytes, /, **context: Any) -> pl.DataFrame:
    return bettingpros.parse_bp_events(decode_json(body, BETTINGPROS))


def _bp_offers(body: bytes, /, **context: Any) -> pl.DataFrame:
    return bettingpros.parse_bp_offers(
        decode_json(body, BETTINGPROS), context.get("events_frame"), context.get("snapshot_utc")
    )


def _odds_events(body: bytes, /, **context: Any) -> pl.DataFrame:
    return odds_api.parse_odds_events(decode_json(body, ODDS_API))


def _odds_event_odds(body: bytes, /, **context: Any) -> pl.DataFrame:
    if not body:  # HTTP 204: no lines posted yet
        return odds_api.parse_event_odds(None)
    return odds_api.parse_event_odds(decode_json(body, ODDS_API), context.get("snapshot_utc"))


PARSERS: dict[str, Parser] = {
    "boxscore-v3": _boxscore_v3,
    "cdn-boxscore": _cdn_boxscore,
    "scoreboard-v3": _scoreboard_v3,
    "scoreboard-v2": _scoreboard_v2,
    "schedule-v2": _schedule_v2,
    "leaguegamelog": _leaguegamelog,
    "injury-pdf": _injury_pdf,
    "bettingpros-events": _bp_events,
    "bettingpros-offers": _bp_offers,
    "odds-api-events": _odds_events,
    "odds-api-event-odds": _odds_event_odds,
}


def parse_payload(kind: str, body: bytes, **context: Any) -> pl.DataFrame:
    """Parse a raw ``body`` of payload ``kind`` (see :data:`PARSERS`) into its contract frame."""
    try:
        parser = PARSERS[kind]
    except KeyError:
        raise ValueError(f"unknown payload kind {kind!r}; known: {', '.join(sorted(PARSERS))}") from None
    return parser(body, **context)
