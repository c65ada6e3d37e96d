"""Automation: the schedules and sensors that make the pipeline run itself, and where alerts go.

``policy`` holds the decisions as pure functions (tested without Dagster), ``queries`` reads the
Dagster instance, ``schedules`` / ``sensors`` are thin declarations over both, ``resources`` is the
alert sink (Slack when configured, otherwise the alert log: a local file, or the object store in prod).
"""
