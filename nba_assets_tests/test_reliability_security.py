"""Injection, secrets and access.

* **SQL built from strings:** an AST scan of the package finds every f-string / ``%`` / ``.format`` /
  ``+`` that builds SQL, and every ``execute``/``sql``/``query`` call whose SQL is not a literal. Each
  interpolated value must be a code constant (a literal, a dict of literals, or a helper parameter
  that every caller passes as a literal) or be on :data:`ALLOWED` with its reason. A self-test proves
  the scanner catches the classic mistakes.
* **Partition keys** are validated as dates before they reach a query, and reach it as parameters.
* **Canary secrets:** ODDS_API_KEY / BETTINGPROS_API_KEY / SLACK_BOT_TOKEN set to canaries, the prod
  resources driven through faults (loopback server): the canaries appear in no log record, exception,
  archived object name or path, Dagster event or metadata, nor reach a host other than their API's.
* **Access:** the project's commands and config bind nothing beyond loopback, and ``dagster dev``
  defaults to 127.0.0.1 (read from the installed dagster / dagster-webserver CLI).
"""

import ast
import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from nba_assets.defs.partitions import dates_of, game_date_partitions, validate_partition_key
from nba_assets.defs.raw.assets import raw_assets
from nba_assets.defs.resources import LiveSourceResource, LocalObjectStoreResource
from nba_assets.lib.alerts import Alert
from nba_assets.lib.env import Settings
from nba_assets.lib.errors import SourceDataError, SourceUnavailableError
from nba_assets.lib.sources.live import nba_stats as stats_module
from nba_assets.lib.sources.live.bettingpros import BettingProsClient
from nba_assets.lib.sources.live.http import HttpClient, RetryPolicy
from nba_assets.lib.sources.live.source import LiveSource
from nba_assets.lib.storage.duckdb_io import NbaDuckDBIOManager, TransactionalDuckDbClient, load_table_slice
from nba_assets.lib.storage.object_store import LocalObjectStore
from nba_assets_tests.conftest import REPO_ROOT
from nba_assets_tests.test_reliability_support import (
    FaultServer,
    LoopbackAdapter,
    SleepRecorder,
    add,
    agreeing_season_schedule,
    loopback_session,
    reliability_figures,  # noqa: F401 (session fixture: prints the suite's figures)
    reply,
    reset,
)

# ---------------------------------------------------------------- SQL built from strings

PACKAGE = REPO_ROOT / "nba_assets"
SQL_TEXT = re.compile(
    r"\b(SELECT|INSERT\s+INTO|DELETE\s+FROM|UPDATE\s+\S+\s+SET|CREATE\s+(OR\s+REPLACE\s+)?(TABLE|VIEW|SCHEMA)"
    r"|DROP\s+(TABLE|VIEW|SCHEMA)|ALTER\s+TABLE|WHERE|FROM|JOIN|ATTACH|COPY|PRAGMA|AND)\b"
    r"|\bIN\s*\(|(^|\s)\?(\s|,|\)|$)"
)
SQL_CALLS = {"execute", "executemany", "sql", "query", "raw_sql"}
# the package's own functions that send one argument (at this index) to the warehouse as SQL: a call is
# checked as a SQL_CALLS call is, and their body's send of that argument is allowed below
SQL_HELPERS = {"run_query": 1}

# (file, function, interpolated expression) -> why it is safe. Exactly what duckdb_io.py interpolates:
# identifiers from asset keys / asset metadata defined in code, each passed through ident (a strict
# identifier regex that raises otherwise), and ``?`` placeholders whose values are bound.
DUCKDB_IO = "nba_assets/lib/storage/duckdb_io.py"
BIGQUERY_IO = "nba_assets/lib/storage/bigquery_io.py"
ALLOWED: dict[tuple[str, str, str], str] = {
    (DUCKDB_IO, "_where", "expr"): "partition column = asset metadata partition_expr, through ident",
    (DUCKDB_IO, "_where", "', '.join(('?' for _ in values))"): "only ? placeholders; the keys are bound",
    (DUCKDB_IO, "_where", "' AND '.join(clauses)"): "the clauses built above: ident columns and ?",
    (DUCKDB_IO, "delete_table_slice", "_qualified(table_slice)"): "schema.table of the asset key, ident",
    (DUCKDB_IO, "delete_table_slice", "where"): "_where(): ident columns, ? placeholders, bound values",
    (DUCKDB_IO, "handle_output", "target"): "= _qualified(table_slice): asset key through ident",
    (DUCKDB_IO, "load_table_slice", "cols"): "column names of the input, each through ident",
    (DUCKDB_IO, "load_table_slice", "_qualified(table_slice)"): "schema.table of the asset key, ident",
    (DUCKDB_IO, "load_table_slice", "where"): "_where(): ident columns, ? placeholders, bound values",
    # bigquery_io.py: the same rule in GoogleSQL; project.dataset.table by table_id() (project from
    # configuration, checked by _project; dataset and table through ident), ``@`` named parameters.
    (
        BIGQUERY_IO,
        "bigquery_where",
        "column",
    ): "partition column = asset metadata partition_expr, through ident",
    (BIGQUERY_IO, "bigquery_where", "i"): "the dimension's index: part of a parameter name, an int",
    (BIGQUERY_IO, "replace_slice_script", "target"): "table_id(table_slice): checked project, ident names",
    (BIGQUERY_IO, "replace_slice_script", "staging"): "table_id() of the staging name: ident + uuid hex",
    (BIGQUERY_IO, "replace_slice_script", "where"): "bigquery_where(): ident columns, @ parameters",
    (BIGQUERY_IO, "replace_slice_script", "cols"): "the frame's column names, each through ident",
    (BIGQUERY_IO, "handle_output", "replace_slice_script(target, staging, obj.columns, where)"): (
        "the script above; its values travel as query parameters"
    ),
    (BIGQUERY_IO, "load_input", "cols"): "column names of the input, each through ident",
    (BIGQUERY_IO, "load_input", "target"): "table_id(table_slice): checked project, ident names",
    (BIGQUERY_IO, "load_input", "where"): "bigquery_where(): ident columns, @ parameters",
    (BIGQUERY_IO, "ensure_schema_exists", "ident(table_slice.schema)"): (
        "the dataset = the asset key's prefix (code), through ident"
    ),
    (BIGQUERY_IO, "run_query", "sql"): "its SQL argument, checked at each call (SQL_HELPERS)",
    ("nba_assets/lib/dbt_state.py", "rows_by_date", "ident(schema)"): (
        "a context asset key's schema (dbt's manifest, code), through ident; dates are bound with ?"
    ),
    ("nba_assets/lib/dbt_state.py", "rows_by_date", "ident(table)"): (
        "a context asset key's table name (dbt's manifest, code), through ident"
    ),
    ("nba_assets/lib/storage/event_log.py", "store_event_batch", "statement"): (
        "a SQLAlchemy insert construct from Dagster's prepare_insert_event: values are bound, no SQL text"
    ),
}


@dataclass(frozen=True)
class SqlSite:
    path: str
    function: str
    line: int
    expr: str
    why: str  # "" when unsafe


def _functions(tree: ast.AST) -> dict[ast.AST, ast.FunctionDef | None]:
    """Each node -> its innermost enclosing function (None at module level)."""
    owner: dict[ast.AST, ast.FunctionDef | None] = {}

    def visit(node: ast.AST, fn: ast.FunctionDef | None) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else fn
            owner[child] = inner  # type: ignore[assignment]
            visit(child, inner)  # type: ignore[arg-type]

    visit(tree, None)
    return owner


def _is_constant_str(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _constant_param(tree: ast.AST, fn: ast.FunctionDef | None, name: str) -> bool:
    """``name`` is a parameter of ``fn`` and every call of ``fn`` in the module passes a literal."""
    if fn is None:
        return False
    params = [a.arg for a in fn.args.args]
    if name not in params:
        return False
    index = params.index(name)
    calls = [
        c
        for c in ast.walk(tree)
        if isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id == fn.name
    ]
    if not calls:
        return False
    for call in calls:
        kw = {k.arg: k.value for k in call.keywords}
        arg = kw.get(name, call.args[index] if index < len(call.args) else None)
        if arg is None or not _is_constant_str(arg):
            return False
    return True


def _constant_local(fn: ast.FunctionDef | None, tree: ast.AST, name: str) -> bool:
    """``name`` is bound (in ``fn``, or when ``fn`` does not bind it, anywhere in the module) only to
    literals or dicts of literals."""

    def bound(scope: ast.AST) -> list[ast.expr]:
        return [
            n.value
            for n in ast.walk(scope)
            if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in n.targets)
        ]

    values = (bound(fn) if fn else []) or bound(tree)
    return bool(values) and all(
        _is_constant_str(v) or (isinstance(v, ast.Dict) and all(_is_constant_str(x) for x in v.values))
        for v in values
    )


def _judge(
    tree: ast.AST,
    fn: ast.FunctionDef | None,
    node: ast.AST,
    path: str,
    allowed: dict[tuple[str, str, str], str],
) -> str:
    expr = ast.unparse(node)
    fname = fn.name if fn else "<module>"
    if _is_constant_str(node):
        return "literal"
    if isinstance(node, ast.Name) and _constant_param(tree, fn, node.id):
        return "helper parameter every caller passes as a literal"
    if isinstance(node, ast.Name) and _constant_local(fn, tree, node.id):
        return "bound only to literals"
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Name)
        and _constant_local(fn, tree, node.value.id)
    ):
        return "entry of a dict of literals"
    return allowed.get((path, fname, expr), "")


def scan_sql(source: str, path: str, allowed: dict[tuple[str, str, str], str] | None = None) -> list[SqlSite]:
    """Every value interpolated into SQL text in ``source``, judged safe (``why``) or not (``""``)."""
    allowed = ALLOWED if allowed is None else allowed
    tree = ast.parse(source)
    owner = _functions(tree)
    sites: list[SqlSite] = []

    def record(node: ast.AST, value: ast.AST) -> None:
        fn = owner.get(node)
        why = _judge(tree, fn, value, path, allowed)
        sites.append(SqlSite(path, fn.name if fn else "<module>", node.lineno, ast.unparse(value), why))

    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value for v in node.values if _is_constant_str(v))
            if SQL_TEXT.search(text):
                for v in node.values:
                    if isinstance(v, ast.FormattedValue):
                        record(node, v.value)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and _is_constant_str(node.left):
            if SQL_TEXT.search(node.left.value):  # type: ignore[attr-defined]
                values = node.right.elts if isinstance(node.right, ast.Tuple) else [node.right]
                for v in values:
                    record(node, v)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            parts = [node.left, node.right]
            if any(_is_constant_str(p) and SQL_TEXT.search(p.value) for p in parts):  # type: ignore[attr-defined]
                for p in parts:
                    if not _is_constant_str(p) and not isinstance(p, ast.JoinedStr | ast.BinOp):
                        record(node, p)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "format" and _is_constant_str(node.func.value):
                if SQL_TEXT.search(node.func.value.value):  # type: ignore[attr-defined]
                    for v in [*node.args, *(k.value for k in node.keywords)]:
                        record(node, v)
            elif node.func.attr in SQL_CALLS and node.args:
                if _from_a_variable(node.args[0]):
                    record(node, node.args[0])  # SQL from a variable: must resolve to code constants
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in SQL_HELPERS:
            index = SQL_HELPERS[node.func.id]
            if len(node.args) > index and _from_a_variable(node.args[index]):
                record(node, node.args[index])
    return sites


def _from_a_variable(sql: ast.AST) -> bool:
    """SQL passed as an expression that is not a literal nor built in place (f-string, ``%``, ``+``,
    ``.format``, whose values the scan checks where they are built)."""
    formatted = (
        isinstance(sql, ast.Call) and isinstance(sql.func, ast.Attribute) and sql.func.attr == "format"
    )
    return not (_is_constant_str(sql) or formatted or isinstance(sql, ast.JoinedStr | ast.BinOp))


def _package_sites() -> list[SqlSite]:
    sites = []
    for path in sorted(PACKAGE.rglob("*.py")):
        sites += scan_sql(path.read_text(), path.relative_to(REPO_ROOT).as_posix())
    return sites


def test_no_value_is_interpolated_into_sql() -> None:
    sites = _package_sites()
    add("sql_sites_checked", len(sites))
    unsafe = [s for s in sites if not s.why]
    print(f"\nSQL interpolation sites in the package: {len(sites)}, unsafe: {len(unsafe)}")
    for s in sites:
        print(f"  {s.path}:{s.line} {s.function}: {{{s.expr}}} -- {s.why or 'UNSAFE'}")
    assert not unsafe, "values interpolated into SQL:\n" + "\n".join(
        f"{s.path}:{s.line} in {s.function}: {s.expr}" for s in unsafe
    )
    seen = {(s.path, s.function, s.expr) for s in sites}
    stale = [k for k in ALLOWED if k not in seen]
    assert not stale, f"whitelist entries no longer in the code (remove them): {stale}"


def test_the_sql_scanner_catches_interpolated_values() -> None:
    bad = """
def f(con, name, day, table):
    con.execute(f"SELECT * FROM raw.box_scores WHERE player_name = '{name}'")
    con.execute("DELETE FROM raw.t WHERE game_date = '%s'" % day)
    con.sql("SELECT * FROM {} WHERE x = 1".format(table))
    con.execute("SELECT * FROM raw.t WHERE game_date = '" + day + "'")
    sql = build(name)
    con.execute(sql)
    run_query(con, build(table), [], "reading", None)

def g(con):
    f(con, input(), input(), input())

COPIES = {"a": "CREATE TABLE a AS SELECT 1"}
SHADOWED = {"a": "SELECT 1"}
REBOUND = "SELECT 1"

def k(con, name):
    SHADOWED = {"a": name}
    con.execute(SHADOWED["a"])
    con.execute(REBOUND)

def m():
    global REBOUND
    REBOUND = input()
"""
    found = [s for s in scan_sql(bad, "bad.py", allowed={}) if not s.why]
    assert sorted(s.expr for s in found) == [
        "REBOUND",
        "SHADOWED['a']",
        "build(table)",
        "day",
        "day",
        "name",
        "sql",
        "table",
    ], found
    ok = """
def q(con, table, lo):
    return con.sql(f"SELECT * FROM {table} WHERE game_date >= ?", params=[lo])

def h(con, day):
    q(con, "raw.schedule", day)
    con.execute("SELECT 1 WHERE x = ?", [day])

COPIES = {"a": "CREATE TABLE a AS SELECT 1"}

def n(con):
    for name in COPIES:
        con.execute(COPIES[name])
"""
    assert all(s.why for s in scan_sql(ok, "ok.py", allowed={}))


# ---------------------------------------------------------------- partition keys


@pytest.mark.parametrize(
    "key",
    [
        "2025-11-05'; DROP TABLE raw.schedule; --",
        "2025-11-05 OR 1=1",
        "2025-13-01",
        "2025-02-30",
        "",
        "05/11/2025",
        "2025-11-05T00:00:00",
        "../../etc/passwd",
        "2025-11-05\x00",
    ],
)
def test_bad_partition_keys_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match="is not a YYYY-MM-DD game date"):
        validate_partition_key(key)


def test_dates_of_validates_every_key_of_a_range() -> None:
    class Ctx:
        partition_keys = ["2025-11-04", "2025-11-05'; DROP TABLE x; --"]

    with pytest.raises(ValueError, match="DROP TABLE"):
        dates_of(Ctx())  # type: ignore[arg-type]
    Ctx.partition_keys = ["2025-11-04", "2025-11-05"]
    assert dates_of(Ctx()) == [date(2025, 11, 4), date(2025, 11, 5)]  # type: ignore[arg-type]


def test_dagster_refuses_an_unknown_partition_before_any_asset_code(tmp_path: Path) -> None:
    res = {
        "io_manager": NbaDuckDBIOManager(database=str(tmp_path / "w.duckdb")),
        "object_store": LocalObjectStoreResource(root=str(tmp_path / "objects")),
        "nba_source": LiveSourceResource(odds_api_key="unused"),
    }
    with pytest.raises(dg.DagsterError):
        dg.materialize([raw_assets[0]], resources=res, partition_key="2025-11-05'; DROP TABLE x; --")
    assert not (tmp_path / "w.duckdb").exists() and not (tmp_path / "objects").exists()


def test_partition_bounds_reach_duckdb_as_parameters() -> None:
    from dagster._core.storage.db_io_manager import TablePartitionDimension, TableSlice

    window = game_date_partitions.time_window_for_partition_key("2025-11-05")
    sl = TableSlice(
        table="box_scores",
        schema="raw",
        partition_dimensions=[TablePartitionDimension(partition_expr="game_date", partitions=window)],
    )

    class Recorder:
        def __init__(self) -> None:
            self.calls: list[tuple[str, Any]] = []

        def execute(self, sql: str, params: Any = None) -> "Recorder":
            self.calls.append((sql, params))
            return self

        def fetchall(self) -> list[tuple]:
            return [(1,)]  # "the table exists"

        def sql(self, sql: str, params: Any = None) -> Any:
            self.calls.append((sql, params))
            raise StopIteration

    con = Recorder()
    TransactionalDuckDbClient.delete_table_slice(None, sl, con)  # type: ignore[arg-type]
    with pytest.raises(StopIteration):
        load_table_slice(con, sl)
    statements = [c for c in con.calls if "box_scores" in c[0]]
    assert [s.split()[0] for s, _ in statements] == ["DELETE", "SELECT"]
    for sql, params in statements:
        assert "2025" not in sql and sql.count("?") == 2, sql
        assert params == [date(2025, 11, 5), date(2025, 11, 6)]


# ---------------------------------------------------------------- canary secrets

CANARIES = {
    "ODDS_API_KEY": "cAnArY-odds-7f1e2d3c4b5a",
    "BETTINGPROS_API_KEY": "cAnArY-bp-9a8b7c6d5e4f",
    "SLACK_BOT_TOKEN": "xoxb-cAnArY-slack-0a1b2c3d",
}
EVENT = "f54c4a22568ce9dc33fb410d1b0e75e9"
ODDS = "/v4/sports/basketball_nba"


def _echo_request(status: int = 200) -> Any:
    """An error page that echoes the request line and headers (as some proxies and WAFs do)."""

    def act(h: Any) -> None:
        echo = f"<html><body>Blocked: GET {h.path} {dict(h.headers)}</body></html>".encode()
        reply(status, echo, {"Content-Type": "text/html"})(h)

    return act


def _leaks(text: str) -> list[str]:
    return [name for name, value in CANARIES.items() if value in text]


@pytest.fixture(scope="module")
def server():
    srv = FaultServer()
    yield srv
    srv.close()


@pytest.fixture
def canaries(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for k, v in CANARIES.items():
        monkeypatch.setenv(k, v)
    return CANARIES


class _CanaryLive(LiveSourceResource):
    """The prod source resource (keys from dg.EnvVar at run time) on a loopback HTTP session."""

    port: int

    def get_source(self, store):
        http = HttpClient(
            session=loopback_session(self.port),
            timeout=(1.0, 5.0),
            min_interval=0.0,
            policy=RetryPolicy(max_attempts=2, backoff_base=0.01, jitter=0.0),
            sleep=SleepRecorder(),
        )
        return LiveSource(
            store,
            self.odds_api_key,
            self.bettingpros_api_key,
            http=http,
            now=lambda: datetime(2024, 2, 22, 20, tzinfo=UTC),
        )


def test_canary_keys_never_leak_from_the_live_pipeline(
    server: FaultServer, canaries: dict[str, str], fixtures_dir: Path, tmp_path: Path, caplog, monkeypatch
) -> None:
    monkeypatch.setattr(stats_module, "TIMEOUT", (1.0, 5.0))
    server.scripts.clear()
    server.reset_calls()
    odds = json.loads(
        (fixtures_dir / "oddsapi_v4_event_odds_player_points_ORL-at-CLE_2024-02-22.json").read_bytes()
    )
    events = [{k: odds[k] for k in ("id", "sport_key", "commence_time", "home_team", "away_team")}]
    board = {"scoreboard": {"gameDate": "2024-02-22", "leagueId": "00", "games": []}}
    server.script("/stats/scoreboardv3", reply(200, json.dumps(board).encode()))
    agreeing_season_schedule(server, "2023-24")
    gamelog = (fixtures_dir / "stats_leaguegamelog_players_2025-03-15.json").read_bytes()
    server.script("/stats/leaguegamelog", reply(200, gamelog))
    server.script(f"{ODDS}/events", reply(200, json.dumps(events).encode()))
    res = {
        "io_manager": NbaDuckDBIOManager(database=str(tmp_path / "w.duckdb")),
        "object_store": LocalObjectStoreResource(root=str(tmp_path / "objects")),
        "nba_source": _CanaryLive(
            port=server.port,
            odds_api_key=dg.EnvVar("ODDS_API_KEY"),
            bettingpros_api_key=dg.EnvVar("BETTINGPROS_API_KEY"),
            step_retry_wait_seconds=0,  # transient faults go through Dagster's step retries, scanned too
        ),
    }
    config = {"ops": {"raw__player_props": {"config": {"as_of_utc": "2024-02-22T20:00:00"}}}}
    sel = [raw_assets[0], raw_assets[3]]
    odds_path = f"{ODDS}/events/{EVENT}/odds"
    scenarios = [
        ("ok", [reply(200, json.dumps(odds).encode())], True),
        ("500 then reset", [reply(500), reset()], False),
        ("error page echoing the request", [_echo_request(200)], False),
        ("401 echoing the request", [_echo_request(401)], False),
        (
            "redirect loop",
            [reply(302, b"", {"Location": f"{odds_path}?apiKey={canaries['ODDS_API_KEY']}"})],
            False,
        ),
        ("truncated body", [reply(200, json.dumps(odds).encode()[:2000])], False),
    ]
    texts: list[str] = []
    for logger in ("nba_assets", "urllib3", "requests", "dagster"):  # urllib3 logs each URL at DEBUG
        caplog.set_level(logging.DEBUG if logger != "dagster" else logging.INFO, logger=logger)
    with dg.DagsterInstance.ephemeral() as instance:
        for name, actions, should_pass in scenarios:
            server.script(odds_path, *actions)
            result = dg.materialize(
                sel,
                resources=res,
                partition_key="2024-02-22",
                run_config=config,
                instance=instance,
                raise_on_error=False,
                selection=None if name == "ok" else [raw_assets[3].key],  # schedule stored once
            )
            add("faults_tried")
            assert result.success is should_pass, name
            for event in result.all_events:
                texts.append(repr(event))
                data = event.event_specific_data
                if getattr(data, "error", None) is not None:
                    texts.append(data.error.to_string())
        for record in instance.get_event_records(
            dg.EventRecordsFilter(event_type=dg.DagsterEventType.STEP_FAILURE)
        ):
            texts.append(repr(record))
        for run in instance.get_runs():
            for entry in instance.all_logs(run.run_id):
                texts.append(entry.user_message + repr(entry.dagster_event))
    # the key did reach its own API on every odds request ...
    odds_calls = [c for c in server.calls if c.path.startswith(ODDS)]
    assert odds_calls and all(
        f"apiKey={canaries['ODDS_API_KEY']}" in c.query for c in odds_calls if c.path != "/loop"
    )
    # ... and nowhere else: logs, Dagster events (messages, errors, metadata), object names and paths
    texts.append(caplog.text)
    texts += [m.getMessage() for m in caplog.records]
    paths = [str(p) for p in (tmp_path / "objects").rglob("*")]
    surfaces = {"logs+events+errors+metadata": "\n".join(texts), "object paths": "\n".join(paths)}
    add("secret_surfaces_scanned", len(texts) + len(paths))
    leaked = {k: _leaks(v) for k, v in surfaces.items() if _leaks(v)}
    for k, v in surfaces.items():
        for name in _leaks(v):
            at = v.index(CANARIES[name])
            print(f"LEAK in {k}: ...{v[max(0, at - 400) : at + 60]!r}...")
    add("secrets_leaked", sum(len(v) for v in leaked.values()))
    assert not leaked, f"canary leaked: {leaked}"
    # the object store holds archived payloads, quarantined rows and the lines ledger (snapshot times)
    assert paths and all(
        "raw_payloads/" in p or "quarantine/" in p or "lines_ledger/" in p or Path(p).is_dir() for p in paths
    )
    assert any("lines_ledger/" in p for p in paths)


def test_bettingpros_key_never_follows_a_redirect_to_another_host(
    server: FaultServer, canaries: dict[str, str], tmp_path: Path, caplog
) -> None:
    """The X-Api-Key header goes to api.bettingpros.com only: a redirect to another host drops it
    (requests itself only drops ``Authorization``). Errors and logs never show it either."""
    server.scripts.clear()
    server.reset_calls()
    server.script("/v3/events", reply(302, b"", {"Location": "http://collector.example/steal"}))
    server.script("/steal", reply(200, json.dumps({"events": []}).encode()))
    http = HttpClient(
        min_interval=0.0, policy=RetryPolicy(max_attempts=2, backoff_base=0.01), sleep=SleepRecorder()
    )
    adapter = LoopbackAdapter(server.port)  # the production session class, sent to loopback
    http.session.mount("https://", adapter)
    http.session.mount("http://", adapter)
    store = LocalObjectStore(tmp_path)
    with caplog.at_level(logging.DEBUG):
        BettingProsClient(http, store, api_key=canaries["BETTINGPROS_API_KEY"]).events(date(2021, 10, 21))
        server.script("/v3/events", _echo_request(200))
        with pytest.raises(SourceDataError) as err:
            BettingProsClient(http, store, api_key=canaries["BETTINGPROS_API_KEY"]).events(date(2021, 10, 21))
        server.script("/v3/events", reply(503))
        with pytest.raises(SourceUnavailableError) as err2:
            BettingProsClient(http, store, api_key=canaries["BETTINGPROS_API_KEY"]).events(date(2021, 10, 21))
    add("faults_tried", 3)
    sent = {c.path: c.headers for c in server.calls}
    assert sent["/v3/events"].get("X-Api-Key") == canaries["BETTINGPROS_API_KEY"]
    stolen = sent["/steal"]
    assert stolen.get("X-Loopback-For") == "collector.example"  # the redirect did leave the API host
    leaks = (
        _leaks(json.dumps(stolen)) + _leaks(str(err.value)) + _leaks(str(err2.value)) + _leaks(caplog.text)
    )
    leaks += _leaks("\n".join(store.list_keys("")))
    add("secret_surfaces_scanned", 5)
    add("secrets_leaked", len(leaks))
    assert not leaks, (leaks, json.dumps(stolen), str(err.value), str(err2.value))


def test_slack_token_never_leaks_when_slack_fails(
    server: FaultServer, canaries: dict[str, str], caplog
) -> None:
    from nba_assets.defs.automation.resources import SlackAlertsResource, alerts_resource

    server.scripts.clear()
    server.reset_calls()
    resource = alerts_resource(Settings(env="prod", slack_channel="#nba-alerts"))
    assert isinstance(resource, SlackAlertsResource)
    assert CANARIES["SLACK_BOT_TOKEN"] not in repr(resource)
    alert = Alert(kind="run_failure", title="raw ingest failed", run_id="abcdef1234", job="ingest_raw_job")
    errors: list[str] = []
    with dg.build_resources({"alerts": resource}) as built, caplog.at_level(logging.DEBUG):
        sink = built.alerts.get_sink()
        sink.client.base_url = f"{server.base}/api/"
        for name, action in (
            (
                "invalid_auth",
                reply(200, b'{"ok": false, "error": "invalid_auth"}', {"Content-Type": "application/json"}),
            ),
            ("500", reply(500, b"oops")),
            ("html 200", reply(200, b"<html>upstream error</html>", {"Content-Type": "text/html"})),
            ("reset", reset()),
        ):
            server.script("/api/chat.postMessage", action)
            try:
                sink.send_all([alert])
            except Exception as exc:  # slack_sdk raises SlackApiError and friends
                errors.append(f"{name}: {type(exc).__name__}: {exc}")
            add("faults_tried")
    posted = [c for c in server.calls if c.path == "/api/chat.postMessage"]
    assert posted and all(
        c.headers.get("Authorization") == f"Bearer {canaries['SLACK_BOT_TOKEN']}" for c in posted
    )
    assert len(errors) == 4, errors  # every failure surfaces as an exception (the sensor logs it)
    leaks = _leaks("\n".join(errors)) + _leaks(caplog.text)
    add("secret_surfaces_scanned", len(errors) + 1)
    add("secrets_leaked", len(leaks))
    assert not leaks, (leaks, errors)


# ---------------------------------------------------------------- access

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
ANY_ADDRESS = re.compile(r"(?<![\w.])(0\.0\.0\.0|\[::\]|::/0)(?![\w.])")
HOST_FLAG = re.compile(r"(?:--host|--grpc-host|--dagit-host)(?:=|\s+)['\"]?([^\s'\"]+)")
SHORT_HOST = re.compile(r"\bdagster(?:-webserver|\s+dev)\b[^\n]*?\s-h\s+([^\s]+)")
HOST_KWARG = re.compile(r"\b(?:host|bind|listen)\s*[=:]\s*['\"]([^'\"]+)['\"]")


def _project_files() -> list[Path]:
    roots = ["scripts", "nba_assets", ".ci", "bench", "docs", "dbt_project"]
    files = [
        REPO_ROOT / n for n in ("README.md", "workspace.yaml", "pyproject.toml", "setup.cfg", "CHANGELOG.md")
    ]
    for r in roots:
        base = REPO_ROOT / r
        if base.is_dir():
            files += [
                p
                for p in base.rglob("*")
                if p.is_file()
                and not any(
                    part in ("target", "dbt_packages", "__pycache__", "data", "logs") for part in p.parts
                )
                and (
                    p.suffix in (".py", ".sh", ".yaml", ".yml", ".toml", ".cfg", ".md", ".txt", ".sql")
                    or not p.suffix
                )
            ]
    return [f for f in files if f.exists()]


def test_project_commands_and_config_bind_only_to_loopback() -> None:
    from nba_assets.runner import INSTANCE_YAML

    problems = []
    files = _project_files()
    texts = [(f.relative_to(REPO_ROOT).as_posix(), f.read_text(errors="replace")) for f in files]
    texts.append(("nba_assets/runner.py:INSTANCE_YAML", INSTANCE_YAML))
    hosts_seen = []
    for name, text in texts:
        for m in ANY_ADDRESS.finditer(text):
            problems.append(f"{name}: binds to any address ({m.group(0)})")
        for rx in (HOST_FLAG, SHORT_HOST, HOST_KWARG):
            for m in rx.finditer(text):
                host = m.group(1).strip("'\",)")
                hosts_seen.append(f"{name}: {host}")
                if host not in LOOPBACK:
                    problems.append(f"{name}: host {host!r} is not loopback ({m.group(0).strip()})")
    print(f"\naccess: {len(texts)} files scanned; host settings found: {hosts_seen or 'none'}")
    assert len(texts) > 30
    assert not problems, "\n".join(problems)
    readme = (REPO_ROOT / "README.md").read_text()
    assert "dagster dev -w workspace.yaml" in readme and "127.0.0.1" in readme


def test_dagster_dev_defaults_to_loopback() -> None:
    import inspect

    from dagster._cli import dev as dev_cli
    from dagster_webserver import cli as webserver_cli

    host_opt = next(p for p in dev_cli.dev_command.params if p.name == "host")
    assert not isinstance(host_opt.default, str)  # dagster dev sets no host of its own (None/UNSET) ...
    source = inspect.getsource(dev_cli.dev_command_impl)
    assert '(["--host", host] if host else [])' in source  # ... and passes none to the webserver,
    web_opt = next(p for p in webserver_cli.create_dagster_webserver_cli().params if p.name == "host")
    assert web_opt.default == webserver_cli.DEFAULT_WEBSERVER_HOST == "127.0.0.1"  # whose default is this
    grpc_source = inspect.getsource(__import__("dagster._cli.workspace.cli_target", fromlist=["x"]))
    assert 'host=workspace_opts.grpc_host or "localhost"' in grpc_source  # code servers: localhost
