"""The administrator at the admin pages in chromium, logged in by a client certificate on
the admin listener: adding an account and an alias with send-as grants (which submission
then honours), holding a message of the queue and releasing it, lifting bans; each change
in the audit log with who and from where. A form without its CSRF token changes nothing."""

from __future__ import annotations

from tests.browser.conftest import OpenBrowser
from tests.support.mail_host import PASSWORD
from tests.support.submission import submit
from tests.web.conftest import CertificateWorld
from tests.web.test_admin_bans import ATTACKER, STRANGER, TARGET, attack
from tests.web.test_admin_queue import deferred_message

ADMIN = "alice@example.test"
CAROL = "carol@example.test"
TEAM = "team@example.test"


async def test_an_account_and_an_alias_with_send_as_grants(
    world: CertificateWorld, host_browser: OpenBrowser
) -> None:
    async with host_browser(world.host, world.alice, listener="admin") as chromium:
        await chromium.open("/admin/accounts")
        await chromium.fill(
            "#account-add",
            address=CAROL,
            display_name="Carol",
            password=PASSWORD,
            password_repeat=PASSWORD,
            quota="1G",
        )
        assert await chromium.click("#account-add-submit") == f"/admin/accounts/{CAROL}"
        assert await chromium.flash() == [f"added account {CAROL}"]

        await chromium.click("#nav-aliases")
        await chromium.fill(
            "#alias-add", address=TEAM, targets=f"{CAROL}, bob@example.test", send_as=CAROL
        )
        assert await chromium.click("#alias-add-submit") == f"/admin/aliases/{TEAM}"
        assert await chromium.flash() == [f"added alias {TEAM}"]
        assert sorted(await chromium.texts("#alias-targets li")) == ["bob@example.test", CAROL]

        await chromium.fill("#alias-grant", account="bob@example.test")
        await chromium.click("#alias-grant-submit")
        assert await chromium.flash() == [f"bob@example.test may send as {TEAM}"]
        granted = await chromium.texts("#alias-send-as li[data-account]")
        assert [line.split()[0] for line in granted] == ["bob@example.test", CAROL]

        await chromium.open("/admin/aliases")
        assert TEAM in await chromium.text(f"#aliases tr[data-address='{TEAM}']")

        await chromium.open("/admin/audit")
        log = await chromium.texts("#audit-log tr.audit-entry")
    for action in ("account.add", "alias.add", "alias.grant"):
        assert any(f"{ADMIN} 127.0.0.1 {action}" in line for line in log), (action, log)

    # What the pages made is what submission goes by: carol logs in and sends as the alias.
    await submit(world.host, TEAM, ["alice@example.test"], login=CAROL)
    assert await world.host.directory.may_send_as("bob@example.test", TEAM)


async def test_a_message_held_in_the_queue_is_watched_and_released(
    world: CertificateWorld, host_browser: OpenBrowser
) -> None:
    queue_id = await deferred_message(world.host)
    queue = world.host.running.services.queue
    async with host_browser(world.host, world.alice, listener="admin") as chromium:
        await chromium.open("/admin/queue")
        row = f"#queue-row-{queue_id}"
        assert "deferred" in await chromium.text(row)
        assert await chromium.click(f"#queue-link-{queue_id}") == f"/admin/queue/{queue_id}"
        await chromium.click("#queue-hold")
        assert await chromium.flash() == [f"{queue_id}: held"]
        assert await chromium.text("#queue-state") == "held"
        entry = await queue.get(queue_id)
        assert entry is not None and entry.envelope.held

        await chromium.open("/admin/queue")
        await chromium.click("#queue-state-held")
        assert await chromium.texts("#queue-messages tbody tr td:first-child") == [queue_id]
        assert "held" in await chromium.text(row)

        await chromium.click(f"#queue-link-{queue_id}")
        await chromium.click("#queue-release")
        assert await chromium.flash() == [f"{queue_id}: released"]
        assert await chromium.text("#queue-held") == "no"
        entry = await queue.get(queue_id)
        assert entry is not None and not entry.envelope.held
        await chromium.open("/admin/queue?state=held")
        assert await chromium.texts("#queue-empty") == ["No messages in this state."]


async def test_bans_are_lifted(world: CertificateWorld, host_browser: OpenBrowser) -> None:
    throttle = await attack(world.host)
    address_ban = "ban-address-203-0-113-9-32"
    account_lock = "ban-account-bob-example-test"
    async with host_browser(world.host, world.alice, listener="admin") as chromium:
        await chromium.open("/admin/bans")
        assert "203.0.113.9/32" in await chromium.text(f"#{address_ban}")
        assert TARGET in await chromium.text(f"#{account_lock}")

        assert await chromium.click(f"#{address_ban}-lift") == "/admin/bans"
        assert await chromium.flash() == ["The ban of 203.0.113.9/32 is lifted."]
        assert (await throttle.check(ATTACKER, ADMIN)).allowed
        assert not await chromium.texts(f"#{address_ban}")

        await chromium.click(f"#{account_lock}-lift")
        assert await chromium.flash() == [f"The ban of {TARGET} is lifted."]
        assert (await throttle.check(STRANGER, TARGET)).allowed


async def test_an_admin_form_posted_without_its_csrf_token_changes_nothing(
    world: CertificateWorld, host_browser: OpenBrowser
) -> None:
    async with host_browser(world.host, world.alice, listener="admin") as chromium:
        await chromium.open("/admin/accounts")
        await chromium.fill(
            "#account-add", address=CAROL, password=PASSWORD, password_repeat=PASSWORD
        )
        answer = await chromium.submit_without_csrf_token("#account-add")
        assert "CSRF token is missing or wrong" in answer
        await chromium.open("/admin/accounts")
        assert not await chromium.texts(f"#accounts tr[data-address='{CAROL}']")
    assert CAROL not in [account.address for account in await world.host.directory.list_accounts()]
