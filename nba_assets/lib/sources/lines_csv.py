"""Points lines from a CSV in the layout of ``props_points_2025-26_dev_oddsapi.csv``.

Only the columns that layout guarantees are read (:data:`GUARANTEED_COLUMNS`); outcome and join
columns (``actual_pts``, ``player_id``, ``game_id`` ...) may be present and are never read, so a
lines file can't leak results into a backtest. Rows are returned in the raw ``player_props``
contract, unresolved (player ids are resolved point-in-time by the identity resolver).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from nba_assets.lib import schemas
from nba_assets.lib.errors import SourceDataError
from nba_assets.lib.teams import tricode

GUARANTEED_COLUMNS = (
    "game_date",
    "game_time_utc",
    "snapshot_utc",
    "event_id",
    "home_abbr",
    "away_abbr",
    "player_name",
    "bookmaker",
    "line",
    "over_odds",
    "under_odds",
    "is_main_line",
)
# values every line has (is_main_line too, refused below with its own words): a blank game_date dropped
# the line from the window without a word, a blank time quarantined it as a snapshot after tip-off, and a
# blank team or book failed the raw contract only once the warehouse was extended, naming no file or row
REQUIRED_VALUES = ("game_date", "game_time_utc", "snapshot_utc", "home_abbr", "away_abbr", "bookmaker")
UTC = pl.Datetime("us", "UTC")


def lines_from_frame(frame: pl.DataFrame, source: str = "lines_csv") -> pl.DataFrame:
    """The guaranteed columns of ``frame`` (all read as text) as rows of the raw props contract."""
    missing = [c for c in GUARANTEED_COLUMNS if c not in frame.columns]
    if missing:
        raise SourceDataError(source, missing[0], "is missing from the header", ",".join(frame.columns[:12]))
    for c in GUARANTEED_COLUMNS:  # a nested column (list ...) has no text form to parse
        if frame.schema[c].is_nested():
            raise SourceDataError(source, c, "is not a text column", str(frame.schema[c]))
    # each row's line of the file (the header is line 1), for the errors; a blank line of the file, which
    # polars reads as a row of nulls, holds no line: skipped (it was refused as a blank is_main_line)
    blank_lines = frame.select(pl.all_horizontal(pl.all().is_null())).to_series()
    f = frame.select(
        *[pl.col(c).cast(pl.Utf8) for c in GUARANTEED_COLUMNS], pl.int_range(2, pl.len() + 2).alias("_line")
    ).filter(~blank_lines)
    for c in REQUIRED_VALUES:
        blank = f[c].is_null() | (f[c].str.strip_chars() == "")
        if blank.any():
            raise SourceDataError(source, c, f"is empty on {blank.sum()} line(s), first {_where(f, blank)}")
    casts: dict[str, pl.Expr] = {
        "game_date": pl.col("game_date").str.strip_chars().str.to_date("%Y-%m-%d", strict=True),
        "tipoff_utc": pl.col("game_time_utc").str.strip_chars().str.to_datetime(time_zone="UTC", strict=True),
        "snapshot_utc": pl.col("snapshot_utc")
        .str.strip_chars()
        .str.to_datetime(time_zone="UTC", strict=True),
        "line": pl.col("line").str.strip_chars().cast(pl.Float64, strict=True),
        "over_price": pl.col("over_odds").str.strip_chars().cast(pl.Float64, strict=True),
        "under_price": pl.col("under_odds").str.strip_chars().cast(pl.Float64, strict=True),
        # 0/1 as the dev file writes it; true/false (any case) as a dataframe library writes a boolean
        "is_main_line": pl.col("is_main_line")
        .str.strip_chars()
        .str.to_lowercase()
        .replace({"true": "1", "false": "0"})
        .cast(pl.Float64, strict=True),
    }
    origin = {
        "tipoff_utc": "game_time_utc",
        "over_price": "over_odds",
        "under_price": "under_odds",
    }
    parsed: dict[str, pl.Series] = {}
    for name, expr in casts.items():
        column = origin.get(name, name)
        try:
            parsed[name] = f.select(expr.alias(name)).to_series()
        except (pl.exceptions.InvalidOperationError, pl.exceptions.ComputeError):
            bad = _first_bad(f[column], expr, column)
            at = f" on {_where(f, f[column] == bad)}" if bad is not None else ""
            raise SourceDataError(source, column, f"does not parse{at}", bad) from None
        # a value that is present but parsed to null is as bad as one that raised
        nulls = parsed[name].is_null() & f[column].is_not_null() & (f[column].str.strip_chars() != "")
        if nulls.any():
            raise SourceDataError(
                source, column, f"does not parse on {_where(f, nulls)}", f[column].filter(nulls)[0]
            )
    # the game's ET date, as the feed's is derived in production (every line of the dev file): a file dated
    # by UTC moved every evening game to the next date, where the schedule has no such game (PASSed
    # unscheduled_game) or its team's next game (predicted and graded on that game)
    et = parsed["tipoff_utc"].dt.convert_time_zone("America/New_York").dt.date()
    off = et != parsed["game_date"]
    if off.any():
        i = int(off.arg_true()[0])
        raise SourceDataError(
            source,
            "game_date",
            f"is not the ET date of game_time_utc on {off.sum()} line(s), first {_where(f, off)}: "
            f"tip-off {f['game_time_utc'][i]} is on {et[i]} in New York",
            f["game_date"][i],
        )
    for name in ("over_price", "under_price"):
        s = parsed[name]
        bad = s.is_not_null() & ((s.abs() < 100) | (s.abs() > 100_000) | (s != s.round(0)))
        if bad.any():
            raise SourceDataError(
                source, origin[name], f"is not an American price on {_where(f, bad)}", s.filter(bad)[0]
            )
    main = parsed["is_main_line"]
    bad = main.is_not_null() & ~main.is_in([0.0, 1.0])
    if bad.any():
        raise SourceDataError(
            source, "is_main_line", f"is not 0 or 1 on {_where(f, bad)}", main.filter(bad)[0]
        )
    if main.is_null().any():
        # a blank would make the line neither main nor alternate: out of the consensus and every
        # main-line figure, silently
        first = f.filter(main.is_null()).row(0, named=True)
        raise SourceDataError(
            source,
            "is_main_line",
            f"is empty (0 or 1 on every line) on line {first['_line']} of the file",
            f"{first['player_name']} {first['line']} at {first['bookmaker']} on {first['game_date']}",
        )
    out = pl.DataFrame(
        {
            "game_date": parsed["game_date"],
            "game_id": pl.Series([None] * f.height, dtype=pl.Utf8),
            "event_id": f["event_id"].str.strip_chars(),
            "tipoff_utc": parsed["tipoff_utc"].cast(UTC),
            "snapshot_utc": parsed["snapshot_utc"].cast(UTC),
            "home_abbr": _team_codes(f, "home_abbr", source),
            "away_abbr": _team_codes(f, "away_abbr", source),
            "bookmaker": f["bookmaker"].str.strip_chars(),
            "player_name": f["player_name"].str.strip_chars(),
            "player_id": pl.Series([None] * f.height, dtype=pl.Int64),
            "team_abbr": pl.Series([None] * f.height, dtype=pl.Utf8),
            "match_method": pl.Series(["unresolved"] * f.height, dtype=pl.Utf8),
            "line": parsed["line"],
            "over_price": parsed["over_price"].cast(pl.Int64),
            "under_price": parsed["under_price"].cast(pl.Int64),
            "is_main_line": parsed["is_main_line"] == 1.0,
            "source": pl.Series([source] * f.height, dtype=pl.Utf8),
        }
    )
    return schemas.conform(out, schemas.PROPS_SCHEMA, source)


def _team_codes(f: pl.DataFrame, column: str, source: str) -> pl.Series:
    """``column`` as NBA tricodes: a book's spelling (NO, GS, PHO, UTAH, BRK, a full name: the aliases of
    :func:`nba_assets.lib.teams.tricode`) is its team; an unknown team is refused, naming its line (it
    failed the raw contract only once the warehouse was extended, naming no file or row)."""
    codes: dict[str, str] = {}
    for value in f[column].unique().to_list():
        try:
            codes[value] = tricode(value, source, column)
        except SourceDataError:
            bad = f[column] == value
            raise SourceDataError(
                source,
                column,
                f"is not a known NBA team on {bad.sum()} line(s), first {_where(f, bad)}",
                value,
            ) from None
    return f[column].replace_strict(codes, return_dtype=pl.Utf8)


def _where(f: pl.DataFrame, bad: pl.Series) -> str:
    """The first row of ``f`` flagged by ``bad``: its line of the file (``_line``) and the line."""
    r = f.row(int(bad.arg_true()[0]), named=True)
    return f"line {r['_line']} of the file ({r['player_name']} {r['line']} at {r['bookmaker']} on {r['game_date']})"


def _first_bad(values: pl.Series, expr: pl.Expr, column: str) -> object:
    for value in values:
        try:
            pl.DataFrame({column: [value]}, schema={column: pl.Utf8}).select(expr)
        except Exception:
            return value
    return None


def read_lines_csv(path: str | Path) -> pl.DataFrame:
    """Read a lines CSV (every column as text) and return its lines; errors name the file and field."""
    p = Path(path)
    source = f"lines_csv:{p.name}"
    if not p.exists():
        raise SourceDataError(source, "path", "does not exist", str(p))
    if not p.is_file():
        raise SourceDataError(source, "path", "is not a file (a directory?)", str(p))
    try:
        frame = pl.read_csv(p, infer_schema=False)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError, OSError) as exc:
        raise SourceDataError(
            source, "file", f"is not a readable CSV ({type(exc).__name__}: {_unreadable(p, exc)})", p.name
        ) from None
    return lines_from_frame(frame, source)


def _unreadable(p: Path, exc: Exception) -> str:
    """Why polars could not read ``p``: text that is not UTF-8 (an export saved in a Windows code page), named
    at its line, else polars' own first line (it said only the exception's class)."""
    try:
        data = p.read_bytes()
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        return f"not UTF-8 at line {line} of the file, byte {data[err.start]:#04x}: save it as UTF-8"
    except OSError:
        pass
    reason = str(exc).strip().splitlines()
    return reason[0][:200] if reason else "no detail"


def outside_window(lines: pl.DataFrame, start: date, end: date) -> str:
    """ "" when every line of ``lines`` (:func:`read_lines_csv`'s frame) is dated ``start`` .. ``end``,
    else a sentence saying how many are not, and their dates: the backtest predicts only its window, and
    the file's lines outside it (before it too: the weeks before ``start`` keep the warehouse's lines)
    are not used."""
    outside = lines.filter(~pl.col("game_date").is_between(start, end))
    if outside.is_empty():
        return ""
    first, last, n = outside.select(
        pl.col("game_date").min().alias("first"),
        pl.col("game_date").max().alias("last"),
        pl.col("game_date").n_unique().alias("n"),
    ).row(0)
    return (
        f"{outside.height:,} of the file's {lines.height:,} lines are dated outside {start} .. {end} "
        f"({first} .. {last}, {n} dates) and are not used"
    )
