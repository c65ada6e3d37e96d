"""Helpers shared by the source parsers: body decoding, typed field access, time and minute formats.

Every helper raises :class:`SourceDataError` naming the source and the field path, so a parser never
lets a ``KeyError``/``TypeError`` escape with no context.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, overload
from zoneinfo import ZoneInfo

import polars as pl

from nba_assets.lib.errors import SourceDataError, require
from nba_assets.lib.schemas import conform
from nba_assets.lib.teams import tricode

ET = ZoneInfo("America/New_York")
UTC = ZoneInfo("UTC")

# The ``source`` column values written by the parsers.
STATS_NBA = "stats.nba.com"
CDN_NBA = "cdn.nba.com"
INJURY_REPORT = "nba-injury-report"
BETTINGPROS = "bettingpros"
ODDS_API = "the-odds-api"

GAME_STATUS: dict[int, str] = {1: "scheduled", 2: "live", 3: "final"}
SEASON_TYPE_BY_PREFIX: dict[str, str] = {
    "001": "Preseason",
    "002": "Regular Season",
    "003": "All-Star",
    "004": "Playoffs",
    "005": "PlayIn",
    "006": "NBA Cup Final",
}
# A player's ``statistics`` key -> contract column: boxscoretraditionalv3 (stats.nba.com) and the
# liveData box score (cdn.nba.com) name the counting stats alike.
BOX_SCORE_STATS: dict[str, str] = {
    "points": "pts",
    "fieldGoalsMade": "fgm",
    "fieldGoalsAttempted": "fga",
    "threePointersMade": "fg3m",
    "threePointersAttempted": "fg3a",
    "freeThrowsMade": "ftm",
    "freeThrowsAttempted": "fta",
    "reboundsOffensive": "oreb",
    "reboundsDefensive": "dreb",
    "reboundsTotal": "reb",
    "assists": "ast",
    "steals": "stl",
    "blocks": "blk",
    "turnovers": "tov",
    "foulsPersonal": "pf",
}

_HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body")


# ---------------------------------------------------------------- bodies


def looks_like_html(body: bytes) -> bool:
    head = body[:1024].lstrip().lower()
    return head.startswith(b"<") or any(m in head for m in _HTML_MARKERS)


def decode_json(body: bytes | str, source: str) -> Any:
    """Decode a JSON body; an empty, HTML or truncated body raises naming the ``<body>`` field."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    if not body or not body.strip():
        raise SourceDataError(source, "<body>", "is empty")
    if looks_like_html(body):
        raise SourceDataError(
            source, "<body>", "is an HTML page, not JSON", body[:60].decode("utf-8", "replace")
        )
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SourceDataError(
            source, "<body>", f"is not valid JSON ({exc})", body[-40:].decode("utf-8", "replace")
        ) from None
    except RecursionError:
        raise SourceDataError(source, "<body>", "is nested too deeply to decode") from None


# ---------------------------------------------------------------- typed field access


def _field(path: str | None, key: str) -> str:
    return f"{path}.{key}" if path else key


def get_obj(obj: Any, key: str, source: str, path: str | None = None) -> dict[str, Any]:
    value = require(obj, key, source, path)
    if not isinstance(value, dict):
        raise SourceDataError(source, _field(path, key), "is not an object", type(value).__name__)
    return value


def get_list(obj: Any, key: str, source: str, path: str | None = None) -> list[Any]:
    value = require(obj, key, source, path)
    if not isinstance(value, list):
        raise SourceDataError(source, _field(path, key), "is not a list", type(value).__name__)
    return value


@overload
def to_int(value: Any, source: str, field: str, nullable: Literal[False] = False) -> int: ...
@overload
def to_int(value: Any, source: str, field: str, nullable: bool) -> int | None: ...
def to_int(value: Any, source: str, field: str, nullable: bool = False) -> int | None:
    """An integer; integral floats are accepted, strings and bools are not."""
    if value is None:
        if nullable:
            return None
        raise SourceDataError(source, field, "is null, expected an integer")
    if isinstance(value, bool):
        raise SourceDataError(source, field, "is a boolean, expected an integer", value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    raise SourceDataError(source, field, "is not an integer", value)


def get_int(obj: Any, key: str, source: str, path: str | None = None, nullable: bool = False) -> int | None:
    return to_int(require(obj, key, source, path), source, _field(path, key), nullable)


def to_float(value: Any, source: str, field: str, nullable: bool = False) -> float | None:
    if value is None:
        if nullable:
            return None
        raise SourceDataError(source, field, "is null, expected a number")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SourceDataError(source, field, "is not a number", value)
    return float(value)


def get_float(
    obj: Any, key: str, source: str, path: str | None = None, nullable: bool = False
) -> float | None:
    return to_float(require(obj, key, source, path), source, _field(path, key), nullable)


def to_str(value: Any, source: str, field: str, nullable: bool = False) -> str | None:
    if value is None:
        if nullable:
            return None
        raise SourceDataError(source, field, "is null, expected a string")
    if not isinstance(value, str):
        raise SourceDataError(source, field, "is not a string", value)
    return value


def get_str(obj: Any, key: str, source: str, path: str | None = None, nullable: bool = False) -> str | None:
    return to_str(require(obj, key, source, path), source, _field(path, key), nullable)


def to_flag(value: Any, source: str, field: str) -> bool:
    """``"1"``/``"0"``, ``1``/``0`` or a boolean."""
    if isinstance(value, bool):
        return value
    if value in ("1", 1):
        return True
    if value in ("0", 0):
        return False
    raise SourceDataError(source, field, "is not a 0/1 flag", value)


def team_code(value: Any, source: str, field: str) -> str:
    """A known NBA tricode from a tricode, alias or full name; anything else raises."""
    if not isinstance(value, str) or not value.strip():
        raise SourceDataError(source, field, "is not a team code or name", value)
    return tricode(value, source, field)


def result_set_rows(payload: Any, name: str, source: str) -> list[dict[str, Any]]:
    """Rows of a legacy stats.nba.com result set as dicts (``dict(zip(headers, row))``).

    Handles both ``resultSets`` (list) and the singular ``resultSet`` some endpoints return.
    """
    if not isinstance(payload, dict):
        raise SourceDataError(source, "<root>", "is not an object", type(payload).__name__)
    sets = payload.get("resultSets", payload.get("resultSet"))
    if sets is None:
        raise SourceDataError(source, "resultSets", "is missing")
    if isinstance(sets, dict):
        sets = [sets]
    if not isinstance(sets, list):
        raise SourceDataError(source, "resultSets", "is not a list", type(sets).__name__)
    for i, rs in enumerate(sets):
        if isinstance(rs, dict) and rs.get("name") == name:
            path = f"resultSets[{name}]"
            headers = get_list(rs, "headers", source, path)
            for k, header in enumerate(headers):
                if not isinstance(header, str):
                    raise SourceDataError(source, f"{path}.headers[{k}]", "is not a column name", header)
            rows = get_list(rs, "rowSet", source, path)
            out = []
            for j, row in enumerate(rows):
                if not isinstance(row, list) or len(row) != len(headers):
                    raise SourceDataError(
                        source, f"{path}.rowSet[{j}]", f"does not have {len(headers)} values", row
                    )
                out.append(dict(zip(headers, row, strict=True)))
            return out
        if not isinstance(rs, dict):
            raise SourceDataError(source, f"resultSets[{i}]", "is not an object", rs)
    raise SourceDataError(source, f"resultSets[{name}]", "is missing")


def row_value(row: Mapping[str, Any], key: str, source: str, path: str) -> Any:
    if key not in row:
        raise SourceDataError(source, f"{path}.{key}", "is missing")
    return row[key]


# ---------------------------------------------------------------- times, dates, minutes


def parse_utc(value: Any, source: str, field: str, nullable: bool = False) -> datetime | None:
    """A tz-aware UTC datetime from ISO-8601 (``Z`` or offset) or ``YYYY-MM-DD HH:MM:SS`` (taken as UTC)."""
    if value is None or value == "":
        if nullable:
            return None
        raise SourceDataError(source, field, "is missing a timestamp", value)
    if not isinstance(value, str):
        raise SourceDataError(source, field, "is not a timestamp string", value)
    text = value.strip().replace("Z", "+00:00")
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise SourceDataError(source, field, "is not an ISO-8601 timestamp", value) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def et_date_of(dt: datetime) -> date:
    """The America/New_York calendar date of an aware datetime (the game-date convention)."""
    return dt.astimezone(ET).date()


def date_prefix(value: Any, source: str, field: str) -> date:
    """The ``YYYY-MM-DD`` date that starts ``value``.

    NBA feeds print ET wall-clock times with a misleading ``Z`` (``gameEt``, ``gameDateEst``), so the
    date part is read as-is and never converted.
    """
    if not isinstance(value, str) or len(value) < 10:
        raise SourceDataError(source, field, "is not a date string", value)
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise SourceDataError(source, field, "is not a YYYY-MM-DD date", value) from None


def to_date(value: date | datetime | str, source: str = "caller", field: str = "game_date") -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date_prefix(value, source, field)


_MMSS = re.compile(r"^(-?\d+):(\d{1,2})(?:\.\d+)?$")
_ISO_DURATION = re.compile(r"^(-)?PT(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?$")


def minutes_from_mmss(value: Any, source: str, field: str) -> float:
    """``"30:49"`` -> 30.8167 decimal minutes; ``""``/null (did not play) -> 0.0."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0.0
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    m = _MMSS.match(str(value).strip()) if isinstance(value, str) else None
    if not m:
        raise SourceDataError(source, field, "is not MM:SS minutes", value)
    whole = int(m.group(1))
    sign = -1 if m.group(1).startswith("-") else 1
    return whole + sign * int(m.group(2)) / 60.0


def refuse_blank_minutes_with_stats(value: Any, row: Mapping[str, Any], source: str, field: str) -> None:
    """Blank or null minutes say the player did not play (0.0, ``played`` False): on a row with a
    counting stat (:data:`BOX_SCORE_STATS`) they are a broken payload, refused naming the minutes field
    and the stats, never stored as a player who did not play with his points."""
    if value is not None and not (isinstance(value, str) and not value.strip()):
        return
    stats = [f"{col} {row[col]}" for col in BOX_SCORE_STATS.values() if row.get(col)]
    if stats:
        raise SourceDataError(
            source,
            field,
            f"is {'null' if value is None else 'blank'} on a player with {', '.join(stats)}",
            value,
        )


def minutes_from_iso(value: Any, source: str, field: str) -> float:
    """ISO-8601 duration ``"PT34M12.00S"`` -> 34.2 decimal minutes; ``""``/null -> 0.0."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0.0
    m = _ISO_DURATION.match(value.strip()) if isinstance(value, str) else None
    if not m or value.strip() in ("PT", "-PT"):
        raise SourceDataError(source, field, "is not an ISO-8601 duration", value)
    hours, mins, secs = (float(g) if g else 0.0 for g in m.group(2, 3, 4))
    total = hours * 60 + mins + secs / 60.0
    return -total if m.group(1) else total


def season_type_of(game_id: str, source: str, field: str = "gameId") -> str:
    """Season type from the NBA game-id prefix (``002`` Regular Season, ``004`` Playoffs ...)."""
    kind = SEASON_TYPE_BY_PREFIX.get(game_id[:3])
    if kind is None:
        raise SourceDataError(source, field, "has an unknown season-type prefix", game_id)
    return kind


def season_of(game_id: str) -> str:
    """``"0022300555"`` -> ``"2023-24"`` (digits 4-5 of the game id are the season's start year)."""
    start = 2000 + int(game_id[3:5])
    return f"{start}-{(start + 1) % 100:02d}"


def season_from_year(year: str | int) -> str:
    """``"2023"`` -> ``"2023-24"``; an already formatted season is returned as is."""
    text = str(year)
    if re.fullmatch(r"\d{4}-\d{2}", text):
        return text
    start = int(text)
    return f"{start}-{(start + 1) % 100:02d}"


def check_game_id(value: Any, source: str, field: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"\d{10}", value):
        raise SourceDataError(source, field, "is not a 10-digit NBA game id", value)
    return value


def require_game(frame: pl.DataFrame, game_id: str, source: str, field: str) -> pl.DataFrame:
    """``frame`` (a parsed box score) when its rows are all of ``game_id``, the game asked for: they are
    stored under the payload's id, so another game's payload would be filed as that game's."""
    answered = frame["game_id"].unique().to_list()
    if answered != [game_id]:
        raise SourceDataError(source, field, f"is not the requested game {game_id}", answered)
    return frame


def game_status(code: Any, source: str, field: str) -> str:
    status = GAME_STATUS.get(to_int(code, source, field))
    if status is None:
        raise SourceDataError(source, field, "is not a game status 1/2/3", code)
    return status


# The scoreboards' status text of a postponed game. Recorded liveData ``todaysScoreboard_00.json``
# payloads (the same game objects scoreboardv3 serves) show a postponed game as ``gameStatus`` 1 with
# ``gameStatusText`` "PPD" and zero scores (0022000194 IND@PHX on 2021-01-16; 0022000458 SAS@NYK and
# 0022000461 IND@HOU on 2021-02-20); "Postponed" is the same word spelled out.
POSTPONED_STATUS_TEXTS = frozenset({"PPD", "POSTPONED"})


def is_postponed_text(text: Any) -> bool:
    """True when a scoreboard status text says the game was postponed ("PPD", "Postponed")."""
    return isinstance(text, str) and text.strip().upper() in POSTPONED_STATUS_TEXTS


def scoreboard_status(code: Any, text: Any, source: str, code_field: str, text_field: str) -> str:
    """A scoreboard game's status: the numeric code 1/2/3 (scheduled/live/final), except that a
    scheduled game whose status text says "PPD"/"Postponed" is ``postponed`` (the numeric code alone
    never says so). A postponed text on a live or final game contradicts the code: rejected, naming the
    text's field and value."""
    status = game_status(code, source, code_field)
    if not is_postponed_text(text):
        return status
    if status != "scheduled":
        raise SourceDataError(source, text_field, f"says postponed but the game status is {status}", text)
    return "postponed"


def et_clock_to_utc(game_date: date, text: str) -> datetime | None:
    """``"7:30 pm ET"`` on ``game_date`` -> UTC tip-off; None when the text is not a clock time."""
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*([ap])m\s*ET\s*", text, flags=re.IGNORECASE)
    if not m:
        return None
    hour = int(m.group(1)) % 12 + (12 if m.group(3).lower() == "p" else 0)
    local = datetime.combine(game_date, time(hour, int(m.group(2))), tzinfo=ET)
    return local.astimezone(UTC)


def et_day_bounds_utc(game_date: date) -> tuple[datetime, datetime]:
    """[start, end) of the ET calendar day ``game_date`` in UTC."""
    start = datetime.combine(game_date, time(0), tzinfo=ET)
    end = datetime.combine(game_date + timedelta(days=1), time(0), tzinfo=ET)
    return start.astimezone(UTC), end.astimezone(UTC)


# ---------------------------------------------------------------- odds


def implied_probability(american: int) -> float:
    """Implied probability (with vig) of an American price: -110 -> 0.524, +150 -> 0.4."""
    if american < 0:
        return -american / (-american + 100.0)
    return 100.0 / (american + 100.0)


def flag_main_lines(rows: list[dict[str, Any]], keys: Iterable[str]) -> None:
    """Set ``is_main_line`` in place: per group of ``keys`` the one paired line whose over and under
    prices are closest to even (smallest gap between implied probabilities; ties -> the lower line).

    Rows missing either price are never the main line.
    """
    keys = tuple(keys)
    best: dict[tuple[Any, ...], tuple[float, float, int]] = {}
    for i, row in enumerate(rows):
        row["is_main_line"] = False
        if row.get("over_price") is None or row.get("under_price") is None:
            continue
        gap = abs(implied_probability(row["over_price"]) - implied_probability(row["under_price"]))
        group = tuple(row[k] for k in keys)
        candidate = (round(gap, 9), row["line"], i)
        if group not in best or candidate < best[group]:
            best[group] = candidate
    for _, _, i in best.values():
        rows[i]["is_main_line"] = True


# ---------------------------------------------------------------- frames


def frame(rows: list[dict[str, Any]], schema: Mapping[str, pl.DataType], source: str) -> pl.DataFrame:
    """Rows (dicts) -> a frame conformed to ``schema`` (column order and dtypes of the contract).

    A value that does not fit its column (an integer beyond Int64, say) raises
    :class:`SourceDataError` naming the column and the value, not polars' builder error."""
    if not rows:
        return conform(pl.DataFrame(schema=dict(schema)), dict(schema), source)
    try:
        df = pl.from_dicts(rows, schema=dict(schema))
    except (pl.exceptions.PolarsError, OverflowError, TypeError, ValueError):
        raise _unfit_value(rows, schema, source) from None
    return conform(df, dict(schema), source)


def _unfit_value(
    rows: list[dict[str, Any]], schema: Mapping[str, pl.DataType], source: str
) -> SourceDataError:
    """The first column value that does not fit the contract dtype, as an error naming both."""
    for name, dtype in schema.items():
        for row in rows:
            try:
                pl.Series(name, [row.get(name)], dtype=dtype, strict=True)
            except Exception:
                return SourceDataError(source, name, f"does not fit the contract type {dtype}", row.get(name))
    return SourceDataError(source, "<rows>", "could not be built into the contract table")
