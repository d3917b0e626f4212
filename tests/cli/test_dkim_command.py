"""`mailroom dkim keygen|show`, as an administrator setting up DKIM for a domain sees it."""

from __future__ import annotations

import re
import stat

import dkim

from mailroom.config import load_config
from mailroom.mailauth import DkimKeys, DkimSigner
from tests.support.installation import Installation

MESSAGE = (
    b"From: alice@example.test\r\nTo: bob@elsewhere.test\r\nSubject: hello\r\n\r\nHello Bob.\r\n"
)


def published_record(output: str, name: str) -> str:
    """The TXT value of the zone-file line for `name`, its quoted strings joined."""
    line = next(line for line in output.splitlines() if line.startswith(name + " IN TXT "))
    strings = re.findall(r'"([^"]*)"', line)
    assert all(len(piece) <= 255 for piece in strings)
    return "".join(strings)


def test_keygen_writes_a_key_and_prints_the_record_to_publish(
    installation: Installation,
) -> None:
    result = installation.run("dkim", "keygen", "Example.TEST")
    assert result.returncode == 0, result.stderr
    record = published_record(result.stdout, "mail._domainkey.example.test.")
    assert record.startswith("v=DKIM1; k=rsa; p=")
    key_file = installation.root / "dkim" / "example.test.mail.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700


def test_mail_signed_with_the_new_key_verifies_against_the_printed_record(
    installation: Installation,
) -> None:
    result = installation.run("dkim", "keygen", "example.test", "--algorithm", "ed25519")
    assert result.returncode == 0, result.stderr
    record = published_record(result.stdout, "mail._domainkey.example.test.")
    assert record.startswith("v=DKIM1; k=ed25519; p=")

    config = load_config(installation.config)
    keys = DkimKeys(config.resolve(config.dkim.key_directory), config.dkim.selector)
    header = DkimSigner(keys).sign(MESSAGE, "example.test")
    assert header is not None

    def dns(name: bytes, timeout: int = 5) -> bytes | None:
        return record.encode() if name == b"mail._domainkey.example.test." else None

    assert dkim.verify(header + MESSAGE, dnsfunc=dns)


def test_a_second_keygen_is_refused_without_force(installation: Installation) -> None:
    first = installation.run("dkim", "keygen", "example.test", "--algorithm", "ed25519")
    assert first.returncode == 0, first.stderr
    second = installation.run("dkim", "keygen", "example.test")
    assert second.returncode == 1
    assert second.stderr.strip().splitlines() == [
        f"mailroom: error: a DKIM key for example.test with selector 'mail' exists already "
        f"({installation.root / 'dkim' / 'example.test.mail.key'}); use --force to replace it"
    ]
    shown = installation.run("dkim", "show", "example.test")
    assert shown.stdout == first.stdout.splitlines()[-1] + "\n"

    forced = installation.run("dkim", "keygen", "example.test", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "k=rsa" in installation.run("dkim", "show", "example.test").stdout


def test_show_prints_the_record_of_an_existing_key(installation: Installation) -> None:
    made = installation.run("dkim", "keygen", "example.test", "--selector", "s2026")
    assert made.returncode == 0, made.stderr
    shown = installation.run("dkim", "show", "example.test", "--selector", "s2026")
    assert shown.returncode == 0, shown.stderr
    assert published_record(shown.stdout, "s2026._domainkey.example.test.") == published_record(
        made.stdout, "s2026._domainkey.example.test."
    )


def test_show_without_a_key_says_how_to_make_one(installation: Installation) -> None:
    result = installation.run("dkim", "show", "example.test")
    assert result.returncode == 1
    assert result.stderr == (
        "mailroom: error: no DKIM key for example.test with selector 'mail' "
        "(make one with `mailroom dkim keygen example.test`)\n"
    )


def test_an_invalid_domain_is_refused_in_one_line(installation: Installation) -> None:
    result = installation.run("dkim", "keygen", "not a domain")
    assert result.returncode == 1
    assert result.stderr == (
        "mailroom: error: invalid address 'not a domain': "
        "the domain needs at least two labels, like example.org\n"
    )
    assert not (installation.root / "dkim").exists()


def test_an_invalid_selector_is_refused_in_one_line(installation: Installation) -> None:
    result = installation.run("dkim", "keygen", "example.test", "--selector", "a/b")
    assert result.returncode == 1
    assert result.stderr == (
        "mailroom: error: 'a/b' is not a DKIM selector "
        "(letters, digits and inner hyphens, like 'mail')\n"
    )


def test_the_configured_selector_and_key_directory_are_used(installation: Installation) -> None:
    text = installation.config.read_text()
    installation.config.write_text(
        text.replace("[dkim]\n", '[dkim]\nselector = "outbound"\nkey_directory = "keys"\n')
    )
    result = installation.run("dkim", "keygen", "example.test")
    assert result.returncode == 0, result.stderr
    assert "outbound._domainkey.example.test. IN TXT" in result.stdout
    assert (installation.root / "keys" / "example.test.outbound.key").exists()
