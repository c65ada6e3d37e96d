"""Published calls: the calls of games still ahead are kept as first published, and graded so, with the
ones a later run withdrew counted apart (pure functions and the object store on hand-made rows)."""

from datetime import UTC, date, datetime, timedelta, timezone

import polars as pl
import pytest

from nba_assets.lib import grading, publications
from nba_assets.lib.modeling.decisions import PREDICTION_SCHEMA
from nba_assets.lib.schemas import PROPS_SCHEMA, RAW_CONTRACTS
from nba_assets.lib.storage.object_store import LocalObjectStore

D = date(2025, 11, 5)
TIP_A = datetime(2025, 11, 6, 0, 0, tzinfo=UTC)  # 19:00 ET
TIP_B = datetime(2025, 11, 5, 22, 0, tzinfo=UTC)  # 17:00 ET


def _pred(player_id: int, game_id: str, **over: object) -> dict[str, object]:
    row: dict[str, object] = {c: None for c in PREDICTION_SCHEMA}
    row.update(
        game_date=D,
        game_id=game_id,
        player_id=player_id,
        player_name=f"P{player_id}",
        bookmaker="book",
        line=18.5,
        over_price=-110,
        under_price=-110,
        is_main_line=True,
        system="catboost",
        predicted_points=21.0,
        edge=2.5,
        recommendation="OVER",
        actionable=True,
    )
    row.update(over)
    return row


def _preds(rows: list[dict[str, object]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=PREDICTION_SCHEMA)


def _props(tips: dict[str, datetime | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {"game_id": list(tips), "tipoff_utc": list(tips.values())},
        schema={"game_id": pl.Utf8, "tipoff_utc": pl.Datetime("us", "UTC")},
    )


def _main_line_props(lines: list[tuple[int, float, datetime]]) -> pl.DataFrame:
    """The book's main lines of game A: (player, line, snapshot time)."""
    return pl.DataFrame(
        [
            {
                **{c: None for c in PROPS_SCHEMA},
                "game_date": D,
                "game_id": "A",
                "event_id": "e",
                "tipoff_utc": TIP_A,
                "snapshot_utc": at,
                "bookmaker": "book",
                "player_name": f"P{pid}",
                "player_id": pid,
                "match_method": "exact",
                "line": line,
                "over_price": -110,
                "under_price": -110,
                "is_main_line": True,
            }
            for pid, line, at in lines
        ],
        schema=PROPS_SCHEMA,
    )


def test_a_book_s_two_closing_main_lines_count_as_its_lower_one_as_the_consensus_does() -> None:
    t = datetime(2025, 11, 5, 20, 0, tzinfo=UTC)
    props = _main_line_props([(1, 21.5, t), (1, 20.5, t)])  # whatever order the warehouse returns
    for lines in (props, props.reverse()):
        clv = publications.closing_line_value(_preds([_pred(1, "A")]), lines)
        assert clv.select("closing_line", "clv").row(0) == (20.5, 2.0)


def test_only_actionable_calls_of_games_still_ahead_are_published() -> None:
    preds = _preds(
        [
            _pred(1, "A"),
            _pred(2, "A", recommendation="PASS", actionable=False),
            _pred(3, "B"),  # tipped off at 22:00 UTC
            _pred(4, "C"),  # no line gives its tip-off
        ]
    )
    props = _props({"A": TIP_A, "B": TIP_B, "C": None})
    now = datetime(2025, 11, 5, 22, 30, tzinfo=UTC)
    got = publications.publishable(preds, props, now)
    assert got["player_id"].to_list() == [1]
    assert got["published_utc"].to_list() == [now]
    # before both tip-offs, both games' calls; after both, none (a backfill publishes nothing)
    assert publications.publishable(preds, props, TIP_B - timedelta(hours=1))["player_id"].to_list() == [1, 3]
    assert publications.publishable(preds, props, TIP_A).is_empty()
    # the warehouse's zone name (DuckDB: Etc/UTC) compares the same
    etc = props.with_columns(pl.col("tipoff_utc").dt.convert_time_zone("Etc/UTC"))
    assert publications.publishable(preds, etc, now)["player_id"].to_list() == [1]
    with pytest.raises(ValueError, match="naive"):
        publications.publishable(preds, props, datetime(2025, 11, 5, 12))


def test_snapshots_are_immutable_objects_read_back_in_time_order(tmp_path) -> None:
    store = LocalObjectStore(tmp_path)
    assert publications.read_snapshots(store, [D]) is None
    # nothing published: no rows, the table's columns, and a record saying so
    nothing = publications.published_grades(
        store,
        [D],
        pl.DataFrame(schema=PREDICTION_SCHEMA),
        pl.DataFrame(schema=RAW_CONTRACTS["box_scores"]),
        pl.DataFrame(schema=RAW_CONTRACTS["injury_report"]),
        pl.DataFrame(schema=RAW_CONTRACTS["schedule"]),
        pl.DataFrame(schema=PROPS_SCHEMA),
    )
    assert nothing.is_empty()
    assert list(nothing.schema.items())[: len(publications.SNAPSHOT_SCHEMA)] == list(
        publications.SNAPSHOT_SCHEMA.items()
    )
    assert {"result", "profit", "closing_line", "clv", "withdrawn"} <= set(nothing.columns)
    assert publications.published_record(nothing) == publications.NOTHING_PUBLISHED
    assert publications.published_performance(nothing, D).is_empty()
    assert publications.published_performance(pl.DataFrame(), D).is_empty()  # no table yet
    preds = _preds([_pred(1, "A"), _pred(2, "A")])
    props = _props({"A": TIP_A})
    later = datetime(2025, 11, 5, 20, 0, tzinfo=UTC)
    # given in ET, keyed in UTC: 10:00 ET is 15:00 UTC, before the 20:00 UTC snapshot
    morning = datetime(2025, 11, 5, 10, 0, tzinfo=timezone(timedelta(hours=-5)))
    for now, run in ((later, "run2"), (morning, "run1")):
        assert publications.write_snapshots(store, publications.publishable(preds, props, now), now, run) == {
            "2025-11-05": 2
        }
    keys = sorted(store.list_keys("publications/2025-11-05/"))
    assert [k.rsplit("/", 1)[1] for k in keys] == [
        "20251105T150000000000Z-run1.parquet",
        "20251105T200000000000Z-run2.parquet",
    ]
    back = publications.read_snapshots(store, [D, D + timedelta(days=1)])
    assert back is not None and back.height == 4
    assert back["published_utc"].to_list() == [morning.astimezone(UTC)] * 2 + [later] * 2


def test_a_call_is_graded_as_first_published_and_a_withdrawn_one_is_counted_apart() -> None:
    t1 = datetime(2025, 11, 5, 15, 0, tzinfo=UTC)
    t2 = datetime(2025, 11, 5, 20, 0, tzinfo=UTC)

    def snap(rows: list[dict[str, object]], at: datetime) -> pl.DataFrame:
        return _preds(rows).with_columns(pl.lit(at).cast(pl.Datetime("us", "UTC")).alias("published_utc"))

    snapshots = pl.concat(
        [
            # 10:00 ET: OVER on players 1, 2 and 3, and an alternate line of player 1
            snap(
                [_pred(1, "A"), _pred(2, "A"), _pred(3, "A"), _pred(1, "A", line=22.5, is_main_line=False)],
                t1,
            ),
            # 15:00 ET: player 1's call flipped to UNDER and its price changed; player 2's main line moved
            # to 19.5, still OVER (the same main-line bet); player 3 was dropped (the line moved against
            # the call): not in this snapshot nor in the final calls
            snap([_pred(1, "A", recommendation="UNDER", under_price=-130), _pred(2, "A", line=19.5)], t2),
        ]
    )
    first = publications.first_publications(snapshots)
    assert first.height == 4  # one per call key: players 1 (main and alternate), 2, 3
    p1 = first.filter((pl.col("player_id") == 1) & pl.col("is_main_line")).row(0, named=True)
    assert (p1["recommendation"], p1["under_price"], p1["published_utc"]) == ("OVER", -110, t1)
    assert first.filter(pl.col("player_id") == 2)["line"].to_list() == [18.5]  # one bet, as first published
    final = _preds([_pred(1, "A", recommendation="UNDER", under_price=-130), _pred(2, "A", line=19.5)])
    marked = publications.mark_withdrawn(first, final)
    assert marked.select(pl.exclude("withdrawn")).equals(first)  # the same rows in the same order
    assert marked.filter("withdrawn")["player_id"].to_list() == [1, 1, 3]
    # player 1 scored 25 (the published OVER won, the final UNDER would have lost), 2 scored 15, 3 scored 30
    box = pl.DataFrame(
        {
            "game_date": [D] * 3,
            "game_id": ["A"] * 3,
            "player_id": [1, 2, 3],
            "pts": [25, 15, 30],
            "minutes": [30.0] * 3,
        }
    )
    # the book's main lines: player 1's rose to 20.5 by its last snapshot before tip-off, player 2's to
    # 19.5; player 3's was pulled (not in the last snapshot)
    props = _main_line_props([(1, 18.5, t1), (2, 18.5, t1), (3, 18.5, t1), (1, 20.5, t2), (2, 19.5, t2)])
    main = first.filter(pl.col("is_main_line"))
    clv = publications.closing_line_value(main, props).sort("player_id")
    assert clv["closing_line"].to_list() == [20.5, 19.5, None]
    assert clv["clv"].to_list() == [2.0, 1.0, None]  # both OVERs at 18.5 beat the close
    under = publications.closing_line_value(main.with_columns(recommendation=pl.lit("UNDER")), props)
    assert under.sort("player_id")["clv"].to_list() == [-2.0, -1.0, None]
    # the alternate has no closing line: its offer has no main-line counterpart
    alternate = publications.closing_line_value(first.filter(~pl.col("is_main_line")), props)
    assert alternate.select("closing_line", "clv").row(0) == (None, None)
    graded = publications.mark_withdrawn(
        publications.closing_line_value(grading.grade(first, box), props), final
    )
    record = publications.published_record(graded)
    # main lines only: 1 WIN (player 1's published OVER), 2 LOSS, 3 WIN; withdrawn: players 1 and 3, both won
    assert record == {
        "catboost": {
            "bets": 3,
            "record": "2-1-0",
            "roi": pytest.approx(round((2 * 100 / 110 - 1) / 3, 4)),
            "clv_calls": 2,
            "clv_mean": 1.5,
            "beat_close_share": 1.0,
            "withdrawn_bets": 2,
            "withdrawn_record": "2-0-0",
        }
    }
    # the final calls' record (what prediction_grades holds) has neither withdrawn winner
    final_record = grading.bet_record(grading.grade(final, box), ["system"]).row(0, named=True)
    assert (final_record["wins"], final_record["losses"]) == (0, 2)


def test_the_published_record_over_the_last_30_days_and_the_season(tmp_path) -> None:
    """Snapshots of two dates of one season, 35 days apart, graded from the object store as the grading
    asset grades them: the 30-day window holds the newer date's calls, the season both."""
    store = LocalObjectStore(tmp_path)
    old = D - timedelta(days=35)
    tips = {"A": TIP_A, "O": TIP_A - timedelta(days=35)}
    for day, game, players in ((old, "O", [1, 2]), (D, "A", [1, 3, 4])):
        calls = _preds([_pred(p, game, game_date=day) for p in players])
        now = tips[game] - timedelta(hours=9)
        publications.write_snapshots(
            store, publications.publishable(calls, _props(tips), now), now, f"r{game}"
        )
    # players 1 and 3 scored 25 on both dates (over 18.5 wins), 2 and 4 scored 10
    box = pl.DataFrame(
        [
            {
                "game_date": day,
                "game_id": game,
                "player_id": p,
                "pts": 25 if p in (1, 3) else 10,
                "minutes": 30.0,
            }
            for day, game in ((old, "O"), (D, "A"))
            for p in (1, 2, 3, 4)
        ]
    )
    final = _preds([_pred(1, "A"), _pred(3, "A"), _pred(4, "A", recommendation="PASS", actionable=False)])

    def graded(days: list[date]) -> pl.DataFrame:
        empty = {name: pl.DataFrame(schema=RAW_CONTRACTS[name]) for name in ("injury_report", "schedule")}
        return publications.published_grades(
            store,
            days,
            final,
            box,
            empty["injury_report"],
            empty["schedule"],
            pl.DataFrame(schema=PROPS_SCHEMA),
        )

    both = pl.concat([graded([old]), graded([D])])
    assert both.height == 5 and both.filter("withdrawn")["player_id"].to_list() == [1, 2, 4]  # old: not final
    newest = publications.published_record(graded([D]))
    assert isinstance(newest, dict) and newest["catboost"]["record"] == "2-1-0"
    perf = publications.published_performance(both, D)
    assert perf.select("window", "system", "bets", "record", "withdrawn_bets", "withdrawn_record").rows() == [
        ("30d", "catboost", 3, "2-1-0", 1, "0-1-0"),
        ("season", "catboost", 5, "3-2-0", 3, "1-2-0"),
    ]
    # no line snapshot: no closing line, so no closing-line value either
    assert perf["clv_calls"].to_list() == [0, 0] and perf["clv_mean"].to_list() == [None, None]
    # a date before the season's start sees neither
    assert publications.published_performance(both, date(2025, 7, 31)).is_empty()


def test_two_main_lines_of_one_book_in_one_snapshot_publish_the_lower_in_any_row_order() -> None:
    at = datetime(2025, 11, 5, 15, 0, tzinfo=UTC)
    rows = [_pred(1, "A", line=19.5, over_price=-120), _pred(1, "A", line=18.5, over_price=-105)]
    snapshot = _preds(rows).with_columns(pl.lit(at).cast(pl.Datetime("us", "UTC")).alias("published_utc"))
    for order in (snapshot, snapshot.reverse()):
        first = publications.first_publications(order)
        assert first.select("line", "over_price").rows() == [(18.5, -105)]
