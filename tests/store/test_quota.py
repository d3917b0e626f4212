"""Maildir++ quota: `maildirsize` read, appended to, and rebuilt from the mailbox
whenever the specification says so, in the format Dovecot reads and writes."""

from __future__ import annotations

import io
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailroom.store import (
    Maildir,
    check_quota,
    current_usage,
    parse_maildirsize,
    record_delivery,
)
from mailroom.store.quota import scan_usage


def deliver(maildir: Maildir, size: int) -> Path:
    return maildir.deliver(io.BytesIO(b"x" * size))


def test_a_missing_maildirsize_is_built_from_the_mailbox(tmp_path: Path) -> None:
    maildir = Maildir(tmp_path, hostname="h")
    deliver(maildir, 100)
    deliver(maildir.create_folder("Sent"), 50)

    assert check_quota(tmp_path, limit=1000, incoming_size=850)
    assert (tmp_path / "maildirsize").read_text() == "1000S\n150 2\n"


def test_a_message_that_would_pass_the_limit_does_not_fit(tmp_path: Path) -> None:
    deliver(Maildir(tmp_path, hostname="h"), 100)
    assert check_quota(tmp_path, limit=1000, incoming_size=900)
    assert not check_quota(tmp_path, limit=1000, incoming_size=901)


def test_no_limit_means_everything_fits_and_no_file_is_made(tmp_path: Path) -> None:
    assert check_quota(tmp_path, limit=None, incoming_size=10**12)
    assert not (tmp_path / "maildirsize").exists()


def test_deliveries_are_appended_and_summed(tmp_path: Path) -> None:
    Maildir(tmp_path).create()
    check_quota(tmp_path, limit=1000, incoming_size=0)
    record_delivery(tmp_path, 300)
    record_delivery(tmp_path, 200)

    assert (tmp_path / "maildirsize").read_text() == "1000S\n0 0\n300 1\n200 1\n"
    usage = current_usage(tmp_path, 1000)
    assert (usage.used_bytes, usage.used_messages) == (500, 2)
    assert not check_quota(tmp_path, limit=1000, incoming_size=501)


def test_dovecot_lines_with_expunges_and_a_message_limit_are_read(tmp_path: Path) -> None:
    (tmp_path / "maildirsize").write_text("1000S,10C\n400 4\n-100 -1\n  25   1 \n")
    usage = current_usage(tmp_path, 1000)
    assert (usage.bytes_limit, usage.messages_limit) == (1000, 10)
    assert (usage.used_bytes, usage.used_messages) == (325, 4)


def test_a_file_past_5120_bytes_is_rebuilt(tmp_path: Path) -> None:
    maildir = Maildir(tmp_path, hostname="h")
    deliver(maildir, 70)
    (tmp_path / "maildirsize").write_text("1000S\n" + "1 1\n" * 1300)

    usage = current_usage(tmp_path, 1000)

    assert (usage.used_bytes, usage.used_messages) == (70, 1)
    assert (tmp_path / "maildirsize").read_text() == "1000S\n70 1\n"


def test_a_garbled_file_is_rebuilt(tmp_path: Path) -> None:
    deliver(Maildir(tmp_path, hostname="h"), 70)
    (tmp_path / "maildirsize").write_bytes(b"1000S\n12 1\n\x00garbage")
    assert current_usage(tmp_path, 1000).used_bytes == 70


def test_a_changed_limit_rewrites_the_first_line(tmp_path: Path) -> None:
    deliver(Maildir(tmp_path, hostname="h"), 70)
    check_quota(tmp_path, limit=1000, incoming_size=0)
    check_quota(tmp_path, limit=2000, incoming_size=0)
    assert (tmp_path / "maildirsize").read_text() == "2000S\n70 1\n"


def test_sizes_come_from_s_in_names_and_stat_otherwise(tmp_path: Path) -> None:
    Maildir(tmp_path).create()
    (tmp_path / "cur" / "1.M1P1Q1.h,S=1234,W=1300:2,S").write_bytes(b"short")
    (tmp_path / "cur" / "2.M1P1Q2.h:2,").write_bytes(b"x" * 40)  # no S=: stat
    (tmp_path / "new" / "3.M1P1Q3.h,S=10").write_bytes(b"")
    (tmp_path / "tmp" / "4.M1P1Q4.h").write_bytes(b"x" * 999)  # not delivered yet
    assert scan_usage(tmp_path) == (1234 + 40 + 10, 3)


@settings(deadline=None, max_examples=500)
@given(
    st.binary(max_size=300) | st.text(alphabet="0123456789SC, -\n\t", max_size=60).map(str.encode)
)
def test_the_parser_never_crashes(data: bytes) -> None:
    parsed = parse_maildirsize(data)
    if parsed is not None:
        assert parsed.used_bytes >= 0 and parsed.used_messages >= 0


@settings(
    deadline=None, max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.binary(max_size=300) | st.text(alphabet="0123456789S, -\n", max_size=60).map(str.encode)
)
def test_whatever_the_file_says_the_check_answers(tmp_path: Path, data: bytes) -> None:
    maildir = Maildir(tmp_path, hostname="h")
    maildir.create()
    (tmp_path / "maildirsize").write_bytes(data)
    usage = current_usage(tmp_path, 5000)
    if parse_maildirsize(data) is None:
        assert (usage.used_bytes, usage.used_messages) == scan_usage(tmp_path)
    assert parse_maildirsize((tmp_path / "maildirsize").read_bytes()) is not None
