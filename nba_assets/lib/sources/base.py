"""What every source answers for a set of game dates, live or archive, with the same contracts."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date, datetime

import polars as pl

# Columns of the player history a resolver may use (games strictly before the date asked for).
HISTORY_COLUMNS = ("game_date", "player_id", "player_name", "team_abbr")


@dataclass
class SourceBatch:
    """Rows in a raw table contract, plus what a user should know about where they came from."""

    frame: pl.DataFrame
    source: str
    payload_keys: list[str] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)
    # game date (ISO) -> why a fallback source answered for it instead of the primary one (for the injury
    # report: why an earlier edition's rows were kept instead of the latest edition's)
    fallbacks: dict[str, str] = field(default_factory=dict)
    # numbers worth plotting across materializations (The Odds API's credits left and used)
    metrics: dict[str, float] = field(default_factory=dict)


class NbaSource(ABC):
    """Answers for game dates (ET). ``as_of`` is the moment of asking (UTC): nothing that happened
    after it is returned, so a pre-game call never sees a result, a box score or a later line."""

    name: str

    @abstractmethod
    def schedule(self, dates: list[date], as_of: datetime) -> SourceBatch: ...

    @abstractmethod
    def box_scores(self, schedule: pl.DataFrame, as_of: datetime) -> SourceBatch:
        """Player rows of the games in ``schedule`` that are final by ``as_of``."""

    @abstractmethod
    def injury_report(
        self, dates: list[date], as_of: datetime, schedule: pl.DataFrame | None = None
    ) -> SourceBatch:
        """The latest report before ``as_of``; with ``schedule`` (the dates' games and tip-offs), each
        game's rows come from the latest edition issued before that game's tip-off."""

    @abstractmethod
    def player_props(self, dates: list[date], as_of: datetime, *, ledger: bool = True) -> SourceBatch:
        """Points lines captured before ``as_of`` and before tip-off; names unresolved. A source that
        keeps a ledger of the snapshots it saw reads and extends it unless ``ledger`` is False (a
        probe of the current offer only, such as the line-refresh sensor's)."""

    def line_dates(self, dates: list[date]) -> list[date]:
        """The dates among ``dates`` for which this source can have lines at all."""
        return list(dates)

    def injury_report_dates(self, dates: list[date]) -> list[date]:
        """The dates among ``dates`` for which this source can have an injury report at all."""
        return list(dates)

    @abstractmethod
    def player_history(self, before: date, since: date) -> pl.DataFrame:
        """Player-team rows of games with ``since <= game_date < before`` (for identity)."""

    @abstractmethod
    def player_directory(self) -> pl.DataFrame:
        """Reference identity data (player_id, player_name): who exists, not how they played."""
