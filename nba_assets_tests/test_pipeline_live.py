"""The prod source wiring, offline: the raw assets run on LiveSource with `responses` serving the
recorded real payloads (no network, no real keys)."""

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
import responses

from nba_assets.defs.raw.assets import raw_assets
from nba_assets.defs.resources import (
    ArchiveSourceResource,
    LiveSourceResource,
    LocalObjectStoreResource,
    NbaSourceResource,
)
from nba_assets.lib.sources.archive import ArchiveSource
from nba_assets.lib.sources.live.http import HttpClient, RetryPolicy
from nba_assets.lib.sources.live.source import LiveSource
from nba_assets.lib.storage.duckdb_io import NbaDuckDBIOManager
from nba_assets.lib.storage.object_store import LocalObjectStore

KEY = "canary-odds-key-7f3a9c"
STATS = "https://stats.nba.com/stats"
ODDS = "https://api.the-odds-api.com/v4/sports/basketball_nba"
EVENT = "f54c4a22568ce9dc33fb410d1b0e75e9"


def _fast_http() -> HttpClient:
    return HttpClient(
        min_interval=0.0, policy=RetryPolicy(max_attempts=3), sleep=lambda s: None, rng=lambda: 0.0
    )


class _OfflineLive(NbaSourceResource):
    """LiveSource with a no-sleep HTTP client and a fixed clock (the odds snapshot time)."""

    now_utc: str

    def get_source(self, store):
        return LiveSource(store, KEY, http=_fast_http(), now=lambda: datetime.fromisoformat(self.now_utc))


def _odds_fixture(fixtures_dir: Path) -> dict:
    return json.loads(
        (fixtures_dir / "oddsapi_v4_event_odds_player_points_ORL-at-CLE_2024-02-22.json").read_text()
    )


def _raw_resources(tmp_path: Path, source: NbaSourceResource) -> dict[str, object]:
    """The raw assets' resources: a DuckDB warehouse and an object store under ``tmp_path``, and ``source``."""
    return {
        "io_manager": NbaDuckDBIOManager(database=str(tmp_path / "w.duckdb")),
        "object_store": LocalObjectStoreResource(root=str(tmp_path / "objects")),
        "nba_source": source,
    }


@responses.activate
def test_live_schedule_asset_on_recorded_scoreboard(tmp_path, fixtures_dir) -> None:
    responses.get(
        f"{STATS}/scoreboardv3", body=(fixtures_dir / "stats_scoreboardv3_2025-11-05.json").read_bytes()
    )
    res = _raw_resources(tmp_path, _OfflineLive(now_utc="2025-11-06T12:00:00+00:00"))
    result = dg.materialize([raw_assets[0]], resources=res, partition_key="2025-11-05")
    assert result.success
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute(
            "select count(*), count(*) filter (where status = 'final') from raw.schedule"
        ).fetchone() == (11, 11)
    # the body was archived, content-addressed, before parsing
    keys = LocalObjectStore(tmp_path / "objects").list_keys("raw_payloads")
    assert len(keys) == 1 and keys[0].startswith("raw_payloads/scoreboard-v3/2025-11-05/")
    assert responses.calls[0].request.params["GameDate"] == "2025-11-05"


@responses.activate
def test_an_empty_scoreboard_never_replaces_a_dates_stored_games(tmp_path, fixtures_dir) -> None:
    """2024-01-15 stored with its 11 games (scoreboardV2's recorded board); a later run whose scoreboardv3
    answers 200 with no games fails, naming the field and the date, because the season schedule lists
    the date's games, and the stored partition keeps its 11 games (before, it was emptied and every
    check passed)."""
    responses.get(f"{STATS}/scoreboardv3", status=503)
    responses.get(
        f"{STATS}/scoreboardv2", body=(fixtures_dir / "stats_scoreboardV2_2024-01-15.json").read_bytes()
    )
    res = _raw_resources(tmp_path, _OfflineLive(now_utc="2024-01-16T12:00:00+00:00"))
    assert dg.materialize([raw_assets[0]], resources=res, partition_key="2024-01-15").success
    responses.reset()
    responses.get(
        f"{STATS}/scoreboardv3",
        json={"scoreboard": {"gameDate": "2024-01-15", "leagueId": "00", "games": []}},
    )
    responses.get(
        "https://cdn.nba.com/static/json/staticData/scheduleLeagueV2_1.json",
        body=(fixtures_dir / "cdn_scheduleLeagueV2_2023-24.json").read_bytes(),
    )
    result = dg.materialize([raw_assets[0]], resources=res, partition_key="2024-01-15", raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "field 'scoreboard.games' is empty for 2024-01-15" in str(failure.step_failure_data.error)
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from raw.schedule").fetchone() == (11,)


@responses.activate
def test_live_props_are_pre_game_and_keys_never_leak(tmp_path, fixtures_dir) -> None:
    odds = _odds_fixture(fixtures_dir)
    events = [
        {
            k: odds[k]
            for k in ("id", "sport_key", "sport_title", "commence_time", "home_team", "away_team")
            if k in odds
        }
    ]
    responses.get(f"{ODDS}/events", json=events)
    responses.get(f"{ODDS}/events/{EVENT}/odds", json=odds)
    store = LocalObjectStore(tmp_path)
    before_tip = datetime(2024, 2, 22, 20, 0, tzinfo=UTC)
    src = LiveSource(store, KEY, http=_fast_http(), now=lambda: before_tip)
    batch = src.player_props([date(2024, 2, 22)], before_tip)
    frame = batch.frame
    assert frame["bookmaker"].n_unique() == 10 and frame["player_name"].n_unique() == 20
    assert (frame["snapshot_utc"] < frame["tipoff_utc"]).all()
    mains = frame.filter(pl.col("is_main_line")).group_by("bookmaker", "player_name").len()
    assert (mains["len"] == 1).all()
    # after tip-off the event is not asked again (no post-tip lines); what was seen before it is kept
    odds_calls = sum("/odds" in c.request.url for c in responses.calls)
    after = src.player_props([date(2024, 2, 22)], datetime(2024, 2, 23, 1, 0, tzinfo=UTC)).frame
    assert sum("/odds" in c.request.url for c in responses.calls) == odds_calls
    assert after.sort(after.columns).equals(frame.sort(frame.columns))
    # a fresh deployment (empty ledger) asked after tip-off has no lines for the event at all
    late = LiveSource(LocalObjectStore(tmp_path / "fresh"), KEY, http=_fast_http(), now=lambda: before_tip)
    assert late.player_props([date(2024, 2, 22)], datetime(2024, 2, 23, 1, 0, tzinfo=UTC)).frame.is_empty()
    # the key is sent as a parameter but appears in no archive key, note or stored file name
    assert all(c.request.params.get("apiKey") == KEY for c in responses.calls if "/odds" in c.request.url)
    assert KEY not in json.dumps(batch.notes) and all(KEY not in k for k in batch.payload_keys)
    assert not any(KEY in p.name for p in Path(tmp_path).rglob("*"))


def _two_events(tmp_path: Path, fixtures_dir: Path) -> tuple[dict, dict, LocalObjectStore, dict, LiveSource]:
    """The recorded ORL-at-CLE odds (tip-off 00:00 UTC) and a copy as a second event tipping off 3 h
    later, served by ``responses``; a LiveSource on a fresh store whose clock (``clock["now"]``,
    16:00 ET) the test moves."""
    early = _odds_fixture(fixtures_dir)
    late = {**early, "id": "late0000000000000000000000000000", "commence_time": "2024-02-23T03:00:00Z"}
    fields = ("id", "sport_key", "sport_title", "commence_time", "home_team", "away_team")
    responses.get(f"{ODDS}/events", json=[{k: ev[k] for k in fields} for ev in (early, late)])
    for ev in (early, late):
        responses.get(f"{ODDS}/events/{ev['id']}/odds", json=ev)
    store = LocalObjectStore(tmp_path)
    clock = {"now": datetime(2024, 2, 22, 20, 0, tzinfo=UTC)}
    return early, late, store, clock, LiveSource(store, KEY, http=_fast_http(), now=lambda: clock["now"])


@responses.activate
def test_live_lines_refresh_after_a_tip_off_keeps_every_line_seen_before(tmp_path, fixtures_dir) -> None:
    """The API answers only for events not yet started: a refresh between two tip-offs must still
    return the started game's pre-game lines (they are graded tonight) and every earlier snapshot
    (the opening lines)."""
    early, late, store, clock, src = _two_events(tmp_path, fixtures_dir)
    day = date(2024, 2, 22)
    first = src.player_props([day], clock["now"]).frame
    clock["now"] = datetime(2024, 2, 23, 1, 0, tzinfo=UTC)  # the early game has started
    second = src.player_props([day], clock["now"]).frame
    asked = [
        c.request.url.split("/events/")[1].split("/")[0] for c in responses.calls if "/odds" in c.request.url
    ]
    assert asked == [early["id"], late["id"], late["id"]]  # the started event is not asked again
    per_event = second.group_by("event_id").agg(pl.col("snapshot_utc").n_unique().alias("snapshots"))
    assert dict(per_event.iter_rows()) == {early["id"]: 1, late["id"]: 2}
    early_rows = lambda f: f.filter(pl.col("event_id") == early["id"]).sort(f.columns)  # noqa: E731
    assert early_rows(second).equals(early_rows(first))
    assert (second["snapshot_utc"] < second["tipoff_utc"]).all()
    # the same call again replaces its snapshot instead of adding one (re-runs are idempotent)
    again = src.player_props([day], clock["now"]).frame
    assert again.sort(again.columns).equals(second.sort(second.columns))
    # asked as of the first snapshot, the ledger returns only what was seen by then
    replay = LiveSource(store, KEY, http=_fast_http(), now=lambda: datetime(2024, 2, 23, 5, 0, tzinfo=UTC))
    responses.replace(responses.GET, f"{ODDS}/events", json=[])
    assert replay.player_props([day], datetime(2024, 2, 22, 20, 0, tzinfo=UTC)).frame.height == first.height


@responses.activate
def test_live_lines_probe_without_the_ledger_sees_only_the_current_offer(tmp_path, fixtures_dir) -> None:
    early, late, store, clock, src = _two_events(tmp_path, fixtures_dir)
    day = date(2024, 2, 22)
    src.player_props([day], clock["now"])  # a run: recorded
    kept = store.list_keys("lines_ledger")
    clock["now"] = datetime(2024, 2, 23, 1, 0, tzinfo=UTC)
    probe = src.player_props([day], clock["now"], ledger=False).frame
    assert store.list_keys("lines_ledger") == kept  # nothing recorded
    assert probe["event_id"].unique().to_list() == [late["id"]]  # the started game is not offered now
    assert probe["snapshot_utc"].unique().to_list() == [clock["now"]]


@responses.activate
def test_live_lines_ledger_keeps_only_rows_that_pass_the_raw_contract(tmp_path, fixtures_dir) -> None:
    odds = _odds_fixture(fixtures_dir)
    odds["bookmakers"][0]["markets"][0]["outcomes"][0]["point"] = 150.0  # a line out of range
    fields = ("id", "sport_key", "sport_title", "commence_time", "home_team", "away_team")
    responses.get(f"{ODDS}/events", json=[{k: odds[k] for k in fields}])
    responses.get(f"{ODDS}/events/{EVENT}/odds", json=odds)
    store = LocalObjectStore(tmp_path)
    when = datetime(2024, 2, 22, 20, 0, tzinfo=UTC)
    frame = (
        LiveSource(store, KEY, http=_fast_http(), now=lambda: when)
        .player_props([date(2024, 2, 22)], when)
        .frame
    )
    assert frame.filter(pl.col("line") == 150.0).height == 1  # this run's batch: the asset quarantines it
    (key,) = store.list_keys("lines_ledger")
    kept = pl.read_parquet(store.uri(key))
    assert kept.height == frame.height - 1 and kept.filter(pl.col("line") == 150.0).is_empty()


def test_live_lines_ledger_names_a_damaged_object(tmp_path) -> None:
    from nba_assets.lib.errors import SourceDataError
    from nba_assets.lib.sources.live.source import lines_ledger_read

    store = LocalObjectStore(tmp_path)
    store.put_bytes("lines_ledger/2024-02-22/20240222T200000000000Z.parquet", b"not parquet")
    with pytest.raises(SourceDataError, match="lines ledger: field 'lines_ledger/2024-02-22/"):
        lines_ledger_read(store, date(2024, 2, 22), datetime(2024, 2, 23, tzinfo=UTC))


@responses.activate
def test_live_injury_statuses_of_a_started_game_come_from_before_its_tip_off(tmp_path, fixtures_dir) -> None:
    """Asked at 21:00 ET, the latest edition (9PM) was issued after MIL@SAS tipped off (19:30 ET):
    SAS's rows come from the 7PM edition instead; DEN@GSW (22:00 ET) keeps the 9PM rows."""
    from nba_assets.lib.sources.live.injury_report import report_url

    pdf = (fixtures_dir / "nba_injury_report_2024-01-04_12PM.pdf").read_bytes()
    for hour in (21, 19):
        responses.get(report_url(datetime(2024, 1, 4, hour, 0)), body=pdf)
    day = date(2024, 1, 4)
    schedule = pl.DataFrame(
        {
            "game_date": [day, day],
            "tipoff_utc": [datetime(2024, 1, 5, 0, 30, tzinfo=UTC), datetime(2024, 1, 5, 3, 0, tzinfo=UTC)],
            "home_abbr": ["SAS", "GSW"],
            "away_abbr": ["MIL", "DEN"],
        }
    )
    as_of = datetime(2024, 1, 5, 2, 0, tzinfo=UTC)  # 21:00 ET
    src = LiveSource(LocalObjectStore(tmp_path), KEY, http=_fast_http(), now=lambda: as_of)
    got = src.injury_report([day], as_of, schedule)
    editions = dict(got.frame.group_by("team_abbr").agg(pl.col("report_time_et").max()).iter_rows())
    assert editions == {
        "SAS": datetime(2024, 1, 4, 19, 0),
        "DEN": datetime(2024, 1, 4, 21, 0),
        "GSW": datetime(2024, 1, 4, 21, 0),
    }
    # both editions were fetched; the fixture serves the same bytes, so one content-addressed object
    assert got.frame.height == 14 and len(got.payload_keys) == 2 and len(set(got.payload_keys)) == 1
    assert got.notes["injury_report_2024-01-04_before_tip_off"] == (
        "2 team(s) had tipped off by the 21:00 ET edition"  # MIL and SAS
    )
    # without the schedule every team gets the 9PM statuses, issued after SAS's game began
    plain = src.injury_report([day], as_of).frame
    assert plain["report_time_et"].unique().to_list() == [datetime(2024, 1, 4, 21, 0)]


def test_live_injury_statuses_before_tip_off_use_quarter_hour_editions(tmp_path) -> None:
    """From 2025-12-23 editions come every quarter-hour: games tipping at 19:15 and 19:30 ET each take
    the latest edition before their own tip-off (19:00 and 19:15), not one shared hourly edition."""
    from nba_assets.lib import schemas
    from nba_assets.lib.sources.live.http import Fetched
    from nba_assets.lib.sources.live.injury_report import edition_slot

    day = date(2026, 1, 15)
    teams = ["MIL", "SAS", "DEN", "GSW", "BOS", "NYK"]

    def edition(cap: datetime) -> Fetched:
        slot = edition_slot(cap)
        rows = [
            {
                "game_date": day,
                "report_time_et": slot,
                "game_time_et": "",
                "matchup": "",
                "team_abbr": t,
                "player_name": f"P, {t}",
                "player_id": None,
                "status": "Out",
                "reason": "",
                "source": "test",
            }
            for t in teams
        ]
        return Fetched(schemas.conform(pl.DataFrame(rows), schemas.INJURY_SCHEMA, "test"), [f"k{slot:%H%M}"])

    asked: list[datetime] = []
    src = LiveSource(LocalObjectStore(tmp_path), KEY, http=_fast_http())
    src.injuries.fetch_latest = lambda d, cap: asked.append(cap) or edition(cap)  # type: ignore[method-assign]
    schedule = pl.DataFrame(
        {
            "game_date": [day] * 3,
            "tipoff_utc": [
                datetime(2026, 1, 16, 0, 15, tzinfo=UTC),  # 19:15 ET
                datetime(2026, 1, 16, 0, 30, tzinfo=UTC),  # 19:30 ET
                datetime(2026, 1, 16, 3, 0, tzinfo=UTC),  # 22:00 ET
            ],
            "home_abbr": ["SAS", "GSW", "NYK"],
            "away_abbr": ["MIL", "DEN", "BOS"],
        }
    )
    got = src.injury_report([day], datetime(2026, 1, 16, 2, 5, tzinfo=UTC), schedule)  # 21:05 ET
    editions = dict(got.frame.select("team_abbr", "report_time_et").iter_rows())
    assert editions == {
        "MIL": datetime(2026, 1, 15, 19, 0),
        "SAS": datetime(2026, 1, 15, 19, 0),
        "DEN": datetime(2026, 1, 15, 19, 15),
        "GSW": datetime(2026, 1, 15, 19, 15),
        "BOS": datetime(2026, 1, 15, 21, 0),
        "NYK": datetime(2026, 1, 15, 21, 0),
    }
    assert asked[1:] == [datetime(2026, 1, 15, 19, 14), datetime(2026, 1, 15, 19, 29)]


def test_live_resource_reads_keys_only_at_run_time(monkeypatch) -> None:
    monkeypatch.setenv("ODDS_API_KEY", KEY)
    res = LiveSourceResource(odds_api_key=dg.EnvVar("ODDS_API_KEY"))
    assert isinstance(res.odds_api_key, dg.EnvVar)
    assert KEY not in repr(res) and KEY not in str(res.model_dump())


@pytest.mark.parametrize("status", [500, 503])
@responses.activate
def test_live_schedule_fails_clearly_after_bounded_retries(tmp_path, status) -> None:
    from nba_assets.lib.errors import SourceUnavailableError

    responses.get(f"{STATS}/scoreboardv3", status=status)
    responses.get(f"{STATS}/scoreboardv2", status=status)
    src = LiveSource(LocalObjectStore(tmp_path), KEY, http=_fast_http())
    with pytest.raises(SourceUnavailableError) as err:
        src.schedule([date(2025, 11, 5)], datetime.now(UTC))
    assert "stats.nba.com" in str(err.value) and KEY not in str(err.value)
    assert len(responses.calls) == 6  # 3 attempts on v3, then 3 on the v2 fallback


BP_KEY = "canary-bettingpros-key-51c0"
BP = "https://api.bettingpros.com/v3"


def _bettingpros_day(fixtures_dir: Path, local_fixtures_dir: Path) -> None:
    """BettingPros' recorded events of 2021-10-21 (tip-offs 23:30, 00:00 and 02:00 UTC) and the two
    hand-made offers pages for them."""
    responses.get(
        f"{BP}/events", body=(fixtures_dir / "bettingpros_v3_events_NBA_2021-10-21.json").read_bytes()
    )
    for page in (1, 2):
        responses.get(
            f"{BP}/offers",
            body=(local_fixtures_dir / f"bettingpros_v3_offers_NBA_2021-10-21_page{page}.json").read_bytes(),
            match=[responses.matchers.query_param_matcher({"page": str(page)}, strict_match=False)],
        )


@responses.activate
def test_live_lines_from_bettingpros_when_the_odds_api_is_down(
    tmp_path, fixtures_dir, local_fixtures_dir
) -> None:
    """The Odds API answers 503 past its retries: BettingPros' lines stand in, for the events not yet
    tipped off; they go to the ledger, a second call adds no duplicate, and the batch says why."""
    from nba_assets.lib.errors import SourceUnavailableError

    responses.get(f"{ODDS}/events", status=503)
    _bettingpros_day(fixtures_dir, local_fixtures_dir)
    day, store = date(2021, 10, 21), LocalObjectStore(tmp_path)
    clock = {"now": datetime(2021, 10, 21, 23, 10, tzinfo=UTC)}
    src = LiveSource(store, KEY, BP_KEY, http=_fast_http(), now=lambda: clock["now"])
    batch = src.player_props([day], clock["now"])
    assert batch.frame.height == 9 and batch.frame["source"].unique().to_list() == ["bettingpros"]
    assert (batch.frame["snapshot_utc"] < batch.frame["tipoff_utc"]).all()
    assert list(batch.fallbacks) == ["2021-10-21"] and "503" in batch.fallbacks["2021-10-21"]
    assert batch.source == "the-odds-api, bettingpros" and "lines_fallback_2021-10-21" in batch.notes
    offers = [c.request for c in responses.calls if "/offers" in c.request.url]
    assert offers[0].params["event_id"] == "20879:20880:20881" and offers[0].headers["X-Api-Key"] == BP_KEY
    assert len(store.list_keys("lines_ledger/2021-10-21/")) == 1
    # every row is stamped with the moment of asking, like The Odds API's: a book's offer of a game is one
    # snapshot, so downstream's latest-snapshot-per-book keeps all of it
    assert batch.frame["snapshot_utc"].unique().to_list() == [clock["now"]]
    # later (the first game has tipped off): the offers are asked for the two events still to come, and
    # the started game's lines come from the ledger
    pages = [
        json.loads((local_fixtures_dir / f"bettingpros_v3_offers_NBA_2021-10-21_page{n}.json").read_text())
        for n in (1, 2)
    ]
    still_open = [o for page in pages for o in page["offers"] if o["event_id"] != 20879]
    responses.replace(
        responses.GET,
        f"{BP}/offers",
        json={"offers": still_open, "_pagination": {"page": 1, "total_pages": 1}},
    )
    clock["now"] = datetime(2021, 10, 21, 23, 45, tzinfo=UTC)
    later = src.player_props([day], clock["now"]).frame
    assert responses.calls[-1].request.params["event_id"] == "20880:20881"
    per_event = later.group_by("event_id").agg(pl.col("snapshot_utc").n_unique().alias("snapshots"))
    assert dict(per_event.iter_rows()) == {"20879": 1, "20880": 2}
    assert later.height == batch.frame.height + batch.frame.filter(pl.col("event_id") == "20880").height
    assert len(store.list_keys("lines_ledger/2021-10-21/")) == 2
    assert not any(BP_KEY in k for k in batch.payload_keys) and BP_KEY not in str(batch.notes)
    # both down: one error naming both, transient because an outage was among them
    responses.replace(responses.GET, f"{BP}/events", status=503)
    with pytest.raises(SourceUnavailableError, match="bettingpros fallback failed too") as err:
        src.player_props([day], clock["now"])
    assert err.value.transient and "the-odds-api" in str(err.value) and BP_KEY not in str(err.value)


@responses.activate
def test_without_a_bettingpros_key_the_odds_api_failure_fails_the_batch(tmp_path) -> None:
    from nba_assets.lib.errors import SourceUnavailableError

    responses.get(f"{ODDS}/events", status=401, json={"message": "Usage quota has been reached"})
    src = LiveSource(LocalObjectStore(tmp_path), KEY, http=_fast_http())
    with pytest.raises(SourceUnavailableError, match="401") as err:
        src.player_props([date(2021, 10, 21)], datetime(2021, 10, 21, 23, 10, tzinfo=UTC))
    assert not err.value.transient and len(responses.calls) == 1


def test_the_sensor_probe_has_no_bettingpros_fallback(tmp_path) -> None:
    """A fallback would be a fourth unit of work in the refresh sensor's 60 s; the runs keep it."""
    res = LiveSourceResource(odds_api_key=KEY, bettingpros_api_key=BP_KEY)
    store = LocalObjectStore(tmp_path)
    assert res.get_source(store).bettingpros is not None
    assert res.get_probe_source(store).bettingpros is None


def _slow_slate(
    fixtures_dir: Path, clock, games: int, seconds: float, odds_seconds: float | None = None
) -> None:
    """A tick's worth of answers on the fake ``clock``: the recorded scoreboard, then ``games`` Odds API
    events of 2024-02-22 and their odds; each answer takes ``seconds`` (odds: ``odds_seconds``, and
    a read timeout instead of an answer when that is the probe's read timeout)."""
    import requests

    from nba_assets.defs.resources import PROBE_UNIT_SECONDS

    odds = _odds_fixture(fixtures_dir)
    fields = ("id", "sport_key", "sport_title", "commence_time", "home_team", "away_team")
    events = [{**{k: odds[k] for k in fields}, "id": f"event{n:02d}"} for n in range(games)]

    def answer(body: bytes, took: float):
        def reply(request):
            clock.now += took
            if took >= PROBE_UNIT_SECONDS:
                raise requests.ReadTimeout("read timed out")
            return 200, {"x-requests-last": "1"}, body

        return reply

    scoreboard = (fixtures_dir / "stats_scoreboardv3_2025-11-05.json").read_bytes()
    responses.add_callback(responses.GET, f"{STATS}/scoreboardv3", callback=answer(scoreboard, seconds))
    responses.add_callback(
        responses.GET, f"{ODDS}/events", callback=answer(json.dumps(events).encode(), seconds)
    )
    for ev in events:
        body = json.dumps({**odds, "id": ev["id"]}).encode()
        responses.add_callback(
            responses.GET, f"{ODDS}/events/{ev['id']}/odds", callback=answer(body, odds_seconds or seconds)
        )


def _probe_on(clock, tmp_path: Path) -> LiveSource:
    """The refresh sensor's probe source, exactly as the resource builds it, on the fake clock."""
    probe = LiveSourceResource(odds_api_key=KEY).get_probe_source(LocalObjectStore(tmp_path))
    probe.http.clock, probe.http.sleep = clock, clock.sleep
    return probe


@responses.activate
def test_the_sensor_probe_reads_a_full_slate_inside_the_tick(tmp_path, fixtures_dir) -> None:
    """Twelve games, every answer taking 0.7 s: the schedule, one events call and twelve odds calls
    (10 s at the host's 0.5 s spacing). An 8 s budget for the date's lines failed this every tick
    while the API was healthy; the probe's budget now covers the tick, so the lines come back, with
    one credit-costing call per game and no retry."""
    from nba_assets_tests.test_lib_live_clients import FakeClock

    clock = FakeClock()
    _slow_slate(fixtures_dir, clock, games=12, seconds=0.7)
    probe, start = _probe_on(clock, tmp_path), clock.now
    before_tip = datetime(2024, 2, 22, 20, 0, tzinfo=UTC)
    probe.schedule([date(2025, 11, 5)], before_tip)
    batch = probe.player_props([date(2024, 2, 22)], before_tip, ledger=False)
    assert batch.frame["event_id"].n_unique() == 12
    odds_calls = [c for c in responses.calls if "the-odds-api" in c.request.url]
    assert len(odds_calls) == 13  # the free events call and one paid call per game
    assert clock.now - start == pytest.approx(14 * 0.7)


@pytest.mark.parametrize("odds_seconds", [5.0, 8.0])
@responses.activate
def test_the_sensor_probe_gives_up_inside_the_tick_when_the_odds_api_is_slow(
    tmp_path, fixtures_dir, odds_seconds
) -> None:
    """Fifteen games and every odds call taking 5 s (or hitting the probe's 8 s read timeout): the
    probe fails, naming the host, before Dagster's 60 s sensor deadline, and no game's odds are asked
    more than twice (credits)."""
    from nba_assets.defs.resources import PROBE_TICK_SECONDS, PROBE_UNIT_SECONDS
    from nba_assets.lib.errors import SourceUnavailableError
    from nba_assets_tests.test_lib_live_clients import FakeClock

    clock = FakeClock()
    _slow_slate(fixtures_dir, clock, games=15, seconds=0.7, odds_seconds=odds_seconds)
    probe, start = _probe_on(clock, tmp_path), clock.now
    before_tip = datetime(2024, 2, 22, 20, 0, tzinfo=UTC)
    probe.schedule([date(2025, 11, 5)], before_tip)
    with pytest.raises(SourceUnavailableError, match="api.the-odds-api.com"):
        probe.player_props([date(2024, 2, 22)], before_tip, ledger=False)
    assert clock.now - start <= PROBE_TICK_SECONDS + PROBE_UNIT_SECONDS <= 50
    asked = [c.request.url.split("?")[0] for c in responses.calls if "/odds" in c.request.url]
    assert max(asked.count(url) for url in asked) <= 2


def test_seasons_between_lists_every_season_a_range_touches() -> None:
    from nba_assets.lib.sources.live.source import seasons_between

    assert seasons_between(date(2022, 9, 19), date(2025, 4, 12)) == ["2022-23", "2023-24", "2024-25"]
    assert seasons_between(date(2025, 3, 15), date(2025, 3, 15)) == ["2024-25"]
    assert seasons_between(date(2025, 3, 16), date(2025, 3, 15)) == []


@responses.activate
def test_live_player_history_asks_every_season_of_a_multi_season_range(tmp_path, fixtures_dir) -> None:
    """A two-season backfill (2023-10-24..2025-04-13) resolves names against the game logs of every
    season from its 400-day look-back on: 2022-23, 2023-24 (the middle one) and 2024-25."""
    from nba_assets.lib.raw import IDENTITY_LOOKBACK

    recorded = json.loads((fixtures_dir / "stats_leaguegamelog_players_2025-03-15.json").read_text())
    empty = {**recorded, "resultSets": [{**recorded["resultSets"][0], "rowSet": []}]}
    for season in ("2022-23", "2023-24", "2024-25"):
        responses.get(
            f"{STATS}/leaguegamelog",
            json=recorded if season == "2024-25" else empty,
            match=[responses.matchers.query_param_matcher({"Season": season}, strict_match=False)],
        )
    src = LiveSource(LocalObjectStore(tmp_path), KEY, http=_fast_http())
    first, last = date(2023, 10, 24), date(2025, 4, 13)
    hist = src.player_history(before=last, since=first - IDENTITY_LOOKBACK)
    asked = [call.request.params["Season"] for call in responses.calls]
    assert asked == ["2022-23", "2023-24", "2024-25"]
    assert {call.request.params["DateFrom"] for call in responses.calls} == {"2022-09-19"}
    assert hist.height == 157


def _markers(frame: pl.DataFrame) -> pl.DataFrame:
    """The empty-fetch markers of a props frame (``schemas.EMPTY_FETCH``)."""
    return frame.filter((pl.col("match_method") == "empty_fetch") & pl.col("line").is_null())


@responses.activate
def test_live_lines_a_book_that_pulls_every_line_of_an_upcoming_game_is_no_longer_offered(
    tmp_path, fixtures_dir
) -> None:
    """At 21:00 UTC draftkings answers nothing for ORL@CLE (still upcoming) and the late copy comes back
    with its ten books but no player_points market at any: each (event, book) that offered lines gets an
    empty-fetch marker, kept in the ledger, so the earlier snapshots are no longer current. Without it
    the 20:00 snapshot of those books stayed their offer. After the early tip-off the early game is not
    asked, and its last pre-game lines stay current."""
    from nba_assets.lib.modeling.decisions import current_offers

    early, late, store, clock, src = _two_events(tmp_path, fixtures_dir)
    day = date(2024, 2, 22)
    first = src.player_props([day], clock["now"]).frame
    assert _markers(first).is_empty()
    pulled_early = {**early, "bookmakers": [b for b in early["bookmakers"] if b["key"] != "draftkings"]}
    no_market = {**late, "bookmakers": [{**b, "markets": []} for b in late["bookmakers"]]}
    responses.replace(responses.GET, f"{ODDS}/events/{early['id']}/odds", json=pulled_early)
    responses.replace(responses.GET, f"{ODDS}/events/{late['id']}/odds", json=no_market)
    clock["now"] = datetime(2024, 2, 22, 21, 0, tzinfo=UTC)
    batch = src.player_props([day], clock["now"])
    marks = _markers(batch.frame)
    assert marks.group_by("event_id").len().sort("event_id").rows() == [(early["id"], 1), (late["id"], 10)]
    assert marks.filter(pl.col("event_id") == early["id"])["bookmaker"].to_list() == ["draftkings"]
    assert (marks["snapshot_utc"] == clock["now"]).all() and (
        marks["snapshot_utc"] < marks["tipoff_utc"]
    ).all()
    assert batch.notes["lines_pulled_2024-02-22"] == "11"
    offers = current_offers(batch.frame)
    assert offers.filter(pl.col("event_id") == late["id"]).is_empty()
    assert sorted(offers["bookmaker"].unique()) == sorted(b["key"] for b in pulled_early["bookmakers"])
    # the ledger holds the markers with their snapshot: a later run reads them back
    ledger = [pl.read_parquet(store.uri(k)) for k in store.list_keys("lines_ledger/2024-02-22/")]
    assert len(ledger) == 2 and _markers(ledger[1]).height == 11
    # the same fetch again: the same markers, no new snapshot (idempotent)
    again = src.player_props([day], clock["now"]).frame
    assert again.sort(again.columns, nulls_last=True).equals(
        batch.frame.sort(batch.frame.columns, nulls_last=True)
    )
    assert len(store.list_keys("lines_ledger/2024-02-22/")) == 2
    # 22:00, still nothing: no new marker (the books' latest snapshot already is one), still not offered
    clock["now"] = datetime(2024, 2, 22, 22, 0, tzinfo=UTC)
    still = src.player_props([day], clock["now"])
    assert _markers(still.frame).height == 11 and "lines_pulled_2024-02-22" not in still.notes
    assert current_offers(still.frame).filter(pl.col("event_id") == late["id"]).is_empty()
    # 01:00, the early game has tipped off (not asked again) and the late one answers 204: the early
    # game's last pre-game offers (22:00) stay current, the late one still offers nothing
    responses.replace(responses.GET, f"{ODDS}/events/{late['id']}/odds", status=204)
    clock["now"] = datetime(2024, 2, 23, 1, 0, tzinfo=UTC)
    after = src.player_props([day], clock["now"]).frame
    assert _markers(after).height == 11
    early_offers = lambda f: current_offers(f).filter(pl.col("event_id") == early["id"])  # noqa: E731
    assert early_offers(after).sort(after.columns).equals(early_offers(still.frame).sort(after.columns))
    # the book posts again: its new snapshot is its offer
    responses.replace(responses.GET, f"{ODDS}/events/{late['id']}/odds", json=late)
    clock["now"] = datetime(2024, 2, 23, 2, 0, tzinfo=UTC)
    back = current_offers(src.player_props([day], clock["now"]).frame)
    assert back.filter(pl.col("event_id") == late["id"])["bookmaker"].n_unique() == 10


@responses.activate
def test_live_lines_only_books_asked_for_and_events_answered_are_marked(tmp_path, fixtures_dir) -> None:
    """A bookmakers parameter names the books asked for: a book outside it is not marked (it was not
    asked). An event the API no longer knows (404) was not answered: no marker either."""
    early, late, store, clock, _ = _two_events(tmp_path, fixtures_dir)
    day = date(2024, 2, 22)
    # an earlier deployment recorded every book's lines
    LiveSource(store, KEY, http=_fast_http(), now=lambda: clock["now"]).player_props([day], clock["now"])
    asked = ["draftkings", "fanduel"]
    src = LiveSource(store, KEY, http=_fast_http(), now=lambda: clock["now"], bookmakers=asked)
    responses.replace(responses.GET, f"{ODDS}/events/{early['id']}/odds", json={**early, "bookmakers": []})
    responses.replace(responses.GET, f"{ODDS}/events/{late['id']}/odds", status=404)
    clock["now"] = datetime(2024, 2, 22, 21, 0, tzinfo=UTC)
    frame = src.player_props([day], clock["now"]).frame
    marks = _markers(frame)
    assert sorted(marks["bookmaker"]) == asked and marks["event_id"].unique().to_list() == [early["id"]]
    params = [c.request.params for c in responses.calls if "/odds" in c.request.url][-1]
    assert params["bookmakers"] == "draftkings,fanduel"


@responses.activate
def test_live_lines_bettingpros_marks_its_own_books_of_an_event_it_stops_offering(
    tmp_path, fixtures_dir, local_fixtures_dir
) -> None:
    """The fallback is asked for every book of every upcoming event: 20880 (MIL@MIA) had fanduel and
    bet365 offers at 23:10; at 23:20 BettingPros offers only 20879's, so both books get a marker, from
    bettingpros. 20881 never had an offer: nothing to mark."""
    responses.get(f"{ODDS}/events", status=503)
    _bettingpros_day(fixtures_dir, local_fixtures_dir)
    day, store = date(2021, 10, 21), LocalObjectStore(tmp_path)
    clock = {"now": datetime(2021, 10, 21, 23, 10, tzinfo=UTC)}
    src = LiveSource(store, KEY, BP_KEY, http=_fast_http(), now=lambda: clock["now"])
    assert _markers(src.player_props([day], clock["now"]).frame).is_empty()
    page1 = json.loads((local_fixtures_dir / "bettingpros_v3_offers_NBA_2021-10-21_page1.json").read_text())
    responses.replace(
        responses.GET,
        f"{BP}/offers",
        json={"offers": page1["offers"], "_pagination": {"page": 1, "total_pages": 1}},
    )
    clock["now"] = datetime(2021, 10, 21, 23, 20, tzinfo=UTC)
    marks = _markers(src.player_props([day], clock["now"]).frame)
    assert marks.select("event_id", "bookmaker", "source").sort(pl.all()).rows() == [
        ("20880", "bet365", "bettingpros"),
        ("20880", "fanduel", "bettingpros"),
    ]


def test_empty_fetch_markers_ignore_other_feeds_and_later_snapshots() -> None:
    """The pure rule: a book is marked when the same feed's latest earlier snapshot of the game held
    its lines and this fetch, asked before tip-off, has none. Another feed's books are not its to mark
    (BettingPros names and covers other books); a fetch asked after tip-off marks nothing; a snapshot
    at or after the fetch's own (the same fetch, re-run) is not "earlier"."""
    from nba_assets.lib import schemas
    from nba_assets.lib.sources.live.source import ASKED_SCHEMA, empty_fetch_markers

    day, tip = date(2024, 2, 22), datetime(2024, 2, 23, 0, 0, tzinfo=UTC)

    def line(book: str, hour: int, source: str = "the-odds-api") -> dict:
        return {
            "game_date": day, "game_id": None, "event_id": "e1", "tipoff_utc": tip,
            "snapshot_utc": datetime(2024, 2, 22, hour, tzinfo=UTC), "home_abbr": "CLE", "away_abbr": "ORL",
            "bookmaker": book, "player_name": "Donovan Mitchell", "player_id": None, "team_abbr": None,
            "match_method": "unresolved", "line": 27.5, "over_price": -110, "under_price": -110,
            "is_main_line": True, "source": source,
        }  # fmt: skip

    earlier = schemas.conform(
        pl.DataFrame([line("draftkings", 18), line("fanduel", 18), line("caesars", 18, "bettingpros")]),
        schemas.PROPS_SCHEMA,
        "t",
    )
    fetched = earlier.filter(pl.col("bookmaker") == "fanduel").with_columns(
        pl.lit(datetime(2024, 2, 22, 20, tzinfo=UTC)).alias("snapshot_utc")
    )

    def asked(hour: int) -> pl.DataFrame:
        return pl.DataFrame(
            [{"game_date": day, "event_id": "e1", "tipoff_utc": tip, "home_abbr": "CLE", "away_abbr": "ORL",
              "snapshot_utc": datetime(2024, 2, 22, hour, tzinfo=UTC)}],
            schema=ASKED_SCHEMA,
        )  # fmt: skip

    got = empty_fetch_markers(fetched, asked(20), earlier, "the-odds-api")
    assert got["bookmaker"].to_list() == ["draftkings"] and got.columns == list(schemas.PROPS_SCHEMA)
    assert got.select(schemas.is_empty_fetch_marker()).to_series().all()
    # asked at tip-off or later: the game has started, nothing is marked
    late = asked(20).with_columns(pl.col("tipoff_utc").dt.offset_by("-4h"))
    assert empty_fetch_markers(fetched, late, earlier, "the-odds-api").is_empty()
    # the ledger already holds this fetch's own snapshot (a re-run): same markers
    again = pl.concat([earlier, fetched, got])
    assert empty_fetch_markers(fetched, asked(20), again, "the-odds-api").equals(got)
    # a later fetch, still without draftkings: its latest snapshot is the marker already
    assert empty_fetch_markers(fetched, asked(21), again, "the-odds-api").is_empty()
    # the fallback feed marks only what it reported itself
    assert empty_fetch_markers(fetched.clear(), asked(20), earlier, "bettingpros")["bookmaker"].to_list() == [
        "caesars"
    ]


# ---------------------------------------------------------------- injury report: blocks, refreshes, presence

INJURY_EDITIONS = re.compile(r"https://ak-static\.cms\.nba\.com/referee/injury/.*")
S3_DENIED = b"<?xml version='1.0'?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"


class _ArchiveWithLiveInjuries(ArchiveSource):
    """The archive's schedule and players (2024-01-04: MIL@SAS and DEN@GSW, the fixture PDF's games) with
    the live injury report, its HTTP served by ``responses``: the live source, the raw asset and its check
    are the real ones."""

    def __init__(self, store: LocalObjectStore) -> None:
        super().__init__()
        self.live = LiveSource(store, KEY, http=_fast_http())

    def injury_report(self, dates, as_of, schedule=None):  # type: ignore[no-untyped-def]
        return self.live.injury_report(dates, as_of, schedule)

    def injury_report_dates(self, dates):  # type: ignore[no-untyped-def]
        return self.live.injury_report_dates(dates)


class _ArchiveWithLiveInjuriesResource(ArchiveSourceResource):
    def get_source(self, store):  # type: ignore[no-untyped-def]
        return _ArchiveWithLiveInjuries(store)


def _injury_run(tmp_path: Path, as_of: str) -> dg.ExecuteInProcessResult:
    res = _raw_resources(tmp_path, _ArchiveWithLiveInjuriesResource())
    cfg = dg.RunConfig(
        ops={k: {"config": {"as_of_utc": as_of}} for k in ("raw__schedule", "raw__injury_report")}
    )
    return dg.materialize(
        [raw_assets[0], raw_assets[2]],
        resources=res,
        partition_key="2024-01-04",
        run_config=cfg,
        raise_on_error=False,
    )


def _stored_injuries(tmp_path: Path) -> int:
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        return con.execute(
            "select count(*) from raw.injury_report where game_date = '2024-01-04'"
        ).fetchone()[0]


def _presence(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    (ev,) = [
        e
        for e in result.get_asset_check_evaluations()
        if e.check_name == "injury_report_present_for_scheduled_games"
    ]
    return ev


@responses.activate
def test_a_blocked_injury_refresh_fails_loudly_and_keeps_the_morning_report(tmp_path, fixtures_dir) -> None:
    """12:40 ET: the 12PM edition is stored (14 rows) and the presence check passes. 15:10 ET: every edition
    answers 403 (a block of this IP): the run fails naming the source and the status, and the morning's
    rows stay stored (they were replaced by an empty report before)."""
    from nba_assets.lib.sources.live.injury_report import report_url

    pdf = (fixtures_dir / "nba_injury_report_2024-01-04_12PM.pdf").read_bytes()
    responses.get(report_url(datetime(2024, 1, 4, 12, 0)), body=pdf)
    responses.get(INJURY_EDITIONS, status=403, body=S3_DENIED)  # this host refuses a missing file with 403
    morning = _injury_run(tmp_path, "2024-01-04T17:40:00+00:00")
    assert morning.success and _stored_injuries(tmp_path) == 14
    assert _presence(morning).passed

    responses.reset()
    responses.get(INJURY_EDITIONS, status=403, body=S3_DENIED)
    blocked = _injury_run(tmp_path, "2024-01-04T20:10:00+00:00")
    assert not blocked.success
    failure = next(e for e in blocked.all_events if e.event_type_value == "STEP_FAILURE")
    message = str(failure.event_specific_data.error)
    assert (
        "nba-injury-report: no edition of the report for 2024-01-04 found" in message
        and "HTTP 403" in message
    )
    assert _stored_injuries(tmp_path) == 14


@responses.activate
def test_an_injury_refresh_with_nobody_listed_keeps_the_earlier_report_and_warns(
    tmp_path, fixtures_dir
) -> None:
    """15:10 ET: the host says no edition exists (404 for each): the morning's rows are kept (injury
    ledger) instead of being replaced with nothing, and the presence check warns naming the date and why.
    A warehouse without an earlier report stores none and the check warns naming the date."""
    from nba_assets.lib.sources.live.injury_report import report_url

    pdf = (fixtures_dir / "nba_injury_report_2024-01-04_12PM.pdf").read_bytes()
    responses.get(report_url(datetime(2024, 1, 4, 12, 0)), body=pdf)
    responses.get(INJURY_EDITIONS, status=404)
    assert _injury_run(tmp_path, "2024-01-04T17:40:00+00:00").success

    responses.reset()
    responses.get(INJURY_EDITIONS, status=404)
    later = _injury_run(tmp_path, "2024-01-04T20:10:00+00:00")
    assert later.success and _stored_injuries(tmp_path) == 14
    check = _presence(later)
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["dates_kept_from_earlier_edition"].value == ["2024-01-04"]
    assert "kept the 14 row(s) of the 2024-01-04 12:00 ET edition" in str(
        check.metadata["kept_reasons"].value
    )

    (tmp_path / "fresh").mkdir()
    fresh = _injury_run(tmp_path / "fresh", "2024-01-04T20:10:00+00:00")
    assert fresh.success and _stored_injuries(tmp_path / "fresh") == 0
    check = _presence(fresh)
    assert not check.passed and check.metadata["dates_without_report"].value == ["2024-01-04"]
