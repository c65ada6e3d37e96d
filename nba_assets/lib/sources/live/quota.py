"""The Odds API's monthly credits: reading the quota headers and deciding whether a fetch may spend.

Every answer of The Odds API (the free events list too) carries ``x-requests-remaining`` (credits left
until the plan renews), ``x-requests-used`` (spent since it renewed) and ``x-requests-last`` (the cost
of that request). A live event-odds call costs #markets x #regions credits (``player_points``, region
``us``: 1); the API answers 401 ``OUT_OF_USAGE_CREDITS`` once they are spent.

Each live source keeps a number of credits it will not spend (``keep``): the refresh sensor's probe
keeps the reserve (``NBA_ASSETS_ODDS_QUOTA_RESERVE``), so its optional 15-minute polls stop before the
scheduled fetches are short of credits; the runs keep the floor (``NBA_ASSETS_ODDS_QUOTA_FLOOR``,
default 0: they spend everything but refuse a date they can no longer pay for, before spending on
part of it). Pure functions; the client and the source apply them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from nba_assets.lib.errors import SourceDataError, SourceUnavailableError
from nba_assets.lib.parsers._common import ODDS_API

REMAINING, USED, LAST = "x-requests-remaining", "x-requests-used", "x-requests-last"
QUOTA_HEADERS = (REMAINING, USED, LAST)
# Numeric metadata keys of the lines asset (the UI plots them across materializations).
REMAINING_METADATA, USED_METADATA = "odds_api_requests_remaining", "odds_api_requests_used"


@dataclass(frozen=True)
class OddsQuota:
    """One answer's quota headers as numbers; None where the header was not sent (unknown)."""

    remaining: float | None = None
    used: float | None = None
    last: float | None = None


def parse_credits(header: str, value: str | None) -> float | None:
    """One quota header's value as a number of credits: None when absent or blank (unknown); an
    integer or a float string ("19873", "19873.0"); anything else (text, negative, NaN, infinite) is a
    :class:`SourceDataError` naming the source, the header and the value."""
    if value is None or not str(value).strip():
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        raise SourceDataError(ODDS_API, header, "is not a number of credits", value) from None
    if not math.isfinite(number) or number < 0:
        raise SourceDataError(ODDS_API, header, "is not a number of credits", value)
    return number


def parse_quota(headers: Mapping[str, str]) -> OddsQuota:
    """The quota of one answer from its headers (names matched case-insensitively)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    return OddsQuota(*(parse_credits(h, lowered.get(h)) for h in QUOTA_HEADERS))


def event_odds_cost(regions: str, markets: str, bookmakers: list[str] | None = None) -> int:
    """Credits one live event-odds call costs: #markets x #regions, where a ``bookmakers`` parameter
    counts as one region per 10 books (it replaces ``regions``)."""
    n_markets = len([m for m in markets.split(",") if m.strip()])
    n_regions = (
        math.ceil(len(bookmakers) / 10) if bookmakers else len([r for r in regions.split(",") if r.strip()])
    )
    return max(n_markets, 1) * max(n_regions, 1)


@dataclass(frozen=True)
class CreditsKept:
    """The credits a source will not spend, and the setting they come from (for messages)."""

    credits: int = 0
    setting: str = "NBA_ASSETS_ODDS_QUOTA_FLOOR"
    purpose: str = "the floor"

    def __post_init__(self) -> None:
        if self.credits < 0:
            raise ValueError(f"{self.setting} must be 0 or more, got {self.credits}")


class OddsQuotaError(SourceUnavailableError):
    """A fetch refused because it would spend credits kept back; not transient (credits come back
    only when the plan renews). ``quota`` is the reading it was refused on."""

    def __init__(self, message: str, quota: OddsQuota) -> None:
        super().__init__(message, transient=False)
        self.quota = quota


def quota_refusal(quota: OddsQuota, cost: int, kept: CreditsKept, what: str) -> str | None:
    """Why ``what`` (a fetch costing ``cost`` credits) must not go out, or None when it may: it may
    when ``x-requests-remaining`` is unknown (no reading to act on; the metadata shows it missing), when
    it costs nothing (every event tipped off, a day without games: ``kept`` is about spending, and
    there is nothing to spend) or when the credits left after it stay at or above ``kept``. So at
    ``remaining == kept`` any paid call is refused."""
    if quota.remaining is None or cost <= 0 or quota.remaining - cost >= kept.credits:
        return None
    return (
        f"{ODDS_API}: header '{REMAINING}' is {format_credits(quota.remaining)}: {what} would cost "
        f"{cost} credit(s) and leave less than {kept.purpose} of {kept.credits} ({kept.setting})"
    )


def format_credits(value: float | None) -> str:
    """A credit count as the API wrote it, without a trailing ``.0``; "unknown" for None."""
    if value is None:
        return "unknown"
    return str(int(value)) if float(value).is_integer() else str(value)


def quota_metadata(quota: OddsQuota) -> dict[str, float]:
    """The numeric metadata of a reading: remaining and used, where known."""
    out = {}
    if quota.remaining is not None:
        out[REMAINING_METADATA] = quota.remaining
    if quota.used is not None:
        out[USED_METADATA] = quota.used
    return out
