"""Listening: topic rules (query language), their reference evaluator and the compiled matcher."""
