"""The metadata tables users read in the UI and in the daily summary alert."""

import polars as pl

from nba_assets.lib.metadata import markdown_table


def test_floats_keep_three_decimals_so_small_rois_and_gate_maes_stay_readable() -> None:
    table = markdown_table(
        pl.DataFrame({"system": ["catboost", "champion"], "roi": [0.0058, -0.0004], "mae": [4.6604, 4.6491]})
    )
    rows = table.splitlines()[2:]
    # +0.58 % is not shown as 1 %, and the two MAEs (0.011 apart) are told apart
    assert rows[0] == "| catboost | 0.006 | 4.660 |"
    # a ROI that rounds to zero carries no sign
    assert rows[1] == "| champion | 0.000 | 4.649 |"


def test_null_cells_are_blank_and_pipes_escaped() -> None:
    table = markdown_table(pl.DataFrame({"name": ["a|b", None], "x": [None, 1.0]}))
    assert table.splitlines()[2:] == ["| a\\|b |  |", "|  | 1.000 |"]
