"""Small helpers that turn frames into metadata a user would rather look at than read."""

from __future__ import annotations

from typing import Any

import polars as pl


def markdown_table(df: pl.DataFrame, limit: int = 10, columns: list[str] | None = None) -> str:
    """A GitHub-markdown table of the first ``limit`` rows (no pandas, no tabulate)."""
    view = df.select(columns) if columns else df
    if view.is_empty():
        return "_no rows_"
    head = view.head(limit)

    def cell(v: Any) -> str:
        if v is None:
            return ""
        if isinstance(v, float):
            # three decimals: a ROI of +0.58 % is 0.006 (two showed 0.01), a hit rate 0.544, and the
            # promotion gate's MAEs differ in the third; a value that rounds to zero has no sign
            text = f"{v:.3f}"
            return "0.000" if float(text) == 0 else text
        return str(v).replace("|", "\\|")

    lines = ["| " + " | ".join(head.columns) + " |", "|" + "---|" * len(head.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in head.iter_rows()]
    if view.height > limit:
        lines.append(f"\n_{limit} of {view.height:,} rows_")
    return "\n".join(lines)


def top_rows_table(df: pl.DataFrame, rank: str, ties: list[str], columns: list[str], limit: int = 10) -> str:
    """:func:`markdown_table` of the ``limit`` rows highest on ``rank``; rows that tie on it in ``ties``
    order (ascending, nulls last). With ``ties`` making the order total, the table is the same for the
    same rows in any order (BigQuery returns rows in none)."""
    order = [rank, *ties]
    top = df.sort(order, descending=[True] + [False] * len(ties), nulls_last=True)
    return markdown_table(top, limit, columns)
