"""Fingerprints of the lines offered for a day, per game: what the line refresh compares to tell a move.

The stored ``raw/player_props`` partitions record them (the lines the day's predictions were made from) and
``refresh_lines_sensor`` computes them from its probe; both read only each book's current offer.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import polars as pl

from nba_assets.lib.modeling.decisions import latest_snapshot
from nba_assets.lib.schemas import marker_rows

ET = ZoneInfo("America/New_York")

LINE_COLUMNS = ["player_name", "bookmaker", "line", "over_price", "under_price"]


@dataclass(frozen=True)
class GameLines:
    """The current lines of one game: a short hash of (player, book, line, prices) and its tip-off."""

    digest: str
    tipoff_utc: datetime | None


def current_lines(props: pl.DataFrame) -> pl.DataFrame:
    """Each book's latest snapshot per game: a source that returns history (the archive does)
    and one that returns only now (the live feed) give the same current state. A book whose latest
    snapshot is an empty-fetch marker has no current line (as in ``decisions.current_offers``)."""
    if props.is_empty():
        return props
    return latest_snapshot(props, ["home_abbr", "away_abbr", "bookmaker"]).filter(~marker_rows(props))


def line_fingerprints(props: pl.DataFrame) -> dict[str, GameLines]:
    """Per game (``AWY@HOM``), a fingerprint of its current lines. Snapshot times are left out:
    a re-poll that finds the same lines must not look like a move."""
    games: dict[str, GameLines] = {}
    cur = current_lines(props)
    if cur.is_empty():
        return games
    for (away, home), rows in cur.group_by(["away_abbr", "home_abbr"]):
        ordered = rows.select(LINE_COLUMNS).sort(LINE_COLUMNS, nulls_last=True)
        blob = json.dumps(ordered.rows(), default=str).encode()
        games[f"{away}@{home}"] = GameLines(
            hashlib.sha256(blob).hexdigest()[:16],
            rows["tipoff_utc"].drop_nulls().min(),  # type: ignore[arg-type]
        )
    return games


# On each stored ``raw/player_props`` partition a refresh sensor may still look at (its date not before the
# run's as-of ET date): the fingerprints of the lines stored, per game, as ``lines_decision``'s cursor holds
# them. The first look of a day compares the probe with these, not with itself.
STORED_LINES_METADATA = "current_lines_by_game"


def game_lines_doc(games: dict[str, GameLines]) -> dict[str, list]:
    """``games`` as the cursor (and the stored lines' metadata) hold them: ``{game: [digest, tipoff]}``."""
    return {g: [gl.digest, gl.tipoff_utc.isoformat() if gl.tipoff_utc else None] for g, gl in games.items()}


def stored_lines_by_date(
    props: pl.DataFrame, dates: list[date], as_of: datetime
) -> dict[str, dict[str, list]]:
    """The fingerprints of the current lines of ``props`` (a ``raw/player_props`` batch as stored) per
    date of ``dates`` not before the ET date of ``as_of`` (``game_lines_doc`` form; ``{}``: no line),
    for the stored partitions' metadata. Earlier dates are left out: no sensor looks at them again, and
    a history backfill's thousand dates would pay for fingerprints nobody reads."""
    if as_of.tzinfo is None:
        raise ValueError(f"{as_of!r} is naive; pass an aware datetime")
    first = as_of.astimezone(ET).date()
    out: dict[str, dict[str, list]] = {}
    for day in dates:
        if day < first:
            continue
        rows = props.filter(pl.col("game_date") == day) if "game_date" in props.columns else props
        out[day.isoformat()] = game_lines_doc(line_fingerprints(rows))
    return out
