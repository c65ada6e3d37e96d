"""Alerts: one message per failed run (with the checks that failed in it) and one per failed check
of a successful run, to Slack when configured and to the local alert log (and console) otherwise.

The message text never contains a secret: it is built from run ids, asset keys, partitions, check
names and check metadata only.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

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


class AlertSink(Protocol):
    def send(self, alert: Alert) -> None: ...


class LocalAlertLog:
    """JSON lines appended to a file, and a line on the console."""

    _lock = threading.Lock()

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def send(self, alert: Alert) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(alert.to_json() + "\n")
        log.warning("ALERT %s", alert.render().replace("\n", " | "))

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]


class SlackAlerts:
    """Posts to a Slack channel through a ``slack_sdk.WebClient`` (from dagster-slack's SlackResource)."""

    def __init__(self, client: Any, channel: str) -> None:
        self.client = client
        self.channel = channel

    def send(self, alert: Alert) -> None:
        self.client.chat_postMessage(channel=self.channel, text=alert.render())


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
