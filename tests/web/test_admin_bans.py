"""/admin/bans over the real host: the host's own throttle bans an address and locks an
account after failed logins; the page lists both, and lifting one lets that client (or
strangers to that account) log in again, with the lift in the audit log and the ban
file."""

from __future__ import annotations

import json
from ipaddress import IPv4Address

from mailroom.auth import BanKind, MemoryThrottle
from mailroom.auth.ban_store import BAN_FILE
from mailroom.auth.throttle import Settlement
from mailroom.web.admin_bans import ban_id
from tests.support.mail_host import MailHost
from tests.web.logged_in import ADMIN, MEMBER, logged_in, post_form

ATTACKER = IPv4Address("203.0.113.9")
STRANGER = IPv4Address("198.51.100.7")
TARGET = "bob@example.test"


async def attack(host: MailHost) -> MemoryThrottle:
    """Failed logins to bob from 203.0.113.9, then from its neighbours, until that
    address is banned and bob is locked (for every address it was never used from)."""
    throttle = host.running.services.throttle
    assert isinstance(throttle, MemoryThrottle)
    for last in range(9, 60):
        attacker = IPv4Address(f"203.0.113.{last}")
        for _ in range(100):
            verdict = await throttle.reserve(attacker, TARGET)
            if not verdict.allowed:
                break
            await throttle.settle(attacker, TARGET, verdict.token, Settlement.FAILURE)
        if (await throttle.check(STRANGER, TARGET)).reason == "account_locked":
            break
    assert (await throttle.check(ATTACKER, "alice@example.test")).reason == "ip_banned"
    assert (await throttle.check(STRANGER, TARGET)).reason == "account_locked"
    return throttle


async def test_no_bans_at_first(web_host: MailHost) -> None:
    async with logged_in(web_host) as client:
        page = await client.get("/admin/bans")
        assert page.status_code == 200
        assert 'id="bans-none"' in page.text


async def test_bans_are_listed_with_stable_ids(web_host: MailHost) -> None:
    await attack(web_host)
    async with logged_in(web_host) as client:
        page = await client.get("/admin/bans")
        assert 'id="ban-address-203-0-113-9-32"' in page.text
        assert 'data-subject="203.0.113.9/32"' in page.text
        assert 'id="ban-address-203-0-113-9-32-lift"' in page.text
        assert ban_id(BanKind.ACCOUNT, TARGET) == "ban-account-bob-example-test"
        assert 'id="ban-account-bob-example-test-lift"' in page.text


async def test_lifting_an_address_ban_lets_the_client_in_and_is_audited(
    web_host: MailHost,
) -> None:
    throttle = await attack(web_host)
    async with logged_in(web_host) as client:
        answer = await post_form(
            client,
            "/admin/bans",
            "/admin/bans/lift",
            {"kind": "address", "subject": "203.0.113.9/32"},
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == "/admin/bans"
        page = await client.get("/admin/bans")
        assert "The ban of 203.0.113.9/32 is lifted." in page.text
        assert 'id="ban-address-203-0-113-9-32"' not in page.text
        assert 'id="ban-account-bob-example-test"' in page.text
    assert (await throttle.check(ATTACKER, "alice@example.test")).allowed
    await throttle.close()  # the ban file written
    kept = json.loads((web_host.root / "data" / BAN_FILE).read_text())
    assert "203.0.113.9/32" not in kept["ips"]
    entries = await web_host.directory.audit_entries()
    assert (ADMIN, "ban.lift.address", "203.0.113.9/32") in [
        (e.actor, e.action, e.target) for e in entries
    ]


async def test_lifting_an_account_lock_lets_strangers_try_again(web_host: MailHost) -> None:
    throttle = await attack(web_host)
    async with logged_in(web_host) as client:
        await post_form(
            client, "/admin/bans", "/admin/bans/lift", {"kind": "account", "subject": TARGET}
        )
    assert (await throttle.check(STRANGER, TARGET)).allowed


async def test_lifting_what_is_not_banned_changes_nothing_and_audits_nothing(
    web_host: MailHost,
) -> None:
    async with logged_in(web_host) as client:
        answer = await post_form(
            client, "/admin/bans", "/admin/bans/lift", {"kind": "address", "subject": "junk"}
        )
        assert answer.status_code == 303
        assert "junk was not banned" in (await client.get("/admin/bans")).text
        bad_kind = await post_form(
            client, "/admin/bans", "/admin/bans/lift", {"kind": "planet", "subject": "x"}
        )
        assert bad_kind.status_code == 400
    assert not [e for e in await web_host.directory.audit_entries() if e.action.startswith("ban")]


async def test_a_member_can_neither_see_nor_lift_bans(web_host: MailHost) -> None:
    async with logged_in(web_host, MEMBER) as client:  # before bob is locked
        throttle = await attack(web_host)
        assert (await client.get("/admin/bans")).status_code == 403
        answer = await post_form(
            client, "/", "/admin/bans/lift", {"kind": "address", "subject": "203.0.113.9/32"}
        )
        assert answer.status_code == 403
    assert not (await throttle.check(ATTACKER, "alice@example.test")).allowed
