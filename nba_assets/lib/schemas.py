"""Table contracts of the raw layer: column dtypes, pandera models and row-level rules.

Every raw table has a DATE ``game_date`` (the ET game date, the partition key) and a
``source`` column naming where its rows came from (``archive``, ``stats.nba.com`` ...).
Parsers return frames with exactly these columns, in this order (see :func:`conform`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import polars as pl

from nba_assets.lib.errors import SourceDataError
from nba_assets.lib.teams import BY_TRICODE

UTC_DT = pl.Datetime("us", "UTC")

SCHEDULE_SCHEMA: dict[str, pl.DataType] = {
    "game_date": pl.Date(),
    "game_id": pl.Utf8(),
    "season": pl.Utf8(),  # "2025-26"
    "season_type": pl.Utf8(),  # Regular Season | Playoffs | PlayIn | Preseason | NBA Cup Final
    "tipoff_utc": UTC_DT,  # null when the source does not say
    "home_team_id": pl.Int64(),
    "home_abbr": pl.Utf8(),
    "away_team_id": pl.Int64(),
    "away_abbr": pl.Utf8(),
    "status": pl.Utf8(),  # scheduled | live | final | postponed
    "home_pts": pl.Int64(),  # null until final
    "away_pts": pl.Int64(),
    "source": pl.Utf8(),
}

BOX_SCORE_SCHEMA: dict[str, pl.DataType] = {
    "game_date": pl.Date(),
    "game_id": pl.Utf8(),
    "team_id": pl.Int64(),
    "team_abbr": pl.Utf8(),
    "opponent_abbr": pl.Utf8(),
    "is_home": pl.Boolean(),
    "player_id": pl.Int64(),
    "player_name": pl.Utf8(),
    "starter": pl.Boolean(),
    "position": pl.Utf8(),  # G/F/C for starters, "" for bench
    "played": pl.Boolean(),  # minutes > 0
    "minutes": pl.Float64(),  # decimal minutes
    "pts": pl.Int64(),
    "fgm": pl.Int64(),
    "fga": pl.Int64(),
    "fg3m": pl.Int64(),
    "fg3a": pl.Int64(),
    "ftm": pl.Int64(),
    "fta": pl.Int64(),
    "oreb": pl.Int64(),
    "dreb": pl.Int64(),
    "reb": pl.Int64(),
    "ast": pl.Int64(),
    "stl": pl.Int64(),
    "blk": pl.Int64(),
    "tov": pl.Int64(),
    "pf": pl.Int64(),
    "plus_minus": pl.Float64(),
    "status_comment": pl.Utf8(),  # "DNP - Coach's Decision", "" when played
    "source": pl.Utf8(),
}
# The box score's counting stats (pts .. pf, 0 for a player who did not play): its integer columns but ids.
BOX_SCORE_COUNTING_STATS: tuple[str, ...] = tuple(
    c for c, t in BOX_SCORE_SCHEMA.items() if t == pl.Int64() and c not in ("team_id", "player_id")
)

INJURY_SCHEMA: dict[str, pl.DataType] = {
    "game_date": pl.Date(),
    "report_time_et": pl.Datetime("us"),  # naive ET timestamp of the report edition
    "game_time_et": pl.Utf8(),  # "07:30 (ET)"
    "matchup": pl.Utf8(),  # "AWY@HOM"
    "team_abbr": pl.Utf8(),
    "player_name": pl.Utf8(),  # "Last, First" as the report prints it
    "player_id": pl.Int64(),  # resolved, null when unresolved
    "status": pl.Utf8(),  # Out | Doubtful | Questionable | Probable | Available
    "reason": pl.Utf8(),
    "source": pl.Utf8(),
}

PROPS_SCHEMA: dict[str, pl.DataType] = {
    "game_date": pl.Date(),
    "game_id": pl.Utf8(),  # NBA game id joined through the schedule, null when unmatched
    "event_id": pl.Utf8(),  # the book feed's event id
    "tipoff_utc": UTC_DT,
    "snapshot_utc": UTC_DT,  # when the line was captured (always before tip-off)
    "home_abbr": pl.Utf8(),
    "away_abbr": pl.Utf8(),
    "bookmaker": pl.Utf8(),
    "player_name": pl.Utf8(),  # as the book spells it
    "player_id": pl.Int64(),  # resolved NBA person id, null when unresolved
    # the resolved player's team in the line's game (his last box-score team before D, when it plays in
    # it); null when unresolved or when he moved (context.player_game_context decides then)
    "team_abbr": pl.Utf8(),
    # exact | alias | fuzzy | unresolved; ``empty_fetch`` on an empty-fetch marker (see below)
    "match_method": pl.Utf8(),
    "line": pl.Float64(),  # points (null only on an empty-fetch marker)
    "over_price": pl.Int64(),  # American odds
    "under_price": pl.Int64(),
    "is_main_line": pl.Boolean(),
    "source": pl.Utf8(),
}

# The raw tables' contracts by table name (``raw.<table>`` in the warehouse). dbt's sources
# (dbt_project/models/sources.yml) declare the same columns with :func:`column_type_name` types, from
# which a staging view reads an empty relation while its raw table does not exist yet; a test keeps the
# two equal.
RAW_CONTRACTS: dict[str, dict[str, pl.DataType]] = {
    "schedule": SCHEDULE_SCHEMA,
    "box_scores": BOX_SCORE_SCHEMA,
    "injury_report": INJURY_SCHEMA,
    "player_props": PROPS_SCHEMA,
}


def column_type_name(dtype: pl.DataType) -> str:
    """A raw contract column's type in the warehouse-neutral words of ``sources.yml`` (BigQuery's, in
    lower case: ``datetime`` is a naive timestamp, ``timestamp`` one in UTC); the dbt macro
    ``raw_column_type`` maps each to the warehouse's type the IO managers create for it."""
    if isinstance(dtype, pl.Datetime):
        return "timestamp" if dtype.time_zone else "datetime"
    names = {
        pl.Date: "date",
        pl.Utf8: "string",
        pl.Int64: "int64",
        pl.Float64: "float64",
        pl.Boolean: "boolean",
    }
    for polars_type, name in names.items():
        if dtype == polars_type:
            return name
    raise ValueError(f"raw contract: no warehouse-neutral type name for polars type {dtype}")


# An empty-fetch marker is a ``player_props`` row that says "this book's snapshot of this game, taken at
# ``snapshot_utc`` while the game was still upcoming, held no points line": the book was asked for the
# event and answered nothing (it pulled every line of the game, or the market). It carries the event's
# columns (date, event id, tip-off, teams), the bookmaker and the source, ``match_method`` =
# ``empty_fetch``, and nulls for the player, the line and the prices. It is the book's latest snapshot of
# the game until the book posts lines again, so nothing of that book's earlier snapshots is current.
EMPTY_FETCH = "empty_fetch"


def is_empty_fetch_marker() -> pl.Expr:
    """True on the empty-fetch markers of a ``player_props`` frame (never null)."""
    return (
        (pl.col("match_method") == EMPTY_FETCH) & pl.col("line").is_null() & pl.col("player_name").is_null()
    ).fill_null(False)


def marker_rows(props: pl.DataFrame) -> pl.Expr:
    """:func:`is_empty_fetch_marker` for ``props``; false on every row of a frame without the columns
    a marker is told by (a frame of lines only)."""
    if {"match_method", "line", "player_name"} <= set(props.columns):
        return is_empty_fetch_marker()
    return pl.lit(False)


def offered_lines(props: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``props`` that are lines (its empty-fetch markers left out)."""
    return props.filter(~marker_rows(props))


INJURY_STATUSES = ("Out", "Doubtful", "Questionable", "Probable", "Available")
SCHEDULE_STATUSES = ("scheduled", "live", "final", "postponed")
TEAM_CODES = tuple(sorted(BY_TRICODE))


def empty(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


def conform(df: pl.DataFrame, schema: dict[str, pl.DataType], source: str) -> pl.DataFrame:
    """Select and cast ``df`` to ``schema``; a missing column or failed cast names the field."""
    exprs = []
    for name, dtype in schema.items():
        if name not in df.columns:
            raise SourceDataError(source, name, "is missing from the parsed table")
        exprs.append(pl.col(name).cast(dtype, strict=True).alias(name))
    try:
        return df.select(exprs)
    except pl.exceptions.InvalidOperationError as exc:  # pragma: no cover - message from polars
        raise SourceDataError(source, "<column cast>", f"has a value of the wrong type: {exc}") from None


# ---------------------------------------------------------------- pandera frame contracts


@cache
def pandera_models() -> dict[str, Any]:
    """The pandera models per table. pandera (and the pandas it imports, ~1.5 s) is imported on the
    first validation, not with the package: most processes of the code location never validate."""
    import pandera.polars as pa

    class ScheduleModel(pa.DataFrameModel):
        game_date: pl.Date
        game_id: str = pa.Field(str_matches=r"^\d{10}$")
        home_abbr: str = pa.Field(isin=TEAM_CODES)
        away_abbr: str = pa.Field(isin=TEAM_CODES)
        status: str = pa.Field(isin=SCHEDULE_STATUSES)
        home_pts: int = pa.Field(nullable=True, ge=0, le=250)
        away_pts: int = pa.Field(nullable=True, ge=0, le=250)

        class Config:
            strict = False

    class BoxScoreModel(pa.DataFrameModel):
        game_date: pl.Date
        game_id: str = pa.Field(str_matches=r"^\d{10}$")
        team_abbr: str = pa.Field(isin=TEAM_CODES)
        opponent_abbr: str = pa.Field(isin=TEAM_CODES)
        player_id: int = pa.Field(gt=0)
        minutes: float = pa.Field(ge=0, le=75)
        pts: int = pa.Field(ge=0, le=120)

        class Config:
            strict = False
            unique = ["game_id", "player_id"]

    class InjuryModel(pa.DataFrameModel):
        game_date: pl.Date
        team_abbr: str = pa.Field(isin=TEAM_CODES)
        status: str = pa.Field(isin=INJURY_STATUSES)

        class Config:
            strict = False

    class PropsModel(pa.DataFrameModel):
        game_date: pl.Date
        bookmaker: str
        # null only on an empty-fetch marker (the row rules quarantine any other row without them)
        player_name: str = pa.Field(nullable=True)
        line: float = pa.Field(nullable=True, gt=0, lt=100)
        home_abbr: str = pa.Field(isin=TEAM_CODES)
        away_abbr: str = pa.Field(isin=TEAM_CODES)

        class Config:
            strict = False

    return {
        "schedule": ScheduleModel,
        "box_scores": BoxScoreModel,
        "injury_report": InjuryModel,
        "player_props": PropsModel,
    }


# ---------------------------------------------------------------- row-level rules (quarantine)


@dataclass(frozen=True)
class RowRule:
    """A row-level rule. ``fatal`` rules mean the payload itself is corrupt: the whole batch fails
    with a message naming the field and value. Other rules quarantine the row with ``reason``."""

    reason: str
    ok: pl.Expr  # true where the row is acceptable
    field: str = ""
    fatal: bool = False


ROW_RULES: dict[str, tuple[RowRule, ...]] = {
    "schedule": (
        RowRule("unknown home team", pl.col("home_abbr").is_in(TEAM_CODES), "home_abbr", fatal=True),
        RowRule("unknown away team", pl.col("away_abbr").is_in(TEAM_CODES), "away_abbr", fatal=True),
        # refused, not quarantined: dropping the row would drop the game from the stored schedule of its
        # date, and grading readiness would stop waiting for it (its lined players graded VOID)
        RowRule(
            "a final game without its score (home_pts/away_pts)",
            (pl.col("status") != "final")
            | (pl.col("home_pts").is_not_null() & pl.col("away_pts").is_not_null()),
            "game_id",
            fatal=True,
        ),
    ),
    "box_scores": (
        RowRule("negative minutes", pl.col("minutes").fill_null(0) >= 0, "minutes", fatal=True),
        RowRule("unknown team", pl.col("team_abbr").is_in(TEAM_CODES), "team_abbr", fatal=True),
        RowRule("unknown opponent", pl.col("opponent_abbr").is_in(TEAM_CODES), "opponent_abbr", fatal=True),
        RowRule("minutes over 75", pl.col("minutes").fill_null(0) <= 75),
        RowRule("negative stat", pl.min_horizontal("pts", "fgm", "fga", "ftm", "fta", "reb") >= 0),
        RowRule(
            "points inconsistent with makes",
            pl.col("pts") == 2 * pl.col("fgm") + pl.col("fg3m") + pl.col("ftm"),
        ),
        RowRule(
            "made more than attempted", (pl.col("fgm") <= pl.col("fga")) & (pl.col("ftm") <= pl.col("fta"))
        ),
    ),
    "injury_report": (
        RowRule("unknown team", pl.col("team_abbr").is_in(TEAM_CODES), "team_abbr", fatal=True),
        RowRule("unknown status", pl.col("status").is_in(INJURY_STATUSES)),
    ),
    "player_props": (
        RowRule(
            "empty-fetch marker with a player or price",
            (pl.col("match_method") != EMPTY_FETCH).fill_null(True)
            | (
                pl.col("line").is_null()
                & pl.col("player_name").is_null()
                & pl.col("player_id").is_null()
                & pl.col("over_price").is_null()
                & pl.col("under_price").is_null()
            ),
        ),
        RowRule("missing line", pl.col("line").is_not_null() | is_empty_fetch_marker()),
        RowRule(
            "line out of range", ((pl.col("line") > 0) & (pl.col("line") < 100)) | is_empty_fetch_marker()
        ),
        RowRule("unknown home team", pl.col("home_abbr").is_in(TEAM_CODES), "home_abbr", fatal=True),
        RowRule("unknown away team", pl.col("away_abbr").is_in(TEAM_CODES), "away_abbr", fatal=True),
        RowRule(
            "empty player name",
            (pl.col("player_name").str.strip_chars().str.len_chars() > 0) | is_empty_fetch_marker(),
        ),
        RowRule("snapshot after tip-off", pl.col("snapshot_utc") < pl.col("tipoff_utc")),
        # no side can be bet or graded (one priced side is a real offer: kept)
        RowRule(
            "line without prices",
            pl.col("over_price").is_not_null()
            | pl.col("under_price").is_not_null()
            | is_empty_fetch_marker(),
        ),
        # American odds are +100 or more, or -100 or less; a side may be unpriced (null)
        RowRule(
            "price not American odds",
            pl.all_horizontal(
                (pl.col(c).is_null() | (pl.col(c).abs() >= 100)) for c in ("over_price", "under_price")
            ),
        ),
    ),
}


def split_quarantine(
    df: pl.DataFrame, table: str, source: str = "source"
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split ``df`` into (good rows, quarantined rows with a ``quarantine_reason`` column).

    A fatal rule failing on any row raises :class:`SourceDataError` naming the field and value.
    Otherwise a row is quarantined for the first rule it fails; nulls in a rule count as failures.
    """
    rules = [r for r in ROW_RULES[table] if not r.fatal]
    for rule in (r for r in ROW_RULES[table] if r.fatal):
        bad = df.filter(rule.ok.fill_null(False).not_())
        if bad.height:
            raise SourceDataError(
                source, rule.field, f"has {rule.reason} in {bad.height} row(s)", bad[rule.field][0]
            )
    if df.is_empty():
        return df, df.with_columns(pl.lit(None, pl.Utf8).alias("quarantine_reason")).clear()
    reason = pl.lit(None, pl.Utf8)
    for rule in reversed(rules):  # first failing rule wins
        reason = pl.when(rule.ok.fill_null(False).not_()).then(pl.lit(rule.reason)).otherwise(reason)
    tagged = df.with_columns(reason.alias("quarantine_reason"))
    good = tagged.filter(pl.col("quarantine_reason").is_null()).drop("quarantine_reason")
    bad = tagged.filter(pl.col("quarantine_reason").is_not_null())
    return good, bad


def validate(df: pl.DataFrame, table: str, source: str) -> pl.DataFrame:
    """Frame-level pandera validation; the first failure names the source, column and value."""
    import pandera.polars as pa

    model = pandera_models()[table]
    try:
        return model.validate(df, lazy=False)
    except (pa.errors.SchemaError, pa.errors.SchemaErrors) as exc:
        column = getattr(getattr(exc, "schema", None), "name", None) or "<table>"
        failure = getattr(exc, "failure_cases", None)
        value = None
        if isinstance(failure, pl.DataFrame) and failure.height and "failure_case" in failure.columns:
            value = failure["failure_case"][0]
        # a duplicate key (Config.unique) fails the table, its failure cases are the duplicate rows: name
        # the key's columns and the first duplicate's key, not the model and nothing
        unique = getattr(getattr(exc, "schema", None), "unique", None)
        if value is None and isinstance(unique, list | tuple) and isinstance(failure, pl.DataFrame):
            if failure.height and set(unique) <= set(failure.columns):
                column = "/".join(unique)
                value = " ".join(str(failure[c][0]) for c in unique)
        raise SourceDataError(
            source, f"{table}.{column}", f"failed validation: {str(exc).splitlines()[0].rstrip(':')}", value
        ) from None
