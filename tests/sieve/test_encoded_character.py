"""encoded-character (RFC 5228 §2.4.2.4)."""

from __future__ import annotations

from mailroom.sieve import SieveLimits, check_script
from mailroom.sieve.actions import FileInto
from tests.support.sieve_world import deliver, message


def test_hex_and_unicode_sequences_of_the_rfc() -> None:
    script = (
        r'require ["encoded-character", "fileinto"];'
        r' fileinto "${hex: 24 24}${unicode:40}${UNICODE:1F600}";'
    )
    assert deliver(script, message("S: x\n")).actions == (FileInto("$$@\U0001f600"),)


def test_malformed_sequences_stay_as_written() -> None:
    script = r'require ["encoded-character", "fileinto"]; fileinto "${hex:zz}${unicode:}x";'
    assert deliver(script, message("S: x\n")).actions == (FileInto("${hex:zz}${unicode:}x"),)


def test_without_require_nothing_is_decoded() -> None:
    script = r'require "fileinto"; fileinto "${hex:41}";'
    assert deliver(script, message("S: x\n")).actions == (FileInto("${hex:41}"),)


def test_a_surrogate_or_out_of_range_code_point_is_an_error() -> None:
    for code in ("D800", "110000"):
        source = f'require ["encoded-character", "fileinto"];\nfileinto "${{unicode:{code}}}";'
        error = check_script(source.encode(), name="s", limits=SieveLimits())
        assert error is not None and error.line == 2 and "Unicode" in error.message
