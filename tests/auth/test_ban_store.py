"""Bans kept in a file in the data directory: written when made, read back by the next
process, never longer than `ban_seconds`; and whatever the file holds, reading it is a
set of bans or a logged refusal, never a crash."""

from __future__ import annotations

import json
import stat
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.auth.ban_store import (
    BAN_FILE,
    BanFile,
    BanFileError,
    BanSnapshot,
    LockedAccount,
    encode_bans,
    parse_bans,
)
from mailroom.auth.throttle import MemoryThrottle
from mailroom.config import ThrottleConfig
from tests.support.fake_clock import FakeClock

ATTACKER = IPv4Address("203.0.113.9")
OWNER = IPv4Address("198.51.100.7")
ALICE = "alice@example.org"
CONFIG = ThrottleConfig(
    max_failures_per_ip=3, max_failures_per_account=3, ban_seconds=600, delay_base_seconds=0
)


def throttle_in(directory: Path, clock: FakeClock, wall: FakeClock) -> MemoryThrottle:
    return MemoryThrottle(CONFIG, clock=clock, ban_file=BanFile(directory), wall=wall)


async def test_a_ban_is_written_and_the_next_process_keeps_it(tmp_path: Path) -> None:
    clock, wall = FakeClock(), FakeClock(1_800_000_000)
    first = throttle_in(tmp_path, clock, wall)
    for _ in range(3):
        await first.record_failure(ATTACKER, ALICE)
    await first.close()
    path = tmp_path / BAN_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [BAN_FILE]  # no temporary file left

    wall.advance(100)  # the restart took 100 s; the new process's monotonic clock differs
    second = throttle_in(tmp_path, FakeClock(5.0), wall)
    verdict = await second.check(ATTACKER, "bob@example.org")
    assert (verdict.allowed, verdict.reason) == (False, "ip_banned")
    assert verdict.retry_after == pytest.approx(500)


async def test_an_account_lock_is_kept_with_the_addresses_it_does_not_hold_for(
    tmp_path: Path,
) -> None:
    clock, wall = FakeClock(), FakeClock(1_800_000_000)
    first = throttle_in(tmp_path, clock, wall)
    await first.record_success(OWNER, ALICE)
    for n in range(3):
        await first.record_failure(IPv4Address(f"203.0.113.{n}"), ALICE)
    await first.close()
    second = throttle_in(tmp_path, FakeClock(), wall)
    assert (await second.check(IPv4Address("203.0.113.77"), ALICE)).reason == "account_locked"
    assert (await second.check(OWNER, ALICE)).allowed


async def test_bans_that_ended_while_down_are_not_restored(tmp_path: Path) -> None:
    clock, wall = FakeClock(), FakeClock(1_800_000_000)
    first = throttle_in(tmp_path, clock, wall)
    for _ in range(3):
        await first.record_failure(ATTACKER, ALICE)
    await first.close()
    wall.advance(600)
    assert (await throttle_in(tmp_path, FakeClock(), wall).check(ATTACKER, ALICE)).allowed


async def test_a_file_cannot_ban_for_longer_than_ban_seconds(tmp_path: Path) -> None:
    wall = FakeClock(1_800_000_000)
    snapshot = BanSnapshot(ips={"203.0.113.9/32": wall.now + 10**9})
    BanFile(tmp_path).write(encode_bans(snapshot))
    verdict = await throttle_in(tmp_path, FakeClock(), wall).check(ATTACKER, ALICE)
    assert verdict.retry_after == 600


@pytest.mark.parametrize(
    "content",
    [b"", b"{", b"[]", b'{"version": 2}', b'{"version": 1, "ips": []}', b"\xff\xfe"],
)
async def test_an_unusable_file_means_starting_without_bans(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / BAN_FILE).write_bytes(content)
    throttle = throttle_in(tmp_path, FakeClock(), FakeClock())
    assert (await throttle.check(ATTACKER, ALICE)).allowed
    assert "starting without its bans" in caplog.text


def test_malformed_entries_are_skipped_and_the_rest_kept() -> None:
    document = {
        "version": 1,
        "ips": {"203.0.113.9/32": 5.0, "not an address": 5.0, "10.0.0.0/8": "soon"},
        "accounts": {
            ALICE: {"until": 5.0, "familiar": ["198.51.100.7/32", "nonsense", 7]},
            "bob@example.org": {"until": -1},
            "carol@example.org": [],
        },
    }
    snapshot, skipped = parse_bans(json.dumps(document).encode())
    assert snapshot.ips == {"203.0.113.9/32": 5.0}
    assert snapshot.accounts == {ALICE: LockedAccount(5.0, ["198.51.100.7/32"])}
    assert skipped == 4


def test_an_integer_beyond_a_float_is_a_skipped_entry() -> None:
    """Found by fuzz/harnesses/ban_file.py (corpus: huge_int): JSON integers have no
    bound, and `math.isfinite` of one past a float's range raised OverflowError, so such
    a file stopped the start-up instead of being read without that entry."""
    huge = "9" * 400
    data = (
        f'{{"version": 1, "ips": {{"203.0.113.9/32": {huge}, "198.51.100.7/32": 5}},'
        f' "accounts": {{"{ALICE}": {{"until": {huge}}}}}}}'
    ).encode()
    snapshot, skipped = parse_bans(data)
    assert snapshot.ips == {"198.51.100.7/32": 5.0}
    assert snapshot.accounts == {}
    assert skipped == 2


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.just(10**400)
    | st.floats()
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=20), children, max_size=4)
    ),
    max_leaves=20,
)
documents = st.fixed_dictionaries(
    {},
    optional={
        "version": st.sampled_from([1, 1, 2, "1", None]),
        "ips": st.dictionaries(
            st.sampled_from(["203.0.113.9/32", "2001:db8::/64", "x", "::1", ""])
            | st.text(max_size=20),
            json_values,
            max_size=5,
        )
        | json_values,
        "accounts": st.dictionaries(st.text(max_size=20), json_values, max_size=5) | json_values,
    },
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(documents.map(lambda d: json.dumps(d).encode()), st.binary(max_size=200)))
def test_any_file_is_bans_or_a_ban_file_error(data: bytes) -> None:
    try:
        snapshot, skipped = parse_bans(data)
    except BanFileError as error:
        assert "\n" not in str(error)
        return
    assert skipped >= 0
    for until in snapshot.ips.values():
        assert until >= 0
    for locked in snapshot.accounts.values():
        assert locked.until >= 0 and len(locked.familiar) <= 16


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["203.0.113.9/32", "198.51.100.0/32", "2001:db8::/64"]),
        st.floats(0, 2e9),
    ),
    st.dictionaries(
        st.text(min_size=1, max_size=40),
        st.builds(
            LockedAccount,
            st.floats(0, 2e9),
            st.lists(st.sampled_from(["192.0.2.1/32", "2001:db8:1::/64"]), max_size=16),
        ),
        max_size=5,
    ),
)
def test_what_is_written_reads_back_the_same(
    ips: dict[str, float], accounts: dict[str, LockedAccount]
) -> None:
    snapshot = BanSnapshot(ips, accounts)
    assert parse_bans(encode_bans(snapshot)) == (snapshot, 0)
