"""``hubbub topic check``: prints the understood rule, or the error position and exit 1."""

from __future__ import annotations

from typer.testing import CliRunner

from hubbub.listening.cli import topic_app


def test_check_prints_the_parsed_rule() -> None:
    result = CliRunner().invoke(topic_app, ["check", 'Acmé "Acme Corp" OR globex* NOT lang:fr'])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == '(acme AND "acme corp") OR (globex* AND NOT lang:fr)'


def test_check_with_text() -> None:
    runner = CliRunner()
    yes = runner.invoke(topic_app, ["check", "acme NEAR/1 phone", "--text", "ACME's phone"])
    no = runner.invoke(topic_app, ["check", "acme NEAR/1 phone", "--text", "acmeville phone"])
    assert yes.stdout.splitlines()[-1] == "matches"
    assert no.stdout.splitlines()[-1] == "does not match"


def test_check_points_at_the_error() -> None:
    result = CliRunner().invoke(topic_app, ["check", "acme AND (beta OR"])
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == "acme AND (beta OR"
    assert lines[1].index("^") == 17
    assert "error: expected a term, phrase, field or '('" in lines[2]
    assert "at position 17" in lines[2]
