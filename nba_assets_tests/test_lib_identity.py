"""Tests for the player identity resolver (nba_assets.lib.identity)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from nba_assets.lib.identity import (
    PlayerRegistry,
    alias_keys,
    exact_key,
    normalize_name,
    resolution_report,
)

D = date(2025, 1, 10)


def _box(rows: list[tuple[str, int, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["game_date", "player_id", "player_name", "team_abbr"], orient="row")


def _queries(rows: list[tuple[str, str, str | None, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"game_date": pl.Utf8, "player_name": pl.Utf8, "home_abbr": pl.Utf8, "away_abbr": pl.Utf8},
        orient="row",
    )


def _one(registry: PlayerRegistry, day: str, name: str, home: str | None, away: str | None) -> tuple:
    out = registry.resolve(_queries([(day, name, home, away)]))
    return out.select("player_id", "team_abbr", "match_method").row(0)


# A small league: two Greens in different teams, two Murrays, an accented name, suffixes, nicknames.
LEAGUE = _box(
    [
        ("2025-01-05", 1, "Jalen Green", "HOU"),
        ("2025-01-05", 2, "Jeff Green", "DEN"),
        ("2025-01-05", 3, "Nikola Jokić", "DEN"),
        ("2025-01-05", 4, "Bobby Portis", "MIL"),
        ("2025-01-05", 5, "Moses Moody", "GSW"),
        ("2025-01-05", 6, "Jabari Smith Jr.", "HOU"),
        ("2025-01-05", 7, "Trey Murphy III", "NOP"),
        ("2025-01-05", 8, "Herbert Jones", "NOP"),
        ("2025-01-05", 9, "Moritz Wagner", "ORL"),
        ("2025-01-05", 10, "Nic Claxton", "BKN"),
        ("2025-01-05", 11, "Cameron Johnson", "BKN"),
        ("2025-01-05", 12, "GG Jackson", "MEM"),
        ("2025-01-05", 13, "Jamal Murray", "DEN"),
        ("2025-01-05", 14, "Dejounte Murray", "NOP"),
        ("2025-01-05", 15, "P.J. Washington", "DAL"),
        ("2025-01-05", 16, "Franz Wagner", "ORL"),
        ("2025-01-05", 17, "Brook Lopez", "MIL"),
    ]
)


@pytest.fixture()
def registry() -> PlayerRegistry:
    return PlayerRegistry.from_box_scores(LEAGUE, as_of=D)


# ---------------------------------------------------------------- normalisation
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Portis, Bobby", "bobby portis"),
        ("M. Moody", "m moody"),
        ("Nikola Jokić", "nikola jokic"),
        ("Nikola Jokic", "nikola jokic"),
        ("Luka Dončić", "luka doncic"),
        ("Kristaps Porziņģis", "kristaps porzingis"),
        ("Jabari Smith Jr.", "jabari smith"),
        ("Trey Murphy III", "trey murphy"),
        ("Holland II, Ronald", "ronald holland"),
        ("Williams Jr., Vince", "vince williams"),
        ("Vince Williams, Jr.", "vince williams"),
        ("P.J. Washington", "pj washington"),
        ("P. J. Washington", "pj washington"),
        ("De'Aaron Fox", "deaaron fox"),
        ("Shai Gilgeous-Alexander", "shai gilgeous alexander"),
        ("Jalen (2001) Johnson", "jalen johnson"),
        ("  ", ""),
        (None, ""),
    ],
)
def test_normalize_name(raw: str | None, expected: str) -> None:
    assert normalize_name(raw) == expected


def test_exact_key_ignores_spacing_of_initials() -> None:
    assert exact_key(normalize_name("A.J. Green")) == exact_key(normalize_name("AJ Green")) == "ajgreen"


def test_alias_keys_link_nicknames_and_given_names() -> None:
    for book, box in [
        ("Herb Jones", "Herbert Jones"),
        ("Moe Wagner", "Moritz Wagner"),
        ("Nicolas Claxton", "Nic Claxton"),
        ("Cam Johnson", "Cameron Johnson"),
        ("Gregory Jackson", "GG Jackson"),
        ("Carlton Carrington", "Bub Carrington"),
        ("Hansen Yang", "Yang Hansen"),
    ]:
        assert alias_keys(normalize_name(book)) & alias_keys(normalize_name(box)), (book, box)
    assert not alias_keys("jalen williams") & alias_keys("jaylin williams")


# ---------------------------------------------------------------- resolution steps
@pytest.mark.parametrize(
    ("name", "home", "away", "pid", "method"),
    [
        ("Portis, Bobby", "MIL", "BOS", 4, "exact"),
        ("Nikola Jokic", "DEN", "LAL", 3, "exact"),
        ("Jabari Smith", "HOU", "LAL", 6, "exact"),
        ("Trey Murphy", "NOP", "LAL", 7, "exact"),
        ("PJ Washington", "DAL", "LAL", 15, "exact"),
        ("Herb Jones", "NOP", "LAL", 8, "alias"),
        ("Moe Wagner", "ORL", "LAL", 9, "alias"),
        ("Nicolas Claxton", "BKN", "LAL", 10, "alias"),
        ("Cam Johnson", "BKN", "LAL", 11, "alias"),
        ("Gregory Jackson", "MEM", "LAL", 12, "alias"),
        ("M. Moody", "GSW", "LAL", 5, "alias"),
        ("Brook Robert Lopez", "MIL", "LAL", 17, "alias"),
        ("Nikola Jokicc", "DEN", "LAL", 3, "fuzzy"),
    ],
)
def test_resolution_steps(
    registry: PlayerRegistry, name: str, home: str, away: str, pid: int, method: str
) -> None:
    got_pid, team, got_method = _one(registry, "2025-01-10", name, home, away)
    assert (got_pid, got_method) == (pid, method)
    assert team in {home, away}


def test_team_disambiguates_same_last_name(registry: PlayerRegistry) -> None:
    assert _one(registry, "2025-01-10", "J. Green", "HOU", "BOS")[0] == 1
    assert _one(registry, "2025-01-10", "J. Green", "LAL", "DEN")[0] == 2
    assert _one(registry, "2025-01-10", "D. Murray", "NOP", "DEN")[0] == 14
    assert _one(registry, "2025-01-10", "J. Murray", "NOP", "DEN")[0] == 13
    assert _one(registry, "2025-01-10", "M. Wagner", "ORL", "LAL")[0] == 9


def test_same_full_name_on_two_teams_resolved_by_team() -> None:
    box = _box([("2025-01-02", 100, "Marcus Williams", "LAL"), ("2025-01-02", 200, "Marcus Williams", "BOS")])
    reg = PlayerRegistry.from_box_scores(box, as_of=D)
    assert _one(reg, "2025-01-10", "Marcus Williams", "LAL", "MIA")[:2] == (100, "LAL")
    assert _one(reg, "2025-01-10", "Marcus Williams", "BOS", "MIA")[:2] == (200, "BOS")
    # Neither team plays: league-wide there are two, so no guess.
    assert _one(reg, "2025-01-10", "Marcus Williams", "MIA", "NYK") == (None, None, "unresolved")
    # Both teams play each other: ambiguous.
    assert _one(reg, "2025-01-10", "Marcus Williams", "LAL", "BOS") == (None, None, "unresolved")


def test_ambiguity_is_unresolved(registry: PlayerRegistry) -> None:
    # Jalen Green (HOU) and Jeff Green (DEN) both fit "J. Green" when HOU plays DEN.
    assert _one(registry, "2025-01-10", "J. Green", "HOU", "DEN") == (None, None, "unresolved")
    # Franz and Moritz Wagner are teammates: "Wagner" alone fits both, so no guess.
    assert _one(registry, "2025-01-10", "Wagner", "ORL", "LAL")[2] == "unresolved"
    assert _one(registry, "2025-01-10", "Somebody Unknown", "ORL", "LAL") == (None, None, "unresolved")


def test_fuzzy_tie_is_unresolved() -> None:
    box = _box([("2025-01-02", 1, "Jon Smith", "LAL"), ("2025-01-02", 2, "Jan Smith", "LAL")])
    reg = PlayerRegistry.from_box_scores(box, as_of=D)
    # "jen smith" is equally close (ratio 0.89) to both teammates.
    assert _one(reg, "2025-01-10", "Jen Smith", "LAL", "BOS") == (None, None, "unresolved")
    assert _one(reg, "2025-01-10", "Jonn Smith", "LAL", "BOS") == (1, "LAL", "fuzzy")


def test_league_wide_fallback_for_player_not_on_candidate_teams(registry: PlayerRegistry) -> None:
    # Bobby Portis's last game was for MIL; a line in a BOS game (a trade the registry has not seen yet).
    # He is found league-wide, but his team in that game is not MIL (not one of its teams): unknown here.
    assert _one(registry, "2025-01-10", "Bobby Portis", "BOS", "LAL") == (4, None, "exact")
    # Initials and fuzzy are team-restricted only.
    assert _one(registry, "2025-01-10", "B. Portis", "BOS", "LAL")[2] == "unresolved"


# ---------------------------------------------------------------- no look-ahead
TRADE = _box(
    [
        ("2025-01-03", 50, "Traded Guy", "CHA"),
        ("2025-01-06", 50, "Traded Guy", "CHA"),
        ("2025-01-10", 50, "Traded Guy", "LAL"),  # first game after the trade, on D
        ("2025-01-12", 50, "Traded Guy", "LAL"),
        ("2025-01-12", 60, "Later Rookie", "LAL"),  # debuts after D
    ]
)


def test_registry_as_of_ignores_rows_on_or_after_as_of() -> None:
    reg = PlayerRegistry.from_box_scores(TRADE, as_of=D)
    players = reg.players
    assert players["player_id"].to_list() == [50]
    row = players.row(0, named=True)
    assert (row["team_abbr"], row["last_game_date"]) == ("CHA", date(2025, 1, 6))
    # His last game before D was for CHA; the line lists him in a LAL game: found league-wide, and his team
    # in that game is not CHA (it does not play in it), so it is left unknown rather than reported as CHA.
    assert _one(reg, "2025-01-10", "Traded Guy", "LAL", "BOS") == (50, None, "exact")
    assert _one(reg, "2025-01-10", "Later Rookie", "LAL", "BOS") == (None, None, "unresolved")


def test_resolve_cuts_every_lookup_at_its_own_date() -> None:
    full = PlayerRegistry.from_box_scores(TRADE, as_of=None)
    assert _one(full, "2025-01-10", "Traded Guy", "LAL", "BOS") == (50, None, "exact")
    assert _one(full, "2025-01-10", "Later Rookie", "LAL", "BOS")[2] == "unresolved"
    # After the LAL game on D, the next day sees LAL.
    assert _one(full, "2025-01-11", "Traded Guy", "LAL", "BOS") == (50, "LAL", "exact")
    assert full.snapshot(D).filter(pl.col("player_id") == 50)["team_abbr"].item() == "CHA"


def test_truncating_history_after_d_does_not_change_results() -> None:
    q = _queries(
        [
            ("2025-01-10", "Traded Guy", "LAL", "BOS"),
            ("2025-01-10", "T. Guy", "CHA", "BOS"),
            ("2025-01-10", "T. Guy", "LAL", "BOS"),
            ("2025-01-10", "Later Rookie", "LAL", "BOS"),
        ]
    )
    full = PlayerRegistry.from_box_scores(TRADE, as_of=None).resolve(q)
    cut = PlayerRegistry.from_box_scores(TRADE.filter(pl.col("game_date") < "2025-01-10"), as_of=D).resolve(q)
    assert full.equals(cut)
    assert full["player_id"].to_list() == [50, 50, None, None]


def test_extra_players_match_by_name_without_team() -> None:
    extra = pl.DataFrame({"player_id": [60, 70], "player_name": ["Later Rookie", "Opening Nighter"]})
    reg = PlayerRegistry.from_box_scores(TRADE, as_of=D, extra_players=extra)
    assert _one(reg, "2025-01-10", "Opening Nighter", "LAL", "BOS") == (70, None, "exact")
    assert _one(reg, "2025-01-10", "Later Rookie", "LAL", "BOS") == (60, None, "exact")
    # Reference players have no team, so team-restricted steps never use them.
    assert _one(reg, "2025-01-10", "O. Nighter", "LAL", "BOS")[2] == "unresolved"


def test_team_is_the_players_team_in_the_queried_game() -> None:
    """The team returned is the one the player plays for in the line's game, never a team of another game:
    his last team before D when it is one of the game's teams, else unknown (null). D's own box score
    (where he played for LAL) is never read."""
    reg = PlayerRegistry.from_box_scores(TRADE, as_of=None)
    q = _queries(
        [
            ("2025-01-10", "Traded Guy", "CHA", "BOS"),  # his last team plays in this game: that team
            ("2025-01-10", "Traded Guy", "BOS", "CHA"),  # as the away team too
            ("2025-01-10", "Traded Guy", "LAL", "BOS"),  # moved: neither team is CHA
            ("2025-01-10", "Traded Guy", "MIA", "NYK"),
            ("2025-01-10", "Traded Guy", None, None),  # no game matched
            ("2025-01-13", "Traded Guy", "LAL", "MIA"),  # after his LAL games
        ]
    )
    out = reg.resolve(q)
    assert out["player_id"].to_list() == [50] * 6
    assert out["team_abbr"].to_list() == ["CHA", "CHA", None, None, None, "LAL"]
    # whatever the step, a team is one of the query's two teams
    league = PlayerRegistry.from_box_scores(LEAGUE, as_of=D).resolve(
        _queries([("2025-01-10", n, "BOS", "LAL") for n in ("Bobby Portis", "Nikola Jokic", "Brook Lopez")])
    )
    assert league["player_id"].to_list() == [4, 3, 17]
    assert league["team_abbr"].to_list() == [None, None, None]


# ---------------------------------------------------------------- frame contract
def test_resolve_keeps_rows_order_and_columns(registry: PlayerRegistry) -> None:
    q = _queries(
        [
            ("2025-01-10", "Nikola Jokic", "DEN", "LAL"),
            ("2025-01-10", "Nobody", "DEN", "LAL"),
            ("2025-01-10", "Nikola Jokic", "DEN", "LAL"),
            ("2025-01-10", "Bobby Portis", None, None),
        ]
    ).with_columns(pl.Series("line", [25.5, 10.5, 26.5, 12.5]))
    out = registry.resolve(q)
    assert out.columns == [*q.columns, "player_id", "team_abbr", "match_method"]
    assert out.schema["player_id"] == pl.Int64
    assert out["line"].to_list() == [25.5, 10.5, 26.5, 12.5]
    assert out["player_id"].to_list() == [3, None, 3, 4]
    assert out["match_method"].to_list() == ["exact", "unresolved", "exact", "exact"]
    # A second call is served from the cache and gives the same answer.
    assert registry.resolve(q).equals(out)
    # Date columns may be pl.Date as well as strings.
    as_dates = registry.resolve(q.with_columns(pl.col("game_date").str.to_date()))
    assert as_dates["player_id"].to_list() == [3, None, 3, 4]


def test_resolve_refuses_to_overwrite_columns(registry: PlayerRegistry) -> None:
    q = _queries([("2025-01-10", "Nikola Jokic", "DEN", "LAL")]).with_columns(pl.lit(1).alias("player_id"))
    with pytest.raises(ValueError, match="player_id"):
        registry.resolve(q)


def test_resolution_report(registry: PlayerRegistry) -> None:
    q = _queries(
        [
            ("2025-01-10", "Nikola Jokic", "DEN", "LAL"),
            ("2025-01-10", "Herb Jones", "NOP", "LAL"),
            ("2025-01-10", "Nobody", "DEN", "LAL"),
            ("2025-01-11", "Nobody", "DEN", "LAL"),
            ("2025-01-10", "J. Green", "HOU", "DEN"),
        ]
    )
    report = resolution_report(registry.resolve(q))
    assert report["rows"] == 5
    assert report["by_method"] == {"exact": 1, "alias": 1, "fuzzy": 0, "unresolved": 3}
    assert report["unresolved_names"] == ["Nobody", "J. Green"]
    assert report["unresolved_share"] == pytest.approx(0.6)


# ---------------------------------------------------------------- real data
GAME_LOG_FILES = (
    "player_game_logs_2022-23.csv",
    "player_game_logs_2023-24.csv",
    "player_game_logs_2024-25.csv",
    "player_game_logs_postseason_2022-23_to_2024-25.csv",
    "player_game_logs_2025-26_partial.csv",
)


@pytest.fixture(scope="module")
def real_dir(fixtures_dir: Path) -> Path:
    # conftest's fixtures_dir is <shared>/fixtures/real; the data sets live in <shared>/data/real.
    path = fixtures_dir.parent.parent / "data" / "real"
    if not path.is_dir():
        pytest.fail(f"real data not found at {path}; set NBA_ASSETS_SHARED_DIR", pytrace=False)
    return path


def test_accuracy_on_real_dev_lines(real_dir: Path) -> None:
    logs = pl.concat(
        [
            pl.read_csv(
                real_dir / f,
                schema_overrides={"game_id": pl.Utf8},
                columns=["game_date", "player_id", "player_name", "team_abbr"],
            )
            for f in GAME_LOG_FILES
        ]
    )
    lines = pl.read_csv(
        real_dir / "props_points_2025-26_dev_oddsapi.csv", schema_overrides={"game_id": pl.Utf8}
    )
    queries = lines.select(
        "game_date",
        "player_name",
        "home_abbr",
        "away_abbr",
        "match",
        pl.col("player_id").alias("truth"),
        pl.col("team_abbr").alias("truth_team"),
    )
    # Every lookup on D reads only logs before D; the reference directory is identity data, not outcomes.
    registry = PlayerRegistry.from_box_scores(
        logs, as_of=None, extra_players=logs.select("player_id", "player_name").unique()
    )
    out = registry.resolve(queries)

    assert out.height == lines.height == 42_750
    truth = out.filter(pl.col("match").is_in(["exact", "alias"]))
    correct = (truth["player_id"] == truth["truth"]).fill_null(False).mean()
    wrong = (truth["player_id"].is_not_null() & (truth["player_id"] != truth["truth"])).mean()
    assert correct >= 0.99, resolution_report(out, top=20)
    assert wrong <= 0.002
    # The team is the player's team in the line's game (the file's team_abbr is his box-score team of that
    # game): never a team outside the game, right wherever it is given, unknown only for players whose last
    # team before D is not in the game (moved, or no game yet).
    resolved = out.filter(pl.col("player_id").is_not_null())
    team, home, away = pl.col("team_abbr"), pl.col("home_abbr"), pl.col("away_abbr")
    assert resolved.filter(team.is_not_null() & (team != home) & (team != away)).height == 0
    checked = resolved.filter(team.is_not_null() & (pl.col("player_id") == pl.col("truth")))
    checked = checked.filter(pl.col("truth_team").is_not_null())
    assert checked.height > 40_000
    assert (checked["team_abbr"] == checked["truth_team"]).mean() >= 0.999
    assert 0 < resolved["team_abbr"].is_null().sum() < 0.02 * resolved.height


def test_no_look_ahead_on_real_logs(real_dir: Path) -> None:
    """Truncating the real logs after D-1 gives the same resolution for D as the full history."""
    logs = pl.read_csv(
        real_dir / "player_game_logs_2025-26_partial.csv",
        schema_overrides={"game_id": pl.Utf8},
        columns=["game_date", "player_id", "player_name", "team_abbr"],
    )
    lines = pl.read_csv(
        real_dir / "props_points_2025-26_dev_oddsapi.csv", schema_overrides={"game_id": pl.Utf8}
    )
    day = "2025-11-10"
    q = lines.filter(pl.col("game_date") == day).select("game_date", "player_name", "home_abbr", "away_abbr")
    full = PlayerRegistry.from_box_scores(logs, as_of=None).resolve(q)
    cut = PlayerRegistry.from_box_scores(
        logs.filter(pl.col("game_date") < day), as_of=date(2025, 11, 10)
    ).resolve(q)
    assert full.equals(cut)
    assert full["player_id"].is_not_null().mean() > 0.9
