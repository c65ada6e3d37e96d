"""Assembles the Definitions; nothing else. The environment is read when Dagster loads them."""

from __future__ import annotations

import dagster as dg

from nba_assets.defs.build import build_definitions
from nba_assets.lib.env import Settings


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(Settings.from_env())
