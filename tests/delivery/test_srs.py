"""SRS: a forwarded message's sender is rewritten into our domain, and a bounce
to that rewritten address finds its way back to the original sender."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from mailroom.delivery.srs import (
    MalformedSrsAddress,
    NotSrsAddress,
    SrsExpired,
    SrsHashMismatch,
    SrsRewriter,
    encode_day,
)

SECRET = b"tops3cret"
DAY = 86400
# 2024-10-04 is day 20000 since the epoch; 20000 % 1024 = 544 = 17*32 + 0 → "RA".
DAY_20000 = 20000 * DAY + 3600.0


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def rewriter(clock: Clock, *secrets: bytes, domain: str = "fwd.example.org") -> SrsRewriter:
    return SrsRewriter(secrets or (SECRET,), domain, clock=clock)


def test_a_known_vector_pins_the_postsrsd_format() -> None:
    # Computed by hand: HMAC-SHA1 over lower(TT) + lower(domain) + lower(local).
    digest = hmac.new(SECRET, b"raexample.comalice", hashlib.sha1).digest()
    expected_hash = base64.b64encode(digest).decode()[:4]

    srs = rewriter(Clock(DAY_20000))

    assert encode_day(20000) == "RA"
    assert srs.forward("Alice@Example.com") == (
        f"SRS0={expected_hash}=RA=Example.com=Alice@fwd.example.org"
    )


def test_forward_then_reverse_gives_back_the_sender() -> None:
    srs = rewriter(Clock(DAY_20000))

    rewritten = srs.forward("alice@example.com")

    assert rewritten.startswith("SRS0=") and rewritten.endswith("@fwd.example.org")
    assert srs.is_srs(rewritten)
    assert srs.reverse(rewritten) == "alice@example.com"


def test_the_null_sender_and_our_own_addresses_are_left_alone() -> None:
    srs = rewriter(Clock(DAY_20000))

    assert srs.forward("") == ""
    assert srs.forward("bob@FWD.example.org") == "bob@FWD.example.org"
    assert srs.forward("postmaster") == "postmaster"


def test_a_local_part_with_separators_in_it_survives() -> None:
    srs = rewriter(Clock(DAY_20000))

    rewritten = srs.forward("a=b+c-d@example.com")

    assert srs.reverse(rewritten) == "a=b+c-d@example.com"


def test_re_forwarding_an_srs0_address_makes_srs1_pointing_at_the_first_forwarder() -> None:
    clock = Clock(DAY_20000)
    first = rewriter(clock, b"first-secret", domain="fwd1.example")
    second = rewriter(clock, b"second-secret", domain="fwd2.example")
    srs0 = first.forward("alice@example.com")

    srs1 = second.forward(srs0)

    rest = srs0.split("@")[0][4:]  # "=HHHH=TT=example.com=alice"
    assert srs1.startswith("SRS1=")
    assert srs1.endswith(f"=fwd1.example={rest}@fwd2.example")
    # The bounce goes back to the first forwarder, which undoes its own part.
    assert second.reverse(srs1) == srs0
    assert first.reverse(second.reverse(srs1)) == "alice@example.com"


def test_re_forwarding_an_srs1_address_keeps_the_first_forwarder() -> None:
    clock = Clock(DAY_20000)
    first = rewriter(clock, b"one", domain="fwd1.example")
    second = rewriter(clock, b"two", domain="fwd2.example")
    third = rewriter(clock, b"three", domain="fwd3.example")
    srs1 = second.forward(first.forward("alice@example.com"))

    again = third.forward(srs1)

    assert again.startswith("SRS1=")
    assert "=fwd1.example==" in again and again.endswith("@fwd3.example")
    assert third.reverse(again) == second.reverse(srs1)


def test_the_hash_is_compared_without_regard_to_case() -> None:
    srs = rewriter(Clock(DAY_20000))
    rewritten = srs.forward("alice@example.com")

    assert srs.reverse(rewritten.upper()) == "ALICE@EXAMPLE.COM"
    assert srs.reverse(rewritten.lower()) == "alice@example.com"


def test_a_tampered_address_is_refused_as_a_hash_mismatch() -> None:
    srs = rewriter(Clock(DAY_20000))
    rewritten = srs.forward("alice@example.com")

    with pytest.raises(SrsHashMismatch):
        srs.reverse(rewritten.replace("alice", "mallory"))


def test_an_address_signed_by_someone_else_is_refused() -> None:
    clock = Clock(DAY_20000)
    theirs = rewriter(clock, b"their-secret").forward("alice@example.com")

    with pytest.raises(SrsHashMismatch):
        rewriter(clock).reverse(theirs)


def test_an_address_still_works_on_the_last_day_and_expires_after_max_age() -> None:
    clock = Clock(DAY_20000)
    srs = rewriter(clock)
    rewritten = srs.forward("alice@example.com")

    clock.now += 21 * DAY
    assert srs.reverse(rewritten) == "alice@example.com"
    clock.now += DAY
    with pytest.raises(SrsExpired):
        srs.reverse(rewritten)


def test_a_timestamp_from_the_future_counts_as_expired_like_libsrs2() -> None:
    clock = Clock(DAY_20000)
    rewritten = rewriter(Clock(DAY_20000 + 5 * DAY)).forward("alice@example.com")

    with pytest.raises(SrsExpired):
        rewriter(clock).reverse(rewritten)


def test_the_timestamp_wraps_after_1024_days() -> None:
    # Day 20479 is slot 1023 and day 20480 is slot 0: one day apart, not 1023 back.
    rewritten = rewriter(Clock(20479 * DAY)).forward("alice@example.com")

    assert rewriter(Clock(20480 * DAY)).reverse(rewritten) == "alice@example.com"


def test_after_key_rotation_old_addresses_still_reverse_and_new_ones_use_the_new_key() -> None:
    clock = Clock(DAY_20000)
    old = rewriter(clock, b"old-key").forward("alice@example.com")
    rotated = rewriter(clock, b"new-key", b"old-key")

    assert rotated.reverse(old) == "alice@example.com"
    new = rotated.forward("alice@example.com")
    assert new != old
    assert rewriter(clock, b"new-key").reverse(new) == "alice@example.com"
    with pytest.raises(SrsHashMismatch):
        rewriter(clock, b"old-key").reverse(new)


@pytest.mark.parametrize(
    ("address", "error"),
    [
        ("alice@example.com", NotSrsAddress),
        ("no-at-sign", NotSrsAddress),
        ("SRS0x=abcd=RA=example.com=alice@fwd.example.org", NotSrsAddress),
        ("SRS0=abcd=RA=example.com@fwd.example.org", MalformedSrsAddress),
        ("SRS0=abcd=R1=example.com=alice@fwd.example.org", MalformedSrsAddress),
        ("SRS0=abcd=RA==alice@fwd.example.org", MalformedSrsAddress),
        ("SRS1=abcd=fwd1.example@fwd.example.org", MalformedSrsAddress),
        ("SRS0=abc=RA=example.com=alice@fwd.example.org", SrsHashMismatch),
    ],
)
def test_what_cannot_be_reversed_says_why(address: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        rewriter(Clock(DAY_20000)).reverse(address)


def test_is_srs_recognises_the_tags_in_any_case_and_nothing_else() -> None:
    srs = rewriter(Clock(DAY_20000))

    assert srs.is_srs("srs0=abcd=RA=example.com=alice@fwd.example.org")
    assert srs.is_srs("SRS1+abcd=fwd1==x@fwd.example.org")
    assert not srs.is_srs("srs2=abcd@fwd.example.org")
    assert not srs.is_srs("alice@example.com")
    assert not srs.is_srs("")


def test_a_rewriter_without_a_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="secret"):
        SrsRewriter([], "fwd.example.org", clock=Clock(0))
