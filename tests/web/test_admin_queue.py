"""/admin/queue over the real host: a message deferred for a relay domain that does not
answer is listed by state and age, shown with its envelope and headers, and held,
released, retried, bounced and deleted through the control channel's handler, as
`mailroom queue` does; each change is in the audit log."""

from __future__ import annotations

import re

import httpx
from hypothesis import given
from hypothesis import strategies as st

from mailroom.web.admin_queue import age_bucket, age_text, header_fields
from tests.support.incoming_mail import send
from tests.support.mail_host import MailHost
from tests.web.logged_in import ADMIN, MEMBER, logged_in, post_form

MESSAGE = (
    b"From: Carol <carol@outside.example>\r\nTo: tracker@lists.example.test\r\n"
    b"Subject: <b>bold</b> news\r\nX-Odd: caf\xc3\xa9 \xff\r\n\r\nHi there.\r\n"
)


async def deferred_message(host: MailHost) -> str:
    """A message the relay domain's next hop (127.0.0.1:1) refuses: deferred, queued."""
    assert await send(host, "carol@outside.example", ["tracker@lists.example.test"], MESSAGE) == {}
    await host.running.dispatcher.settled()
    (entry,) = await host.running.services.queue.entries()
    return entry.queue_id


async def test_the_queue_lists_a_deferred_message_by_state_and_age(web_host: MailHost) -> None:
    queue_id = await deferred_message(web_host)
    async with logged_in(web_host) as client:
        listing = await client.get("/admin/queue")
        assert listing.status_code == 200
        row = re.search(rf'<tr id="queue-row-{queue_id}"[^>]*data-state="(\w+)"', listing.text)
        assert row and row.group(1) == "deferred"
        assert 'id="queue-total">1<' in listing.text
        assert '<td data-state="deferred">1</td>' in listing.text
        assert "tracker@lists.example.test (deferred)" in listing.text
        held_only = await client.get("/admin/queue?state=held")
        assert queue_id not in held_only.text
        assert 'id="queue-empty"' in held_only.text


async def test_a_message_shows_its_envelope_and_escaped_headers(web_host: MailHost) -> None:
    queue_id = await deferred_message(web_host)
    async with logged_in(web_host) as client:
        shown = await client.get(f"/admin/queue/{queue_id}")
        assert shown.status_code == 200
        assert "&lt;carol@outside.example&gt;" in shown.text
        assert "Subject: &lt;b&gt;bold&lt;/b&gt; news" in shown.text
        assert "<b>bold</b>" not in shown.text
        assert "X-Odd: café \ufffd" in shown.text
        for action in ("retry", "hold", "release", "delete", "bounce"):
            assert f'id="queue-{action}"' in shown.text


async def test_holding_and_releasing_go_through_the_queue_and_the_audit_log(
    web_host: MailHost,
) -> None:
    queue_id = await deferred_message(web_host)
    queue = web_host.running.services.queue
    page = f"/admin/queue/{queue_id}"
    async with logged_in(web_host) as client:
        held = await post_form(client, page, f"{page}/hold")
        assert held.status_code == 303
        assert held.headers["location"] == page
        entry = await queue.get(queue_id)
        assert entry is not None and entry.envelope.held
        shown = await client.get(page)
        assert f"{queue_id}: held" in shown.text
        assert 'data-state="held"' in shown.text
        listing = await client.get("/admin/queue?state=held")
        assert f'id="queue-row-{queue_id}"' in listing.text
        released = await post_form(client, page, f"{page}/release")
        assert released.status_code == 303
        entry = await queue.get(queue_id)
        assert entry is not None and not entry.envelope.held
        assert f"{queue_id}: released" in (await client.get(page)).text
    entries = await web_host.directory.audit_entries()
    actions = [(e.actor, e.action, e.target, e.detail) for e in entries]
    assert (ADMIN, "queue.hold", queue_id, "held") in actions
    assert (ADMIN, "queue.release", queue_id, "released") in actions


async def test_retrying_a_held_message_says_to_release_it_first(web_host: MailHost) -> None:
    queue_id = await deferred_message(web_host)
    page = f"/admin/queue/{queue_id}"
    async with logged_in(web_host) as client:
        await post_form(client, page, f"{page}/hold")
        await post_form(client, page, f"{page}/retry")
        assert "held (release it first)" in (await client.get(page)).text


async def test_bouncing_returns_the_message_to_its_sender_and_removes_it(
    web_host: MailHost,
) -> None:
    queue_id = await deferred_message(web_host)
    page = f"/admin/queue/{queue_id}"
    async with logged_in(web_host) as client:
        bounced = await post_form(client, page, f"{page}/bounce")
        assert bounced.status_code == 303
        assert bounced.headers["location"] == "/admin/queue"
        listing = await client.get("/admin/queue")
        assert re.search(rf"{queue_id}: bounced \(report \w+\)", listing.text)
        assert f'id="queue-row-{queue_id}"' not in listing.text
        assert (await client.get(page)).status_code == 404


async def test_deleting_removes_the_message_and_a_second_delete_finds_nothing(
    web_host: MailHost,
) -> None:
    queue_id = await deferred_message(web_host)
    page = f"/admin/queue/{queue_id}"
    async with logged_in(web_host) as client:
        token_page = await client.get(page)
        deleted = await post_form(client, page, f"{page}/delete")
        assert deleted.headers["location"] == "/admin/queue"
        assert await web_host.running.services.queue.get(queue_id) is None
        again = await client.post(f"{page}/delete", data={"csrf_token": _token(token_page)})
        assert again.headers["location"] == "/admin/queue"
        assert f"{queue_id}: not in the queue" in (await client.get("/admin/queue")).text


async def test_a_change_without_the_form_token_is_refused(web_host: MailHost) -> None:
    queue_id = await deferred_message(web_host)
    async with logged_in(web_host) as client:
        answer = await client.post(f"/admin/queue/{queue_id}/delete", data={})
        assert answer.status_code == 403
    assert await web_host.running.services.queue.get(queue_id) is not None


async def test_a_member_gets_no_queue_page_and_changes_nothing(web_host: MailHost) -> None:
    queue_id = await deferred_message(web_host)
    async with logged_in(web_host, MEMBER) as client:
        assert (await client.get("/admin/queue")).status_code == 403
        assert (await client.get(f"/admin/queue/{queue_id}")).status_code == 403
        home = await client.get("/")
        answer = await client.post(
            f"/admin/queue/{queue_id}/delete", data={"csrf_token": _token(home)}
        )
        assert answer.status_code == 403
    assert await web_host.running.services.queue.get(queue_id) is not None


async def test_unknown_ids_and_actions_are_not_found(web_host: MailHost) -> None:
    queue_id = await deferred_message(web_host)
    async with logged_in(web_host) as client:
        assert (await client.get("/admin/queue/NOSUCHID")).status_code == 404
        assert (await client.get("/admin/queue/../../etc")).status_code == 404
        assert (await client.get("/admin/queue?state=odd")).status_code == 404
        page = f"/admin/queue/{queue_id}"
        answer = await post_form(client, page, f"{page}/explode")
        assert answer.status_code == 404


def _token(page: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


def test_ages_read_at_a_glance() -> None:
    assert [age_text(s) for s in (5, 125, 3 * 3600 + 300, 2 * 86400 + 4 * 3600)] == [
        "5s",
        "2m",
        "3h 5m",
        "2d 4h",
    ]
    assert age_bucket(30) == "under 10 minutes"
    assert age_bucket(10 * 86400) == "over 3 days"


@given(st.binary(max_size=4096))
def test_any_bytes_give_header_fields_a_page_can_show(data: bytes) -> None:
    for name, value in header_fields(data):
        (name + value).encode("utf-8")  # no surrogates left


@given(
    st.lists(
        st.tuples(
            st.text(
                st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=":"),
                min_size=1,
                max_size=20,
            ),
            st.binary(max_size=200).filter(lambda b: b"\n" not in b and b"\r" not in b),
        ),
        max_size=10,
    )
)
def test_hostile_header_lines_never_break_the_parser(fields: list[tuple[str, bytes]]) -> None:
    data = b"".join(name.encode() + b": " + value + b"\r\n" for name, value in fields)
    header_fields(data + b"\r\nbody")
