"""Parsers for stats.nba.com (and the cdn schedule, which has the same shape as ``scheduleleaguev2``).

Pure functions: a decoded JSON payload in, a frame conformed to the raw-layer contract out
(:data:`SCHEDULE_SCHEMA` or :data:`BOX_SCORE_SCHEMA`). Units: minutes as decimal minutes, points as
integers, ``game_date`` the ET calendar date, ``tipoff_utc`` tz-aware UTC.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import polars as pl

from nba_assets.lib.errors import SourceDataError, require
from nba_assets.lib.parsers._common import (
    BOX_SCORE_STATS,
    CDN_NBA,
    STATS_NBA,
    check_game_id,
    date_prefix,
    et_clock_to_utc,
    frame,
    game_status,
    get_float,
    get_int,
    get_list,
    get_obj,
    get_str,
    minutes_from_mmss,
    parse_utc,
    refuse_blank_minutes_with_stats,
    result_set_rows,
    row_value,
    scoreboard_status,
    season_from_year,
    season_of,
    season_type_of,
    team_code,
    to_date,
    to_float,
    to_int,
    to_str,
)
from nba_assets.lib.schemas import BOX_SCORE_SCHEMA, SCHEDULE_SCHEMA
from nba_assets.lib.teams import BY_ID

# ---------------------------------------------------------------- schedules / scoreboards


def _final_points(score: Any, status: str, source: str, field: str) -> int | None:
    """Scores are only kept for final games (the contract: null until final)."""
    points = to_int(score, source, field, nullable=True)
    return points if status == "final" else None


def parse_scoreboard_v3(payload: Any, source: str = STATS_NBA) -> pl.DataFrame:
    """``scoreboardv3`` -> one schedule row per game of ``scoreboard.gameDate`` (ET date).

    ``status`` is ``gameStatus`` 1/2/3 -> scheduled/live/final, and ``postponed`` for a scheduled game
    whose ``gameStatusText`` is "PPD"/"Postponed" (:func:`scoreboard_status`); scores stay null unless final."""
    board = get_obj(payload, "scoreboard", source)
    day = date_prefix(get_str(board, "gameDate", source, "scoreboard"), source, "scoreboard.gameDate")
    rows = []
    for i, game in enumerate(get_list(board, "games", source, "scoreboard")):
        path = f"scoreboard.games[{i}]"
        game_id = check_game_id(get_str(game, "gameId", source, path), source, f"{path}.gameId")
        status = scoreboard_status(
            require(game, "gameStatus", source, path),
            game.get("gameStatusText"),
            source,
            f"{path}.gameStatus",
            f"{path}.gameStatusText",
        )
        teams = {}
        for side in ("homeTeam", "awayTeam"):
            team = get_obj(game, side, source, path)
            tpath = f"{path}.{side}"
            teams[side] = (
                get_int(team, "teamId", source, tpath),
                team_code(require(team, "teamTricode", source, tpath), source, f"{tpath}.teamTricode"),
                _final_points(team.get("score"), status, source, f"{tpath}.score"),
            )
        rows.append(
            {
                "game_date": day,
                "game_id": game_id,
                "season": season_of(game_id),
                "season_type": season_type_of(game_id, source, f"{path}.gameId"),
                "tipoff_utc": parse_utc(
                    game.get("gameTimeUTC"), source, f"{path}.gameTimeUTC", nullable=True
                ),
                "home_team_id": teams["homeTeam"][0],
                "home_abbr": teams["homeTeam"][1],
                "away_team_id": teams["awayTeam"][0],
                "away_abbr": teams["awayTeam"][1],
                "status": status,
                "home_pts": teams["homeTeam"][2],
                "away_pts": teams["awayTeam"][2],
                "source": source,
            }
        )
    return frame(rows, SCHEDULE_SCHEMA, source)


def _team_abbr_for_id(team_id: int, hint: Any, source: str, field: str) -> str:
    if isinstance(hint, str) and hint.strip():
        return team_code(hint, source, field)
    team = BY_ID.get(team_id)
    if team is None:
        raise SourceDataError(source, field, "is not a known NBA team id", team_id)
    return team.tricode


def parse_scoreboard_v2(payload: Any, source: str = STATS_NBA) -> pl.DataFrame:
    """Legacy ``scoreboardV2`` (``GameHeader`` + ``LineScore`` result sets) -> schedule rows.

    ``game_date`` is the request's ``GameDate`` parameter, else the row's ``GAME_DATE_EST``.
    ``tipoff_utc`` is only known for scheduled games, whose status text is the ET clock time.
    ``status`` is ``GAME_STATUS_ID`` 1/2/3, and ``postponed`` for a scheduled game whose
    ``GAME_STATUS_TEXT`` is "PPD"/"Postponed" (the same status text scoreboardv3 carries).
    """
    params = payload.get("parameters") if isinstance(payload, dict) else None
    param_date = params.get("GameDate") if isinstance(params, dict) else None
    headers = result_set_rows(payload, "GameHeader", source)
    lines = result_set_rows(payload, "LineScore", source)
    by_team: dict[tuple[str, int], dict[str, Any]] = {}
    for j, line in enumerate(lines):
        lpath = f"resultSets[LineScore].rowSet[{j}]"
        gid = to_str(row_value(line, "GAME_ID", source, lpath), source, f"{lpath}.GAME_ID")
        tid = to_int(row_value(line, "TEAM_ID", source, lpath), source, f"{lpath}.TEAM_ID")
        by_team[(gid, tid)] = line  # type: ignore[index]
    rows = []
    seen: set[str] = set()
    for i, head in enumerate(headers):
        path = f"resultSets[GameHeader].rowSet[{i}]"
        game_id = check_game_id(row_value(head, "GAME_ID", source, path), source, f"{path}.GAME_ID")
        if game_id in seen:  # GameHeader repeats a game when it has several national broadcasters
            continue
        seen.add(game_id)
        status = scoreboard_status(
            row_value(head, "GAME_STATUS_ID", source, path),
            head.get("GAME_STATUS_TEXT"),
            source,
            f"{path}.GAME_STATUS_ID",
            f"{path}.GAME_STATUS_TEXT",
        )
        day = date_prefix(
            param_date or row_value(head, "GAME_DATE_EST", source, path), source, f"{path}.GAME_DATE_EST"
        )
        season = head.get("SEASON")
        teams = {}
        for side, key in (("home", "HOME_TEAM_ID"), ("away", "VISITOR_TEAM_ID")):
            tid = to_int(row_value(head, key, source, path), source, f"{path}.{key}")
            team_line = by_team.get((game_id, tid))
            lpath = f"resultSets[LineScore][{game_id}/{tid}]"
            abbr = _team_abbr_for_id(
                tid, (team_line or {}).get("TEAM_ABBREVIATION"), source, f"{lpath}.TEAM_ABBREVIATION"
            )
            pts = None
            if status == "final":
                if team_line is None:
                    raise SourceDataError(source, lpath, "is missing for a final game")
                pts = to_int(row_value(team_line, "PTS", source, lpath), source, f"{lpath}.PTS")
            teams[side] = (tid, abbr, pts)
        status_text = head.get("GAME_STATUS_TEXT")
        tipoff = (
            et_clock_to_utc(day, status_text)
            if status == "scheduled" and isinstance(status_text, str)
            else None
        )
        rows.append(
            {
                "game_date": day,
                "game_id": game_id,
                "season": season_from_year(season) if season else season_of(game_id),
                "season_type": season_type_of(game_id, source, f"{path}.GAME_ID"),
                "tipoff_utc": tipoff,
                "home_team_id": teams["home"][0],
                "home_abbr": teams["home"][1],
                "away_team_id": teams["away"][0],
                "away_abbr": teams["away"][1],
                "status": status,
                "home_pts": teams["home"][2],
                "away_pts": teams["away"][2],
                "source": source,
            }
        )
    return frame(rows, SCHEDULE_SCHEMA, source)


def _schedule_team(
    team: dict[str, Any], game_id: str, source: str, path: str
) -> tuple[int | None, str | None]:
    """(team id, tricode) of a schedule slot.

    Policy, because a season schedule is more than 30 NBA teams playing each other:
    - an undecided slot (teamId 0, blank tricode: NBA Cup knockouts, playoff placeholders) -> (None, None);
    - a non-NBA exhibition opponent in a preseason game (Real Madrid ``RMD``) keeps its id and code, and
      the schedule row rules quarantine it as an unknown team;
    - anything else must be a known NBA team, or the payload is rejected.
    """
    team_id = get_int(team, "teamId", source, path)
    code = get_str(team, "teamTricode", source, path, nullable=True) or ""
    if team_id == 0 and not code.strip():
        return None, None
    if game_id.startswith("001") and team_id not in BY_ID:
        return team_id, code
    return team_id, team_code(code, source, f"{path}.teamTricode")


def parse_schedule_v2(payload: Any, season: str | None = None, source: str = CDN_NBA) -> pl.DataFrame:
    """``scheduleLeagueV2`` (cdn static file or stats ``scheduleleaguev2``) -> one row per game.

    ``game_date`` is the ET date of ``gameDateEst`` (or ``gameDateTimeEst``); ``tipoff_utc`` is
    ``gameDateTimeUTC`` (null while the time is TBD); status 1/2/3 -> scheduled/live/final and
    ``postponedStatus`` ``P`` -> postponed. Optional keys (``gameLabel``, ``isNeutral`` ...) are not read.
    """
    sched = get_obj(payload, "leagueSchedule", source)
    season_label = season or sched.get("seasonYear")
    if season_label and not re.fullmatch(r"\d{4}(-\d{2})?", str(season_label)):
        raise SourceDataError(source, "leagueSchedule.seasonYear", "is not a season year", season_label)
    rows = []
    for d, game_date in enumerate(get_list(sched, "gameDates", source, "leagueSchedule")):
        dpath = f"leagueSchedule.gameDates[{d}]"
        for i, game in enumerate(get_list(game_date, "games", source, dpath)):
            path = f"{dpath}.games[{i}]"
            game_id = check_game_id(get_str(game, "gameId", source, path), source, f"{path}.gameId")
            status = game_status(require(game, "gameStatus", source, path), source, f"{path}.gameStatus")
            if str(game.get("postponedStatus") or "").upper() == "P":
                status = "postponed"
            date_text = game.get("gameDateEst") or game.get("gameDateTimeEst")
            if date_text is None:
                raise SourceDataError(source, f"{path}.gameDateEst", "is missing")
            day = date_prefix(date_text, source, f"{path}.gameDateEst")
            status_text = game.get("gameStatusText")
            tbd = isinstance(status_text, str) and status_text.strip().upper() == "TBD"
            tipoff = (
                None
                if tbd
                else parse_utc(game.get("gameDateTimeUTC"), source, f"{path}.gameDateTimeUTC", nullable=True)
            )
            home_id, home_abbr = _schedule_team(
                get_obj(game, "homeTeam", source, path), game_id, source, f"{path}.homeTeam"
            )
            away_id, away_abbr = _schedule_team(
                get_obj(game, "awayTeam", source, path), game_id, source, f"{path}.awayTeam"
            )
            rows.append(
                {
                    "game_date": day,
                    "game_id": game_id,
                    "season": season_from_year(season_label) if season_label else season_of(game_id),
                    "season_type": season_type_of(game_id, source, f"{path}.gameId"),
                    "tipoff_utc": tipoff,
                    "home_team_id": home_id,
                    "home_abbr": home_abbr,
                    "away_team_id": away_id,
                    "away_abbr": away_abbr,
                    "status": status,
                    "home_pts": _final_points(
                        game["homeTeam"].get("score"), status, source, f"{path}.homeTeam.score"
                    ),
                    "away_pts": _final_points(
                        game["awayTeam"].get("score"), status, source, f"{path}.awayTeam.score"
                    ),
                    "source": source,
                }
            )
    return frame(rows, SCHEDULE_SCHEMA, source)


# ---------------------------------------------------------------- box scores


def parse_boxscore_traditional_v3(
    payload: Any, game_date: date | datetime | str, source: str = STATS_NBA
) -> pl.DataFrame:
    """``boxscoretraditionalv3`` -> one row per listed player (DNP rows included).

    The payload carries no date, so the caller passes the ET ``game_date``. ``minutes`` "MM:SS" become
    decimal minutes; a blank ``minutes`` (DNP) is 0.0 with ``played`` False and ``status_comment`` the
    ``comment`` ("DNP - Coach's Decision"). ``starter`` is a non-blank ``position`` (bench rows have "").
    Only final games' box scores are asked for, so a team with an empty ``players`` list is rejected.
    """
    day = to_date(game_date)
    box = get_obj(payload, "boxScoreTraditional", source)
    game_id = check_game_id(
        get_str(box, "gameId", source, "boxScoreTraditional"), source, "boxScoreTraditional.gameId"
    )
    sides = {}
    for side in ("homeTeam", "awayTeam"):
        team = get_obj(box, side, source, "boxScoreTraditional")
        path = f"boxScoreTraditional.{side}"
        sides[side] = (
            team,
            get_int(team, "teamId", source, path),
            team_code(require(team, "teamTricode", source, path), source, f"{path}.teamTricode"),
        )
    rows = []
    for side, other in (("homeTeam", "awayTeam"), ("awayTeam", "homeTeam")):
        team, team_id, abbr = sides[side]
        players = get_list(team, "players", source, f"boxScoreTraditional.{side}")
        if not players:
            # a final game's box score lists both teams: half a box score must not replace stored rows
            raise SourceDataError(
                source, f"boxScoreTraditional.{side}.players", f"lists no player of {abbr}", players
            )
        for i, player in enumerate(players):
            path = f"boxScoreTraditional.{side}.players[{i}]"
            stats = get_obj(player, "statistics", source, path)
            spath = f"{path}.statistics"
            minutes_text = require(stats, "minutes", source, spath)
            minutes = minutes_from_mmss(minutes_text, source, f"{spath}.minutes")
            first = get_str(player, "firstName", source, path, nullable=True) or ""
            family = get_str(player, "familyName", source, path, nullable=True) or ""
            position = get_str(player, "position", source, path, nullable=True) or ""
            row: dict[str, Any] = {
                "game_date": day,
                "game_id": game_id,
                "team_id": team_id,
                "team_abbr": abbr,
                "opponent_abbr": sides[other][2],
                "is_home": side == "homeTeam",
                "player_id": get_int(player, "personId", source, path),
                "player_name": f"{first} {family}".strip(),
                "starter": position != "",
                "position": position,
                "played": minutes > 0,
                "minutes": minutes,
                "plus_minus": get_float(stats, "plusMinusPoints", source, spath, nullable=True),
                "status_comment": get_str(player, "comment", source, path, nullable=True) or "",
                "source": source,
            }
            for key, col in BOX_SCORE_STATS.items():
                row[col] = get_int(stats, key, source, spath)
            refuse_blank_minutes_with_stats(minutes_text, row, source, f"{spath}.minutes")
            rows.append(row)
    return frame(rows, BOX_SCORE_SCHEMA, source)


_MATCHUP = re.compile(r"^([A-Z]{2,3}) (vs\.|@) ([A-Z]{2,3})$")

_LOG_STATS: dict[str, str] = {
    "PTS": "pts",
    "FGM": "fgm",
    "FGA": "fga",
    "FG3M": "fg3m",
    "FG3A": "fg3a",
    "FTM": "ftm",
    "FTA": "fta",
    "OREB": "oreb",
    "DREB": "dreb",
    "REB": "reb",
    "AST": "ast",
    "STL": "stl",
    "BLK": "blk",
    "TOV": "tov",
    "PF": "pf",
}


def parse_leaguegamelog_players(payload: Any, source: str = STATS_NBA) -> pl.DataFrame:
    """``leaguegamelog`` (PlayerOrTeam=P) -> one box-score row per player who logged a line.

    ``MATCHUP`` "GSW vs. NYK" is a home game, "IND @ MIL" an away game. ``MIN`` is whole minutes. The
    log has no starter flag or position (both null) and no DNP rows (``status_comment`` "").
    """
    rows = []
    for i, rec in enumerate(result_set_rows(payload, "LeagueGameLog", source)):
        path = f"resultSets[LeagueGameLog].rowSet[{i}]"

        def val(key: str, rec: dict[str, Any] = rec, path: str = path) -> Any:
            return row_value(rec, key, source, path)

        abbr = team_code(val("TEAM_ABBREVIATION"), source, f"{path}.TEAM_ABBREVIATION")
        matchup = val("MATCHUP")
        m = _MATCHUP.match(matchup.strip()) if isinstance(matchup, str) else None
        if not m:
            raise SourceDataError(source, f"{path}.MATCHUP", "is not 'TEAM vs. OPP' or 'TEAM @ OPP'", matchup)
        if team_code(m.group(1), source, f"{path}.MATCHUP") != abbr:
            raise SourceDataError(
                source, f"{path}.MATCHUP", f"does not start with the player's team {abbr}", matchup
            )
        minutes = to_float(val("MIN"), source, f"{path}.MIN", nullable=True) or 0.0
        row: dict[str, Any] = {
            "game_date": date_prefix(val("GAME_DATE"), source, f"{path}.GAME_DATE"),
            "game_id": check_game_id(val("GAME_ID"), source, f"{path}.GAME_ID"),
            "team_id": to_int(val("TEAM_ID"), source, f"{path}.TEAM_ID"),
            "team_abbr": abbr,
            "opponent_abbr": team_code(m.group(3), source, f"{path}.MATCHUP"),
            "is_home": m.group(2) == "vs.",
            "player_id": to_int(val("PLAYER_ID"), source, f"{path}.PLAYER_ID"),
            "player_name": to_str(val("PLAYER_NAME"), source, f"{path}.PLAYER_NAME"),
            "starter": None,
            "position": None,
            "played": minutes > 0,
            "minutes": minutes,
            "plus_minus": to_float(val("PLUS_MINUS"), source, f"{path}.PLUS_MINUS", nullable=True),
            "status_comment": "",
            "source": source,
        }
        for key, col in _LOG_STATS.items():
            row[col] = to_int(val(key), source, f"{path}.{key}")
        rows.append(row)
    return frame(rows, BOX_SCORE_SCHEMA, source)
