"""The Odds API credits guard, offline: reading the quota headers, the reserve kept by the refresh
sensor's polls, the floor kept by the runs, and the credits as numeric metadata of raw/player_props
(`responses` serves the recorded payloads with the headers the API sends)."""

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import responses

from nba_assets.defs.raw.assets import raw_assets
from nba_assets.defs.resources import LiveSourceResource, LocalObjectStoreResource
from nba_assets.lib.env import Settings
from nba_assets.lib.errors import SourceDataError
from nba_assets.lib.sources.live.quota import (
    REMAINING_METADATA,
    USED_METADATA,
    CreditsKept,
    OddsQuota,
    OddsQuotaError,
    event_odds_cost,
    parse_credits,
    parse_quota,
    quota_refusal,
)
from nba_assets.lib.sources.live.source import LiveSource
from nba_assets.lib.storage.duckdb_io import NbaDuckDBIOManager
from nba_assets.lib.storage.object_store import LocalObjectStore

STATS = "https://stats.nba.com/stats"
ODDS = "https://api.the-odds-api.com/v4/sports/basketball_nba"
DAY = date(2025, 11, 5)
BEFORE_TIP = datetime(2025, 11, 5, 17, 0, tzinfo=UTC)  # 12:00 ET; the games tip off from 19:00 ET
RESERVE = CreditsKept(500, "NBA_ASSETS_ODDS_QUOTA_RESERVE", "the reserve kept for the scheduled fetches")


def quota_headers(remaining: str, used: str = "100", last: str = "1") -> dict[str, str]:
    return {"x-requests-remaining": remaining, "x-requests-used": used, "x-requests-last": last}


def event_odds_body(fixtures_dir: Path, event: dict) -> dict:
    """The recorded ORL-at-CLE lines as the answer for ``event`` (its id, teams and tip-off)."""
    odds = json.loads(
        (fixtures_dir / "oddsapi_v4_event_odds_player_points_ORL-at-CLE_2024-02-22.json").read_text()
    )
    return {**odds, **event}


def serve_slate(
    fixtures_dir: Path, remaining: str, games: int = 2, used: str = "100", mock: Any = responses
) -> list[str]:
    """2025-11-05's first ``games`` games (PHI@CLE, UTA@DET ...) as Odds API events tipping off at
    00:00 UTC, each answering the recorded ORL-at-CLE lines; every answer carries the quota headers
    (``remaining`` for the free events list, one credit less per paid call after it). ``mock``: the
    ``responses`` mock to register on (default: the module's, for ``@responses.activate``). Returns the
    event ids."""
    teams = [("Philadelphia 76ers", "Cleveland Cavaliers"), ("Utah Jazz", "Detroit Pistons")][:games]
    events = [
        {
            "id": f"event{n:02d}",
            "sport_key": "basketball_nba",
            "sport_title": "NBA",
            "commence_time": "2025-11-06T00:00:00Z",
            "home_team": home,
            "away_team": away,
        }
        for n, (away, home) in enumerate(teams)
    ]
    mock.get(f"{ODDS}/events", json=events, headers=quota_headers(remaining, used, "0"))
    for n, ev in enumerate(events, start=1):
        mock.get(
            f"{ODDS}/events/{ev['id']}/odds",
            json=event_odds_body(fixtures_dir, ev),
            headers=quota_headers(f"{float(remaining) - n:.1f}", str(int(used) + n), "1"),
        )
    return [ev["id"] for ev in events]


def paid_calls() -> list[str]:
    return [c.request.url for c in responses.calls if "/odds" in c.request.url]


def offline(source: LiveSource) -> LiveSource:
    """No real sleeping between the requests (the per-host spacing)."""
    source.http.sleep = lambda seconds: None
    return source


# ---------------------------------------------------------------- reading the headers


def test_quota_headers_are_read_as_numbers_float_strings_too() -> None:
    got = parse_quota({"X-Requests-Remaining": "19873.0", "x-requests-used": " 127 ", "x-requests-last": "1"})
    assert got == OddsQuota(remaining=19873.0, used=127.0, last=1.0)


def test_a_missing_or_blank_quota_header_is_unknown_not_zero() -> None:
    assert parse_quota({}) == OddsQuota(None, None, None)
    assert parse_credits("x-requests-remaining", "  ") is None


@pytest.mark.parametrize("value", ["abc", "-3", "nan", "inf", "12 credits"])
def test_a_quota_header_that_is_not_a_number_of_credits_is_refused_naming_it(value: str) -> None:
    with pytest.raises(SourceDataError) as err:
        parse_quota({"x-requests-remaining": value})
    assert str(err.value).startswith("the-odds-api: field 'x-requests-remaining' is not a number of credits")
    assert repr(value) in str(err.value)


def test_event_odds_cost_is_markets_times_regions() -> None:
    assert event_odds_cost("us", "player_points") == 1
    assert event_odds_cost("us,us2", "player_points,player_rebounds") == 4
    assert event_odds_cost("us", "player_points", [f"book{n}" for n in range(12)]) == 2  # 10 books a region


# ---------------------------------------------------------------- the decision


def test_the_refusal_keeps_the_reserve_and_names_source_header_and_value() -> None:
    assert quota_refusal(OddsQuota(remaining=None), 15, RESERVE, "a poll") is None  # unknown: no reading
    assert quota_refusal(OddsQuota(remaining=515.0), 15, RESERVE, "a poll") is None  # leaves exactly 500
    assert quota_refusal(OddsQuota(remaining=600.0), 0, RESERVE, "a poll") is None
    why = quota_refusal(OddsQuota(remaining=514.0), 15, RESERVE, "a poll of 15 event(s)")
    assert why == (
        "the-odds-api: header 'x-requests-remaining' is 514: a poll of 15 event(s) would cost 15 credit(s) "
        "and leave less than the reserve kept for the scheduled fetches of 500 (NBA_ASSETS_ODDS_QUOTA_RESERVE)"
    )
    # at the reserve any paid call is refused; one costing nothing spends nothing, even below it
    assert quota_refusal(OddsQuota(remaining=500.0), 1, RESERVE, "a poll") is not None
    assert quota_refusal(OddsQuota(remaining=499.0), 0, RESERVE, "a poll") is None
    # the floor (default 0) refuses only what the credits left cannot pay for
    assert quota_refusal(OddsQuota(remaining=2.0), 2, CreditsKept(), "a run") is None
    assert "'x-requests-remaining' is 1:" in (
        quota_refusal(OddsQuota(remaining=1.0), 2, CreditsKept(), "x") or ""
    )


# ---------------------------------------------------------------- the live source


@responses.activate
def test_the_sensor_probe_refuses_a_poll_under_the_reserve_before_any_paid_call(
    tmp_path, fixtures_dir
) -> None:
    """The free events list says 501 credits are left; two events would take them to 499, under the
    reserve of 500: the probe refuses (not transient: waiting does not renew credits), asking no odds."""
    serve_slate(fixtures_dir, "501.0")
    res = LiveSourceResource(odds_api_key="k", odds_quota_reserve=500)
    probe = offline(res.get_probe_source(LocalObjectStore(tmp_path)))
    with pytest.raises(OddsQuotaError) as err:
        probe.player_props([DAY], BEFORE_TIP, ledger=False)
    assert paid_calls() == [] and not err.value.transient and err.value.quota.remaining == 501.0
    assert "the-odds-api: header 'x-requests-remaining' is 501" in str(err.value)
    assert "NBA_ASSETS_ODDS_QUOTA_RESERVE" in str(err.value)


@responses.activate
def test_the_runs_spend_the_reserve_and_record_the_credits_as_numbers(tmp_path, fixtures_dir) -> None:
    """The same 501 credits: the run (the morning slate) is what the reserve is kept for, so it asks
    both events; the batch's metrics are the last answer's credits (float strings read as numbers)."""
    ids = serve_slate(fixtures_dir, "501.0")
    res = LiveSourceResource(odds_api_key="k", odds_quota_reserve=500)
    batch = offline(res.get_source(LocalObjectStore(tmp_path))).player_props([DAY], BEFORE_TIP)
    assert [u.split("/events/")[1].split("/")[0] for u in paid_calls()] == ids
    assert batch.metrics == {REMAINING_METADATA: 499.0, USED_METADATA: 102.0}
    assert not batch.frame.is_empty()


@responses.activate
def test_a_run_refuses_a_date_the_credits_left_cannot_pay_for(tmp_path, fixtures_dir) -> None:
    """One credit left and two events: the run used to spend it on the first and fail on the second
    (401 OUT_OF_USAGE_CREDITS); now it refuses the date first, naming the header and the value, and
    with a floor set it keeps that many credits."""
    serve_slate(fixtures_dir, "1")
    source = offline(LiveSourceResource(odds_api_key="k").get_source(LocalObjectStore(tmp_path)))
    with pytest.raises(OddsQuotaError, match=r"'x-requests-remaining' is 1: asking the lines of 2 event"):
        source.player_props([DAY], BEFORE_TIP)
    assert paid_calls() == []
    responses.reset()
    serve_slate(fixtures_dir, "51")  # two events would leave 49
    floor = LiveSourceResource(odds_api_key="k", odds_quota_reserve=100, odds_quota_floor=50)
    with pytest.raises(OddsQuotaError, match=r"less than the floor of 50 \(NBA_ASSETS_ODDS_QUOTA_FLOOR\)"):
        offline(floor.get_source(LocalObjectStore(tmp_path))).player_props([DAY], BEFORE_TIP)


@responses.activate
def test_a_run_with_nothing_to_pay_for_is_not_refused_under_the_floor(tmp_path, fixtures_dir) -> None:
    """The floor keeps credits from being spent; a date whose events have all tipped off (or a day
    without games) costs nothing. Credits already under the floor (40 < 50, the floor raised to keep
    credits for hand runs) must not fail such a run: it reads the lines the ledger kept from before
    the tip-offs, with no paid call, as it would with any number of credits left."""
    serve_slate(fixtures_dir, "501.0")
    runs = LiveSourceResource(odds_api_key="k", odds_quota_reserve=100, odds_quota_floor=50)
    first = offline(runs.get_source(LocalObjectStore(tmp_path)))
    first.now = first.odds.now = lambda: BEFORE_TIP  # the snapshot's time: the morning slate's
    before = first.player_props([DAY], BEFORE_TIP)
    assert len(paid_calls()) == 2 and not before.frame.is_empty()
    responses.replace(responses.GET, f"{ODDS}/events", json=[], headers=quota_headers("40"))
    after_tip = datetime(2025, 11, 6, 4, 0, tzinfo=UTC)  # 23:00 ET: every game has started
    later = offline(runs.get_source(LocalObjectStore(tmp_path))).player_props([DAY], after_tip)
    assert len(paid_calls()) == 2  # nothing asked
    assert later.frame.height == before.frame.height and later.metrics[REMAINING_METADATA] == 40.0


@responses.activate
def test_without_a_remaining_header_the_fetch_goes_out_and_says_so(tmp_path, fixtures_dir) -> None:
    serve_slate(fixtures_dir, "501")
    responses.replace(responses.GET, f"{ODDS}/events/event00/odds", json={"bookmakers": []}, status=200)
    responses.replace(responses.GET, f"{ODDS}/events/event01/odds", status=204)
    responses.replace(responses.GET, f"{ODDS}/events", json=[], headers={"x-requests-used": "7"})
    probe = offline(LiveSourceResource(odds_api_key="k").get_probe_source(LocalObjectStore(tmp_path)))
    batch = probe.player_props([DAY], BEFORE_TIP, ledger=False)
    assert batch.metrics == {USED_METADATA: 7.0}  # remaining unknown: not recorded as a number
    assert "without an x-requests-remaining header" in batch.notes["odds_api_quota_unknown"]


@responses.activate
def test_raw_player_props_records_the_credits_as_numeric_metadata(tmp_path, fixtures_dir) -> None:
    """The lines asset's materialization carries the credits left and used as float metadata (the UI
    plots them across materializations), beside the headers as a note."""
    responses.get(
        f"{STATS}/scoreboardv3", body=(fixtures_dir / "stats_scoreboardv3_2025-11-05.json").read_bytes()
    )
    responses.get(
        f"{STATS}/leaguegamelog",
        body=(fixtures_dir / "stats_leaguegamelog_players_2025-03-15.json").read_bytes(),
    )
    serve_slate(fixtures_dir, "19873.0", used="127")

    class OfflineLive(LiveSourceResource):
        def get_source(self, store):  # type: ignore[no-untyped-def]
            source = super().get_source(store)
            source.now = source.odds.now = lambda: BEFORE_TIP
            return offline(source)

    res = {
        "io_manager": NbaDuckDBIOManager(database=str(tmp_path / "w.duckdb")),
        "object_store": LocalObjectStoreResource(root=str(tmp_path / "objects")),
        "nba_source": OfflineLive(odds_api_key="k"),
    }
    schedule, props = (a for a in raw_assets if a.node_def.name in ("raw__schedule", "raw__player_props"))
    cfg = {"ops": {"raw__player_props": {"config": {"as_of_utc": BEFORE_TIP.isoformat()}}}}
    result = dg.materialize([schedule, props], resources=res, partition_key="2025-11-05", run_config=cfg)
    (event,) = result.asset_materializations_for_node("raw__player_props")
    meta = event.metadata
    assert meta[REMAINING_METADATA] == dg.MetadataValue.float(19871.0)
    assert meta[USED_METADATA] == dg.MetadataValue.float(129.0)
    assert "x-requests-remaining=19871.0" in meta["note_odds_api_quota"].value


def test_the_reserve_and_floor_are_settings_with_defaults_and_clear_errors() -> None:
    assert (Settings.from_env({}).odds_quota_reserve, Settings.from_env({}).odds_quota_floor) == (500, 0)
    got = Settings.from_env({"NBA_ASSETS_ODDS_QUOTA_RESERVE": "1200", "NBA_ASSETS_ODDS_QUOTA_FLOOR": ""})
    assert (got.odds_quota_reserve, got.odds_quota_floor) == (1200, 0)
    with pytest.raises(ValueError, match=r"NBA_ASSETS_ODDS_QUOTA_RESERVE must be a whole number .* '5k'"):
        Settings.from_env({"NBA_ASSETS_ODDS_QUOTA_RESERVE": "5k"})
    with pytest.raises(
        ValueError, match=r"NBA_ASSETS_ODDS_QUOTA_FLOOR must be between 0 and .*\(100\), got 200"
    ):
        Settings.from_env({"NBA_ASSETS_ODDS_QUOTA_RESERVE": "100", "NBA_ASSETS_ODDS_QUOTA_FLOOR": "200"})


def test_prod_hands_the_settings_to_the_live_source() -> None:
    from nba_assets.defs.resources_prod import build_prod_resources

    settings = Settings(env="prod", odds_quota_reserve=800, odds_quota_floor=20)
    live = build_prod_resources(settings)["nba_source"]
    assert (live.odds_quota_reserve, live.odds_quota_floor) == (800, 20)


def serve_slate_last_answer_remaining(fixtures_dir, remaining: str) -> None:
    """The two-game slate with 500 credits left, whose last paid answer says ``remaining``."""
    ids = serve_slate(fixtures_dir, "501")
    last = {"id": ids[-1], "home_team": "Detroit Pistons", "away_team": "Utah Jazz"}
    responses.replace(
        responses.GET,
        f"{ODDS}/events/{ids[-1]}/odds",
        json=event_odds_body(fixtures_dir, {**last, "commence_time": "2025-11-06T00:00:00Z"}),
        headers=quota_headers(remaining, "102", "1"),
    )


@responses.activate
def test_a_paid_answer_with_an_unreadable_quota_header_keeps_its_lines(tmp_path, fixtures_dir) -> None:
    """The lines of a paid call are the product's input; a quota header that is not a number of credits
    (here the last answer's x-requests-remaining) must not throw them away. The credits reading keeps
    the last number the API gave, and the batch's notes name the source, the header and the value."""
    serve_slate_last_answer_remaining(fixtures_dir, "lots")
    runs = LiveSourceResource(odds_api_key="k")
    batch = offline(runs.get_source(LocalObjectStore(tmp_path))).player_props([DAY], BEFORE_TIP)
    assert len(paid_calls()) == 2
    assert batch.frame["event_id"].n_unique() == 2  # both games' lines kept
    assert batch.metrics[REMAINING_METADATA] == 500.0  # the first paid answer's reading stands
    assert batch.metrics[USED_METADATA] == 102.0
    note = batch.notes["odds_api_quota_unreadable_x-requests-remaining"]
    assert note.startswith("the-odds-api: field 'x-requests-remaining' is not a number of credits")
    assert "'lots'" in note


@responses.activate
def test_a_blank_quota_header_keeps_the_last_reading_like_a_missing_one(tmp_path, fixtures_dir) -> None:
    """A blank x-requests-remaining says no more than a missing one: the reading keeps the last number
    the API gave (credits only go down), so the guard still has a reading to act on; it was read as
    "unknown", which let every later paid call out unguarded and dropped the metadata."""
    serve_slate_last_answer_remaining(fixtures_dir, " ")
    source = offline(LiveSourceResource(odds_api_key="k").get_source(LocalObjectStore(tmp_path)))
    batch = source.player_props([DAY], BEFORE_TIP)
    assert batch.frame["event_id"].n_unique() == 2
    assert batch.metrics[REMAINING_METADATA] == 500.0  # the first paid answer's reading stands
    assert batch.metrics[USED_METADATA] == 102.0
    assert "odds_api_quota_unknown" not in batch.notes
