"""Schema drift: a frame whose columns no longer match the warehouse table it is written into.

A warehouse table keeps the columns and types of its first write. Writing a later partition with other
columns is refused by both warehouses before anything is committed, with one message that names every
difference and what to do. Without the check the two warehouses disagree: DuckDB's ``INSERT ... BY NAME``
casts quietly (FLOAT 1.7 into a BIGINT column is stored as 2, the string "false" into a BOOLEAN as false,
a column the frame lacks as NULL), while BigQuery's ``INSERT ... SELECT`` coerces only where GoogleSQL has
an implicit coercion (INT64 -> FLOAT64 yes, FLOAT64 -> INT64 no) and fails the run otherwise (a column
the frame lacks is NULL there too).

The rule is exact: same column names, each with the same warehouse type (the frame's polars types mapped
the way the warehouse maps them when it creates the table). A widening such as INT64 -> FLOAT64 is
refused too: the stored and the new partitions would have been computed by different code.

A column of polars type ``Null`` (every value None, so no type was inferred) is refused on every write,
new table or not: BigQuery has no column type for it, and DuckDB would create a ``"NULL"`` column that
every later non-null value fails to cast into.
"""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg
import polars as pl


def schema_drift(stored: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    """Every difference between a stored table's columns and a frame's (name -> warehouse type), one
    line each, in the table's column order then the frame's; empty when they match exactly."""
    lines = []
    for name, stored_type in stored.items():
        if name not in new:
            lines.append(f"{name}: stored {stored_type}, missing from the new rows")
        elif new[name] != stored_type:
            lines.append(f"{name}: stored {stored_type}, new {new[name]}")
    lines += [f"{name}: not in the table, new {t}" for name, t in new.items() if name not in stored]
    return lines


def refuse_drift(
    table: str, asset: str, stored: Mapping[str, str], new: Mapping[str, str], drop: str
) -> None:
    """Fail (``dg.Failure``) if the frame's columns differ from the stored table's; ``drop`` is the
    statement that drops ``table`` in its warehouse (the message tells the user how to migrate)."""
    drift = schema_drift(stored, new)
    if not drift:
        return
    listed = "\n".join(f"  - {line}" for line in drift)
    raise dg.Failure(
        description=(
            f"warehouse: the rows of asset {asset} do not match the columns of table {table}, so nothing "
            f"was written ({table} keeps its previous rows):\n{listed}\n"
            "A table keeps the columns and types of its first write; DuckDB would cast these values "
            "silently and BigQuery refuses them. If the asset's columns changed on purpose, migrate the "
            f"table: drop it ({drop}) and backfill all of its partitions with the current code (or alter "
            "it to the new columns and backfill). If they did not, make the asset return the stored "
            "columns and types again (e.g. cast the column)."
        ),
        metadata={"table": table, "differences": "\n".join(drift)},
    )


def has_null_type(dtype: pl.DataType) -> bool:
    """Whether ``dtype`` is ``Null`` or holds one (a list of Null, a struct with a Null field)."""
    if dtype == pl.Null:  # nested types may hold the class itself rather than an instance
        return True
    if isinstance(dtype, pl.List | pl.Array):
        return has_null_type(dtype.inner)  # type: ignore[arg-type]
    if isinstance(dtype, pl.Struct):
        return any(has_null_type(f.dtype) for f in dtype.fields)  # type: ignore[arg-type]
    return False


def refuse_untyped(frame: pl.DataFrame, table: str, asset: str) -> None:
    """Fail if a column of the frame has no type (polars ``Null``: built from values that are all None)."""
    untyped = [f"{name} ({dtype})" for name, dtype in frame.schema.items() if has_null_type(dtype)]
    if untyped:
        raise dg.Failure(
            description=(
                f"warehouse: asset {asset} returned columns without a type for {table}: "
                f"{', '.join(untyped)}. Every value was None, so polars typed them Null, which no "
                "warehouse column holds; nothing was written. Give the column its type in the asset "
                "(e.g. pl.lit(None, dtype=pl.Float64), a schema= argument, or schemas.conform)."
            ),
            metadata={"table": table, "untyped_columns": ", ".join(untyped)},
        )
