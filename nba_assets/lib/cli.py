"""``nba-assets``: the command line a user debugs and runs the pipeline with.

nba-assets parse KIND FILE [--game-date D]   parse one saved payload with the pipeline's own parser, print JSON lines
nba-assets kinds               list the payload kinds ``parse`` knows
nba-assets main [--start D] [--end D]   run the pipeline for a range of game dates
nba-assets backtest --start D --end D --out CSV [--lines CSV] [--report-dir DIR] [--retrain-days N]
    [--seed N] [--calibration isotonic|platt] [--target sqrt|points]   walk-forward backtest (local)
nba-assets report --date D [--out DIR]  the day's picks (CSV, JSON) and HTML report from the warehouse
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from nba_assets.lib.env import Settings
from nba_assets.lib.errors import SourceDataError
from nba_assets.lib.modeling.config import MODEL, REAL_LINE_CALIBRATIONS, TARGETS

if TYPE_CHECKING:  # imported where used, like the other modules a command needs
    from nba_assets.lib.sources.archive import ArchiveSource

# Exit statuses: 0 done, 1 a run or an input that failed (a payload, a --lines file, the warehouse, the
# environment's settings), 2 a refused argument (argparse's usage status), so CI can tell them apart.
USAGE = 2


class UsageError(SystemExit):
    """An argument refused before anything runs: :func:`main` prints ``message`` (one line) on stderr
    and exits with status 2."""

    def __init__(self, message: str) -> None:
        super().__init__(USAGE)
        self.message = message

    def __str__(self) -> str:
        return self.message


# Payload kinds whose rows need a date the payload does not carry (``parse --game-date``).
NEEDS_GAME_DATE = frozenset({"boxscore-v3"})


def _json_default(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def cmd_parse(args: argparse.Namespace) -> int:
    from nba_assets.lib.parsers.registry import PARSERS, parse_payload

    if args.kind not in PARSERS:
        print(
            f"nba-assets parse: unknown KIND {args.kind!r}; one of: {', '.join(sorted(PARSERS))}",
            file=sys.stderr,
        )
        return USAGE
    path = Path(args.file)
    try:
        body = path.read_bytes()
    except OSError as exc:
        print(f"nba-assets parse: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return USAGE
    if args.kind in NEEDS_GAME_DATE and not args.game_date:
        print(
            f"nba-assets parse: {args.kind} needs --game-date YYYY-MM-DD (its payloads carry no date)",
            file=sys.stderr,
        )
        return USAGE
    context = {}
    if args.game_date:
        try:
            context["game_date"] = date.fromisoformat(args.game_date)
        except ValueError:
            # an argument error of parse: status 2, as its KIND and FILE (a payload that fails is 1)
            print(
                f"nba-assets parse: --game-date {args.game_date!r} is not a YYYY-MM-DD date", file=sys.stderr
            )
            return USAGE
    try:
        frame = parse_payload(args.kind, body, **context)
    except (SourceDataError, ValueError) as exc:
        print(f"nba-assets parse: {exc}", file=sys.stderr)
        return 1
    out = sys.stdout
    try:
        for row in frame.iter_rows(named=True):
            out.write(json.dumps(row, default=_json_default, ensure_ascii=False) + "\n")
        out.flush()
    except BrokenPipeError:
        # the reader stopped early (`| head`): not an error of the payload; no traceback either
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
        return 0
    print(f"{frame.height} rows", file=sys.stderr)
    return 0


def cmd_kinds(args: argparse.Namespace) -> int:
    from nba_assets.lib.parsers.registry import PARSERS

    for kind in sorted(PARSERS):
        print(kind)
    return 0


def cmd_main(args: argparse.Namespace) -> int:
    from nba_assets.lib.env import prod_setting_problems

    start, end = _date(args.start, "--start"), _date(args.end, "--end")
    _check_range("main", start, end)
    from nba_assets.lib.sources.archive import HISTORY_START  # not the runner: it loads the definitions

    if start <= HISTORY_START:
        raise UsageError(
            f"nba-assets main: --start {start} is not after {HISTORY_START}, the first date of the history: "
            "the model trains on the games before --start"
        )
    settings = _settings("main")
    if settings.env == "prod" and (problems := prod_setting_problems()):
        raise SystemExit(f"nba-assets main: {'; '.join(problems)}")
    if settings.env == "local":
        from nba_assets.lib.sources.archive import ArchiveSource

        _check_local_end("main", end, ArchiveSource())
    quiet_dagster_api_notices()
    from nba_assets.runner import run_main

    return run_main(start, end, settings)


def cmd_backtest(args: argparse.Namespace) -> int:
    from nba_assets.lib.errors import SourceDataError
    from nba_assets.lib.sources.archive import ArchiveSource
    from nba_assets.lib.sources.lines_csv import outside_window, read_lines_csv

    # Every argument is checked before anything is read or run (ingest takes minutes).
    start, end = _date(args.start, "--start"), _date(args.end, "--end")
    _check_range("backtest", start, end)
    if not 1 <= args.retrain_days <= 7:
        raise UsageError(
            f"nba-assets backtest: --retrain-days {args.retrain_days} is not in 1..7 (models retrain at least weekly)"
        )
    if args.seed < 0:
        raise UsageError(f"nba-assets backtest: --seed {args.seed} is negative (CatBoost takes 0 or more)")
    _check_writable("--out", Path(args.out), is_file=True)
    if args.report_dir:
        _check_writable("--report-dir", Path(args.report_dir), is_file=False)
    settings = _settings("backtest")
    if settings.env != "local":
        raise SystemExit(
            f"nba-assets backtest: reads the local DuckDB warehouse; in {settings.env} the warehouse is "
            "BigQuery, which the backtest does not read (run it with NBA_ASSETS_ENV=local)"
        )
    archive = ArchiveSource()
    _check_local_end("backtest", end, archive)
    lines = None
    if args.lines:
        try:
            lines = read_lines_csv(args.lines)
        except SourceDataError as exc:
            raise SystemExit(f"nba-assets backtest: {exc}") from None
        if lines.filter((lines["game_date"] >= start) & (lines["game_date"] <= end)).is_empty():
            held = (
                f"it covers {lines['game_date'].min()} .. {lines['game_date'].max()}"  # type: ignore[str-bytes-safe]
                if lines.height
                else "it is empty"
            )
            raise UsageError(
                f"nba-assets backtest: --lines {args.lines} has no lines between --start {start} and --end {end} ({held})"
            )
        if unused := outside_window(lines, start, end):
            print(f"--lines {args.lines}: {unused}", flush=True)
    else:
        lo, hi = archive.lines_window
        if end < lo or start > hi:
            raise UsageError(
                f"nba-assets backtest: no lines between --start {start} and --end {end}: the archive's lines "
                f"cover {lo} .. {hi} (give --lines a CSV for other dates)"
            )
    quiet_dagster_api_notices()
    from nba_assets.lib import backtest
    from nba_assets.runner import ensure_history

    if not ensure_history(settings, end):
        return 1
    inputs = backtest.read_inputs(settings.warehouse_path, start, end, lines)
    label = (
        f"{args.lines} ({inputs.props.height:,} resolved lines)"
        if args.lines
        else "the warehouse (raw.player_props)"
    )
    if inputs.props.is_empty():
        skipped = f"; quarantined: {inputs.quarantined}" if inputs.quarantined else ""
        raise SystemExit(
            f"nba-assets backtest: no lines with resolved players between --start {start} and --end {end} "
            f"in {label}{skipped}"
        )
    print(
        f"backtest {start} .. {end}: {inputs.props.height:,} lines, retrain every {args.retrain_days} days, "
        f"CatBoost seed {args.seed}, target {args.target}{backtest.calibration_note(args.calibration)}",
        flush=True,
    )
    result = backtest.run_backtest(
        inputs,
        start,
        end,
        args.retrain_days,
        model_cfg=replace(MODEL, seed=args.seed, real_line_calibration=args.calibration, target=args.target),
        progress=lambda m: print("  " + m, flush=True),
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result.rows.write_csv(out)
    report = backtest.write_report(
        result, start, end, Path(args.report_dir) if args.report_dir else out.parent, label
    )
    print(f"wrote {result.rows.height:,} rows to {out} and the report to {report} ({result.seconds:.0f}s)")
    print(backtest.accuracy(result.rows))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from nba_assets.lib import exports

    day = _date(args.date, "--date")
    if args.out:
        _check_writable("--out", Path(args.out), is_file=False, command="report")
    settings = _settings("report")
    if settings.env != "local":
        raise SystemExit(
            f"nba-assets report: reads the local DuckDB warehouse; in {settings.env} the reports/daily_report "
            "asset writes the report to the object store"
        )
    warehouse = settings.warehouse_path
    if not warehouse.exists():
        raise SystemExit(f"nba-assets report: no warehouse at {warehouse}; run `nba-assets main` first")
    import duckdb

    try:
        preds, grades, published = exports.read_report_inputs(warehouse, day)
    except duckdb.Error as exc:
        raise SystemExit(f"nba-assets report: cannot read {warehouse}: {exc}") from None
    if preds.is_empty() and exports.scheduled_games(warehouse, day) == 0:
        raise SystemExit(
            f"nba-assets report: the stored schedule (raw/schedule) lists no game on {day}: there are no "
            "predictions to report (the daily report asset writes none for such a date either)"
        )
    if preds.is_empty():
        lo, hi = exports.game_date_span(warehouse, "predictions.player_points_predictions")
        held = f"predictions exist for {lo} .. {hi}" if lo else "the warehouse holds no predictions"
        raise SystemExit(
            f"nba-assets report: no predictions for {day} in {warehouse} ({held}); "
            f"materialize predictions/player_points_predictions for {day} first"
        )
    report = exports.build_daily_report(preds, grades, day, published)
    out = Path(args.out) if args.out else settings.data_dir / "reports" / day.isoformat()
    out.mkdir(parents=True, exist_ok=True)
    for name, (data, _) in report.files().items():
        path = out / name
        path.write_bytes(data)
        print(path)
    s = report.summary
    print(
        f"{day}: {s['lines']:,} lines for {s['players']} players; picks "
        + ", ".join(f"{k} {v}" for k, v in s["picks"].items())
        + f"; graded through {s['last_graded_day'] or '-'}",
        file=sys.stderr,
    )
    return 0


def _date(value: str, flag: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"nba-assets: {flag} {value!r} is not a YYYY-MM-DD date") from None


def _check_range(command: str, start: date, end: date) -> None:
    if end < start:
        raise UsageError(f"nba-assets {command}: --end {end} is before --start {start}")


def _check_writable(flag: str, path: Path, *, is_file: bool, command: str = "backtest") -> None:
    """Refuse an output ``path`` the command could not write once it has run (a backtest: minutes
    later): a file path that is a directory, a folder that is a file, or a first existing ancestor that
    is a file or not writable."""
    if path.exists() and path.is_dir() == is_file:
        kind = "a directory; give the CSV file to write" if is_file else "a file, not a folder"
        raise UsageError(f"nba-assets {command}: {flag} {path} is {kind}")
    folder = path.parent if is_file else path
    ancestor = next(p for p in (folder.resolve(), *folder.resolve().parents) if p.exists())
    if not ancestor.is_dir():
        raise UsageError(f"nba-assets {command}: {flag} {path}: {ancestor} is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise UsageError(f"nba-assets {command}: {flag} {path}: {ancestor} is not writable")


def _check_local_end(command: str, end: date, archive: ArchiveSource) -> None:
    """The local warehouse is filled from the embedded archive as of now: nothing later than its last game
    date (or today) can ever be there, so an --end past it would run ingest, context and features for every
    date up to it (and a backtest would re-run them on each call: features_cover never holds) for nothing."""
    last, why = archive.last_game_date(), "the last game date of the embedded archive"
    today = datetime.now(ZoneInfo("America/New_York")).date()
    if today < last:
        last, why = today, "today (ET)"
    if end > last:
        raise UsageError(
            f"nba-assets {command}: --end {end} is after {last}, {why}; the local warehouse holds no games later"
        )


def _settings(command: str) -> Settings:
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        raise SystemExit(f"nba-assets {command}: {exc}") from None
    if settings.data_dir.exists() and not settings.data_dir.is_dir():
        raise SystemExit(
            f"nba-assets {command}: NBA_ASSETS_DATA_DIR {str(settings.data_dir)!r} is not a directory"
        )
    return settings


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="nba-assets", description="NBA player-points props pipeline tools")
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("parse", help="parse one saved payload and print its rows as JSON lines")
    p.add_argument("kind", help="payload type, e.g. boxscore-v3, cdn-boxscore, odds-api-event-odds")
    p.add_argument("file", help="path of the saved payload")
    p.add_argument("--game-date", help="ET game date for payloads that carry none (boxscore-v3)")
    p.set_defaults(func=cmd_parse)
    k = sub.add_parser("kinds", help="list the payload kinds that parse knows")
    k.set_defaults(func=cmd_kinds)
    m = sub.add_parser(
        "main", help="run the pipeline on the configured environment for a range of game dates"
    )
    m.add_argument(
        "--start",
        default="2025-10-21",
        help="first game date (ET) predicted and graded, and the model's training cutoff, default "
        "2025-10-21 (raw data, context and features are built from "
        "2022-10-18, the archive's first game date, so the model learns from the seasons before it)",
    )
    m.add_argument(
        "--end",
        default="2025-11-20",
        help="last game date (ET) built, predicted and graded, default 2025-11-20",
    )
    m.set_defaults(func=cmd_main)
    b = sub.add_parser(
        "backtest",
        help="walk-forward backtest: each date predicted only from data before it, weekly retrains",
    )
    b.add_argument("--start", required=True, help="first game date (ET)")
    b.add_argument("--end", required=True, help="last game date (ET)")
    b.add_argument(
        "--lines", help="lines CSV (columns of props_points_2025-26_dev_oddsapi.csv); default: the archive's"
    )
    b.add_argument("--out", required=True, help="output CSV: one row per player x line x system")
    b.add_argument(
        "--report-dir", help="where backtest_report.md and the PNG plots go (default: beside --out)"
    )
    b.add_argument("--retrain-days", type=int, default=7, help="days between retrains (1..7, default 7)")
    b.add_argument(
        "--seed",
        type=int,
        default=MODEL.seed,
        help=f"CatBoost seed of every weekly model (default {MODEL.seed}, the shipped one); the README judges "
        "a gain over several seeds",
    )
    b.add_argument(
        "--calibration",
        choices=REAL_LINE_CALIBRATIONS,
        default=MODEL.real_line_calibration,
        help=f"map of catboost's P(over) in the weeks calibrated on real lines (default "
        f"{MODEL.real_line_calibration}, the shipped one; platt: a logistic regression on logit(p)); "
        "synthetic-line weeks, catboost_line and the baselines stay isotonic",
    )
    b.add_argument(
        "--target",
        choices=TARGETS,
        default=MODEL.target,
        help=f"what CatBoost learns (default {MODEL.target}, the shipped one: sqrt(points), served as its "
        "square plus its residual variance; points: the points themselves, as shipped until 2026-12-07)",
    )
    b.set_defaults(func=cmd_backtest)
    r = sub.add_parser(
        "report", help="write the day's picks (CSV, JSON) and HTML report from the local DuckDB warehouse"
    )
    r.add_argument("--date", required=True, help="game date (ET), YYYY-MM-DD")
    r.add_argument("--out", help="output folder (default: <data dir>/reports/<date>/)")
    r.set_defaults(func=cmd_report)
    return ap


def quiet_dagster_api_notices() -> None:
    """Hide Dagster's notices about the stability of APIs the definitions use (its beta, preview and
    superseded warning classes, no other warning), printed as ~36 lines each time a command loads
    them: nothing a user of the command can act on (the `dagster` CLI and the UI's logs still show
    them). Called by the commands that load the definitions, just before: the others never import
    dagster."""
    import dagster as dg

    for notice in (dg.BetaWarning, dg.PreviewWarning, dg.SupersessionWarning):
        warnings.filterwarnings("ignore", category=notice)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except UsageError as exc:
        print(exc.message, file=sys.stderr)
        raise


if __name__ == "__main__":
    sys.exit(main())
