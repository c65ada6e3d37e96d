"""Parsers for The Odds API v4 (events and per-event ``player_points`` odds, live and historical).

Historical responses wrap the live shape: ``{timestamp, previous_timestamp, next_timestamp, data}``;
both forms are accepted. Team names are full names ("Orlando Magic") mapped to tricodes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl

from nba_assets.lib.errors import SourceDataError, require
from nba_assets.lib.parsers._common import (
    ODDS_API,
    et_date_of,
    flag_main_lines,
    frame,
    get_list,
    get_str,
    parse_utc,
    team_code,
    to_float,
    to_int,
    to_str,
)
from nba_assets.lib.schemas import PROPS_SCHEMA, UTC_DT

EVENTS_SCHEMA: dict[str, pl.DataType] = {
    "event_id": pl.Utf8(),
    "tipoff_utc": UTC_DT,
    "home_abbr": pl.Utf8(),
    "away_abbr": pl.Utf8(),
    "game_date": pl.Date(),  # ET date of commence_time
}

MARKET = "player_points"


def _unwrap(payload: Any) -> tuple[Any, datetime | None]:
    """(live-shaped data, snapshot timestamp of a historical wrapper or None)."""
    if isinstance(payload, dict) and "data" in payload and "timestamp" in payload:
        return payload["data"], parse_utc(payload["timestamp"], ODDS_API, "timestamp")
    return payload, None


def _event_header(event: Any, path: str | None) -> dict[str, Any]:
    source = ODDS_API

    def field(key: str) -> str:
        return f"{path}.{key}" if path else key

    tipoff = parse_utc(get_str(event, "commence_time", source, path), source, field("commence_time"))
    return {
        "event_id": get_str(event, "id", source, path),
        "tipoff_utc": tipoff,
        "home_abbr": team_code(require(event, "home_team", source, path), source, field("home_team")),
        "away_abbr": team_code(require(event, "away_team", source, path), source, field("away_team")),
        "game_date": et_date_of(tipoff),  # type: ignore[arg-type]
    }


def parse_odds_events(payload: Any) -> pl.DataFrame:
    """``/events`` (a list) or ``/historical/.../events`` (wrapper) -> one row per event."""
    data, _ = _unwrap(payload)
    field = "data" if data is not payload else "<root>"
    if not isinstance(data, list):
        raise SourceDataError(ODDS_API, field, "is not a list of events", type(data).__name__)
    rows = [_event_header(event, f"{field}[{i}]") for i, event in enumerate(data)]
    return frame(rows, EVENTS_SCHEMA, ODDS_API)


def parse_event_odds(payload: Any, snapshot_utc: datetime | None = None) -> pl.DataFrame:
    """``/events/{id}/odds`` (live or historical) -> props rows, one per (book, player, point).

    Over/Under outcomes are paired by (bookmaker, description, point); alternate-point ladders
    (betrivers, unibet_us) are kept, and ``is_main_line`` marks per (book, player) the pair whose prices
    are closest to even. ``snapshot_utc`` is the argument, else the historical ``timestamp``, else the
    market's ``last_update``. A null body (HTTP 204) or an empty ``bookmakers`` list -> an empty frame; a
    missing or null ``bookmakers`` raises.
    """
    source = ODDS_API
    if payload is None:
        return frame([], PROPS_SCHEMA, source)
    data, stamp = _unwrap(payload)
    snapshot = snapshot_utc or stamp
    prefix = "data" if data is not payload else ""
    header = _event_header(data, prefix or None)
    # required: an empty list says no book has lines, which downstream records as books pulling theirs;
    # a missing or null key is a broken payload, not that statement
    bookmakers = get_list(data, "bookmakers", source, prefix or None)
    pairs: dict[tuple[str, str, float], dict[str, Any]] = {}
    for b, book in enumerate(bookmakers):
        bpath = f"{prefix}.bookmakers[{b}]".lstrip(".")
        key = get_str(book, "key", source, bpath)
        book_update = parse_utc(book.get("last_update"), source, f"{bpath}.last_update", nullable=True)
        for m, market in enumerate(get_list(book, "markets", source, bpath)):
            mpath = f"{bpath}.markets[{m}]"
            if get_str(market, "key", source, mpath) != MARKET:
                continue
            market_update = parse_utc(
                market.get("last_update"), source, f"{mpath}.last_update", nullable=True
            )
            when = snapshot or market_update or book_update
            if when is None:
                raise SourceDataError(
                    source, f"{mpath}.last_update", "is missing and no snapshot time was given"
                )
            for o, outcome in enumerate(get_list(market, "outcomes", source, mpath)):
                opath = f"{mpath}.outcomes[{o}]"
                side = get_str(outcome, "name", source, opath)
                if side not in ("Over", "Under"):
                    raise SourceDataError(source, f"{opath}.name", "is not Over/Under", side)
                player = to_str(
                    require(outcome, "description", source, opath), source, f"{opath}.description"
                )
                point = to_float(require(outcome, "point", source, opath), source, f"{opath}.point")
                price = to_int(require(outcome, "price", source, opath), source, f"{opath}.price")
                row = pairs.setdefault(
                    (key, player, point),  # type: ignore[arg-type]
                    {
                        **header,
                        "game_id": None,
                        "snapshot_utc": when,
                        "bookmaker": key,
                        "player_name": player,
                        "player_id": None,
                        "team_abbr": None,
                        "match_method": "unresolved",
                        "line": point,
                        "over_price": None,
                        "under_price": None,
                        "source": source,
                    },
                )
                column = "over_price" if side == "Over" else "under_price"
                if row[column] is not None and row[column] != price:
                    raise SourceDataError(
                        source, opath, f"repeats {side} {player} {point} with another price", price
                    )
                row[column] = price
    rows = list(pairs.values())
    flag_main_lines(rows, ("bookmaker", "player_name"))
    return frame(rows, PROPS_SCHEMA, source)
