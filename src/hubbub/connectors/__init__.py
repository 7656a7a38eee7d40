"""One package per network; each registers its normalisers and connector on import."""

from __future__ import annotations


def load_ingest_plugins() -> None:
    """Import every connector and the ingest stages: what an ingest prepare worker needs.

    Entry points call :func:`hubbub.runtime.load_connectors`, which adds the rest; a worker
    process runs this alone, since each import here is start-up time before it can help.
    """
    import importlib
    import pkgutil

    import hubbub.listening.stage  # noqa: F401 - the listening ingest stage registers itself

    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
