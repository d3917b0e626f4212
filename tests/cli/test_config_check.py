"""`mailroom config check` builds the host `mailroom serve` builds, without listening:
whatever serve would refuse, check refuses in one line; otherwise it says what would
listen where."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.installation import Installation, make_installation

WEB_LISTENER = """
[[listeners]]
name = "admin"
protocol = "web"
address = "127.0.0.1:8080"
"""


def configure(site: Installation, shipped: str, changed: str) -> None:
    text = site.config.read_text()
    assert shipped in text
    site.config.write_text(text.replace(shipped, changed, 1))


def refusal(site: Installation, *args: str) -> str:
    result = site.run(*args)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_check_says_what_would_listen_where(installation: Installation) -> None:
    result = installation.run("config", "check")
    assert result.returncode == 0, result.stderr
    assert f"{installation.config}: OK (0 domain(s), 9 listener(s))" in result.stdout
    assert "would listen: smtp: smtp on [::]:25 (tls starttls)" in result.stdout
    assert "would listen: imaps: imap on [::]:993 (tls implicit)" in result.stdout
    assert "would listen: managesieve: managesieve on [::]:4190 (tls starttls)" in result.stdout
    assert "would listen: web: web on [::]:8443 (tls implicit)" in result.stdout


def test_check_writes_nothing(installation: Installation) -> None:
    before = sorted(path for path in installation.root.rglob("*"))
    assert installation.run("config", "check").returncode == 0
    assert sorted(path for path in installation.root.rglob("*")) == before


def test_a_second_web_listener_is_accepted(installation: Installation) -> None:
    installation.config.write_text(installation.config.read_text() + WEB_LISTENER)
    result = installation.run("config", "check")
    assert result.returncode == 0, result.stderr
    assert "would listen: admin: web on" in result.stdout


def test_a_missing_aliases_file_is_refused(installation: Installation) -> None:
    configure(installation, '# aliases_file = "/etc/aliases"', 'aliases_file = "aliases"')
    line = refusal(installation, "config", "check")
    assert line == f"mailroom: error: {installation.root / 'aliases'}: no such file"


def test_a_pipe_alias_in_the_aliases_file_is_refused(installation: Installation) -> None:
    (installation.root / "aliases").write_text("postmaster: root\nroot: |/usr/bin/procmail\n")
    configure(installation, '# aliases_file = "/etc/aliases"', 'aliases_file = "aliases"')
    line = refusal(installation, "config", "check")
    assert line.startswith(f"mailroom: error: {installation.root / 'aliases'}:2: ")
    assert "delivery to a command is not supported" in line


def test_a_bad_regexp_in_a_rewrite_map_is_refused(installation: Installation) -> None:
    (installation.root / "arbitration").write_text("/^(deleted@example\\.test$/ bob@example.test\n")
    configure(
        installation,
        '# rewrite_maps = ["/etc/mailroom/arbitration"]',
        'rewrite_maps = ["arbitration"]',
    )
    line = refusal(installation, "config", "check")
    assert line.startswith(f"mailroom: error: {installation.root / 'arbitration'}:1: bad pattern")


def test_a_missing_certificate_is_refused(installation: Installation) -> None:
    (installation.root / "tls" / "cert.pem").unlink()
    line = refusal(installation, "config", "check")
    assert "cannot load certificate" in line
    assert str(installation.root / "tls" / "cert.pem") in line


def test_a_missing_relay_password_file_is_refused(installation: Installation) -> None:
    configure(
        installation,
        '# relayhost = "[emailout.example.org]:25"',
        'relayhost = "[emailout.example.org]:25"\n'
        'relayhost_username = "mailroom"\n'
        'relayhost_password_file = "relayhost.password"',
    )
    line = refusal(installation, "config", "check")
    assert "delivery.relayhost_password_file" in line
    assert "relayhost.password" in line


@pytest.mark.parametrize("demo", [False, True])
def test_init_writes_every_listener_active(tmp_path: Path, demo: bool) -> None:
    site = make_installation(tmp_path / "site", *(["--demo"] if demo else []))
    text = site.config.read_text()
    assert '\nprotocol = "managesieve"' in text
    assert '\nprotocol = "web"' in text
    assert "Not in this version yet" not in text
    assert site.run("config", "check").returncode == 0


def test_a_data_dir_that_is_a_file_is_refused(installation: Installation) -> None:
    (installation.root / "not-a-dir").write_text("")
    configure(installation, '# data_dir = "data"', 'data_dir = "not-a-dir"')
    line = refusal(installation, "config", "check")
    assert line == (
        f"mailroom: error: {installation.root / 'not-a-dir'}: data_dir is not a directory; "
        f"set data_dir in {installation.config}"
    )
