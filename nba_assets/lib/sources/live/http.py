"""The one HTTP client every live source uses (requests.Session underneath).

- **Per-host rate limit:** at least ``min_interval`` seconds between request starts to one host
  (monotonic clock; ``clock``/``sleep`` are injectable so tests never really sleep).
- **Timeouts:** ``(connect, read)`` seconds on every request; the body is streamed and a request whose
  whole body has not arrived within ``RetryPolicy.request_deadline`` seconds is abandoned (a server
  trickling bytes forever never holds a run), and retried like any timeout.
- **Time budget:** ``RetryPolicy.budget_seconds`` bounds the time spent on all requests of one unit of
  work, from its first request (the caller marks units with :meth:`HttpClient.start_unit`; the live
  source's unit is a date, or a game for box scores; without marks, the client's lifetime): once
  spent, no new attempt or retry starts and the call fails with :class:`SourceUnavailableError`.
  ``RetryPolicy.total_budget_seconds`` does the same for every request of the client, from its first,
  whatever the units (a sensor tick's probe: one deadline however many games the slate has).
- **Retries:** 429/500/502/503/504, connection errors and timeouts are retried with exponential
  backoff plus jitter, honouring ``Retry-After`` (capped), up to ``max_attempts``; then
  :class:`SourceUnavailableError` naming host and path, never the query string (it may hold a key).
  Other statuses are not retried; their error adds the start of the body (redacted), where an API
  says why it refused (The Odds API: a spent quota or a bad key, both 401).
- **Archiving:** every successful non-empty body is written to the object store with
  :func:`archive_payload` *before* anyone parses it; 204 returns ``body=None``. A caller may name
  refusals it accepts (``archive_refused``, e.g. the injury host's 403) whose non-empty body is archived
  the same way, under the same key scheme (extension ``html``, ``xml`` or ``txt`` after the body's
  start, not the caller's): the evidence of a block or an error page outlives the run.
- **Secrets:** ``apiKey`` query values and ``X-Api-Key`` header values are redacted from every log line
  (urllib3's DEBUG request lines included) and exception message; archive keys are content hashes and
  never contain a URL; a redirect to another host does not carry the ``X-Api-Key`` header along.

The retry loop is a small explicit loop rather than tenacity: Retry-After, the fake clock and the
redacted error all need the response in hand, which is simpler here than in tenacity callbacks.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import polars as pl
import requests
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError, SSLError

from nba_assets.lib.errors import SourceUnavailableError
from nba_assets.lib.storage.object_store import ObjectStore, archive_payload

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
SECRET_PARAMS = frozenset({"apikey", "api_key", "key", "token"})
SECRET_HEADERS = frozenset({"x-api-key", "authorization"})
_SECRET_IN_TEXT = re.compile(r"(?i)((?:apiKey|api_key|x-api-key)[\"']?\s*[=:]\s*[\"']?)([^&\s\"',}]+)")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with ``apiKey=...``-style values and every given secret value replaced by ``***``."""
    out = _SECRET_IN_TEXT.sub(r"\1***", text)
    for secret in secrets:
        if secret:
            out = out.replace(secret, "***")
    return out


class _RedactingFilter(logging.Filter):
    """urllib3 logs each request line at DEBUG, query string (``apiKey=...``) included: redact it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), ()
        return True


class KeySafeSession(requests.Session):
    """requests drops only ``Authorization`` when a redirect leaves the host; drop ``X-Api-Key`` too."""

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: requests.Response) -> None:
        super().rebuild_auth(prepared_request, response)
        old_url, new_url = response.request.url, prepared_request.url
        if old_url and new_url and self.should_strip_auth(old_url, new_url):
            for name in [h for h in prepared_request.headers if h.lower() in SECRET_HEADERS]:
                del prepared_request.headers[name]


def _body_chunks(response: requests.Response, size: int = 65536) -> Iterator[bytes]:
    """The decoded body as it arrives: ``read1`` returns after one socket read (``iter_content`` would
    wait to fill each chunk, so a trickled body would pass the deadline unnoticed). urllib3's errors
    become the requests errors ``iter_content`` raises, so the retry rules see the same exceptions."""
    read1 = getattr(response.raw, "read1", None)
    if read1 is None:  # not a urllib3 2 response (a custom adapter): chunk-filling reads
        yield from response.iter_content(chunk_size=size)
        return
    try:
        while data := read1(size, decode_content=True):
            yield data
    except ProtocolError as exc:
        raise requests.exceptions.ChunkedEncodingError(exc) from exc
    except DecodeError as exc:
        raise requests.exceptions.ContentDecodingError(exc) from exc
    except ReadTimeoutError as exc:
        raise requests.ConnectionError(exc) from exc
    except SSLError as exc:  # a TLS record broken mid-body; requests' iter_content maps it the same way
        raise requests.exceptions.SSLError(exc) from exc


def _status_detail(body: bytes, secrets: Iterable[str], limit: int = 160) -> str:
    """``": <the body's start>"`` for an error status: The Odds API says why it refused in it (a spent
    quota ``OUT_OF_USAGE_CREDITS`` and a bad key are both 401), and that decides what to do. Whitespace
    is collapsed and secrets redacted; "" for an empty body or an HTML error page (noise, not a reason)."""
    text = redact(" ".join(body[:65536].decode("utf-8", "replace").split()), secrets)  # redact, then cut
    if not text or text.startswith("<"):
        return ""
    return ": " + (text if len(text) <= limit else text[: limit - 3] + "...")


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: delay_n = min(cap, base * 2**(n-1)) * (1 + jitter * U[0,1))."""

    max_attempts: int = 5
    backoff_base: float = 1.0  # seconds
    backoff_cap: float = 60.0  # seconds
    jitter: float = 0.25
    retry_after_cap: float = 120.0  # seconds; a longer Retry-After is cut to this
    request_deadline: float = 300.0  # seconds for one whole request, body included
    budget_seconds: float | None = None  # seconds for one unit of work (see start_unit); None = unbounded
    # seconds for every request of the client from its first, units regardless (a sensor tick); None = unbounded
    total_budget_seconds: float | None = None


@dataclass
class HttpResponse:
    """A final (non-retried) response. ``body`` is None for 204; ``archive_key`` None if not archived."""

    status: int
    body: bytes | None
    headers: Mapping[str, str]
    archive_key: str | None
    host: str
    path: str


@dataclass
class Fetched:
    """What a live client returns: the parsed frame, the archive keys of the bodies it came from, and
    response facts worth recording (quota headers, edition URL ...)."""

    frame: pl.DataFrame
    archive_keys: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


class HttpClient:
    """GET with per-host rate limiting, bounded retries and archiving; see the module docstring."""

    def __init__(
        self,
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (10.0, 60.0),
        min_interval: float = 1.0,
        host_intervals: Mapping[str, float] | None = None,
        policy: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.session = session or KeySafeSession()
        urllib3_log = logging.getLogger("urllib3.connectionpool")
        if not any(isinstance(f, _RedactingFilter) for f in urllib3_log.filters):
            urllib3_log.addFilter(_RedactingFilter())
        self.timeout = timeout
        self.min_interval = min_interval
        self.host_intervals = dict(host_intervals or {})
        self.policy = policy or RetryPolicy()
        self.clock = clock
        self.sleep = sleep
        self.rng = rng
        self._next_slot: dict[str, float] = {}
        self._started: float | None = None  # clock at the unit's first request (the budget runs from there)
        # clock at the client's first request (the total budget runs from there; start_unit keeps it)
        self._first: float | None = None

    def start_unit(self) -> None:
        """Start a new unit of work: the time budget runs afresh from its first request."""
        self._started = None

    # ------------------------------------------------------------ rate limit

    def _interval(self, host: str) -> float:
        return self.host_intervals.get(host, self.min_interval)

    def _wait_for_slot(self, host: str) -> None:
        now = self.clock()
        slot = self._next_slot.get(host, now)
        if slot > now:
            self.sleep(slot - now)
            now = self.clock()
        self._next_slot[host] = max(now, slot) + self._interval(host)

    # ------------------------------------------------------------ retries

    def _retry_after(self, response: requests.Response) -> float | None:
        value = response.headers.get("Retry-After")
        if not value:
            return None
        try:
            seconds = float(value)
        except ValueError:
            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return None
            seconds = when.timestamp() - time.time()
        return min(max(seconds, 0.0), self.policy.retry_after_cap)

    def _backoff(self, attempt: int) -> float:
        p = self.policy
        delay = min(p.backoff_cap, p.backoff_base * 2 ** (attempt - 1))
        return delay * (1.0 + p.jitter * self.rng())

    # ------------------------------------------------------------ GET

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        store: ObjectStore | None = None,
        source: str | None = None,
        game_date: date | str | None = None,
        ext: str = "json",
        accept: Iterable[int] = (200, 204),
        timeout: tuple[float, float] | None = None,
        archive_refused: Iterable[int] = (),
    ) -> HttpResponse:
        """GET ``url``; statuses in ``accept`` are returned, retryable ones retried, others raise.

        When ``store`` is given, a 2xx non-empty body is archived under ``source``/``game_date`` before
        this returns (so it exists even if the caller's parse then fails); so is a non-empty body of an
        accepted status in ``archive_refused`` (a refusal kept as evidence). ``timeout`` overrides the
        client's ``(connect, read)`` seconds for this call.
        """
        parts = urlsplit(url)
        host, path = parts.netloc, parts.path or "/"
        secrets = [str(v) for k, v in (params or {}).items() if k.lower() in SECRET_PARAMS and v]
        secrets += [str(v) for k, v in (headers or {}).items() if k.lower() in SECRET_HEADERS and v]
        accepted = set(accept)
        refusals = frozenset(archive_refused)
        last = ""
        if self._started is None:
            self._started = self.clock()
        if self._first is None:
            self._first = self._started
        for attempt in range(1, self.policy.max_attempts + 1):
            self._check_budget(host, path, last)
            self._wait_for_slot(host)
            delay: float | None = None
            try:
                response = self.session.get(
                    url, params=params, headers=headers, timeout=timeout or self.timeout, stream=True
                )
                body = self._read_body(response)
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError,  # a corrupt gzip/deflate body in transit
            ) as exc:
                last = f"{type(exc).__name__}: {redact(str(exc), secrets)}"
            except requests.RequestException as exc:
                # anything else requests raises (a redirect loop, an invalid header ...) is not retried,
                # but still names host and path and never chains the original (its URL may hold a key)
                raise SourceUnavailableError(
                    f"{host}{path}: {type(exc).__name__}: {redact(str(exc), secrets)} (not retried)",
                    transient=False,
                ) from None
            else:
                status = response.status_code
                if status in accepted:
                    return self._finish(response, body, host, path, store, source, game_date, ext, refusals)
                if status not in RETRY_STATUSES:
                    raise SourceUnavailableError(
                        f"{host}{path}: HTTP {status} (not retried){_status_detail(body, secrets)}",
                        transient=False,
                    )
                last = f"HTTP {status}"
                delay = self._retry_after(response)
            if attempt == self.policy.max_attempts:
                break
            delay = self._backoff(attempt) if delay is None else delay
            self._check_budget(host, path, last, delay)
            log.warning(
                "%s%s: %s; retry %d/%d in %.1fs",
                host,
                path,
                last,
                attempt,
                self.policy.max_attempts - 1,
                delay,
            )
            self.sleep(delay)
        raise SourceUnavailableError(
            f"{host}{path}: gave up after {self.policy.max_attempts} attempts (last: {last})"
        )

    def _read_body(self, response: requests.Response) -> bytes:
        """The whole body, or ``requests.Timeout`` once ``request_deadline`` has passed (checked per chunk;
        each chunk's wait is bounded by the read timeout)."""
        deadline = self.clock() + self.policy.request_deadline
        chunks: list[bytes] = []
        try:
            for chunk in _body_chunks(response):
                chunks.append(chunk)
                if self.clock() > deadline:
                    raise requests.Timeout(
                        f"body not complete after {self.policy.request_deadline:g}s (request deadline)"
                    )
        finally:
            response.close()
        return b"".join(chunks)

    def _check_budget(self, host: str, path: str, last: str, delay: float = 0.0) -> None:
        now = self.clock()
        for budget, since, what in (  # the wider one first: it names what actually ran out
            (self.policy.total_budget_seconds, self._first, "all requests of this client (a sensor tick)"),
            (self.policy.budget_seconds, self._started, "this unit of work (a date, a game)"),
        ):
            if budget is None or since is None:
                continue
            spent = now - since
            if spent + delay > budget:
                after = f" (last: {last})" if last else ""
                raise SourceUnavailableError(
                    f"{host}{path}: time budget of {budget:g}s for {what} spent "
                    f"({spent:.0f}s so far){after}; no further attempt in this step"
                )

    def _finish(
        self,
        response: requests.Response,
        raw: bytes,
        host: str,
        path: str,
        store: ObjectStore | None,
        source: str | None,
        game_date: date | str | None,
        ext: str,
        refusals: frozenset[int] = frozenset(),
    ) -> HttpResponse:
        status = response.status_code
        body: bytes | None = None if status == 204 else raw
        key = None
        refused = status in refusals
        if store is not None and body and (200 <= status < 300 or refused):
            if source is None or game_date is None:
                raise ValueError("archiving needs source= and game_date=")
            stamp = game_date.date() if isinstance(game_date, datetime) else game_date
            key = archive_payload(store, source, stamp, body, refused_ext(body) if refused else ext)
        log.info("%s%s: HTTP %d, %d bytes", host, path, status, len(body or b""))
        return HttpResponse(status, body, dict(response.headers), key, host, path)


def refused_ext(body: bytes) -> str:
    """The archive extension of a refusal's body: ``xml`` (an S3 ``<Error>``), ``html`` (an error or
    block page) or ``txt``; never the extension of the payload that was asked for."""
    head = body[:1024].lstrip().lower()
    if head.startswith(b"<?xml") or head.startswith(b"<error"):
        return "xml"
    return "html" if head.startswith(b"<") else "txt"


# ---------------------------------------------------------------- browser-like headers

CHROME_MAJOR = 140
CHROME_UA = (
    f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    f"Chrome/{CHROME_MAJOR}.0.0.0 Safari/537.36"
)
SEC_CH_UA = f'"Chromium";v="{CHROME_MAJOR}", "Not=A?Brand";v="24", "Google Chrome";v="{CHROME_MAJOR}"'


def accept_encoding(allow_br: bool = True) -> str:
    """``gzip, deflate[, br]``: ``br`` only when urllib3 can decode it (brotli installed); otherwise a
    server honouring it would send a body requests cannot decompress."""
    if allow_br:
        try:
            import brotli  # noqa: F401
        except ImportError:
            try:
                import brotlicffi  # noqa: F401
            except ImportError:
                return "gzip, deflate"
        return "gzip, deflate, br"
    return "gzip, deflate"


def browser_headers(origin: str, referer: str, *, allow_br: bool = True) -> dict[str, str]:
    """Desktop-Chrome request headers with a matching ``Sec-Ch-Ua`` for ``origin``/``referer``."""
    return {
        "User-Agent": CHROME_UA,
        "Sec-Ch-Ua": SEC_CH_UA,
        "Sec-Ch-Ua-Mobile": "?0",
        "Sec-Ch-Ua-Platform": '"Windows"',
        "Accept": "application/json, text/plain, */*",
        "Accept-Language": "en-US,en;q=0.9",
        "Accept-Encoding": accept_encoding(allow_br),
        "Origin": origin,
        "Referer": referer,
        "Sec-Fetch-Dest": "empty",
        "Sec-Fetch-Mode": "cors",
        "Sec-Fetch-Site": "same-site",
        "Connection": "keep-alive",
        "Cache-Control": "no-cache",
        "Pragma": "no-cache",
    }
