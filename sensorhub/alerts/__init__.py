"""Alerts: decide when an alert fires or clears, and tell the channels."""
