"""Input a user may well type that once ended in a traceback or in the wrong place: each is
refused in one line with a non-zero exit, and nothing is created or written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hubbub.accounts.actions import AccountError, check_new_email
from tests.cli.conftest import Invoke

ROOT = Path(__file__).resolve().parents[2]


def test_a_mistyped_workspace_is_refused_by_the_alerts_commands_too(hubbub: Invoke) -> None:
    hubbub("init")
    for args in (("alerts", "playbook", "list"), ("alerts", "channel", "list")):
        refused = hubbub(*args, "-w", "typo1", ok=False)
        assert refused.exit_code == 1 and "no workspace 'typo1'" in refused.output
    # Not created behind the user's back: the other commands still do not know it.
    assert "no workspace 'typo1'" in hubbub("posts", "-w", "typo1", ok=False).output


def test_numbers_and_dates_out_of_range_are_refused_in_one_line(
    hubbub: Invoke, db_url: str, tmp_path: Path
) -> None:
    hubbub("init")
    env = dict(os.environ, HUBBUB_HOME=str(tmp_path / "home"), HUBBUB_DATABASE_URL=db_url)
    for args in (
        ("deadletters", "show", "99999999999999999999"),
        ("posts", "--limit", "1" + "0" * 30),
        ("token", "revoke", "99999999999999999999", "-w", "default"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "hubbub", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert done.stderr.startswith("error: a number or date given is out of range"), args
        assert "Traceback" not in done.stderr
    late = hubbub("posts", "--since", "9999-12-31T23:59:59-05:00", ok=False)
    assert late.exit_code == 1 and late.output.startswith("error: --since '9999-12-31T23:59:59")


def test_nan_and_huge_durations_are_refused(hubbub: Invoke) -> None:
    hubbub("init")
    for value in ("nan", "inf", "1e30", "-5", "0"):
        refused = hubbub("inbox", "scan", "--hours", value, ok=False)
        assert refused.exit_code == 2, (value, refused.output)
    assert hubbub("graph", "influencers", "--half-life-days", "nan", ok=False).exit_code == 2


def test_a_report_or_graph_that_cannot_be_written_says_why(hubbub: Invoke, tmp_path: Path) -> None:
    hubbub("init")
    folder = tmp_path / "a-folder"
    folder.mkdir()
    report = hubbub("report", "render", "-o", str(folder), "-f", "html", ok=False)
    assert report.exit_code == 1 and f"cannot write {folder}" in report.output
    taken = tmp_path / "taken.txt"
    taken.write_text("")
    csv = hubbub("report", "render", "-o", str(taken), "-f", "csv", ok=False)
    assert csv.exit_code == 1 and f"cannot write {taken}" in csv.output
    graph = hubbub("graph", "export", "--out", str(folder), ok=False)
    assert graph.exit_code == 2 and "bad_out" in graph.output and "folder" in graph.output


def test_a_binary_file_is_not_a_conversions_csv(hubbub: Invoke, tmp_path: Path) -> None:
    hubbub("init")
    binary = tmp_path / "orders.csv"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00" + b"\x00\r\x00a\rb,c" * 50)
    refused = hubbub("metrics", "conversions", "import", str(binary), ok=False)
    assert refused.exit_code != 0 and "not a CSV header" in refused.output
    early = tmp_path / "early.csv"
    early.write_text(
        "external_id,occurred_at,value\nc1,2026-07-01T00:00:00Z,10\n"
        "c8,0001-01-01T00:00:00+05:00,1\n"
    )
    mixed = hubbub("metrics", "conversions", "import", str(early), ok=False)
    assert mixed.exit_code == 1 and "accepted 1" in mixed.output and "line 3" in mixed.output


def test_control_characters_are_refused_in_e_mails_and_playbook_names(
    hubbub: Invoke, tmp_path: Path
) -> None:
    hubbub("init")
    with pytest.raises(AccountError, match="control character"):
        check_new_email("a\x01b@example.com")  # it looked like ab@example.com when printed
    playbook = tmp_path / "p.yaml"
    playbook.write_text(
        'name: "bell \\x07 ring"\ntrigger: {kind: volume_spike}\nactions:\n  - open_case:\n'
    )
    refused = hubbub("alerts", "playbook", "add", str(playbook), ok=False)
    assert refused.exit_code == 2 and "control characters" in refused.output


def test_a_file_given_as_the_sentiment_data_folder(hubbub: Invoke, tmp_path: Path) -> None:
    not_a_folder = tmp_path / "data.txt"
    not_a_folder.write_text("")
    refused = hubbub("sentiment", "crossval", "--data", str(not_a_folder), ok=False)
    assert refused.exit_code != 0 and "cannot be read" in refused.output


def test_an_account_server_is_an_http_url(hubbub: Invoke) -> None:
    hubbub("init")
    for server in ("file:///etc/passwd", "notaurl", "https://"):
        refused = hubbub(
            "inbox", "account", "mastodon", "https://m.example/@acme", "acme@m.example",
            "--server", server, ok=False,
        )  # fmt: skip
        assert refused.exit_code == 1 and "http(s) URL" in refused.output, server


def test_a_quarter_out_of_the_calendar_is_refused(hubbub: Invoke) -> None:
    hubbub("init")
    for args in (("goals", "add", "mentions", "5"), ("goals", "list")):
        refused = hubbub(*args, "--quarter", "9999-Q4", ok=False)
        assert refused.exit_code != 0 and "from 1900 to 9998" in refused.output, args


def test_a_demo_seed_beyond_64_bits_is_refused_before_anything_is_made(hubbub: Invoke) -> None:
    hubbub("init")
    refused = hubbub("demo", "--seed", "9" * 20, ok=False)
    assert refused.exit_code == 2 and "--seed" in refused.output
    assert "no workspace 'demo'" in hubbub("posts", "-w", "demo", ok=False).output
