"""Honest baselines: what a careful person would predict without a model."""

from __future__ import annotations

import numpy as np
import polars as pl


def baseline_predictions(frame: pl.DataFrame) -> dict[str, np.ndarray]:
    """``baseline_l10``: last-10 average. ``baseline_blend``: 0.5 last-5 + 0.3 last-10 + 0.2 season
    (season blended with last season early on). Points."""
    l5, l10, season = (frame[c].to_numpy() for c in ("pts_avg_l5", "pts_avg_l10", "pts_avg_season"))
    return {"baseline_l10": l10, "baseline_blend": 0.5 * l5 + 0.3 * l10 + 0.2 * season}
