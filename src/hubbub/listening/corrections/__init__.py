"""Analysts' corrections of sentiment and intents, and the per-workspace calibration fitted
from them (docs/sentiment.md, "Corrections and calibration")."""
