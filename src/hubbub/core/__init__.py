"""Primitives every other package builds on; imports nothing else of Hubbub."""
