"""The admin's domain and transport pages, and who may see the directory's pages at all:
an administrator; a member gets 403, a visitor the login page."""

from __future__ import annotations

import html

import pytest

from tests.support.mail_host import MailHost
from tests.web.admin_pages import flashes, logged_in, refusal, submit
from tests.web.conftest import web_client
from tests.web.test_login import csrf_token

PAGES = (
    "/admin/domains",
    "/admin/accounts",
    "/admin/accounts/alice@example.test",
    "/admin/aliases",
    "/admin/aliases/pr@example.test",
    "/admin/transports",
    "/admin/maps",
)


async def test_a_member_gets_403_on_every_page_and_change(web_host: MailHost) -> None:
    async with logged_in(web_host, "bob@example.test") as client:
        home = await client.get("/")
        for url in PAGES:
            assert (await client.get(url)).status_code == 403, url
        for url in PAGES[:-1]:  # the map files' page is read-only
            answer = await client.post(
                url, data={"csrf_token": csrf_token(home), "action": "add", "domain": "x.test"}
            )
            assert answer.status_code == 403, url
    assert [d.name for d in await web_host.directory.list_domains()] == ["example.test"]
    assert await web_host.directory.audit_entries() == []


@pytest.mark.parametrize("url", PAGES)
async def test_a_visitor_is_sent_to_the_login_page(web_host: MailHost, url: str) -> None:
    async with web_client(web_host) as client:
        answer = await client.get(url)
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/login?next={url}"


async def test_adding_and_removing_a_domain(web_host: MailHost) -> None:
    async with logged_in(web_host) as client:
        added = await submit(client, "/admin/domains", action="add", domain="Example.ORG.")
        assert added.status_code == 303
        page = await client.get("/admin/domains")
        assert "added domain example.org" in flashes(page)
        assert 'id="domain-remove-example.org"' in page.text
        again = await submit(client, "/admin/domains", action="add", domain="example.org")
        assert again.status_code == 409
        assert refusal(again) == "example.org is already a local domain"
        bad = await submit(client, "/admin/domains", action="add", domain="no_domain")
        assert bad.status_code == 400
        assert refusal(bad).startswith("invalid address 'no_domain'")
        removed = await submit(client, "/admin/domains", action="remove", domain="example.org")
        assert removed.status_code == 303
    assert [d.name for d in await web_host.directory.list_domains()] == ["example.test"]
    actions = [(e.action, e.target) for e in await web_host.directory.audit_entries()]
    assert actions == [("domain.remove", "example.org"), ("domain.add", "example.org")]


async def test_a_domain_in_use_is_not_removed(web_host: MailHost) -> None:
    async with logged_in(web_host) as client:
        answer = await submit(client, "/admin/domains", action="remove", domain="example.test")
        assert answer.status_code == 409
        assert refusal(answer) == (
            "example.test still has 2 accounts, 1 extra address, 2 aliases; remove them first"
        )
        assert "Traceback" not in answer.text


async def test_setting_and_removing_a_transport(web_host: MailHost) -> None:
    async with logged_in(web_host) as client:
        answer = await submit(
            client,
            "/admin/transports",
            action="set",
            domain="hub.example.net",
            nexthop="smtp:[hub.example.net]",
        )
        assert answer.status_code == 303
        page = await client.get("/admin/transports")
        assert "hub.example.net -> [hub.example.net]:25" in flashes(page)
        assert "<code>[127.0.0.1]:1</code>" in page.text  # the test host's own
        bad = await submit(
            client, "/admin/transports", action="set", domain="x.example.net", nexthop="[a b]"
        )
        assert bad.status_code == 400
        assert "Traceback" not in bad.text
        assert refusal(bad)
        removed = await submit(
            client, "/admin/transports", action="remove", domain="hub.example.net"
        )
        assert removed.status_code == 303
        missing = await submit(
            client, "/admin/transports", action="remove", domain="hub.example.net"
        )
        assert missing.status_code == 400
        assert refusal(missing) == "no transport for hub.example.net"
    transports = await web_host.directory.list_transports()
    assert [t.domain for t in transports] == ["lists.example.test"]
    actions = [(e.action, e.detail) for e in await web_host.directory.audit_entries()]
    assert actions == [("transport.remove", ""), ("transport.set", "[hub.example.net]:25")]


async def test_an_unknown_action_is_refused(web_host: MailHost) -> None:
    async with logged_in(web_host) as client:
        answer = await submit(client, "/admin/domains", action="explode", domain="x.test")
        assert answer.status_code == 400
        assert html.unescape(refusal(answer)) == "unknown action 'explode'"
