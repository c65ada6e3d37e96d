"""features/player_features through Dagster on the embedded archive, and the proof of no look-ahead:
the features of D built from the full archive equal those built from an archive truncated after D-1."""

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from nba_assets.defs.context.assets import context_assets
from nba_assets.defs.features.assets import feature_assets
from nba_assets.defs.raw.assets import raw_assets
from nba_assets.defs.resources import ArchiveSourceResource, build_resources
from nba_assets.lib.env import Settings
from nba_assets.lib.features.catalog import FEATURES
from nba_assets.lib.sources.archive import DEFAULT_ARCHIVE_DIR

D = "2025-11-05"
START = "2025-10-21"
RAW_ASSETS = ("schedule", "box_scores", "injury_report", "player_props")
# The truncated world asks its sources at 20:00 UTC on D: after D's lines (17:00 UTC), before D's first
# tip-off (00:00 UTC on D+1), so D's games are scheduled, not final.
AS_OF_D = "2025-11-05T20:00:00+00:00"
OUTCOME_COLUMNS = {"target_pts", "target_minutes", "played", "is_expected", "game_id"}


def _truncated_archive(dest: Path, day: str) -> Path:
    """A copy of the archive that knows nothing from D on: no box scores on or after D, D's games
    without scores, no games after D. Lines (all posted before tip-off) are kept."""
    dest.mkdir(parents=True)
    d = pl.lit(day).str.to_date()
    box = pl.read_parquet(DEFAULT_ARCHIVE_DIR / "box_scores.parquet")
    box.filter(pl.col("game_date") < d).write_parquet(dest / "box_scores.parquet")
    games = pl.read_parquet(DEFAULT_ARCHIVE_DIR / "games.parquet").filter(pl.col("game_date") <= d)
    games.with_columns(
        pl.when(pl.col("game_date") == d).then(None).otherwise(pl.col(c)).alias(c)
        for c in ("home_pts", "away_pts")
    ).write_parquet(dest / "games.parquet")
    shutil.copy(DEFAULT_ARCHIVE_DIR / "props_points.parquet", dest / "props_points.parquet")
    shutil.copy(DEFAULT_ARCHIVE_DIR / "PROVENANCE.json", dest / "PROVENANCE.json")
    return dest


def _pipeline(data_dir: Path, archive_dir: Path | None, as_of_utc: str = "") -> Settings:
    settings = Settings(data_dir=data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    resources = build_resources(settings)
    if archive_dir is not None:
        resources["nba_source"] = ArchiveSourceResource(archive_dir=str(archive_dir))
    defs = dg.Definitions(
        assets=[*raw_assets, *context_assets, *feature_assets],
        jobs=[
            dg.define_asset_job("raw_job", selection=dg.AssetSelection.groups("raw")),
            dg.define_asset_job("context_job", selection=dg.AssetSelection.groups("staging", "context")),
            dg.define_asset_job("features_job", selection=dg.AssetSelection.groups("features")),
        ],
        resources=resources,
    )
    tags = {"dagster/asset_partition_range_start": START, "dagster/asset_partition_range_end": D}
    with dg.instance_for_test() as instance:
        for job in ("raw_job", "context_job", "features_job"):
            config = None
            if job == "raw_job" and as_of_utc:
                config = {"ops": {f"raw__{a}": {"config": {"as_of_utc": as_of_utc}} for a in RAW_ASSETS}}
            result = defs.resolve_job_def(job).execute_in_process(
                instance=instance, tags=tags, run_config=config, raise_on_error=False
            )
            assert result.success, (job, [e.message for e in result.all_events if e.is_failure])
            if job == "features_job":
                checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
                assert checks["player_features_no_look_ahead"] is True
    return settings


def _features(settings: Settings, day: str) -> pl.DataFrame:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.sql(
            "SELECT * FROM features.player_features WHERE game_date = ? ORDER BY player_id", params=[day]
        ).pl()


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    root = tmp_path_factory.mktemp("lookahead")
    full = _pipeline(root / "full", None)
    cut = _pipeline(root / "cut", _truncated_archive(root / "archive_cut", D), AS_OF_D)
    return full, cut


def test_features_of_d_equal_with_an_archive_truncated_after_d_minus_1(worlds) -> None:
    full, cut = (_features(s, D) for s in worlds)
    exp_full = full.filter(pl.col("is_expected"))
    exp_cut = cut.filter(pl.col("is_expected"))
    assert exp_full.height > 200  # 11 games on 2025-11-05
    assert exp_full["player_id"].to_list() == exp_cut["player_id"].to_list()
    cols = [c for c in exp_full.columns if c not in OUTCOME_COLUMNS]
    assert {f.name for f in FEATURES} <= set(cols)
    a, b = exp_full.select(cols), exp_cut.select(cols)
    for c in cols:
        assert a[c].equals(b[c], check_names=True), c
    # the full world has training rows with outcomes for D, the truncated one none
    assert full.filter(pl.col("played")).height > 200 and cut.filter(pl.col("played")).height == 0


def test_newest_source_game_is_before_d(worlds) -> None:
    full, _ = worlds
    with duckdb.connect(str(full.warehouse_path), read_only=True) as con:
        bad = con.execute(
            "SELECT count(*) FROM features.player_features WHERE max_source_date >= game_date"
        ).fetchall()[0][0]
        rows = con.execute(
            "SELECT count(*), count(DISTINCT game_date) FROM features.player_features"
        ).fetchall()[0]
    assert bad == 0 and rows[0] > 3000 and rows[1] >= 14


def test_feature_documentation_matches_the_catalog() -> None:
    from nba_assets.lib.features.catalog import markdown

    doc = (Path(__file__).resolve().parents[1] / "docs" / "FEATURES.md").read_text()
    assert markdown() in doc, "docs/FEATURES.md is stale: regenerate it from the catalog"


def test_a_one_date_run_reads_every_earlier_game_like_the_range_run() -> None:
    """The daily runs build one date; the training rows were built by range runs that saw every game
    since the first partition. A fixed window (it was two seasons) made a one-date run serve different
    features (history against the opponent, a returning player's last games) than the model learned from."""
    from nba_assets.defs.features.assets import player_features
    from nba_assets.defs.partitions import game_date_partitions

    ins = {
        key.path[-1]: player_features.get_partition_mapping(key)
        for key in player_features.keys_by_input_name.values()
    }
    for table in ("player_game_summary", "team_game_summary"):
        one_date = game_date_partitions.empty_subset().with_partition_keys([D])
        mapped = ins[table].get_upstream_mapped_partitions_result_for_partitions(
            one_date, game_date_partitions, game_date_partitions
        )
        keys = mapped.partitions_subset.get_partition_keys()
        assert keys[0] == game_date_partitions.get_first_partition_key() and keys[-1] == D, table
