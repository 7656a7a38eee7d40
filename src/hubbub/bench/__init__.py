"""Benchmark runners behind ``hubbub bench``; each prints one JSON object."""

from __future__ import annotations

import os
import platform
import sqlite3
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    """What a figure was measured on: the CPU model (machines of one class differ between
    sessions), cores, versions and the load average when this is called."""
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
