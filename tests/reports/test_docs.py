"""docs/reports.md names every section and every ``hubbub report`` command."""

from __future__ import annotations

from pathlib import Path

from hubbub.reports.cli import report_app, schedule_app
from hubbub.reports.sections import SECTIONS

DOC = Path(__file__).resolve().parents[2] / "docs" / "reports.md"


def test_every_section_and_command_is_documented() -> None:
    text = DOC.read_text()
    for key in SECTIONS:
        assert f"`{key}`" in text, f"section {key} is undocumented"
    for command in report_app.registered_commands:
        assert f"hubbub report {command.name}" in text, command.name
    for command in schedule_app.registered_commands:
        assert f"hubbub report schedule {command.name}" in text, command.name
