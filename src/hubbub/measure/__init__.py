"""Goals per KPI with progress and a quarter-end forecast, and the business case."""
