"""One way to turn a library check outcome into a Dagster asset check result."""

from typing import Any

import dagster as dg


def check_result(asset_key: dg.AssetKey, name: str, outcome: Any) -> dg.AssetCheckResult:
    """``outcome``: a :class:`nba_assets.lib.raw.CheckOutcome` (passed, metadata, severity)."""
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=name,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity(outcome.severity),
        metadata=outcome.metadata,
    )
