"""Bad input fuzz: mutated real payloads into every parser, mutated real lines into the CSV loader.

Deterministic (seeded per payload kind). Each mutation must end in exactly one of:

* :class:`SourceDataError` naming a source and a field (the parsers' documented error), or
* a frame in the kind's contract, which the raw validation (``validate_batch``) then accepts,
  quarantines row by row, or rejects with a :class:`SourceDataError`.

Any other exception type escaping is a failure; the test lists every such mutation (kind, operator,
path, exception) so it can be replayed. Counts are added to the suite's figures.
"""

import ast
import copy
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import polars as pl
import pytest

from nba_assets.lib import schemas
from nba_assets.lib.errors import SourceDataError
from nba_assets.lib.parsers import bettingpros, odds_api
from nba_assets.lib.parsers.registry import parse_payload
from nba_assets.lib.raw import validate_batch
from nba_assets.lib.sources.lines_csv import GUARANTEED_COLUMNS, lines_from_frame, read_lines_csv
from nba_assets.lib.storage.duckdb_io import NbaDuckDBIOManager
from nba_assets_tests.conftest import shared_dir
from nba_assets_tests.test_reliability_support import (
    add,
    reliability_figures,  # noqa: F401 (session fixture: prints the suite's figures)
)

SEED = 20251105
PARSERS_DIR = Path(__file__).resolve().parents[1] / "nba_assets" / "lib" / "parsers"

SQL_TEXT = (
    "'; DROP TABLE x; --",
    "Robert'); DROP TABLE raw.player_props;--",
    '" OR 1=1 --',
    "1; DELETE FROM raw.box_scores WHERE 1=1",
)
UNICODE_TEXT = (
    "Nikola Jokić",
    "Luka Dončić\u200b",  # zero-width space
    "\u202eevil\u202c",  # right-to-left override
    "名前 🏀",
    "A\u0000B",  # NUL
    "e\u0301",  # combining accent
    "\ud7ff\ue000",
)


def _read_keys() -> set[str]:
    """Every identifier-like string literal in the parser modules: the payload keys they read."""
    keys: set[str] = set()
    for path in PARSERS_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
                keys.add(node.value)
    return keys


READ_KEYS = _read_keys()

# ---------------------------------------------------------------- mutation operators


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            out.append((*prefix, k))
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node[:6]):  # the first elements stand for the rest
            out.append((*prefix, i))
            out += _paths(v, (*prefix, i))
    return out


def _get(node: Any, path: tuple) -> Any:
    for p in path:
        node = node[p]
    return node


def _other_type(v: Any, rng: random.Random) -> Any:
    if isinstance(v, bool):
        return "true"
    if isinstance(v, int | float):
        return rng.choice([str(v), [v], {"value": v}, True])
    if isinstance(v, str):
        return rng.choice([12345, 3.5, [v], {"text": v}, False])
    if isinstance(v, list):
        return rng.choice([{}, "list", 0])
    if isinstance(v, dict):
        return rng.choice([[], "object", 1])
    return rng.choice([0, "", []])


def _huge(v: Any, rng: random.Random) -> Any:
    return rng.choice([10**30, -(10**30), 2**63, -(2**63) - 1, 1e308, float("inf"), float("nan"), -0.0])


def _negative(v: Any, rng: random.Random) -> Any:
    return -abs(v) - 1 if isinstance(v, int | float) and not isinstance(v, bool) else -1


VALUE_OPS: dict[str, Callable[[Any, random.Random], Any]] = {
    "null": lambda v, r: None,
    "type": _other_type,
    "huge": _huge,
    "negative": _negative,
    "long-string": lambda v, r: "X" * 100_000,
    "unicode": lambda v, r: r.choice(UNICODE_TEXT),
    "sql-text": lambda v, r: r.choice(SQL_TEXT),
    "empty": lambda v, r: {str: "", list: [], dict: {}}.get(type(v), ""),
}


def _mutate_tree(payload: Any, rng: random.Random) -> tuple[str, str, Any]:
    """(operator, path, mutated copy) of one structural or value mutation of ``payload``."""
    tree = copy.deepcopy(payload)
    paths = _paths(tree)
    hot = [p for p in paths if isinstance(p[-1], str) and p[-1] in READ_KEYS]
    path = rng.choice(hot if hot and rng.random() < 0.75 else paths)
    parent, key = _get(tree, path[:-1]), path[-1]
    op = rng.choice([*VALUE_OPS, "delete", "duplicate"])
    if op == "delete":
        del parent[key]
    elif op == "duplicate" and isinstance(parent, list):
        parent.insert(key, copy.deepcopy(parent[key]))
    elif op == "duplicate":
        parent[key] = [parent[key], parent[key]]
    else:
        parent[key] = VALUE_OPS[op](parent[key], rng)
    return op, "/".join(map(str, path)), tree


def _mutate_body(body: bytes, rng: random.Random) -> tuple[str, bytes]:
    op = rng.choice(
        ["truncate", "flip-bytes", "bom", "invalid-utf8", "html", "empty", "deep-nesting", "other-json"]
    )
    if op == "truncate":
        return op, body[: rng.randrange(1, max(2, len(body)))]
    if op == "flip-bytes":
        data = bytearray(body)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return op, bytes(data)
    if op == "bom":
        return op, b"\xef\xbb\xbf" + body
    if op == "invalid-utf8":
        cut = rng.randrange(len(body))
        return op, body[:cut] + b"\xff\xfe\xc3" + body[cut:]
    if op == "html":
        return op, b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    if op == "empty":
        return op, rng.choice([b"", b"   \n"])
    if op == "deep-nesting":
        return op, b"[" * 100_000 + b"]" * 100_000
    return op, rng.choice([b"null", b"[]", b"42", b'"text"', b"{}", b"true"])


# ---------------------------------------------------------------- the payload kinds


@dataclass
class Case:
    kind: str
    file: str
    table: str | None  # raw table its frame feeds, or None (event lists)
    schema: dict[str, pl.DataType]
    context: dict[str, Any] = field(default_factory=dict)
    trim: Callable[[Any], Any] | None = None
    local: bool = False  # a hand-made fixture beside the tests (no real /v3/offers payload exists)


def _trim_schedule(payload: dict) -> dict:
    payload = copy.deepcopy(payload)
    sched = payload["leagueSchedule"]
    sched["gameDates"] = sched["gameDates"][20:23]  # three real dates of regular-season games
    for k in ("weeks", "broadcasterList"):
        sched.pop(k, None)
    return payload


def _bp_events_frame(fixtures: Path) -> pl.DataFrame:
    return bettingpros.parse_bp_events(
        json.loads((fixtures / "bettingpros_v3_events_NBA_2021-10-21.json").read_bytes())
    )


CASES = [
    Case("scoreboard-v3", "stats_scoreboardv3_2025-11-05.json", "schedule", schemas.SCHEDULE_SCHEMA),
    Case("scoreboard-v2", "stats_scoreboardV2_2024-01-15.json", "schedule", schemas.SCHEDULE_SCHEMA),
    Case(
        "schedule-v2",
        "cdn_scheduleLeagueV2_2023-24.json",
        "schedule",
        schemas.SCHEDULE_SCHEMA,
        trim=_trim_schedule,  # no season= context: the cdn file's own seasonYear is read (and fuzzed)
    ),
    Case(
        "boxscore-v3",
        "stats_boxscoretraditionalv3_0022500165.json",
        "box_scores",
        schemas.BOX_SCORE_SCHEMA,
        {"game_date": date(2025, 11, 4)},
    ),
    Case(
        "cdn-boxscore",
        "cdn_liveData_boxscore_0022000001.json",
        "box_scores",
        schemas.BOX_SCORE_SCHEMA,
        {"game_date": date(2020, 12, 22)},
    ),
    Case(
        "leaguegamelog", "stats_leaguegamelog_players_2025-03-15.json", "box_scores", schemas.BOX_SCORE_SCHEMA
    ),
    Case("bettingpros-events", "bettingpros_v3_events_NBA_2021-10-21.json", None, bettingpros.EVENTS_SCHEMA),
    Case(
        "bettingpros-offers",
        "bettingpros_v3_offers_NBA_2021-10-21_page1.json",
        "player_props",
        schemas.PROPS_SCHEMA,
        {"snapshot_utc": datetime(2021, 10, 21, 22, 0, tzinfo=UTC)},
        local=True,
    ),
    Case(
        "odds-api-events",
        "oddsapi_v4_historical_events_2025-03-09T235538Z.json",
        None,
        odds_api.EVENTS_SCHEMA,
    ),
    Case(
        "odds-api-event-odds",
        "oddsapi_v4_event_odds_player_points_ORL-at-CLE_2024-02-22.json",
        "player_props",
        schemas.PROPS_SCHEMA,
        {"snapshot_utc": datetime(2024, 2, 22, 20, 0, tzinfo=UTC)},
    ),
]


@dataclass
class Tally:
    tried: int = 0
    rejected: int = 0  # SourceDataError from the parser
    accepted: int = 0  # a contract frame (then validated)
    quarantined_rows: int = 0
    rejected_by_validation: int = 0
    escapes: list[str] = field(default_factory=list)

    def record(self) -> None:
        add("mutations_tried", self.tried)
        add("mutations_rejected_clearly", self.rejected + self.rejected_by_validation)
        add("mutations_accepted", self.accepted)


def _check_error(exc: SourceDataError) -> str | None:
    """None when the error names a source and a field, else what is wrong with it."""
    if not exc.source or not exc.field or not str(exc).startswith(f"{exc.source}: field '{exc.field}'"):
        return f"SourceDataError without source/field: {exc}"
    return None


def _outcome(case: Case, body: bytes, context: dict[str, Any], tally: Tally, label: str) -> None:
    tally.tried += 1
    try:
        frame = parse_payload(case.kind, body, **context)
    except SourceDataError as exc:
        tally.rejected += 1
        problem = _check_error(exc)
        if problem:
            tally.escapes.append(f"{label}: {problem}")
        return
    except Exception as exc:  # the point of the test: list every other escaping type
        tally.escapes.append(f"{label}: {type(exc).__name__}: {str(exc)[:160]}")
        return
    if dict(frame.schema) != dict(case.schema):
        tally.escapes.append(f"{label}: frame off contract: {dict(frame.schema)}")
        return
    tally.accepted += 1
    if case.table is None:
        return
    try:
        validated = validate_batch(frame, case.table, f"fuzz:{case.kind}")
    except SourceDataError as exc:
        tally.rejected_by_validation += 1
        problem = _check_error(exc)
        if problem:
            tally.escapes.append(f"{label} (validation): {problem}")
        return
    except Exception as exc:
        tally.escapes.append(f"{label} (validation): {type(exc).__name__}: {str(exc)[:160]}")
        return
    tally.quarantined_rows += validated.quarantined.height
    if validated.good.height + validated.quarantined.height != frame.height:
        tally.escapes.append(f"{label}: validation lost rows")


def _fuzz_json(case: Case, folder: Path, n_tree: int, n_body: int, fixtures: Path) -> Tally:
    payload = json.loads((folder / case.file).read_bytes())
    if case.trim:
        payload = case.trim(payload)
    context = dict(case.context)
    if case.kind == "bettingpros-offers":
        context["events_frame"] = _bp_events_frame(fixtures)
    rng = random.Random(f"{SEED}:{case.kind}")
    tally = Tally()
    # the unmutated payload must parse (a control: otherwise every mutation "fails" for free)
    base = parse_payload(case.kind, json.dumps(payload).encode(), **context)
    assert base.height > 0, case.kind
    for i in range(n_tree):
        op, path, tree = _mutate_tree(payload, rng)
        body = json.dumps(tree, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")
        _outcome(case, body, context, tally, f"{case.kind}#{i} {op} @ {path}")
    raw = json.dumps(payload).encode()
    for i in range(n_body):
        op, body = _mutate_body(raw, rng)
        _outcome(case, body, context, tally, f"{case.kind}#body{i} {op}")
    return tally


def _report(tallies: dict[str, Tally], title: str) -> None:
    tried = sum(t.tried for t in tallies.values())
    print(f"\n{title}: {tried} mutations")
    for kind, t in tallies.items():
        print(
            f"  {kind:22s} tried {t.tried:4d}  parser rejected {t.rejected:4d}  accepted {t.accepted:4d}"
            f" (validation rejected {t.rejected_by_validation}, rows quarantined {t.quarantined_rows})"
            f"  escapes {len(t.escapes)}"
        )


def _run_json_fuzz(fixtures_dir: Path, local_fixtures_dir: Path, n_tree: int, n_body: int) -> None:
    tallies: dict[str, Tally] = {}
    for case in CASES:
        folder = local_fixtures_dir if case.local else fixtures_dir
        tallies[case.kind] = _fuzz_json(case, folder, n_tree, n_body, fixtures_dir)
        tallies[case.kind].record()
    _report(tallies, "parser fuzz")
    escapes = [e for t in tallies.values() for e in t.escapes]
    assert not escapes, f"{len(escapes)} mutation(s) escaped as an unexpected type:\n" + "\n".join(
        escapes[:40]
    )


def test_parsers_reject_mutated_payloads_clearly(fixtures_dir: Path, local_fixtures_dir: Path) -> None:
    _run_json_fuzz(fixtures_dir, local_fixtures_dir, n_tree=24, n_body=5)


@pytest.mark.slow
def test_parsers_reject_mutated_payloads_clearly_long(fixtures_dir: Path, local_fixtures_dir: Path) -> None:
    _run_json_fuzz(fixtures_dir, local_fixtures_dir, n_tree=400, n_body=40)


# ---------------------------------------------------------------- the injury report PDF


def _pdf_mutations(pdf: bytes, rng: random.Random, n: int) -> list[tuple[str, bytes]]:
    out = [
        ("truncated-half", pdf[: len(pdf) // 2]),
        ("no-header", pdf[8:]),
        ("html-instead", b"<!DOCTYPE html><html><body>Access Denied</body></html>"),
        ("geo-block", b"<html>Sorry, this content is not accessible in this region.</html>"),
        ("header-only", b"%PDF-1.7\n%%EOF\n"),
        # opens, then fails while a page is parsed (pdfminer: "Invalid dictionary construct")
        ("garbled-stream-dict", pdf.replace(b" 0 obj\n<<\n/Length", b' 0 obj\n<<\n/\xc8 /"#gth', 1)),
    ]
    while len(out) < n:
        data = bytearray(pdf)
        start = rng.randrange(1024, len(data) - 64)
        for j in range(rng.randint(4, 64)):
            data[start + j] = rng.randrange(256)
        out.append((f"flip@{start}", bytes(data)))
    return out[:n]


def _run_pdf_fuzz(fixtures_dir: Path, n: int) -> None:
    pdf = (fixtures_dir / "nba_injury_report_2024-01-04_12PM.pdf").read_bytes()
    rng = random.Random(f"{SEED}:injury-pdf")
    case = Case("injury-pdf", "", "injury_report", schemas.INJURY_SCHEMA)
    context = {"report_time_et": datetime(2024, 1, 4, 12, 0)}
    tally = Tally()
    for op, body in _pdf_mutations(pdf, rng, n):
        _outcome(case, body, context, tally, f"injury-pdf {op}")
    tally.record()
    _report({"injury-pdf": tally}, "injury PDF fuzz")
    assert not tally.escapes, "\n".join(tally.escapes)


def test_injury_pdf_parser_rejects_corrupt_pdfs_clearly(fixtures_dir: Path) -> None:
    _run_pdf_fuzz(fixtures_dir, 8)


@pytest.mark.slow
def test_injury_pdf_parser_rejects_corrupt_pdfs_clearly_long(fixtures_dir: Path) -> None:
    _run_pdf_fuzz(fixtures_dir, 60)


# ---------------------------------------------------------------- the lines CSV loader

CSV_VALUES = (
    "",
    " ",
    "abc",
    "1e400",
    "-1e400",
    "NaN",
    "inf",
    "99999999999999999999999",
    "-0",
    "2025-02-30",
    "2025-11-05T25:61:00Z",
    "0x1F",
    "１２",  # full-width digits
    *SQL_TEXT,
    *UNICODE_TEXT,
    "X" * 50_000,
    'quote " inside',
    "line\nbreak",
)


def _lines_base() -> pl.DataFrame:
    path = shared_dir() / "data" / "real" / "props_points_2025-26_dev_oddsapi.csv"
    if not path.exists():
        pytest.fail(f"{path} not found; set NBA_ASSETS_SHARED_DIR", pytrace=False)
    return pl.read_csv(path, infer_schema=False, n_rows=40)


def _csv_frame_mutation(base: pl.DataFrame, rng: random.Random) -> tuple[str, pl.DataFrame]:
    op = rng.choice(["cell", "cell", "cell", "drop-column", "column-dtype", "all-null-column", "no-rows"])
    col = rng.choice(GUARANTEED_COLUMNS)
    if op == "cell":
        value = rng.choice(CSV_VALUES)
        row = rng.randrange(base.height)
        frame = base.with_columns(
            pl.when(pl.int_range(pl.len()) == row).then(pl.lit(value)).otherwise(pl.col(col)).alias(col)
        )
        return f"cell {col}[{row}]={value[:30]!r}", frame
    if op == "drop-column":
        return f"drop {col}", base.drop(col)
    if op == "column-dtype":
        kind = rng.choice(["int", "float", "bool", "date", "list", "struct"])
        series = {
            "int": pl.Series(col, [7] * base.height),
            "float": pl.Series(col, [-110.0] * base.height),
            "bool": pl.Series(col, [True] * base.height),
            "date": pl.Series(col, [date(2025, 11, 5)] * base.height),
            "list": pl.Series(col, [[1, 2]] * base.height),
            "struct": pl.Series(col, [{"a": 1}] * base.height),
        }[kind]
        return f"dtype {col}={kind}", base.with_columns(series)
    if op == "all-null-column":
        return f"nulls {col}", base.with_columns(pl.lit(None, pl.Utf8).alias(col))
    return "no rows", base.clear()


def _csv_file_mutation(text: bytes, rng: random.Random) -> tuple[str, bytes]:
    op = rng.choice(["truncate", "bom", "nul", "binary", "header-only", "empty", "extra-field", "dup-header"])
    if op == "truncate":
        return op, text[: rng.randrange(1, len(text))]
    if op == "bom":
        return op, b"\xef\xbb\xbf" + text
    if op == "nul":
        cut = rng.randrange(len(text))
        return op, text[:cut] + b"\x00" + text[cut:]
    if op == "binary":
        return op, bytes(rng.randrange(256) for _ in range(2000))
    if op == "header-only":
        return op, text.split(b"\n", 1)[0] + b"\n"
    if op == "empty":
        return op, b""
    if op == "extra-field":
        lines = text.split(b"\n")
        lines[3] += b",surplus,fields"
        return op, b"\n".join(lines)
    header, rest = text.split(b"\n", 1)
    return op, header + b",line\n" + rest


def _csv_outcome(label: str, call: Callable[[], pl.DataFrame], tally: Tally) -> None:
    tally.tried += 1
    try:
        frame = call()
    except SourceDataError as exc:
        tally.rejected += 1
        if problem := _check_error(exc):
            tally.escapes.append(f"{label}: {problem}")
        return
    except Exception as exc:
        tally.escapes.append(f"{label}: {type(exc).__name__}: {str(exc)[:160]}")
        return
    if dict(frame.schema) != dict(schemas.PROPS_SCHEMA):
        tally.escapes.append(f"{label}: frame off contract")
        return
    tally.accepted += 1
    try:
        validated = validate_batch(frame, "player_props", "fuzz:lines_csv")
    except SourceDataError:
        tally.rejected_by_validation += 1
        return
    except Exception as exc:
        tally.escapes.append(f"{label} (validation): {type(exc).__name__}: {str(exc)[:160]}")
        return
    tally.quarantined_rows += validated.quarantined.height


def _run_csv_fuzz(tmp_path: Path, n_frame: int, n_file: int) -> None:
    base = _lines_base()
    assert lines_from_frame(base).height == base.height  # control
    rng = random.Random(f"{SEED}:lines-csv")
    tally = Tally()
    for i in range(n_frame):
        label, frame = _csv_frame_mutation(base, rng)
        _csv_outcome(f"lines#{i} {label}", lambda frame=frame: lines_from_frame(frame), tally)
        if label.startswith("cell") and i % 3 == 0:  # the same mutation through a file on disk
            path = tmp_path / f"m{i}.csv"
            frame.write_csv(path)
            _csv_outcome(f"lines#{i} file {label}", lambda path=path: read_lines_csv(path), tally)
    text = base.write_csv().encode()
    for i in range(n_file):
        op, body = _csv_file_mutation(text, rng)
        path = tmp_path / f"f{i}.csv"
        path.write_bytes(body)
        _csv_outcome(f"lines-file#{i} {op}", lambda path=path: read_lines_csv(path), tally)
    tally.record()
    _report({"lines-csv": tally}, "lines CSV fuzz")
    assert not tally.escapes, "\n".join(tally.escapes[:40])


def test_lines_csv_loader_rejects_mutated_lines_clearly(tmp_path: Path) -> None:
    _run_csv_fuzz(tmp_path, n_frame=60, n_file=16)


@pytest.mark.slow
def test_lines_csv_loader_rejects_mutated_lines_clearly_long(tmp_path: Path) -> None:
    _run_csv_fuzz(tmp_path, n_frame=600, n_file=120)


# ---------------------------------------------------------------- pinned shapes the long fuzz found


def test_shapes_found_by_the_long_fuzz(fixtures_dir: Path, local_fixtures_dir: Path) -> None:
    """Each input here escaped as a raw AttributeError / ComputeError / OverflowError / RecursionError /
    InvalidOperationError / PdfminerException before the fixes; now each is a SourceDataError naming
    the source and the field."""
    offers = json.loads((local_fixtures_dir / "bettingpros_v3_offers_NBA_2021-10-21_page1.json").read_bytes())
    box = json.loads((fixtures_dir / "stats_boxscoretraditionalv3_0022500165.json").read_bytes())
    cdn = json.loads((fixtures_dir / "cdn_liveData_boxscore_0022000001.json").read_bytes())
    cases: list[tuple[str, Callable[[], Any], str]] = []
    for bad_line in ("x", None, -5, [1]):
        o = copy.deepcopy(offers)
        o["offers"][0]["selections"][0]["books"][1]["lines"][0] = bad_line
        cases.append(
            (
                "bettingpros line not an object",
                lambda o=o: parse_payload("bettingpros-offers", json.dumps(o).encode()),
                ".lines[0]",
            )
        )
    for value in (10**30, -(2**63) - 1):
        b = copy.deepcopy(box)
        b["boxScoreTraditional"]["homeTeam"]["players"][0]["statistics"]["points"] = value
        cases.append(
            (
                "integer beyond Int64",
                lambda b=b: parse_payload("boxscore-v3", json.dumps(b).encode(), game_date=date(2025, 11, 4)),
                "pts",
            )
        )
    c = copy.deepcopy(cdn)
    c["game"]["homeTeam"]["players"][2]["personId"] = 10**40
    cases.append(
        ("person id beyond Int64", lambda: parse_payload("cdn-boxscore", json.dumps(c).encode()), "player_id")
    )
    cases.append(
        ("deep nesting", lambda: parse_payload("odds-api-events", b"[" * 100_000 + b"]" * 100_000), "<body>")
    )
    # found by the short fuzz under other seeds (season year: 40, 83; header: 40, 50, 80, 106, 108, 110)
    sched = _trim_schedule(json.loads((fixtures_dir / "cdn_scheduleLeagueV2_2023-24.json").read_bytes()))
    for bad_year in (SQL_TEXT[3], "2023-2024", ["2023"], True):
        s = copy.deepcopy(sched)
        s["leagueSchedule"]["seasonYear"] = bad_year
        cases.append(
            (
                "season year not a year",
                lambda s=s: parse_payload("schedule-v2", json.dumps(s).encode()),
                "seasonYear",
            )
        )
    log = json.loads((fixtures_dir / "stats_leaguegamelog_players_2025-03-15.json").read_bytes())
    for bad_header in (["PTS"], None, 3):
        g = copy.deepcopy(log)
        g["resultSets"][0]["headers"][3] = bad_header
        cases.append(
            (
                "header not a name",
                lambda g=g: parse_payload("leaguegamelog", json.dumps(g).encode()),
                "headers[3]",
            )
        )
    base = _lines_base()
    for dtype_case in (
        pl.Series("line", [[1.5]] * base.height),
        pl.Series("player_name", [{"a": 1}] * base.height),
    ):
        frame = base.with_columns(dtype_case)
        cases.append(("nested lines column", lambda frame=frame: lines_from_frame(frame), dtype_case.name))
    for label, call, fld in cases:
        add("mutations_tried")
        with pytest.raises(SourceDataError) as err:
            call()
        assert fld in err.value.field, (label, str(err.value))
        assert _check_error(err.value) is None, (label, str(err.value))


# ---------------------------------------------------------------- SQL text in values reaches DuckDB as data


def test_sql_text_in_player_names_is_stored_verbatim(fixtures_dir: Path, tmp_path: Path) -> None:
    """Parsed lines whose player names are SQL text go through the warehouse IO manager as data: the
    names come back byte for byte and the tables the text names still exist."""
    odds = json.loads(
        (fixtures_dir / "oddsapi_v4_event_odds_player_points_ORL-at-CLE_2024-02-22.json").read_bytes()
    )
    names = [*SQL_TEXT, *UNICODE_TEXT[:4]]
    players = sorted(
        {o["description"] for b in odds["bookmakers"] for m in b["markets"] for o in m["outcomes"]}
    )
    rename = dict(zip(players, names, strict=False))
    for b in odds["bookmakers"]:
        for m in b["markets"]:
            for o in m["outcomes"]:
                o["description"] = rename.get(o["description"], o["description"])
    frame = parse_payload(
        "odds-api-event-odds", json.dumps(odds).encode(), snapshot_utc=datetime(2024, 2, 22, 20, tzinfo=UTC)
    )
    good = validate_batch(frame, "player_props", "fuzz").good
    assert set(names) <= set(good["player_name"])
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE x (v INTEGER)")
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.box_scores (v INTEGER)")
        con.execute("INSERT INTO raw.box_scores VALUES (1)")

    @dg.asset(
        key=["raw", "player_props"],
        partitions_def=dg.DailyPartitionsDefinition(start_date="2024-02-01", timezone="America/New_York"),
        metadata={"partition_expr": "game_date"},
    )
    def player_props() -> pl.DataFrame:
        return good

    assert dg.materialize(
        [player_props],
        resources={"io_manager": NbaDuckDBIOManager(database=str(db))},
        partition_key="2024-02-22",
    ).success
    with duckdb.connect(str(db), read_only=True) as con:
        stored = {r[0] for r in con.execute("SELECT DISTINCT player_name FROM raw.player_props").fetchall()}
        assert con.execute("SELECT count(*) FROM x").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM raw.box_scores").fetchone() == (1,)
    assert set(names) <= stored
    add("mutations_tried", len(names))
