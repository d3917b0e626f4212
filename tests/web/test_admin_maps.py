"""The admin's read-only page of the routing table files named in `[routing]`: each file's
text, its entry count, and a file the loader would refuse shown with routing's own
`path:line: message`, never a traceback."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.mail_host import MailHost, start_host
from tests.web.admin_pages import logged_in
from tests.web.conftest import ADMIN_SETTINGS, WEB_LISTENERS

MAP_SETTINGS = {
    **ADMIN_SETTINGS,
    '# aliases_file = "/etc/aliases"  # example; default: none': 'aliases_file = "aliases"',
    '# rewrite_maps = ["/etc/mailroom/arbitration"]  # example; default: none': (
        'rewrite_maps = ["arbitration"]'
    ),
    '# recipient_bcc_maps = ["/etc/mailroom/recipient-bcc"]  # example; default: none': (
        'recipient_bcc_maps = ["recipient-bcc"]'
    ),
    '# transport_maps = ["/etc/mailroom/transport"]  # example; default: none': (
        'transport_maps = ["transport"]'
    ),
}

FILES = {
    "arbitration": (
        "# the legacy arbitration map\n/^case-([0-9]+)@example\\.test$/ alice@example.test\n"
    ),
    "aliases": "postmaster: alice\nabuse: alice, bob\n",
    "recipient-bcc": "bob@example.test  alice@example.test\n",
    "transport": "relay.example.net  smtp:[127.0.0.1]:2525\n.sub.example.net  relay:[hub]\n",
}


@pytest.fixture
async def map_host(tmp_path: Path) -> AsyncIterator[MailHost]:
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    async for host in start_host(tmp_path, MAP_SETTINGS, WEB_LISTENERS):
        yield host


def sections(text: str) -> dict[str, str]:
    """The page's sections by the config key they show."""
    found = re.findall(r'data-kind="([a-z_]+)">(.*?)</section>', text, re.DOTALL)
    return {kind: html.unescape(body) for kind, body in found}


async def test_every_named_file_is_shown_with_its_entries(map_host: MailHost) -> None:
    async with logged_in(map_host) as client:
        answer = await client.get("/admin/maps")
        assert answer.status_code == 200
    shown = sections(answer.text)
    assert list(shown) == ["rewrite_maps", "aliases_file", "recipient_bcc_maps", "transport_maps"]
    expected = {
        "rewrite_maps": ("arbitration", "1 entry"),
        "aliases_file": ("aliases", "2 entries"),
        "recipient_bcc_maps": ("recipient-bcc", "1 entry"),
        "transport_maps": ("transport", "2 entries"),
    }
    for kind, (name, entries) in expected.items():
        assert f"<code>{map_host.root / name}</code>" in shown[kind]
        assert entries in shown[kind]
        assert FILES[name] in shown[kind]  # the text as it is, escaped in the page


async def test_a_file_the_loader_refuses_is_shown_with_its_line(map_host: MailHost) -> None:
    (map_host.root / "aliases").write_text("postmaster: alice\nroot: |/bin/sh -c <script>\n")
    (map_host.root / "recipient-bcc").unlink()
    async with logged_in(map_host) as client:
        answer = await client.get("/admin/maps")
        assert answer.status_code == 200
    assert "<script>" not in answer.text
    shown = sections(answer.text)
    aliases_error = re.search(r'class="error map-error">([^<]*)<', shown["aliases_file"])
    assert aliases_error and aliases_error.group(1).startswith(f"{map_host.root / 'aliases'}:2: ")
    assert "root: |/bin/sh -c <script>" in shown["aliases_file"]
    assert f"{map_host.root / 'recipient-bcc'}: no such file" in shown["recipient_bcc_maps"]
    assert "Traceback" not in answer.text


async def test_a_config_without_map_files_says_so(web_host: MailHost) -> None:
    async with logged_in(web_host) as client:
        answer = await client.get("/admin/maps")
        assert answer.status_code == 200
        assert 'id="no-maps"' in answer.text


async def test_a_rewrite_result_that_is_no_address_is_refused_as_the_router_would(
    map_host: MailHost,
) -> None:
    (map_host.root / "arbitration").write_text("/^a@/ alice@example.test\n/^b@/ b@@example.test\n")
    async with logged_in(map_host) as client:
        answer = await client.get("/admin/maps")
    shown = sections(answer.text)["rewrite_maps"]
    assert f"{map_host.root / 'arbitration'}:2: the result 'b@@example.test'" in shown
