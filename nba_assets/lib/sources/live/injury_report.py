"""Official NBA injury report PDFs (ak-static.cms.nba.com), one file per edition.

File names (API_CONTRACTS §5): until 2025-12-22 ``Injury-Report_{YYYY-MM-DD}_{HH}{AM|PM}.pdf``; from
2025-12-23 ``Injury-Report_{YYYY-MM-DD}_{HH}_{MM}{AM|PM}.pdf``. ``HH`` is the 12-hour clock, zero-padded,
and the date and time are the edition's ET wall clock.

Editions of the hourly format are labelled on the hour; those of the minute format on any quarter-hour
(e.g. 16:30, 17:30, 18:15, 18:45 ET on a day of that era, none of them on the hour), so the search for
the latest edition steps back one hour, then from 2025-12-23 one quarter-hour, at a time.

Missing, refused, blocked. The host is S3 behind Akamai and answers **403** for an edition that does not
exist (S3 without list permission: a missing key is AccessDenied, not 404); a block of the caller (an
Akamai rule on a datacenter IP, the geo-block page, API_CONTRACTS §5) is a 403 too. So a single 403 is
read as "not published", but:

* a 403 whose body is the geo-block page ("not accessible in this region") is a block, at once;
* a search that finds no edition in its whole window and was answered 403 (every probe, or some while
  others said 404, so the host does tell a missing key apart) raises :class:`EditionsRefusedError`: a
  day of the injury report with no edition in 24 hours is a block, or a report the NBA did not publish,
  and either needs a person. Only when every probe answered 404 is it "none published" (None).

Both are ``SourceUnavailableError(transient=False)``: a 403 is not one of the retried statuses, and a
block of this IP does not lift within a step retry's wait, while each retry would send up to 96 more
requests to the host that refused them. The run fails at once (a run-failure alert); the next scheduled
refresh asks again. Every refused body is archived (``.html``/``.xml``/``.txt``) and named in the error.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from nba_assets.lib.errors import SourceUnavailableError
from nba_assets.lib.parsers._common import INJURY_REPORT, to_date
from nba_assets.lib.parsers.injury_report import parse_injury_pdf
from nba_assets.lib.sources.live.http import Fetched, HttpClient, HttpResponse, browser_headers
from nba_assets.lib.storage.object_store import ObjectStore

BASE_URL = "https://ak-static.cms.nba.com/referee/injury"
MINUTE_FORMAT_FROM = date(2025, 12, 23)
HEADERS = {**browser_headers("https://www.nba.com", "https://www.nba.com/"), "Accept": "application/pdf,*/*"}
# S3-style hosts answer 403 (not 404) for a missing key; see the module docstring for when it is a block.
REFUSED = 403
MISSING = (REFUSED, 404)
GEO_BLOCK = b"not accessible in this region"


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


class EditionsRefusedError(SourceUnavailableError):
    """No edition of a day was found and the host answered 403 to the search: blocked, or not published.
    ``day`` is the game date searched for."""

    def __init__(self, message: str, day: date) -> None:
        super().__init__(message, transient=False)
        self.day = day


def _file(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def refused_search_error(day: date, probes: list[tuple[str, HttpResponse]]) -> EditionsRefusedError | None:
    """The error for a search of ``day``'s editions that found none, from its probes (url, response), newest
    first; None when every probe answered 404 (the host says "not found": none published)."""
    refused = [(url, r) for url, r in probes if r.status == REFUSED]
    if not refused:
        return None
    first, last = _file(probes[-1][0]), _file(probes[0][0])
    kept = sorted({r.archive_key for _, r in refused if r.archive_key})
    evidence = f"; refused bodies archived: {', '.join(kept[:3])}" + (" ..." if len(kept) > 3 else "")
    return EditionsRefusedError(
        f"{INJURY_REPORT}: no edition of the report for {day} found: {len(refused)} of {len(probes)} "
        f"editions {first} .. {last} at {BASE_URL} answered HTTP {REFUSED} (the host refuses a missing file "
        f"with 403 too: this IP is blocked (Akamai/S3), or the NBA published no report in that window)"
        + (evidence if kept else "; the refusals had no body"),
        day,
    )


class InjuryReportClient:
    def __init__(self, http: HttpClient, store: ObjectStore) -> None:
        self.http = http
        self.store = store

    def _ask(self, edition_et: datetime, game_date: date | str) -> tuple[HttpResponse, Fetched | None]:
        url = report_url(edition_et)
        resp = self.http.get(
            url,
            headers=HEADERS,
            store=self.store,
            source="injury-pdf",
            game_date=to_date(game_date),
            ext="pdf",
            accept=(200, *MISSING),
            archive_refused=(REFUSED,),
        )
        if resp.status == REFUSED and GEO_BLOCK in (resp.body or b"")[:20000].lower():
            raise SourceUnavailableError(
                f"{INJURY_REPORT}: {url}: HTTP {REFUSED} with the geo-block page ('not accessible in this "
                f"region'): this IP is blocked, not an edition missing (body archived as {resp.archive_key})",
                transient=False,
            )
        if resp.status in MISSING:
            return resp, None
        frame = parse_injury_pdf(resp.body or b"", edition_et)  # a 200 with no body is refused, not "missing"
        return resp, Fetched(
            frame,
            [resp.archive_key] if resp.archive_key else [],
            {"url": url, "report_time_et": edition_et},
        )

    def fetch_edition(self, edition_et: datetime, game_date: date | str) -> Fetched | None:
        """One edition, or None if it was not published (403/404). The body is archived (``.pdf``, even when
        it turns out to be a geo-block page) before it is parsed, so a parse failure leaves evidence; a
        refused (403) body is archived too, and a 403 with the geo-block page raises
        :class:`SourceUnavailableError`."""
        return self._ask(edition_et, game_date)[1]

    def fetch_latest(
        self, game_date: date | str, before_et: datetime, window: timedelta = timedelta(hours=24)
    ) -> Fetched | None:
        """The latest edition issued at or before the naive ET time ``before_et``, trying every edition
        label backwards (:func:`edition_slot`: hourly, quarter-hourly from 2025-12-23) within ``window``
        before ``before_et``; None when the host answered 404 for every one of them (none published).
        Raises :class:`EditionsRefusedError` when none was found and the host answered 403
        (:func:`refused_search_error`)."""
        edition = edition_slot(before_et)
        probes: list[tuple[str, HttpResponse]] = []
        while edition > before_et - window:
            resp, found = self._ask(edition, game_date)
            if found is not None:
                return found
            probes.append((report_url(edition), resp))
            edition = edition_slot(edition - timedelta(minutes=1))
        error = refused_search_error(to_date(game_date), probes)
        if error is not None:
            raise error
        return None
