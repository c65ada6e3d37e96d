"""The prod source wiring, offline: the raw assets run on LiveSource with `responses` serving the
recorded real payloads (no network, no real keys)."""

import json
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
import responses

from nba_assets.defs.raw.assets import raw_assets
from nba_assets.defs.resources import LiveSourceResource, LocalObjectStoreResource, NbaSourceResource
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


@responses.activate
def test_live_schedule_asset_on_recorded_scoreboard(tmp_path, fixtures_dir) -> None:
    responses.get(
        f"{STATS}/scoreboardv3", body=(fixtures_dir / "stats_scoreboardv3_2025-11-05.json").read_bytes()
    )
    res = {
        "io_manager": NbaDuckDBIOManager(database=str(tmp_path / "w.duckdb")),
        "object_store": LocalObjectStoreResource(root=str(tmp_path / "objects")),
        "nba_source": _OfflineLive(now_utc="2025-11-06T12:00:00+00:00"),
    }
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
    # after tip-off the event is skipped: no post-tip lines
    assert src.player_props([date(2024, 2, 22)], datetime(2024, 2, 23, 1, 0, tzinfo=UTC)).frame.is_empty()
    # the key is sent as a parameter but appears in no archive key, note or stored file name
    assert all(c.request.params.get("apiKey") == KEY for c in responses.calls if "/odds" in c.request.url)
    assert KEY not in json.dumps(batch.notes) and all(KEY not in k for k in batch.payload_keys)
    assert not any(KEY in p.name for p in Path(tmp_path).rglob("*"))


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
