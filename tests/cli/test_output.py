"""What the commands print: whole rows when piped, JSON on request, help texts as
written."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support.installation import Installation, invoke

LONG_ADDRESS = "a-member-with-a-rather-long-address-that-goes-on-and-on@example.test"
LONG_NAME = "Someone Whose Display Name Is Long As Well"


@pytest.fixture
def site(installation: Installation) -> Installation:
    assert installation.run("domain", "add", "example.test").returncode == 0
    added = installation.run(
        "user", "add", LONG_ADDRESS, "--name", LONG_NAME, "--password-stdin", stdin="pw\n"
    )
    assert added.returncode == 0, added.stderr
    alias = installation.run("alias", "add", "pr@example.test", LONG_ADDRESS, "x@outside.example")
    assert alias.returncode == 0, alias.stderr
    return installation


def piped(site: Installation, *args: str) -> str:
    """The command's output into a pipe, with no COLUMNS: as `| grep` would see it."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("COLUMNS", "LINES", "MAILROOM_CONFIG")
    }
    result = subprocess.run(
        [sys.executable, "-m", "mailroom", "-c", str(site.config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        check=True,
    )
    return result.stdout


def test_a_piped_listing_is_whole_rows_not_an_80_column_table(site: Installation) -> None:
    lines = piped(site, "user", "list").splitlines()
    assert lines == [f"{LONG_ADDRESS}\t{LONG_NAME}\tunlimited\tyes\t"]
    assert len(lines[0]) > 80


def test_a_piped_alias_listing_keeps_every_target(site: Installation) -> None:
    assert piped(site, "alias", "list").splitlines() == [
        f"pr@example.test\t{LONG_ADDRESS}, x@outside.example\t-"
    ]


def test_the_table_format_is_there_on_request(site: Installation) -> None:
    shown = site.run("domain", "list", "--format", "table").stdout
    assert "domain" in shown and "accounts" in shown and "example.test" in shown


def test_user_list_as_json(site: Installation) -> None:
    result = site.run("user", "list", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {
            "address": LONG_ADDRESS,
            "name": LONG_NAME,
            "quota_bytes": None,
            "enabled": True,
            "extra_addresses": [],
        }
    ]


def test_alias_domain_and_transport_lists_as_json(site: Installation) -> None:
    assert site.run("transport", "set", "lists.example.test", "[10.0.0.7]:25").returncode == 0
    aliases = json.loads(site.run("alias", "list", "--format", "json").stdout)
    assert aliases == [
        {"alias": "pr@example.test", "targets": [LONG_ADDRESS, "x@outside.example"], "send_as": []}
    ]
    (domain,) = json.loads(site.run("domain", "list", "--format", "json").stdout)
    assert (domain["domain"], domain["accounts"]) == ("example.test", 1)
    transports = json.loads(site.run("transport", "list", "--format", "json").stdout)
    assert transports == [{"domain": "lists.example.test", "nexthop": "[10.0.0.7]:25"}]


def test_an_empty_queue_as_json(site: Installation) -> None:
    result = site.run("queue", "list", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def words(text: str) -> str:
    """`text` with its line wrapping undone."""
    return " ".join(text.split())


def test_help_keeps_its_brackets() -> None:
    transport = words(invoke("transport", "set", "--help").stdout)
    assert "[host]:port (no MX lookup)" in transport
    assert "smtp:[host]" in transport
    keygen = words(invoke("dkim", "keygen", "--help").stdout)
    assert "(default: [dkim] selector, 'mail')" in keygen
    assert "(default: [dkim] algorithm)" in keygen


def test_help_shows_on_off_options_as_flags() -> None:
    keygen = invoke("dkim", "keygen", "--help").stdout
    (force,) = [line for line in keygen.splitlines() if "--force" in line]
    assert "<bool>" not in force
    assert "<bool>" not in invoke("user", "add", "--help").stdout
