"""Live HTTP clients, offline: ``responses`` serves recorded payloads, a fake clock replaces sleeping."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
import requests
import responses
from responses import matchers

from nba_assets.lib.errors import SourceDataError, SourceUnavailableError
from nba_assets.lib.sources.base import SourceBatch
from nba_assets.lib.sources.live.bettingpros import BettingProsClient
from nba_assets.lib.sources.live.http import HttpClient, RetryPolicy, redact
from nba_assets.lib.sources.live.injury_report import (
    EditionsRefusedError,
    InjuryReportClient,
    edition_slot,
    report_url,
)
from nba_assets.lib.sources.live.nba_cdn import NbaCdnClient
from nba_assets.lib.sources.live.nba_stats import NbaStatsClient
from nba_assets.lib.sources.live.odds_api import OddsApiClient
from nba_assets.lib.sources.live.source import LiveSource
from nba_assets.lib.storage.object_store import LocalObjectStore

API_KEY = "sekrit-0123456789abcdef"
STATS = "https://stats.nba.com/stats"
ODDS = "https://api.the-odds-api.com/v4/sports/basketball_nba"


class FakeClock:
    """Monotonic clock whose ``sleep`` only advances time and records the delay."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def clocked_http(clock: FakeClock, policy: RetryPolicy, **kw: object) -> HttpClient:
    """An HttpClient on the fake clock: no rate-limit spacing, no jitter draw, no real sleeping."""
    return HttpClient(min_interval=0.0, policy=policy, clock=clock, sleep=clock.sleep, rng=lambda: 0.0, **kw)  # type: ignore[arg-type]


@pytest.fixture
def http(clock: FakeClock) -> HttpClient:
    return clocked_http(clock, RetryPolicy(max_attempts=4, backoff_base=1.0, jitter=0.5))


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "objects")


def body_of(folder: Path, name: str) -> bytes:
    return (folder / name).read_bytes()


def all_keys(store: LocalObjectStore) -> list[str]:
    return store.list_keys("raw_payloads")


# ---------------------------------------------------------------- stats.nba.com


@responses.activate
def test_stats_scoreboard_v3_url_params_headers(
    http: HttpClient, store: LocalObjectStore, fixtures_dir: Path
) -> None:
    responses.get(
        f"{STATS}/scoreboardv3",
        body=body_of(fixtures_dir, "stats_scoreboardv3_2025-11-05.json"),
        match=[
            matchers.query_param_matcher({"GameDate": "2025-11-05", "LeagueID": "00"}),
            matchers.header_matcher(
                {"Origin": "https://www.nba.com", "Referer": "https://www.nba.com/", "Host": "stats.nba.com"}
            ),
        ],
    )
    got = NbaStatsClient(http, store).scoreboard_v3(date(2025, 11, 5))
    assert got.frame.height == 11 and got.meta["endpoint"] == "scoreboardv3"
    sent = responses.calls[0].request.headers
    assert "Chrome/" in sent["User-Agent"] and '"Google Chrome"' in sent["Sec-Ch-Ua"]
    assert sent["Sec-Ch-Ua-Platform"] == '"Windows"' and sent["Sec-Fetch-Site"] == "same-site"
    assert "gzip, deflate" in sent["Accept-Encoding"]
    assert not any(h.lower().startswith("x-nba-stats") for h in sent)
    assert got.archive_keys == all_keys(store)
    assert got.archive_keys[0].startswith("raw_payloads/scoreboard-v3/2025-11-05/")


@responses.activate
def test_stats_scoreboard_v3_falls_back_to_v2(
    http: HttpClient, store: LocalObjectStore, fixtures_dir: Path
) -> None:
    responses.get(f"{STATS}/scoreboardv3", status=503)
    responses.get(
        f"{STATS}/scoreboardv2",
        body=body_of(fixtures_dir, "stats_scoreboardV2_2024-01-15.json"),
        match=[matchers.query_param_matcher({"GameDate": "2024-01-15", "LeagueID": "00", "DayOffset": "0"})],
    )
    got = NbaStatsClient(http, store).scoreboard_v3("2024-01-15")
    assert got.meta["endpoint"] == "scoreboardV2" and "v3_error" in got.meta
    assert got.frame.height == 11


@responses.activate
def test_stats_scoreboards_refuse_a_board_of_another_date(
    http: HttpClient, store: LocalObjectStore, fixtures_dir: Path
) -> None:
    """scoreboardv3 answering another date's board (a stale cache) is refused naming the field and the
    date it holds, and the V2 fallback runs; a V2 board of another date is refused the same way, instead
    of storing that date's games in this date's run."""
    responses.get(f"{STATS}/scoreboardv3", body=body_of(fixtures_dir, "stats_scoreboardv3_2025-11-05.json"))
    responses.get(f"{STATS}/scoreboardv2", body=body_of(fixtures_dir, "stats_scoreboardV2_2024-01-15.json"))
    client = NbaStatsClient(http, store)
    got = client.scoreboard_v3(date(2024, 1, 15))
    assert got.meta["endpoint"] == "scoreboardV2" and got.frame.height == 11
    assert got.meta["v3_error"] == (
        "stats.nba.com: field 'scoreboard.gameDate' is not the requested date 2024-01-15 (value: '2025-11-05')"
    )
    with pytest.raises(
        SourceDataError,
        match=r"stats.nba.com: field 'parameters.GameDate' is not the requested date 2025-11-06 "
        r"\(value: '2024-01-15'\)",
    ):
        client.scoreboard_v3(date(2025, 11, 6))


@responses.activate
def test_stats_boxscore_schedule_and_gamelog_params(
    http: HttpClient, store: LocalObjectStore, fixtures_dir: Path
) -> None:
    responses.get(
        f"{STATS}/boxscoretraditionalv3",
        body=body_of(fixtures_dir, "stats_boxscoretraditionalv3_0022500165.json"),
        match=[
            matchers.query_param_matcher(
                {
                    "GameID": "0022500165",
                    "StartPeriod": "0",
                    "EndPeriod": "10",
                    "StartRange": "0",
                    "EndRange": "28800",
                    "RangeType": "0",
                }
            )
        ],
    )
    responses.get(
        f"{STATS}/scheduleleaguev2",
        body=body_of(fixtures_dir, "cdn_scheduleLeagueV2_2023-24.json"),
        match=[matchers.query_param_matcher({"LeagueID": "00", "Season": "2023-24"})],
    )
    responses.get(
        f"{STATS}/leaguegamelog",
        body=body_of(fixtures_dir, "stats_leaguegamelog_players_2025-03-15.json"),
        match=[
            matchers.query_param_matcher(
                {
                    "LeagueID": "00",
                    "Season": "2024-25",
                    "SeasonType": "Regular Season",
                    "PlayerOrTeam": "P",
                    "Counter": "1000",
                    "Sorter": "DATE",
                    "Direction": "DESC",
                    "DateFrom": "2025-03-15",
                    "DateTo": "2025-03-15",
                }
            )
        ],
    )
    client = NbaStatsClient(http, store)
    assert client.boxscore_traditional_v3("0022500165", date(2025, 11, 4)).frame["pts"].sum() == 228
    schedule = client.schedule_league_v2("2023-24")
    assert schedule.frame.height == 1280 and schedule.frame["source"][0] == "stats.nba.com"
    assert client.league_game_log("2025-03-15", "2025-03-15", "2024-25").frame.height == 157
    assert len(all_keys(store)) == 3


# ---------------------------------------------------------------- cdn.nba.com


@responses.activate
def test_cdn_boxscore_and_not_yet_available(
    http: HttpClient, store: LocalObjectStore, fixtures_dir: Path
) -> None:
    url = "https://cdn.nba.com/static/json/liveData/boxscore/boxscore_{}.json"
    responses.get(
        url.format("0022000001"), body=body_of(fixtures_dir, "cdn_liveData_boxscore_0022000001.json")
    )
    responses.get(url.format("0022500999"), status=403, body=b"<Error>AccessDenied</Error>")
    client = NbaCdnClient(http, store)
    got = client.boxscore("0022000001", "2020-12-22")
    assert got is not None and got.frame["pts"].sum() == 224
    assert got.meta["game"]["home_pts"].to_list() == [125]
    assert client.boxscore("0022500999", "2025-11-20") is None
    assert len(all_keys(store)) == 1  # the 403 error page is not archived as a payload


@responses.activate
def test_box_score_clients_refuse_a_payload_of_another_game(
    http: HttpClient, store: LocalObjectStore, fixtures_dir: Path
) -> None:
    """The rows are stored under the payload's game id: a body of another game (a stale cache, a
    mixed-up key) is refused naming the field and the id it holds, after it was archived."""
    responses.get(
        f"{STATS}/boxscoretraditionalv3",
        body=body_of(fixtures_dir, "stats_boxscoretraditionalv3_0022500165.json"),
    )
    with pytest.raises(
        SourceDataError,
        match=r"stats.nba.com: field 'boxScoreTraditional.gameId' is not the requested game 0022500166 "
        r"\(value: \['0022500165'\]\)",
    ):
        NbaStatsClient(http, store).boxscore_traditional_v3("0022500166", "2025-11-04")
    responses.get(
        "https://cdn.nba.com/static/json/liveData/boxscore/boxscore_0022000002.json",
        body=body_of(fixtures_dir, "cdn_liveData_boxscore_0022000001.json"),
    )
    with pytest.raises(SourceDataError, match=r"cdn.nba.com: field 'game.gameId' is not the requested game"):
        NbaCdnClient(http, store).boxscore("0022000002", "2020-12-22")
    assert len(all_keys(store)) == 2  # both bodies kept as evidence


@responses.activate
def test_the_cdn_box_score_fallback_refuses_a_game_that_is_not_final(
    tmp_path: Path, http: HttpClient, fixtures_dir: Path
) -> None:
    """stats.nba.com fails and the cdn file of a game the schedule calls final still says live: its
    partial box score is not stored as the final one; the step fails as an outage (retried later)."""
    payload = json.loads(body_of(fixtures_dir, "cdn_liveData_boxscore_0022000001.json"))
    payload["game"]["gameStatus"], payload["game"]["gameStatusText"] = 2, "Q4 2:31"
    responses.get(f"{STATS}/boxscoretraditionalv3", status=500)
    responses.get("https://cdn.nba.com/static/json/liveData/boxscore/boxscore_0022000001.json", json=payload)
    source = LiveSource(LocalObjectStore(tmp_path), odds_api_key="k", http=http)
    games = pl.DataFrame({"game_id": ["0022000001"], "game_date": [date(2020, 12, 22)], "status": ["final"]})
    with pytest.raises(
        SourceUnavailableError, match="cdn.nba.com's file says the game is live, not final"
    ) as err:
        source.box_scores(games, datetime.now(UTC))
    assert err.value.transient
    payload["game"]["gameStatus"] = 3  # once final, the fallback's rows are taken
    responses.replace(
        responses.GET,
        "https://cdn.nba.com/static/json/liveData/boxscore/boxscore_0022000001.json",
        json=payload,
    )
    batch = source.box_scores(games, datetime.now(UTC))
    assert batch.frame["pts"].sum() == 224
    # the asset's metadata says which game the fallback answered for, and why (not only the run's stderr)
    assert_one_fallback_note(
        batch, "box_score_fallback_0022000001", "cdn.nba.com", "boxscoretraditionalv3", 500
    )


@responses.activate
def test_a_schedule_answered_by_scoreboard_v2_says_so_in_its_notes(
    tmp_path: Path, http: HttpClient, fixtures_dir: Path
) -> None:
    responses.get(f"{STATS}/scoreboardv3", status=503)
    responses.get(f"{STATS}/scoreboardv2", body=body_of(fixtures_dir, "stats_scoreboardV2_2024-01-15.json"))
    source = LiveSource(LocalObjectStore(tmp_path), odds_api_key="k", http=http)
    batch = source.schedule([date(2024, 1, 15)], datetime.now(UTC))
    assert batch.frame.height == 11
    assert_one_fallback_note(batch, "schedule_fallback_2024-01-15", "scoreboardV2", "scoreboardv3", 503)


def assert_one_fallback_note(batch: SourceBatch, key: str, fallback: str, primary: str, status: int) -> None:
    """``batch``'s only note is ``key``: the fallback that answered, then the primary's error (its status)."""
    ((name, text),) = batch.notes.items()
    assert name == key and text.startswith(f"{fallback} answered; {primary}: ") and str(status) in text


@responses.activate
def test_cdn_schedule_falls_back_to_backup_file(
    http: HttpClient, store: LocalObjectStore, fixtures_dir: Path
) -> None:
    base = "https://cdn.nba.com/static/json/staticData/"
    responses.get(base + "scheduleLeagueV2_1.json", status=404)
    responses.get(
        base + "scheduleLeagueV2.json", body=body_of(fixtures_dir, "cdn_scheduleLeagueV2_2023-24.json")
    )
    got = NbaCdnClient(http, store).schedule(as_of=date(2023, 9, 16))
    assert got.frame.height == 1280 and got.meta["url"].endswith("scheduleLeagueV2.json")
    assert got.archive_keys[0].startswith("raw_payloads/schedule-v2/2023-09-16/")


# ---------------------------------------------------------------- injury report


def test_injury_report_url_formats() -> None:
    base = "https://ak-static.cms.nba.com/referee/injury/"
    assert report_url(datetime(2025, 12, 22, 18, 0)) == base + "Injury-Report_2025-12-22_06PM.pdf"
    assert report_url(datetime(2024, 1, 4, 12, 0)) == base + "Injury-Report_2024-01-04_12PM.pdf"
    assert report_url(datetime(2024, 1, 4, 0, 0)) == base + "Injury-Report_2024-01-04_12AM.pdf"
    assert report_url(datetime(2025, 12, 31, 18, 0)) == base + "Injury-Report_2025-12-31_06_00PM.pdf"
    assert report_url(datetime(2025, 12, 23, 9, 30)) == base + "Injury-Report_2025-12-23_09_30AM.pdf"


@responses.activate
def test_injury_fetch_latest_walks_back_hourly(
    http: HttpClient, store: LocalObjectStore, fixtures_dir: Path
) -> None:
    responses.get(report_url(datetime(2024, 1, 4, 13, 0)), status=403)
    responses.get(
        report_url(datetime(2024, 1, 4, 12, 0)),
        body=body_of(fixtures_dir, "nba_injury_report_2024-01-04_12PM.pdf"),
    )
    got = InjuryReportClient(http, store).fetch_latest(
        date(2024, 1, 4), before_et=datetime(2024, 1, 4, 13, 40)
    )
    assert got is not None and got.frame.height == 14
    assert got.meta["report_time_et"] == datetime(2024, 1, 4, 12, 0)
    assert [c.request.url.rsplit("/", 1)[1] for c in responses.calls] == [
        "Injury-Report_2024-01-04_01PM.pdf",
        "Injury-Report_2024-01-04_12PM.pdf",
    ]
    assert got.archive_keys[0].startswith("raw_payloads/injury-pdf/2024-01-04/") and got.archive_keys[
        0
    ].endswith(".pdf")


def test_injury_edition_slots_are_hourly_then_quarter_hourly() -> None:
    assert edition_slot(datetime(2024, 1, 4, 13, 40, 12)) == datetime(2024, 1, 4, 13, 0)
    assert edition_slot(datetime(2026, 1, 15, 18, 59)) == datetime(2026, 1, 15, 18, 45)
    assert edition_slot(datetime(2026, 1, 15, 18, 30)) == datetime(2026, 1, 15, 18, 30)
    # walking back over the change of format: the minute format starts on 2025-12-23 (ET)
    assert edition_slot(datetime(2025, 12, 23, 0, 0) - timedelta(minutes=1)) == datetime(2025, 12, 22, 23, 0)


@responses.activate
def test_injury_fetch_latest_walks_back_quarter_hours_in_the_minute_format(
    http: HttpClient, store: LocalObjectStore, fixtures_dir: Path
) -> None:
    """From 2025-12-23 editions are labelled on any quarter-hour (days with none on the hour): the
    latest one before 18:50 ET is found at 18:30, not skipped for the 6PM slot (which does not exist)."""
    pdf = body_of(fixtures_dir, "nba_injury_report_2024-01-04_12PM.pdf")
    responses.get(report_url(datetime(2026, 1, 15, 18, 45)), status=403)
    responses.get(report_url(datetime(2026, 1, 15, 18, 30)), body=pdf)
    responses.get(report_url(datetime(2026, 1, 15, 18, 0)), status=404)
    responses.get(report_url(datetime(2026, 1, 15, 17, 0)), status=404)
    client = InjuryReportClient(http, store)
    got = client.fetch_latest(
        date(2026, 1, 15), before_et=datetime(2026, 1, 15, 18, 50), window=timedelta(hours=2)
    )
    assert got is not None and got.meta["report_time_et"] == datetime(2026, 1, 15, 18, 30)
    assert got.meta["url"].endswith("Injury-Report_2026-01-15_06_30PM.pdf")
    assert [c.request.url.rsplit("_", 2)[-2:] for c in responses.calls] == [
        ["06", "45PM.pdf"],
        ["06", "30PM.pdf"],
    ]
    # nothing in the window: every quarter-hour of it was asked once, then None
    responses.calls.reset()
    responses.get(report_url(datetime(2026, 1, 16, 10, 0)), status=404)
    responses.get(report_url(datetime(2026, 1, 16, 9, 45)), status=404)
    assert (
        client.fetch_latest(date(2026, 1, 16), datetime(2026, 1, 16, 10, 10), timedelta(minutes=30)) is None
    )
    assert len(responses.calls) == 2


@responses.activate
def test_injury_none_published_and_geo_block(http: HttpClient, store: LocalObjectStore) -> None:
    responses.get(report_url(datetime(2024, 2, 16, 10, 0)), status=404)
    responses.get(report_url(datetime(2024, 2, 16, 9, 0)), status=404)
    client = InjuryReportClient(http, store)
    assert client.fetch_latest(date(2024, 2, 16), datetime(2024, 2, 16, 10, 5), timedelta(hours=2)) is None
    responses.get(
        report_url(datetime(2024, 2, 17, 10, 0)),
        body=b"<html>Sorry, this content is not accessible in this region.</html>",
    )
    with pytest.raises(SourceDataError, match="geo-block"):
        client.fetch_edition(datetime(2024, 2, 17, 10, 0), date(2024, 2, 17))
    assert len(store.list_keys("raw_payloads/injury-pdf/2024-02-17")) == 1  # archived before the parse failed


S3_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied'
    b"</Message></Error>"
)
INJURY_HOST = re.compile(r"https://ak-static\.cms\.nba\.com/referee/injury/.*")


@responses.activate
def test_injury_every_edition_refused_is_a_block_not_no_edition(
    http: HttpClient, store: LocalObjectStore
) -> None:
    """Every edition of the window answers 403 (an Akamai/S3 block of this IP looks like that): the search
    raises naming the source, the editions and the status, instead of returning "no edition" (an empty
    report, every player ruled Out counted as expected). Not transient: a step retry would only send the
    blocking host the same requests again. The refused body is archived as evidence."""
    responses.get(INJURY_HOST, status=403, body=S3_DENIED)
    client = InjuryReportClient(http, store)
    with pytest.raises(EditionsRefusedError) as err:
        client.fetch_latest(date(2024, 2, 16), datetime(2024, 2, 16, 10, 5), timedelta(hours=2))
    msg = str(err.value)
    assert msg.startswith("nba-injury-report: no edition of the report for 2024-02-16 found: 2 of 2 editions")
    assert "Injury-Report_2024-02-16_09AM.pdf .. Injury-Report_2024-02-16_10AM.pdf" in msg
    assert "HTTP 403" in msg and "blocked" in msg
    assert isinstance(err.value, SourceUnavailableError) and err.value.transient is False
    assert err.value.day == date(2024, 2, 16)
    (kept,) = store.list_keys("raw_payloads/injury-pdf/2024-02-16")
    assert kept.endswith(".xml") and store.get_bytes(kept) == S3_DENIED and kept in msg
    assert len(responses.calls) == 2


@responses.activate
def test_injury_refusals_among_not_found_answers_are_a_block(
    http: HttpClient, store: LocalObjectStore
) -> None:
    """Where the host answers 404 for a missing edition, a 403 is a refusal: none found, one refused, fails."""
    responses.get(report_url(datetime(2024, 2, 16, 10, 0)), status=404)
    responses.get(report_url(datetime(2024, 2, 16, 9, 0)), status=403)
    client = InjuryReportClient(http, store)
    with pytest.raises(EditionsRefusedError, match="1 of 2 editions"):
        client.fetch_latest(date(2024, 2, 16), datetime(2024, 2, 16, 10, 5), timedelta(hours=2))


@responses.activate
def test_injury_geo_block_answered_403_fails_at_once(http: HttpClient, store: LocalObjectStore) -> None:
    """The geo-block page arrives as a 403 (API_CONTRACTS §5): a block at the first edition, not 96
    "not published" editions; the page is archived (``.html``) and named."""
    page = b"<html>Access Denied. This content is not accessible in this region</html>"
    responses.get(INJURY_HOST, status=403, body=page)
    client = InjuryReportClient(http, store)
    with pytest.raises(SourceUnavailableError, match="HTTP 403 with the geo-block page") as err:
        client.fetch_latest(date(2026, 1, 5), datetime(2026, 1, 5, 17, 0))
    assert err.value.transient is False and "Injury-Report_2026-01-05_05_00PM.pdf" in str(err.value)
    (kept,) = store.list_keys("raw_payloads/injury-pdf/2026-01-05")
    assert kept.endswith(".html") and kept in str(err.value)
    assert len(responses.calls) == 1


@responses.activate
def test_http_archives_a_refused_body_only_when_asked(http: HttpClient, store: LocalObjectStore) -> None:
    """``archive_refused`` keeps a refusal's body under the usual key scheme; without it a 403 body is
    not archived (the other clients' contract is unchanged)."""
    url = "https://example.test/x.pdf"
    responses.get(url, status=403, body=b"<html>Access Denied</html>")
    kw = {"store": store, "source": "t", "game_date": date(2024, 1, 1), "ext": "pdf", "accept": (200, 403)}
    plain = http.get(url, **kw)  # type: ignore[arg-type]
    assert plain.archive_key is None and all_keys(store) == []
    kept = http.get(url, archive_refused=(403,), **kw)  # type: ignore[arg-type]
    assert kept.archive_key is not None and kept.archive_key.startswith("raw_payloads/t/2024-01-01/")
    assert kept.archive_key.endswith(".html") and all_keys(store) == [kept.archive_key]


# ---------------------------------------------------------------- BettingPros


@responses.activate
def test_bettingpros_events_and_paginated_offers(
    http: HttpClient, store: LocalObjectStore, fixtures_dir: Path, local_fixtures_dir: Path
) -> None:
    key_header = matchers.header_matcher({"X-Api-Key": API_KEY, "Origin": "https://www.bettingpros.com"})
    responses.get(
        "https://api.bettingpros.com/v3/events",
        body=body_of(fixtures_dir, "bettingpros_v3_events_NBA_2021-10-21.json"),
        match=[matchers.query_param_matcher({"sport": "NBA", "date": "2021-10-21"}), key_header],
    )
    for page in (1, 2):
        responses.get(
            "https://api.bettingpros.com/v3/offers",
            body=body_of(local_fixtures_dir, f"bettingpros_v3_offers_NBA_2021-10-21_page{page}.json"),
            match=[
                matchers.query_param_matcher(
                    {
                        "sport": "NBA",
                        "market_id": "156",
                        "event_id": "20879:20880:20881",
                        "book_id": "null",
                        "limit": "10",
                        "page": str(page),
                    }
                ),
                key_header,
            ],
        )
    got = BettingProsClient(http, store, api_key=API_KEY).offers(date(2021, 10, 21))
    assert [c.request.params.get("page") for c in responses.calls] == [None, "1", "2"]
    assert got.meta == {"pages": 2, "total_pages": 2}
    assert got.frame.height == 9 and set(got.frame["event_id"]) == {"20879", "20880"}
    assert responses.calls[1].request.headers["Accept-Encoding"] == "gzip, deflate"
    assert len(got.archive_keys) == 3 and all(API_KEY not in k for k in got.archive_keys)


@responses.activate
def test_bettingpros_offers_without_a_page_count_are_refused(
    http: HttpClient, store: LocalObjectStore, fixtures_dir: Path, local_fixtures_dir: Path
) -> None:
    """``_pagination.total_pages`` says whether pages follow: without it the walk used to stop after
    page 1 as if it were the only one, dropping the rest silently."""
    page1 = json.loads(body_of(local_fixtures_dir, "bettingpros_v3_offers_NBA_2021-10-21_page1.json"))
    del page1["_pagination"]["total_pages"]
    responses.get(
        "https://api.bettingpros.com/v3/events",
        body=body_of(fixtures_dir, "bettingpros_v3_events_NBA_2021-10-21.json"),
    )
    responses.get("https://api.bettingpros.com/v3/offers", json=page1)
    with pytest.raises(SourceDataError, match=r"bettingpros: field '_pagination.total_pages' is missing"):
        BettingProsClient(http, store, api_key=API_KEY).offers(date(2021, 10, 21))


# ---------------------------------------------------------------- The Odds API


@responses.activate
def test_odds_api_events_and_event_odds(
    http: HttpClient, store: LocalObjectStore, fixtures_dir: Path
) -> None:
    hist = json.loads(body_of(fixtures_dir, "oddsapi_v4_historical_events_2025-03-09T235538Z.json"))
    responses.get(
        f"{ODDS}/events",
        json=hist["data"],
        match=[
            matchers.query_param_matcher(
                {
                    "apiKey": API_KEY,
                    "dateFormat": "iso",
                    "commenceTimeFrom": "2025-03-10T04:00:00Z",
                    "commenceTimeTo": "2025-03-11T04:00:00Z",
                }
            )
        ],
        headers={"x-requests-remaining": "498", "x-requests-used": "2", "x-requests-last": "0"},
    )
    event_id = "f54c4a22568ce9dc33fb410d1b0e75e9"
    responses.get(
        f"{ODDS}/events/{event_id}/odds",
        body=body_of(fixtures_dir, "oddsapi_v4_event_odds_player_points_ORL-at-CLE_2024-02-22.json"),
        match=[
            matchers.query_param_matcher(
                {
                    "apiKey": API_KEY,
                    "regions": "us",
                    "markets": "player_points",
                    "oddsFormat": "american",
                    "dateFormat": "iso",
                }
            )
        ],
        headers={"x-requests-remaining": "497", "x-requests-used": "3", "x-requests-last": "1"},
    )
    snapshot = datetime(2024, 2, 22, 23, 56, tzinfo=UTC)
    client = OddsApiClient(http, store, API_KEY, now=lambda: snapshot)
    events = client.events(date(2025, 3, 10))
    assert events.frame.height == 10  # the ET day's events only
    assert events.meta["quota"]["x-requests-remaining"] == "498"
    odds = client.event_odds(event_id, date(2024, 2, 22))
    assert odds is not None and odds.frame["bookmaker"].n_unique() == 10
    assert odds.frame["snapshot_utc"].unique().to_list() == [snapshot]
    assert client.quota == {"x-requests-remaining": "497", "x-requests-used": "3", "x-requests-last": "1"}
    for key in all_keys(store):
        assert API_KEY not in key and "apiKey" not in key


@responses.activate
def test_odds_api_204_404_and_historical(
    http: HttpClient, store: LocalObjectStore, fixtures_dir: Path
) -> None:
    responses.get(f"{ODDS}/events/aaa/odds", status=204)
    responses.get(f"{ODDS}/events/bbb/odds", status=404, json={"message": "Event not found"})
    responses.get(
        "https://api.the-odds-api.com/v4/historical/sports/basketball_nba/events",
        body=body_of(fixtures_dir, "oddsapi_v4_historical_events_2025-03-09T235538Z.json"),
        match=[
            matchers.query_param_matcher(
                {"apiKey": API_KEY, "date": "2025-03-09T23:55:38Z", "dateFormat": "iso"}
            )
        ],
    )
    client = OddsApiClient(http, store, API_KEY)
    empty = client.event_odds("aaa", date(2024, 2, 22))
    assert empty is not None and empty.frame.is_empty() and empty.archive_keys == []
    assert client.event_odds("bbb", date(2024, 2, 22)) is None
    hist = client.historical_events(datetime(2025, 3, 9, 23, 55, 38, tzinfo=UTC))
    assert hist.frame.height == 16


@responses.activate
def test_odds_api_200_without_a_body_is_refused_not_read_as_no_lines(
    http: HttpClient, store: LocalObjectStore
) -> None:
    """Only a 204 means no lines posted: a 200 with an empty body would otherwise read as every book
    having pulled its lines (empty-fetch markers downstream)."""
    responses.get(f"{ODDS}/events/aaa/odds", status=200, body=b"")
    responses.get(
        "https://api.the-odds-api.com/v4/historical/sports/basketball_nba/events/aaa/odds",
        status=200,
        body=b"",
    )
    client = OddsApiClient(http, store, API_KEY)
    with pytest.raises(SourceDataError, match=r"the-odds-api: field '<body>' is empty"):
        client.event_odds("aaa", date(2024, 2, 22))
    with pytest.raises(SourceDataError, match=r"the-odds-api: field '<body>' is empty"):
        client.historical_event_odds("aaa", datetime(2024, 2, 22, 23, 0, tzinfo=UTC), date(2024, 2, 22))


@responses.activate
def test_odds_api_historical_events_are_archived_under_the_et_date(
    http: HttpClient, store: LocalObjectStore, fixtures_dir: Path
) -> None:
    """A snapshot at 01:00 UTC on 2025-03-10 is 21:00 ET on 2025-03-09: archived under the ET date."""
    responses.get(
        "https://api.the-odds-api.com/v4/historical/sports/basketball_nba/events",
        body=body_of(fixtures_dir, "oddsapi_v4_historical_events_2025-03-09T235538Z.json"),
    )
    got = OddsApiClient(http, store, API_KEY).historical_events(datetime(2025, 3, 10, 1, 0, tzinfo=UTC))
    assert got.archive_keys[0].startswith("raw_payloads/odds-api-events/2025-03-09/")


@responses.activate
def test_injury_edition_answered_200_without_a_body_is_refused(
    http: HttpClient, store: LocalObjectStore
) -> None:
    """Only 403/404 mean "not published": a 200 with no body fails naming the body, instead of the
    search silently moving on to an older edition."""
    responses.get(report_url(datetime(2024, 1, 4, 13, 0)), status=200, body=b"")
    client = InjuryReportClient(http, store)
    with pytest.raises(SourceDataError, match=r"nba-injury-report: field '<body>' is empty"):
        client.fetch_latest(date(2024, 1, 4), datetime(2024, 1, 4, 13, 40))
    assert len(responses.calls) == 1


# ---------------------------------------------------------------- retries, rate limit, archiving, secrets


@responses.activate
def test_429_retry_after_then_success(
    http: HttpClient, store: LocalObjectStore, clock: FakeClock, fixtures_dir: Path
) -> None:
    url = f"{STATS}/scoreboardv2"
    responses.get(url, status=429, headers={"Retry-After": "7"})
    responses.get(url, body=body_of(fixtures_dir, "stats_scoreboardV2_2024-01-15.json"))
    got = NbaStatsClient(http, store).scoreboard_v2("2024-01-15")
    assert got.frame.height == 11
    assert clock.sleeps == [7.0]


@responses.activate
def test_retry_after_is_capped(store: LocalObjectStore, clock: FakeClock) -> None:
    http = clocked_http(clock, RetryPolicy(retry_after_cap=30.0))
    responses.get("https://example.test/x", status=429, headers={"Retry-After": "3600"})
    responses.get("https://example.test/x", body=b"{}")
    assert http.get("https://example.test/x").status == 200
    assert clock.sleeps == [30.0]


@responses.activate
def test_503_gives_up_after_bounded_attempts(
    http: HttpClient, store: LocalObjectStore, clock: FakeClock
) -> None:
    responses.get(f"{ODDS}/events", status=503)
    with pytest.raises(SourceUnavailableError) as err:
        OddsApiClient(http, store, API_KEY).events(date(2025, 3, 10))
    assert len(responses.calls) == 4  # max_attempts
    assert clock.sleeps == [1.0, 2.0, 4.0]  # exponential backoff, no real sleeping
    message = str(err.value)
    assert "api.the-odds-api.com/v4/sports/basketball_nba/events" in message and "HTTP 503" in message
    assert API_KEY not in message and "?" not in message and "apiKey" not in message
    assert all_keys(store) == []


def test_backoff_jitter_is_bounded(clock: FakeClock) -> None:
    http = HttpClient(
        policy=RetryPolicy(backoff_base=2.0, backoff_cap=10.0, jitter=0.5),
        clock=clock,
        sleep=clock.sleep,
        rng=lambda: 0.999,
    )
    delays = [http._backoff(n) for n in range(1, 6)]
    assert delays[0] == pytest.approx(2.0 * 1.4995) and max(delays) <= 15.0


@responses.activate
def test_timeout_and_connection_errors_are_retried(
    http: HttpClient, store: LocalObjectStore, clock: FakeClock, fixtures_dir: Path
) -> None:
    url = f"{STATS}/scoreboardv2"
    responses.get(url, body=requests.ConnectTimeout("connect timed out"))
    responses.get(url, body=requests.ConnectionError("connection reset"))
    responses.get(url, body=requests.ReadTimeout("read timed out"))
    responses.get(url, body=body_of(fixtures_dir, "stats_scoreboardV2_2024-01-15.json"))
    assert NbaStatsClient(http, store).scoreboard_v2("2024-01-15").frame.height == 11
    assert len(responses.calls) == 4 and clock.sleeps == [1.0, 2.0, 4.0]


@responses.activate
def test_api_key_never_in_connection_error_text(http: HttpClient, store: LocalObjectStore) -> None:
    leaky = requests.ConnectionError(
        f"HTTPSConnectionPool: Max retries exceeded with url: /v4/sports/basketball_nba/events?apiKey={API_KEY}"
    )
    responses.get(f"{ODDS}/events", body=leaky)
    with pytest.raises(SourceUnavailableError) as err:
        OddsApiClient(http, store, API_KEY).events(date(2025, 3, 10))
    text = str(err.value) + repr(err.value.__cause__) + repr(err.value.__context__)
    assert API_KEY not in text
    assert "apiKey=***" in str(err.value)


@responses.activate
def test_api_key_not_logged(
    http: HttpClient, store: LocalObjectStore, caplog: pytest.LogCaptureFixture
) -> None:
    responses.get(f"{ODDS}/events", status=500)
    responses.get(f"{ODDS}/events", body=requests.ConnectionError(f"boom url=/events?apiKey={API_KEY}"))
    responses.get(f"{ODDS}/events", json=[])
    with caplog.at_level("DEBUG"):
        OddsApiClient(http, store, API_KEY).events(date(2025, 3, 10))
    assert caplog.records and API_KEY not in caplog.text


def test_redact() -> None:
    assert redact(f"GET /x?apiKey={API_KEY}&regions=us") == "GET /x?apiKey=***&regions=us"
    assert redact(f"{{'X-Api-Key': '{API_KEY}'}}") == "{'X-Api-Key': '***'}"
    assert redact(f"token {API_KEY} here", [API_KEY]) == "token *** here"


@responses.activate
def test_payload_archived_before_parsing(
    http: HttpClient, store: LocalObjectStore, fixtures_dir: Path
) -> None:
    truncated = body_of(fixtures_dir, "oddsapi_v4_event_odds_player_points_ORL-at-CLE_2024-02-22.json")[:5000]
    responses.get(f"{ODDS}/events/abc/odds", body=truncated)
    with pytest.raises(SourceDataError, match="<body>"):
        OddsApiClient(http, store, API_KEY).event_odds("abc", date(2024, 2, 22))
    keys = all_keys(store)
    assert len(keys) == 1 and keys[0].startswith("raw_payloads/odds-api-event-odds/2024-02-22/")
    assert store.get_bytes(keys[0]) == truncated


@responses.activate
def test_non_retryable_status_raises_without_retry(
    http: HttpClient, store: LocalObjectStore, clock: FakeClock
) -> None:
    responses.get(f"{STATS}/scoreboardv2", status=401)
    with pytest.raises(SourceUnavailableError, match=r"stats\.nba\.com/stats/scoreboardv2: HTTP 401"):
        NbaStatsClient(http, store).scoreboard_v2("2024-01-15")
    assert len(responses.calls) == 1 and clock.sleeps == []


@responses.activate
def test_a_refusal_says_why_without_the_key(http: HttpClient, store: LocalObjectStore) -> None:
    """The Odds API answers 401 both for a spent quota and for a bad key: the error carries the body's
    reason (redacted: a body echoing the key shows ***), so the two can be told apart; an HTML error page
    adds nothing."""
    responses.get(
        f"{ODDS}/events",
        status=401,
        json={
            "message": f"Usage quota has been reached for key {API_KEY}.",
            "error_code": "OUT_OF_USAGE_CREDITS",
            "details_url": "https://the-odds-api.com/liveapi/guides/v4/api-error-codes.html",
        },
    )
    with pytest.raises(SourceUnavailableError) as err:
        OddsApiClient(http, store, API_KEY).events(date(2024, 2, 22))
    text = str(err.value)
    assert text.startswith("api.the-odds-api.com/v4/sports/basketball_nba/events: HTTP 401 (not retried): ")
    assert "OUT_OF_USAGE_CREDITS" in text and "Usage quota has been reached for key ***." in text
    assert API_KEY not in text and not err.value.transient and len(responses.calls) == 1
    responses.get(f"{STATS}/leaguegamelog", status=403, body=b"<html><body>Access Denied</body></html>")
    with pytest.raises(SourceUnavailableError) as err:
        NbaStatsClient(http, store).league_game_log("2025-03-15", "2025-03-15", "2024-25")
    assert str(err.value) == "stats.nba.com/stats/leaguegamelog: HTTP 403 (not retried)"


@responses.activate
def test_rate_limit_spacing_per_host(clock: FakeClock) -> None:
    http = HttpClient(min_interval=2.0, host_intervals={"b.test": 0.5}, clock=clock, sleep=clock.sleep)
    for url in (
        "https://a.test/1",
        "https://a.test/2",
        "https://b.test/1",
        "https://a.test/3",
        "https://b.test/2",
    ):
        responses.get(url, body=b"{}")
    http.get("https://a.test/1")  # first call to a host: no wait
    http.get("https://a.test/2")  # 2 s after the first
    assert clock.sleeps == [2.0]
    http.get("https://b.test/1")  # another host has its own slot
    assert clock.sleeps == [2.0]
    clock.now += 1.5  # time passes between calls: only the rest is waited
    http.get("https://a.test/3")
    assert clock.sleeps == [2.0, pytest.approx(0.5)]
    http.get("https://b.test/2")
    assert clock.sleeps == [2.0, pytest.approx(0.5)]  # b.test's 0.5 s has long passed


@responses.activate
def test_retries_also_respect_rate_limit(clock: FakeClock) -> None:
    http = HttpClient(
        min_interval=5.0, policy=RetryPolicy(backoff_base=1.0, jitter=0.0), clock=clock, sleep=clock.sleep
    )
    responses.get("https://a.test/x", status=502)
    responses.get("https://a.test/x", body=b"{}")
    http.get("https://a.test/x")
    assert clock.sleeps == [1.0, 4.0]  # backoff 1 s, then the rest of the 5 s host interval


@responses.activate
def test_the_time_budget_stops_retries_and_later_calls(store: LocalObjectStore, clock: FakeClock) -> None:
    """503 forever, 10 attempts allowed, but a 20 s budget: attempts at t = 0, 4 and 12 s; the next
    retry would start at 28 s, past the budget, so the call fails saying so, without sleeping; a
    later call on the same client (the same step) does not start at all."""
    http = HttpClient(
        min_interval=0.0,
        policy=RetryPolicy(
            max_attempts=10, backoff_base=4.0, backoff_cap=60.0, jitter=0.0, budget_seconds=20
        ),
        clock=clock,
        sleep=clock.sleep,
        rng=lambda: 0.0,
    )
    responses.get(f"{ODDS}/events", status=503)
    with pytest.raises(
        SourceUnavailableError, match=r"time budget of 20s .* spent \(12s so far\) \(last: HTTP 503\)"
    ):
        OddsApiClient(http, store, API_KEY).events(date(2025, 3, 10))
    assert len(responses.calls) == 3 and clock.sleeps == [4.0, 8.0]
    clock.now += 10
    with pytest.raises(SourceUnavailableError, match="time budget of 20s"):
        OddsApiClient(http, store, API_KEY).events(date(2025, 3, 11))
    assert len(responses.calls) == 3


@responses.activate
def test_live_resource_passes_its_timeouts_deadline_and_budget_to_the_clients(
    tmp_path: Path, fixtures_dir: Path
) -> None:
    from nba_assets.defs.resources import LiveSourceResource

    resource = LiveSourceResource(
        odds_api_key="k",
        timeout_seconds=12.0,
        stats_timeout_seconds=45.0,
        request_deadline_seconds=90.0,
        budget_seconds=600.0,
        max_attempts=3,
    )
    source = resource.get_source(LocalObjectStore(tmp_path))
    assert source.http.timeout == (10.0, 12.0)
    assert source.stats.timeout == (10.0, 45.0)
    policy = source.http.policy
    assert (policy.request_deadline, policy.budget_seconds, policy.max_attempts) == (90.0, 600.0, 3)
    # the stats.nba.com request really carries the configured read timeout
    source.http.min_interval, source.http.host_intervals = 0.0, {}
    responses.get(f"{STATS}/scoreboardv2", body=body_of(fixtures_dir, "stats_scoreboardV2_2024-01-15.json"))
    assert source.stats.scoreboard_v2("2024-01-15").frame.height == 11
    assert responses.calls[0].request.req_kwargs["timeout"] == (10.0, 45.0)


@responses.activate
def test_live_resource_bookmakers_setting_ignores_blanks_around_the_commas(
    tmp_path: Path, fixtures_dir: Path
) -> None:
    """ "draftkings, fanduel" asks The Odds API for both books: a key with a leading blank (" fanduel")
    is no book key, so that book's lines would be missing and its pulled lines never marked."""
    from nba_assets.defs.resources import LiveSourceResource

    resource = LiveSourceResource(odds_api_key="k", odds_api_bookmakers=" draftkings, fanduel ,")
    source = resource.get_source(LocalObjectStore(tmp_path))
    assert source.odds.bookmakers == ["draftkings", "fanduel"]
    source.http.min_interval, source.http.host_intervals = 0.0, {}
    event = "f54c4a22568ce9dc33fb410d1b0e75e9"
    responses.get(
        f"{ODDS}/events/{event}/odds",
        body=body_of(fixtures_dir, "oddsapi_v4_event_odds_player_points_ORL-at-CLE_2024-02-22.json"),
        match=[matchers.query_param_matcher({"bookmakers": "draftkings,fanduel"}, strict_match=False)],
    )
    assert source.odds.event_odds(event, "2024-02-22") is not None


@responses.activate
def test_the_budget_runs_per_unit_of_work(store: LocalObjectStore, clock: FakeClock) -> None:
    """A range run's time grows with its units: each unit (a date, a game) gets the whole budget."""
    http = clocked_http(clock, RetryPolicy(max_attempts=10, backoff_base=4.0, jitter=0.0, budget_seconds=20))
    responses.get("https://example.test/x", body=b"{}")
    for _ in range(5):
        http.start_unit()
        assert http.get("https://example.test/x").status == 200
        clock.now += 15  # each unit spends 15 s of its own 20 s budget
    clock.now += 10
    with pytest.raises(SourceUnavailableError, match="time budget of 20s"):
        http.get("https://example.test/x")  # still the fifth unit, now 25 s in


@responses.activate
def test_the_total_budget_runs_across_units(store: LocalObjectStore, clock: FakeClock) -> None:
    """A sensor tick's probe: new units (dates, fallbacks) do not restart the client's total budget."""
    http = clocked_http(clock, RetryPolicy(budget_seconds=20, total_budget_seconds=30))
    responses.get("https://example.test/x", body=b"{}")
    for _ in range(3):
        http.start_unit()
        assert http.get("https://example.test/x").status == 200
        clock.now += 12  # within each unit's 20 s, but 36 s in all
    http.start_unit()
    with pytest.raises(SourceUnavailableError, match=r"time budget of 30s for all requests of this client"):
        http.get("https://example.test/x")
    assert len(responses.calls) == 3


@responses.activate
def test_live_source_gives_each_game_the_whole_budget(tmp_path: Path, clock: FakeClock, monkeypatch) -> None:
    """Box scores for three games, each fetch taking 15 s of a 20 s budget: all three arrive (the
    budget is per game); one budget for the whole step would have stopped the third at 30 s."""
    from nba_assets.lib import schemas
    from nba_assets.lib.sources.live.http import Fetched
    from nba_assets.lib.sources.live.source import LiveSource

    http = clocked_http(clock, RetryPolicy(budget_seconds=20))
    source = LiveSource(LocalObjectStore(tmp_path), odds_api_key="k", http=http)
    responses.get("https://example.test/box", body=b"{}")

    def fetch(game_id: str, game_date: date) -> Fetched:
        http.get("https://example.test/box")
        clock.now += 15
        return Fetched(schemas.empty(schemas.BOX_SCORE_SCHEMA))

    monkeypatch.setattr(source.stats, "boxscore_traditional_v3", fetch)
    games = pl.DataFrame(
        {"game_id": ["g1", "g2", "g3"], "game_date": [date(2025, 11, 5)] * 3, "status": ["final"] * 3}
    )
    source.box_scores(games, datetime.now(UTC))
    assert len(responses.calls) == 3


def _hanging_stats_source(tmp_path: Path, clock: FakeClock, endpoint: str) -> LiveSource:
    """A live source whose stats.nba.com ``endpoint`` black-holes: every attempt hits the 120 s read
    timeout, so the primary spends the whole 600 s budget of its unit (5 attempts + backoff)."""

    def hang(request: requests.PreparedRequest) -> tuple[int, dict, bytes]:
        clock.now += 120
        raise requests.ReadTimeout("read timed out (read timeout=120)")

    responses.add_callback(responses.GET, f"{STATS}/{endpoint}", callback=hang)
    http = clocked_http(clock, RetryPolicy(max_attempts=5, budget_seconds=600.0), timeout=(10.0, 30.0))
    return LiveSource(LocalObjectStore(tmp_path), odds_api_key="k", http=http)


@responses.activate
def test_a_fallback_gets_its_own_budget_when_the_primary_hangs(
    tmp_path: Path, clock: FakeClock, fixtures_dir: Path
) -> None:
    """scoreboardv3 hangs until the date's budget is spent; scoreboardV2 still runs and gives the games."""
    source = _hanging_stats_source(tmp_path, clock, "scoreboardv3")
    v2 = responses.get(
        f"{STATS}/scoreboardv2", body=body_of(fixtures_dir, "stats_scoreboardV2_2024-01-15.json")
    )
    assert source.schedule([date(2024, 1, 15)], datetime.now(UTC)).frame.height == 11
    assert v2.call_count == 1


@responses.activate
def test_the_cdn_box_score_fallback_runs_after_stats_spent_the_games_budget(
    tmp_path: Path, clock: FakeClock
) -> None:
    source = _hanging_stats_source(tmp_path, clock, "boxscoretraditionalv3")
    cdn = responses.get(
        "https://cdn.nba.com/static/json/liveData/boxscore/boxscore_0022400001.json", status=404
    )
    games = pl.DataFrame({"game_id": ["0022400001"], "game_date": [date(2025, 1, 5)], "status": ["final"]})
    with pytest.raises(SourceUnavailableError, match="cdn.nba.com has no file for it"):
        source.box_scores(games, datetime.now(UTC))
    assert cdn.call_count == 1  # asked, not skipped for lack of budget


def test_a_tls_error_while_reading_the_body_is_retried_then_a_source_error() -> None:
    """urllib3 raises its own SSLError for a TLS record broken mid-body; it is retried like requests'
    SSLError (a ConnectionError) and ends as SourceUnavailableError, never a raw urllib3 exception."""
    import io
    import ssl

    from urllib3.response import HTTPResponse

    class BrokenTls(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, b: object) -> int:
            raise ssl.SSLError("DECRYPTION_FAILED_OR_BAD_RECORD_MAC")

        read1 = readinto

    class Session(requests.Session):
        calls = 0

        def get(self, url: str, **kw: object) -> requests.Response:  # type: ignore[override]
            Session.calls += 1
            r = requests.Response()
            r.status_code, r.url = 200, url
            r.raw = HTTPResponse(
                body=BrokenTls(), headers={"Content-Length": "100"}, status=200, preload_content=False
            )
            return r

    http = HttpClient(
        session=Session(),
        min_interval=0.0,
        policy=RetryPolicy(max_attempts=3, jitter=0.0),
        sleep=lambda s: None,
    )
    with pytest.raises(SourceUnavailableError, match="x.test/a: gave up after 3 attempts .*SSLError"):
        http.get("https://x.test/a")
    assert Session.calls == 3


# ---------------------------------------------------------------- a scoreboard without games

CDN_SCHEDULE = "https://cdn.nba.com/static/json/staticData/"


def _empty_board(day: str) -> dict[str, object]:
    return {"scoreboard": {"gameDate": day, "leagueId": "00", "games": []}}


@responses.activate
def test_an_empty_scoreboard_on_a_date_the_season_schedule_lists_games_is_refused(
    http: HttpClient, tmp_path: Path, fixtures_dir: Path
) -> None:
    """scoreboardv3 answering 200 with no games for 2024-01-15, a date the 2023-24 schedule lists 11
    games on, refuses the batch (so the stored games and box scores of the date are kept), naming the
    field, the date and a game; the season schedule it asked is archived."""
    responses.get(f"{STATS}/scoreboardv3", json=_empty_board("2024-01-15"))
    responses.get(
        CDN_SCHEDULE + "scheduleLeagueV2_1.json",
        body=body_of(fixtures_dir, "cdn_scheduleLeagueV2_2023-24.json"),
    )
    store = LocalObjectStore(tmp_path)
    source = LiveSource(store, odds_api_key="k", http=http)
    with pytest.raises(
        SourceDataError,
        match=r"stats.nba.com: field 'scoreboard.games' is empty for 2024-01-15, while the 2023-24 season "
        r"schedule lists 11 game\(s\) that day \(first 0022300555\); the stored games are kept",
    ):
        source.schedule([date(2024, 1, 15)], datetime.now(UTC))
    assert [k.split("/")[1] for k in all_keys(store)] == ["schedule-v2", "scoreboard-v3"]


@responses.activate
def test_an_empty_scoreboard_the_season_schedule_agrees_with_is_a_date_without_games(
    http: HttpClient, tmp_path: Path, fixtures_dir: Path
) -> None:
    """The Tuesday after the 2024 All-Star game has no game in the 2023-24 schedule: the empty board is
    taken, and over a range the schedule is read once, next to the other dates' games."""
    board = body_of(fixtures_dir, "stats_scoreboardv3_2025-11-05.json")
    responses.get(
        f"{STATS}/scoreboardv3",
        json=_empty_board("2024-02-20"),
        match=[matchers.query_param_matcher({"GameDate": "2024-02-20", "LeagueID": "00"})],
    )
    responses.get(
        f"{STATS}/scoreboardv3",
        json=_empty_board("2024-02-21"),
        match=[matchers.query_param_matcher({"GameDate": "2024-02-21", "LeagueID": "00"})],
    )
    responses.get(
        f"{STATS}/scoreboardv3",
        body=board,
        match=[matchers.query_param_matcher({"GameDate": "2025-11-05", "LeagueID": "00"})],
    )
    cdn = responses.get(
        CDN_SCHEDULE + "scheduleLeagueV2_1.json",
        body=body_of(fixtures_dir, "cdn_scheduleLeagueV2_2023-24.json"),
    )
    source = LiveSource(LocalObjectStore(tmp_path), odds_api_key="k", http=http)
    got = source.schedule([date(2024, 2, 20), date(2024, 2, 21)], datetime.now(UTC))
    assert got.frame.is_empty() and cdn.call_count == 1
    # a date with games never asks the season schedule
    assert source.schedule([date(2025, 11, 5)], datetime.now(UTC)).frame.height == 11
    assert cdn.call_count == 1


@responses.activate
def test_an_empty_scoreboard_of_another_season_asks_stats_season_schedule(
    http: HttpClient, tmp_path: Path, fixtures_dir: Path
) -> None:
    """cdn.nba.com's file holds the current season only: for a date of another season the stats
    ``scheduleleaguev2`` of that season confirms (or refutes) the empty board."""
    responses.get(f"{STATS}/scoreboardv3", json=_empty_board("2024-01-15"))
    cdn_other = json.loads(body_of(fixtures_dir, "cdn_scheduleLeagueV2_2023-24.json"))
    cdn_other["leagueSchedule"]["seasonYear"] = "2025-26"
    cdn_other["leagueSchedule"]["gameDates"] = []
    responses.get(CDN_SCHEDULE + "scheduleLeagueV2_1.json", json=cdn_other)
    stats = responses.get(
        f"{STATS}/scheduleleaguev2",
        body=body_of(fixtures_dir, "cdn_scheduleLeagueV2_2023-24.json"),
        match=[matchers.query_param_matcher({"LeagueID": "00", "Season": "2023-24"})],
    )
    source = LiveSource(LocalObjectStore(tmp_path), odds_api_key="k", http=http)
    with pytest.raises(SourceDataError, match="lists 11 game"):
        source.schedule([date(2024, 1, 15)], datetime.now(UTC))
    assert stats.call_count == 1


@responses.activate
def test_an_empty_scoreboard_no_season_schedule_can_confirm_fails_as_unavailable(
    clock: FakeClock, tmp_path: Path
) -> None:
    """Both season schedules down: the empty board is unconfirmed, so the batch fails as a transient
    outage (the raw asset retries the step; the stored games stay) instead of storing an empty date."""
    http = clocked_http(clock, RetryPolicy(max_attempts=2, backoff_base=1.0, jitter=0.0))
    responses.get(f"{STATS}/scoreboardv3", json=_empty_board("2024-01-15"))
    responses.get(CDN_SCHEDULE + "scheduleLeagueV2_1.json", status=503)
    responses.get(CDN_SCHEDULE + "scheduleLeagueV2.json", status=503)
    responses.get(f"{STATS}/scheduleleaguev2", status=503)
    source = LiveSource(LocalObjectStore(tmp_path), odds_api_key="k", http=http)
    with pytest.raises(
        SourceUnavailableError, match="no game on 2024-01-15, and no 2023-24 season schedule could confirm it"
    ) as err:
        source.schedule([date(2024, 1, 15)], datetime.now(UTC))
    assert err.value.transient
