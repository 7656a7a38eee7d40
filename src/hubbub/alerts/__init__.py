"""Alerts: streaming detectors that tell a team the moment something happens, and why."""
