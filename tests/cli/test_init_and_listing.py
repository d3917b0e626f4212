"""`mailroom init` and the listing commands, as an administrator sees them."""

from __future__ import annotations

import ssl
import stat

from mailroom.config import load_config
from tests.support.installation import Installation, invoke


def test_init_writes_a_config_a_directory_and_a_certificate(installation: Installation) -> None:
    config = load_config(installation.config)
    assert config.hostname == "mail.example.test"
    assert (installation.root / "directory.sqlite3").exists()
    key = installation.root / "tls" / "key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(installation.root / "tls" / "cert.pem", key)
    assert installation.run("config", "check").returncode == 0


def test_every_command_takes_the_config_option_after_the_command(
    installation: Installation,
) -> None:
    result = invoke("domain", "add", "example.test", "-c", str(installation.config))
    assert result.returncode == 0, result.stderr
    assert "example.test" in invoke("domain", "list", "--config", str(installation.config)).stdout


def test_aliases_addresses_and_transports_are_listed(installation: Installation) -> None:
    site = installation
    assert site.run("domain", "add", "example.test").returncode == 0
    assert (
        site.run("user", "add", "alice@example.test", "--password-stdin", stdin="pw\n").returncode
        == 0
    )
    assert (
        site.run("address", "add", "alice@example.test", "alice.liddell@example.test").returncode
        == 0
    )
    result = site.run(
        "alias",
        "add",
        "pr@example.test",
        "alice@example.test",
        "press@outside.example",
        "--send-as",
        "alice@example.test",
    )
    assert result.returncode == 0, result.stderr
    result = site.run("transport", "set", "lists.example.test", "smtp:[lists-host.example.test]")
    assert result.returncode == 0, result.stderr

    users = site.run("user", "list").stdout
    assert "alice.liddell@example.test" in users
    aliases = site.run("alias", "list").stdout
    assert "pr@example.test" in aliases and "press@outside.example" in aliases
    assert "[lists-host.example.test]:25" in site.run("transport", "list").stdout
    shown = site.run("user", "show", "alice@example.test").stdout
    assert "pr@example.test" in shown  # may send as

    assert site.run("alias", "revoke", "pr@example.test", "alice@example.test").returncode == 0
    assert "pr@example.test" not in site.run("user", "show", "alice@example.test").stdout
    assert site.run("address", "add", "alice@example.test", "extra@example.test").returncode == 0
    assert site.run("address", "remove", "extra@example.test").returncode == 0
    assert site.run("transport", "remove", "lists.example.test").returncode == 0
    assert "lists.example.test" not in site.run("transport", "list").stdout


def test_a_login_as_the_extra_address_reaches_the_account(installation: Installation) -> None:
    site = installation
    site.run("domain", "add", "example.test")
    site.run("user", "add", "alice@example.test", "--password-stdin", stdin="pw\n")
    site.run("address", "add", "alice@example.test", "alice.liddell@example.test")
    result = site.run("auth", "test", "alice.liddell@example.test", "pw")
    assert result.returncode == 0, result.stderr
    assert "logs in as alice@example.test" in result.stdout


def test_auth_hash_makes_a_hash_a_master_user_can_use(installation: Installation) -> None:
    site = installation
    site.run("domain", "add", "example.test")
    site.run("user", "add", "alice@example.test", "--password-stdin", stdin="pw\n")
    made = site.run("auth", "hash", "--password-stdin", stdin="master secret\n")
    assert made.returncode == 0, made.stderr
    hashed = made.stdout.strip()
    assert hashed.startswith("$argon2id$")
    text = site.config.read_text().replace(
        "[auth.passwords]",
        f'[[auth.master_users]]\nname = "webmail"\npassword_hash = "{hashed}"\n'
        f'networks = ["192.0.2.20/32"]\n\n[auth.passwords]',
    )
    site.config.write_text(text)
    login = "alice@example.test*webmail"
    allowed = site.run("auth", "test", login, "master secret", "--client-ip", "192.0.2.20")
    assert allowed.returncode == 0, allowed.stderr
    assert "through master user webmail" in allowed.stdout
    refused = site.run("auth", "test", login, "master secret", "--client-ip", "192.0.2.21")
    assert refused.returncode == 77
