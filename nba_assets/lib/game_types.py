"""Which NBA game types the platform models, by game-id prefix (``SEASON_TYPE_BY_PREFIX``).

The raw layer keeps every game the sources report, preseason and All-Star included: it is real data,
archived as the source said it. Everything built on it (the dbt staging views and so the context
models, the feature store, predictions) uses only the game types the model is built on: the regular
season (``002``), the play-in (``005``), the playoffs (``004``) and the NBA Cup final (``006``). The
postseason and the Cup final are not training rows (``modeling.train.training_rows`` keeps ``002``),
but they are real competitive games, so the rolling features of the next games include them.

Preseason (``001``) and All-Star (``003``) games are left out: the archive the model is trained on
holds none, so a preseason game counted in a live run would change an opener's rest days, recent
averages, season games and team win share in a way training never saw. A line posted on such a game
is not predicted: every system's row is a PASS with the reason below, counted like any skip.

``dbt_project/macros/game_types.sql`` states the same prefixes in SQL; a test keeps the two equal.
"""

from __future__ import annotations

import polars as pl

# prefix -> the skip reason of a line posted on such a game (predictions)
UNMODELED_GAME_PREFIXES: dict[str, str] = {"001": "preseason_game", "003": "all_star_game"}


def unmodeled_reason(game_id: str | pl.Expr = "game_id") -> pl.Expr:
    """The skip reason of a game id the platform does not model; null for modeled (or null) ids."""
    col = pl.col(game_id) if isinstance(game_id, str) else game_id
    return col.cast(pl.Utf8).str.slice(0, 3).replace_strict(UNMODELED_GAME_PREFIXES, default=None)


def is_modeled(game_id: str | pl.Expr = "game_id") -> pl.Expr:
    """True for a game id of a modeled game type (and for a null id: nothing says otherwise)."""
    return unmodeled_reason(game_id).is_null()


def modeled_only(frame: pl.DataFrame, column: str = "game_id") -> pl.DataFrame:
    """``frame`` without rows of preseason / All-Star games (unchanged when it has no ``column``)."""
    if column not in frame.columns or frame.is_empty():
        return frame
    return frame.filter(is_modeled(column))


def games_to_play(schedule: pl.DataFrame) -> pl.DataFrame:
    """The games of ``schedule`` the platform models that are not postponed: the ones expected to be
    played on their date (a schedule without ``game_id`` or ``status`` is not filtered on it)."""
    games = modeled_only(schedule)
    if "status" in games.columns:
        games = games.filter(pl.col("status") != "postponed")
    return games
