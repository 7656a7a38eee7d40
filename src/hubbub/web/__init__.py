"""Hubbub's web app and JSON API (read-only for now; no accounts yet, so loopback only)."""
