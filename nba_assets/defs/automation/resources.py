"""Where alerts go: Slack when the production environment names a channel, else an alert log: the local
file in the local environment, the object store (GCS) in prod."""

import dagster as dg
from dagster_slack import SlackResource

from nba_assets.defs.object_store_resource import ObjectStoreResource
from nba_assets.lib.alerts import (
    Alert,
    AlertSink,
    LocalAlertLog,
    ObjectStoreAlertLog,
    SlackAlerts,
    slack_client,
)
from nba_assets.lib.env import SLACK_BOT_TOKEN_VAR, Settings


class AlertsResource(dg.ConfigurableResource):
    """The alert sink of the sensors (failed checks and runs, exhausted catch-ups, daily summaries)."""

    def get_sink(self) -> AlertSink:
        raise NotImplementedError

    def send_all(self, alerts: list[Alert]) -> None:
        self.get_sink().send_all(alerts)


class LocalAlertsResource(AlertsResource):
    """JSON lines in the local alert log, and a warning on the console."""

    path: str

    def get_sink(self) -> AlertSink:
        return LocalAlertLog(self.path)


class ObjectStoreAlertsResource(AlertsResource):
    """JSON lines in the object store under ``alerts/`` (prod without a Slack channel): the alert sensors
    run in the code server's pod, whose local files nobody reads and a restart wipes."""

    object_store: ObjectStoreResource

    def get_sink(self) -> AlertSink:
        return ObjectStoreAlertLog(self.object_store.get_store())


class SlackAlertsResource(AlertsResource):
    """A Slack channel, through dagster-slack (the bot token stays a ``dg.EnvVar``)."""

    slack: SlackResource
    channel: str

    def get_sink(self) -> AlertSink:
        return SlackAlerts(slack_client(self.slack.get_client()), self.channel)


def alerts_resource(settings: Settings, object_store: ObjectStoreResource | None = None) -> AlertsResource:
    """Slack for ``prod`` with a channel (``NBA_ASSETS_SLACK_CHANNEL``); ``prod`` without one: the alert
    log in ``object_store`` (required then); ``local``: the local alert log file."""
    if settings.env == "prod" and settings.slack_channel:
        return SlackAlertsResource(
            slack=SlackResource(token=dg.EnvVar(SLACK_BOT_TOKEN_VAR)), channel=settings.slack_channel
        )
    if settings.env == "prod":
        if object_store is None:
            raise ValueError(
                "alerts_resource: prod without NBA_ASSETS_SLACK_CHANNEL logs alerts in the object store; "
                "pass the object_store resource"
            )
        return ObjectStoreAlertsResource(object_store=object_store)
    return LocalAlertsResource(path=str(settings.alert_log))
