"""Post enrichment: sentiment now; language, intent and entities as they arrive."""
