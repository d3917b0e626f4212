"""The audit log page (`/admin/audit`): administrators see every change, newest first,
with who, from where and what, escaped; one actor's only on request; members get 403."""

from __future__ import annotations

from tests.support.mail_host import PASSWORD, MailHost
from tests.web.conftest import web_client
from tests.web.test_login import log_in


async def test_an_administrator_sees_the_changes_newest_first(web_host: MailHost) -> None:
    directory = web_host.directory
    await directory.record_audit("alice@example.test", "127.0.0.1", "alias.add", "pr@example.test")
    await directory.record_audit(
        "bob@example.test", "2001:db8::1", "vacation.set", "bob@example.test", "<b>away</b>"
    )
    async with web_client(web_host) as client:
        await log_in(client, "alice@example.test", PASSWORD)
        page = await client.get("/admin/audit")
        assert page.status_code == 200
        assert 'id="audit-log"' in page.text
        assert page.text.index("vacation.set") < page.text.index("alias.add")
        assert "2001:db8::1" in page.text
        assert "&lt;b&gt;away&lt;/b&gt;" in page.text and "<b>away" not in page.text


async def test_the_log_can_show_one_actor(web_host: MailHost) -> None:
    directory = web_host.directory
    await directory.record_audit("alice@example.test", "127.0.0.1", "alias.add", "pr@example.test")
    await directory.record_audit("bob@example.test", "127.0.0.1", "password.change", "bob")
    async with web_client(web_host) as client:
        await log_in(client, "alice@example.test", PASSWORD)
        page = await client.get("/admin/audit", params={"actor": "bob@example.test"})
        assert "password.change" in page.text and "alias.add" not in page.text
        nobody = await client.get("/admin/audit", params={"actor": "nobody@example.test"})
        assert 'id="audit-empty"' in nobody.text


async def test_a_member_may_not_read_the_log(web_host: MailHost) -> None:
    async with web_client(web_host) as client:
        assert (await client.get("/admin/audit")).headers["location"] == "/login?next=/admin/audit"
        await log_in(client, "bob@example.test", PASSWORD)
        assert (await client.get("/admin/audit")).status_code == 403
