"""What the README and bench/README tell a reader to use exists, with that name and value.

A new engineer follows the README literally: its asset-graph diagram, the jobs, schedules, sensors and
checks it names, the automation table's times, the decision thresholds and the ``nba-assets`` command
lines it shows are read here against the code, so a rename or a changed setting fails a test instead of
leaving the README wrong.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
from pathlib import Path

import dagster as dg
import pytest

from nba_assets.defs.automation.freshness import DEADLINE_CRON
from nba_assets.defs.build import build_definitions
from nba_assets.lib.cli import build_parser
from nba_assets.lib.env import Settings
from nba_assets.lib.modeling.config import DECISIONS, MODEL
from nba_assets_tests.conftest import script_module

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
BENCH_README = (REPO / "bench" / "README.md").read_text()
LAYERS = ("raw", "staging", "context", "features", "models", "predictions", "grading", "reports")


@pytest.fixture(scope="module")
def defs(tmp_path_factory: pytest.TempPathFactory) -> dg.Definitions:
    return build_definitions(Settings(data_dir=tmp_path_factory.mktemp("docs")))


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    nxt = re.search(r"^#{1,3} ", text[start + len(heading) :], flags=re.M)
    return text[start : start + len(heading) + nxt.start()] if nxt else text[start:]


def _table_rows(section: str) -> list[list[str]]:
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in section.splitlines()]
    return [r for r in rows if len(r) > 1 and not set(r[0]) <= set("-: ")][1:]  # without the header


def mermaid_edges(text: str) -> set[tuple[str, str]]:
    """The README diagram's edges as asset keys (a bare label takes its subgraph's layer)."""
    block = re.search(r"```mermaid\n(.*?)```", text, flags=re.S)
    assert block, "the README has no asset-graph diagram"
    labels: dict[str, str] = {}
    layer = ""
    for line in block.group(1).splitlines():
        if m := re.match(r"\s*subgraph (\w+)", line):
            layer = m.group(1)
        elif line.strip() == "end":
            layer = ""
        for node, label in re.findall(r"(\w+)\[([\w/]+)\]", line):
            labels[node] = label if "/" in label else f"{layer}/{label}"
    edges = set()
    for statement in re.split(r"[;\n]", block.group(1)):
        chain = re.split(r'\s*--(?:\s*"[^"]*"\s*--)?>\s*', statement.strip())
        nodes = [re.sub(r"\[.*?\]", "", n).strip() for n in chain]
        edges |= {(labels[a], labels[b]) for a, b in zip(nodes, nodes[1:], strict=False)}
    return edges


def test_mermaid_edges_reads_labels_layers_and_labelled_edges() -> None:
    text = '```mermaid\nflowchart LR\n  subgraph context\n    C[t]\n  end\n  R[raw/a] --> C; C -- "x" --> F[f/b]\n```'
    assert mermaid_edges(text) == {("raw/a", "context/t"), ("context/t", "f/b")}


def test_the_readme_asset_graph_diagram_draws_every_dependency(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    want = {
        (parent.to_user_string(), key.to_user_string())
        for key in graph.get_all_asset_keys()
        for parent in graph.get(key).parent_keys
        # the diagram draws the context tables' reads of raw through the staging views
        if not (key.path[0] == "context" and parent.path[0] == "raw")
    }
    drawn = mermaid_edges(README)
    assert drawn == want, {"missing": sorted(want - drawn), "not in the graph": sorted(drawn - want)}


def test_the_readme_asset_table_lists_every_asset(defs: dg.Definitions) -> None:
    """Each row names its layer's assets (with or without the layer prefix), every asset once."""
    listed = []
    for row in _table_rows(_section(README, "## The asset graph")):
        layer = row[0]
        listed += [n if "/" in n else f"{layer}/{n}" for n in re.findall(r"`([\w/]+)`", row[1])]
    assets = sorted(k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys())
    assert sorted(listed) == assets


def test_every_job_schedule_sensor_check_and_asset_the_docs_name_exists(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    names = {j.name for j in defs.resolve_all_job_defs()}
    names |= {s.name for s in defs.schedules or []} | {s.name for s in defs.sensors or []}
    checks = {c.name for c in graph.asset_check_keys}
    assets = {k.to_user_string() for k in graph.get_all_asset_keys()}
    missing = []
    for doc, text in (("README.md", README), ("bench/README.md", BENCH_README)):
        for token in re.findall(r"`([^`\s]+)`", text):
            is_table = token in {a.rsplit("/", 1)[-1] for a in assets}  # stg_schedule is a view
            if re.fullmatch(r"\w+_(job|schedule|sensor)", token) and token not in names and not is_table:
                missing.append(f"{doc}: {token}")
            if re.fullmatch(rf"(?:{'|'.join(LAYERS)})/\w+", token) and token not in assets:
                missing.append(f"{doc}: asset {token}")
    table = _section(README, "### Checks")
    for row in _table_rows(table):
        for token in re.findall(r"^`(\w+)`", row[0]):
            if token not in checks:
                missing.append(f"README.md checks table: {token}")
    assert not missing


def _seconds(when: str) -> int | None:
    if when.startswith("every minute"):
        return 60
    m = re.match(r"every (\d+) min", when)
    return int(m.group(1)) * 60 if m else None


def _cron(when: str) -> str | None:
    m = re.fullmatch(r"(Monday )?(\d\d):(\d\d)", when)
    if not m:
        return None
    return f"{int(m.group(3))} {int(m.group(2))} * * {'1' if m.group(1) else '*'}"


def test_the_automation_table_gives_each_schedule_and_sensor_its_time(defs: dg.Definitions) -> None:
    schedules = {s.name: s for s in defs.schedules or []}
    sensors = {s.name: s for s in defs.sensors or []}
    rows = _table_rows(_section(README, "## How a day flows"))
    named = set()
    for when, what in rows:
        name = re.match(r"`(\w+)`", what).group(1)  # type: ignore[union-attr]
        named.add(name)
        if name in schedules:
            assert _cron(when) == schedules[name].cron_schedule, (when, name)
            assert schedules[name].execution_timezone == "America/New_York"
        elif name == "predictions_freshness_sensor":  # evaluates the check due at its deadline
            assert _cron(when) == DEADLINE_CRON, (when, name)
        elif _seconds(when) is not None:
            assert _seconds(when) == sensors[name].minimum_interval_seconds, (when, name)
    assert named == set(schedules) | set(sensors), "the table lists each schedule and sensor once"
    assert len(rows) == len(named), "a schedule or sensor has two rows"


def _number(text: str, pattern: str) -> float:
    m = re.search(pattern, re.sub(r"\s+", " ", text))
    assert m, pattern
    return float(m.group(1).replace(",", ""))


def test_the_readme_thresholds_and_model_settings_are_the_configs() -> None:
    text = _section(README, "## Models and decisions")
    tiers = dict(DECISIONS.tiers)
    assert _number(text, r"\|edge\| >= ([\d.]+) points") == DECISIONS.edge_min
    assert _number(text, r"P\(side\) >= ([\d.]+);") == DECISIONS.p_side_min
    assert _number(text, r"high >= ([\d.]+)") == tiers["high"]
    assert _number(text, r"medium >= ([\d.]+)") == tiers["medium"]
    assert _number(text, r"below quality (\d+)") == DECISIONS.quality_min
    assert _number(text, r"depth (\d+)") == MODEL.depth
    assert _number(text, r"learning rate ([\d.]+), early") == MODEL.learning_rate
    assert _number(text, r"newest ~(\d+) days") == MODEL.validation_days
    assert _number(text, r"days / ([\d,]+) rows") == MODEL.validation_min_rows
    assert _number(text, r"prior ([\d.]+) until") == MODEL.blend_prior_weight
    assert _number(text, r"until ([\d,]+) lined rows exist") == MODEL.blend_min_rows
    assert _number(text, r"once it holds ([\d,]+) lined rows") == MODEL.calibration_min_lined_rows
    assert _number(text, r"each of (\d+) blocks") == MODEL.calibration_folds


# the README's bash blocks without their comments, and its inline `spans` outside them
BASH = re.sub(r"#.*", "", "\n".join(re.findall(r"```bash\n(.*?)```", README, flags=re.S)))
SPANS = re.findall(r"`([^`]+)`", re.sub(r"```.*?```", "", README, flags=re.S))
FLAG = r"(?<![\w-])(--[a-z][\w-]*)"


def test_every_nba_assets_command_line_the_readme_shows_parses() -> None:
    spans = [s for s in SPANS if " --" in s]  # inline command lines
    lines = re.findall(
        r"nba-assets ((?:main|backtest|parse|report|kinds)\b[^\n#]*)", "\n".join([BASH, *spans])
    )
    assert any(line.startswith("backtest") for line in lines)
    parser = build_parser()
    for line in lines:
        parser.parse_args(shlex.split(line))  # exits (SystemExit) on an unknown flag or a missing argument


def _script_options(name: str) -> set[str]:
    """The options ``scripts/<name>.py`` takes, read from its ``--help`` (each script builds its parser
    in ``main(argv)``)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        script_module(name).main(["--help"])
    return set(re.findall(FLAG, out.getvalue()))


def test_every_flag_the_docs_give_a_script_is_one_it_takes() -> None:
    """`scripts/walk_forward_mae.py --retrain-days 3`, `python scripts/compare_seeds.py ... --start D`:
    most of the README's script commands are fragments with placeholders, so each one's flags (after
    the script's name, in the same inline span or bash line) are checked against the script's parser."""
    quoted: dict[str, set[str]] = {}
    for command in [*SPANS, *BASH.splitlines()]:
        for name, rest in re.findall(r"scripts/(\w+)\.py((?:(?!scripts/)[^\n])*)", command):
            quoted.setdefault(name, set()).update(re.findall(FLAG, rest))
    assert {"walk_forward_mae", "compare_seeds"} <= {n for n, flags in quoted.items() if flags}
    unknown = {
        f"scripts/{name}.py {flag}"
        for name, flags in quoted.items()
        if flags
        for flag in flags - _script_options(name)
    }
    assert not unknown, sorted(unknown)


def _generated_dirs() -> tuple[str, ...]:
    """The folders .gitignore keeps out of the repo (dbt's target/, bench/out/): made by runs, so a
    fresh clone has none of them."""
    lines = (REPO / ".gitignore").read_text().splitlines()
    return tuple(ln for ln in lines if ln.endswith("/") and "/" in ln[:-1] and "*" not in ln)


def test_every_repo_path_the_docs_name_exists() -> None:
    missing = []
    generated = _generated_dirs()
    assert "dbt_project/target/" in generated
    for doc, text in (("README.md", README), ("bench/README.md", BENCH_README)):
        for token in re.findall(r"`((?:nba_assets|scripts|bench|deploy|docs|dbt_project)/[\w./-]+)`", text):
            is_path = token.endswith("/") or "." in token.rsplit("/", 1)[-1]  # not a tag (nba_assets/cutoff)
            if token.startswith(generated):
                continue
            if is_path and not (REPO / token.rstrip("/")).exists():
                missing.append(f"{doc}: {token}")
        for token in re.findall(r"\]\(((?:nba_assets|scripts|bench|deploy|docs)/[\w./-]+)\)", text):
            if not (REPO / token).exists():
                missing.append(f"{doc}: {token}")
    assert not missing


def test_the_thresholds_and_limits_the_readme_quotes_are_the_codes() -> None:
    from nba_assets.defs.automation import policy
    from nba_assets.defs.raw.assets import PER_DATE_CHECK_LIMIT
    from nba_assets.defs.resources import PROBE_TICK_SECONDS, PROBE_UNIT_SECONDS, LiveSourceResource
    from nba_assets.lib import grading, raw
    from nba_assets.lib.env import (
        BIGQUERY_MAX_BYTES_BILLED_DEFAULT,
        ODDS_QUOTA_FLOOR_DEFAULT,
        ODDS_QUOTA_RESERVE_DEFAULT,
    )
    from nba_assets.lib.modeling.train import GATE_MIN_ROWS

    checks = _section(README, "### Checks")
    assert _number(checks, r"at most (\d+) games a date") == raw.MAX_GAMES_PER_DATE
    assert _number(checks, r"at least (\d+) players with minutes") == raw.MIN_PLAYERS_WITH_MINUTES
    assert _number(checks, r"WARN for (\d+) h after") * 3600 == raw.BOX_SCORE_GRACE.total_seconds()
    assert _number(checks, r"threshold ([\d.]+) %") / 100 == raw.MAX_UNRESOLVED_SHARE
    assert _number(checks, r"at least (\d+) % of the player-dates") / 100 == grading.MIN_GRADED_SHARE
    assert _number(checks, r"from (\d+) graded player-dates") == grading.MODEL_MIN_PLAYER_DATES
    assert _number(checks, r"when (\d+)\+ of them are newer") == GATE_MIN_ROWS
    day = _section(README, "## How a day flows")
    assert _number(day, r"for the last (\d+) dates") == policy.RECENT_DAYS
    assert _number(day, r"at most (\d+) times per date") == policy.MAX_CATCH_UP_ATTEMPTS
    assert _number(day, r"no delivery after (\d+) s") == policy.ALERTS_TICK_BUDGET.total_seconds()
    prod = _section(README, "### Running in production")
    fields = LiveSourceResource.model_fields
    for name in ("timeout_seconds", "stats_timeout_seconds", "request_deadline_seconds", "budget_seconds"):
        assert _number(prod, rf"`{name}` \([^)]*?(\d+)[:)]") == fields[name].default, name
    assert _number(prod, r"`step_retries`, (\d+)") == fields["step_retries"].default
    assert _number(prod, r"`step_retry_wait_seconds`, (\d+)") == fields["step_retry_wait_seconds"].default
    assert _number(prod, r"probe limits \((\d+) s per request") == PROBE_UNIT_SECONDS
    assert _number(prod, r"and (\d+) s for all requests of the tick") == PROBE_TICK_SECONDS
    assert _number(README, r"range of up to (\d+) dates") == PER_DATE_CHECK_LIMIT
    assert _number(prod, r"`NBA_ASSETS_ODDS_QUOTA_RESERVE` \(default (\d+)\)") == ODDS_QUOTA_RESERVE_DEFAULT
    assert (
        _number(prod, r"`NBA_ASSETS_ODDS_QUOTA_RESERVE` \(default (\d+) credits")
        == ODDS_QUOTA_RESERVE_DEFAULT
    )
    assert _number(prod, r"`NBA_ASSETS_ODDS_QUOTA_FLOOR` \(default (\d+)[;)]") == ODDS_QUOTA_FLOOR_DEFAULT
    assert (
        _number(prod, r"`NBA_ASSETS_BIGQUERY_MAX_BYTES_BILLED` \(default ([\d,]+)")
        == _number(prod, r"`NBA_ASSETS_BIGQUERY_MAX_BYTES_BILLED` \(default (\d+) GB") * 10**9
        == BIGQUERY_MAX_BYTES_BILLED_DEFAULT
    )


def test_the_readme_odds_api_credits_section_renders_as_its_own_paragraphs() -> None:
    """Markdown joins lines without a blank one between them: the credits section began on the line
    after the BettingPros paragraph (so it rendered inside it) and its closing advice on the line after
    the last bullet (so it rendered inside that bullet, about metadata)."""
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").render(README)
    assert "<p><strong>The Odds API credits.</strong>" in html
    assert "<p>On a plan of 500 credits a month the default reserve" in html


def test_the_readme_names_the_columns_a_backtest_lines_file_needs() -> None:
    """`--lines` took "a CSV with the columns of props_points_2025-26_dev_oddsapi.csv", a file the README
    did not locate, and left the reader to guess which of its 24 columns were read."""
    from nba_assets.lib.sources.lines_csv import GUARANTEED_COLUMNS

    backtest = _section(README, "### Backtest")
    named = re.search(r"only the\s+guaranteed columns are read \(([^:]*):", backtest)
    assert named, "the backtest section does not list the columns --lines reads"
    assert re.findall(r"`(\w+)`", named.group(1)) == list(GUARANTEED_COLUMNS)
    assert "`../shared/data/real/`" in backtest


def test_the_readme_retrain_config_is_the_one_the_retrain_schedule_sends() -> None:
    """The README showed no way to train a model for a chosen cutoff (TrainConfig.cutoff, default today)."""
    import yaml

    from nba_assets.defs.automation.schedules import RETRAIN_OP
    from nba_assets.defs.models.assets import TrainConfig

    m = re.search(r"retrain\.yaml:\s+(ops: \{.*\})\n", README)
    assert m, "the README shows no retrain config"
    config = yaml.safe_load(m.group(1))
    assert list(config["ops"]) == [RETRAIN_OP]
    fields = config["ops"][RETRAIN_OP]["config"]
    assert set(fields) <= set(TrainConfig.model_fields) and "cutoff" in fields
    assert "-j weekly_retrain_job -c retrain.yaml" in README


DOCS = {
    "README.md": README,
    "bench/README.md": BENCH_README,
    **{f"docs/{p.name}": p.read_text() for p in sorted((REPO / "docs").glob("*.md"))},
}
# Where the code, scripts and deployment read their settings (the tests are not: a variable only a test
# names is not one a reader can set).
CODE_FILES = [
    p
    for folder in ("nba_assets", "scripts", "bench", "deploy", "dbt_project/models", "dbt_project/macros")
    for p in (REPO / folder).rglob("*")
    if p.is_file() and p.suffix in {".py", ".sh", ".yaml", ".yml", ".sql", ""}
] + [REPO / "dbt_project" / "profiles.yml", REPO / ".ci" / "run"]
ENV_VAR = r"\b((?:NBA_ASSETS|NBA_BENCH|DAGSTER)_[A-Z0-9_]+|ODDS_API_KEY|BETTINGPROS_API_KEY|SLACK_BOT_TOKEN)"


def test_every_environment_variable_the_docs_name_is_one_the_code_reads() -> None:
    """A variable renamed in the code but not in the docs is set by the reader and read by nobody."""
    code = "\n".join(p.read_text(errors="replace") for p in CODE_FILES)
    missing = []
    for doc, text in DOCS.items():
        for var in sorted(set(re.findall(ENV_VAR, text))):
            # `NBA_ASSETS_DBT_*` names a family of variables: a prefix, not a name
            found = var in code if var.endswith("_") else re.search(rf"\b{var}\b", code)
            if not found:
                missing.append(f"{doc}: {var}")
    assert not missing


def test_env_var_pattern_reads_names_and_prefixes() -> None:
    text = "set `NBA_ASSETS_DATA_DIR`, NBA_ASSETS_DBT_* and SLACK_BOT_TOKEN; DAGSTER_HOME=x"
    assert re.findall(ENV_VAR, text) == [
        "NBA_ASSETS_DATA_DIR",
        "NBA_ASSETS_DBT_",
        "SLACK_BOT_TOKEN",
        "DAGSTER_HOME",
    ]


def test_the_readme_names_every_variable_a_deployment_sets() -> None:
    """DEPLOYMENT_VARS is what deploy/k8s/values.yaml maps: each must be explained in the README's
    environment sections (from "## Environments" to "## The embedded archive")."""
    from nba_assets.lib.env import DEPLOYMENT_VARS

    prod = README[README.index("## Environments") : README.index("## The embedded archive")]
    assert [v for v in DEPLOYMENT_VARS if not re.search(rf"`{v}[`=]", prod)] == []


def test_the_readme_names_only_resources_the_definitions_have(defs: dg.Definitions) -> None:
    named = set(re.findall(r"the `(\w+)` resource", README))
    assert named and named <= set(defs.resources)


def test_the_readme_warns_of_every_sensor_that_acts_when_previewed(defs: dg.Definitions) -> None:
    """`dagster sensor preview` runs a sensor's function without saving its cursor: a sensor that sends
    alerts (it takes the `alerts` resource) sends them again on the daemon's next tick, so the README
    must name it among the sensors not to preview. It named three and left out refresh_lines_sensor,
    whose `odds_quota_low` alert and paid Odds API probe a preview repeats."""
    start = README.index("`dagster sensor preview` runs the sensor's function for real")
    warning = README[start : README.index("Preview the other sensors only.", start)]
    named = set(re.findall(r"`(\w+_sensor)`", warning))
    acting = {s.name for s in defs.sensors or [] if "alerts" in s.required_resource_keys}
    assert "alerts_sensor" in acting
    assert sorted(acting - named) == []


def test_the_readme_checks_table_says_which_checks_block(defs: dg.Definitions) -> None:
    """The severity column says "blocking" exactly for the checks that stop downstream steps."""
    graph = defs.resolve_asset_graph()
    blocking = {k.name: graph.get_check_spec(k).blocking for k in graph.asset_check_keys}
    wrong = []
    for row in _table_rows(_section(README, "### Checks")):
        for name in re.findall(r"^`(\w+)`", row[0]):
            if ("blocking" in row[1]) != blocking[name]:
                wrong.append(f"{name}: README '{row[1]}', blocking={blocking[name]}")
    assert not wrong


def test_the_readme_partitioning_is_the_graphs(defs: dg.Definitions) -> None:
    """Every game-date asset is daily-partitioned (ET, reaching today) and backfills a range in one run;
    the staging views and the model are the unpartitioned ones."""
    graph = defs.resolve_asset_graph()
    unpartitioned = []
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.partitions_def is None:
            unpartitioned.append(key.to_user_string())
            continue
        assert isinstance(node.partitions_def, dg.DailyPartitionsDefinition), key
        assert node.partitions_def.timezone == "America/New_York", key
        assert node.partitions_def.end_offset == 1, key  # today's slate is a partition
        assert node.backfill_policy == dg.BackfillPolicy.single_run(), key
    assert (
        "Every game-date asset is daily-partitioned (game date, America/New_York, reaching today)" in README
    )
    assert "`BackfillPolicy.single_run()`" in README and "The model is unpartitioned" in README
    staging = sorted(k.to_user_string() for k in graph.get_all_asset_keys() if k.path[0] == "staging")
    assert staging and sorted(unpartitioned) == sorted(["models/points_model", *staging])


def test_the_readme_main_job_dates_are_the_commands_defaults() -> None:
    from nba_assets.runner import HISTORY_START

    args = build_parser().parse_args(["main"])
    main_job = _section(README, "### What the main job does")
    assert f"for {HISTORY_START} .. {args.end} (history + window)" in main_job
    assert f"`weekly_retrain_job` with cutoff {args.start}:" in main_job
    assert f"the development window {args.start} .. {args.end}," in main_job


def test_the_feature_counts_the_docs_quote_are_the_catalogs() -> None:
    from nba_assets.lib.features.catalog import BASE_FEATURES, FEATURES, LINE_FEATURES

    table = _section(README, "## The asset graph")
    assert _number(table, r"the (\d+)-feature vector") == len(FEATURES)
    assert _number(table, r"\((\d+) line-blind") == len(BASE_FEATURES)
    assert _number(table, r"line-blind, (\d+) line-aware\)") == len(LINE_FEATURES)
    assert _number(README, r"on the (\d+)\s+line-blind features") == len(BASE_FEATURES)
    assert _number(README, r"has ([\d,]+) training rows of history") == MODEL.min_train_rows
    # the quality score counts the line-blind features only (a row without a line is not penalised)
    features_doc = DOCS["docs/FEATURES.md"]
    assert _number(features_doc, r"share of its (\d+) line-blind features") == len(BASE_FEATURES)


def test_every_flag_the_readme_quotes_is_an_nba_assets_option() -> None:
    """`--retrain-days`, `--report-dir` ...: each option the prose names belongs to a subcommand."""
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    options = {o for sub in subparsers.choices.values() for a in sub._actions for o in a.option_strings}
    quoted = set(re.findall(r"`(--[a-z][\w-]*)`", README))
    assert quoted and quoted <= options, sorted(quoted - options)


def test_every_repo_path_docs_folder_names_exists() -> None:
    missing = []
    for doc, text in DOCS.items():
        if not doc.startswith("docs/"):
            continue  # README.md and bench/README.md: test_every_repo_path_the_docs_name_exists
        for token in re.findall(r"`((?:nba_assets|scripts|bench|deploy|docs|dbt_project)/[\w./-]+)`", text):
            if "." in token.rsplit("/", 1)[-1] and not (REPO / token).exists():
                missing.append(f"{doc}: {token}")
    assert not missing


def test_the_readme_says_a_sensor_preview_that_raises_exits_zero(tmp_path: Path) -> None:
    """The README's CI commands exit non-zero on failure, all but one: `dagster sensor preview` prints
    "Failed to resolve sensor for <name> : <error>" for a sensor that raises and exits 0 (Dagster
    1.13's CLI catches the error), so a CI step previewing a sensor passed on a failing sensor. The
    README says so, next to the list."""
    import os
    import subprocess
    import sys

    (tmp_path / "raising.py").write_text(
        "import dagster as dg\n\n\n"
        "@dg.op\ndef noop():\n    pass\n\n\n"
        "@dg.job\ndef j():\n    noop()\n\n\n"
        "@dg.sensor(job=j)\n"
        "def broken_sensor(context):\n"
        "    raise RuntimeError('the sensor failed')\n\n\n"
        "defs = dg.Definitions(jobs=[j], sensors=[broken_sensor])\n"
    )
    (tmp_path / "home").mkdir()
    got = subprocess.run(
        [sys.executable, "-m", "dagster", "sensor", "preview", "-f", "raising.py", "broken_sensor"],
        cwd=tmp_path,
        env={**os.environ, "DAGSTER_HOME": str(tmp_path / "home")},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "Failed to resolve sensor for broken_sensor" in got.stdout + got.stderr, got.stderr[-2000:]
    assert got.returncode == 0  # if Dagster starts failing it, the README's exception can go
    ci = _section(README, "From CI")
    assert "`dagster sensor preview` exits 0" in ci and "Failed to resolve sensor for" in ci
