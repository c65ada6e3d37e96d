"""Where alerts go: Slack when the production environment names a channel, else the local alert log."""

import dagster as dg
from dagster_slack import SlackResource

from nba_assets.lib.alerts import Alert, AlertSink, LocalAlertLog, SlackAlerts, slack_client
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


class SlackAlertsResource(AlertsResource):
    """A Slack channel, through dagster-slack (the bot token stays a ``dg.EnvVar``)."""

    slack: SlackResource
    channel: str

    def get_sink(self) -> AlertSink:
        return SlackAlerts(slack_client(self.slack.get_client()), self.channel)


def alerts_resource(settings: Settings) -> AlertsResource:
    """Slack for ``prod`` with a channel (``NBA_ASSETS_SLACK_CHANNEL``), the local log otherwise."""
    if settings.env == "prod" and settings.slack_channel:
        return SlackAlertsResource(
            slack=SlackResource(token=dg.EnvVar(SLACK_BOT_TOKEN_VAR)), channel=settings.slack_channel
        )
    return LocalAlertsResource(path=str(settings.alert_log))
