"""Which clients count as one for the connection limits: an IPv6 client by its /64 (one
host may pick any address of it), an IPv4-mapped address as its IPv4 address, and
anything a socket could report parsed without an exception."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.config.limits import LimitsConfig
from mailroom.net.client_groups import client_group
from mailroom.net.edge_limits import EdgeLimits, HostConnections, Refusal

FAST = settings(max_examples=300, deadline=None)

ipv6 = st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address)


@FAST
@given(ipv6, st.integers(0, 2**64 - 1))
def test_every_address_of_a_64_counts_as_one_client(
    address: ipaddress.IPv6Address, host: int
) -> None:
    neighbour = ipaddress.IPv6Address((int(address) >> 64 << 64) | host)
    if address.ipv4_mapped is None and neighbour.ipv4_mapped is None:
        assert client_group(str(neighbour)) == client_group(str(address))


@FAST
@given(ipv6, ipv6)
def test_addresses_of_different_64s_count_apart(
    first: ipaddress.IPv6Address, second: ipaddress.IPv6Address
) -> None:
    if (
        first.ipv4_mapped is None
        and second.ipv4_mapped is None
        and int(first) >> 64 != int(second) >> 64
    ):
        assert client_group(first) != client_group(second)


@FAST
@given(st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address))
def test_an_ipv4_mapped_client_counts_as_its_ipv4_address(address: ipaddress.IPv4Address) -> None:
    mapped = ipaddress.IPv6Address(f"::ffff:{address}")
    assert client_group(str(mapped)) == client_group(str(address)) == str(address)


@FAST
@given(st.text(max_size=80))
def test_any_reported_peer_gives_a_group(peer: str) -> None:
    assert isinstance(client_group(peer), str)


def test_groups_as_they_read() -> None:
    assert client_group("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert client_group("fe80::1%eth0") == "fe80::/64"
    assert client_group("2001:db8::1", 128) == "2001:db8::1"
    assert client_group("2001:db8:0:ff::1", 56) == "2001:db8::/56"
    assert client_group("192.0.2.7") == "192.0.2.7"


def test_a_64_shares_one_cap_and_another_64_has_its_own() -> None:
    limits = EdgeLimits(max_connections=100, max_connections_per_address=3)
    connections = HostConnections(limits)
    same = [limits.group(f"2001:db8:0:1::{n:x}") for n in range(1, 5)]
    assert [connections.admit(group) for group in same] == [
        None,
        None,
        None,
        Refusal.TOO_MANY_FROM_ADDRESS,
    ]
    assert connections.admit(limits.group("2001:db8:0:2::1")) is None
    connections.release(same[0])
    assert connections.admit(same[3]) is None
    assert connections.open == 4


def test_the_host_total_and_the_handshake_cap_hold() -> None:
    connections = HostConnections(
        EdgeLimits(max_connections=2, max_connections_per_address=2, max_tls_handshakes=1)
    )
    assert connections.admit("192.0.2.1") is None
    assert connections.admit("192.0.2.2") is None
    assert connections.admit("192.0.2.3") is Refusal.TOO_MANY_CONNECTIONS
    assert connections.start_handshake()
    assert not connections.start_handshake()
    connections.end_handshake()
    assert connections.start_handshake()


@FAST
@given(
    st.integers(0, 2_000_000),
    st.integers(1, 1_000_000) | st.just("auto"),
    st.integers(1, 1_000_000),
    st.integers(32, 4096),
)
def test_limits_derived_from_the_open_file_limit_never_exhaust_it(
    open_files: int, total: int | str, per_address: int, reserved: int
) -> None:
    config = LimitsConfig(
        max_connections=total,
        max_connections_per_address=per_address,
        reserved_file_descriptors=reserved,
    )
    limits = EdgeLimits.derive(config, open_files)
    if open_files >= reserved + 32:  # below that the host is misconfigured (16 still allowed)
        assert limits.max_connections * 2 + reserved <= open_files
    assert limits.max_connections_per_address <= max(1, limits.max_connections // 2)
    assert limits.max_tls_handshakes <= limits.max_connections
    if total != "auto":
        assert limits.max_connections <= max(int(total), 16)


def test_1024_open_files_leave_room_for_the_store() -> None:
    limits = EdgeLimits.derive(LimitsConfig(), 1024)
    assert (limits.max_connections, limits.max_connections_per_address) == (384, 50)


@pytest.mark.parametrize("value", ["many", 0, -1, True])
def test_max_connections_is_a_count_or_auto(value: object) -> None:
    with pytest.raises(ValueError, match="positive number or"):
        LimitsConfig.model_validate({"max_connections": value})
