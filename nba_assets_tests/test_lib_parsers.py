"""Parsers against the recorded real payloads in shared/fixtures/real/, plus malformed-body cases.

Facts asserted are the payloads' own (scores from the payload's team statistics, counts from the
fixture README), never numbers made up for the test.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from nba_assets.lib.errors import SourceDataError
from nba_assets.lib.parsers import bettingpros, injury_report, nba_cdn, nba_stats, odds_api
from nba_assets.lib.parsers._common import minutes_from_iso, minutes_from_mmss
from nba_assets.lib.parsers.registry import PARSERS, parse_payload
from nba_assets.lib.schemas import BOX_SCORE_SCHEMA, INJURY_SCHEMA, PROPS_SCHEMA, SCHEDULE_SCHEMA

BOX_V3 = "stats_boxscoretraditionalv3_0022500165.json"
CDN_BOX = "cdn_liveData_boxscore_0022000001.json"
SB_V3 = "stats_scoreboardv3_2025-11-05.json"
SB_V2 = "stats_scoreboardV2_2024-01-15.json"
GAMELOG = "stats_leaguegamelog_players_2025-03-15.json"
SCHEDULE = "cdn_scheduleLeagueV2_2023-24.json"
BP_EVENTS = "bettingpros_v3_events_NBA_2021-10-21.json"
ODDS = "oddsapi_v4_event_odds_player_points_ORL-at-CLE_2024-02-22.json"
ODDS_HIST_EVENTS = "oddsapi_v4_historical_events_2025-03-09T235538Z.json"
INJURY_PDF = "nba_injury_report_2024-01-04_12PM.pdf"
INJURY_PARSED = "nba_injury_report_parsed_2024-01-04_12PM.json"


def load(folder: Path, name: str) -> Any:
    return json.loads((folder / name).read_bytes())


def schema_of(df: pl.DataFrame) -> dict[str, pl.DataType]:
    return dict(df.schema)


# ---------------------------------------------------------------- every recorded fixture is covered


def test_every_recorded_fixture_has_a_parser_test(fixtures_dir: Path) -> None:
    covered = {
        BOX_V3,
        CDN_BOX,
        SB_V3,
        SB_V2,
        GAMELOG,
        SCHEDULE,
        BP_EVENTS,
        ODDS,
        ODDS_HIST_EVENTS,
        INJURY_PDF,
        INJURY_PARSED,
    }
    on_disk = {p.name for p in fixtures_dir.iterdir() if p.suffix in (".json", ".pdf")}
    assert on_disk == covered


# ---------------------------------------------------------------- stats.nba.com


def test_scoreboard_v3_2025_11_05(fixtures_dir: Path) -> None:
    payload = load(fixtures_dir, SB_V3)
    df = nba_stats.parse_scoreboard_v3(payload)
    assert schema_of(df) == SCHEDULE_SCHEMA
    assert df.height == 11
    assert df["status"].unique().to_list() == ["final"]
    assert df["game_date"].unique().to_list() == [date(2025, 11, 5)]
    assert df["season"].unique().to_list() == ["2025-26"]
    first = df.row(0, named=True)
    assert (first["game_id"], first["home_abbr"], first["away_abbr"]) == ("0022500171", "CLE", "PHI")
    assert (first["home_pts"], first["away_pts"]) == (132, 121)
    assert first["tipoff_utc"] == datetime(2025, 11, 6, 0, 0, tzinfo=UTC)
    # every score equals the payload's own
    for game, row in zip(payload["scoreboard"]["games"], df.iter_rows(named=True), strict=True):
        assert row["home_pts"] == game["homeTeam"]["score"]
        assert row["away_pts"] == game["awayTeam"]["score"]


def test_scoreboard_v2_2024_01_15(fixtures_dir: Path) -> None:
    payload = load(fixtures_dir, SB_V2)
    df = nba_stats.parse_scoreboard_v2(payload)
    assert schema_of(df) == SCHEDULE_SCHEMA
    assert df.height == 11
    assert df["status"].unique().to_list() == ["final"]
    assert df["game_date"].unique().to_list() == [date(2024, 1, 15)]
    line_score = next(rs for rs in payload["resultSets"] if rs["name"] == "LineScore")
    pts = {(r[2], r[3]): r[line_score["headers"].index("PTS")] for r in line_score["rowSet"]}
    for row in df.iter_rows(named=True):
        assert row["home_pts"] == pts[(row["game_id"], row["home_team_id"])]
        assert row["away_pts"] == pts[(row["game_id"], row["away_team_id"])]
    hou_phi = df.filter(pl.col("game_id") == "0022300555").row(0, named=True)
    assert (hou_phi["home_abbr"], hou_phi["away_abbr"], hou_phi["home_pts"], hou_phi["away_pts"]) == (
        "PHI",
        "HOU",
        124,
        115,
    )
    assert hou_phi["season"] == "2023-24"


def _postpone_v3(payload: dict[str, Any], i: int, text: str = "PPD") -> None:
    """Game ``i`` as the recorded liveData scoreboards show a postponed game (0022000194 on 2021-01-16):
    ``gameStatus`` 1, ``gameStatusText`` "PPD", period 0, zero scores."""
    game = payload["scoreboard"]["games"][i]
    game.update(gameStatus=1, gameStatusText=text, period=0, gameClock="")
    for side in ("homeTeam", "awayTeam"):
        game[side]["score"] = 0


@pytest.mark.parametrize("text", ["PPD", "Postponed", " ppd "])
def test_scoreboard_v3_postponed_game_from_its_status_text(fixtures_dir: Path, text: str) -> None:
    payload = load(fixtures_dir, SB_V3)
    _postpone_v3(payload, 0, text)
    df = nba_stats.parse_scoreboard_v3(payload)
    ppd = df.row(0, named=True)
    assert (ppd["game_id"], ppd["status"], ppd["home_pts"], ppd["away_pts"]) == (
        "0022500171",
        "postponed",
        None,
        None,
    )
    assert ppd["tipoff_utc"] == datetime(2025, 11, 6, 0, 0, tzinfo=UTC)  # the original tip-off is kept
    assert df["status"].to_list()[1:] == ["final"] * 10
    # the day is settled: the postponed game needs no box score (its lines grade VOID)
    from nba_assets.lib import grading

    played = df.slice(1)
    # one row per team scoring the team's final score (readiness checks that the box score adds up)
    box = pl.concat(
        [played.select("game_id", team_abbr=f"{side}_abbr", pts=f"{side}_pts") for side in ("home", "away")]
    )
    ready = grading.readiness(df, box)
    assert ready.passed and ready.metadata["postponed"] == ["0022500171"]


def test_scoreboard_v2_postponed_game_from_its_status_text(fixtures_dir: Path) -> None:
    payload = load(fixtures_dir, SB_V2)
    header = next(rs for rs in payload["resultSets"] if rs["name"] == "GameHeader")
    cols = header["headers"]
    row = header["rowSet"][0]
    row[cols.index("GAME_STATUS_ID")], row[cols.index("GAME_STATUS_TEXT")] = 1, "PPD"
    df = nba_stats.parse_scoreboard_v2(payload)
    ppd = df.filter(pl.col("game_id") == row[cols.index("GAME_ID")]).row(0, named=True)
    assert (ppd["status"], ppd["home_pts"], ppd["away_pts"], ppd["tipoff_utc"]) == (
        "postponed",
        None,
        None,
        None,
    )
    assert df.filter(pl.col("status") == "final").height == 10


@pytest.mark.parametrize(("name", "field"), [(SB_V3, "scoreboard.games[3].gameStatusText"), (SB_V2, None)])
def test_a_postponed_text_on_a_final_game_is_rejected(
    fixtures_dir: Path, name: str, field: str | None
) -> None:
    payload = load(fixtures_dir, name)
    if name == SB_V3:
        payload["scoreboard"]["games"][3]["gameStatusText"] = "PPD"  # gameStatus stays 3
        parse = nba_stats.parse_scoreboard_v3
    else:
        header = next(rs for rs in payload["resultSets"] if rs["name"] == "GameHeader")
        header["rowSet"][3][header["headers"].index("GAME_STATUS_TEXT")] = "Postponed"
        field = "resultSets[GameHeader].rowSet[3].GAME_STATUS_TEXT"
        parse = nba_stats.parse_scoreboard_v2
    with pytest.raises(SourceDataError, match="says postponed but the game status is final") as err:
        parse(payload)
    assert (err.value.source, err.value.field) == ("stats.nba.com", field)
    assert err.value.value in ("PPD", "Postponed") and repr(err.value.value) in str(err.value)


def test_boxscore_traditional_v3_points_sum_to_team_score(fixtures_dir: Path) -> None:
    payload = load(fixtures_dir, BOX_V3)
    df = nba_stats.parse_boxscore_traditional_v3(payload, date(2025, 11, 4))
    assert schema_of(df) == BOX_SCORE_SCHEMA
    box = payload["boxScoreTraditional"]
    counts = dict(df.group_by("team_abbr").len().iter_rows())
    assert counts == {"TOR": 14, "MIL": 15}
    for side in ("homeTeam", "awayTeam"):
        team = box[side]
        team_pts = df.filter(pl.col("team_abbr") == team["teamTricode"])["pts"].sum()
        assert team_pts == team["statistics"]["points"]
    assert box["homeTeam"]["statistics"]["points"] == 128 and box["awayTeam"]["statistics"]["points"] == 100
    dnp = df.filter(pl.col("status_comment").str.starts_with("DNP"))
    assert dnp.height == 2
    assert not dnp["played"].any()
    assert dnp["minutes"].to_list() == [0.0, 0.0]
    assert dnp["player_name"].sort().to_list() == ["Garrett Temple", "Thanasis Antetokounmpo"]
    assert df.filter(~pl.col("played")).height == 2
    ingram = df.filter(pl.col("player_id") == 1627742).row(0, named=True)
    assert ingram["minutes"] == pytest.approx(30 + 49 / 60)
    assert (ingram["starter"], ingram["position"], ingram["is_home"], ingram["opponent_abbr"]) == (
        True,
        "F",
        True,
        "MIL",
    )
    assert df.filter(pl.col("starter")).height == 10
    assert df["game_date"].unique().to_list() == [date(2025, 11, 4)]


def test_leaguegamelog_players_2025_03_15(fixtures_dir: Path) -> None:
    df = nba_stats.parse_leaguegamelog_players(load(fixtures_dir, GAMELOG))
    assert schema_of(df) == BOX_SCORE_SCHEMA
    assert df.height == 157
    assert df["game_id"].n_unique() == 8
    curry = df.filter(pl.col("player_id") == 201939).row(0, named=True)
    assert (curry["team_abbr"], curry["opponent_abbr"], curry["is_home"], curry["minutes"], curry["pts"]) == (
        "GSW",
        "NYK",
        True,
        35.0,
        28,
    )
    mcconnell = df.filter(pl.col("player_id") == 204456).row(0, named=True)
    assert (mcconnell["team_abbr"], mcconnell["opponent_abbr"], mcconnell["is_home"]) == ("IND", "MIL", False)
    # each game has exactly one home and one away team
    sides = df.group_by("game_id").agg(
        pl.col("team_abbr").filter(pl.col("is_home")).n_unique().alias("h"),
        pl.col("team_abbr").n_unique().alias("t"),
    )
    assert sides["h"].to_list() == [1] * 8 and sides["t"].to_list() == [2] * 8


def test_schedule_v2_2023_24(fixtures_dir: Path) -> None:
    df = nba_stats.parse_schedule_v2(load(fixtures_dir, SCHEDULE))
    assert schema_of(df) == SCHEDULE_SCHEMA
    assert df.height == 1280
    kinds = dict(df.group_by("season_type").len().iter_rows())
    assert kinds == {"Regular Season": 1206, "Preseason": 73, "NBA Cup Final": 1}
    assert df["status"].unique().to_list() == ["scheduled"]  # captured before the season
    assert df["home_pts"].is_null().all()
    assert df["season"].unique().to_list() == ["2023-24"]
    opener = df.filter(pl.col("game_id") == "0012300001").row(0, named=True)
    assert (opener["game_date"], opener["home_abbr"], opener["away_abbr"]) == (
        date(2023, 10, 5),
        "MIN",
        "DAL",
    )
    assert opener["tipoff_utc"] == datetime(2023, 10, 5, 16, 0, tzinfo=UTC)
    # undecided NBA Cup knockout slots are null teams with no tip-off, not rejected rows
    final = df.filter(pl.col("game_id") == "0062300001").row(0, named=True)
    assert final["home_abbr"] is None and final["tipoff_utc"] is None
    # a non-NBA exhibition opponent is kept as printed (the schedule row rules quarantine it)
    assert df.filter(pl.col("game_id") == "0012300013")["home_abbr"].to_list() == ["RMD"]


# ---------------------------------------------------------------- cdn.nba.com


def test_cdn_boxscore_0022000001(fixtures_dir: Path) -> None:
    payload = load(fixtures_dir, CDN_BOX)
    df = nba_cdn.parse_cdn_boxscore(payload)
    assert schema_of(df) == BOX_SCORE_SCHEMA
    totals = dict(df.group_by("team_abbr").agg(pl.col("pts").sum()).iter_rows())
    assert totals == {"BKN": 125, "GSW": 99}
    assert totals["BKN"] == payload["game"]["homeTeam"]["score"]
    # INACTIVE players are dropped: 17 listed per team, 2 BKN and 4 GSW inactive
    assert dict(df.group_by("team_abbr").len().iter_rows()) == {"BKN": 15, "GSW": 13}
    assert df.filter(pl.col("player_name") == "Klay Thompson").is_empty()
    assert df["minutes"].sum() == pytest.approx(480.0)
    durant = df.filter(pl.col("player_id") == 201142).row(0, named=True)
    assert durant["minutes"] == pytest.approx(24 + 56 / 60)
    assert (durant["starter"], durant["played"], durant["pts"], durant["status_comment"]) == (
        True,
        True,
        22,
        "",
    )
    assert df["game_date"].unique().to_list() == [date(2020, 12, 22)]


def test_cdn_game_header(fixtures_dir: Path) -> None:
    df = nba_cdn.parse_cdn_game_header(load(fixtures_dir, CDN_BOX))
    assert schema_of(df) == SCHEDULE_SCHEMA
    row = df.row(0, named=True)
    assert (row["home_abbr"], row["home_pts"], row["away_abbr"], row["away_pts"], row["status"]) == (
        "BKN",
        125,
        "GSW",
        99,
        "final",
    )
    assert row["game_date"] == date(2020, 12, 22) and row["season"] == "2020-21"


def test_cdn_dnp_coach_row_is_kept_with_comment(fixtures_dir: Path) -> None:
    payload = load(fixtures_dir, CDN_BOX)
    player = payload["game"]["awayTeam"]["players"][12]
    player.update(played="0", notPlayingReason="DNP_COACH", notPlayingDescription="Coach's Decision")
    player["statistics"].update(minutes="PT00M00.00S", points=0)
    df = nba_cdn.parse_cdn_boxscore(payload)
    row = df.filter(pl.col("player_id") == player["personId"]).row(0, named=True)
    assert (row["played"], row["minutes"], row["status_comment"]) == (
        False,
        0.0,
        "DNP_COACH - Coach's Decision",
    )


@pytest.mark.parametrize("minutes", [None, ""])
def test_blank_minutes_on_a_player_with_stats_are_refused(fixtures_dir: Path, minutes: str | None) -> None:
    """Before: B. Ingram (30:49, 13 points) with null or "" minutes was stored as a player who did not
    play (0.0 minutes, played False) with his 13 points, and every check passed. A DNP row ("", no stat)
    stays a DNP row."""
    payload = load(fixtures_dir, BOX_V3)
    players = payload["boxScoreTraditional"]["homeTeam"]["players"]
    assert (players[0]["nameI"], players[0]["statistics"]["minutes"]) == ("B. Ingram", "30:49")
    players[0]["statistics"]["minutes"] = minutes
    with pytest.raises(SourceDataError) as err:
        nba_stats.parse_boxscore_traditional_v3(payload, date(2025, 11, 4))
    assert (err.value.source, err.value.field, err.value.value) == (
        "stats.nba.com",
        "boxScoreTraditional.homeTeam.players[0].statistics.minutes",
        minutes,
    )
    assert f"is {'null' if minutes is None else 'blank'} on a player with pts 13, fgm 6" in str(err.value)
    dnp = next(p for p in players if p["comment"].startswith("DNP"))
    players[0] = dnp
    assert nba_stats.parse_boxscore_traditional_v3(payload, date(2025, 11, 4)).height == 29


def test_a_player_listed_twice_in_a_box_score_is_refused_naming_him(fixtures_dir: Path) -> None:
    """Before: the error named the pandera model ('box_scores.BoxScoreModel') and no value, its message
    ending in "not unique:"; it names the key's columns and the duplicate key now."""
    from nba_assets.lib.raw import validate_batch

    payload = load(fixtures_dir, BOX_V3)
    players = payload["boxScoreTraditional"]["homeTeam"]["players"]
    players.append(dict(players[3]))
    frame = nba_stats.parse_boxscore_traditional_v3(payload, date(2025, 11, 4))
    with pytest.raises(SourceDataError) as err:
        validate_batch(frame, "box_scores", "stats.nba.com")
    assert (err.value.source, err.value.field, err.value.value) == (
        "stats.nba.com",
        "box_scores.game_id/player_id",
        f"0022500165 {players[3]['personId']}",
    )
    assert "columns '('game_id', 'player_id')' not unique (value: " in str(err.value)


def test_cdn_blank_minutes_on_a_player_with_stats_are_refused(fixtures_dir: Path) -> None:
    """Before: a played ("1") row with blank minutes was stored with 0.0 minutes and its points."""
    payload = load(fixtures_dir, CDN_BOX)
    player = payload["game"]["homeTeam"]["players"][0]
    player["statistics"]["minutes"] = ""
    with pytest.raises(SourceDataError, match=r"is blank on a player with pts 10") as err:
        nba_cdn.parse_cdn_boxscore(payload)
    assert err.value.field == "game.homeTeam.players[0].statistics.minutes"


def test_minute_formats() -> None:
    assert minutes_from_iso("PT34M12.00S", "s", "f") == pytest.approx(34.2)
    assert minutes_from_iso("", "s", "f") == 0.0
    assert minutes_from_mmss("6:30", "s", "f") == 6.5
    assert minutes_from_mmss("", "s", "f") == 0.0
    assert minutes_from_mmss("-5:30", "s", "f") == -5.5  # kept: negative minutes are a row rule's job
    with pytest.raises(SourceDataError, match="field 'f'"):
        minutes_from_mmss("34 min", "s", "f")


# ---------------------------------------------------------------- injury report


def test_injury_pdf_matches_reference_records(fixtures_dir: Path) -> None:
    df = injury_report.parse_injury_pdf((fixtures_dir / INJURY_PDF).read_bytes())
    assert schema_of(df) == INJURY_SCHEMA
    expected = load(fixtures_dir, INJURY_PARSED)["records"]
    assert len(expected) == 14
    got = [
        (r["player_name"], r["team_abbr"], r["status"], r["reason"], r["matchup"], r["game_time_et"])
        for r in df.iter_rows(named=True)
    ]
    want = [(r["player"], r["team"], r["status"], r["reason"], r["matchup"], r["gametime"]) for r in expected]
    assert got == want
    assert df["game_date"].unique().to_list() == [date(2024, 1, 4)]
    assert df["player_id"].is_null().all()
    # the title prints the edition time; the multi-line McDermott reason is merged
    assert df["report_time_et"].unique().to_list() == [datetime(2024, 1, 4, 12, 30)]
    assert "Injury/Illness - Right Forearm; Contusion" in df["reason"].to_list()


def test_injury_pdf_report_time_argument_wins(fixtures_dir: Path) -> None:
    df = injury_report.parse_injury_pdf((fixtures_dir / INJURY_PDF).read_bytes(), datetime(2024, 1, 4, 12, 0))
    assert df["report_time_et"].unique().to_list() == [datetime(2024, 1, 4, 12, 0)]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"<html><body>This content is not accessible in this region.</body></html>", "geo-block"),
        (b"<!DOCTYPE html><html><title>Error</title></html>", "HTML"),
        (b"", "empty"),
        (b"%PDF-1.7 truncated", "readable PDF"),
    ],
)
def test_injury_bad_bodies(body: bytes, problem: str) -> None:
    with pytest.raises(SourceDataError, match=problem) as err:
        injury_report.parse_injury_pdf(body)
    assert err.value.source == "nba-injury-report" and err.value.field == "<body>"


def _text_pdf(lines: list[list[tuple[float, str]]], size: float = 9.0) -> bytes:
    """A one-page landscape PDF (Helvetica) with each of ``lines`` printed 22 pt below the previous one,
    its words at the given x (pt): enough to lay out an injury report's title, header and rows."""

    def esc(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    ops = []
    for n, words in enumerate(lines):
        y = 560 - 22 * n
        ops += [f"BT /F1 {size:g} Tf {x:g} {y} Td ({esc(t)}) Tj ET" for x, t in words]
    stream = "\n".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 792 612] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


_TITLE_LINE = [(20, "Injury Report: 01/04/24 12:30 PM")]
_HEADER = [(20, "Game Date"), (117, "Game Time"), (197, "Matchup"), (261, "Team"), (422, "Player Name")]
_ROW = [
    (20, "01/04/2024"),
    (117, "07:30 (ET)"),
    (197, "MIL@SAS"),
    (261, "San Antonio Spurs"),
    (422, "Collins, Zach"),
]


def test_injury_pdf_synthetic_layout_parses() -> None:
    """The test PDF writer lays out a row the parser reads (so the cases below fail on the rule, not on
    the writer)."""
    pdf = _text_pdf(
        [
            _TITLE_LINE,
            [],
            [*_HEADER, (583, "Current Status"), (663, "Reason")],
            [*_ROW, (583, "Out"), (663, "Rest")],
        ]
    )
    df = injury_report.parse_injury_pdf(pdf)
    assert df.select("team_abbr", "player_name", "status", "reason").rows() == [
        ("SAS", "Collins, Zach", "Out", "Rest")
    ]


def test_injury_pdf_without_players_is_an_empty_report() -> None:
    """Title and header and nothing else (an off day): a valid report of nobody, not an error."""
    pdf = _text_pdf([_TITLE_LINE, [], [*_HEADER, (583, "Current Status"), (663, "Reason")]])
    df = injury_report.parse_injury_pdf(pdf)
    assert df.is_empty() and schema_of(df) == INJURY_SCHEMA


def test_injury_pdf_whose_status_column_is_not_found_is_refused() -> None:
    """A changed layout (the status printed left of the player, its header renamed): the rows have text
    but no status where the parser looks for one. It raises naming the column and the first line,
    instead of returning no rows (every player ruled Out would count as expected). The first line is
    the header the parser did not recognise."""
    pdf = _text_pdf(
        [
            _TITLE_LINE,
            [],
            [*_HEADER[:4], (330, "Designation"), (422, "Player Name"), (663, "Reason")],
            [*_ROW[:4], (350, "Out"), (422, "Collins, Zach"), (663, "Rest")],
        ]
    )
    with pytest.raises(SourceDataError, match="column not found") as err:
        injury_report.parse_injury_pdf(pdf)
    assert err.value.source == "nba-injury-report" and err.value.field == "Current Status"
    assert err.value.value == "Game Date Game Time Matchup Team Designation Player Name Reason"


# ---------------------------------------------------------------- BettingPros


def test_bp_events_2021_10_21(fixtures_dir: Path) -> None:
    df = bettingpros.parse_bp_events(load(fixtures_dir, BP_EVENTS))
    assert df.columns == ["event_id", "tipoff_utc", "home_abbr", "away_abbr", "game_date", "status"]
    assert df.select("event_id", "away_abbr", "home_abbr").rows() == [
        ("20879", "DAL", "ATL"),
        ("20880", "MIL", "MIA"),
        ("20881", "LAC", "GSW"),
    ]
    # 00:00 and 02:00 UTC on the 22nd are still the 21st in ET
    assert df["game_date"].unique().to_list() == [date(2021, 10, 21)]
    assert df["tipoff_utc"][0] == datetime(2021, 10, 21, 23, 30, tzinfo=UTC)
    assert df["status"].unique().to_list() == ["final"]


def test_bp_offers_hand_made_fixture(fixtures_dir: Path, local_fixtures_dir: Path) -> None:
    events = bettingpros.parse_bp_events(load(fixtures_dir, BP_EVENTS))
    page1 = load(local_fixtures_dir, "bettingpros_v3_offers_NBA_2021-10-21_page1.json")
    assert "HAND-MADE" in page1["_comment"]
    df = bettingpros.parse_bp_offers(page1, events)
    assert schema_of(df) == PROPS_SCHEMA
    assert "bettingpros_consensus" not in df["bookmaker"].to_list()  # book 0 is skipped
    assert set(df["bookmaker"]) == {"fanduel", "draftkings", "betmgm"}
    # the inactive DraftKings 27.5 line is dropped; BetMGM's three-line ladder is kept
    luka = df.filter(pl.col("player_name") == "Luka Doncic")
    assert luka.filter(pl.col("bookmaker") == "draftkings")["line"].to_list() == [28.5]
    betmgm = luka.filter(pl.col("bookmaker") == "betmgm").sort("line")
    assert betmgm["line"].to_list() == [27.5, 28.5, 29.5]
    assert betmgm["is_main_line"].to_list() == [False, True, False]
    assert (
        df.group_by("player_name", "bookmaker").agg(pl.col("is_main_line").sum())["is_main_line"].to_list()
        == [1] * 5
    )
    row = betmgm.row(1, named=True)
    assert (row["over_price"], row["under_price"], row["home_abbr"], row["away_abbr"]) == (
        -110,
        -110,
        "ATL",
        "DAL",
    )
    assert row["game_date"] == date(2021, 10, 21) and row["snapshot_utc"] < row["tipoff_utc"]
    assert df["match_method"].unique().to_list() == ["unresolved"]


def test_bp_offers_are_one_snapshot_per_call(fixtures_dir: Path, local_fixtures_dir: Path) -> None:
    """A book moves its lines one by one (``updated`` differs by line), but downstream keeps each book's
    latest snapshot of a game: stamped per line, FanDuel's ATL-DAL offer would shrink to the players it
    moved last. Stamped with the moment of asking, all of it stays."""
    from nba_assets.lib.modeling.decisions import latest_snapshot

    events = bettingpros.parse_bp_events(load(fixtures_dir, BP_EVENTS))
    page1 = load(local_fixtures_dir, "bettingpros_v3_offers_NBA_2021-10-21_page1.json")
    trae = next(o for o in page1["offers"] if o["participants"][0]["name"] == "Trae Young")
    for selection in trae["selections"]:
        for book in selection["books"]:
            for line in book["lines"]:
                line["updated"] = "2021-10-21 21:05:00"  # moved long before Luka's
    asked = datetime(2021, 10, 21, 23, 0, tzinfo=UTC)
    df = bettingpros.parse_bp_offers(page1, events, asked)
    assert df["snapshot_utc"].unique().to_list() == [asked]
    offer = latest_snapshot(df, ["game_date", "event_id", "bookmaker"])
    assert offer.filter(pl.col("bookmaker") == "fanduel")["player_name"].sort().to_list() == [
        "Luka Doncic",
        "Trae Young",
    ]
    # replayed without the moment of asking: the page's latest update stands in, for every row
    replayed = bettingpros.parse_bp_offers(page1, events)
    assert replayed["snapshot_utc"].unique().to_list() == [datetime(2021, 10, 21, 22, 58, 30, tzinfo=UTC)]


def test_bp_offer_repeating_a_line_at_another_price_raises(
    fixtures_dir: Path, local_fixtures_dir: Path
) -> None:
    """Before: the last price won silently (FanDuel's Luka over 28.5 became -174); The Odds API's parser
    refuses the same repeat. The same price twice is one line."""
    events = bettingpros.parse_bp_events(load(fixtures_dir, BP_EVENTS))
    page1 = load(local_fixtures_dir, "bettingpros_v3_offers_NBA_2021-10-21_page1.json")
    fanduel = page1["offers"][0]["selections"][0]["books"][1]
    assert (fanduel["id"], fanduel["lines"][0]["line"], fanduel["lines"][0]["cost"]) == (10, 28.5, -114)
    fanduel["lines"].append(dict(fanduel["lines"][0]))
    assert bettingpros.parse_bp_offers(page1, events).height == 7
    fanduel["lines"].append({**fanduel["lines"][0], "cost": -174})
    with pytest.raises(SourceDataError) as err:
        bettingpros.parse_bp_offers(page1, events)
    assert (err.value.source, err.value.field, err.value.value) == (
        "bettingpros",
        "offers[0].selections[0].books[1].lines[2].cost",
        -174,
    )
    assert "repeats over Luka Doncic 28.5 at fanduel with another price" in str(err.value)


def test_bp_offer_for_unknown_event_raises(fixtures_dir: Path, local_fixtures_dir: Path) -> None:
    events = bettingpros.parse_bp_events(load(fixtures_dir, BP_EVENTS)).filter(pl.col("event_id") != "20880")
    page2 = load(local_fixtures_dir, "bettingpros_v3_offers_NBA_2021-10-21_page2.json")
    with pytest.raises(SourceDataError, match=r"offers\[0\]\.event_id"):
        bettingpros.parse_bp_offers(page2, events)


# ---------------------------------------------------------------- The Odds API


def test_odds_api_event_odds_orl_at_cle(fixtures_dir: Path) -> None:
    df = odds_api.parse_event_odds(load(fixtures_dir, ODDS), datetime(2024, 2, 22, 23, 56, tzinfo=UTC))
    assert schema_of(df) == PROPS_SCHEMA
    assert df["bookmaker"].n_unique() == 10
    assert df["player_name"].n_unique() == 20
    assert (df["home_abbr"].unique().to_list(), df["away_abbr"].unique().to_list()) == (["CLE"], ["ORL"])
    assert df["game_date"].unique().to_list() == [
        date(2024, 2, 22)
    ]  # 00:00Z on the 23rd is 7 pm ET on the 22nd
    assert df["over_price"].null_count() == 0 and df["under_price"].null_count() == 0
    per_book_player = df.group_by("bookmaker", "player_name").agg(
        pl.len().alias("n"), pl.col("is_main_line").sum().alias("main")
    )
    assert per_book_player["main"].to_list() == [1] * per_book_player.height
    ladders = per_book_player.filter(pl.col("n") > 1)
    assert set(ladders["bookmaker"]) == {"betrivers", "unibet_us"}
    franz = df.filter(
        pl.col("bookmaker") == "betrivers", pl.col("player_name") == "Franz Wagner", pl.col("is_main_line")
    ).row(0, named=True)
    assert (franz["line"], franz["over_price"], franz["under_price"]) == (19.5, -124, -107)
    assert (
        df["game_id"].is_null().all() and df["player_id"].is_null().all() and df["team_abbr"].is_null().all()
    )
    assert df["match_method"].unique().to_list() == ["unresolved"]
    assert df["source"].unique().to_list() == ["the-odds-api"]


def test_odds_api_snapshot_defaults_to_market_update(fixtures_dir: Path) -> None:
    df = odds_api.parse_event_odds(load(fixtures_dir, ODDS))
    dk = df.filter(pl.col("bookmaker") == "draftkings")
    assert dk["snapshot_utc"].unique().to_list() == [datetime(2024, 2, 22, 23, 55, 7, tzinfo=UTC)]


def test_odds_api_historical_wrapper_and_empty(fixtures_dir: Path) -> None:
    event = load(fixtures_dir, ODDS)
    wrapped = {
        "timestamp": "2024-02-22T23:50:00Z",
        "previous_timestamp": None,
        "next_timestamp": None,
        "data": event,
    }
    df = odds_api.parse_event_odds(wrapped)
    assert df["snapshot_utc"].unique().to_list() == [datetime(2024, 2, 22, 23, 50, tzinfo=UTC)]
    assert odds_api.parse_event_odds(None).is_empty()
    assert odds_api.parse_event_odds({**event, "bookmakers": []}).is_empty()
    # only an empty list says "no lines": a missing or null one is a broken payload, named
    no_books = {k: v for k, v in event.items() if k != "bookmakers"}
    with pytest.raises(SourceDataError, match=r"the-odds-api: field 'bookmakers' is missing"):
        odds_api.parse_event_odds(no_books)
    with pytest.raises(SourceDataError, match=r"the-odds-api: field 'data.bookmakers' is not a list"):
        odds_api.parse_event_odds({**wrapped, "data": {**event, "bookmakers": None}})
    assert parse_payload("odds-api-event-odds", b"").is_empty()  # HTTP 204


def test_odds_api_events(fixtures_dir: Path) -> None:
    hist = load(fixtures_dir, ODDS_HIST_EVENTS)
    df = odds_api.parse_odds_events(hist)
    assert df.columns == ["event_id", "tipoff_utc", "home_abbr", "away_abbr", "game_date"]
    assert df.height == 16
    assert df.row(0) == (
        "242c77a8d5890e18bab91773ad32fcb5",
        datetime(2025, 3, 9, 23, 11, tzinfo=UTC),
        "NOP",
        "MEM",
        date(2025, 3, 9),
    )
    assert df.filter(pl.col("event_id") == "22c7a88941d89c6c0c72f68194b0cf02")["home_abbr"].to_list() == [
        "LAC"
    ]
    assert odds_api.parse_odds_events(hist["data"]).equals(df)  # the live (plain list) shape


def _draftkings_outcomes(payload: Any) -> list[dict[str, Any]]:
    """The recorded payload's draftkings points outcomes (its first book), to edit in place."""
    book = payload["bookmakers"][0]
    assert book["key"] == "draftkings" and book["markets"][0]["key"] == "player_points"
    return book["markets"][0]["outcomes"]


def test_odds_api_main_line_is_the_closest_to_even_pair_the_lower_on_a_tie_never_a_one_sided_line(
    fixtures_dir: Path,
) -> None:
    """Per book and player the main line is the priced pair closest to even money; of two equally close
    pairs the lower line; a side without its other side (an over-only alternate) is kept but never the
    main line (its distance to even is unknown): the consensus is the median of the main lines."""
    payload = load(fixtures_dir, ODDS)
    outcomes = _draftkings_outcomes(payload)
    caris = [o for o in outcomes if o["description"] == "Caris LeVert"]
    assert [(o["name"], o["point"], o["price"]) for o in caris] == [
        ("Over", 11.5, -130),
        ("Under", 11.5, 100),
    ]
    # an alternate pair as close to even as the posted one, above it and below it, and an over-only one
    outcomes += [
        {**caris[0], "point": 12.5},
        {**caris[1], "point": 12.5},
        {**caris[0], "point": 14.5, "price": 105},
    ]
    df = odds_api.parse_event_odds(payload).filter(
        (pl.col("bookmaker") == "draftkings") & (pl.col("player_name") == "Caris LeVert")
    )
    assert df.sort("line").select("line", "over_price", "under_price", "is_main_line").rows() == [
        (11.5, -130, 100, True),
        (12.5, -130, 100, False),
        (14.5, 105, None, False),
    ]
    outcomes += [{**caris[0], "point": 10.5}, {**caris[1], "point": 10.5}]
    df = odds_api.parse_event_odds(payload).filter(
        (pl.col("bookmaker") == "draftkings") & (pl.col("player_name") == "Caris LeVert")
    )
    assert df.filter(pl.col("is_main_line"))["line"].to_list() == [10.5]


@pytest.mark.parametrize(
    ("price", "problem"),
    [
        (True, "is a boolean, expected an integer"),
        (-110.5, "is not an integer"),
        ("-110", "is not an integer"),
    ],
)
def test_odds_api_price_that_is_not_a_whole_number_is_refused_naming_field_and_value(
    fixtures_dir: Path, price: Any, problem: str
) -> None:
    """A price is a whole American price: a boolean (JSON true would be 1) or a fractional number
    (-110.5 would be stored as -110) is refused, not cast; an integral float is the same number."""
    payload = load(fixtures_dir, ODDS)
    _draftkings_outcomes(payload)[0]["price"] = price
    with pytest.raises(SourceDataError) as err:
        odds_api.parse_event_odds(payload)
    assert err.value.field == "bookmakers[0].markets[0].outcomes[0].price"
    assert problem in str(err.value) and repr(price) in str(err.value)
    _draftkings_outcomes(payload)[0]["price"] = -130.0
    assert odds_api.parse_event_odds(payload).filter(
        (pl.col("bookmaker") == "draftkings") & (pl.col("player_name") == "Caris LeVert")
    )["over_price"].to_list() == [-130]


def test_odds_api_one_outcome_posted_twice_at_two_prices_is_refused(fixtures_dir: Path) -> None:
    """Two prices for one book's Over of one player and line: which one the book offers is unknown, so the
    payload is refused naming the outcome, not stored at whichever came last. The same price twice is
    the same offer."""
    payload = load(fixtures_dir, ODDS)
    outcomes = _draftkings_outcomes(payload)
    outcomes.append({**outcomes[0]})
    assert odds_api.parse_event_odds(payload).equals(odds_api.parse_event_odds(load(fixtures_dir, ODDS)))
    outcomes[-1]["price"] = -150
    last = len(outcomes) - 1
    with pytest.raises(SourceDataError) as err:
        odds_api.parse_event_odds(payload)
    assert err.value.field == f"bookmakers[0].markets[0].outcomes[{last}]"
    assert "repeats Over Caris LeVert 11.5 with another price" in str(err.value) and "-150" in str(err.value)


# ---------------------------------------------------------------- registry and malformed bodies


REGISTRY_CASES = [
    ("boxscore-v3", BOX_V3, {"game_date": date(2025, 11, 4)}, 29),
    ("cdn-boxscore", CDN_BOX, {}, 28),
    ("scoreboard-v3", SB_V3, {}, 11),
    ("scoreboard-v2", SB_V2, {}, 11),
    ("schedule-v2", SCHEDULE, {}, 1280),
    ("leaguegamelog", GAMELOG, {}, 157),
    ("injury-pdf", INJURY_PDF, {}, 14),
    ("bettingpros-events", BP_EVENTS, {}, 3),
    ("odds-api-events", ODDS_HIST_EVENTS, {}, 16),
    ("odds-api-event-odds", ODDS, {}, 241),
]


@pytest.mark.parametrize(("kind", "name", "context", "rows"), REGISTRY_CASES)
def test_registry_parses_raw_bytes(
    fixtures_dir: Path, kind: str, name: str, context: dict[str, Any], rows: int
) -> None:
    assert parse_payload(kind, (fixtures_dir / name).read_bytes(), **context).height == rows


def test_registry_covers_every_kind(local_fixtures_dir: Path) -> None:
    tested = {case[0] for case in REGISTRY_CASES} | {"bettingpros-offers"}
    assert tested == set(PARSERS)
    body = (local_fixtures_dir / "bettingpros_v3_offers_NBA_2021-10-21_page1.json").read_bytes()
    df = parse_payload("bettingpros-offers", body)  # archive replay without the events frame
    assert df.height == 7 and df["home_abbr"].is_null().all()


JSON_KINDS = [(kind, name, ctx) for kind, name, ctx, _ in REGISTRY_CASES if kind != "injury-pdf"]


@pytest.mark.parametrize(("kind", "name", "context"), JSON_KINDS)
def test_truncated_json_names_source_and_body(
    fixtures_dir: Path, kind: str, name: str, context: dict[str, Any]
) -> None:
    body = (fixtures_dir / name).read_bytes()
    with pytest.raises(SourceDataError, match=r"field '<body>' is not valid JSON") as err:
        parse_payload(kind, body[: len(body) // 2], **context)
    assert err.value.source in ("stats.nba.com", "cdn.nba.com", "bettingpros", "the-odds-api")


@pytest.mark.parametrize("kind", sorted(PARSERS))
def test_html_body_is_rejected(kind: str) -> None:
    html = (
        b"<!DOCTYPE html>\n<html><head><title>Access Denied</title></head><body>Reference #18</body></html>"
    )
    with pytest.raises(SourceDataError, match=r"field '<body>' is an HTML page"):
        parse_payload(kind, html, game_date=date(2025, 11, 4))


def test_boxscore_v3_needs_a_game_date(fixtures_dir: Path) -> None:
    with pytest.raises(ValueError, match="game_date"):
        parse_payload("boxscore-v3", (fixtures_dir / BOX_V3).read_bytes())


def test_missing_field_names_source_and_path(fixtures_dir: Path) -> None:
    payload = load(fixtures_dir, BOX_V3)
    del payload["boxScoreTraditional"]["awayTeam"]["players"][3]["statistics"]["points"]
    with pytest.raises(SourceDataError) as err:
        nba_stats.parse_boxscore_traditional_v3(payload, date(2025, 11, 4))
    assert (
        str(err.value)
        == "stats.nba.com: field 'boxScoreTraditional.awayTeam.players[3].statistics.points' is missing"
    )


def test_renamed_field_names_source_and_path(fixtures_dir: Path) -> None:
    payload = load(fixtures_dir, SB_V3)
    game = payload["scoreboard"]["games"][2]
    game["homeTeam"]["tricode"] = game["homeTeam"].pop("teamTricode")
    with pytest.raises(
        SourceDataError,
        match=r"^stats\.nba\.com: field 'scoreboard\.games\[2\]\.homeTeam\.teamTricode' is missing$",
    ):
        nba_stats.parse_scoreboard_v3(payload)
    hist = load(fixtures_dir, ODDS_HIST_EVENTS)
    hist["data"][5]["start_time"] = hist["data"][5].pop("commence_time")
    with pytest.raises(SourceDataError, match=r"the-odds-api: field 'data\[5\]\.commence_time' is missing"):
        odds_api.parse_odds_events(hist)


def test_renamed_result_set_header(fixtures_dir: Path) -> None:
    payload = load(fixtures_dir, GAMELOG)
    headers = payload["resultSets"][0]["headers"]
    headers[headers.index("PTS")] = "POINTS"
    with pytest.raises(
        SourceDataError, match=r"field 'resultSets\[LeagueGameLog\]\.rowSet\[0\]\.PTS' is missing"
    ):
        nba_stats.parse_leaguegamelog_players(payload)


def test_wrong_type_names_field_and_value(fixtures_dir: Path) -> None:
    payload = load(fixtures_dir, CDN_BOX)
    payload["game"]["homeTeam"]["players"][0]["statistics"]["points"] = "ten"
    with pytest.raises(SourceDataError) as err:
        nba_cdn.parse_cdn_boxscore(payload)
    assert err.value.field == "game.homeTeam.players[0].statistics.points"
    assert "'ten'" in str(err.value) and str(err.value).startswith("cdn.nba.com:")
    odds = load(fixtures_dir, ODDS)
    odds["bookmakers"][0]["markets"][0]["outcomes"][0]["price"] = "-110"
    with pytest.raises(
        SourceDataError,
        match=r"the-odds-api: field 'bookmakers\[0\]\.markets\[0\]\.outcomes\[0\]\.price' is not an integer \(value: '-110'\)",
    ):
        odds_api.parse_event_odds(odds)


@pytest.mark.parametrize(
    ("name", "mutate", "source", "field"),
    [
        (
            SB_V3,
            lambda p: p["scoreboard"]["games"][0]["awayTeam"].update(teamTricode="XYZ"),
            "stats.nba.com",
            "scoreboard.games[0].awayTeam.teamTricode",
        ),
        (
            BOX_V3,
            lambda p: p["boxScoreTraditional"]["homeTeam"].update(teamTricode="SEA"),
            "stats.nba.com",
            "boxScoreTraditional.homeTeam.teamTricode",
        ),
        (
            CDN_BOX,
            lambda p: p["game"]["awayTeam"].update(teamTricode="VAN"),
            "cdn.nba.com",
            "game.awayTeam.teamTricode",
        ),
        (BP_EVENTS, lambda p: p["events"][1].update(home="SEA"), "bettingpros", "events[1].home"),
        (ODDS, lambda p: p.update(home_team="Seattle SuperSonics"), "the-odds-api", "home_team"),
        (
            ODDS_HIST_EVENTS,
            lambda p: p["data"][0].update(away_team="Vancouver Grizzlies"),
            "the-odds-api",
            "data[0].away_team",
        ),
        (
            SCHEDULE,
            lambda p: p["leagueSchedule"]["gameDates"][50]["games"][0]["homeTeam"].update(
                teamTricode="SEA", teamId=99
            ),
            "cdn.nba.com",
            "leagueSchedule.gameDates[50].games[0].homeTeam.teamTricode",
        ),
    ],
)
def test_unknown_team_raises(fixtures_dir: Path, name: str, mutate: Any, source: str, field: str) -> None:
    payload = load(fixtures_dir, name)
    mutate(payload)
    parse = {
        SB_V3: nba_stats.parse_scoreboard_v3,
        BOX_V3: lambda p: nba_stats.parse_boxscore_traditional_v3(p, date(2025, 11, 4)),
        CDN_BOX: nba_cdn.parse_cdn_boxscore,
        BP_EVENTS: bettingpros.parse_bp_events,
        ODDS: odds_api.parse_event_odds,
        ODDS_HIST_EVENTS: odds_api.parse_odds_events,
        SCHEDULE: nba_stats.parse_schedule_v2,
    }[name]
    with pytest.raises(SourceDataError, match="is not a known NBA team") as err:
        parse(payload)
    assert (err.value.source, err.value.field) == (source, field)


def test_boxscore_v3_missing_a_teams_players_is_rejected(fixtures_dir: Path) -> None:
    """Only final games' box scores are asked for: half of one must not replace stored rows."""
    payload = load(fixtures_dir, BOX_V3)
    payload["boxScoreTraditional"]["awayTeam"]["players"] = []
    with pytest.raises(SourceDataError) as err:
        nba_stats.parse_boxscore_traditional_v3(payload, date(2025, 11, 4))
    assert (err.value.source, err.value.field, err.value.value) == (
        "stats.nba.com",
        "boxScoreTraditional.awayTeam.players",
        [],
    )
    assert str(err.value) == (
        "stats.nba.com: field 'boxScoreTraditional.awayTeam.players' lists no player of MIL (value: [])"
    )


@pytest.mark.parametrize("how", ["empty", "all inactive"])
def test_cdn_boxscore_without_an_active_player_of_a_team_is_rejected(fixtures_dir: Path, how: str) -> None:
    payload = load(fixtures_dir, CDN_BOX)
    players = payload["game"]["homeTeam"]["players"]
    if how == "empty":
        players.clear()
    else:
        for p in players:
            p["status"] = "INACTIVE"
    with pytest.raises(SourceDataError, match="has no ACTIVE player of BKN") as err:
        nba_cdn.parse_cdn_boxscore(payload)
    assert (err.value.source, err.value.field) == ("cdn.nba.com", "game.homeTeam.players")
    assert err.value.value == ([] if how == "empty" else "17 listed, none ACTIVE")


def test_negative_minutes_are_kept_for_row_rules(fixtures_dir: Path) -> None:
    payload = load(fixtures_dir, BOX_V3)
    payload["boxScoreTraditional"]["homeTeam"]["players"][0]["statistics"]["minutes"] = "-3:00"
    df = nba_stats.parse_boxscore_traditional_v3(payload, date(2025, 11, 4))
    assert df.height == 29 and df["minutes"].min() == -3.0
