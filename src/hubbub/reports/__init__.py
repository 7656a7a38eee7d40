"""Scheduled and on-demand reports: sections of a workspace's period as HTML, PDF, XLSX and CSV."""
