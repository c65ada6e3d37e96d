"""Parsers for cdn.nba.com liveData (box score JSON).

Row policy: the box score keeps only players on the **active** list. ``status`` INACTIVE players
(injured, two-way, suspended, inactive coach's decision) are dropped so that cdn box scores match the
archive and ``boxscoretraditionalv3``, which list actives only; an ACTIVE player who did not play
(DNP - coach's decision) is kept with ``played`` False and 0.0 minutes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import polars as pl

from nba_assets.lib.errors import SourceDataError, require
from nba_assets.lib.parsers._common import (
    BOX_SCORE_STATS,
    CDN_NBA,
    check_game_id,
    date_prefix,
    frame,
    game_status,
    get_float,
    get_int,
    get_list,
    get_obj,
    get_str,
    minutes_from_iso,
    parse_utc,
    refuse_blank_minutes_with_stats,
    season_of,
    season_type_of,
    team_code,
    to_date,
    to_flag,
    to_int,
)
from nba_assets.lib.schemas import BOX_SCORE_SCHEMA, SCHEDULE_SCHEMA


def _game(payload: Any, source: str) -> tuple[dict[str, Any], str]:
    game = get_obj(payload, "game", source)
    return game, check_game_id(get_str(game, "gameId", source, "game"), source, "game.gameId")


def _game_date(game: dict[str, Any], source: str) -> date:
    """ET date of the game: ``gameEt`` is ET wall-clock time, so its date part is the game date."""
    return date_prefix(get_str(game, "gameEt", source, "game"), source, "game.gameEt")


def _not_playing_comment(player: dict[str, Any]) -> str:
    reason = player.get("notPlayingReason") or ""
    description = player.get("notPlayingDescription") or ""
    if reason and description:
        return f"{reason} - {description}"
    return str(reason or description)


def parse_cdn_boxscore(
    payload: Any, game_date: date | datetime | str | None = None, source: str = CDN_NBA
) -> pl.DataFrame:
    """cdn ``boxscore_{gameId}.json`` -> one row per ACTIVE player (see the module docstring).

    ``minutes`` ISO-8601 ("PT34M12.00S") -> decimal minutes; ``played``/``starter`` from the "1"/"0"
    flags; ``status_comment`` from ``notPlayingReason``/``notPlayingDescription`` ("" when played).
    ``game_date`` defaults to the ET date of ``game.gameEt``. Only final games' box scores are asked
    for, so a team without an ACTIVE player (an empty ``players`` list) is rejected.
    """
    game, game_id = _game(payload, source)
    day = to_date(game_date) if game_date is not None else _game_date(game, source)
    sides = {}
    for side in ("homeTeam", "awayTeam"):
        team = get_obj(game, side, source, "game")
        sides[side] = (
            team,
            get_int(team, "teamId", source, f"game.{side}"),
            team_code(
                require(team, "teamTricode", source, f"game.{side}"), source, f"game.{side}.teamTricode"
            ),
        )
    rows: list[dict[str, Any]] = []
    for side, other in (("homeTeam", "awayTeam"), ("awayTeam", "homeTeam")):
        team, team_id, abbr = sides[side]
        players = get_list(team, "players", source, f"game.{side}")
        before = len(rows)
        for i, player in enumerate(players):
            path = f"game.{side}.players[{i}]"
            status = get_str(player, "status", source, path)
            if status not in ("ACTIVE", "INACTIVE"):
                raise SourceDataError(source, f"{path}.status", "is not ACTIVE or INACTIVE", status)
            if status == "INACTIVE":
                continue
            stats = get_obj(player, "statistics", source, path)
            spath = f"{path}.statistics"
            played = to_flag(require(player, "played", source, path), source, f"{path}.played")
            minutes_text = require(stats, "minutes", source, spath)
            row: dict[str, Any] = {
                "game_date": day,
                "game_id": game_id,
                "team_id": team_id,
                "team_abbr": abbr,
                "opponent_abbr": sides[other][2],
                "is_home": side == "homeTeam",
                "player_id": get_int(player, "personId", source, path),
                "player_name": get_str(player, "name", source, path),
                "starter": to_flag(require(player, "starter", source, path), source, f"{path}.starter"),
                "position": player.get("position") or "",
                "played": played,
                "minutes": minutes_from_iso(minutes_text, source, f"{spath}.minutes"),
                "plus_minus": get_float(stats, "plusMinusPoints", source, spath, nullable=True),
                "status_comment": "" if played else _not_playing_comment(player),
                "source": source,
            }
            for key, col in BOX_SCORE_STATS.items():
                row[col] = get_int(stats, key, source, spath)
            refuse_blank_minutes_with_stats(minutes_text, row, source, f"{spath}.minutes")
            rows.append(row)
        if len(rows) == before:
            # a final game's box score lists both teams: half a box score must not replace stored rows
            value = f"{len(players)} listed, none ACTIVE" if players else players
            raise SourceDataError(source, f"game.{side}.players", f"has no ACTIVE player of {abbr}", value)
    return frame(rows, BOX_SCORE_SCHEMA, source)


def parse_cdn_game_header(payload: Any, source: str = CDN_NBA) -> pl.DataFrame:
    """cdn box score -> the one schedule row of its game (final scores once ``gameStatus`` is 3)."""
    game, game_id = _game(payload, source)
    status = game_status(require(game, "gameStatus", source, "game"), source, "game.gameStatus")
    teams = {}
    for side in ("homeTeam", "awayTeam"):
        team = get_obj(game, side, source, "game")
        path = f"game.{side}"
        score = to_int(team.get("score"), source, f"{path}.score", nullable=True)
        teams[side] = (
            get_int(team, "teamId", source, path),
            team_code(require(team, "teamTricode", source, path), source, f"{path}.teamTricode"),
            score if status == "final" else None,
        )
    row = {
        "game_date": _game_date(game, source),
        "game_id": game_id,
        "season": season_of(game_id),
        "season_type": season_type_of(game_id, source, "game.gameId"),
        "tipoff_utc": parse_utc(game.get("gameTimeUTC"), source, "game.gameTimeUTC", nullable=True),
        "home_team_id": teams["homeTeam"][0],
        "home_abbr": teams["homeTeam"][1],
        "away_team_id": teams["awayTeam"][0],
        "away_abbr": teams["awayTeam"][1],
        "status": status,
        "home_pts": teams["homeTeam"][2],
        "away_pts": teams["awayTeam"][2],
        "source": source,
    }
    return frame([row], SCHEDULE_SCHEMA, source)
