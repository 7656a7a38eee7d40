"""Benchmark runners behind ``hubbub bench``; each prints one JSON object."""
