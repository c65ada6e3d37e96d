"""Jobs: named selections of the asset graph."""

from __future__ import annotations

import dagster as dg

from nba_assets.defs.partitions import game_date_partitions

ingest_raw_job = dg.define_asset_job(
    "ingest_raw_job",
    selection=dg.AssetSelection.groups("raw"),
    partitions_def=game_date_partitions,
    description="Schedule, injury report, box scores and points lines for the selected game dates.",
)

jobs = [ingest_raw_job]
