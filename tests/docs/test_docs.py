"""Documentation that must not drift from the code."""

from __future__ import annotations

from pathlib import Path

from hubbub.settings import Settings, settings_markdown
from hubbub.sources.base import connectors

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_settings_page_is_generated_from_the_settings_class() -> None:
    page = (DOCS / "settings.md").read_text()
    assert page == settings_markdown(), (
        "regenerate: python -c 'from hubbub.settings import settings_markdown as m; print(m(), end=\"\")' > docs/settings.md"
    )


def test_every_setting_has_a_description() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description, name


def test_every_connector_has_a_page_naming_each_setting() -> None:
    for name in connectors.names():
        page = DOCS / "connectors" / f"{name}.md"
        assert page.exists(), f"docs/connectors/{name}.md is missing"
        text = page.read_text()
        for field_name in connectors.get(name).Config.model_fields:
            assert field_name in text, f"{name}: setting {field_name} is undocumented"
