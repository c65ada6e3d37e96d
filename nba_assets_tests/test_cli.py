"""``nba-assets parse``: the pipeline's own parsers on saved payloads, one clear line on failure."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nba_assets.lib.cli import main


def test_parse_boxscore_prints_json_lines(fixtures_dir: Path, capsys) -> None:
    rc = main(
        [
            "parse",
            "boxscore-v3",
            str(fixtures_dir / "stats_boxscoretraditionalv3_0022500165.json"),
            "--game-date",
            "2025-11-04",
        ]
    )
    assert rc == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 29
    by_team: dict[str, int] = {}
    for r in rows:
        by_team[r["team_abbr"]] = by_team.get(r["team_abbr"], 0) + r["pts"]
    assert set(by_team) == {"MIL", "TOR"} and all(r["game_date"] == "2025-11-04" for r in rows)


@pytest.mark.parametrize(
    ("kind", "name", "rows"),
    [
        ("scoreboard-v3", "stats_scoreboardv3_2025-11-05.json", 11),
        ("cdn-boxscore", "cdn_liveData_boxscore_0022000001.json", None),
        ("odds-api-event-odds", "oddsapi_v4_event_odds_player_points_ORL-at-CLE_2024-02-22.json", None),
        ("injury-pdf", "nba_injury_report_2024-01-04_12PM.pdf", 14),
    ],
)
def test_parse_every_kind_on_real_payloads(
    fixtures_dir: Path, capsys, kind: str, name: str, rows: int | None
) -> None:
    assert main(["parse", kind, str(fixtures_dir / name)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out and (rows is None or len(out) == rows)


def test_bad_payload_exits_non_zero_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "page.json"
    bad.write_text("<html><body>Access Denied</body></html>")
    out = subprocess.run(
        [sys.executable, "-m", "nba_assets.lib.cli", "parse", "scoreboard-v3", str(bad)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "stats.nba.com" in lines[0] and "<body>" in lines[0]
    assert "Traceback" not in out.stderr


def test_truncated_and_renamed_fields_name_the_field(fixtures_dir: Path, tmp_path: Path, capsys) -> None:
    body = (fixtures_dir / "stats_scoreboardv3_2025-11-05.json").read_text()
    truncated = tmp_path / "t.json"
    truncated.write_text(body[: len(body) // 2])
    assert main(["parse", "scoreboard-v3", str(truncated)]) == 1
    renamed = tmp_path / "r.json"
    renamed.write_text(body.replace('"gameId"', '"gameID"', 1))
    assert main(["parse", "scoreboard-v3", str(renamed)]) == 1
    err = capsys.readouterr().err
    assert "gameId" in err


def test_unknown_kind_lists_the_kinds(capsys) -> None:
    assert main(["parse", "nope", "x"]) == 2
    assert "boxscore-v3" in capsys.readouterr().err
