"""The admin's account pages over the real host: adding an account with a password that
then logs in, disabling and enabling it, resetting its password, its quota and name, its
extra addresses, removing it; each change in the audit log, each refusal the directory's
own line on the page."""

from __future__ import annotations

import html

from tests.support.mail_host import PASSWORD, MailHost
from tests.web.admin_pages import flashes, logged_in, refusal, submit
from tests.web.conftest import web_client
from tests.web.test_login import log_in

CAROL = "/admin/accounts/carol@example.test"


async def add_carol(host: MailHost, **extra: str) -> None:
    async with logged_in(host) as client:
        answer = await submit(
            client,
            "/admin/accounts",
            action="add",
            address="Carol@Example.test",
            display_name="Carol",
            password="carol's secret",
            password_repeat="carol's secret",
            quota="500M",
            **extra,
        )
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == CAROL
        shown = await client.get(CAROL)
        assert "added account carol@example.test" in flashes(shown)


async def can_log_in(host: MailHost, login: str, password: str) -> bool:
    async with web_client(host) as client:
        return (await log_in(client, login, password)).status_code == 303


async def test_an_added_account_logs_in_with_its_password(web_host: MailHost) -> None:
    await add_carol(web_host)
    account = await web_host.directory.get_account("carol@example.test")
    assert account.display_name == "Carol"
    assert account.quota_bytes == 500 * 2**20
    assert account.enabled
    assert account.password_hash.startswith("$argon2id$")
    assert await can_log_in(web_host, "carol@example.test", "carol's secret")
    [entry, *_] = await web_host.directory.audit_entries()
    assert (entry.actor, entry.action, entry.target) == (
        "alice@example.test",
        "account.add",
        "carol@example.test",
    )
    assert entry.source == "127.0.0.1"


async def test_an_account_created_disabled_cannot_log_in(web_host: MailHost) -> None:
    await add_carol(web_host, disabled="yes")
    assert not (await web_host.directory.get_account("carol@example.test")).enabled
    assert not await can_log_in(web_host, "carol@example.test", "carol's secret")


async def test_an_account_in_an_unknown_domain_is_refused_with_the_directorys_words(
    web_host: MailHost,
) -> None:
    async with logged_in(web_host) as client:
        answer = await submit(
            client,
            "/admin/accounts",
            action="add",
            address="dan@elsewhere.test",
            display_name="Dan",
            password="x",
            password_repeat="x",
        )
        assert answer.status_code == 400
        assert refusal(answer) == (
            "unknown domain 'elsewhere.test': add it first with "
            "`mailroom domain add elsewhere.test`"
        )
        assert "Traceback" not in answer.text
        assert 'value="Dan"' in answer.text  # what was typed is kept, the password is not
        assert 'value="x"' not in answer.text


async def test_a_taken_address_and_differing_passwords_are_refused(web_host: MailHost) -> None:
    async with logged_in(web_host) as client:
        taken = await submit(
            client,
            "/admin/accounts",
            action="add",
            address="alice.liddell@example.test",
            password="p",
            password_repeat="p",
        )
        assert taken.status_code == 409
        assert "alice.liddell@example.test" in refusal(taken)
        differ = await submit(
            client,
            "/admin/accounts",
            action="add",
            address="dan@example.test",
            password="one",
            password_repeat="two",
        )
        assert differ.status_code == 400
        assert refusal(differ) == "the two passwords differ; nothing was changed"
        quota = await submit(
            client,
            "/admin/accounts",
            action="add",
            address="dan@example.test",
            password="p",
            password_repeat="p",
            quota="lots",
        )
        assert quota.status_code == 400
        assert refusal(quota).startswith("quota: 'lots' is not a size")
    assert await web_host.directory.find_account("dan@example.test") is None


async def test_disabling_and_enabling_an_account(web_host: MailHost) -> None:
    await add_carol(web_host)
    async with logged_in(web_host) as client:
        answer = await submit(client, CAROL, action="disable")
        assert answer.status_code == 303
        page = await client.get(CAROL)
        assert "carol@example.test disabled" in flashes(page)
        assert 'id="account-enable-submit"' in page.text
        assert not await can_log_in(web_host, "carol@example.test", "carol's secret")
        assert (await submit(client, CAROL, action="enable")).status_code == 303
        assert await can_log_in(web_host, "carol@example.test", "carol's secret")
    actions = [entry.action for entry in await web_host.directory.audit_entries()]
    assert actions[:3] == ["account.enable", "account.disable", "account.add"]


async def test_resetting_a_password(web_host: MailHost) -> None:
    async with logged_in(web_host) as client:
        url = "/admin/accounts/bob@example.test"
        answer = await submit(
            client, url, action="password", password="new one", password_repeat="new one"
        )
        assert answer.status_code == 303
        assert "password of bob@example.test changed" in flashes(await client.get(url))
    assert await can_log_in(web_host, "bob@example.test", "new one")
    assert not await can_log_in(web_host, "bob@example.test", PASSWORD)
    [entry, *_] = await web_host.directory.audit_entries()
    assert (entry.action, entry.target, entry.detail) == (
        "account.password",
        "bob@example.test",
        "",
    )


async def test_changing_quota_and_display_name(web_host: MailHost) -> None:
    await add_carol(web_host)
    async with logged_in(web_host) as client:
        answer = await submit(client, CAROL, action="update", display_name="Carol C.", quota="2G")
        assert answer.status_code == 303
        account = await web_host.directory.get_account("carol@example.test")
        assert (account.display_name, account.quota_bytes) == ("Carol C.", 2 * 2**30)
        page = await client.get(CAROL)
        assert '<td id="account-quota">2G</td>' in page.text
        await submit(client, CAROL, action="update", display_name="Carol C.", quota="")
        assert (await web_host.directory.get_account("carol@example.test")).quota_bytes is None
        bad = await submit(client, CAROL, action="update", display_name="a\nb", quota="")
        assert bad.status_code == 400
        assert refusal(bad) == "the display name contains line breaks or control characters"


async def test_extra_addresses(web_host: MailHost) -> None:
    url = "/admin/accounts/bob@example.test"
    async with logged_in(web_host) as client:
        added = await submit(client, url, action="address-add", address="Robert@example.test")
        assert added.status_code == 303
        bob = await web_host.directory.get_account("bob@example.test")
        assert bob.extra_addresses == ("robert@example.test",)
        taken = await submit(client, url, action="address-add", address="pr@example.test")
        assert taken.status_code == 409
        assert "pr@example.test" in refusal(taken)
        foreign = await submit(
            client, url, action="address-remove", address="alice.liddell@example.test"
        )
        assert foreign.status_code == 400
        assert refusal(foreign) == (
            "alice.liddell@example.test is not an extra address of bob@example.test"
        )
        removed = await submit(client, url, action="address-remove", address="robert@example.test")
        assert removed.status_code == 303
    assert (await web_host.directory.get_account("bob@example.test")).extra_addresses == ()
    actions = [entry.action for entry in await web_host.directory.audit_entries()]
    assert actions[:2] == ["address.remove", "address.add"]


async def test_removing_an_account_needs_confirmation_and_no_alias_forwarding_to_it(
    web_host: MailHost,
) -> None:
    async with logged_in(web_host) as client:
        bob = "/admin/accounts/bob@example.test"
        unconfirmed = await submit(client, bob, action="remove")
        assert unconfirmed.status_code == 400
        assert "confirm" in refusal(unconfirmed)
        in_use = await submit(client, bob, action="remove", confirm="yes")
        assert in_use.status_code == 409
        assert "pr@example.test" in refusal(in_use)  # the directory names the alias
        await add_carol(web_host)
        gone = await submit(client, CAROL, action="remove", confirm="yes")
        assert gone.status_code == 303
        assert gone.headers["location"] == "/admin/accounts"
        assert (await client.get(CAROL)).status_code == 404
    assert await web_host.directory.find_account("carol@example.test") is None
    assert (await web_host.directory.audit_entries())[0].action == "account.remove"


async def test_the_account_list_shows_accounts_by_domain(web_host: MailHost) -> None:
    async with logged_in(web_host) as client:
        listing = await client.get("/admin/accounts?domain=example.test")
        assert listing.status_code == 200
        for address in ("alice@example.test", "bob@example.test", "alice.liddell@example.test"):
            assert address in listing.text
        unknown = await client.get("/admin/accounts?domain=nowhere.test")
        assert unknown.status_code == 400
        assert "unknown domain 'nowhere.test'" in html.unescape(unknown.text)
