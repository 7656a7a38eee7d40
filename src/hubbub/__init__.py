"""Hubbub: open-source social marketing platform."""
