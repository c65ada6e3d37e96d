"""The embedded archive: real historical data shipped as parquet in ``nba_assets/data``.

It answers like the live sources do, as of a moment: a game counts as final three hours after
tip-off (03:00 ET the next day when the archive does not know the tip-off), and lines are only
those captured before both ``as_of`` and tip-off.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from nba_assets.lib import schemas
from nba_assets.lib.sources.base import HISTORY_COLUMNS, NbaSource, SourceBatch

ET = ZoneInfo("America/New_York")
DEFAULT_ARCHIVE_DIR = Path(__file__).resolve().parents[2] / "data"
GAME_LENGTH = timedelta(hours=3)
HISTORY_START = date(2022, 10, 18)  # first game date of the archive
SOURCE = "archive"
NO_INJURY_NOTE = "the archive holds no injury reports (none exist in the shipped real data); none is invented"


def final_after(game_date: date) -> datetime:
    """When a game of unknown tip-off counts as final: 03:00 ET the next day, in UTC."""
    return datetime.combine(game_date + timedelta(days=1), time(3), ET).astimezone(UTC)


class ArchiveSource(NbaSource):
    name = SOURCE

    def __init__(self, archive_dir: str | Path | None = None) -> None:
        self.dir = Path(archive_dir) if archive_dir else DEFAULT_ARCHIVE_DIR
        for f in ("games.parquet", "box_scores.parquet", "props_points.parquet"):
            if not (self.dir / f).exists():
                raise FileNotFoundError(f"archive: {self.dir / f} is missing; run scripts/build_archive.py")

    @cached_property
    def provenance(self) -> dict:
        return json.loads((self.dir / "PROVENANCE.json").read_text())

    @cached_property
    def _games(self) -> pl.DataFrame:
        return pl.read_parquet(self.dir / "games.parquet")

    @cached_property
    def _box(self) -> pl.DataFrame:
        return pl.read_parquet(self.dir / "box_scores.parquet")

    @cached_property
    def _lines(self) -> pl.DataFrame:
        return pl.read_parquet(self.dir / "props_points.parquet")

    def _notes(self) -> dict[str, str]:
        return {"archive": str(self.dir), "lines_window": " .. ".join(self.provenance["lines_window"])}

    def schedule(self, dates: list[date], as_of: datetime) -> SourceBatch:
        games = self._games.filter(pl.col("game_date").is_in(dates))
        final_at = pl.coalesce(
            pl.col("tipoff_utc") + GAME_LENGTH,
            pl.col("game_date").map_elements(final_after, return_dtype=schemas.UTC_DT),
        )
        started = pl.col("tipoff_utc").is_not_null() & (pl.col("tipoff_utc") <= as_of)
        is_final = final_at <= as_of
        frame = games.with_columns(
            pl.when(is_final)
            .then(pl.lit("final"))
            .when(started)
            .then(pl.lit("live"))
            .otherwise(pl.lit("scheduled"))
            .alias("status"),
            pl.when(is_final).then(pl.col("home_pts")).alias("home_pts"),
            pl.when(is_final).then(pl.col("away_pts")).alias("away_pts"),
            pl.lit(SOURCE).alias("source"),
        )
        return SourceBatch(
            schemas.conform(frame, schemas.SCHEDULE_SCHEMA, SOURCE), SOURCE, notes=self._notes()
        )

    def box_scores(self, schedule: pl.DataFrame, as_of: datetime) -> SourceBatch:
        final_ids = schedule.filter(pl.col("status") == "final")["game_id"].to_list()
        rows = self._box.filter(pl.col("game_id").is_in(final_ids)).with_columns(
            pl.lit(SOURCE).alias("source")
        )
        return SourceBatch(
            schemas.conform(rows, schemas.BOX_SCORE_SCHEMA, SOURCE), SOURCE, notes=self._notes()
        )

    def injury_report(
        self, dates: list[date], as_of: datetime, schedule: pl.DataFrame | None = None
    ) -> SourceBatch:
        notes = {**self._notes(), "injury_report": NO_INJURY_NOTE}
        return SourceBatch(schemas.empty(schemas.INJURY_SCHEMA), SOURCE, notes=notes)

    def injury_report_dates(self, dates: list[date]) -> list[date]:
        """None: the archive holds no injury report (``NO_INJURY_NOTE``)."""
        return []

    def player_props(self, dates: list[date], as_of: datetime, *, ledger: bool = True) -> SourceBatch:
        lines = self._lines.filter(
            pl.col("game_date").is_in(dates)
            & (pl.col("snapshot_utc") <= as_of)
            & (pl.col("snapshot_utc") < pl.col("tipoff_utc"))
        )
        frame = lines.with_columns(
            pl.lit(None, pl.Utf8).alias("game_id"),
            pl.lit(None, pl.Int64).alias("player_id"),
            pl.lit(None, pl.Utf8).alias("team_abbr"),
            pl.lit("unresolved").alias("match_method"),
            pl.lit("archive:the-odds-api").alias("source"),
        )
        notes = self._notes()
        outside = set(dates) - set(self.line_dates(dates))
        if outside:
            notes["lines_coverage"] = (
                f"{len(outside)} of {len(dates)} dates are outside the archive's lines window"
            )
        return SourceBatch(schemas.conform(frame, schemas.PROPS_SCHEMA, SOURCE), SOURCE, notes=notes)

    @property
    def lines_window(self) -> tuple[date, date]:
        """First and last game date of the archive's lines."""
        lo, hi = (date.fromisoformat(d) for d in self.provenance["lines_window"])
        return lo, hi

    def line_dates(self, dates: list[date]) -> list[date]:
        lo, hi = self.lines_window
        return [d for d in dates if lo <= d <= hi]

    def last_game_date(self) -> date:
        """The archive's last game date: the local environment's warehouse holds nothing later."""
        return pl.scan_parquet(self.dir / "games.parquet").select(pl.col("game_date").max()).collect().item()

    def player_history(self, before: date, since: date) -> pl.DataFrame:
        return self._box.filter(pl.col("game_date").is_between(since, before, closed="left")).select(
            HISTORY_COLUMNS
        )

    def player_directory(self) -> pl.DataFrame:
        return (
            self._box.select("player_id", "player_name")
            .unique(subset="player_id", keep="last")
            .sort("player_id")
        )
