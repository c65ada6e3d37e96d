"""What each dbt schema test proves, as the description of its Dagster asset check.

dagster-dbt takes a check's description from the test's ``meta.description`` only; the project's tests
set none, so the UI listed 40 context checks (``not_null_player_game_context_books_count``,
``covers_line_players_player_game_context_ref_stg_player_props___ref_stg_schedule_``, ...) with no
description. This derives one from the test's name, arguments and severity (leaf module: no dbt or
dagster imports).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _columns(value: Any) -> str:
    return ", ".join(f"`{c}`" for c in value) if isinstance(value, list | tuple) else f"`{value}`"


def _what(name: str, kwargs: Mapping[str, Any], column: str | None) -> str:
    col = f"`{column}`" if column else "the column"
    if name == "not_null":
        return f"{col} is never null."
    if name == "unique":
        return f"{col} is unique."
    if name == "accepted_values":
        values = ", ".join(str(v) for v in kwargs.get("values", []))
        return f"{col} is one of: {values}."
    if name == "relationships":
        return f"every {col} is a `{kwargs.get('field')}` of {kwargs.get('to')}."
    if name == "value_between":
        return f"{col} lies between {kwargs.get('min_value')} and {kwargs.get('max_value')}."
    if name == "unique_combination_of_columns":
        return f"one row per {_columns(kwargs.get('combination_of_columns', []))}."
    if name == "rows_per_group_between":
        return (
            f"every {_columns(kwargs.get('group_by', []))} group of the run's dates holds "
            f"{kwargs.get('min_rows')} to {kwargs.get('max_rows')} rows."
        )
    if name == "covers_scheduled_games":
        which = "final game" if kwargs.get("only_final") else "scheduled game (not postponed)"
        extra = " whose teams have earlier box scores" if kwargs.get("require_history") else ""
        return f"every {which} of the run's dates{extra} has rows here."
    if name == "covers_line_players":
        return (
            "every player with a resolved line for a scheduled game of the run's dates has a row in that "
            "game; the failing rows name the players whose team is not knowable before tip-off (their "
            "lines are PASSed with no_feature_row)."
        )
    args = ", ".join(f"{k}={v}" for k, v in kwargs.items() if k not in ("model", "column_name"))
    return f"dbt test `{name}`" + (f" on {col}" if column else "") + (f" ({args})." if args else ".")


def check_description(test_props: Mapping[str, Any]) -> str:
    """A one-sentence description of the dbt test node ``test_props`` (a manifest node): what it proves,
    its severity and whether it blocks downstream steps (dagster-dbt makes ``error`` tests blocking).
    The test's own ``meta.description`` or ``description`` wins when it has one."""
    own = (test_props.get("meta") or {}).get("description") or test_props.get("description")
    if own:
        return str(own)
    meta = test_props.get("test_metadata") or {}
    name = str(meta.get("name") or test_props.get("name") or "test")
    kwargs = meta.get("kwargs") or {}
    column = test_props.get("column_name") or kwargs.get("column_name")
    severity = str((test_props.get("config") or {}).get("severity") or "error").upper()
    level = "ERROR, blocking" if severity == "ERROR" else severity
    return f"dbt `{name}` ({level}): {_what(name, kwargs, column)}"
