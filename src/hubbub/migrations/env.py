"""Alembic environment: runs against the engine handed over in ``config.attributes``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine, create_engine

from hubbub.migrations.models import metadata

# Raw-SQL objects of migration 0006 (FTS5, tsvector, partial indexes) that no model declares.
UNMODELLED_PREFIXES = ("search_", "ix_posts_search_", "ix_search_")


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Leave unmodelled search objects out of autogenerate, so ``alembic check`` sees no drift."""
    unmodelled = reflected and compare_to is None and type_ in ("table", "index")
    return not (unmodelled and (name or "").startswith(UNMODELLED_PREFIXES))


config = context.config
engine = config.attributes.get("engine")
if not isinstance(engine, Engine):
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,
    )
    context.run_migrations()
