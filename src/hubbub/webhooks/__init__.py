"""Outgoing webhooks: events written with the action that caused them, delivered signed."""
