"""The dbt context layer end to end: raw/* on the embedded archive into a tmp DuckDB, then the dbt assets
through Dagster (one ``dbt build`` per run), for 2025-11-05 (11 games) and ranges around it."""

import os
import shutil
import struct
import subprocess
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pytest

from nba_assets.defs.context.assets import HISTORY_DAYS, context_assets, partition_vars, window_env
from nba_assets.defs.jobs import build_context_job
from nba_assets.defs.partitions import game_date_partitions
from nba_assets.defs.raw.assets import raw_assets
from nba_assets.defs.resources import build_resources
from nba_assets.lib.env import Settings
from nba_assets_tests.conftest import REPO_ROOT

D = "2025-11-05"
RAW_RANGE = ("2025-10-21", "2025-11-06")
BOX_SCORE_ONLY = {
    "minutes", "pts", "fgm", "fga", "fg3m", "fg3a", "ftm", "fta", "oreb", "dreb", "reb", "ast", "stl", "blk",
    "tov", "pf", "plus_minus", "played", "starter", "position", "usage_events", "status_comment",
}  # fmt: skip
ET = ZoneInfo("America/New_York")


def _q(db, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _range_tags(start: str, end: str) -> dict[str, str]:
    return {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}


def _raw_range(settings: Settings, start: str, end: str) -> None:
    defs = dg.Definitions(
        assets=raw_assets,
        jobs=[dg.define_asset_job("raw_job", selection=dg.AssetSelection.groups("raw"))],
        resources=build_resources(settings),
    )
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("raw_job").execute_in_process(
            instance=instance, tags=_range_tags(start, end)
        )
    assert result.success


def _build_context(settings: Settings, partition_key: str) -> dg.ExecuteInProcessResult:
    result = dg.materialize(
        context_assets, resources=build_resources(settings), partition_key=partition_key, raise_on_error=False
    )
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result


def _context_rows(db, day: str = D) -> list[tuple]:
    return _q(db, "select * from context.player_game_context where game_date = ? order by all", [day])


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """raw/* for 2025-10-21 .. 2025-11-06 (one run), then the dbt assets for 2025-11-05."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("nba_dbt"))
    settings.data_dir.mkdir(exist_ok=True)
    _raw_range(settings, *RAW_RANGE)
    result = _build_context(settings, D)
    return settings, result


def _copy(settings: Settings, tmp_path) -> Settings:
    """A private copy of the module's warehouse, for tests that change it."""
    copy = Settings(data_dir=tmp_path)
    shutil.copy(settings.warehouse_path, copy.warehouse_path)
    return copy


# ---------------------------------------------------------------- pure


def test_partition_vars_are_inclusive_et_dates() -> None:
    one = dg.TimeWindow(datetime(2025, 11, 5, tzinfo=ET), datetime(2025, 11, 6, tzinfo=ET))
    assert partition_vars(one) == {"min_date": D, "max_date": D, "history_days": HISTORY_DAYS}
    # the window containing the end of daylight saving time (2025-11-02) still ends on the right date
    dst = dg.TimeWindow(datetime(2025, 11, 1, tzinfo=ET), datetime(2025, 11, 3, tzinfo=ET))
    assert partition_vars(dst)["max_date"] == "2025-11-02"
    window = game_date_partitions.time_window_for_partition_key(D)
    assert partition_vars(window)["min_date"] == partition_vars(window)["max_date"] == D
    with pytest.raises(ValueError, match="holds no game date"):
        partition_vars(dg.TimeWindow(one.start, one.start))
    # `dagster asset materialize --partition-range 2025-11-05...2025-11-01`: the range as typed, named
    reversed_range = dg.TimeWindow(datetime(2025, 11, 5, tzinfo=ET), datetime(2025, 11, 2, tzinfo=ET))
    with pytest.raises(ValueError, match=r"partition range 2025-11-05\.\.\.2025-11-01 holds no game date"):
        partition_vars(reversed_range)


def test_translator_keys_groups_and_history_mapping(tmp_path) -> None:
    from nba_assets.defs.build import build_definitions

    graph = build_definitions(Settings(data_dir=tmp_path)).resolve_asset_graph()
    for layer, table in [("context", "player_game_context"), ("staging", "stg_box_scores")]:
        node = graph.get(dg.AssetKey([layer, table]))
        assert node.group_name == layer and node.kinds >= {"dbt", "duckdb"} and node.pools == {"duckdb"}
    for table in ("player_game_context", "player_game_summary", "team_game_summary"):
        node = graph.get(dg.AssetKey(["context", table]))
        assert node.metadata["partition_expr"] == "game_date"
        assert node.backfill_policy == dg.BackfillPolicy.single_run()
        assert node.partitions_def == game_date_partitions
    # staging views hold no rows: one materialization per build, not one per game date
    stg = graph.get(dg.AssetKey(["staging", "stg_box_scores"]))
    assert stg.partitions_def is None and "partition_expr" not in stg.metadata
    assert graph.get(dg.AssetKey(["context", "player_game_context"])).parent_keys >= {
        dg.AssetKey(["staging", "stg_schedule"])
    }


def test_the_dbt_macro_and_python_leave_out_the_same_game_types() -> None:
    """macros/game_types.sql and lib/game_types.py name the same game-id prefixes, and those are the
    preseason and All-Star ones of the parsers' season types."""
    import re

    from nba_assets.lib.game_types import UNMODELED_GAME_PREFIXES
    from nba_assets.lib.parsers._common import SEASON_TYPE_BY_PREFIX

    macro = (REPO_ROOT / "dbt_project" / "macros" / "game_types.sql").read_text()
    (listed,) = re.findall(r"not in \(([^)]*)\)", macro)
    assert sorted(p.strip(" '") for p in listed.split(",")) == sorted(UNMODELED_GAME_PREFIXES)
    assert {SEASON_TYPE_BY_PREFIX[p] for p in UNMODELED_GAME_PREFIXES} == {"Preseason", "All-Star"}


# ---------------------------------------------------------------- one partition


def _invocation_dirs(target: Path, names: list[str], age_s: float) -> None:
    for name in names:
        (target / name / "compiled").mkdir(parents=True)
        then = time.time() - age_s
        os.utime(target / name, (then, then))


def test_old_invocation_target_folders_are_pruned_beyond_the_newest(tmp_path) -> None:
    """dagster-dbt leaves a ~2.5 MB target folder per invocation and never removes one: a local
    ``dagster dev`` had gathered 106 (258 MB), growing with every context run."""
    from nba_assets.lib.dbt_state import prune_invocation_dirs

    old = [f"context_dbt_models-{i:07x}-abcdef{i % 10}" for i in range(25)] + ["0440244"]
    _invocation_dirs(tmp_path, old, age_s=7 * 3600)
    for i, name in enumerate(old):  # distinct ages: the newest are the first names
        then = time.time() - 7 * 3600 - i
        os.utime(tmp_path / name, (then, then))
    _invocation_dirs(tmp_path, [f"staging_dbt_models-{i:07x}-1234567" for i in range(3)], age_s=60)
    (tmp_path / "partial_parse").mkdir()
    (tmp_path / "manifest.json").write_text("{}")
    (tmp_path / "my-notes").mkdir()
    removed = prune_invocation_dirs(tmp_path, keep=20, min_age_s=6 * 3600)
    # the newest 20 stay (the 3 young ones and the 17 newest old ones); the rest go
    assert sorted(p.name for p in removed) == sorted(old[17:])
    assert {p.name for p in tmp_path.iterdir()} == (
        set(old[:17]) | {f"staging_dbt_models-{i:07x}-1234567" for i in range(3)}
    ) | {"partial_parse", "manifest.json", "my-notes"}
    # a folder a run may still be writing to stays, however many there are
    _invocation_dirs(tmp_path, [f"x-{i:07x}-7654321" for i in range(30)], age_s=10)
    assert prune_invocation_dirs(tmp_path, keep=20, min_age_s=6 * 3600) == [
        tmp_path / name for name in old[:17]
    ]


def test_a_context_run_prunes_the_folders_earlier_invocations_left(warehouse, tmp_path, monkeypatch) -> None:
    target = tmp_path / "dbt_target"
    monkeypatch.setenv("DBT_TARGET_PATH", str(target))  # dagster-dbt's and the pruning's target folder
    stale = [f"context_dbt_models-{i:07x}-0000000" for i in range(24)]
    _invocation_dirs(target, stale, age_s=24 * 3600)
    for i, name in enumerate(stale):  # stale[0] the newest
        os.utime(target / name, (time.time() - 24 * 3600 - i,) * 2)
    settings = _copy(warehouse[0], tmp_path)
    assert _build_context(settings, D).success
    left = {p.name for p in target.iterdir()}
    assert set(stale[:19]) <= left and not left & set(stale[20:])  # the run's own folder among the newest 20
    assert any(name.startswith("context_dbt_models-") and name not in stale for name in left)


def test_team_game_summary(warehouse) -> None:
    settings, _ = warehouse
    db = settings.warehouse_path
    rows, games, wins, pts, lo_pace, hi_pace, lo_rtg, hi_rtg = _q(
        db,
        """select count(*), count(distinct game_id), count(*) filter (where win), sum(pts),
                  min(pace), max(pace), min(least(off_rating, def_rating)), max(greatest(off_rating, def_rating))
           from context.team_game_summary where game_date = ?""",
        [D],
    )[0]
    assert (rows, games, wins, pts) == (22, 11, 11, 2557)
    assert 85 <= lo_pace <= hi_pace <= 115
    assert 80 <= lo_rtg <= hi_rtg <= 150
    # each side's points and possessions are its opponent's opp_pts / opp_possessions
    assert _q(
        db,
        """select count(*) from context.team_game_summary t join context.team_game_summary o
           on o.game_id = t.game_id and o.team_abbr = t.opponent_abbr
           where t.opp_pts <> o.pts or t.opp_possessions <> o.possessions or t.win = o.win""",
    ) == [(0,)]
    # final scores agree with the schedule
    assert _q(
        db,
        """select count(*) from context.team_game_summary t join raw.schedule s using (game_id)
           where t.pts <> case when t.is_home then s.home_pts else s.away_pts end""",
    ) == [(0,)]


def test_player_game_summary(warehouse) -> None:
    settings, _ = warehouse
    db = settings.warehouse_path
    assert _q(
        db,
        "select count(*) filter (where minutes > 0), sum(pts) filter (where minutes > 0), count(distinct game_id), "
        "count(*) from context.player_game_summary where game_date = ?",
        [D],
    ) == [(246, 2557, 11, _q(db, "select count(*) from raw.box_scores where game_date = ?", [D])[0][0])]
    assert _q(
        db, "select distinct season, season_type from context.player_game_summary where game_date = ?", [D]
    ) == [("2025-26", "Regular Season")]
    # rest days and the 7-day workload agree with a direct reading of raw box scores before D
    mismatches = _q(
        db,
        """with prev as (
               select p.player_id,
                      max(b.game_date) filter (where b.played) as prev_played,
                      count(*) filter (where b.played and b.game_date >= date '2025-10-29') as g7
               from context.player_game_summary p
               left join raw.box_scores b on b.player_id = p.player_id and b.game_date < p.game_date
               where p.game_date = ? group by p.player_id)
           select count(*) from context.player_game_summary p join prev using (player_id)
           where p.game_date = ?
             and (p.rest_days is distinct from date_diff('day', prev.prev_played, p.game_date)
                  or p.games_last_7d <> prev.g7
                  or p.is_back_to_back <> coalesce(p.rest_days = 1, false)
                  or abs(p.usage_events - (p.fga + 0.44 * p.fta + p.tov)) > 1e-9)""",
        [D, D],
    )
    assert mismatches == [(0,)]
    assert (
        _q(
            db,
            "select count(*) from context.player_game_summary where game_date = ? and is_back_to_back",
            [D],
        )[0][0]
        > 0
    )


def test_player_game_context_covers_every_game_before_tipoff(warehouse) -> None:
    settings, _ = warehouse
    db = settings.warehouse_path
    columns = {r[0] for r in _q(db, "describe context.player_game_context")}
    assert not columns & BOX_SCORE_ONLY
    assert {
        "consensus_line",
        "opening_line",
        "line_move",
        "books_count",
        "injury_status",
        "rest_days",
    } <= columns
    games, team_games, lo, hi = _q(
        db,
        """select count(distinct game_id), count(*), min(n), max(n) from (
               select game_id, team_abbr, count(*) as n from context.player_game_context
               where game_date = ? group by all)""",
        [D],
    )[0]
    assert (games, team_games) == (11, 22)
    assert 10 <= lo <= hi <= 25
    # every resolved line of D is there, on its team, with the line's consensus
    lined = _q(
        db,
        "select count(distinct player_id) from raw.player_props where game_date = ? and player_id is not null",
        [D],
    )[0][0]
    assert _q(
        db,
        "select count(*) filter (where has_line), count(*) filter (where expected_source in ('line', 'both')) "
        "from context.player_game_context where game_date = ?",
        [D],
    ) == [(lined, lined)]
    assert _q(
        db,
        "select count(*) from context.player_game_context where game_date = ? and has_line "
        "and not (books_count between 1 and 8 and consensus_line between 0.5 and 60)",
        [D],
    ) == [(0,)]
    # most expected players played on D (the roster rule is a good guess), and most who played were expected
    expected_and_played, played = _q(
        db,
        """select count(c.player_id), count(*) from raw.box_scores b
           left join context.player_game_context c using (game_date, player_id)
           where b.game_date = ? and b.played""",
        [D],
    )[0]
    assert expected_and_played / played > 0.85
    # a line only ever describes its own game: every row with a line has lines for that very game, and
    # every resolved line player of D has a row in the game of his line; every team says how it was decided
    assert _q(
        db,
        """select count(*) from context.player_game_context c
           where c.game_date = ? and c.has_line and not exists (
               select 1 from raw.player_props p where p.game_date = c.game_date and p.game_id = c.game_id
               and p.player_id = c.player_id)""",
        [D],
    ) == [(0,)]
    assert _q(
        db,
        """select count(*) from (select distinct game_date, game_id, player_id from raw.player_props
           where game_date = ? and player_id is not null) p
           left join context.player_game_context c using (game_date, game_id, player_id)
           where c.player_id is null""",
        [D],
    ) == [(0,)]
    assert _q(
        db,
        "select count(*) filter (where team_source is null), count(*) filter (where team_source = 'roster' "
        "and expected_source <> 'roster') from context.player_game_context where game_date = ?",
        [D],
    ) == [(0, 0)]
    # no player's latest team before D is another team than the one the roster assigns
    assert _q(
        db,
        """select count(*) from context.player_game_context c
           join (select player_id, arg_max(team_abbr, game_date) as latest_team from raw.box_scores
                 where game_date < ? group by player_id) l using (player_id)
           where c.game_date = ? and c.expected_source = 'roster' and c.team_abbr <> l.latest_team""",
        [D, D],
    ) == [(0,)]


def test_a_later_snapshot_moves_and_pulls_lines_in_the_context(warehouse, tmp_path) -> None:
    """A book's later snapshot of a game (the live lines ledger keeps every one): a moved main line
    moves the consensus, a line missing from it (player ruled out) no longer counts, and the opening
    line stays the earliest."""
    from statistics import median

    settings, _ = warehouse
    copy = _copy(settings, tmp_path)
    db = copy.warehouse_path
    game, book, moved, pulled = _q(
        db,
        """select game_id, bookmaker, min(player_id), max(player_id) from raw.player_props
           where game_date = ? and is_main_line and player_id is not null
           group by all having count(distinct player_id) >= 2 order by all limit 1""",
        [D],
    )[0]

    def lines(player: int) -> dict[str, float]:
        return dict(
            _q(
                db,
                "select bookmaker, line from raw.player_props where game_date = ? and player_id = ? "
                "and is_main_line",
                [D, player],
            )
        )

    def context(player: int) -> tuple:
        return _q(
            db,
            "select consensus_line, opening_line, books_count from context.player_game_context "
            "where game_date = ? and player_id = ?",
            [D, player],
        )[0]

    moved_lines, pulled_lines = lines(moved), lines(pulled)
    assert context(moved) == (median(moved_lines.values()), median(moved_lines.values()), len(moved_lines))
    with duckdb.connect(str(db)) as con:
        _insert_later_snapshot(con, D, game, book, moved, pulled)
    _build_context(copy, D)
    now = {**moved_lines, book: moved_lines[book] + 2}
    assert context(moved) == (median(now.values()), median(moved_lines.values()), len(moved_lines))
    rest = {b: v for b, v in pulled_lines.items() if b != book}
    assert context(pulled)[2] == len(rest)
    assert context(pulled)[0] == (median(rest.values()) if rest else None)


def test_a_book_that_pulled_every_line_of_a_game_no_longer_counts_in_the_context(warehouse, tmp_path) -> None:
    """A book's latest snapshot of a game is an empty-fetch marker (the live source writes one when the
    book answers no line for a game still upcoming): none of its lines of that game is current, so the
    consensus and the books count leave it out, as the predictions do; the opening line stays."""
    from statistics import median

    settings, _ = warehouse
    copy = _copy(settings, tmp_path)
    db = copy.warehouse_path
    game, book = _q(
        db,
        """select game_id, bookmaker from raw.player_props
           where game_date = ? and is_main_line and player_id is not null
           group by all having count(distinct player_id) >= 2 order by all limit 1""",
        [D],
    )[0]
    players = [
        r[0]
        for r in _q(
            db,
            "select distinct player_id from raw.player_props where game_date = ? and game_id = ? and "
            "bookmaker = ? and is_main_line and player_id is not null order by 1",
            [D, game, book],
        )
    ]

    def context() -> dict[int, tuple]:
        return {
            r[0]: r[1:]
            for r in _q(
                db,
                "select player_id, consensus_line, opening_line, books_count from context.player_game_context "
                "where game_date = ? and game_id = ?",
                [D, game],
            )
        }

    def current_lines(player: int) -> dict[str, float]:
        # each book's main line in its latest snapshot of the game (the raw table's own rows)
        return dict(
            _q(
                db,
                """select bookmaker, line from raw.player_props p
                   where game_date = ? and player_id = ? and is_main_line and snapshot_utc = (
                       select max(snapshot_utc) from raw.player_props q
                       where q.game_date = p.game_date and q.game_id = p.game_id and q.bookmaker = p.bookmaker)""",
                [D, player],
            )
        )

    before = context()
    with duckdb.connect(str(db)) as con:
        _insert_empty_fetch_marker(con, D, game, book)
    _build_context(copy, D)
    after = context()
    for player in players:
        if player not in before:
            continue  # not placed in the game (a mover): nothing to compare
        rest = {b: v for b, v in current_lines(player).items() if b != book}
        assert after[player][2] == before[player][2] - 1 == len(rest)
        assert after[player][0] == (median(rest.values()) if rest else None)
        assert after[player][1] == before[player][1]  # the opening line is history: unchanged


def _check(result: dg.ExecuteInProcessResult, prefix: str) -> dg.AssetCheckEvaluation:
    (found,) = [e for e in result.get_asset_check_evaluations() if e.check_name.startswith(prefix)]
    return found


def test_a_line_for_another_game_places_the_player_in_that_game_or_nowhere(warehouse, tmp_path) -> None:
    """A player whose line is for a game his last team is not in (a move the box scores have not seen):
    his line never attaches to his old team's row; without evidence of his new team he has no row (and
    the warn check names him) rather than a guessed team; D's injury report listing him with one of the
    line game's teams places him there. A roster player the report lists with another team moves too."""
    settings, _ = warehouse
    copy = _copy(settings, tmp_path)
    db = copy.warehouse_path
    player, old_game, old_team = _q(
        db,
        """select player_id, game_id, team_abbr from context.player_game_context
           where game_date = ? and expected_source = 'both' order by player_id limit 1""",
        [D],
    )[0]
    new_game, home, away = _q(
        db,
        """select game_id, home_abbr, away_abbr from raw.schedule
           where game_date = ? and ? not in (home_abbr, away_abbr) order by game_id limit 1""",
        [D, old_team],
    )[0]
    event = _q(db, "select min(event_id) from raw.player_props where game_id = ?", [new_game])[0][0]
    # his lines move to the other game; raw keeps the old resolver's team (his last team) on them
    with duckdb.connect(str(db)) as con:
        con.execute(
            "update raw.player_props set game_id = ?, event_id = ?, home_abbr = ?, away_abbr = ?, team_abbr = ? "
            "where game_date = ? and player_id = ?",
            [new_game, event, home, away, old_team, D, player],
        )
    result = _build_context(copy, D)

    def row(pid: int) -> list[tuple]:
        return _q(
            db,
            "select game_id, team_abbr, opponent_abbr, expected_source, team_source, has_line "
            "from context.player_game_context where game_date = ? and player_id = ?",
            [D, pid],
        )

    assert row(player) == []  # not on his old team's row with the other game's line, and not guessed
    unplaced = _check(result, "covers_line_players")
    assert not unplaced.passed and unplaced.severity == dg.AssetCheckSeverity.WARN
    assert _q(
        db,
        """select count(*) from context.player_game_context c where c.game_date = ? and c.has_line
           and not exists (select 1 from raw.player_props p where p.game_date = c.game_date
                           and p.game_id = c.game_id and p.player_id = c.player_id)""",
        [D],
    ) == [(0,)]

    # D's injury report lists him with the away team of the line's game, and a roster player of another
    # team with a team that plays on D
    roster_player, roster_team = _q(
        db,
        """select player_id, team_abbr from context.player_game_context where game_date = ?
           and expected_source = 'roster' and team_abbr not in (?, ?) order by player_id limit 1""",
        [D, home, away],
    )[0]
    with duckdb.connect(str(db)) as con:
        for pid, team in ((player, away), (roster_player, home)):
            con.execute(
                "insert into raw.injury_report (game_date, report_time_et, team_abbr, player_name, player_id, "
                "status, reason, source) values (?, ?, ?, 'X', ?, 'Questionable', 'Ankle', 'test')",
                [D, datetime(2025, 11, 5, 11, 30), team, pid],
            )
    result = _build_context(copy, D)
    assert row(player) == [(new_game, away, home, "line", "injury_report", True)]
    assert _check(result, "covers_line_players").passed
    assert row(roster_player) == [(new_game, home, away, "roster", "injury_report", False)]
    assert roster_team != home


def test_a_moved_player_is_placed_by_his_earlier_lines(warehouse, tmp_path) -> None:
    """Jalen Green (HOU's in 2024-25, PHX's in 2025-26) has no box score before 2025-11-06 in this
    warehouse: his line for PHX-MEM on 2025-10-29 and his line for PHX-LAC on 2025-11-06 have PHX in
    common, so on 2025-11-06 he is PHX's, in that game, with that game's line (the old code dropped him:
    his resolved team, HOU, is not in the game)."""
    settings, _ = warehouse
    copy = _copy(settings, tmp_path)
    db = copy.warehouse_path
    day = "2025-11-06"
    green = _q(db, "select distinct player_id from raw.player_props where player_name = 'Jalen Green'")
    assert len(green) == 1
    assert _q(
        db,
        "select distinct game_date, home_abbr, away_abbr from raw.player_props where player_id = ? order by 1",
        [green[0][0]],
    ) == [(date(2025, 10, 29), "PHX", "MEM"), (date(2025, 11, 6), "PHX", "LAC")]
    result = _build_context(copy, day)
    assert _q(
        db,
        "select team_abbr, opponent_abbr, expected_source, team_source, has_line, books_count > 0 "
        "from context.player_game_context where game_date = ? and player_id = ?",
        [day, green[0][0]],
    ) == [("PHX", "LAC", "line", "earlier_lines", True, True)]
    assert _check(result, "covers_line_players").passed


def _built_in_two_orders(settings: Settings, tmp_path, insert, table: str) -> tuple[list[dict], list[dict]]:
    """``table``'s rows of D (as dicts) built from raw rows that ``insert(con, reverse)`` writes in one
    order, then in the other: BigQuery reads tables in no set order, DuckDB in insertion order, so a
    window whose ORDER BY leaves ties follows the order the rows were written in."""
    out = []
    for reverse in (False, True):
        (tmp_path / f"reverse_{reverse}").mkdir()
        copy = _copy(settings, tmp_path / f"reverse_{reverse}")
        with duckdb.connect(str(copy.warehouse_path)) as con:
            insert(con, reverse)
        _build_context(copy, D)
        with duckdb.connect(str(copy.warehouse_path), read_only=True) as con:
            cur = con.execute(f"select * from {table} where game_date = ? order by all", [D])
            names = [d[0] for d in cur.description]
            out.append([dict(zip(names, row, strict=True)) for row in cur.fetchall()])
    return out[0], out[1]


def test_a_player_listed_twice_in_one_report_edition_gets_one_team_and_status_in_any_order(
    warehouse, tmp_path
) -> None:
    """D's report lists a player with both teams of his game in the same edition and status (the
    report's parser or the league's PDF repeating him): the context places him with one team, the
    first by name, and one reason, whichever row the warehouse returns first (the old ROW_NUMBER ordered
    by time and status only, and took the first row it met)."""
    settings, _ = warehouse
    player, home, away = _q(
        settings.warehouse_path,
        """select c.player_id, s.home_abbr, s.away_abbr from context.player_game_context c
           join raw.schedule s on s.game_id = c.game_id and s.game_date = c.game_date
           where c.game_date = ? and c.expected_source = 'both' order by c.player_id limit 1""",
        [D],
    )[0]

    def insert(con, reverse: bool) -> None:
        for team in sorted((home, away), reverse=reverse):
            con.execute(
                "insert into raw.injury_report (game_date, report_time_et, team_abbr, player_name, player_id, "
                "status, reason, source) values (?, ?, ?, 'X', ?, 'Questionable', ?, 'test')",
                [D, datetime(2025, 11, 5, 11, 30), team, player, f"listed by {team}"],
            )

    first, second = _built_in_two_orders(settings, tmp_path, insert, "context.player_game_context")
    assert first == second
    team = min(home, away)
    mine = [
        (r["team_abbr"], r["team_source"], r["injury_status"], r["injury_reason"])
        for r in first
        if r["player_id"] == player
    ]
    assert mine == [(team, "injury_report", "Questionable", f"listed by {team}")]


# DuckDB's own default puts NULLs last in both directions; BigQuery (production) puts them first
# ascending and last descending. A dbt profile's ``settings`` give DuckDB BigQuery's placement.
NULL_ORDERS = {"duckdb": "nulls_last", "bigquery": "nulls_first_on_asc_last_on_desc"}


def test_a_report_edition_listing_a_player_with_and_without_a_reason_gives_one_reason_in_both_engines(
    warehouse, tmp_path
) -> None:
    """D's report lists a player twice in one edition, the same status and team, once without a reason:
    the context keeps the reason, with DuckDB's default placement of NULLs and with BigQuery's (the old
    ROW_NUMBER ordered by ``reason`` ascending: BigQuery, NULLs first, took the row without it)."""
    settings, _ = warehouse
    copy = _copy(settings, tmp_path)
    player, team = _q(
        settings.warehouse_path,
        "select player_id, team_abbr from context.player_game_context where game_date = ? "
        "and injury_status is null order by player_id limit 1",
        [D],
    )[0]
    with duckdb.connect(str(copy.warehouse_path)) as con:
        for reason in (None, "Left Ankle; Sprain"):
            con.execute(
                "insert into raw.injury_report (game_date, report_time_et, team_abbr, player_name, player_id, "
                "status, reason, source) values (?, ?, ?, 'X', ?, 'Questionable', ?, 'test')",
                [D, datetime(2025, 11, 5, 11, 30), team, player, reason],
            )
    env = {"NBA_ASSETS_WAREHOUSE": str(copy.warehouse_path), **window_env({"min_date": D, "max_date": D})}
    got = {}
    for engine, order in NULL_ORDERS.items():
        profiles = tmp_path / f"profiles_{engine}"
        profiles.mkdir()
        (profiles / "profiles.yml").write_text(
            "nba_assets:\n  target: duckdb\n  outputs:\n    duckdb:\n      type: duckdb\n"
            "      path: \"{{ env_var('NBA_ASSETS_WAREHOUSE') }}\"\n      threads: 1\n"
            f"      settings:\n        default_null_order: {order}\n"
        )
        run = _dbt(["run", "--select", "player_game_context"], env, tmp_path, profiles_dir=profiles)
        assert run.returncode == 0, run.stdout[-2000:]
        got[engine] = _q(
            copy.warehouse_path,
            "select team_abbr, injury_status, injury_reason from context.player_game_context "
            "where game_date = ? and player_id = ?",
            [D, player],
        )
    assert got["duckdb"] == got["bigquery"] == [(team, "Questionable", "Left Ankle; Sprain")]


def test_a_player_on_two_box_scores_of_one_date_gets_the_same_rest_in_any_order(warehouse, tmp_path) -> None:
    """A player on two box scores of D (two games of one date): each row's previous game is his last
    date before D, whichever row the warehouse returns first (the old window, ROWS over game_date, gave
    the second row it met D itself: rest 0 days, not a back-to-back)."""
    settings, _ = warehouse
    player, game = _q(
        settings.warehouse_path,
        """select player_id, game_id from context.player_game_summary
           where game_date = ? and minutes > 0 and rest_days = 2 order by player_id limit 1""",
        [D],
    )[0]
    other, home = _q(
        settings.warehouse_path,
        "select game_id, home_abbr from raw.schedule where game_date = ? and game_id <> ? order by game_id limit 1",
        [D, game],
    )[0]

    def insert(con, reverse: bool) -> None:
        con.execute(
            "create temp table twin as select * replace (? as game_id, ? as team_abbr) from raw.box_scores "
            "where game_date = ? and player_id = ?",
            [other, home, D, player],
        )
        if reverse:  # the twin first, then his own row
            con.execute(
                "create temp table own as select * from raw.box_scores where game_date = ? and player_id = ?",
                [D, player],
            )
            con.execute("delete from raw.box_scores where game_date = ? and player_id = ?", [D, player])
            con.execute("insert into raw.box_scores select * from twin")
            con.execute("insert into raw.box_scores select * from own")
        else:
            con.execute("insert into raw.box_scores select * from twin")

    first, second = _built_in_two_orders(settings, tmp_path, insert, "context.player_game_summary")
    assert first == second
    mine = [(r["game_id"], r["rest_days"], r["is_back_to_back"]) for r in first if r["player_id"] == player]
    assert mine == sorted([(game, 2, False), (other, 2, False)])


def test_team_minutes_and_pace_are_the_same_bits_in_any_order_of_the_box_scores(warehouse, tmp_path) -> None:
    """A team's minutes are the sum of its players' decimal minutes (23.1, 8.283 ...): a floating-point
    sum depends on the order it adds in, and the warehouse returns the rows in no set order (BigQuery),
    so team_minutes, and the pace and features built on it, moved in their last bits with the order
    D's box scores were written in (test_row_order_end_to_end found it). They are summed as whole
    hundredths of a second now: exact in any order."""
    settings, _ = warehouse

    def insert(con, reverse: bool) -> None:
        direction = "desc" if reverse else "asc"
        con.execute(
            "create temp table day as select * from raw.box_scores where game_date = ? "
            f"order by game_id, team_abbr, player_id {direction}",
            [D],
        )
        con.execute("delete from raw.box_scores where game_date = ?", [D])
        con.execute("insert into raw.box_scores select * from day")

    first, second = _built_in_two_orders(settings, tmp_path, insert, "context.team_game_summary")
    assert len(first) == 22
    for a, b in zip(first, second, strict=True):
        for col in ("team_minutes", "pace"):
            assert struct.pack("<d", a[col]) == struct.pack("<d", b[col]), (a["team_abbr"], col)
    assert first == second
    # the sum itself is unchanged: a team plays 240 minutes (5 x 48) in regulation, 25 more per overtime
    assert all(abs(r["team_minutes"] - 240 - 25 * round((r["team_minutes"] - 240) / 25)) < 0.1 for r in first)


def test_dbt_tests_are_passing_asset_checks(warehouse) -> None:
    _, result = warehouse
    evaluations = result.get_asset_check_evaluations()
    by_asset: dict[str, list[str]] = {}
    for e in evaluations:
        by_asset.setdefault(e.asset_key.to_user_string(), []).append(e.check_name)
    failed = [(e.asset_key.to_user_string(), e.check_name) for e in evaluations if not e.passed]
    assert not failed
    assert len(evaluations) >= 30
    names = by_asset["context/player_game_context"]
    assert any(n.startswith("unique_combination_of_columns") for n in names)
    assert any(n.startswith("relationships") for n in names)
    assert any(n.startswith("accepted_values") for n in names)
    assert any(n.startswith("covers_scheduled_games") for n in names)
    assert {"context/player_game_summary", "context/team_game_summary"} <= set(by_asset)


def test_no_look_ahead_without_the_days_box_scores(warehouse, tmp_path) -> None:
    settings, _ = warehouse
    before = _context_rows(settings.warehouse_path)
    copy = _copy(settings, tmp_path)
    with duckdb.connect(str(copy.warehouse_path)) as con:  # the warehouse as it is before D's tip-offs
        con.execute("delete from raw.box_scores where game_date >= ?", [D])
        con.execute(
            "update raw.schedule set status = 'scheduled', home_pts = null, away_pts = null where game_date >= ?",
            [D],
        )
    result = _build_context(copy, D)
    assert all(e.passed for e in result.get_asset_check_evaluations())
    assert _q(
        copy.warehouse_path, "select count(*) from context.player_game_summary where game_date = ?", [D]
    ) == [(0,)]
    after = _context_rows(copy.warehouse_path)
    assert after == before and len(before) > 250


def test_context_of_d_built_in_a_range_past_d_ignores_later_data_and_post_tip_snapshots(
    warehouse, tmp_path
) -> None:
    """D's rows are those of the warehouse as it was before D's tip-offs (the test above) even when D
    is built inside a range reaching past it, with the next date's box scores altered (+2 points each), its lines moved and
    an injury report ruling its players out, and with a snapshot of D's lines captured after
    tip-off, every line 10 points higher: the consensus, opening line and books count of D are the
    pre-game ones, and nothing of D+1 reaches D."""
    settings, _ = warehouse
    before = _context_rows(settings.warehouse_path)
    nxt = "2025-11-06"
    copy = _copy(settings, tmp_path)
    with duckdb.connect(str(copy.warehouse_path)) as con:
        con.execute(
            "insert into raw.player_props select * replace "
            "(tipoff_utc + interval 1 minute as snapshot_utc, line + 10 as line) "
            "from raw.player_props where game_date = ? and line is not null",
            [D],
        )
        con.execute("update raw.player_props set line = line * 2 where game_date = ?", [nxt])
        con.execute(
            "update raw.box_scores set pts = pts + 2, minutes = minutes + 5 where game_date = ?", [nxt]
        )
        con.execute(
            "insert into raw.injury_report (game_date, report_time_et, team_abbr, player_id, player_name, status, "
            "reason, source) select distinct cast(? as date), timestamp '2025-11-06 12:00:00', team_abbr, "
            "player_id, player_name, 'Out', 'Injury/Illness', 'test' from raw.box_scores where game_date = ?",
            [nxt, nxt],
        )
    defs = dg.Definitions(
        assets=[*raw_assets, *context_assets], jobs=[build_context_job], resources=build_resources(copy)
    )
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("build_context_job").execute_in_process(
            instance=instance, tags=_range_tags("2025-11-04", nxt)
        )
        assert result.success
    assert _context_rows(copy.warehouse_path) == before and len(before) > 250
    # the later data did reach D+1: the range really held it
    assert (
        _q(
            copy.warehouse_path,
            "select count(*) from context.player_game_context where game_date = ? and injury_status = 'Out'",
            [nxt],
        )[0][0]
        > 0
    )


def test_rebuilding_a_partition_is_idempotent_and_replaces_the_window(warehouse, tmp_path) -> None:
    settings, _ = warehouse
    copy = _copy(settings, tmp_path)
    counts_sql = """select (select count(*) from context.player_game_summary),
                           (select count(*) from context.team_game_summary),
                           (select count(*) from context.player_game_context)"""
    before = _q(copy.warehouse_path, counts_sql)
    _build_context(copy, D)
    assert _q(copy.warehouse_path, counts_sql) == before
    # a game that vanished from raw disappears from the rebuilt window (not only replaced keys)
    with duckdb.connect(str(copy.warehouse_path)) as con:
        con.execute("delete from raw.box_scores where game_date = ?", [D])
    _build_context(copy, D)
    assert _q(
        copy.warehouse_path, "select count(*) from context.team_game_summary where game_date = ?", [D]
    ) == [(0,)]


def test_a_day_without_raw_rows_builds_empty_and_passes(warehouse, tmp_path) -> None:
    settings, _ = warehouse
    copy = _copy(settings, tmp_path)
    result = _build_context(copy, "2025-11-10")  # after the raw range: nothing scheduled in the warehouse
    assert all(e.passed for e in result.get_asset_check_evaluations())
    assert _q(
        copy.warehouse_path, "select count(*) from context.player_game_context where game_date = '2025-11-10'"
    ) == [(0,)]


def test_range_is_one_run_and_matches_single_partitions(warehouse, tmp_path) -> None:
    settings, _ = warehouse
    copy = _copy(settings, tmp_path)
    defs = dg.Definitions(
        assets=[*raw_assets, *context_assets], jobs=[build_context_job], resources=build_resources(copy)
    )
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("build_context_job").execute_in_process(
            instance=instance, tags=_range_tags("2025-11-03", D)
        )
        assert result.success
        assert len(instance.get_run_records()) == 1
    assert _q(
        copy.warehouse_path,
        "select game_date, count(distinct game_id) from context.team_game_summary group by 1 order by 1",
    ) == [(date(2025, 11, 3), 9), (date(2025, 11, 4), 6), (date(2025, 11, 5), 11)]
    # each date's materialization carries that date's rows (dagster-dbt's carried no row count)
    for table in ("team_game_summary", "player_game_summary", "player_game_context"):
        stored = dict(
            _q(copy.warehouse_path, f"select game_date::varchar, count(*) from context.{table} group by 1")
        )
        counts = {
            e.materialization.partition: e.materialization.metadata["dagster/row_count"].value
            for e in result.get_asset_materialization_events()
            if e.materialization.asset_key == dg.AssetKey(["context", table])
        }
        assert counts == stored and len(counts) == 3, table
    assert len(set(counts.values())) == 3  # not one figure copied to every date
    # the same rows for D whether D is built alone or inside a range
    assert _context_rows(copy.warehouse_path) == _context_rows(settings.warehouse_path)


def _dbt(
    args: list[str],
    env: dict[str, str],
    tmp_path,
    environ: dict[str, str] | None = None,
    profiles_dir: Path | None = None,
) -> subprocess.CompletedProcess:
    from nba_assets.lib.dbt_project import dbt_executable

    project = REPO_ROOT / "dbt_project"
    profiles = profiles_dir or project
    return subprocess.run(
        [dbt_executable(), *args, "--project-dir", str(project), "--profiles-dir", str(profiles)]
        + ["--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
        env={**(os.environ if environ is None else environ), **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_bigquery_target_parses_with_dates_given_as_yaml_vars(tmp_path) -> None:
    """`--vars '{min_date: 2025-01-10}'` passes a YAML date, not a string; the bigquery target's
    partition config called date.fromisoformat on it ("argument must be str"). dbt parse opens no
    connection, so the prod target is checked here offline; without a project it fails at parse,
    naming the variable (it defaulted to 'unset-project' and failed only at query time)."""
    got = _dbt(
        ["parse", "--target", "bigquery", "--vars", "{min_date: 2025-01-10, max_date: 2025-01-12}"],
        {"NBA_ASSETS_GCP_PROJECT": "p"},
        tmp_path,
    )
    assert got.returncode == 0, got.stdout[-2000:]
    unset = {k: v for k, v in os.environ.items() if k != "NBA_ASSETS_GCP_PROJECT"}
    missing = _dbt(["parse", "--target", "bigquery"], {}, tmp_path, environ=unset)
    assert missing.returncode != 0
    assert "Env var required but not provided: 'NBA_ASSETS_GCP_PROJECT'" in missing.stdout


def test_the_bigquery_target_bounds_how_long_a_dbt_job_may_run() -> None:
    """dbt-bigquery waits up to a day for a job when the profile sets no limit; the prod target sets
    one, under a known credentials field (a misspelt key would be ignored or refused)."""
    import yaml
    from dbt.adapters.bigquery.credentials import BigQueryCredentials

    target = yaml.safe_load((REPO_ROOT / "dbt_project" / "profiles.yml").read_text())["nba_assets"][
        "outputs"
    ]["bigquery"]
    assert "job_execution_timeout_seconds" in BigQueryCredentials.__dataclass_fields__
    assert 0 < target["job_execution_timeout_seconds"] <= 3600


# dbt's own rendering of the profile (dbt-core 1.11), in a process of its own: it sets dbt's global flags
_RENDER_BIGQUERY_PROFILE = """
import json, os, sys
from argparse import Namespace
from dbt.config.profile import Profile, read_profile
from dbt.config.renderer import ProfileRenderer
from dbt.flags import set_from_args
from dbt_common.context import set_invocation_context

var, field, got = sys.argv[3], sys.argv[4], {}
set_from_args(Namespace(), None)
for value in json.loads(sys.argv[2]):
    environ = {k: v for k, v in os.environ.items() if k != var}
    if value is not None:
        environ[var] = value
    set_invocation_context(environ)
    profile = Profile.from_raw_profiles(
        read_profile(sys.argv[1]), "nba_assets", ProfileRenderer({}), target_override="bigquery"
    )
    got[str(value)] = getattr(profile.credentials, field)
print(json.dumps(got))
"""


def _render_bigquery_credential(var: str, field: str, values: list[str | None]) -> dict[str, object]:
    """The BigQuery credentials' ``field`` as dbt renders the profile with ``var`` unset (None) or set to
    each of ``values``, keyed by ``str(value)``."""
    import json
    import sys

    got = subprocess.run(
        [sys.executable, "-c", _RENDER_BIGQUERY_PROFILE, str(REPO_ROOT / "dbt_project"), json.dumps(values)]
        + [var, field],
        env={**os.environ, "NBA_ASSETS_GCP_PROJECT": "p"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert got.returncode == 0, got.stderr[-2000:]
    return json.loads(got.stdout.splitlines()[-1])


def test_the_bigquery_target_caps_the_bytes_a_dbt_query_may_bill() -> None:
    """dbt-bigquery sets maximum_bytes_billed on its query jobs only when the profile gives it; the prod
    target takes the IO manager's setting, NBA_ASSETS_BIGQUERY_MAX_BYTES_BILLED, with the same default
    when it is unset or empty (as rendered by dbt into its BigQuery credentials)."""
    from nba_assets.lib.env import BIGQUERY_MAX_BYTES_BILLED_DEFAULT, BIGQUERY_MAX_BYTES_BILLED_VAR

    got = _render_bigquery_credential(
        BIGQUERY_MAX_BYTES_BILLED_VAR, "maximum_bytes_billed", [None, "", "5000000000"]
    )
    assert got == {
        "None": BIGQUERY_MAX_BYTES_BILLED_DEFAULT,
        "": BIGQUERY_MAX_BYTES_BILLED_DEFAULT,
        "5000000000": 5_000_000_000,
    }


def test_the_bigquery_target_takes_the_io_managers_location() -> None:
    """dbt's BigQuery target runs in the IO manager's location: NBA_ASSETS_BIGQUERY_LOCATION, whose
    default (Settings.bigquery_location) applies when it is unset or empty, as the README says. dbt's
    env_var() default applies only when it is unset: set but empty (a ConfigMap key left blank), the
    IO manager worked in US while dbt's credentials got an empty location."""
    from nba_assets.lib.env import BIGQUERY_LOCATION_VAR, Settings

    got = _render_bigquery_credential(BIGQUERY_LOCATION_VAR, "location", [None, "", " ", "EU"])
    want = {
        str(value): Settings.from_env(
            {BIGQUERY_LOCATION_VAR: value} if value is not None else {}
        ).bigquery_location
        for value in (None, "", " ", "EU")
    }
    assert want == {"None": "US", "": "US", " ": "US", "EU": "EU"}
    assert got == want


def test_the_coverage_test_names_a_scheduled_game_the_model_lost(warehouse, tmp_path) -> None:
    """covers_scheduled_games (with require_history: a join on each team's first box-score date, which
    BigQuery can plan, instead of a correlated EXISTS) fails for a game of the window that lost its
    rows, and passes otherwise."""
    settings, _ = warehouse
    copy = _copy(settings, tmp_path)
    env = {"NBA_ASSETS_WAREHOUSE": str(copy.warehouse_path), **window_env({"min_date": D, "max_date": D})}
    select = ["--select", "player_game_context,test_name:covers_scheduled_games"]
    passed = _dbt(["test", *select], env, tmp_path)
    assert passed.returncode == 0 and "PASS=1 WARN=0" in passed.stdout, passed.stdout[-2000:]
    with duckdb.connect(str(copy.warehouse_path)) as con:
        (game,) = con.execute(
            "select min(game_id) from context.player_game_context where game_date = ?", [D]
        ).fetchone()
        con.execute("delete from context.player_game_context where game_id = ?", [game])
    failed = _dbt(["test", *select], env, tmp_path)  # severity warn: dbt exits 0, the check fails
    assert "PASS=0 WARN=1" in failed.stdout and "Got 1 result" in failed.stdout, failed.stdout[-2000:]


def test_the_coverage_test_does_not_count_a_games_rows_of_another_date(warehouse, tmp_path) -> None:
    """A postponed game keeps its id when it is played on another date, and the morning slate of its
    first date built context rows for it before it was postponed. covers_scheduled_games looked the game
    up by id in the whole table, so those rows of the first date covered the game on the date it was
    played: a game of the window that lost its rows passed."""
    settings, _ = warehouse
    copy = _copy(settings, tmp_path)
    env = {"NBA_ASSETS_WAREHOUSE": str(copy.warehouse_path), **window_env({"min_date": D, "max_date": D})}
    select = ["--select", "player_game_context,test_name:covers_scheduled_games"]
    with duckdb.connect(str(copy.warehouse_path)) as con:
        (game,) = con.execute(
            "select min(game_id) from context.player_game_context where game_date = ?", [D]
        ).fetchone()
        # two days before D the game was on the schedule (then postponed), and its context rows were built
        con.execute(
            """insert into raw.schedule select * replace (
                   game_date - 2 as game_date, tipoff_utc - interval 2 day as tipoff_utc,
                   'postponed' as status, null as home_pts, null as away_pts)
               from raw.schedule where game_id = ?""",
            [game],
        )
        con.execute(
            "insert into context.player_game_context select * replace (game_date - 2 as game_date) "
            "from context.player_game_context where game_date = ? and game_id = ?",
            [D, game],
        )
        # on D, the date it was played, its rows are lost
        con.execute("delete from context.player_game_context where game_date = ? and game_id = ?", [D, game])
    failed = _dbt(["test", *select], env, tmp_path)  # severity warn: dbt exits 0, the check fails
    assert "PASS=0 WARN=1" in failed.stdout and "Got 1 result" in failed.stdout, failed.stdout[-2000:]


def _insert_later_snapshot(
    con: duckdb.DuckDBPyConnection, day: str, game: str, book: str, moved: int, pulled: int
) -> None:
    """(game, book)'s rows copied one second later, a later snapshot: ``moved``'s main
    line up 2, ``pulled``'s lines gone."""
    con.execute(
        """insert into raw.player_props
           select * replace (
               snapshot_utc + interval 1 second as snapshot_utc,
               case when player_id = ? and is_main_line then line + 2 else line end as line)
           from raw.player_props
           where game_date = ? and game_id = ? and bookmaker = ? and player_id is distinct from ?""",
        [moved, day, game, book, pulled],
    )


def _insert_empty_fetch_marker(con: duckdb.DuckDBPyConnection, day: str, game: str, book: str) -> None:
    """A raw.player_props empty-fetch marker for (game, book) one second after that book's last snapshot
    of the game: the book's latest snapshot of the game then holds no line."""
    con.execute(
        """insert into raw.player_props
           select * replace (
               max(snapshot_utc) over () + interval 1 second as snapshot_utc,
               cast(null as varchar) as player_name, cast(null as bigint) as player_id,
               cast(null as varchar) as team_abbr, 'empty_fetch' as match_method,
               cast(null as double) as line, cast(null as bigint) as over_price,
               cast(null as bigint) as under_price, cast(null as boolean) as is_main_line)
           from raw.player_props where game_date = ? and game_id = ? and bookmaker = ?
           limit 1""",
        [day, game, book],
    )


def _context_of(db, day: str = D) -> dict[str, list[tuple]]:
    return {
        table: _q(db, f"select * from context.{table} where game_date = ? order by all", [day])
        for table in ("player_game_summary", "team_game_summary", "player_game_context")
    }


def test_preseason_and_all_star_games_stay_out_of_the_context(warehouse, tmp_path) -> None:
    """Raw keeps a preseason and an All-Star game (real data, as the source said it); the staging views
    leave them out, so a preseason game the day before D changes none of D's context (rest days, 7-day
    workload, rosters): the archive the model learned from holds no preseason games."""
    settings, _ = warehouse
    copy = _copy(settings, tmp_path)
    db = copy.warehouse_path
    before = _context_of(settings.warehouse_path)
    # two games of D whose teams did not play the day before: the same teams and players, a day earlier
    games = _q(
        db,
        """select s.game_id from raw.schedule s where s.game_date = ? and not exists (
               select 1 from raw.schedule p where p.game_date = s.game_date - 1
               and (p.home_abbr in (s.home_abbr, s.away_abbr) or p.away_abbr in (s.home_abbr, s.away_abbr)))
           order by 1 limit 2""",
        [D],
    )
    moved = {games[0][0]: "001", games[1][0]: "003"}
    with duckdb.connect(str(db)) as con:
        for game, prefix in moved.items():
            new_id = prefix + game[3:]
            con.execute(
                """insert into raw.schedule select * replace (
                       ? as game_id, game_date - 1 as game_date, tipoff_utc - interval 1 day as tipoff_utc,
                       ? as season_type)
                   from raw.schedule where game_id = ?""",
                [new_id, "Preseason" if prefix == "001" else "All-Star", game],
            )
            con.execute(
                "insert into raw.box_scores select * replace (? as game_id, game_date - 1 as game_date) "
                "from raw.box_scores where game_id = ?",
                [new_id, game],
            )
            con.execute(
                """insert into raw.player_props select * replace (
                       ? as game_id, game_date - 1 as game_date, snapshot_utc - interval 1 day as snapshot_utc,
                       tipoff_utc - interval 1 day as tipoff_utc)
                   from raw.player_props where game_id = ?""",
                [new_id, game],
            )
    result = _build_context(copy, D)
    assert all(e.passed for e in result.get_asset_check_evaluations())
    after = _context_of(db)
    assert {t: len(rows) for t, rows in after.items()} == {t: len(rows) for t, rows in before.items()}
    assert after == before
    unmodeled = "left(game_id, 3) in ('001', '003')"
    for table in ("schedule", "box_scores", "player_props"):
        assert _q(db, f"select count(*) from raw.{table} where {unmodeled}")[0][0] > 0
        assert _q(db, f"select count(*) from staging.stg_{table} where {unmodeled}") == [(0,)]


def test_a_postponed_game_played_on_another_date_is_one_game_in_the_context(warehouse, tmp_path) -> None:
    """A postponed game keeps its id when it is played later (lib/grading.py), so raw.schedule holds two
    rows for it: postponed on the first date, final on the second. The summaries joined the schedule on
    the id alone and doubled the game's player and team rows (and the rolling windows built on them)."""
    settings, _ = warehouse
    copy = _copy(settings, tmp_path)
    db = copy.warehouse_path
    before = _context_of(settings.warehouse_path)
    (game,) = _q(db, "select min(game_id) from raw.schedule where game_date = ?", [D])[0]
    with duckdb.connect(str(db)) as con:
        con.execute(
            """insert into raw.schedule select * replace (
                   game_date - 2 as game_date, tipoff_utc - interval 2 day as tipoff_utc,
                   'postponed' as status, null as home_pts, null as away_pts)
               from raw.schedule where game_id = ?""",
            [game],
        )
    result = _build_context(copy, D)  # a duplicated key fails a blocking check, and so the run
    assert all(e.passed for e in result.get_asset_check_evaluations())
    after = _context_of(db)
    assert {t: len(rows) for t, rows in after.items()} == {t: len(rows) for t, rows in before.items()}
    assert after == before


def test_the_context_keys_uniqueness_checks_are_blocking() -> None:
    """A duplicated context key stops the run's downstream steps (features, predictions) instead of
    being counted twice in every rolling window after it."""
    specs = {
        (spec.asset_key.to_user_string(), spec.name): spec
        for assets_def in context_assets
        for spec in assets_def.check_specs
    }
    unique = {k: s for k, s in specs.items() if k[1].startswith("unique_combination_of_columns")}
    assert {asset for asset, _ in unique} == {
        "context/player_game_summary",
        "context/team_game_summary",
        "context/player_game_context",
    }
    assert all(s.blocking for s in unique.values())


# ---------------------------------------------------------------- the backtest's context from a lines file


def _window_frame(db: Path, table: str, first: str, last: str):
    """A context or raw table's rows dated ``first``..``last`` (``table``: one of the literals below)."""
    sql = {
        "context": "select * from context.player_game_context where game_date between ? and ?",
        "props": "select * from raw.player_props where game_date between ? and ?",
    }
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql(sql[table], params=[first, last]).pl()


def _same_rows(got, want) -> bool:
    return got.select(want.columns).sort(want.columns).equals(want.sort(want.columns))


def test_the_backtests_scratch_copy_holds_every_raw_table_the_dbt_project_reads() -> None:
    """``backtest.context_with_lines`` copies the raw tables its dbt run reads: a source added to the
    project but not to ``RAW_COPIES`` would read as no rows there (the ``raw_table`` macro's empty
    relation) and place players unlike the context run, silently."""
    from nba_assets.lib.backtest import RAW_COPIES
    from nba_assets.lib.dbt_project import manifest_path
    from nba_assets.lib.dbt_state import raw_sources

    assert sorted(("raw", name) for name in RAW_COPIES) == sorted(raw_sources(manifest_path()))
    for name, statement in RAW_COPIES.items():
        assert statement == f"CREATE TABLE raw.{name} AS SELECT * FROM src.raw.{name}"


def test_the_backtest_builds_a_lines_files_context_exactly_as_the_context_model(warehouse, tmp_path) -> None:
    """The context a backtest builds from a lines file's rows (``backtest.context_with_lines``: the dbt
    model on a scratch copy of the warehouse's raw tables, the window's lines replaced by the file's) is
    the context run's once those lines are ingested, every column: on D's real lines, then on lines with
    a later snapshot that moves one main line and drops another player's, an alternate line, ties of two
    main lines in the first and the latest snapshot, a book whose latest snapshot of a game is an
    empty-fetch marker, and a snapshot after tip-off (which never counts). The warehouse is only read."""
    from nba_assets.lib import backtest

    settings, _ = warehouse
    src, day = settings.warehouse_path, date.fromisoformat(D)
    real = _window_frame(src, "props", D, D)
    want = _window_frame(src, "context", D, D)
    assert _same_rows(backtest.context_with_lines(src, real, day, day), want)
    assert want["consensus_line"].is_not_null().sum() > 150
    copy = _copy(settings, tmp_path)
    db = copy.warehouse_path
    (game, book, moved, pulled), (game2, book2) = (
        _q(
            db,
            """select game_id, bookmaker, min(player_id), max(player_id) from raw.player_props
           where game_date = ? and is_main_line and player_id is not null
           group by all having count(distinct player_id) >= 2 order by all limit 1""",
            [D],
        )[0],
        _q(
            db,
            """select game_id, bookmaker from raw.player_props where game_date = ? and is_main_line
           group by all order by game_id desc, bookmaker limit 1""",
            [D],
        )[0],
    )
    with duckdb.connect(str(db)) as con:
        # a later snapshot of (game, book): `moved`'s main line up 2, `pulled`'s gone
        _insert_later_snapshot(con, D, game, book, moved, pulled)
        # in that snapshot `moved` also has an alternate line and a second, lower main line (a tie)
        con.execute(
            """insert into raw.player_props
               select p.* replace (p.line - 5 as line, a.alt as is_main_line)
               from raw.player_props p cross join (values (true), (false)) a(alt)
               where p.game_date = ? and p.game_id = ? and p.bookmaker = ? and p.player_id = ? and p.is_main_line
               and p.snapshot_utc = (select max(snapshot_utc) from raw.player_props
                   where game_date = ? and game_id = ? and bookmaker = ?)""",
            [D, game, book, moved, D, game, book],
        )
        # and a second, lower main line in its earliest snapshot (a tie for the opening line)
        con.execute(
            """insert into raw.player_props
               select * replace (line - 3 as line) from raw.player_props
               where game_date = ? and game_id = ? and bookmaker = ? and player_id = ? and is_main_line
               and snapshot_utc = (select min(snapshot_utc) from raw.player_props
                   where game_date = ? and game_id = ? and bookmaker = ? and player_id = ?)""",
            [D, game, book, moved, D, game, book, moved],
        )
        # (game2, book2)'s latest snapshot is an empty-fetch marker: none of its lines is current
        _insert_empty_fetch_marker(con, D, game2, book2)
        # a snapshot after tip-off (the raw layer refuses one; the staging view leaves it out too)
        con.execute(
            """insert into raw.player_props
               select * replace (tipoff_utc + interval 1 minute as snapshot_utc, line + 7 as line)
               from raw.player_props where game_date = ? and game_id = ? and player_id = ? and is_main_line""",
            [D, game, moved],
        )
    _build_context(copy, D)
    edited = _window_frame(db, "context", D, D)
    assert not _same_rows(edited, want)  # the edits changed the model's line features
    # the module's warehouse still holds D's real lines: the file's rows replace them
    got = backtest.context_with_lines(src, _window_frame(db, "props", D, D), day, day)
    assert _same_rows(got, edited)
    assert edited["consensus_line"].is_not_null().sum() > 150
    assert _same_rows(_window_frame(src, "props", D, D), real) and _same_rows(
        _window_frame(src, "context", D, D), want
    )


def _dev_lines(first: str, last: str):
    """The development lines file's rows dated ``first``..``last``, its guaranteed columns only (text)."""
    import polars as pl

    from nba_assets.lib.sources.lines_csv import GUARANTEED_COLUMNS
    from nba_assets_tests.conftest import shared_dir

    dev = shared_dir() / "data" / "real" / "props_points_2025-26_dev_oddsapi.csv"
    frame = pl.read_csv(dev, infer_schema=False)
    return frame.filter((pl.col("game_date") >= first) & (pl.col("game_date") <= last)).select(
        GUARANTEED_COLUMNS
    )


def _ingest_lines(db: Path, lines, start: date, end: date):
    """Replace the raw lines of ``start``..``end`` in ``db`` with ``lines`` (a read lines file) resolved as
    the backtest resolves them (``backtest.resolve_lines``: the schedule of the window, players seen in
    the box scores up to ``end``), as production ingests them; returns the rows written."""
    from nba_assets.lib import backtest

    with duckdb.connect(str(db), read_only=True) as con:
        schedule = con.sql(
            "select * from raw.schedule where game_date between ? and ?", params=[start, end]
        ).pl()
        box = con.sql("select * from raw.box_scores where game_date <= ?", params=[end]).pl()
    ingested = backtest.resolve_lines(lines, schedule, box, start, end).good
    with duckdb.connect(str(db)) as con:
        con.execute("delete from raw.player_props where game_date between ? and ?", [start, end])
        con.register("ingested", ingested)
        con.execute("insert into raw.player_props by name select * from ingested")
    return ingested


def _context_and_features(settings: Settings, start: str, end: str) -> None:
    """build_context_job from the first raw date to ``end``, then build_features_job for ``start``..``end``
    (one range run each), as production builds a window's context and features from its raw tables: the
    module's warehouse holds the context of D only, and the features of the window read the games of the
    days before it (``player_features_history_current`` refuses a window built without them)."""
    from nba_assets.defs.features.assets import feature_assets
    from nba_assets.defs.jobs import build_features_job

    defs = dg.Definitions(
        assets=[*raw_assets, *context_assets, *feature_assets],
        jobs=[build_context_job, build_features_job],
        resources=build_resources(settings),
    )
    with dg.instance_for_test() as instance:
        for job, first in (("build_context_job", RAW_RANGE[0]), ("build_features_job", start)):
            result = defs.resolve_job_def(job).execute_in_process(
                instance=instance, tags=_range_tags(first, end)
            )
            assert result.success, job


def test_a_backtest_with_a_lines_file_expects_the_players_its_lines_place(warehouse, tmp_path) -> None:
    """``backtest --lines`` on a window the warehouse was built without lines for: the context places
    players by their lines, so the window's features (who is expected, in which game and team, with which
    line features; the rows each week's model trains and calibrates on) must be those production builds
    once the same lines are ingested, not the lines-free warehouse's with line features pasted on. A
    player no recent roster holds (back from an injury, or moved: placed by ``last_game`` /
    ``earlier_lines``) had no expected row, so no prediction (``no_feature_row``), and his training row
    no line features; a rostered player whose line puts him in another team's game (a trade nothing
    before tip-off names) kept his old team's row and was predicted from it."""
    import polars as pl

    from nba_assets.lib import backtest
    from nba_assets.lib.sources.lines_csv import read_lines_csv

    first, last = "2025-11-04", "2025-11-06"
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    settings, _ = warehouse
    lines = _dev_lines(first, last)
    # a player on D's rosters with a line moves to a game of two other teams (the team he was traded to
    # plays there): nothing before tip-off says which of the two is his
    mover, team = _q(
        settings.warehouse_path,
        "select player_id, team_abbr from context.player_game_context where game_date = ? "
        "and expected_source = 'both' order by player_id limit 1",
        [D],
    )[0]
    (name,) = _q(
        settings.warehouse_path,
        "select min(player_name) from raw.player_props where game_date = ? and player_id = ?",
        [D, mover],
    )[0]
    other = (
        lines.filter(
            (pl.col("game_date") == D) & (pl.col("home_abbr") != team) & (pl.col("away_abbr") != team)
        )
        .sort("event_id")
        .select("event_id", "home_abbr", "away_abbr", "game_time_utc")
        .row(0, named=True)
    )
    moved = (pl.col("game_date") == D) & (pl.col("player_name") == name)
    lines = lines.with_columns(
        pl.when(moved).then(pl.lit(v)).otherwise(pl.col(c)).alias(c) for c, v in other.items()
    )
    lines_csv = tmp_path / "lines.csv"
    lines.write_csv(lines_csv)
    lines = read_lines_csv(lines_csv)
    # the warehouse production builds: the file's lines ingested (the raw contract rows resolve_lines
    # gives), then the context and features of the window
    (tmp_path / "real").mkdir()
    real = _copy(settings, tmp_path / "real")
    ingested = _ingest_lines(real.warehouse_path, lines, start, end)
    _context_and_features(real, first, last)
    # the warehouse a sealed window's backtest reads: the same, built without the window's lines
    nolines = Settings(data_dir=tmp_path / "nolines")
    nolines.data_dir.mkdir()
    shutil.copy(real.warehouse_path, nolines.warehouse_path)
    with duckdb.connect(str(nolines.warehouse_path)) as con:
        con.execute("delete from raw.player_props where game_date between ? and ?", [first, last])
    _context_and_features(nolines, first, last)

    key = ["game_date", "player_id"]
    produced = _window_frame(real.warehouse_path, "context", first, last)
    lines_free = _window_frame(nolines.warehouse_path, "context", first, last)
    placed = produced.join(lines_free, on=key, how="anti")  # expected only because a line placed them
    assert placed.height >= 1 and placed["expected_source"].eq("line").all()
    day = date.fromisoformat(D)
    stale = lines_free.filter((pl.col("game_date") == day) & (pl.col("player_id") == mover))
    assert stale.height == 1 and produced.join(stale, on=key, how="semi").is_empty()
    assert ingested.filter((pl.col("game_date") == day) & (pl.col("player_id") == mover)).height > 0

    got = backtest.read_inputs(nolines.warehouse_path, start, end, lines)
    want = backtest.read_inputs(real.warehouse_path, start, end)
    rows = ["game_date", "game_id", "player_id", "team_abbr"]
    assert got.features.sort(rows).equals(want.features.sort(rows))
    # each player a line placed has his expected row, with the line's features; the mover has none on D
    expected = got.features.filter(pl.col("is_expected"))
    assert placed.join(expected, on=key).filter(pl.col("books_count") > 0).height == placed.height
    assert expected.join(stale, on=key, how="semi").is_empty()


def test_a_backtest_with_a_lines_file_gives_the_window_the_files_line_features(warehouse, tmp_path) -> None:
    """``backtest --lines`` on a window the warehouse holds no lines for: the feature rows the models
    train on get the line features the file's lines give, equal to those of a warehouse that ingested
    the same lines (as production does day by day); dates before the window keep the warehouse's."""
    import polars as pl

    from nba_assets.lib import backtest
    from nba_assets.lib.features.catalog import LINE_FEATURES
    from nba_assets.lib.features.store import feature_rows
    from nba_assets.lib.sources.lines_csv import read_lines_csv

    settings, _ = warehouse
    copy = _copy(settings, tmp_path)
    db, day = copy.warehouse_path, date.fromisoformat(D)
    lines_csv = tmp_path / "lines.csv"
    _dev_lines(D, D).write_csv(lines_csv)
    # the warehouse ingests the file's lines as the backtest resolves them (resolve_lines: players seen in
    # the warehouse's box scores). The archive's resolver reads every season, this warehouse 16 days: it
    # gives Darius Garland (back from an injury) his last team, CLE, which places him by his line; the
    # backtest's resolver knows no team of his, and neither the context run nor the backtest places him
    _ingest_lines(db, read_lines_csv(lines_csv), day, day)
    _build_context(copy, D)
    with duckdb.connect(str(db)) as con:

        def q(sql: str) -> pl.DataFrame:
            return con.sql(sql).pl()

        expected = q("select * from context.player_game_context")
        args = (
            q("select * from context.player_game_summary"),
            q("select * from context.team_game_summary"),
            q("select * from raw.injury_report"),
        )
        with_lines = feature_rows([day], expected, *args)
        # the context of a warehouse without lines for D: no consensus, no opening line, 0 books
        no_lines = feature_rows(
            [day],
            expected.with_columns(
                pl.lit(None, pl.Float64).alias("consensus_line"),
                pl.lit(None, pl.Float64).alias("opening_line"),
                pl.lit(0, pl.Int64).alias("books_count"),
            ),
            *args,
        )
        assert not no_lines.select(*LINE_FEATURES).equals(with_lines.select(*LINE_FEATURES))
        con.execute("create schema features")
        con.register("no_lines", no_lines)
        con.execute("create table features.player_features as select * from no_lines")
    inputs = backtest.read_inputs(db, day, day, read_lines_csv(lines_csv))
    cols = ["game_date", "game_id", "player_id", "is_expected", *LINE_FEATURES, "sources", "quality"]
    key = ["game_date", "game_id", "player_id", "team_abbr"]
    got, want = inputs.features.sort(key), with_lines.sort(key)
    assert got.select(cols).equals(want.select(cols))
    lined = want.filter(pl.col("is_expected") & (pl.col("consensus_line") > 0))
    # 150: the 151 the archive's resolution gave, but Darius Garland (see above)
    assert lined.height >= 150 and lined["sources"].struct.field("consensus_line").eq("line").all()
    # the rest of each row is the warehouse's; a window after D leaves D's rows alone
    assert got.drop(LINE_FEATURES, "sources").equals(no_lines.sort(key).drop(LINE_FEATURES, "sources"))
    later = backtest.read_inputs(
        db, day + timedelta(days=1), day + timedelta(days=1), read_lines_csv(lines_csv)
    )
    assert later.features.sort(key).equals(no_lines.sort(key))
    # the same with lines of its own (the file's D+1): the window D+1 is rebuilt, D's rows stay as they
    # are (above, a window without a resolved line rebuilds nothing, so that held whatever was kept)
    after = (day + timedelta(days=1)).isoformat()
    after_csv = tmp_path / "after.csv"
    _dev_lines(after, after).write_csv(after_csv)
    later = backtest.read_inputs(
        db, day + timedelta(days=1), day + timedelta(days=1), read_lines_csv(after_csv)
    )
    assert later.props.height > 0
    rebuilt = later.features.filter(pl.col("game_date") == day + timedelta(days=1))
    assert rebuilt.filter(pl.col("is_expected") & (pl.col("books_count") > 0)).height > 0
    assert later.features.filter(pl.col("game_date") == day).sort(key).equals(no_lines.sort(key))
