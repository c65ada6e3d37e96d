"""``nba-assets``: ``parse`` runs the pipeline's own parsers on saved payloads; ``main`` and ``backtest``
refuse bad arguments before running anything. One clear line on failure."""

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from nba_assets.lib.cli import UsageError, main


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


def test_boxscore_v3_without_a_date_names_the_flag(fixtures_dir: Path, capsys) -> None:
    # it said "pass game_date=" (the parser's keyword), not the command's --game-date, and exited 1
    payload = fixtures_dir / "stats_boxscoretraditionalv3_0022500165.json"
    assert main(["parse", "boxscore-v3", str(payload)]) == 2
    err = capsys.readouterr().err
    assert "--game-date" in err and "game_date=" not in err
    # a malformed --game-date is an argument error too: status 2, as the CHANGELOG says (it was 1, the
    # status of a payload that fails its contract)
    assert main(["parse", "boxscore-v3", str(payload), "--game-date", "11/04/2025"]) == 2
    assert "--game-date '11/04/2025' is not a YYYY-MM-DD date" in capsys.readouterr().err


def test_parse_into_a_closed_pipe_ends_without_a_traceback(fixtures_dir: Path) -> None:
    # `nba-assets parse ... | head -2`: the reader closes the pipe after two lines
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nba_assets.lib.cli",
            "parse",
            "schedule-v2",
            str(fixtures_dir / "cdn_scheduleLeagueV2_2023-24.json"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert proc.stdout is not None and json.loads(proc.stdout.readline())["game_id"]
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0
    assert b"Traceback" not in err and b"BrokenPipeError" not in err


def test_unknown_kind_lists_the_kinds(capsys) -> None:
    assert main(["parse", "nope", "x"]) == 2
    assert "boxscore-v3" in capsys.readouterr().err


# ---------------------------------------------------------------- main / backtest arguments
# Each of these is refused before anything is run: the jobs and readers are replaced by functions that
# fail the test if they are reached.


def _refused(argv: list[str]) -> str:
    """The one-line message ``main(argv)`` refuses an argument with (printed to stderr, status 2)."""
    with pytest.raises(UsageError) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "\n" not in exc.value.message
    return exc.value.message


def _failed(argv: list[str]) -> str:
    """The one-line message ``main(argv)`` stops with on an input or setting it cannot use (the
    environment, the warehouse, a --lines file): SystemExit printed to stderr, status 1."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert not isinstance(exc.value, UsageError)
    assert isinstance(exc.value.code, str), exc.value.code
    assert "\n" not in exc.value.code
    return exc.value.code


@pytest.fixture
def no_runs(monkeypatch, tmp_path: Path) -> None:
    import nba_assets.runner

    def reached(*_a, **_k):
        raise AssertionError("ran although the arguments are refused")

    monkeypatch.setattr(nba_assets.runner, "run_main", reached)
    monkeypatch.setattr(nba_assets.runner, "ensure_history", reached)
    monkeypatch.setenv("NBA_ASSETS_ENV", "local")
    monkeypatch.setenv("NBA_ASSETS_DATA_DIR", str(tmp_path / "data"))


BT = ["backtest", "--out", "bt.csv"]


def _prod_env(monkeypatch, **overrides: str | None) -> None:
    """A prod environment with every variable ``main`` checks set (the API key to a secret the messages
    must never show); ``overrides`` replace one (None: unset)."""
    env = {
        "NBA_ASSETS_ENV": "prod",
        "NBA_ASSETS_GCP_PROJECT": "p",
        "NBA_ASSETS_GCS_BUCKET": "b",
        "ODDS_API_KEY": "secret-key-value",
        "BETTINGPROS_API_KEY": "",  # may be empty
        **overrides,
    }
    for var, value in env.items():
        if value is None:
            monkeypatch.delenv(var, raising=False)
        else:
            monkeypatch.setenv(var, value)


def test_main_refuses_a_reversed_range(no_runs) -> None:
    msg = _refused(["main", "--start", "2025-11-20", "--end", "2025-10-21"])
    assert msg == "nba-assets main: --end 2025-10-21 is before --start 2025-11-20"


def test_main_refuses_a_start_the_history_cannot_train_for(no_runs) -> None:
    """History always starts 2022-10-18: --start 2021-01-01 ran the instance and then failed with a
    partition range "2022-10-18...2021-02-01 ... give the earlier date first", though it was given first."""
    msg = _refused(["main", "--start", "2021-01-01", "--end", "2021-02-01"])
    assert msg == (
        "nba-assets main: --start 2021-01-01 is not after 2022-10-18, the first date of the history: "
        "the model trains on the games before --start"
    )


def test_main_locally_refuses_an_end_past_the_embedded_archive(no_runs) -> None:
    """Locally every date after the archive's last game would be ingested, built and predicted empty."""
    msg = _refused(["main", "--start", "2025-11-01", "--end", "2027-01-01"])
    assert msg.startswith("nba-assets main: --end 2027-01-01 is after 2026-02-09, the last game date")


def test_main_in_prod_refuses_an_empty_required_variable(no_runs, monkeypatch) -> None:
    _prod_env(monkeypatch, NBA_ASSETS_GCS_BUCKET="")
    msg = _failed(["main"])
    assert "NBA_ASSETS_GCS_BUCKET is set but empty" in msg
    assert "ODDS_API_KEY is" not in msg and "NBA_ASSETS_GCP_PROJECT" not in msg
    assert "secret-key-value" not in msg


def test_main_in_prod_refuses_slack_alerts_without_the_bot_token_naming_it(no_runs, monkeypatch) -> None:
    # the channel sent alerts to Slack; the unset token failed the sensors later, not main
    _prod_env(monkeypatch, NBA_ASSETS_SLACK_CHANNEL="#props-alerts", SLACK_BOT_TOKEN=None)
    msg = _failed(["main"])
    assert msg.startswith("nba-assets main: SLACK_BOT_TOKEN is not set")
    assert "secret-key-value" not in msg
    monkeypatch.setenv("SLACK_BOT_TOKEN", " ")
    assert _failed(["main"]).startswith("nba-assets main: SLACK_BOT_TOKEN is set but empty")


@pytest.mark.parametrize("command", [["main"], ["report", "--date", "2025-11-05"]])
def test_a_data_dir_that_is_a_file_is_named(no_runs, monkeypatch, tmp_path: Path, command) -> None:
    # main ended in a NotADirectoryError traceback on '<file>/dagster_home'; report said "no warehouse"
    afile = tmp_path / "afile"
    afile.write_text("")
    monkeypatch.setenv("NBA_ASSETS_DATA_DIR", str(afile))
    msg = _failed(command)
    assert msg == f"nba-assets {command[0]}: NBA_ASSETS_DATA_DIR {str(afile)!r} is not a directory"


def test_main_in_prod_refuses_bettingpros_key_unset_before_any_run(no_runs, monkeypatch) -> None:
    # it passed the check, then the first run failed on Dagster's config error (a 73-line traceback)
    _prod_env(monkeypatch, BETTINGPROS_API_KEY=None)
    msg = _failed(["main"])
    assert msg.startswith("nba-assets main: BETTINGPROS_API_KEY is not set")
    assert "may be empty" in msg and "secret-key-value" not in msg


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--start", "2025-13-01", "--end", "2025-11-20"], "--start '2025-13-01' is not a YYYY-MM-DD date"),
        (["--start", "2025-11-01", "--end", "2025-10-21"], "--end 2025-10-21 is before --start 2025-11-01"),
        (
            ["--start", "2025-11-01", "--end", "2025-11-10", "--retrain-days", "0"],
            "--retrain-days 0 is not in 1..7",
        ),
        (["--start", "2025-11-01", "--end", "2025-11-10", "--retrain-days", "8"], "--retrain-days 8"),
        (["--start", "2025-11-01", "--end", "2025-11-10", "--seed", "-1"], "--seed -1 is negative"),
        # outside the archive's lines window (2025-10-21 .. 2025-11-20), without --lines
        (
            ["--start", "2025-12-01", "--end", "2025-12-10"],
            "no lines between --start 2025-12-01 and --end 2025-12-10: the archive's lines cover "
            "2025-10-21 .. 2025-11-20",
        ),
        # later than anything the local warehouse can hold
        (["--start", "2025-11-01", "--end", "2027-01-01"], "--end 2027-01-01 is after "),
    ],
)
def test_backtest_refuses_bad_arguments_up_front(no_runs, argv: list[str], expected: str) -> None:
    msg = _refused([*BT, *argv])
    assert msg.startswith("nba-assets") and expected in msg, msg


def test_backtest_refuses_a_lines_file_without_lines_in_the_window(no_runs, tmp_path: Path) -> None:
    path = tmp_path / "lines.csv"
    path.write_text(
        "game_date,game_time_utc,snapshot_utc,event_id,home_abbr,away_abbr,player_name,bookmaker,"
        "line,over_odds,under_odds,is_main_line\n"
        "2025-11-05,2025-11-06T00:00:00Z,2025-11-05T18:00:00Z,e1,MIL,TOR,A Player,fanduel,20.5,-110,-110,1\n"
    )
    msg = _refused([*BT, "--start", "2025-11-10", "--end", "2025-11-12", "--lines", str(path)])
    assert f"--lines {path} has no lines between --start 2025-11-10 and --end 2025-11-12" in msg
    assert "2025-11-05 .. 2025-11-05" in msg


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--out", "{dir}"], "--out {dir} is a directory"),  # a typo'd --out backtest/
        (["--out", "{file}/bt.csv"], "--out {file}/bt.csv: {file} is a file, not a folder"),
        (["--out", "bt.csv", "--report-dir", "{file}"], "--report-dir {file} is a file, not a folder"),
        (["--out", "bt.csv", "--report-dir", "{file}/plots"], "--report-dir {file}/plots: {file} is a file"),
    ],
)
def test_backtest_refuses_an_output_it_could_not_write_before_running(
    no_runs, tmp_path: Path, flags: list[str], expected: str
) -> None:
    """The CSV and the report are written after the whole walk-forward (minutes): an --out or
    --report-dir that cannot be written is refused with the other arguments, before anything runs."""
    (tmp_path / "a_dir").mkdir()
    (tmp_path / "a_file").write_text("x")
    names = {"dir": tmp_path / "a_dir", "file": tmp_path / "a_file"}
    argv = ["backtest", "--start", "2025-11-01", "--end", "2025-11-03", *(f.format(**names) for f in flags)]
    msg = _refused(argv)
    assert msg.startswith("nba-assets backtest: ") and expected.format(**names) in msg, msg


def test_backtest_refuses_prod(no_runs, monkeypatch) -> None:
    monkeypatch.setenv("NBA_ASSETS_ENV", "prod")
    msg = _failed([*BT, "--start", "2025-11-01", "--end", "2025-11-10"])
    assert msg.startswith("nba-assets backtest: reads the local DuckDB warehouse; in prod")


def test_report_says_in_its_help_what_it_says_in_prod(no_runs, monkeypatch, capsys) -> None:
    """`nba-assets report` reads the local DuckDB warehouse and refuses prod; its help said it read
    "the configured warehouse", which in prod (BigQuery) it never does."""
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps the help
    assert "HTML report from the local DuckDB warehouse" in text and "configured warehouse" not in text
    monkeypatch.setenv("NBA_ASSETS_ENV", "prod")
    msg = _failed(["report", "--date", "2025-11-20"])
    assert msg.startswith("nba-assets report: reads the local DuckDB warehouse; in prod")


def test_backtest_without_resolved_lines_ends_in_one_line(no_runs, monkeypatch) -> None:
    """The window has lines in the archive, but none reach the backtest (players not resolved)."""
    import polars as pl

    import nba_assets.runner
    from nba_assets.lib import backtest

    monkeypatch.setattr(nba_assets.runner, "ensure_history", lambda *_a, **_k: True)
    empty = pl.DataFrame()
    monkeypatch.setattr(
        backtest, "read_inputs", lambda *_a, **_k: backtest.BacktestInputs(empty, empty, empty, empty)
    )
    msg = _failed([*BT, "--start", "2025-11-01", "--end", "2025-11-03"])
    assert msg == (
        "nba-assets backtest: no lines with resolved players between --start 2025-11-01 and --end "
        "2025-11-03 in the warehouse (raw.player_props)"
    )


def _backtest_model_cfgs(monkeypatch, flags: list[str]) -> list:
    """The ModelConfig each ``nba-assets backtest`` run with ``flags`` hands to ``run_backtest`` (the
    history, the inputs and the run itself stubbed: what reaches the models, not what they do)."""
    import polars as pl

    import nba_assets.runner
    from nba_assets.lib import backtest

    monkeypatch.setattr(nba_assets.runner, "ensure_history", lambda *_a, **_k: True)
    one = pl.DataFrame({"game_date": [date(2025, 11, 1)]})
    monkeypatch.setattr(
        backtest, "read_inputs", lambda *_a, **_k: backtest.BacktestInputs(one, one, one, one)
    )
    seen = []

    def run_backtest(*_a, model_cfg, **_k):
        seen.append(model_cfg)
        raise SystemExit(0)

    monkeypatch.setattr(backtest, "run_backtest", run_backtest)
    with pytest.raises(SystemExit):
        main([*BT, "--start", "2025-11-01", "--end", "2025-11-03", *flags])
    return seen


@pytest.mark.parametrize(("flags", "seed"), [([], 17), (["--seed", "18"], 18)])
def test_backtest_trains_with_the_seed_asked_for(
    no_runs, monkeypatch, tmp_path: Path, flags: list[str], seed: int
) -> None:
    """--seed reaches every weekly model (the README's seed-to-seed figures); the default is the shipped
    model's. What the seed does to training: test_backtest."""
    seen = [cfg.seed for cfg in _backtest_model_cfgs(monkeypatch, flags)]
    assert seen == [seed]


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            [*BT, "--start", "2025-11-01", "--end", "2025-11-10", "--retrain-days", "0"],
            "nba-assets backtest: --retrain-days 0 is not in 1..7 (models retrain at least weekly)",
        ),
        # the check read the history's first date from the runner, which loads the definitions: ~36
        # lines of Dagster's beta and supersession notices came before the one-line refusal
        (
            ["main", "--start", "2022-10-01", "--end", "2022-11-01"],
            "nba-assets main: --start 2022-10-01 is not after 2022-10-18, the first date of the history: "
            "the model trains on the games before --start",
        ),
    ],
)
def test_a_bad_argument_is_one_line_on_stderr_without_traceback(
    tmp_path: Path, argv: list[str], line: str
) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "nba_assets.lib.cli", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, "NBA_ASSETS_ENV": "local", "NBA_ASSETS_DATA_DIR": str(tmp_path)},
    )
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [line]
    assert not (tmp_path / "dagster_home").exists()


def test_a_command_loading_the_definitions_prints_no_dagster_api_notices() -> None:
    """What ``nba-assets main`` printed before its first run: Dagster's notices about the definitions'
    beta, preview and superseded APIs (the same load without the filter shows them, so the test can fail)."""
    load = "import nba_assets.runner"
    quiet = "from nba_assets.lib.cli import quiet_dagster_api_notices; quiet_dagster_api_notices(); " + load
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"} | {"NBA_ASSETS_ENV": "local"}
    noisy, quieted = (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        for code in (load, quiet)
    )
    assert "BetaWarning" in noisy.stderr and "SupersessionWarning" in noisy.stderr
    assert "Warning" not in quieted.stderr, quieted.stderr[:2000]


@pytest.mark.parametrize(("arg", "status"), [("--help", 0), ("bogus", 2)])
def test_dev_sh_checks_its_command_before_making_the_venv(tmp_path: Path, arg: str, status: int) -> None:
    # `scripts/dev.sh --help` created ./.venv and installed the project (minutes) before saying "usage"
    repo = Path(__file__).resolve().parents[1]
    venv = tmp_path / "venv"
    env = {**os.environ, "NBA_ASSETS_VENV": str(venv), "PYTHON": str(tmp_path / "no-python")}
    out = subprocess.run(
        ["bash", str(repo / "scripts" / "dev.sh"), arg], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == status, out.stderr
    assert "usage: scripts/dev.sh [run|test|slow]" in out.stderr
    assert not venv.exists()


@pytest.mark.parametrize(
    ("args", "calls"),
    [
        (["run", "--start", "2025-11-01"], ["nba-assets main --start 2025-11-01"]),
        (
            ["test", "-k", "dbt"],
            [
                "ruff check nba_assets nba_assets_tests scripts bench",
                "ruff format --check nba_assets nba_assets_tests scripts bench",
                "mypy",
                "python -m pytest -n auto --dist loadfile -k dbt",
            ],
        ),
    ],
)
def test_dev_sh_runs_the_tools_of_a_venv_given_by_absolute_path(
    tmp_path: Path, args: list[str], calls: list[str]
) -> None:
    # The README's `NBA_ASSETS_VENV=DIR` with an absolute DIR made the venv and installed into it, then put
    # "$PWD/$VENV/bin" (<repo>//abs/dir/bin) on PATH: `run` ended in "nba-assets: not found" (127), `test`
    # in "ruff: not found". A fake venv whose tools log their names and arguments shows which ones ran.
    repo = Path(__file__).resolve().parents[1]
    venv = tmp_path / "somewhere" / "venv"
    (venv / "bin").mkdir(parents=True)
    log = tmp_path / "calls.log"
    for tool in ("python", "nba-assets", "ruff", "mypy"):
        script = venv / "bin" / tool
        script.write_text(f'#!/bin/sh\necho "$(basename "$0")" "$@" >> "{log}"\n')
        script.chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", "NBA_ASSETS_VENV": str(venv)}
    out = subprocess.run(
        ["bash", str(repo / "scripts" / "dev.sh"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    lines = log.read_text().splitlines()
    # the install (pip) and the dbt manifest went through the venv's python, then the command's tools
    assert lines[0].startswith("python -m pip install")
    assert "python -m nba_assets.lib.dbt_project" in lines
    assert lines[lines.index("python -m nba_assets.lib.dbt_project") + 1 :] == calls
    assert (venv / ".nba_assets-installed").exists()


def test_main_job_runs_are_tagged_with_their_trigger_and_cutoff() -> None:
    # In the UI's run list the schedules' and sensors' runs carry nba_assets/trigger (and the retrain its
    # cutoff); the main job's runs carried only their range, so nothing said where they came from.
    import dagster as dg

    from nba_assets.runner import _run

    @dg.asset(partitions_def=dg.DailyPartitionsDefinition(start_date="2025-11-01"))
    def day(context: dg.AssetExecutionContext) -> None:
        context.log.info(f"{len(context.partition_keys)} dates")

    @dg.asset
    def points_model(context: dg.AssetExecutionContext, config: dg.PermissiveConfig) -> None:
        context.log.info(str(config))

    defs = dg.Definitions(
        assets=[day, points_model],
        jobs=[
            dg.define_asset_job("range_job", selection=[day]),
            dg.define_asset_job("train_job", selection=[points_model]),
        ],
    )
    cfg = {"ops": {"points_model": {"config": {"cutoff": "2025-11-04"}}}}
    with dg.instance_for_test() as instance:
        assert _run(defs, instance, "range_job", date(2025, 11, 2), date(2025, 11, 3))
        assert _run(defs, instance, "train_job", None, None, cfg, trigger="nba-assets backtest")
        runs = {r.job_name: r.tags for r in instance.get_runs()}
    assert runs["range_job"] == {
        "dagster/asset_partition_range_start": "2025-11-02",
        "dagster/asset_partition_range_end": "2025-11-03",
        "nba_assets/trigger": "nba-assets main",
    }
    assert runs["train_job"] == {"nba_assets/trigger": "nba-assets backtest"}


def test_run_tags_name_the_retrain_cutoff() -> None:
    from nba_assets.runner import run_tags

    cfg = {"ops": {"models__points_model": {"config": {"cutoff": "2025-10-21"}}}}
    assert run_tags("nba-assets main", None, None, cfg) == {
        "nba_assets/trigger": "nba-assets main",
        "nba_assets/cutoff": "2025-10-21",
    }


def test_an_instance_file_an_earlier_version_wrote_is_brought_up_to_date(tmp_path, monkeypatch) -> None:
    # `nba-assets main` wrote dagster.yaml once and never again: an instance made before a fix to its
    # settings (freeing a dead run's pool slot) kept the old ones. A file of the user's own is kept.
    from nba_assets.lib.env import Settings
    from nba_assets.runner import INSTANCE_FILE, INSTANCE_YAML, ensure_dagster_home

    home = tmp_path / "dagster_home"
    home.mkdir()
    old = INSTANCE_YAML.split("run_monitoring:")[0]
    (home / "dagster.yaml").write_text(old)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert ensure_dagster_home(Settings(data_dir=tmp_path)) == home
    assert (home / "dagster.yaml").read_text() == INSTANCE_FILE
    assert (home / "dagster.yaml.bak").read_text() == old
    own = "# my instance\ntelemetry:\n  enabled: false\n"
    (home / "dagster.yaml").write_text(own)
    ensure_dagster_home(Settings(data_dir=tmp_path))
    assert (home / "dagster.yaml").read_text() == own


def test_main_help_says_where_the_history_starts_and_what_start_is() -> None:
    # `--start` is the first date predicted and the model's cutoff, not the first date ingested: the
    # help names the history's real first date (the runner's), so a user does not read the default
    # as "nothing before 2025-10-21 is used"
    from nba_assets.lib.cli import build_parser
    from nba_assets.runner import HISTORY_START

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    main_parser = sub.choices["main"]  # type: ignore[attr-defined]
    start_help = next(a.help for a in main_parser._actions if a.dest == "start") or ""
    assert HISTORY_START.isoformat() in start_help
    assert "cutoff" in start_help


@pytest.mark.parametrize(("flags", "method"), [([], "isotonic"), (["--calibration", "platt"], "platt")])
def test_backtest_calibrates_real_lines_with_the_map_asked_for(
    no_runs, monkeypatch, tmp_path: Path, flags: list[str], method: str
) -> None:
    """--calibration reaches every weekly model's config (with the default seed); the default is the
    shipped isotonic map. What the map does to training: test_calibration_metrics."""
    seen = [(cfg.real_line_calibration, cfg.seed) for cfg in _backtest_model_cfgs(monkeypatch, flags)]
    assert seen == [(method, 17)]


@pytest.mark.parametrize(("flags", "target"), [([], "sqrt"), (["--target", "points"], "points")])
def test_backtest_trains_the_target_asked_for(no_runs, monkeypatch, flags: list[str], target: str) -> None:
    """--target reaches every weekly model's config; the default is the shipped sqrt(points). What the
    target does to training: test_lib_modeling."""
    assert [cfg.target for cfg in _backtest_model_cfgs(monkeypatch, flags)] == [target]


def test_backtest_refuses_an_unknown_calibration_before_anything_runs(no_runs, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main([*BT, "--start", "2025-11-01", "--end", "2025-11-03", "--calibration", "foo"])
    assert exc.value.code == 2  # argparse's usage error, before the command (no_runs: nothing ran)
    err = capsys.readouterr().err
    assert "--calibration: invalid choice: 'foo'" in err and "'isotonic', 'platt'" in err


def test_a_copied_data_dir_keeps_its_events_in_its_own_home(tmp_path, monkeypatch) -> None:
    """The instance file names no path: the event log's directory is $DAGSTER_HOME's. A data dir copied
    (or moved) elsewhere wrote its runs' events into the original's history (an absolute ``base_dir``
    written into dagster.yaml), so the copy's UI showed runs without events and the original gained
    events of runs it did not have. A relative DAGSTER_HOME is made absolute (Dagster refuses one)."""
    import shutil

    from nba_assets.lib.env import Settings
    from nba_assets.runner import ensure_dagster_home

    @dg.asset
    def probe() -> int:
        return 1

    def run_in(home: Path) -> str:
        monkeypatch.setenv("DAGSTER_HOME", str(home))
        with dg.DagsterInstance.get() as instance:
            return dg.materialize([probe], instance=instance).run_id

    first = tmp_path / "first" / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(first))
    ensure_dagster_home(Settings(data_dir=tmp_path / "first"))
    run_in(first)
    copy = tmp_path / "copy" / "dagster_home"
    shutil.copytree(first, copy)
    before = sorted(p.name for p in (first / "history" / "runs").iterdir())
    run_id = run_in(copy)
    assert (copy / "history" / "runs" / f"{run_id}.db").exists()
    assert sorted(p.name for p in (first / "history" / "runs").iterdir()) == before
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", "relative_home")
    assert ensure_dagster_home(Settings(data_dir=tmp_path)) == tmp_path / "relative_home"
    assert os.environ["DAGSTER_HOME"] == str(tmp_path / "relative_home")


def test_report_and_backtest_refuse_paths_they_cannot_use_in_one_line(no_runs, tmp_path: Path) -> None:
    """``report --out`` naming a file (or a path under one) and ``backtest --lines`` naming a directory
    ended in a traceback (FileExistsError, polars' InvalidOperationError); each is one line naming the flag
    and the path, before anything is read."""
    (tmp_path / "a_file").write_text("x")
    msg = _refused(["report", "--date", "2025-11-05", "--out", str(tmp_path / "a_file")])
    assert msg == f"nba-assets report: --out {tmp_path / 'a_file'} is a file, not a folder"
    msg = _refused(["report", "--date", "2025-11-05", "--out", str(tmp_path / "a_file" / "sub")])
    assert msg.startswith(f"nba-assets report: --out {tmp_path / 'a_file' / 'sub'}: ") and "is a file" in msg
    argv = ["backtest", "--start", "2025-11-01", "--end", "2025-11-03", "--lines", str(tmp_path)]
    msg = _failed([*argv, "--out", str(tmp_path / "bt.csv")])
    assert msg.startswith("nba-assets backtest: lines_csv:") and "is not a file (a directory?)" in msg


def test_the_main_summary_of_a_range_without_predictions_says_so(tmp_path: Path) -> None:
    """A `main` range with no lines printed "Picks for None"; it says no predictions were made."""
    import duckdb

    from nba_assets.lib import grading, schemas
    from nba_assets.lib.modeling.decisions import empty_predictions
    from nba_assets.runner import summarize_picks

    preds = empty_predictions()
    grades = grading.grade(preds, schemas.empty(schemas.BOX_SCORE_SCHEMA))
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        for schema, table, frame in (
            ("predictions", "player_points_predictions", preds),
            ("grading", "prediction_grades", grades),
        ):
            con.execute(f"CREATE SCHEMA {schema}")
            con.register("frame", frame.to_arrow())
            con.execute(f"CREATE TABLE {schema}.{table} AS SELECT * FROM frame")
            con.unregister("frame")
    text = summarize_picks(db, date(2024, 1, 2), date(2024, 1, 5))
    assert "Picks for None" not in text
    assert "Picks: no predictions between 2024-01-02 and 2024-01-05 (no lines on those dates)" in text
