"""Parsers for api.bettingpros.com ``/v3/events`` and ``/v3/offers`` (market 156, player points).

Book 0 is BettingPros' own *consensus*, a number derived from the other books that nobody offers at a
price. It is **skipped**: ``raw/player_props`` holds lines a bettor could take, and consensus lines are
computed downstream across books (counting book 0 would double-count them). Unknown book ids are kept
as ``bettingpros_book_<id>`` rather than dropped. Lines flagged ``active: false`` are stale and skipped.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl

from nba_assets.lib.errors import SourceDataError, require
from nba_assets.lib.parsers._common import (
    BETTINGPROS,
    et_date_of,
    flag_main_lines,
    frame,
    get_list,
    get_str,
    parse_utc,
    team_code,
    to_float,
    to_int,
)
from nba_assets.lib.schemas import PROPS_SCHEMA, UTC_DT

EVENTS_SCHEMA: dict[str, pl.DataType] = {
    "event_id": pl.Utf8(),
    "tipoff_utc": UTC_DT,
    "home_abbr": pl.Utf8(),
    "away_abbr": pl.Utf8(),
    "game_date": pl.Date(),  # ET date of the tip-off
    "status": pl.Utf8(),  # scheduled | live | final | postponed | the feed's own word
}

BOOKS: dict[int, str] = {
    0: "bettingpros_consensus",
    10: "fanduel",
    12: "draftkings",
    13: "caesars",
    14: "pointsbet",
    15: "sugarhouse",
    18: "betrivers",
    19: "betmgm",
    24: "bet365",
    27: "partycasino",
}
CONSENSUS_BOOK_ID = 0

_STATUS = {
    "scheduled": "scheduled",
    "created": "scheduled",
    "inprogress": "live",
    "halftime": "live",
    "complete": "final",
    "closed": "final",
    "postponed": "postponed",
}


def _event_id(value: Any, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str) or str(value).strip() == "":
        raise SourceDataError(BETTINGPROS, field, "is not an event id", value)
    return str(value)


def parse_bp_events(payload: Any) -> pl.DataFrame:
    """``/v3/events`` -> (event_id, tipoff_utc, home_abbr, away_abbr, game_date, status).

    ``scheduled`` ("YYYY-MM-DD HH:MM:SS") is UTC; ``game_date`` is its ET date.
    """
    source = BETTINGPROS
    rows = []
    for i, event in enumerate(get_list(payload, "events", source)):
        path = f"events[{i}]"
        tipoff = parse_utc(get_str(event, "scheduled", source, path), source, f"{path}.scheduled")
        status = str(event.get("status") or "").lower()
        rows.append(
            {
                "event_id": _event_id(require(event, "id", source, path), f"{path}.id"),
                "tipoff_utc": tipoff,
                "home_abbr": team_code(require(event, "home", source, path), source, f"{path}.home"),
                "away_abbr": team_code(require(event, "visitor", source, path), source, f"{path}.visitor"),
                "game_date": et_date_of(tipoff),  # type: ignore[arg-type]
                "status": _STATUS.get(status, status),
            }
        )
    return frame(rows, EVENTS_SCHEMA, source)


def parse_bp_offers(
    payload: Any, events_frame: pl.DataFrame | None = None, snapshot_utc: datetime | None = None
) -> pl.DataFrame:
    """``/v3/offers`` (one page) -> props rows, one per (player, book, line) with over/under prices.

    Event columns (tip-off, teams, ``game_date``) come from ``events_frame`` (:func:`parse_bp_events`);
    an offer for an event not in it raises. Without a frame (archive replay) they are null.
    ``snapshot_utc`` is the argument (the moment the offers were asked for) on every row: a book's offer
    of a game is whole at that moment, and downstream reads each book's latest snapshot of a game, so
    the per-line ``updated`` times (when the book last moved each line) would split one offer into
    many. Without the argument (an archived page replayed), the page's latest ``updated`` time stands in
    for every row. ``line`` is points, prices American odds.
    ``is_main_line`` marks per (player, book) the pair with prices closest to even.
    """
    source = BETTINGPROS
    events: dict[str, dict[str, Any]] | None = None
    if events_frame is not None:
        events = {r["event_id"]: r for r in events_frame.iter_rows(named=True)}
    pairs: dict[tuple[str, str, str, float], dict[str, Any]] = {}
    latest_update: datetime | None = None
    for i, offer in enumerate(get_list(payload, "offers", source)):
        path = f"offers[{i}]"
        event_id = _event_id(require(offer, "event_id", source, path), f"{path}.event_id")
        participants = get_list(offer, "participants", source, path)
        if not participants:
            raise SourceDataError(source, f"{path}.participants", "is empty")
        name = get_str(participants[0], "name", source, f"{path}.participants[0]")
        if events is not None and event_id not in events:
            raise SourceDataError(source, f"{path}.event_id", "is not among the requested events", event_id)
        event = events.get(event_id, {}) if events is not None else {}
        for s, selection in enumerate(get_list(offer, "selections", source, path)):
            spath = f"{path}.selections[{s}]"
            side = str(get_str(selection, "selection", source, spath)).lower()
            if side not in ("over", "under"):
                raise SourceDataError(source, f"{spath}.selection", "is not over/under", side)
            for b, book in enumerate(get_list(selection, "books", source, spath)):
                bpath = f"{spath}.books[{b}]"
                book_id = to_int(require(book, "id", source, bpath), source, f"{bpath}.id")
                if book_id == CONSENSUS_BOOK_ID:
                    continue
                bookmaker = BOOKS.get(book_id, f"bettingpros_book_{book_id}")
                for n, line in enumerate(get_list(book, "lines", source, bpath)):
                    lpath = f"{bpath}.lines[{n}]"
                    if not isinstance(line, dict):
                        raise SourceDataError(source, lpath, "is not an object", type(line).__name__)
                    if line.get("active") is False:
                        continue
                    point = to_float(require(line, "line", source, lpath), source, f"{lpath}.line")
                    price = to_int(require(line, "cost", source, lpath), source, f"{lpath}.cost")
                    updated = parse_utc(line.get("updated"), source, f"{lpath}.updated", nullable=True)
                    key = (event_id, name, bookmaker, point)
                    row = pairs.setdefault(
                        key,  # type: ignore[arg-type]
                        {
                            "game_date": event.get("game_date"),
                            "game_id": None,
                            "event_id": event_id,
                            "tipoff_utc": event.get("tipoff_utc"),
                            "snapshot_utc": None,
                            "home_abbr": event.get("home_abbr"),
                            "away_abbr": event.get("away_abbr"),
                            "bookmaker": bookmaker,
                            "player_name": name,
                            "player_id": None,
                            "team_abbr": None,
                            "match_method": "unresolved",
                            "line": point,
                            "over_price": None,
                            "under_price": None,
                            "source": source,
                        },
                    )
                    column = f"{side}_price"
                    if row[column] is not None and row[column] != price:
                        raise SourceDataError(
                            source,
                            f"{lpath}.cost",
                            f"repeats {side} {name} {point} at {bookmaker} with another price",
                            price,
                        )
                    row[column] = price
                    if updated is not None and (latest_update is None or updated > latest_update):
                        latest_update = updated
    rows = list(pairs.values())
    snapshot = snapshot_utc or latest_update
    if rows and snapshot is None:
        raise SourceDataError(
            source, "offers.selections.books.lines.updated", "is missing and no snapshot time was given"
        )
    for row in rows:
        row["snapshot_utc"] = snapshot
    flag_main_lines(rows, ("event_id", "player_name", "bookmaker"))
    return frame(rows, PROPS_SCHEMA, source)
