"""Player identity: map a sportsbook's spelling of a player to an NBA person id.

Books name players their own way: "Portis, Bobby", "M. Moody", "Nikola Jokic" for the box score's
"Nikola Jokić", "Herb Jones" for "Herbert Jones", suffixes dropped or added. :class:`PlayerRegistry`
resolves ``(book name, game date D, candidate teams)`` to a person id in these steps:

1. normalise the name (:func:`normalize_name`);
2. exact normalised match among players whose latest team before D is one of the candidate teams;
3. alias match (nickname <-> given name, reversed name order, known full-name aliases) among the same players;
4. initial + last name ("M. Moody"), then first + last name ignoring middle names ("Brook Robert Lopez")
   among the same players;
5. exact, then alias match league-wide (traded players, offseason moves, players with no games yet);
6. fuzzy match (difflib ratio >= :data:`FUZZY_THRESHOLD`) among the candidate teams' players.

Every step must find exactly one player. Two or more candidates at any step make the name
``unresolved``: the resolver never guesses. Steps 3 and 4 are reported as ``alias``.

**The team returned** is the player's team *in the queried game*: his team of his last game before D when that
is the home or the away team of the query, else null. A player resolved league-wide (step 5) whose last team is
neither of the game's teams has moved (or is known only from the reference directory): which of the two teams he
now plays for is not known from box scores before D, so the resolver leaves it null rather than report his old
team (``context.player_game_context`` decides it from the injury report and his earlier lines, see its header).

**No look-ahead.** For a name on date D the resolver reads only box-score rows with ``game_date < D``
(and, when the registry was built with ``as_of``, only rows before ``as_of``): which team a player is on
as of D comes from games before D. The optional ``extra_players`` frame is identity reference data
(person id and name, as in a league player directory), not outcome data: it carries no dates, teams or
statistics, so a player found only there (for example a rookie on opening night) can match by name
but has no team.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from datetime import date
from typing import Any

import polars as pl

MATCH_METHODS: tuple[str, ...] = ("exact", "alias", "fuzzy", "unresolved")
BOX_COLUMNS: tuple[str, ...] = ("game_date", "player_id", "player_name", "team_abbr")
QUERY_COLUMNS: tuple[str, ...] = ("game_date", "player_name", "home_abbr", "away_abbr")
OUTPUT_COLUMNS: tuple[str, ...] = ("player_id", "team_abbr", "match_method")
FUZZY_THRESHOLD = 0.88
# The best fuzzy candidate must beat the runner-up (also above the threshold) by this much.
FUZZY_MARGIN = 0.05

SUFFIXES: frozenset[str] = frozenset({"jr", "sr", "ii", "iii", "iv"})

# First names that books and the box score use interchangeably. Each tuple is one group; a name may sit
# in several groups. Only spellings of the same given name belong here: "Jalen" and "Jaylen" are
# different people (Jalen Williams, Jaylin Williams), so they are not grouped.
FIRST_NAME_ALIASES: tuple[tuple[str, ...], ...] = (
    ("herb", "herbert"),
    ("moe", "moritz"),
    ("mo", "mohamed", "mohammed", "mohamad"),
    ("nic", "nick", "nicolas", "nicholas", "nico"),
    ("cam", "cameron"),
    ("gg", "gregory", "greg"),
    ("vince", "vincent"),
    ("ron", "ronald", "ronnie"),
    ("rob", "robert", "bob", "bobby", "robbie"),
    ("bub", "carlton"),
    ("bones", "nahshon"),
    ("kj", "kenyon"),
    ("bj", "brandon"),
    ("svi", "sviatoslav"),
    ("alex", "alexander", "alexandre", "aleks"),
    ("sasha", "aleksandar", "alexander"),
    ("lu", "luguentz"),
    ("og", "ogugua"),
    ("matt", "matthew"),
    ("mike", "michael"),
    ("chris", "christopher"),
    ("josh", "joshua"),
    ("jon", "jonathan"),
    ("nate", "nathan", "nathaniel"),
    ("dan", "danny", "daniel"),
    ("zach", "zack", "zachary"),
    ("sam", "samuel"),
    ("ben", "benjamin"),
    ("jim", "jimmy", "james"),
    ("joe", "joseph"),
    ("tom", "thomas"),
    ("tony", "anthony"),
    ("andy", "andrew", "drew"),
    ("will", "william", "bill", "billy"),
    ("ed", "eddie", "edward"),
    ("tim", "timothy"),
    ("steve", "stephen", "steven"),
    ("pat", "patrick"),
    ("dave", "david"),
    ("jeff", "jeffrey"),
    ("ken", "kenny", "kenneth"),
    ("jake", "jacob", "jakob"),
    ("charlie", "charles"),
    ("scotty", "scottie", "scott"),
    ("ish", "ishmail", "ishmael"),
    ("obi", "obadiah"),
    ("al", "alfred", "albert"),
    ("jay", "james"),
    ("bam", "edrice"),
    ("cj", "christian"),
)

# Whole-name aliases (already normalised, suffixes dropped) where more than the first name differs.
FULL_NAME_ALIASES: tuple[tuple[str, str], ...] = (
    ("kenyon martin", "kj martin"),
    ("brandon boston", "bj boston"),
    ("nahshon hyland", "bones hyland"),
    ("carlton carrington", "bub carrington"),
    ("sviatoslav mykhailiuk", "svi mykhailiuk"),
    ("mohamed bamba", "mo bamba"),
    ("robert williams", "rob williams"),
    ("xavier tillman", "xavier tillman sr"),
    ("david jones garcia", "david jones"),
)

# Rewrites applied before suffixes are dropped, where the suffix is the only difference to another player.
SUFFIXED_NAME_ALIASES: dict[str, str] = {
    "lebron james jr": "bronny james",
}

# Letters that NFKD does not decompose into a base letter plus a combining mark.
_SPECIAL_LETTERS = str.maketrans(
    {"đ": "d", "ø": "o", "ł": "l", "ß": "ss", "æ": "ae", "œ": "oe", "ı": "i", "þ": "th"}
)
_APOSTROPHES = re.compile(r"['’‘`´]")
_PARENTHESES = re.compile(r"\([^)]*\)")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")

_FIRST_NAME_GROUPS: dict[str, tuple[int, ...]] = {}
for _i, _group in enumerate(FIRST_NAME_ALIASES):
    for _n in _group:
        _FIRST_NAME_GROUPS[_n] = (*_FIRST_NAME_GROUPS.get(_n, ()), _i)
_FULL_ALIASES: dict[str, set[str]] = {}
for _a, _b in FULL_NAME_ALIASES:
    _FULL_ALIASES.setdefault(_a, set()).add(_b)
    _FULL_ALIASES.setdefault(_b, set()).add(_a)


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.lower().translate(_SPECIAL_LETTERS)
    text = _APOSTROPHES.sub("", text)
    return " ".join(_NON_ALNUM.sub(" ", text).split())


def normalize_name(name: str | None) -> str:
    """Normalise a player name to lowercase ASCII words.

    Accents are stripped (NFKD), apostrophes removed ("De'Aaron" -> "deaaron"), other punctuation becomes a
    space ("Gilgeous-Alexander" -> "gilgeous alexander"), "Last, First" becomes "first last", the suffixes
    Jr/Sr/II/III/IV are dropped, and runs of single letters are joined ("P. J. Washington" -> "pj washington";
    a lone initial stays: "M. Moody" -> "m moody"). Parenthesised notes ("Jalen (2001) Johnson") are dropped. Returns "" for None or a blank name.
    """
    if name is None:
        return ""
    name = _PARENTHESES.sub(" ", name)
    if "," in name:
        parts = [p for p in (_clean(p) for p in name.split(",")) if p]
        words = [p for p in parts if p not in SUFFIXES]
        suffixes = [p for p in parts if p in SUFFIXES]
        if len(words) == 2:
            words = [words[1], words[0]]
        text = " ".join([*words, *suffixes])
    else:
        text = _clean(name)
    text = SUFFIXED_NAME_ALIASES.get(text, text)
    tokens = text.split()
    while len(tokens) > 1 and tokens[-1] in SUFFIXES:
        tokens.pop()
    merged: list[str] = []
    run: list[str] = []
    for tok in [*tokens, ""]:
        if len(tok) == 1:
            run.append(tok)
            continue
        if run:
            merged.append("".join(run))
            run = []
        if tok:
            merged.append(tok)
    return " ".join(merged)


def exact_key(normalized: str) -> str:
    """The exact-match key of a normalised name: its letters without spaces ("aj green" -> "ajgreen")."""
    return normalized.replace(" ", "")


def alias_keys(normalized: str) -> set[str]:
    """Alias-match keys of a normalised name; two names are aliases when their key sets intersect.

    Keys: the exact key, the exact keys of :data:`FULL_NAME_ALIASES`, the reversed word order of a two-word
    name ("hansen yang" <-> "yang hansen") and one key per first-name group of :data:`FIRST_NAME_ALIASES`.
    """
    tokens = normalized.split()
    if not tokens:
        return set()
    keys = {exact_key(normalized)}
    keys.update(exact_key(alt) for alt in _FULL_ALIASES.get(normalized, ()))
    if len(tokens) == 2:
        keys.add(tokens[1] + tokens[0])
    rest = "".join(tokens[1:])
    if rest:
        keys.update(f"g{group}|{rest}" for group in _FIRST_NAME_GROUPS.get(tokens[0], ()))
    return keys


def book_initial_key(normalized: str) -> str | None:
    """Initial + last-name key of a book name whose first word is one letter ("m moody" -> "m|moody")."""
    tokens = normalized.split()
    if len(tokens) >= 2 and len(tokens[0]) == 1:
        return f"{tokens[0]}|{''.join(tokens[1:])}"
    return None


def player_initial_key(normalized: str) -> str | None:
    """Initial + last-name key of a registry name ("moses moody" -> "m|moody")."""
    tokens = normalized.split()
    if len(tokens) >= 2:
        return f"{tokens[0][0]}|{''.join(tokens[1:])}"
    return None


def book_middle_keys(normalized: str) -> set[str]:
    """Keys of a book name with middle names ("brook robert lopez"): first name + each later word.

    Matched against :func:`player_middle_keys` (first + last word of a registry name), so "Eric Ambrose Gordon"
    finds "Eric Gordon". First names also key by their :data:`FIRST_NAME_ALIASES` groups.
    """
    tokens = normalized.split()
    if len(tokens) < 3:
        return set()
    firsts = [tokens[0], *(f"g{g}" for g in _FIRST_NAME_GROUPS.get(tokens[0], ()))]
    return {f"{f}|{t}" for f in firsts for t in tokens[1:]}


def player_middle_keys(normalized: str) -> set[str]:
    """First + last word keys of a registry name (see :func:`book_middle_keys`)."""
    tokens = normalized.split()
    if len(tokens) < 2:
        return set()
    firsts = [tokens[0], *(f"g{g}" for g in _FIRST_NAME_GROUPS.get(tokens[0], ()))]
    return {f"{f}|{tokens[-1]}" for f in firsts}


def _as_date_expr(col: str, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.Date:
        return pl.col(col)
    if isinstance(dtype, pl.Datetime):
        return pl.col(col).dt.date()
    return pl.col(col).cast(pl.Utf8).str.slice(0, 10).str.to_date("%Y-%m-%d")


def _require(frame: pl.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: missing columns {missing} (has {frame.columns})")


_EMPTY_RESULT_SCHEMA: dict[str, Any] = {
    "qid": pl.UInt32,
    "player_id": pl.Int64,
    "team_abbr": pl.Utf8,
    "match_method": pl.Utf8,
}


class PlayerRegistry:
    """Point-in-time directory of NBA players built from box-score rows.

    Build it with :meth:`from_box_scores`. It keeps only box-score rows with ``game_date < as_of``, and
    :meth:`resolve` additionally reads, for a name on date D, only the rows with ``game_date < D``. So one
    registry can resolve many dates without look-ahead: a player's team as of D is the team of his last game
    before D (after a trade on D it is still the old team).
    """

    def __init__(
        self,
        history: pl.DataFrame,
        names: pl.DataFrame,
        reference_ids: pl.DataFrame,
        as_of: date | None,
    ) -> None:
        self._history = history
        self._names = names
        self._reference_ids = reference_ids
        self.as_of = as_of
        self._keys = self._build_keys(names)
        self._cache: dict[tuple[date, str, str | None, str | None], tuple[int | None, str | None, str]] = {}
        self._rosters: dict[date, pl.DataFrame] = {}

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_box_scores(
        cls,
        box_scores: pl.DataFrame,
        as_of: date | None,
        extra_players: pl.DataFrame | None = None,
    ) -> PlayerRegistry:
        """Build a registry from box-score rows strictly before ``as_of``.

        ``box_scores`` needs ``game_date`` (Date or "YYYY-MM-DD"), ``player_id``, ``player_name`` and
        ``team_abbr``; rows with ``game_date >= as_of`` are dropped (``as_of=None`` keeps all rows, and
        :meth:`resolve` still cuts every lookup at its own date D). ``extra_players`` (``player_id``,
        ``player_name``) is identity reference data with no dates: those players can match by name but
        have no team unless box scores before D give them one.
        """
        _require(box_scores, BOX_COLUMNS, "box_scores")
        history = box_scores.select(
            _as_date_expr("game_date", box_scores.schema["game_date"]).alias("game_date"),
            pl.col("player_id").cast(pl.Int64),
            pl.col("player_name").cast(pl.Utf8),
            pl.col("team_abbr").cast(pl.Utf8),
        ).drop_nulls(["game_date", "player_id"])
        if as_of is not None:
            history = history.filter(pl.col("game_date") < as_of)
        # a total order: a player's last row ("his team before D") is the same whatever order the
        # warehouse returned the box scores in (two rows on his last date: the last by team, then name)
        history = history.sort("game_date", "player_id", "team_abbr", "player_name", nulls_last=False)

        box_names = (
            history.drop_nulls("player_name")
            .group_by("player_id", "player_name")
            .agg(pl.col("game_date").min().alias("first_seen"))
        )
        if extra_players is not None:
            _require(extra_players, ("player_id", "player_name"), "extra_players")
            ref = (
                extra_players.select(pl.col("player_id").cast(pl.Int64), pl.col("player_name").cast(pl.Utf8))
                .drop_nulls()
                .unique()
            )
        else:
            ref = pl.DataFrame(schema={"player_id": pl.Int64, "player_name": pl.Utf8})
        names = pl.concat(
            [box_names, ref.with_columns(pl.lit(None, dtype=pl.Date).alias("first_seen"))],
            how="vertical",
        )
        norm_map = {n: normalize_name(n) for n in names["player_name"].unique().to_list()}
        names = names.with_columns(
            pl.col("player_name").replace_strict(norm_map, return_dtype=pl.Utf8).alias("norm")
        ).filter(pl.col("norm") != "")
        reference_ids = ref.select("player_id").unique()
        return cls(history, names, reference_ids, as_of)

    @staticmethod
    def _build_keys(names: pl.DataFrame) -> pl.DataFrame:
        rows: dict[str, list[Any]] = {"player_id": [], "key": [], "kind": [], "first_seen": []}
        for pid, norm, first_seen in names.select("player_id", "norm", "first_seen").iter_rows():
            entries = [("exact", exact_key(norm))]
            entries += [("alias", k) for k in alias_keys(norm)]
            init = player_initial_key(norm)
            if init:
                entries.append(("initial", init))
            entries += [("middle", k) for k in player_middle_keys(norm)]
            for kind, key in entries:
                rows["player_id"].append(pid)
                rows["key"].append(key)
                rows["kind"].append(kind)
                rows["first_seen"].append(first_seen)
        keys = pl.DataFrame(
            rows,
            schema={"player_id": pl.Int64, "key": pl.Utf8, "kind": pl.Utf8, "first_seen": pl.Date},
        )
        # A name first seen on several dates keeps its earliest date; reference names (null) are always known.
        return keys.group_by("player_id", "key", "kind").agg(
            pl.when(pl.col("first_seen").is_null().any())
            .then(pl.lit(None, dtype=pl.Date))
            .otherwise(pl.col("first_seen").min())
            .alias("first_seen")
        )

    # ------------------------------------------------------------------ point-in-time views
    def snapshot(self, as_of: date | None = None) -> pl.DataFrame:
        """Players known before ``as_of`` (default: the registry's ``as_of``, else after all its rows).

        Columns: ``player_id``, ``player_name`` (latest box-score spelling, else the reference name),
        ``name_keys`` (exact keys of every name known before ``as_of``), ``team_abbr`` (team of the last
        game before ``as_of``; null for reference-only players) and ``last_game_date``.
        """
        cutoff = as_of or self.as_of
        hist = self._history if cutoff is None else self._history.filter(pl.col("game_date") < cutoff)
        names = self._names
        if cutoff is not None:
            names = names.filter(pl.col("first_seen").is_null() | (pl.col("first_seen") < cutoff))
        latest = hist.group_by("player_id").agg(
            pl.col("player_name").last().alias("box_name"),
            pl.col("team_abbr").last(),
            pl.col("game_date").last().alias("last_game_date"),
        )
        agg = names.group_by("player_id").agg(
            pl.col("norm").str.replace_all(" ", "", literal=True).unique().sort().alias("name_keys"),
            # a box-score spelling before a reference one; of several, the earliest seen, then by name
            pl.col("player_name")
            .sort_by(pl.col("first_seen").is_null(), "first_seen", "player_name")
            .first()
            .alias("any_name"),
        )
        return (
            agg.join(latest, on="player_id", how="full", coalesce=True)
            .select(
                "player_id",
                pl.coalesce("box_name", "any_name").alias("player_name"),
                "name_keys",
                "team_abbr",
                "last_game_date",
            )
            .sort("player_id")
        )

    @property
    def players(self) -> pl.DataFrame:
        """:meth:`snapshot` as of the registry's ``as_of``."""
        return self.snapshot()

    def _roster(self, day: date) -> pl.DataFrame:
        """(player_id, team_abbr) of the last game before ``day`` for every player with one."""
        if day not in self._rosters:
            self._rosters[day] = (
                self._history.filter(pl.col("game_date") < day)
                .group_by("player_id")
                .agg(pl.col("team_abbr").last())
            )
        return self._rosters[day]

    # ------------------------------------------------------------------ resolution
    def resolve(self, names_frame: pl.DataFrame) -> pl.DataFrame:
        """Resolve book names to NBA person ids, point in time.

        Input columns: ``game_date`` (ET game date D, Date or "YYYY-MM-DD"), ``player_name`` (as the book
        spells it), ``home_abbr`` and ``away_abbr`` (the candidate teams; may be null). Returns the input
        with ``player_id`` (Int64, null when unresolved), ``team_abbr`` (the player's team in the queried
        game: his team of his last game before D when it is ``home_abbr`` or ``away_abbr``; null when it is
        neither, i.e. he moved since or is a reference-only player, and when unresolved) and
        ``match_method`` (exact / alias / fuzzy / unresolved) added, rows in input order. Only box-score
        rows with ``game_date < D`` are read.
        Work is done once per distinct (D, name, home, away) and cached on the registry.
        """
        _require(names_frame, QUERY_COLUMNS, "names_frame")
        clash = [c for c in OUTPUT_COLUMNS if c in names_frame.columns]
        if clash:
            raise ValueError(f"names_frame already has output columns {clash}; rename or drop them first")
        keyed = names_frame.with_columns(
            _as_date_expr("game_date", names_frame.schema["game_date"]).alias("__d"),
            pl.col("player_name").cast(pl.Utf8).alias("__n"),
            pl.col("home_abbr").cast(pl.Utf8).alias("__h"),
            pl.col("away_abbr").cast(pl.Utf8).alias("__a"),
        )
        tuples = keyed.select("__d", "__n", "__h", "__a").unique()
        todo = [t for t in tuples.iter_rows() if t not in self._cache]
        if todo:
            self._resolve_tuples(todo)
        rows = [(*t, *self._cache[t]) for t in tuples.iter_rows()]
        result = pl.DataFrame(
            rows,
            schema={
                "__d": pl.Date,
                "__n": pl.Utf8,
                "__h": pl.Utf8,
                "__a": pl.Utf8,
                "player_id": pl.Int64,
                "team_abbr": pl.Utf8,
                "match_method": pl.Utf8,
            },
            orient="row",
        )
        return keyed.join(
            result, on=["__d", "__n", "__h", "__a"], how="left", nulls_equal=True, maintain_order="left"
        ).drop("__d", "__n", "__h", "__a")

    def _resolve_tuples(self, todo: list[tuple[date, str, str | None, str | None]]) -> None:
        norm_of = {n: normalize_name(n) for n in {t[1] for t in todo if t[1] is not None}}
        queries = pl.DataFrame(
            {
                "qid": list(range(len(todo))),
                "d": [t[0] for t in todo],
                "norm": [norm_of.get(t[1], "") if t[1] is not None else "" for t in todo],
                "home": [t[2] for t in todo],
                "away": [t[3] for t in todo],
            },
            schema={"qid": pl.UInt32, "d": pl.Date, "norm": pl.Utf8, "home": pl.Utf8, "away": pl.Utf8},
        )
        norms = queries["norm"].unique().to_list()
        qkeys = {
            "exact": {n: [exact_key(n)] for n in norms if n},
            "alias": {n: sorted(alias_keys(n)) for n in norms if n},
            "initial": {n: [k] for n in norms if (k := book_initial_key(n))},
            "middle": {n: sorted(ks) for n in norms if (ks := book_middle_keys(n))},
        }

        resolved: list[pl.DataFrame] = []
        done = pl.DataFrame(schema={"qid": pl.UInt32})
        stages = [
            ("exact", True, "exact"),
            ("alias", True, "alias"),
            ("initial", True, "alias"),
            ("middle", True, "alias"),
            ("exact", False, "exact"),
            ("alias", False, "alias"),
        ]
        for kind, on_team, method in stages:
            open_q = queries.join(done, on="qid", how="anti")
            if open_q.is_empty():
                break
            decided = self._stage(open_q, qkeys[kind], kind, on_team)
            if decided.is_empty():
                continue
            resolved.append(
                decided.with_columns(
                    pl.when(pl.col("n") == 1)
                    .then(pl.lit(method))
                    .otherwise(pl.lit("unresolved"))
                    .alias("match_method"),
                    pl.when(pl.col("n") == 1).then(pl.col("player_id")).alias("player_id"),
                    pl.when(pl.col("n") == 1).then(pl.col("team_abbr")).alias("team_abbr"),
                ).select(_EMPTY_RESULT_SCHEMA.keys())
            )
            done = pl.concat([done, decided.select("qid")])
        open_q = queries.join(done, on="qid", how="anti")
        if not open_q.is_empty():
            resolved.append(self._fuzzy(open_q))

        out = pl.concat(resolved, how="vertical") if resolved else pl.DataFrame(schema=_EMPTY_RESULT_SCHEMA)
        by_qid = {
            qid: (pid, team, method)
            for qid, pid, team, method in out.select(_EMPTY_RESULT_SCHEMA.keys()).iter_rows()
        }
        for qid, t in enumerate(todo):
            self._cache[t] = by_qid.get(qid, (None, None, "unresolved"))

    def _stage(
        self, queries: pl.DataFrame, keys_of: dict[str, list[str]], kind: str, on_team: bool
    ) -> pl.DataFrame:
        """Candidates of one step; returns (qid, n, player_id, team_abbr) for queries with >= 1 candidate
        (``team_abbr``: the candidate's team in the queried game, null when his last team is not in it)."""
        if not keys_of:
            return pl.DataFrame(schema={"qid": pl.UInt32, "n": pl.UInt32, "player_id": pl.Int64})
        qk = queries.with_columns(
            pl.col("norm").replace_strict(keys_of, default=None, return_dtype=pl.List(pl.Utf8)).alias("key")
        ).explode("key")
        qk = qk.drop_nulls("key")
        cands = (
            qk.join(self._keys.filter(pl.col("kind") == kind), on="key", how="inner")
            .filter(pl.col("first_seen").is_null() | (pl.col("first_seen") < pl.col("d")))
            .select("qid", "d", "home", "away", "player_id")
            .unique()
        )
        if cands.is_empty():
            return pl.DataFrame(schema={"qid": pl.UInt32, "n": pl.UInt32, "player_id": pl.Int64})
        cands = self._attach_team(cands)
        in_game = pl.col("last_team").is_not_null() & (
            (pl.col("last_team") == pl.col("home")) | (pl.col("last_team") == pl.col("away"))
        )
        if on_team:
            cands = cands.filter(in_game)
        else:
            # A player exists as of D if he played before D or is in the reference directory.
            cands = cands.filter(
                pl.col("last_team").is_not_null()
                | pl.col("player_id").is_in(self._reference_ids["player_id"].implode())
            )
        # The team reported is the one he plays for in the queried game; a last team that is neither of
        # the game's teams (he moved) is not it, so it stays unknown here.
        cands = cands.with_columns(pl.when(in_game).then(pl.col("last_team")).alias("team_abbr"))
        return cands.group_by("qid").agg(
            pl.len().cast(pl.UInt32).alias("n"),
            pl.col("player_id").first(),
            pl.col("team_abbr").first(),
        )

    def _attach_team(self, cands: pl.DataFrame) -> pl.DataFrame:
        """Add ``last_team``: each candidate's team of his last game strictly before the query date D."""
        hist = self._history.select(
            "player_id", pl.col("game_date").alias("d"), pl.col("team_abbr").alias("last_team")
        )  # sorted by date
        return cands.sort("d").join_asof(
            hist,
            on="d",
            by="player_id",
            strategy="backward",
            allow_exact_matches=False,
            check_sortedness=False,
        )

    def _fuzzy(self, queries: pl.DataFrame) -> pl.DataFrame:
        out: list[tuple[int, int | None, str | None, str]] = []
        names = self._names
        for (day,), group in queries.group_by(["d"]):
            roster = self._roster(day)
            known = names.filter(pl.col("first_seen").is_null() | (pl.col("first_seen") < day))
            pool = roster.join(known.select("player_id", "norm").unique(), on="player_id", how="inner")
            by_team: dict[str, list[tuple[int, str]]] = {}
            for pid, team, norm in pool.select("player_id", "team_abbr", "norm").iter_rows():
                by_team.setdefault(team, []).append((pid, norm))
            for qid, norm, home, away in group.select("qid", "norm", "home", "away").iter_rows():
                out.append((qid, *self._fuzzy_one(norm, home, away, by_team)))
        return pl.DataFrame(out, schema=_EMPTY_RESULT_SCHEMA, orient="row")

    @staticmethod
    def _fuzzy_one(
        norm: str, home: str | None, away: str | None, by_team: dict[str, list[tuple[int, str]]]
    ) -> tuple[int | None, str | None, str]:
        if not norm:
            return None, None, "unresolved"
        best: dict[int, tuple[float, str]] = {}
        # SequenceMatcher caches details of its second sequence: keep the book name there.
        matcher = difflib.SequenceMatcher(None, "", norm, autojunk=False)
        for team in {t for t in (home, away) if t is not None}:
            for pid, cand in by_team.get(team, ()):
                matcher.set_seq1(cand)
                ratio = matcher.ratio()
                if ratio >= FUZZY_THRESHOLD and ratio > best.get(pid, (0.0, ""))[0]:
                    best[pid] = (ratio, team)
        if not best:
            return None, None, "unresolved"
        ranked = sorted(best.items(), key=lambda kv: kv[1][0], reverse=True)
        if len(ranked) > 1 and ranked[0][1][0] - ranked[1][1][0] < FUZZY_MARGIN:
            return None, None, "unresolved"
        pid, (_, team) = ranked[0]
        return pid, team, "fuzzy"


def resolution_report(frame: pl.DataFrame, top: int | None = None) -> dict[str, Any]:
    """Summarise a :meth:`PlayerRegistry.resolve` output.

    Returns ``rows``, ``by_method`` (row counts for every method in :data:`MATCH_METHODS`),
    ``resolved_share``, ``unresolved_share`` and ``unresolved_names``: distinct unresolved book names,
    most frequent first (``top`` limits the list).
    """
    _require(frame, ("player_name", "match_method"), "resolution_report")
    counts = dict(frame.group_by("match_method").len().iter_rows())
    by_method = {m: int(counts.get(m, 0)) for m in MATCH_METHODS}
    rows = frame.height
    unresolved = (
        frame.filter(pl.col("match_method") == "unresolved")
        .group_by("player_name")
        .len()
        .sort(["len", "player_name"], descending=[True, False])
    )
    names = unresolved["player_name"].to_list()
    if top is not None:
        names = names[:top]
    return {
        "rows": rows,
        "by_method": by_method,
        "resolved_share": (rows - by_method["unresolved"]) / rows if rows else 0.0,
        "unresolved_share": by_method["unresolved"] / rows if rows else 0.0,
        "unresolved_names": names,
    }
