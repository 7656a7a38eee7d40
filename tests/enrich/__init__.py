"""Tests of post enrichment."""
