"""The admin's alias pages over the real host: an alias with targets and a send-as grant
(the browser tests' flow), granting and revoking, the directory's refusals (an unknown
local target, a loop), removing one."""

from __future__ import annotations

from tests.support.mail_host import MailHost
from tests.web.admin_pages import flashes, logged_in, refusal, submit

PR = "/admin/aliases/pr@example.test"


async def test_an_alias_with_targets_and_a_send_as_grant(web_host: MailHost) -> None:
    async with logged_in(web_host) as client:
        answer = await submit(
            client,
            "/admin/aliases",
            action="add",
            address="Sales@example.test",
            targets="bob@example.test,\r\nsales@outside.example",
            send_as="bob@example.test",
        )
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/admin/aliases/sales@example.test"
        page = await client.get(answer.headers["location"])
        assert "added alias sales@example.test" in flashes(page)
        assert 'id="alias-revoke-bob@example.test"' in page.text
    alias = await web_host.directory.get_alias("sales@example.test")
    assert alias.targets == ("bob@example.test", "sales@outside.example")
    assert alias.send_as == ("bob@example.test",)
    assert await web_host.directory.may_send_as("bob@example.test", "sales@example.test")
    [entry, *_] = await web_host.directory.audit_entries()
    assert (entry.action, entry.target, entry.detail) == (
        "alias.add",
        "sales@example.test",
        "targets: bob@example.test, sales@outside.example; send-as: bob@example.test",
    )


async def test_an_unknown_local_target_is_refused_and_the_form_kept(web_host: MailHost) -> None:
    async with logged_in(web_host) as client:
        answer = await submit(
            client,
            "/admin/aliases",
            action="add",
            address="team@example.test",
            targets="nobody@example.test",
        )
        assert answer.status_code == 400
        assert refusal(answer) == "nobody@example.test: no such local address; create it first"
        assert "Traceback" not in answer.text
        assert 'value="team@example.test"' in answer.text
    assert "team@example.test" not in [a.address for a in await web_host.directory.list_aliases()]


async def test_a_loop_and_a_grant_to_a_non_account_are_refused(web_host: MailHost) -> None:
    async with logged_in(web_host) as client:
        loop = await submit(
            client,
            "/admin/aliases",
            action="add",
            address="a@example.test",
            targets="a@example.test",
        )
        assert loop.status_code == 409
        assert refusal(loop) == "the alias a@example.test cannot forward to itself"
        grant = await submit(client, PR, action="grant", account="press@example.test")
        assert grant.status_code == 400
        assert "press@example.test" in refusal(grant)


async def test_granting_and_revoking_send_as(web_host: MailHost) -> None:
    async with logged_in(web_host) as client:
        granted = await submit(client, PR, action="grant", account="bob@example.test")
        assert granted.status_code == 303
        assert "bob@example.test may send as pr@example.test" in flashes(await client.get(PR))
        assert await web_host.directory.may_send_as("bob@example.test", "pr@example.test")
        again = await submit(client, PR, action="grant", account="bob@example.test")
        assert again.status_code == 409
        assert refusal(again) == "bob@example.test may already send as pr@example.test"
        revoked = await submit(client, PR, action="revoke", account="bob@example.test")
        assert revoked.status_code == 303
        assert not await web_host.directory.may_send_as("bob@example.test", "pr@example.test")
    actions = [entry.action for entry in await web_host.directory.audit_entries()]
    assert actions[:2] == ["alias.revoke", "alias.grant"]


async def test_removing_an_alias(web_host: MailHost) -> None:
    async with logged_in(web_host) as client:
        answer = await submit(client, PR, action="remove")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/admin/aliases"
        listing = await client.get("/admin/aliases")
        assert "removed alias pr@example.test" in flashes(listing)
        assert (await client.get(PR)).status_code == 404
    assert not await web_host.directory.may_send_as("alice@example.test", "pr@example.test")
    assert (await web_host.directory.audit_entries())[0].action == "alias.remove"


async def test_the_alias_list_shows_targets_and_grants(web_host: MailHost) -> None:
    async with logged_in(web_host) as client:
        listing = await client.get("/admin/aliases")
        assert listing.status_code == 200
        assert "<td>alice@example.test, bob@example.test</td>" in listing.text
        assert "<td>alice@example.test, press@outside.example</td>" in listing.text
