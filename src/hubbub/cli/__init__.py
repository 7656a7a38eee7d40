"""The ``hubbub`` command; the command tree itself is assembled in :mod:`hubbub.cli.app`.

This module stays light on purpose: every process that multiprocessing starts with ``spawn``
(the ingest prepare worker, the benchmarks' children) runs the ``hubbub`` script again, which
imports it. Loading the whole tree there cost each such process ~2 s and ~60 MB.
"""

from __future__ import annotations

import sys


def main() -> None:
    from sqlalchemy.exc import DataError  # the command tree imports SQLAlchemy anyway

    from hubbub.cli.app import app
    from hubbub.core.errors import ConfigError

    try:
        app()
    except ConfigError as exc:
        # A setting that cannot work (HUBBUB_SENTIMENT_TIER=ml without the extra, say), met
        # wherever a command builds what needs it: one line, not a traceback.
        sys.stderr.write(f"error: {exc}\n")
        raise SystemExit(2) from None
    except OverflowError as exc:
        # An id, count or date beyond what the database or a date can hold (an id of 20 digits,
        # a period reaching before year 1): the input is refused, with Python's reason.
        sys.stderr.write(f"error: a number or date given is out of range ({exc})\n")
        raise SystemExit(2) from None
    except DataError as exc:
        # PostgreSQL's word for the same (SQLite's driver raises OverflowError before sending):
        # "bigint out of range". Its first line only: the rest is the statement.
        reason = str(exc.orig).splitlines()[0] if exc.orig else "refused by the database"
        sys.stderr.write(f"error: a number or date given is out of range ({reason})\n")
        raise SystemExit(2) from None
