"""``hubbub import``, ``posts`` and ``deadletters`` as a user runs them."""

from __future__ import annotations

import gzip
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from hubbub.settings import get_settings
from tests.cli.conftest import Invoke
from tests.connectors.bluesky.events import commit_event, recorded_path
from tests.support.data import shared_path
from tests.support.factories import jsonl_line

WHEN = "2026-07-04T14:38:06.240Z"


def _write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_import_is_idempotent_and_summarised(hubbub: Invoke, tmp_path: Path) -> None:
    source = _write(tmp_path / "posts.jsonl", [jsonl_line(n) for n in range(30)] + [b"{oops"])
    first = hubbub("import", str(source), "--format", "jsonl")
    assert first.output.startswith("events 31: ")  # no progress bar's line when not a terminal
    assert "accepted 30, duplicate 0" in first.output and "rejected 1" in first.output
    assert "not kept 0" in first.output  # a workspace without topics keeps everything
    again = hubbub("import", str(source), "--format", "jsonl")
    assert "accepted 0, duplicate 30" in again.output
    assert hubbub("posts", "--count").output.strip() == "30"
    letters = hubbub("deadletters", "list")
    assert "invalid_json: 1" in letters.output


def _counts(output: str, line: str) -> dict[str, int]:
    """The numbers of one summary line, by the word before them (``accepted 3``)."""
    text = next(part for part in output.splitlines() if part.strip().startswith(line))
    return {word: int(n) for word, n in re.findall(r"([a-z-]+) (\d+)", text)}


def test_reimport_counts_every_event_once(hubbub: Invoke) -> None:
    """Likes, reposts, follows, deletes and profile events of a real Jetstream capture: the
    same file again is all duplicates, and both summaries add up to the events read."""
    capture = str(recorded_path("expected_v1.jsonl"))
    first = hubbub("import", capture, "--format", "jetstream").output
    again = hubbub("import", capture, "--format", "jetstream").output
    for output in (first, again):
        top = _counts(output, "events")
        outcomes = ("accepted", "duplicate", "updated", "kept", "rejected")
        assert sum(top[word] for word in outcomes) == top["events"], output
    new, old = _counts(first, "posts"), _counts(again, "posts")
    assert new["interactions"] > 0 and new["deletes"] > 0
    assert _counts(again, "events")["accepted"] == _counts(again, "events")["updated"] == 0
    assert old["interactions"] == 0 and old["deletes"] == 0
    assert re.search(rf"interactions 0 new, {new['interactions']} duplicate", again), again
    assert re.search(rf"deletes 0 new, {new['deletes']} duplicate", again), again


def test_jsonl_export_round_trips(hubbub: Invoke, tmp_path: Path) -> None:
    # More posts than a table shows, some sharing a time; one is deleted later.
    lines = [
        jsonl_line(
            n,
            mentions=["did:plc:bruno0000000000000000000"],
            likes=n,
            reply_to="bluesky:amira:0" if n else None,
            media=["image"],
            created_at=f"2026-07-04T12:{n // 3:02d}:00+00:00",
        )
        for n in range(26)
    ]
    hubbub("import", str(_write(tmp_path / "in.jsonl", lines)), "--format", "jsonl")
    gone = _write(tmp_path / "gone.jsonl", [jsonl_line(25, deleted_at="2026-07-05T08:00:00Z")])
    hubbub("import", str(gone), "--format", "jsonl")
    # An export writes every post unless --limit says otherwise (a table shows 20).
    exported = hubbub("posts", "--format", "jsonl", "--deleted").stdout_bytes
    (tmp_path / "out.jsonl").write_bytes(exported)
    assert len(exported.splitlines()) == 26
    assert sum(b'"deleted_at"' in line for line in exported.splitlines()) == 1
    assert len(hubbub("posts", "--format", "jsonl", "--limit", "7").stdout_bytes.splitlines()) == 7
    hubbub("init", "--workspace", "copy")
    hubbub("import", str(tmp_path / "out.jsonl"), "--format", "jsonl", "--workspace", "copy")

    def live(workspace: str) -> list[bytes]:
        found = hubbub("posts", "--format", "jsonl", "--workspace", workspace).stdout_bytes
        return sorted(found.splitlines())

    assert live("copy") == live("default") and len(live("copy")) == 25
    # The deleted post arrives as its deletion: the copy never shows it, even if it comes again.
    hubbub("import", str(tmp_path / "in.jsonl"), "--format", "jsonl", "--workspace", "copy")
    assert hubbub("posts", "--count", "--workspace", "copy").output.strip() == "25"


def test_posts_filters(hubbub: Invoke, tmp_path: Path) -> None:
    lines = [jsonl_line(n, network="bluesky") for n in range(4)]
    lines += [
        jsonl_line(n, network="mastodon", author="chen", text=f"Globex toot {n}") for n in range(3)
    ]
    hubbub("import", str(_write(tmp_path / "mixed.jsonl", lines)), "--format", "jsonl")
    assert hubbub("posts", "--count", "--network", "mastodon").output.strip() == "3"
    assert hubbub("posts", "--count", "--author", "@chen@mastodon.example").output.strip() == "3"
    assert hubbub("posts", "--count", "--author", "Chen@Mastodon.example").output.strip() == "3"
    assert hubbub("posts", "--count", "--contains", "GLOBEX").output.strip() == "3"
    assert hubbub("posts", "--count", "--since", "2026-07-04T12:02:00Z").output.strip() == "3"
    bad = hubbub("posts", "--since", "last tuesday", ok=False)
    assert bad.exit_code != 0 and "ISO 8601" in bad.output


def test_markup_in_posts_is_shown_as_text(hubbub: Invoke, tmp_path: Path) -> None:
    hostile = "[bold red]pwned[/] <script>alert(1)</script>"
    hubbub(
        "import",
        str(_write(tmp_path / "x.jsonl", [jsonl_line(1, text=hostile)])),
        "--format",
        "jsonl",
    )
    assert "[bold red]pwned[/]" in hubbub("posts").output


def test_csv_import_with_a_bad_row(hubbub: Invoke, tmp_path: Path) -> None:
    csv_file = tmp_path / "posts.csv"
    csv_file.write_bytes(
        b"network,native_id,author,created_at,text,hashtags\n"
        b'rss,https://blog.example/1,https://blog.example/#author:ann,2026-07-01T10:00:00Z,"Hello, world",acme|launch\n'
        b"rss,https://blog.example/2,ann,not-a-date,Broken date,\n"
        b'rss,https://blog.example/3,ann,2026-07-01T11:00:00Z,"multi\nline",\n'
        b"rss,https://blog.example/4,ann,2026-07-01T11:00:00Z,latin1 \xe9t\xe9,\n"
    )
    result = hubbub("import", str(csv_file), "--format", "csv")
    assert "accepted 2" in result.output
    assert "bad_timestamp" in result.output and "invalid_utf8" in result.output


def _csv_row(n: int, text: str) -> bytes:
    quoted = '"' + text.replace('"', '""') + '"'
    return f"bluesky,post-{n},ann,2026-07-01T10:00:{n:02d}Z,{quoted}".encode()


def test_csv_records_of_every_size_import_or_are_kept_whole(
    hubbub: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A field past the csv module's 128 KB default imports; a row over the payload limit is
    kept whole and says its line; a line past the dead-letter share is cut and says so; a record
    the csv module cannot read (a field past that share) is kept with why; blank lines inside quotes stay; and every row
    after each of them still imports. None of these used to get past the first: the import
    stopped with a traceback and stored nothing."""
    monkeypatch.setenv("HUBBUB_MAX_PAYLOAD_BYTES", "300000")
    monkeypatch.setenv("HUBBUB_DEAD_LETTER_MAX_BYTES", "500000")
    many_lines = "\n".join(["y" * 100_000] * 6)  # each line fits; the field (600 KB) does not
    rows = [
        b"network,native_id,author,created_at,text",
        _csv_row(1, "x" * 200_000),
        _csv_row(2, "w" * 400_000),
        _csv_row(3, "v" * 600_000),
        _csv_row(4, "para one\n\npara two"),
        _csv_row(5, many_lines),
        b"bluesky,post-7,ann,2026-07-01T10:00:07Z,a carriage\rreturn, unquoted",
        _csv_row(6, "last"),
    ]
    source = _write(tmp_path / "sizes.csv", rows)
    result = hubbub("import", str(source), "--format", "csv")
    assert "accepted 3" in result.output, result.output
    # Rows 2 and 3, and the part of row 5 read until its field passed the dead-letter share;
    # row 5's last line is then a row of its own, and lacks fields.
    assert "rejected 3 × too_large" in result.output
    assert "rejected 1 × missing_field" in result.output
    assert "rejected 1 × bad_csv" in result.output
    exported = hubbub("posts", "--format", "jsonl").output
    assert '"text":"para one\\n\\npara two"' in exported and '"text":"last"' in exported
    assert f'"text":"{"x" * 200_000}"' in exported
    whole = hubbub("deadletters", "show", "1").output  # row 2: over the limit, kept whole
    assert "'line': '3'" in whole and "cut when stored" not in whole
    cut = hubbub("deadletters", "show", "2").output  # row 3: past the dead-letter share
    assert "'line': '4'" in cut and "(cut when stored)" in cut
    unreadable = hubbub("deadletters", "show", "3").output
    assert "'line': '8'" in unreadable and "field larger than field limit" in unreadable
    assert "'line': '13'" in hubbub("deadletters", "show", "4").output
    assert (
        "line 14: new-line character seen in unquoted field"
        in hubbub("deadletters", "show", "5").output
    )
    monkeypatch.setenv("HUBBUB_MAX_PAYLOAD_BYTES", "1000000")
    get_settings.cache_clear()
    assert "stored 1" in hubbub("deadletters", "replay", "1").output
    assert hubbub("posts", "--count").output.strip() == "4"


def test_nul_characters_are_dropped_not_fatal(hubbub: Invoke, tmp_path: Path) -> None:
    """JSON may spell out a NUL (``\\u0000``), and a CSV cell or a sloppy feed may hold one;
    PostgreSQL text cannot, so one such post used to fail its whole batch with a traceback."""
    record = {"$type": "app.bsky.feed.post", "text": "zero\x00width", "createdAt": WHEN}
    jetstream = commit_event("app.bsky.feed.post", record)
    lines = [jsonl_line(1, text="nul\x00here"), orjson.dumps(jetstream)]
    hubbub("import", str(_write(tmp_path / "a.jsonl", lines[:1])), "--format", "jsonl")
    hubbub("import", str(_write(tmp_path / "b.jsonl", lines[1:])), "--format", "jetstream")
    row = b"bluesky,post-1,ann,2026-07-01T10:00:00Z,cell\x00nul"
    source = _write(tmp_path / "c.csv", [b"network,native_id,author,created_at,text", row])
    hubbub("import", str(source), "--format", "csv")
    feed = tmp_path / "d.xml"
    feed.write_bytes(
        b'<?xml version="1.0"?><rss version="2.0"><channel><link>https://blog.example/</link>'
        b"<item><title>A\x00b &#0;c</title><link>https://blog.example/1</link><guid>g1</guid>"
        b"<author>ann\x00@blog.example</author></item></channel></rss>"
    )
    hubbub("import", str(feed), "--format", "feed")
    exported = hubbub("posts", "--format", "jsonl").output
    texts = {orjson.loads(line)["text"] for line in exported.splitlines()}
    assert {"nulhere", "zerowidth", "cellnul", "Ab c"} <= texts
    assert "pending by reason: none" in hubbub("deadletters", "list").output


def test_deadletters_show_and_replay(hubbub: Invoke, tmp_path: Path) -> None:
    hubbub("import", str(_write(tmp_path / "bad.jsonl", [b'{"v": 2}'])), "--format", "jsonl")
    shown = hubbub("deadletters", "show", "1")
    assert "unknown_version" in shown.output
    replayed = hubbub("deadletters", "replay", "--all")
    assert "still refused 1" in replayed.output
    missing = hubbub("deadletters", "show", "999", ok=False)
    assert missing.exit_code == 1
    # An unknown id is reported and counted as such, and fails the command; an id named and
    # also pending runs once.
    unknown = hubbub("deadletters", "replay", "999", "1", ok=False)
    assert unknown.exit_code == 1
    assert "replayed 1: stored 0, still refused 1, not found 1" in unknown.output
    both = hubbub("deadletters", "replay", "1", "--all")
    assert "replayed 1: stored 0, still refused 1" in both.output
    none = hubbub("deadletters", "replay", "--all", "--reason", "nosuch")
    assert "no pending dead letters with reason nosuch" in none.output


def test_source_add_validates_and_lists(hubbub: Invoke) -> None:
    hubbub("source", "add", "bluesky", "firehose", "--set", "collections=app.bsky.feed.post")
    listing = hubbub("source", "list")
    assert "firehose" in listing.output
    dup = hubbub("source", "add", "bluesky", "firehose", ok=False)
    assert dup.exit_code == 1
    unknown = hubbub("source", "add", "myspace", "x", ok=False)
    assert "unknown connector" in unknown.output
    hubbub("source", "remove", "firehose")
    assert "firehose" not in hubbub("source", "list").output


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("feeds/acme", "a slash"),
        ("tab\there", "a control character"),
        ("", "1-100 characters"),
        ("x" * 101, "1-100 characters"),
        ("bell\x07", "a control character"),
        ("../up", "a slash"),
        (" acme", "starts or ends with a space"),
    ],
)
def test_source_add_refuses_odd_names(hubbub: Invoke, name: str, why: str) -> None:
    hubbub("init")
    refused = hubbub("source", "add", "rss", name, "--set", "url=https://a.example/f", ok=False)
    assert refused.exit_code == 1
    assert why in " ".join(refused.output.split())
    assert "rss" not in hubbub("source", "list").output
    # The web form's kind of name, spaces included, is taken as everywhere.
    hubbub("source", "add", "rss", "Acme blog", "--set", "url=https://a.example/f")
    assert "Acme blog" in hubbub("source", "list").output


def test_source_add_names_the_known_connectors(hubbub: Invoke) -> None:
    hubbub("source", "add", "rss", "acme-blog.v2_1", "--set", "url=https://a.example/f")
    unknown = hubbub("source", "add", "myspace", "x", ok=False)
    assert unknown.exit_code == 1
    assert "unknown connector 'myspace'; known: bluesky, hackernews, mastodon, rss" in " ".join(
        unknown.output.split()
    )
    assert "acme-blog.v2_1" in hubbub("source", "list").output


def test_an_oversize_line_is_refused_alone(hubbub: Invoke, tmp_path: Path) -> None:
    huge = jsonl_line(99, text="z" * 3_000_000)  # three times the default 1 MB limit
    source = _write(tmp_path / "mixed.jsonl", [jsonl_line(1), huge, jsonl_line(2)])
    result = hubbub("import", str(source), "--format", "jsonl")
    assert "accepted 2" in result.output
    assert "rejected 1 × too_large" in result.output
    assert hubbub("posts", "--count").output.strip() == "2"
    # The letter keeps the whole line (within HUBBUB_DEAD_LETTER_MAX_BYTES), its size and
    # where it was, so it imports once the limit is raised.
    letter = hubbub("deadletters", "show", "1").output
    assert f"size: {len(huge)} bytes\n" in letter  # whole, not cut when stored
    assert "'line': '2'" in letter
    assert hubbub("deadletters", "show", "1", "--raw").stdout_bytes == huge


def test_a_line_longer_than_a_dead_letter_is_cut_and_says_so(
    hubbub: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUBBUB_DEAD_LETTER_MAX_BYTES", "2000000")
    huge = jsonl_line(99, text="z" * 3_000_000)
    source = _write(tmp_path / "huge.jsonl", [jsonl_line(1), huge])
    hubbub("import", str(source), "--format", "jsonl")
    letter = hubbub("deadletters", "show", "1").output
    assert f"payload of {len(huge)} bytes" in letter  # its true size, not the part read
    assert "(cut when stored)" in letter
    monkeypatch.setenv("HUBBUB_MAX_PAYLOAD_BYTES", "4000000")
    get_settings.cache_clear()
    replayed = hubbub("deadletters", "replay", "1", ok=False)
    assert "cut when stored" in replayed.output
    assert hubbub("posts", "--count").output.strip() == "1"


def test_a_document_too_large_to_read_is_refused_whole_from_a_file_or_a_pipe(
    hubbub: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Past 64 payloads' worth a document is not read whole; its letter says its true size.
    monkeypatch.setenv("HUBBUB_MAX_PAYLOAD_BYTES", "1024")

    def document(marker: bytes) -> bytes:
        status = b'{"id": "1", "content": "' + marker * 900 + b'"}'
        return b"[" + b",".join([status] * 100) + b"]"

    named, piped = document(b"x"), document(b"y") + b" "  # two letters, not the same one twice
    assert min(len(named), len(piped)) > 64 * 1024
    (tmp_path / "statuses.json").write_bytes(named)
    from_file = hubbub("import", str(tmp_path / "statuses.json"), "--format", "mastodon").output
    from_pipe = hubbub("import", "-", "--format", "mastodon", input=piped).output
    for output in (from_file, from_pipe):
        counts = _counts(output, "events")
        assert (counts["events"], counts["accepted"], counts["rejected"]) == (1, 0, 1), output
    for number, whole in (("1", named), ("2", piped)):
        letter = hubbub("deadletters", "show", number).output
        assert f"payload of {len(whole)} bytes" in letter  # its true size, not the part read
    assert hubbub("posts", "--count").output.strip() == "0"


def test_a_refused_long_line_is_replayed_whole_after_the_limit_is_raised(
    hubbub: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    huge = jsonl_line(99, text="z" * 1_500_000)
    hubbub("import", str(_write(tmp_path / "long.jsonl", [huge])), "--format", "jsonl")
    assert hubbub("posts", "--count").output.strip() == "0"
    monkeypatch.setenv("HUBBUB_MAX_PAYLOAD_BYTES", "2000000")
    get_settings.cache_clear()
    assert "stored 1" in hubbub("deadletters", "replay", "1").output
    assert hubbub("posts", "--count").output.strip() == "1"
    # Stored once, a letter is not run again, whatever today's settings say.
    monkeypatch.delenv("HUBBUB_MAX_PAYLOAD_BYTES")
    get_settings.cache_clear()
    again = hubbub("deadletters", "replay", "1")
    assert "1: already stored" in again.output and "already stored 1" in again.output
    assert "pending by reason: none" in hubbub("deadletters", "list").output


def test_a_compressed_file_is_refused_with_what_to_do(hubbub: Invoke, tmp_path: Path) -> None:
    hubbub("init")
    packed = tmp_path / "posts.jsonl.gz"
    packed.write_bytes(gzip.compress(jsonl_line(1) + b"\n"))
    refused = hubbub("import", str(packed), "--format", "jsonl", ok=False)
    assert refused.exit_code == 2
    assert "gzip-compressed; decompress it first" in refused.output
    assert "pending by reason: none" in hubbub("deadletters", "list").output


def test_a_folder_imports_every_file_below_it_once(hubbub: Invoke, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    (folder / "more").mkdir(parents=True)
    (folder / ".hidden").mkdir()
    first = _write(folder / "a.jsonl", [jsonl_line(n) for n in range(10)])
    _write(folder / "more" / "b.jsonl", [jsonl_line(n) for n in range(10, 20)] + [b"{oops"])
    _write(folder / ".hidden" / "c.jsonl", [jsonl_line(n) for n in range(20, 30)])
    _write(folder / ".a.jsonl.swp", [b"not a post"])
    # A file named as well as inside a named folder is read once.
    imported = hubbub("import", str(folder), str(first), "--format", "jsonl").output
    assert "files 2" in imported
    assert "events 21: accepted 20, duplicate 0" in imported and "rejected 1" in imported
    again = hubbub("import", str(folder), "--format", "jsonl").output
    assert "accepted 0, duplicate 20" in again
    assert hubbub("posts", "--count").output.strip() == "20"
    letters = hubbub("deadletters", "list", "--reason", "invalid_json").output
    assert "b.jsonl" in hubbub("deadletters", "show", "1").output, letters


def test_a_folder_with_one_compressed_file_stores_nothing(hubbub: Invoke, tmp_path: Path) -> None:
    hubbub("init")
    _write(tmp_path / "a.jsonl", [jsonl_line(1)])
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress(jsonl_line(2) + b"\n"))
    refused = hubbub("import", str(tmp_path), "--format", "jsonl", ok=False)
    assert refused.exit_code == 2 and "b.jsonl.gz is gzip-compressed" in refused.output
    assert hubbub("posts", "--count").output.strip() == "0"


def test_a_path_that_cannot_be_read_stores_nothing(hubbub: Invoke, tmp_path: Path) -> None:
    # The tests run as root, who reads any file: a socket is a path that open() refuses.
    hubbub("init")
    good = _write(tmp_path / "a.jsonl", [jsonl_line(1)])
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind(str(tmp_path / "s"))
        refused = hubbub("import", str(good), str(tmp_path / "s"), "--format", "jsonl", ok=False)
    assert refused.exit_code == 1
    assert f"cannot read {tmp_path / 's'}: No such device or address" in refused.output
    assert hubbub("posts", "--count").output.strip() == "0"


def test_an_empty_folder_is_refused(hubbub: Invoke, tmp_path: Path) -> None:
    (tmp_path / "empty" / ".git").mkdir(parents=True)
    (tmp_path / "empty" / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    refused = hubbub("import", str(tmp_path / "empty"), "--format", "jsonl", ok=False)
    assert refused.exit_code == 1 and "no files to import in" in refused.output


def test_a_folder_of_feeds_in_odd_encodings(hubbub: Invoke) -> None:
    """feedparser's own feeds in eight legacy encodings, as one import: one event a file, and
    each feed's entries stored as when the file is imported alone."""
    folder = shared_path("feeds", "feedparser", "illformed", "chardet")
    files = sorted(folder.iterdir())
    together = hubbub("import", str(folder), "--format", "feed").output
    assert f"files {len(files)}" in together
    assert _counts(together, "events")["events"] == len(files)
    assert _counts(together, "events")["rejected"] == 0
    stored = int(hubbub("posts", "--count").output)
    assert stored > 0
    hubbub("init", "--workspace", "one-by-one")
    for path in files:
        hubbub("import", str(path), "--format", "feed", "--workspace", "one-by-one")
    alone = hubbub("posts", "--count", "--workspace", "one-by-one").output
    assert int(alone) == stored


def test_standard_input_imports_beside_files(hubbub: Invoke, tmp_path: Path) -> None:
    piped = b"\n".join(jsonl_line(n) for n in range(5)) + b"\n"
    named = _write(tmp_path / "more.jsonl", [jsonl_line(n) for n in range(5, 8)])
    imported = hubbub("import", "-", str(named), "--format", "jsonl", input=piped).output
    assert "files 2" in imported and "events 8: accepted 8" in imported
    again = hubbub("import", "-", "--format", "jsonl", input=piped + b"{oops\n").output
    assert "accepted 0, duplicate 5" in again and "rejected 1" in again
    assert "'file': '-'" in hubbub("deadletters", "show", "1").output


def test_compressed_standard_input_is_refused(hubbub: Invoke) -> None:
    hubbub("init")
    packed = gzip.compress(jsonl_line(1) + b"\n")
    refused = hubbub("import", "-", "--format", "jsonl", ok=False, input=packed)
    assert refused.exit_code == 2
    assert "standard input is gzip-compressed; decompress it first" in refused.output
    assert hubbub("posts", "--count").output.strip() == "0"


def test_a_pipe_into_the_real_command(db_url: str, tmp_path: Path) -> None:
    """The process's own standard input (not a test runner's), e.g. ``zcat … | hubbub import -``."""
    env = os.environ | {"HUBBUB_HOME": str(tmp_path / "home"), "HUBBUB_DATABASE_URL": db_url}
    lines = b"".join(
        line + b"\n" for line in recorded_path("expected_v1.jsonl").read_bytes().splitlines()
    )
    command = [sys.executable, "-m", "hubbub", "import", "-", "--format", "jetstream"]
    done = subprocess.run(
        command, input=lines, env=env, capture_output=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
    assert f"events {len(lines.splitlines())}: accepted 147" in done.stdout.decode()
    missing = subprocess.run(
        [*command[:4], str(tmp_path / "nowhere.jsonl"), "--format", "jsonl"],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert missing.returncode == 2 and b"nowhere.jsonl does not exist" in missing.stderr


def test_a_mistyped_workspace_is_refused_not_created(hubbub: Invoke, tmp_path: Path) -> None:
    source = _write(tmp_path / "posts.jsonl", [jsonl_line(1)])
    hubbub("import", str(source), "--format", "jsonl")  # the default workspace needs no init
    typo = hubbub("import", str(source), "--format", "jsonl", "--workspace", "acmme", ok=False)
    assert typo.exit_code == 1 and "no workspace 'acmme'" in typo.output
    added = hubbub("source", "add", "bluesky", "firehose", "--workspace", "acmme", ok=False)
    assert added.exit_code == 1
    hubbub("init", "--workspace", "acme")
    hubbub("import", str(source), "--format", "jsonl", "--workspace", "acme")
    assert hubbub("posts", "--count", "--workspace", "acme").output.strip() == "1"


def test_listen_to_a_source_that_does_not_exist_is_refused(hubbub: Invoke) -> None:
    hubbub("init")
    refused = hubbub("listen", "--source", "nosuch", "--for", "1", ok=False)
    assert refused.exit_code == 1 and "no source 'nosuch'" in refused.output
