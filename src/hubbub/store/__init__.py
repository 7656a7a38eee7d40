"""Database access: engine and session factory, the declarative Base, column types."""
