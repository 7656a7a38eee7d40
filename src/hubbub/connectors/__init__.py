"""One package per network. Importing the package registers its formats and normalisers;
its ``source`` module registers the live connector (see :func:`load_sources`)."""

from __future__ import annotations


def load_ingest_plugins() -> None:
    """Import every connector's normalisers and the ingest stages: what a prepare worker needs.

    Entry points call :func:`hubbub.runtime.load_connectors`, which adds the rest; a worker
    process runs this alone, since each import here is start-up time before it can help.
    """
    import importlib
    import pkgutil

    import hubbub.listening.stage  # noqa: F401 - the listening ingest stage registers itself

    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


def load_sources() -> None:
    """Import every connector's ``source`` module, which registers its live connector.

    Kept out of :func:`load_ingest_plugins`: the network clients these import cost a prepare
    worker ~0.15 s of start-up and it never connects anywhere.
    """
    import importlib
    import importlib.util
    import pkgutil

    for module in pkgutil.iter_modules(__path__):
        name = f"{__name__}.{module.name}.source"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
