"""Sources: the connector contract, registries, safe fetching, the ingest service, dead letters."""
