"""Everything the code location holds, for given settings (tests pass their own)."""

from __future__ import annotations

import dagster as dg

from nba_assets.defs.jobs import jobs
from nba_assets.defs.raw.assets import raw_assets
from nba_assets.defs.resources import build_resources
from nba_assets.lib.env import Settings


def build_definitions(settings: Settings) -> dg.Definitions:
    if settings.env == "local":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return dg.Definitions(assets=[*raw_assets], jobs=jobs, resources=build_resources(settings))
