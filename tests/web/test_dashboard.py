"""The administrator's dashboard on the real host: who may see it, and that each
picture shows what the host holds (a deferred and a held message in the queue, the
host's certificate, a DKIM key, the disks) as inline SVG with nothing fetched from
elsewhere."""

from __future__ import annotations

import re

import httpx

from mailroom.app.standalone import dkim_keys
from mailroom.mailauth.dkim import DkimAlgorithm
from tests.support.mail_host import PASSWORD, MailHost
from tests.support.submission import submit
from tests.web.conftest import web_client
from tests.web.test_login import log_in

WAITING = "dave@outside.example"


async def dashboard_of(host: MailHost, login: str) -> httpx.Response:
    """`/admin` as `login` sees it, after logging in with the password."""
    async with web_client(host) as client:
        assert (await log_in(client, login, PASSWORD)).status_code == 303
        return await client.get("/admin")


async def test_the_dashboard_is_for_administrators_only(web_host: MailHost) -> None:
    async with web_client(web_host) as anonymous:
        answer = await anonymous.get("/admin")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login?next=/admin"
    assert (await dashboard_of(web_host, "bob@example.test")).status_code == 403


async def test_the_dashboard_draws_the_queue_by_state_and_age(web_host: MailHost) -> None:
    web_host.internet.mx.rcpt_replies[WAITING] = "451 4.3.0 <dave@outside.example>: try later"
    await submit(web_host, "alice@example.test", [WAITING])
    await submit(web_host, "alice@example.test", [WAITING])
    await web_host.running.dispatcher.settled()
    queue = web_host.running.services.queue
    first, _ = await queue.entries()
    await queue.set_held(first.queue_id, True)

    answer = await dashboard_of(web_host, "alice@example.test")
    assert answer.status_code == 200
    section = re.search(r'<section class="card" id="queue">(.*?)</section>', answer.text, re.S)
    assert section, answer.text
    assert "2 messages to deliver" in section.group(1)
    assert "&lt; 5 min: 1 deferred messages" in section.group(1)
    assert "&lt; 5 min: 1 held messages" in section.group(1)
    assert '<rect class="bar s-warn"' in section.group(1)
    assert '<rect class="bar s-held"' in section.group(1)


async def test_the_dashboard_draws_this_hours_mail_and_logins(web_host: MailHost) -> None:
    web_host.internet.mx.rcpt_replies[WAITING] = "451 4.3.0 <dave@outside.example>: try later"
    await submit(web_host, "alice@example.test", [WAITING])
    await submit(web_host, "alice@example.test", ["carol@outside.example"])
    await web_host.running.dispatcher.settled()
    async with web_client(web_host) as client:
        assert (await log_in(client, "alice@example.test", "wrong")).status_code == 401
        assert (await log_in(client, "alice@example.test", PASSWORD)).status_code == 303
        page = (await client.get("/admin")).text
    mail = re.search(r'<figure class="chart" id="chart-mail">(.*?)</figure>', page, re.S)
    assert mail, page
    legend = re.sub(r"\s+", " ", mail.group(1))
    for name, count in (("received", 2), ("delivered", 1), ("deferred", 1), ("bounced", 0)):
        assert f"{name} <b>{count}</b>" in legend, legend
    logins = re.search(r'<figure class="chart" id="chart-logins">(.*?)</figure>', page, re.S)
    assert logins, page
    legend = re.sub(r"\s+", " ", logins.group(1))
    # Two submissions and the web login succeeded; one web login failed.
    assert "logins <b>3</b>" in legend, legend
    assert "failed logins <b>1</b>" in legend, legend


async def test_the_dashboard_shows_expiry_of_certificates_and_dkim_keys(
    web_host: MailHost,
) -> None:
    dkim_keys(web_host.config).create("example.test", DkimAlgorithm.ED25519)
    page = (await dashboard_of(web_host, "alice@example.test")).text
    certificates = re.search(r'id="meters-certificates"(.*?)</ul>', page, re.S)
    assert certificates, page
    assert re.search(r"\d+ days left", certificates.group(1))
    assert "smtp, submission, smtps, web" in certificates.group(1)  # who uses it
    dkim = re.search(r'id="meters-dkim"(.*?)</ul>', page, re.S)
    assert dkim, page
    assert "example.test (mail, ed25519)" in dkim.group(1)
    assert "0 days old" in dkim.group(1)
    disks = re.search(r'id="meters-disks"(.*?)</ul>', page, re.S)
    assert disks, page
    assert "% used" in disks.group(1)


async def test_the_dashboard_is_pictures_and_fetches_nothing_from_elsewhere(
    web_host: MailHost,
) -> None:
    page = (await dashboard_of(web_host, "alice@example.test")).text
    async with web_client(web_host) as client:
        stylesheet = await client.get("/static/dashboard.css")
    assert page.count("<svg") >= 3
    assert "<script" not in page
    assert "<table" not in page
    # Links and sources are this site's own; only the SVG namespace names a URL.
    for reference in re.findall(r'(?:src|href)="([^"]*)"', page):
        assert reference.startswith("/"), reference
    assert stylesheet.status_code == 200
