"""Next hops of transports, in the forms a Postfix transport map uses, reduced to one
normal form; and the one grammar behind it (`mailroom.config.nexthop`), which the relay
host and delivery read with too. Pure parsing: no database."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mailroom.config.nexthop import Nexthop, NexthopError, parse_nexthop
from mailroom.directory import InvalidValue
from mailroom.directory.nexthop import normalize_nexthop


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("smtp:[relay.example.net]:2525", "[relay.example.net]:2525"),
        ("smtp:relay.example.net", "relay.example.net:25"),
        ("[relay.example.net]", "[relay.example.net]:25"),
        ("[Relay.Example.NET]:587", "[relay.example.net]:587"),
        ("relay.example.net:2525", "relay.example.net:2525"),
        ("relay.example.net", "relay.example.net:25"),
        ("SMTP:relay.example.net.", "relay.example.net:25"),
        ("[2001:db8::1]:25", "[2001:db8::1]:25"),
        ("smtp:[2001:DB8:0:0::1]", "[2001:db8::1]:25"),
        ("[192.0.2.7]:2525", "[192.0.2.7]:2525"),
        # MX records of an address mean nothing: an IP address is always connected to directly.
        ("192.0.2.7:2525", "[192.0.2.7]:2525"),
        ("[localhost]:10025", "[localhost]:10025"),
        ("mailhub", "mailhub:25"),
        ("[bücher.example]", "[xn--bcher-kva.example]:25"),
        ("  relay.example.net  ", "relay.example.net:25"),
    ],
)
def test_postfix_next_hop_forms_are_stored_in_one_normal_form(written: str, stored: str) -> None:
    assert normalize_nexthop(written) == stored


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("", "expected smtp:[host]:port, [host]:port, host:port or host"),
        ("smtp:", "no host"),
        ("[]:25", "no host"),
        ("lmtp:unix:/run/lmtp", "only smtp: next hops are supported, not lmtp:"),
        ("relay:relay.example.net", "only smtp: next hops are supported, not relay:"),
        ("2001:db8::1", "an IPv6 address needs brackets, as [2001:db8::1]:25"),
        ("[relay.example.net", "'[' without ']'"),
        ("[relay.example.net]25", "expected smtp:[host]:port, [host]:port, host:port or host"),
        ("relay.example.net:0", "port 0 is not in 1-65535"),
        ("relay.example.net:65536", "port 65536 is not in 1-65535"),
        ("relay.example.net:２５", "expected smtp:[host]:port, [host]:port, host:port or host"),
        ("relay example.net", "expected smtp:[host]:port, [host]:port, host:port or host"),
        ("[fe80::1%eth0]", "IPv6 zone indexes are not supported"),
        ("relay_host.example.net", "'relay_host.example.net' is not a host name or IP address"),
        ("-relay.example.net", "'-relay.example.net' is not a host name or IP address"),
        ("10.0.0.256", "'10.0.0.256' is not a host name or IP address"),
    ],
)
def test_anything_else_is_refused_saying_why(written: str, reason: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        normalize_nexthop(written)
    assert str(caught.value) == f"invalid next hop {written!r}: {reason}"


def test_a_host_named_smtp_reads_back_from_its_normalized_form() -> None:
    # Found by the property test below: "SMTP" was written "smtp:25", read back as the
    # smtp: prefix and a host named 25.
    hop = parse_nexthop("SMTP")
    assert hop.normalized() == "smtp:25"
    assert parse_nexthop(hop.normalized()) == Nexthop("smtp", 25, True)
    assert parse_nexthop("smtp:mail.example.org:2525") == Nexthop("mail.example.org", 2525, True)


@example("SMTP")
@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80) | st.from_regex(r"(smtp:)?\[?[a-zA-Z0-9.:-]{0,30}\]?(:[0-9]{0,6})?"))
def test_hostile_text_is_normalised_for_good_or_refused(text: str) -> None:
    try:
        stored = normalize_nexthop(text)
    except InvalidValue as error:
        assert "\n" not in str(error)
        return
    assert normalize_nexthop(stored) == stored
    assert stored.isascii()


hostnames = (
    st.lists(
        st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True), min_size=1, max_size=4
    )
    .map(".".join)
    .filter(lambda name: not name.rsplit(".", 1)[-1].isdigit())
)
addresses = st.ip_addresses().map(lambda address: address.compressed)


@settings(max_examples=200, deadline=None)
@given(
    host=hostnames | addresses,
    port=st.none() | st.integers(1, 65535),
    bracketed=st.booleans(),
    prefixed=st.booleans(),
)
def test_every_written_form_of_a_host_and_port_means_that_host_and_port(
    host: str, port: int | None, bracketed: bool, prefixed: bool
) -> None:
    try:
        ipaddress.ip_address(host)
        is_address = True
    except ValueError:
        is_address = False
    if ":" in host:
        bracketed = True  # IPv6 is only ever written bracketed
    written = f"[{host}]" if bracketed else host
    if port is not None:
        written += f":{port}"
    if prefixed:
        written = "smtp:" + written
    direct = bracketed or is_address
    expected_host = f"[{host}]" if direct else host
    assert normalize_nexthop(written) == f"{expected_host}:{port or 25}"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80) | st.from_regex(r"(smtp:)?\[?[a-zA-Z0-9.:-]{0,30}\]?(:[0-9]{0,6})?"))
def test_the_grammar_reads_hostile_text_or_refuses_it_with_a_nexthop_error(text: str) -> None:
    try:
        hop = parse_nexthop(text)
    except NexthopError as error:
        assert "\n" not in str(error)
        return
    assert hop.port is None or 1 <= hop.port <= 65535
    assert parse_nexthop(hop.normalized()) == Nexthop(hop.host, hop.port or 25, hop.look_up_mx)


@settings(max_examples=200, deadline=None)
@given(
    host=hostnames | addresses,
    port=st.none() | st.integers(1, 65535),
    bracketed=st.booleans(),
    default_port=st.integers(1, 65535),
)
def test_delivery_reads_a_relay_host_as_written_with_its_own_default_port(
    host: str, port: int | None, bracketed: bool, default_port: int
) -> None:
    """A relay host is kept as written: a missing port is delivery's (`smtp_port`), not 25."""
    if ":" in host:
        bracketed = True
    written = (f"[{host}]" if bracketed else host) + ("" if port is None else f":{port}")
    hop = parse_nexthop(written)
    assert hop.port == port
    assert hop.normalized(default_port).endswith(f":{port or default_port}")
