"""The raw layer's logic: validation, identity, and the numbers behind its asset checks.

Pure functions over polars frames; the Dagster assets in ``nba_assets.defs.raw`` only call them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl

from nba_assets.lib import schemas
from nba_assets.lib.errors import SourceDataError
from nba_assets.lib.game_types import games_to_play, is_modeled

# Thresholds of the raw checks, in one place.
MAX_GAMES_PER_DATE = 16
MIN_PLAYERS_WITH_MINUTES = 5
MAX_UNRESOLVED_SHARE = 0.02
MIN_PROPS_COVERAGE = 0.8
# A main-line value posted for more than this share of a date's players is a filled-in default.
MAX_SAME_LINE_SHARE = 0.25
# Values feeds fill in; a real line may sit there too (reported, never refused on the value alone).
KNOWN_PLACEHOLDER_LINES = (0.0, 20.0)
BOX_SCORE_GRACE = timedelta(hours=6)


@dataclass
class Validated:
    good: pl.DataFrame
    quarantined: pl.DataFrame

    @property
    def quarantine_reasons(self) -> dict[str, int]:
        if self.quarantined.is_empty():
            return {}
        counts = self.quarantined.group_by("quarantine_reason").len().sort("quarantine_reason")
        return dict(counts.iter_rows())


def validate_batch(frame: pl.DataFrame, table: str, source: str) -> Validated:
    """Contract, then row rules (fatal ones raise), then pandera on what will be stored."""
    contract = schemas.RAW_CONTRACTS[table]
    frame = schemas.conform(frame, contract, source)
    good, bad = schemas.split_quarantine(frame, table, source)
    # batch-level rules: a batch that breaks one is refused whole, before anything is stored, so the
    # stored partitions keep their previous rows (row-level problems are quarantined above)
    if table == "box_scores":
        require_both_teams(good, source)
    elif table == "schedule":
        refuse_duplicate_games(good, source)
    elif table == "player_props":
        refuse_filled_in_lines(frame, source)
    schemas.validate(good, table, source)
    return Validated(good, bad)


def require_both_teams(box: pl.DataFrame, source: str) -> None:
    """Every game of a box-score batch has rows of both its teams (each row's ``opponent_abbr`` has
    rows of its own). Half a box score fails the batch, naming the game and the missing team, so it
    never replaces the stored rows of the date."""
    teams = box.select("game_id", "team_abbr").unique()
    missing = (
        box.select("game_id", team_abbr=pl.col("opponent_abbr"))
        .unique()
        .join(teams, on=["game_id", "team_abbr"], how="anti")
        .sort("game_id", "team_abbr")
    )
    if missing.height:
        first = missing.row(0, named=True)
        raise SourceDataError(
            source,
            "team_abbr",
            f"has no player of a team of its game in {missing.height} team-game(s), first game "
            f"{first['game_id']} without {first['team_abbr']}",
            f"{first['game_id']} {first['team_abbr']}",
        )


def parse_as_of(value: str | None) -> datetime:
    """``as_of`` from run config: an ISO timestamp (naive = UTC) or empty for now."""
    if not value:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise SourceDataError("run config", "as_of_utc", "is not an ISO-8601 timestamp", value) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# ---------------------------------------------------------------- props: games and identity


def attach_game_ids(props: pl.DataFrame, schedule: pl.DataFrame) -> pl.DataFrame:
    """Fill ``game_id`` from the schedule by (game_date, home, away), or by the same two teams the other
    way round: at a neutral site (Paris, Mexico City, the Cup's Las Vegas rounds) a book can name as home
    the team the NBA lists away. A team plays once a date, so the pair names one game either way."""
    on = ["game_date", "home_abbr", "away_abbr"]
    games = schedule.select(*on, pl.col("game_id").alias("_gid"))
    swapped = games.select(
        "game_date", pl.col("away_abbr").alias("home_abbr"), pl.col("home_abbr").alias("away_abbr"), "_gid"
    )
    # the schedule's own orientation first: it wins when a pair is listed both ways
    keys = pl.concat([games, swapped]).unique(subset=on, keep="first", maintain_order=True)
    return (
        props.join(keys, on=on, how="left", maintain_order="left")
        .with_columns(pl.coalesce("game_id", "_gid").alias("game_id"))
        .drop("_gid")
    )


# ---------------------------------------------------------------- check computations


@dataclass
class CheckOutcome:
    passed: bool
    metadata: dict[str, Any]
    severity: str = "ERROR"  # ERROR blocks downstream when the check is blocking; WARN informs


def duplicate_game_ids(schedule: pl.DataFrame) -> pl.Series:
    """Game ids listed twice on a date, or not postponed on two dates, sorted. A postponed game keeps
    its id when it is played on another date: its postponed row and its played row are one game."""
    per_date = schedule.group_by("game_id", "game_date").len().filter(pl.col("len") > 1)
    played = (
        schedule.filter(pl.col("status") != "postponed").group_by("game_id").len().filter(pl.col("len") > 1)
    )
    return pl.concat([per_date["game_id"], played["game_id"]]).unique().sort()


def refuse_duplicate_games(schedule: pl.DataFrame, source: str) -> None:
    """A schedule batch listing a game twice (:func:`duplicate_game_ids`) is refused whole, naming the
    first game and its dates, so it never replaces the stored schedule of its dates."""
    dup = duplicate_game_ids(schedule)
    if dup.is_empty():
        return
    first = dup[0]
    rows = schedule.filter(pl.col("game_id") == first).sort("game_date")
    listed = ", ".join(f"{r['game_date']} {r['status']}" for r in rows.iter_rows(named=True))
    raise SourceDataError(
        source,
        "game_id",
        f"lists {dup.len()} game(s) more than once (each game once a date, at most once not postponed), "
        f"first {first}: {listed}",
        first,
    )


def schedule_duplicates(schedule: pl.DataFrame) -> CheckOutcome:
    """:func:`duplicate_game_ids` as a check outcome, listing the games that were postponed and played
    on another date of ``schedule`` as ``postponed_and_replayed`` (one game, not a duplicate)."""
    dup = duplicate_game_ids(schedule)
    ids = schedule.group_by("game_id").agg(
        pl.len().alias("rows"), (pl.col("status") == "postponed").any().alias("postponed")
    )
    replayed = ids.filter(
        (pl.col("rows") > 1) & pl.col("postponed") & ~pl.col("game_id").is_in(dup.implode())
    )
    return CheckOutcome(
        dup.is_empty(),
        {
            "duplicate_game_ids": dup.to_list()[:20],
            "games": schedule.height,
            "postponed_and_replayed": replayed["game_id"].sort().to_list()[:20],
        },
    )


def schedule_counts_plausible(schedule: pl.DataFrame, dates: list[date]) -> CheckOutcome:
    per = schedule.group_by("game_date").len()
    too_many = per.filter(pl.col("len") > MAX_GAMES_PER_DATE)
    teams_twice = (
        pl.concat(
            [
                schedule.select("game_date", t=pl.col("home_abbr")),
                schedule.select("game_date", t=pl.col("away_abbr")),
            ]
        )
        .group_by("game_date", "t")
        .len()
        .filter(pl.col("len") > 1)
    )
    meta: dict[str, Any] = {
        "dates": len(dates),
        "dates_with_games": per.height,
        "max_games_on_a_date": int(per["len"].max() or 0),  # type: ignore[arg-type]
        "teams_playing_twice_a_day": teams_twice.height,
    }
    if per.is_empty():
        meta["note"] = "no games on these dates"
    return CheckOutcome(too_many.is_empty() and teams_twice.is_empty(), meta, "WARN")


def final_team_games(schedule: pl.DataFrame, box: pl.DataFrame) -> pl.DataFrame:
    """Both teams of every final game with a box score (rows in ``box``): ``game_id``, ``team_abbr``,
    ``side`` (home/away), ``score``. A game with no box score at all is left to
    :func:`box_scores_complete`."""
    final = schedule.filter(
        (pl.col("status") == "final") & pl.col("game_id").is_in(box["game_id"].unique().implode())
    )
    return pl.concat(
        [
            final.select(
                "game_id", team_abbr=pl.col(f"{side}_abbr"), side=pl.lit(side), score=pl.col(f"{side}_pts")
            )
            for side in ("home", "away")
        ]
    )


def _missing_teams(schedule: pl.DataFrame, box: pl.DataFrame) -> pl.DataFrame:
    """Team-games (:func:`final_team_games` rows) of final games whose box score holds rows of the
    game but none of that team, home before away."""
    teams = final_team_games(schedule, box)
    missing = teams.join(box.select("game_id", "team_abbr").unique(), on=["game_id", "team_abbr"], how="anti")
    return missing.sort("game_id", "side", descending=[False, True])


def _team_labels(team_games: pl.DataFrame) -> list[str]:
    return [f"{r['game_id']} {r['team_abbr']} ({r['side']})" for r in team_games.iter_rows(named=True)]


def teams_missing_from_box(schedule: pl.DataFrame, box: pl.DataFrame) -> list[str]:
    """The schedule's teams of final games whose box score holds rows of the game but none of that
    team, as ``"<game_id> <team> (home|away)"``. A game with no rows at all is not listed here: that is
    a missing box score (:func:`box_scores_complete`)."""
    return _team_labels(_missing_teams(schedule, box))


def box_scores_complete(schedule: pl.DataFrame, box: pl.DataFrame, as_of: datetime) -> CheckOutcome:
    """Final games whose box score has both teams' players / final games. A game without a box score,
    or with one team's players only, is incomplete; when all incomplete games were final for less than
    six hours it is a WARN (the feed lags), older is an ERROR that blocks downstream."""
    final = schedule.filter(pl.col("status") == "final")
    have = set(box["game_id"].unique().to_list())
    missing = final.filter(~pl.col("game_id").is_in(list(have)))
    partial_games = _missing_teams(schedule, box)
    missing_teams = _team_labels(partial_games)
    partial = partial_games["game_id"].unique().to_list()
    incomplete = final.filter(~pl.col("game_id").is_in(list(have)) | pl.col("game_id").is_in(partial))
    meta: dict[str, Any] = {
        "final_games": final.height,
        "games_with_box_scores": final.height - incomplete.height,
        "completeness": 1.0
        if final.is_empty()
        else round((final.height - incomplete.height) / final.height, 4),
        "missing_game_ids": missing["game_id"].to_list()[:20],
        "missing_teams": missing_teams[:20],
    }
    if schedule.is_empty():
        meta["note"] = "no games"
    if incomplete.is_empty():
        return CheckOutcome(True, meta)
    # no typed literal here: a schedule loaded from DuckDB carries its session time zone (e.g. Etc/UTC),
    # and coalescing it with a "UTC" literal has no polars supertype (the check crashed the step)
    ended = incomplete.select(pl.col("tipoff_utc") + timedelta(hours=3)).to_series()
    recent = all(t is not None and as_of - t < BOX_SCORE_GRACE for t in ended.to_list())
    return CheckOutcome(False, meta, "WARN" if recent else "ERROR")


def team_points_mismatches(
    schedule: pl.DataFrame, box: pl.DataFrame, games: pl.DataFrame | None = None
) -> tuple[int, pl.DataFrame]:
    """The team-games compared and those whose summed player points differ from the team's final
    score: :func:`final_team_games` rows with ``player_pts`` (null when the team has no players on the
    box score, a mismatch: its players scored nothing of its score), home before away. A null final
    score is no mismatch here (nothing to compare it with). The games compared are those ``games``
    (box-score rows; default ``box``) has rows of. Used by :func:`team_points_match`, by grading
    readiness and by :func:`refuse_points_mismatches`."""
    scores = final_team_games(schedule, box if games is None else games)
    sums = box.group_by("game_id", "team_abbr").agg(pl.col("pts").sum().alias("player_pts"))
    joined = scores.join(sums, on=["game_id", "team_abbr"], how="left")
    bad = joined.filter(pl.col("player_pts").is_null() | (pl.col("player_pts") != pl.col("score")))
    return joined.height, bad.sort("game_id", "side", descending=[False, True])


def refuse_points_mismatches(schedule: pl.DataFrame, validated: Validated, source: str) -> None:
    """Refuse a box-score batch whose rows kept (quarantined ones left out) do not sum to a team's final
    score in ``schedule``, for every final game the batch has rows of, before anything is stored: a
    player's wrong or quarantined row, or a game whose rows were all quarantined, would otherwise
    replace the stored rows of the date, and the blocking check would only fail afterwards. Names the
    first team-game and both numbers."""
    batch = pl.concat([validated.good, validated.quarantined.drop("quarantine_reason")])
    _, bad = team_points_mismatches(schedule, validated.good, games=batch)
    bad = bad.join(
        schedule.select("game_id", "game_date").unique("game_id"),
        on="game_id",
        how="left",
        maintain_order="left",
    )
    if bad.height:
        first = bad.row(0, named=True)
        kept = "no row kept" if first["player_pts"] is None else f"players {first['player_pts']}"
        # the dates, so a range run (a season backfill) can be re-run without them
        dates = ", ".join(str(d) for d in bad["game_date"].unique().sort().to_list())
        raise SourceDataError(
            source,
            "pts",
            f"does not sum to the final score in {bad.height} team-game(s) on {dates}, first game "
            f"{first['game_id']} ({first['game_date']}) {first['team_abbr']}: {kept} vs team "
            f"{first['score']} (quarantined rows: {validated.quarantine_reasons or 'none'}); the batch is refused",
            f"{first['game_id']} {first['team_abbr']}",
        )


def team_points_match(schedule: pl.DataFrame, box: pl.DataFrame) -> CheckOutcome:
    """Summed player points equal each team's final score, for both teams of every final game with a
    box score: a team with no players on it is a mismatch (its players scored nothing of its score).
    A game with no box score at all is left to :func:`box_scores_complete`."""
    compared, bad = team_points_mismatches(schedule, box)
    return CheckOutcome(
        bad.is_empty(),
        {
            "team_games_compared": compared,
            "mismatches": bad.height,
            "first_mismatches": [
                f"{r['game_id']} {r['team_abbr']}: "
                + ("no players" if r["player_pts"] is None else f"players {r['player_pts']}")
                + f" vs team {r['score']}"
                for r in bad.head(5).iter_rows(named=True)
            ],
            "points_total": int(box["pts"].sum() or 0),
        },
    )


def min_players_with_minutes(schedule: pl.DataFrame, box: pl.DataFrame) -> CheckOutcome:
    """At least 5 players with minutes for every team on the box score and both teams of every final
    game with a box score (a team missing from it has none)."""
    per = box.filter(pl.col("played")).group_by("game_id", "team_abbr").len()
    expected = final_team_games(schedule, box)
    teams = pl.concat(
        [box.select("game_id", "team_abbr"), expected.select("game_id", "team_abbr")], how="vertical_relaxed"
    ).unique()
    counted = teams.join(per, on=["game_id", "team_abbr"], how="left").with_columns(
        pl.col("len").fill_null(0)
    )
    short = counted.filter(pl.col("len") < MIN_PLAYERS_WITH_MINUTES).sort("game_id", "team_abbr")
    return CheckOutcome(
        short.is_empty(),
        {
            "team_games": counted.height,
            "short_team_games": short.height,
            "min_required": MIN_PLAYERS_WITH_MINUTES,
            "first_short": [
                f"{r['game_id']} {r['team_abbr']}: {r['len']} with minutes"
                for r in short.head(5).iter_rows(named=True)
            ],
        },
    )


def props_coverage(
    schedule: pl.DataFrame, props: pl.DataFrame, dates_with_lines: list[date] | None = None
) -> CheckOutcome:
    """Share of scheduled games with at least one line. Dates outside ``dates_with_lines`` (where the
    source can have none, e.g. before the archive's window) are reported, not failed. Preseason and
    All-Star games are not predicted (``lib/game_types.py``): they are counted apart, not required.
    Empty-fetch markers are not lines: a game with nothing but markers is not covered."""
    props = schemas.offered_lines(props)
    games = schedule.filter(pl.col("status") != "postponed")
    unmodeled = games.filter(~is_modeled()).height
    games = games.filter(is_modeled())
    if dates_with_lines is not None:
        games = games.filter(pl.col("game_date").is_in(dates_with_lines))
    covered = games.filter(pl.col("game_id").is_in(props["game_id"].drop_nulls().unique().to_list()))
    share = 1.0 if games.is_empty() else covered.height / games.height
    meta = {
        "scheduled_games": games.height,
        "games_with_lines": covered.height,
        "coverage": round(share, 4),
        "threshold": MIN_PROPS_COVERAGE,
        "uncovered_game_ids": games.filter(~pl.col("game_id").is_in(covered["game_id"].to_list()))[
            "game_id"
        ].to_list()[:20],
        "unmatched_events": props.filter(pl.col("game_id").is_null())["event_id"].n_unique(),
        "preseason_or_all_star_games_not_counted": unmodeled,
    }
    return CheckOutcome(share >= MIN_PROPS_COVERAGE, meta, "WARN")


INJURY_PRESENCE_RULE = (
    "a date with a modeled game (not postponed) for which the source can have an injury report has "
    "report rows, from its latest edition; dates the source has no reports for (the archive: none) are "
    "not judged"
)


def injury_report_present(
    schedule: pl.DataFrame, report: pl.DataFrame, report_dates: list[date], kept: dict[str, str]
) -> CheckOutcome:
    """A WARN naming the dates with modeled games (preseason and All-Star games aside, postponed ones
    too) among ``report_dates`` (where the source can have a report) that have no report row, and the
    dates whose latest edition listed nobody, so an earlier edition's rows were kept (``kept``: date ->
    why). A blocked host fails the run before this; what is left is a report the NBA did not publish,
    an edition that lists nobody for the date, or one where every team is "NOT YET SUBMITTED" early in
    the day: WARN (the slate still runs, players count as expected, and the alert names the dates)."""
    games = games_to_play(schedule)
    judged = set(report_dates)
    days = sorted(set(games["game_date"].to_list()) & judged)
    have = set(report["game_date"].to_list())
    missing = [d.isoformat() for d in days if d not in have]
    meta = {
        "rule": INJURY_PRESENCE_RULE,
        "dates_with_games": len(days),
        "dates_not_judged": len(set(games["game_date"].to_list()) - judged),
        "dates_without_report": missing[:30],
        "dates_kept_from_earlier_edition": sorted(kept)[:30],
        "kept_reasons": dict(sorted(kept.items())[:30]),
    }
    return CheckOutcome(not missing and not kept, meta, "WARN")


def schedule_duplicates_by_date(schedule: pl.DataFrame, days: list[date]) -> dict[str, CheckOutcome]:
    """:func:`schedule_duplicates` of each date in ``days``, keyed by ``YYYY-MM-DD``: a date is judged on
    its games with every row ``schedule`` holds for them, so a game listed on two dates fails both
    dates, and a postponed game replayed on another date of the range is listed by both."""
    outcomes = {}
    for day in days:
        rows = schedule.filter(pl.col("game_date") == day)
        outcome = schedule_duplicates(schedule.filter(pl.col("game_id").is_in(rows["game_id"].implode())))
        outcomes[day.isoformat()] = CheckOutcome(
            outcome.passed, {**outcome.metadata, "games": rows.height}, outcome.severity
        )
    return outcomes


def _priced(side: str | None = None) -> pl.Expr:
    if side is not None:
        return pl.col(f"{side}_price").is_not_null()
    return pl.col("over_price").is_not_null() | pl.col("under_price").is_not_null()


def dates_without_prices(props: pl.DataFrame) -> pl.DataFrame:
    """Dates whose lines carry not one price, over or under (``game_date``, ``lines``): a feed that
    filled its lines in, not a book's offer."""
    return (
        props.group_by("game_date")
        .agg(pl.len().alias("lines"), _priced().sum().alias("priced"))
        .filter(pl.col("priced") == 0)
        .drop("priced")
        .sort("game_date")
    )


def repeated_line_values(props: pl.DataFrame) -> pl.DataFrame:
    """(``game_date``, ``line``, ``players``, ``all_players``) of main-line values posted for more than
    ``MAX_SAME_LINE_SHARE`` of a date's players (dates with 20+ players): a filled-in default. On the
    archive's real lines the most repeated value reaches 22% (9.5 for 10 of 45 players, 2025-11-13)."""
    return (
        props.filter(pl.col("is_main_line"))
        .group_by("game_date", "line")
        .agg(pl.col("player_name").n_unique().alias("players"))
        .join(
            props.group_by("game_date").agg(pl.col("player_name").n_unique().alias("all_players")),
            on="game_date",
        )
        .filter(
            (pl.col("all_players") >= 20) & (pl.col("players") > MAX_SAME_LINE_SHARE * pl.col("all_players"))
        )
        .sort("game_date", "players", descending=[False, True])
    )


def refuse_filled_in_lines(props: pl.DataFrame, source: str) -> None:
    """Refuse a lines batch holding evidence of filled-in lines, before anything is stored: a date
    whose lines carry no price at all (:func:`dates_without_prices`), or one main-line value for more
    than a quarter of a date's players (:func:`repeated_line_values`). One line without a price, or
    with one side's price only (books post over-only alternates), is a row matter: quarantined when
    it has no price (``schemas.ROW_RULES``), kept when one side is priced. Empty-fetch markers (no
    line, no price by contract) are not lines."""
    props = schemas.offered_lines(props)
    bare = dates_without_prices(props)
    if bare.height:
        first = bare.row(0, named=True)
        raise SourceDataError(
            source,
            "over_price/under_price",
            f"is missing on every line of {bare.height} date(s), first {first['game_date']} "
            f"({first['lines']} lines): filled-in lines, the batch is refused",
            first["game_date"].isoformat(),
        )
    repeated = repeated_line_values(props)
    if repeated.height:
        first = repeated.row(0, named=True)
        raise SourceDataError(
            source,
            "line",
            f"is the main line of {first['players']} of {first['all_players']} players on "
            f"{first['game_date']} (more than {MAX_SAME_LINE_SHARE:.0%}): a filled-in default, the batch "
            "is refused",
            first["line"],
        )


def placeholder_lines(props: pl.DataFrame) -> CheckOutcome:
    """The stored lines hold no filled-in lines: no date without a single price, no main-line value
    for more than a quarter of a date's players, no line without a price. A batch with any of these is
    refused or has those rows quarantined before it is written, so this fails on rows that reached
    the warehouse another way (stored before these rules, or written around the raw asset). A line
    priced on one side only is a real offer (over-only alternates): counted, not failed. Empty-fetch
    markers (no line, no price by contract) are not lines."""
    props = schemas.offered_lines(props)
    no_price = props.filter(~_priced())
    bare = dates_without_prices(props)
    repeated = repeated_line_values(props)
    one_sided = props.filter(_priced("over") != _priced("under"))
    meta = {
        "lines": props.height,
        "lines_without_prices": no_price.height,
        "dates_without_prices": [d.isoformat() for d in bare["game_date"].to_list()[:20]],
        "suspicious_repeated_values": [
            f"{r['game_date']}: {r['line']} x{r['players']}" for r in repeated.head(5).iter_rows(named=True)
        ],
        "one_sided_lines": one_sided.height,
        "one_sided_at_placeholder_values": one_sided.filter(
            pl.col("line").is_in(KNOWN_PLACEHOLDER_LINES)
        ).height,
    }
    return CheckOutcome(no_price.is_empty() and bare.is_empty() and repeated.is_empty(), meta)


def placeholder_lines_by_date(props: pl.DataFrame, days: list[date]) -> dict[str, CheckOutcome]:
    """:func:`placeholder_lines` of each date in ``days`` on its own lines, keyed by ``YYYY-MM-DD`` (every
    rule of the check is a per-date rule)."""
    return {day.isoformat(): placeholder_lines(props.filter(pl.col("game_date") == day)) for day in days}


def primary_source_answered(fallbacks: dict[str, str]) -> CheckOutcome:
    """Every date's lines came from the primary source. A WARN names the dates a fallback answered
    for, and why: their lines are real but from another feed (with its own list of books), and the
    primary's failure (an outage, a spent quota, a refused key) needs a person."""
    return CheckOutcome(
        not fallbacks,
        {"fallback_dates": sorted(fallbacks), "reasons": dict(sorted(fallbacks.items()))},
        severity="WARN",
    )


def unresolved_share(props: pl.DataFrame) -> CheckOutcome:
    """Share of the book names (empty-fetch markers name nobody) not resolved to an NBA person id. A name
    counts as unresolved when any of its lines is (those lines cannot be predicted), whatever order the
    rows come in."""
    names = (
        schemas.offered_lines(props)
        .group_by("player_name")
        .agg(pl.col("player_id").is_null().any().alias("unresolved"))
    )
    unresolved = names.filter("unresolved")
    share = 0.0 if names.is_empty() else unresolved.height / names.height
    return CheckOutcome(
        share <= MAX_UNRESOLVED_SHARE,
        {
            "names": names.height,
            "unresolved": unresolved.height,
            "unresolved_share": round(share, 4),
            "threshold": MAX_UNRESOLVED_SHARE,
            "unresolved_names": sorted(unresolved["player_name"].to_list())[:30],
        },
        "WARN",
    )


# ---------------------------------------------------------------- identity

IDENTITY_LOOKBACK = timedelta(days=400)


def _registry(source: Any, dates: list[date]) -> Any:
    from nba_assets.lib.identity import PlayerRegistry

    history = source.player_history(before=max(dates), since=min(dates) - IDENTITY_LOOKBACK)
    # the registry cuts every lookup at its own date D, so one registry serves the whole range
    return PlayerRegistry.from_box_scores(history, as_of=max(dates), extra_players=source.player_directory())


def resolve_prop_ids(props: pl.DataFrame, source: Any, dates: list[date]) -> pl.DataFrame:
    """Fill player_id / team_abbr / match_method from players seen before each line's game date.
    Unresolved names are kept (player_id null, match_method ``unresolved``), never dropped. Empty-fetch
    markers name no player: they pass through as they are."""
    lines = schemas.offered_lines(props)
    if lines.is_empty():
        return props
    resolved = _registry(source, dates).resolve(lines.drop("player_id", "team_abbr", "match_method"))
    markers = props.filter(schemas.is_empty_fetch_marker())
    return pl.concat([resolved.select(props.columns), markers], how="vertical_relaxed")


def resolve_injury_ids(report: pl.DataFrame, source: Any, dates: list[date]) -> pl.DataFrame:
    """Injury rows name "Last, First" with their team: resolve among that team's players."""
    if report.is_empty():
        return report
    query = report.drop("player_id").with_columns(
        pl.col("team_abbr").alias("home_abbr"), pl.lit(None, pl.Utf8).alias("away_abbr")
    )
    resolved = _registry(source, dates).resolve(query.rename({"team_abbr": "_team"}))
    return (
        resolved.rename({"_team": "team_abbr_report"})
        .with_columns(pl.col("team_abbr_report").alias("team_abbr"))
        .select(report.columns)
    )
