"""The login-ban file (`mailroom.auth.ban_store.parse_bans`): `login-bans.json` in the
data directory, read at start-up; a damaged or planted file must not stop the host or
smuggle in a ban of something that is no network.

The input is the file's bytes. Contract: `parse_bans` gives a `BanSnapshot` (networks in
canonical form with finite, non-negative end times; accounts of 1..`MAX_ACCOUNT`
characters with at most `MAX_FAMILIAR` canonical networks) and a count of skipped
entries, or raises `BanFileError`; the snapshot written back (`encode_bans`) reads as
the same snapshot with nothing skipped. A crash: any other exception or broken invariant.
"""

from __future__ import annotations

import ipaddress
import math

from mailroom.auth.ban_store import (
    MAX_ACCOUNT,
    MAX_FAMILIAR,
    BanFileError,
    encode_bans,
    parse_bans,
)


def one_input(data: bytes) -> None:
    try:
        snapshot, skipped = parse_bans(data)
    except BanFileError as error:
        assert str(error), data[:100]
        return
    assert skipped >= 0, skipped
    for network, until in snapshot.ips.items():
        assert str(ipaddress.ip_network(network)) == network, network
        assert math.isfinite(until) and until >= 0, until
    for name, locked in snapshot.accounts.items():
        assert 0 < len(name) <= MAX_ACCOUNT and math.isfinite(locked.until), (name, locked)
        assert len(locked.familiar) <= MAX_FAMILIAR, locked
        for network in locked.familiar:
            assert str(ipaddress.ip_network(network)) == network, network
    again, skipped_again = parse_bans(encode_bans(snapshot))
    assert (again, skipped_again) == (snapshot, 0), (snapshot, again)
