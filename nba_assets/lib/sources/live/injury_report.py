"""Official NBA injury report PDFs (ak-static.cms.nba.com), one file per edition.

File names (API_CONTRACTS §5): until 2025-12-22 ``Injury-Report_{YYYY-MM-DD}_{HH}{AM|PM}.pdf``; from
2025-12-23 ``Injury-Report_{YYYY-MM-DD}_{HH}_{MM}{AM|PM}.pdf``. ``HH`` is the 12-hour clock, zero-padded,
and the date and time are the edition's ET wall clock.

Editions of the hourly format are labelled on the hour; those of the minute format on any quarter-hour
(e.g. 16:30, 17:30, 18:15, 18:45 ET on a day of that era, none of them on the hour), so the search for
the latest edition steps back one hour, then from 2025-12-23 one quarter-hour, at a time.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from nba_assets.lib.parsers._common import to_date
from nba_assets.lib.parsers.injury_report import parse_injury_pdf
from nba_assets.lib.sources.live.http import Fetched, HttpClient, browser_headers
from nba_assets.lib.storage.object_store import ObjectStore

BASE_URL = "https://ak-static.cms.nba.com/referee/injury"
MINUTE_FORMAT_FROM = date(2025, 12, 23)
HEADERS = {**browser_headers("https://www.nba.com", "https://www.nba.com/"), "Accept": "application/pdf,*/*"}
# S3-style hosts answer 403 (not 404) for a missing key.
MISSING = (403, 404)


EDITION_MINUTES = 15  # editions of the minute format are labelled on a quarter-hour


def edition_slot(at_et: datetime) -> datetime:
    """The label of the latest edition that can have been issued at or before the naive ET time
    ``at_et``: its hour before :data:`MINUTE_FORMAT_FROM`, its quarter-hour from then on."""
    slot = at_et.replace(second=0, microsecond=0)
    if slot.date() < MINUTE_FORMAT_FROM:
        return slot.replace(minute=0)
    return slot.replace(minute=slot.minute - slot.minute % EDITION_MINUTES)


def report_url(edition_et: datetime) -> str:
    """URL of the edition issued at the naive ET time ``edition_et``."""
    hour12 = edition_et.hour % 12 or 12
    half = "AM" if edition_et.hour < 12 else "PM"
    day = edition_et.date().isoformat()
    if edition_et.date() < MINUTE_FORMAT_FROM:
        return f"{BASE_URL}/Injury-Report_{day}_{hour12:02d}{half}.pdf"
    return f"{BASE_URL}/Injury-Report_{day}_{hour12:02d}_{edition_et.minute:02d}{half}.pdf"


class InjuryReportClient:
    def __init__(self, http: HttpClient, store: ObjectStore) -> None:
        self.http = http
        self.store = store

    def fetch_edition(self, edition_et: datetime, game_date: date | str) -> Fetched | None:
        """One edition, or None if it was not published (403/404). The body is archived (``.pdf``, even when
        it turns out to be a geo-block page) before it is parsed, so a parse failure leaves evidence."""
        resp = self.http.get(
            report_url(edition_et),
            headers=HEADERS,
            store=self.store,
            source="injury-pdf",
            game_date=to_date(game_date),
            ext="pdf",
            accept=(200, *MISSING),
        )
        if resp.status in MISSING:
            return None
        frame = parse_injury_pdf(resp.body or b"", edition_et)  # a 200 with no body is refused, not "missing"
        return Fetched(
            frame,
            [resp.archive_key] if resp.archive_key else [],
            {"url": report_url(edition_et), "report_time_et": edition_et},
        )

    def fetch_latest(
        self, game_date: date | str, before_et: datetime, window: timedelta = timedelta(hours=24)
    ) -> Fetched | None:
        """The latest edition issued at or before the naive ET time ``before_et``, trying every edition
        label backwards (:func:`edition_slot`: hourly, quarter-hourly from 2025-12-23) within ``window``
        before ``before_et``; None when none is published in that window."""
        edition = edition_slot(before_et)
        while edition > before_et - window:
            found = self.fetch_edition(edition, game_date)
            if found is not None:
                return found
            edition = edition_slot(edition - timedelta(minutes=1))
        return None
