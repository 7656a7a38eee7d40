"""Interaction graph features: influence, communities, cascades and campaign seeding."""
