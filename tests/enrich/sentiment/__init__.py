"""Tests of the default-tier sentiment scorer."""
