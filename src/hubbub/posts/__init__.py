"""Posts, authors and interactions: the normalised store every feature reads."""
