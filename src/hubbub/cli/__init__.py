"""The ``hubbub`` command; the command tree itself is assembled in :mod:`hubbub.cli.app`.

This module stays light on purpose: every process that multiprocessing starts with ``spawn``
(the ingest prepare worker, the benchmarks' children) runs the ``hubbub`` script again, which
imports it. Loading the whole tree there cost each such process ~2 s and ~60 MB.
"""

from __future__ import annotations


def main() -> None:
    from hubbub.cli.app import app

    app()
