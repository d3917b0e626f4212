"""The few values the admin's forms read themselves (a list of addresses, a quota) with
hostile input, and hostile form fields posted to the real pages: always a page with a
refusal, never a server error."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailroom.web.admin_directory_forms import (
    MAX_LIST_ITEMS,
    Refused,
    address_list,
    address_url,
    quota_of,
)
from tests.support.mail_host import MailHost
from tests.web.admin_pages import logged_in, submit


@given(st.text())
def test_an_address_list_holds_no_separator_and_loses_no_character(text: str) -> None:
    try:
        items = address_list(text)
    except Refused:
        assert len(re.split(r"[\s,;]+", text)) > MAX_LIST_ITEMS
        return
    assert all(item and not re.search(r"[\s,;]", item) for item in items)
    assert "".join(items) == re.sub(r"[\s,;]+", "", text)


def test_addresses_are_split_at_commas_semicolons_and_lines() -> None:
    assert address_list(" a@x.test,b@x.test;\r\n c@x.test\t") == [
        "a@x.test",
        "b@x.test",
        "c@x.test",
    ]
    assert address_list(" , \n") == []


def test_too_many_addresses_are_refused() -> None:
    with pytest.raises(Refused, match="at most 1000 addresses"):
        address_list(",".join(["a@x.test"] * (MAX_LIST_ITEMS + 1)))


@given(st.text(max_size=40))
def test_a_quota_is_a_size_none_or_refused(text: str) -> None:
    try:
        quota = quota_of(text)
    except Refused as error:
        assert str(error).startswith("quota: ")
        return
    assert quota is None or (isinstance(quota, int) and quota >= 0)


@given(st.text(min_size=1, max_size=60))
def test_an_address_url_stays_under_its_prefix(address: str) -> None:
    url = address_url("/admin/accounts", address)
    assert url.startswith("/admin/accounts/")
    assert not re.search(r"[?#\s]", url)


HOSTILE = [
    "",
    " ",
    "\x00",
    "a\r\nSet-Cookie: x=1@example.test",
    "<script>alert(1)</script>@example.test",
    "x" * 70_000,
    "@",
    "\u202e@example.test",
    "../../etc/passwd",
    "%00@example.test",
]

FORMS = [
    ("/admin/domains", {"action": "add"}, "domain"),
    ("/admin/domains", {"action": "remove"}, "domain"),
    ("/admin/transports", {"action": "set", "domain": "x.example.net"}, "nexthop"),
    ("/admin/transports", {"action": "set", "nexthop": "[h]:25"}, "domain"),
    ("/admin/accounts", {"action": "add", "password": "p", "password_repeat": "p"}, "address"),
    ("/admin/accounts", {"action": "add", "address": "z@example.test"}, "quota"),
    ("/admin/accounts/bob@example.test", {"action": "address-add"}, "address"),
    ("/admin/accounts/bob@example.test", {"action": "update", "quota": ""}, "display_name"),
    ("/admin/aliases", {"action": "add", "address": "y@example.test"}, "targets"),
    ("/admin/aliases", {"action": "add", "targets": "bob@example.test"}, "address"),
    ("/admin/aliases/pr@example.test", {"action": "grant"}, "account"),
]


async def test_hostile_fields_get_a_refusal_never_a_server_error(web_host: MailHost) -> None:
    async with logged_in(web_host) as client:
        for url, fields, name in FORMS:
            for value in HOSTILE:
                answer = await submit(client, url, **{**fields, name: value})
                assert answer.status_code in (303, 400, 404, 409), (url, name, value[:40])
                assert "<script>alert" not in answer.text
                assert "Traceback" not in answer.text
    for domain in await web_host.directory.list_domains():
        assert domain.name in ("example.test",)
