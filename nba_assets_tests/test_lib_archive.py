"""The embedded archive: provenance, size, reproducibility, and no look-ahead through it."""

import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal

from nba_assets.lib.sources.archive import DEFAULT_ARCHIVE_DIR, NO_INJURY_NOTE, ArchiveSource

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NBA_ASSETS_SHARED_DIR") or REPO.parent / "shared")
D = date(2025, 11, 5)


def test_provenance_matches_the_shipped_files() -> None:
    prov = json.loads((DEFAULT_ARCHIVE_DIR / "PROVENANCE.json").read_text())
    total = 0
    for name, meta in prov["outputs"].items():
        data = (DEFAULT_ARCHIVE_DIR / name).read_bytes()
        total += len(data)
        assert hashlib.sha256(data).hexdigest() == meta["sha256"], name
        frame = pl.read_parquet(DEFAULT_ARCHIVE_DIR / name)
        assert frame.height == meta["rows"]
        assert hashlib.sha256(frame.write_csv().encode()).hexdigest() == meta["content_sha256"], name
    assert total < 15_000_000
    assert prov["injury_reports"].startswith("none")


@pytest.mark.skipif(not (SHARED / "data" / "real").exists(), reason="shared real data not present")
def test_build_is_reproducible(tmp_path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "build_archive.py"),
            "--shared",
            str(SHARED),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    shipped = json.loads((DEFAULT_ARCHIVE_DIR / "PROVENANCE.json").read_text())["outputs"]
    rebuilt = json.loads((tmp_path / "PROVENANCE.json").read_text())["outputs"]
    assert rebuilt.keys() == shipped.keys()
    for name, meta in shipped.items():
        # The same rows and dtypes whatever polars wrote them; the same bytes only from the same writer
        # (a newer polars writes other parquet bytes, and its version, for identical rows).
        assert_frame_equal(pl.read_parquet(tmp_path / name), pl.read_parquet(DEFAULT_ARCHIVE_DIR / name))
        assert rebuilt[name]["content_sha256"] == meta["content_sha256"], name
        assert rebuilt[name]["rows"] == meta["rows"] and rebuilt[name]["columns"] == meta["columns"], name
        if _writer(tmp_path / name) == _writer(DEFAULT_ARCHIVE_DIR / name):
            assert rebuilt[name]["sha256"] == meta["sha256"], name


def _writer(path: Path) -> str:
    return str(pq.ParquetFile(path).metadata.created_by)


def test_lines_ship_without_outcome_columns() -> None:
    cols = set(pl.read_parquet_schema(DEFAULT_ARCHIVE_DIR / "props_points.parquet"))
    for leak in (
        "actual_pts",
        "actual_minutes",
        "played",
        "match",
        "player_id",
        "box_player_name",
        "hours_before_tip",
    ):
        assert leak not in cols


def test_real_facts_of_the_archive() -> None:
    src = ArchiveSource()
    now = datetime.now(UTC)
    sched = src.schedule([D], now).frame
    box = src.box_scores(sched, now).frame
    assert sched.height == 11 and set(sched["status"]) == {"final"}
    played = box.filter(pl.col("played"))
    assert (played.height, played["pts"].sum()) == (246, 2557)
    # Luka Dončić scored 73 on 2024-01-26.
    luka = src.box_scores(src.schedule([date(2024, 1, 26)], now).frame, now).frame.filter(
        pl.col("player_name") == "Luka Dončić"
    )
    assert luka["pts"].to_list() == [73]


def test_as_of_hides_what_had_not_happened() -> None:
    src = ArchiveSource()
    before_tip = datetime(2025, 11, 5, 21, 0, tzinfo=UTC)  # 16:00 ET, before every tip-off that day
    sched = src.schedule([D], before_tip).frame
    assert set(sched["status"]) == {"scheduled"} and sched["home_pts"].null_count() == sched.height
    assert src.box_scores(sched, before_tip).frame.is_empty()
    lines = src.player_props([D], before_tip).frame
    assert lines.height > 0 and (lines["snapshot_utc"] <= before_tip).all()
    assert (lines["snapshot_utc"] < lines["tipoff_utc"]).all()
    assert src.player_props(
        [D], datetime(2025, 11, 5, 12, 0, tzinfo=UTC)
    ).frame.is_empty()  # before any snapshot


def test_no_injury_report_is_invented() -> None:
    batch = ArchiveSource().injury_report([D], datetime.now(UTC))
    assert batch.frame.is_empty() and batch.notes["injury_report"] == NO_INJURY_NOTE


def test_history_is_strictly_before_the_date() -> None:
    hist = ArchiveSource().player_history(before=D, since=date(2025, 10, 1))
    assert hist["game_date"].max() < D
