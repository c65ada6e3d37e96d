"""Errors that name the source, the field and the offending value."""

from __future__ import annotations

from typing import Any


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class SourceDataError(ValueError):
    """A payload or row from an external source is not what its contract says.

    The message is one line: ``<source>: field '<field>' <problem> (value: <value>)``.
    """

    def __init__(self, source: str, field: str, problem: str, value: Any = None) -> None:
        self.source = source
        self.field = field
        self.problem = problem
        self.value = value
        msg = f"{source}: field '{field}' {problem}"
        if value is not None:
            msg += f" (value: {_short(value)})"
        super().__init__(msg)


class SourceUnavailableError(RuntimeError):
    """The source could not be reached or kept failing after bounded retries.

    ``transient`` is False when the source refused in a way waiting will not change (an HTTP status
    outside the retried ones, such as 401 or 404, or a malformed request); the raw assets ask Dagster to
    retry the step later only for transient failures."""

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


class StoreUnavailableError(RuntimeError):
    """The object store (GCS) kept failing after its client's own retries (HTTP 429/5xx, a connection
    error): an outage, so the raw assets ask Dagster to retry the step later, as for a source outage."""

    transient = True  # as SourceUnavailableError's flag: waiting can fix an outage


def require(obj: Any, key: str, source: str, path: str | None = None) -> Any:
    """``obj[key]`` or a :class:`SourceDataError` naming the source and the field path."""
    field = f"{path}.{key}" if path else key
    if not isinstance(obj, dict):
        raise SourceDataError(source, path or "<root>", "is not an object", type(obj).__name__)
    if key not in obj:
        raise SourceDataError(source, field, "is missing")
    return obj[key]
