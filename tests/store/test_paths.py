"""Mailbox path templates: %u, %n, %d and %% expanded, and nothing an address says can
lead the path out of the place the template names."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.config.model import MailboxConfig
from mailroom.config.sieve import SieveConfig
from mailroom.store import (
    MailboxLocation,
    MailboxPathError,
    locate_mailbox,
    locate_sieve,
    mailbox_path,
)

BASE = Path("/srv/mailroom/data")


def test_the_default_template_is_below_the_data_directory() -> None:
    assert mailbox_path("mail/%d/%n/Maildir", "alice@example.org", BASE) == Path(
        "/srv/mailroom/data/mail/example.org/alice/Maildir"
    )


def test_the_legacy_layout_is_absolute() -> None:
    assert mailbox_path("/home/%n/Maildir", "alice@example.org", BASE) == Path(
        "/home/alice/Maildir"
    )


def test_the_whole_address_and_a_percent_sign() -> None:
    assert mailbox_path("vmail/%u/100%%", "alice@example.org", BASE) == Path(
        "/srv/mailroom/data/vmail/alice@example.org/100%"
    )


def test_the_domain_is_lowercased_and_the_local_part_kept() -> None:
    assert mailbox_path("%d/%n", "Alice@Example.ORG", BASE) == BASE / "example.org/Alice"


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("../x@example.org", "starts with '.'"),
        ("..@example.org", "'..' is not a usable directory name"),
        ("a/b@example.org", "contains a path separator"),
        ("a\\b@example.org", "contains a path separator"),
        ("a\0b@example.org", "contains a control character"),
        ("a\nb@example.org", "contains a control character"),
        (".hidden@example.org", "starts with '.'"),
        ("alice@../../etc", "starts with '.'"),
        ("alice@a/b", "contains a path separator"),
        ("alice@", "'' is not a usable directory name"),
        ("@example.org", "empty local part"),
        ("alice", "has no domain"),
        ("x" * 256 + "@example.org", "longer than 255 bytes"),
    ],
)
def test_hostile_addresses_are_refused(address: str, reason: str) -> None:
    with pytest.raises(MailboxPathError, match=reason):
        mailbox_path("mail/%d/%n/Maildir", address, BASE)


def test_a_value_the_template_does_not_use_is_not_checked() -> None:
    # Only %n is used: the domain never reaches the path.
    assert mailbox_path("/home/%n/Maildir", "alice@EXAMPLE", BASE) == Path("/home/alice/Maildir")


def test_a_template_that_climbs_is_refused_too() -> None:
    with pytest.raises(MailboxPathError, match="would leave"):
        mailbox_path("/home/%n/../../etc", "alice@example.org", BASE)


def test_an_unknown_variable_is_refused() -> None:
    with pytest.raises(MailboxPathError, match="only %u, %n, %d and %%"):
        mailbox_path("/home/%x", "alice@example.org", BASE)


@settings(deadline=None, max_examples=500)
@given(
    local=st.text(min_size=0, max_size=40),
    domain=st.text(min_size=0, max_size=20),
    template=st.sampled_from(["mail/%d/%n/Maildir", "/home/%n/Maildir", "%u", "x%n%d/%n.%d"]),
)
def test_no_address_leads_out_of_the_template_prefix(
    local: str, domain: str, template: str
) -> None:
    try:
        path = mailbox_path(template, f"{local}@{domain}", BASE)
    except MailboxPathError:
        return
    prefix = Path("/home") if template.startswith("/home") else BASE
    normal = Path(os.path.normpath(path))
    assert normal == path  # nothing to normalise away: no "..", no "."
    assert prefix in normal.parents


def test_an_account_without_its_own_quota_gets_the_configured_default() -> None:
    config = MailboxConfig(default_quota=5000)

    assert locate_mailbox(config, BASE, "alice@Example.ORG", None) == MailboxLocation(
        BASE / "mail/example.org/alice/Maildir", 5000
    )
    assert locate_mailbox(config, BASE, "alice@example.org", 100).quota_bytes == 100
    assert locate_mailbox(MailboxConfig(), BASE, "alice@example.org", None).quota_bytes is None


def test_locating_an_address_that_cannot_name_a_mailbox_is_refused() -> None:
    with pytest.raises(MailboxPathError):
        locate_mailbox(MailboxConfig(), BASE, "../x@example.org", None)


def test_sieve_scripts_sit_beside_the_maildir_as_pigeonhole_keeps_them() -> None:
    legacy = MailboxConfig(path_template="/home/%n/Maildir")
    where = locate_sieve(SieveConfig(), legacy, BASE, "alice@example.org")
    assert where.scripts == Path("/home/alice/sieve")
    assert where.active == Path("/home/alice/.dovecot.sieve")


def test_sieve_templates_take_the_address_variables_too() -> None:
    config = SieveConfig(scripts_template="sieve/%d/%n", active_template="%h/active%%h")
    where = locate_sieve(config, MailboxConfig(), BASE, "bob@Example.org")
    assert where.scripts == BASE / "sieve/example.org/bob"
    assert where.active == BASE / "mail/example.org/bob/active%h"


def test_a_sieve_path_cannot_be_led_out_by_the_address() -> None:
    with pytest.raises(MailboxPathError):
        locate_sieve(SieveConfig(), MailboxConfig(), BASE, "../x@example.org")
