"""Alerts: one message per failed run (with the checks that failed in it) and one per failed check
of a successful run, to Slack when configured and otherwise to an alert log (and the console): the local
file in the local environment, the object store (GCS) in prod, where the sensors that send alerts run in
a code-server pod whose files nobody sees and which a restart wipes.

The message text never contains a secret: it is built from run ids, asset keys, partitions, check
names and check metadata only.
"""

from __future__ import annotations

import errno
import json
import logging
import re
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from nba_assets.lib.errors import StoreUnavailableError
from nba_assets.lib.storage.object_store import ObjectStore

log = logging.getLogger("nba_assets.alerts")


@dataclass(frozen=True)
class Alert:
    kind: str  # run_failure | check_failure | daily_summary
    title: str
    run_id: str = ""
    job: str = ""
    partition: str = ""
    checks: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    text: str = ""

    def render(self) -> str:
        lines = [f"*{self.title}*"]
        if self.job or self.run_id:
            lines.append(
                f"job `{self.job}` run `{self.run_id[:8]}`"
                + (f" partition `{self.partition}`" if self.partition else "")
            )
        for c in self.checks:
            meta = ", ".join(f"{k}={v}" for k, v in list(c.get("metadata", {}).items())[:6])
            lines.append(
                f"- check `{c['asset']}:{c['check']}` ({c['severity']}) partition `{c.get('partition') or '-'}`: {meta}"
            )
        if self.text:
            lines.append(self.text)
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps(
            {
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
                "kind": self.kind,
                "title": self.title,
                "run_id": self.run_id,
                "job": self.job,
                "partition": self.partition,
                "checks": list(self.checks),
                "text": self.text,
            },
            default=str,
        )


class AlertDeliveryError(Exception):
    """A sink could not take an alert. ``transient``: trying again later can work (an outage, a rate
    limit, a timeout); otherwise a person must fix the sink (a revoked token, a wrong channel, a bucket
    that refuses the writes, an alert log that cannot be written). The message names the sink and its
    error code or class only, never a token or the alert's text; ``fix`` says what to check."""

    def __init__(self, message: str, transient: bool, fix: str = "") -> None:
        super().__init__(message)
        self.transient = transient
        self.fix = fix


# errno values of a local write that a later attempt can get past; every other one (EACCES, EROFS,
# ENOENT, ENOTDIR, EISDIR, ENOSPC, EDQUOT, ...) needs a person
TRANSIENT_ERRNOS = frozenset({errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR, errno.EBUSY, errno.ETIMEDOUT})
# HTTP statuses (GCS) that a later attempt can get past: a timeout, a rate limit, a server error
TRANSIENT_HTTP = frozenset({408, 429})


def is_transient(exc: BaseException) -> bool:
    """Whether trying again later can deliver: a 5xx, 408 or 429, a timeout, a dropped connection, an
    error that says so itself (``StoreUnavailableError``: an object store still failing after its
    client's retries). A refusal (HTTP 401/403/404, a permission or a missing folder, a full disk) or
    an error of unknown kind (a bug does not fix itself) is not."""
    flag = getattr(exc, "transient", None)
    if isinstance(flag, bool):
        return flag
    try:
        from google.api_core import exceptions as google_errors
        from google.auth import exceptions as auth_errors
    except ImportError:  # pragma: no cover - google-cloud-storage is a dependency
        pass
    else:
        if isinstance(exc, google_errors.RetryError | auth_errors.TransportError):
            return True
        if isinstance(exc, google_errors.GoogleAPICallError):
            code = exc.code if isinstance(exc.code, int) else 0
            return code >= 500 or code in TRANSIENT_HTTP
    import requests

    if isinstance(exc, requests.Timeout | requests.ConnectionError | TimeoutError | ConnectionError):
        return True
    if isinstance(exc, OSError):
        return exc.errno in TRANSIENT_ERRNOS
    return False


def describe_error(exc: BaseException) -> str:
    """``exc`` for a message: its class and code (HTTP status, errno), never its text (an HTTP error can
    carry a URL with a key in it); an OS error's description and file name are kept."""
    name = type(exc).__name__
    code = getattr(exc, "code", None)
    if isinstance(code, int) and not isinstance(code, bool):
        return f"{name} (HTTP {code})"
    if isinstance(exc, OSError) and exc.errno is not None:
        what = f"{errno.errorcode.get(exc.errno, exc.errno)}: {exc.strerror or ''}".rstrip(": ")
        return f"{name} ({what}{f', {exc.filename}' if exc.filename else ''})"
    return name


def delivery_error(sink: str, exc: BaseException, fix: str = "") -> AlertDeliveryError:
    """``exc``, raised by ``sink`` (named as a person finds it: a path, a bucket, a channel) while
    delivering, as an :class:`AlertDeliveryError` classified by :func:`is_transient`."""
    if isinstance(exc, AlertDeliveryError):
        return exc
    return AlertDeliveryError(
        f"{sink} could not take the alert: {describe_error(exc)}", is_transient(exc), fix
    )


class AlertSink(Protocol):
    def send_all(self, alerts: list[Alert]) -> None:
        """The alerts of one event (a run and its failed checks), delivered together."""
        ...


def _log_delivered(alerts: list[Alert]) -> None:
    """A console line per alert a log sink has stored."""
    for alert in alerts:
        log.warning("ALERT %s", alert.render().replace("\n", " | "))


class LocalAlertLog:
    """JSON lines appended to a file, and a line on the console. A write that fails is an
    :class:`AlertDeliveryError` naming the file: transient only for the errno values a later attempt
    can get past (``TRANSIENT_ERRNOS``); a folder that is missing, read-only or full needs a person."""

    _lock = threading.Lock()

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def send_all(self, alerts: list[Alert]) -> None:
        if not alerts:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._lock, self.path.open("a", encoding="utf-8") as fh:
                fh.write("".join(alert.to_json() + "\n" for alert in alerts))  # one event, one write
        except OSError as exc:
            raise delivery_error(
                f"the alert log {self.path}",
                exc,
                "check that its folder exists, is writable and has space (the log is "
                "$NBA_ASSETS_DATA_DIR/alerts.log)",
            ) from None
        _log_delivered(alerts)

    def send(self, alert: Alert) -> None:
        self.send_all([alert])

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]


ALERTS_PREFIX = "alerts"


class ObjectStoreAlertLog:
    """Alerts as JSON lines in the object store, one object per delivered batch (GCS has no append):
    ``alerts/<UTC date>/<UTC time>-<id>.jsonl``, and a line on the console. Every process and pod of a
    deployment writes to the same place, and nothing is lost when a pod goes. An object store still
    failing after its client's retries is a transient delivery error (the sensor keeps its cursor and
    tries again on its next tick); a refusal (HTTP 403 or 404: the bucket is gone or the service
    account may not write ``alerts/``) needs a person (:func:`is_transient`)."""

    def __init__(self, store: ObjectStore, prefix: str = ALERTS_PREFIX) -> None:
        self.store = store
        self.prefix = prefix

    def send_all(self, alerts: list[Alert]) -> None:
        if not alerts:
            return
        now = datetime.now(UTC)
        key = f"{self.prefix}/{now:%Y-%m-%d}/{now:%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:12]}.jsonl"
        body = "".join(alert.to_json() + "\n" for alert in alerts).encode()
        try:
            self.store.put_bytes(key, body, "application/x-ndjson")
        except StoreUnavailableError as exc:
            raise AlertDeliveryError(
                f"the alert log {self._where()}: object store unavailable: {exc}", transient=True
            ) from None
        except Exception as exc:
            raise delivery_error(
                f"the alert log {self._where()}",
                exc,
                "check that the bucket (NBA_ASSETS_GCS_BUCKET) exists and that the service account may "
                f"create objects under {self.prefix}/",
            ) from None
        _log_delivered(alerts)

    def _where(self) -> str:
        try:
            return self.store.uri(self.prefix)
        except Exception:  # a prefix the store refuses: named as it is
            return repr(self.prefix)

    def read(self) -> list[dict[str, Any]]:
        """Every alert logged, oldest first."""
        return [
            json.loads(line)
            for key in sorted(self.store.list_keys(self.prefix))
            if key.endswith(".jsonl")
            for line in self.store.get_bytes(key).decode().splitlines()
            if line.strip()
        ]


# Slack Web API error codes that a later attempt can get past; every other code (invalid_auth,
# token_revoked, channel_not_found, not_in_channel, missing_scope, ...) needs a person.
SLACK_TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
SLACK_FIX = "check SLACK_BOT_TOKEN, NBA_ASSETS_SLACK_CHANNEL and that the bot is in that channel"
SLACK_TIMEOUT_SECONDS = 10  # per call: a sensor tick must finish well inside Dagster's 60 s
# The longest ``Retry-After`` a send waits out (slack_sdk sleeps it plus up to 1 s, then posts once
# more). A send then takes at most 10 + 11 + 10 s, inside the alerts sensor's budget (policy.
# ALERTS_TICK_BUDGET): a longer wait would outlive Dagster's 60 s sensor timeout, and a tick that times
# out stores no cursor, so what it had already posted went out again.
SLACK_MAX_RETRY_AFTER_SECONDS = 10
SLACK_MAX_TEXT = 39_000  # chat.postMessage truncates past 40,000 characters


def retry_after(headers: Mapping[str, Any]) -> str | None:
    """The ``Retry-After`` header's value (any case; slack_sdk's retry hooks hold header values as
    lists), None when absent."""
    for name, value in headers.items():
        if name.lower() == "retry-after":
            return str(value[0] if isinstance(value, list | tuple) and value else value).strip()
    return None


class CappedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """slack_sdk's HTTP 429 handler (sleep ``Retry-After`` plus up to 1 s, then try again), only for a
    ``Retry-After`` of whole seconds up to ``max_wait``. A longer (or unreadable) one is not waited for:
    the 429 reaches :class:`SlackAlerts`, which fails the send as transient and the sensor sends the
    alert again on a later tick (its cursor stays before it)."""

    def __init__(self, max_wait: int = SLACK_MAX_RETRY_AFTER_SECONDS, max_retry_count: int = 1) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or not super()._can_retry(
            state=state, request=request, response=response, error=error
        ):
            return False
        value = retry_after(response.headers)
        return value is not None and value.isdigit() and int(value) <= self.max_wait


def slack_client(client: WebClient) -> WebClient:
    """dagster-slack's client, bounded: 10 s per call, and one wait on HTTP 429 when its ``Retry-After``
    is at most SLACK_MAX_RETRY_AFTER_SECONDS; by default slack_sdk retries only connection errors, so a
    rate limit failed the delivery at once, and its own 429 handler sleeps whatever Retry-After says."""
    client.timeout = SLACK_TIMEOUT_SECONDS
    client.retry_handlers.append(CappedRateLimitRetryHandler())
    return client


_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")


def slack_escaped(text: str) -> str:
    """``text`` with Slack's control characters as the entities its formatting docs ask for (&amp;
    &lt; &gt;): alert texts carry check metadata, book-supplied names and dbt output, where a ``<``
    would start a link or a mention (``<!channel>``) instead of showing. The mrkdwn the alerts use
    (``*bold*``, backticks) is not touched."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackAlerts:
    """Posts to a Slack channel through a ``slack_sdk.WebClient`` (from dagster-slack's SlackResource).
    One event's alerts go out as one message, so a failure part-way can never repeat half a batch."""

    def __init__(self, client: WebClient, channel: str) -> None:
        self.client = client
        self.channel = channel

    def send_all(self, alerts: list[Alert]) -> None:
        if not alerts:
            return
        text = slack_escaped("\n\n".join(a.render() for a in alerts))
        if len(text) > SLACK_MAX_TEXT:
            # not inside an entity: a cut "&lt;" would show a stray "&l"
            text = (
                _PARTIAL_ENTITY.sub("", text[: SLACK_MAX_TEXT - 40]) + "\n... (cut: see the run in Dagster)"
            )
        try:
            self.client.chat_postMessage(channel=self.channel, text=text)
        except SlackApiError as exc:
            if exc.response.status_code == 429:  # not waited for (slack_client), or still limited after
                wait = retry_after(exc.response.headers or {})
                raise AlertDeliveryError(
                    f"Slack rate-limited the alert to channel {self.channel} (HTTP 429, Retry-After: "
                    f"{wait[:40] if wait is not None else 'not given'}); a send waits at most "
                    f"{SLACK_MAX_RETRY_AFTER_SECONDS} s and once, so the alert is held for a later try",
                    transient=True,
                    fix=SLACK_FIX,
                ) from None
            code = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
            transient = code in SLACK_TRANSIENT_ERRORS or exc.response.status_code >= 500
            raise AlertDeliveryError(f"Slack refused the alert: {code}", transient, SLACK_FIX) from None
        except OSError as exc:  # URLError, timeouts, refused or reset connections
            raise AlertDeliveryError(
                f"Slack unreachable: {type(exc).__name__}", transient=True, fix=SLACK_FIX
            ) from None
        except Exception as exc:  # anything else slack_sdk raises: classified, never its text
            raise delivery_error(f"Slack (channel {self.channel})", exc, SLACK_FIX) from None


def check_dict(
    asset: str, check: str, severity: str, partition: str | None, metadata: dict[str, Any]
) -> dict[str, Any]:
    return {
        "asset": asset,
        "check": check,
        "severity": severity,
        "partition": partition or "",
        "metadata": {k: _plain(v) for k, v in metadata.items()},
    }


def _plain(value: Any) -> Any:
    inner = getattr(value, "value", value)
    if isinstance(inner, str | int | float | bool) or inner is None:
        return inner if not isinstance(inner, str) or len(inner) < 200 else inner[:197] + "..."
    return str(inner)[:200]
