"""An administrator adds a user and checks the login, on each SQL backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.databases import BACKENDS, make_database
from tests.support.installation import Installation, make_installation, use_cheap_password_hashing

LEGACY_HASH = "$1$caea3837$gPafod/Do/8Jj5M9HehhM."


@pytest.fixture(params=BACKENDS)
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Installation]:
    """An installation whose directory is on SQLite, MariaDB or PostgreSQL, with one domain."""
    for url in make_database(request.param, tmp_path):
        extra = () if request.param == "sqlite" else ("--directory-url", url)
        # The logins are the point, not argon2id's cost (~0.3 s of a core per hash as shipped).
        site = use_cheap_password_hashing(make_installation(tmp_path / "mailroom", *extra))
        assert site.run("domain", "add", "example.test").returncode == 0
        yield site


def test_the_mailroom_command_adds_a_user_whose_login_then_works(site: Installation) -> None:
    """The installed command, as separate processes, as an administrator types it."""
    added = site.run_process(
        "user", "add", "alice@example.test", "--password-stdin", stdin="correct horse\n"
    )
    assert added.returncode == 0, added.stderr
    assert "added account alice@example.test" in added.stdout

    checked = site.run_process("auth", "test", "alice@example.test", "correct horse")
    assert checked.returncode == 0, checked.stderr
    assert "auth succeeded: alice@example.test logs in as alice@example.test" in checked.stdout

    wrong = site.run_process("auth", "test", "alice@example.test", "Correct horse")
    assert wrong.returncode == 77
    assert wrong.stderr.startswith("auth failed:")
    assert "password" in wrong.stderr
    assert "Traceback" not in wrong.stderr


def test_auth_test_with_a_wrong_password_fails_with_a_reason(site: Installation) -> None:
    site.run("user", "add", "alice@example.test", "--password-stdin", stdin="correct horse\n")

    checked = site.run("auth", "test", "alice@example.test", "Correct horse")
    assert checked.returncode == 77
    assert "auth failed:" in checked.stderr
    assert "password" in checked.stderr


def test_auth_test_of_an_unknown_user_says_so(site: Installation) -> None:
    checked = site.run("auth", "test", "nobody@example.test", "whatever")
    assert checked.returncode == 77
    assert "auth failed:" in checked.stderr
    assert "unknown" in checked.stderr or "no such" in checked.stderr


def test_a_carried_over_legacy_hash_logs_in_with_secret_only(site: Installation) -> None:
    added = site.run("user", "add", "legacy@example.test", "--password-hash", LEGACY_HASH)
    assert added.returncode == 0, added.stderr
    assert site.run("auth", "test", "legacy@example.test", "secret").returncode == 0
    assert site.run("auth", "test", "legacy@example.test", "secret2").returncode == 77
    # `auth test` is a test: the old hash is not upgraded by it.
    shown = site.run("user", "show", "legacy@example.test")
    assert "md5" in shown.stdout.lower()


def test_a_disabled_user_is_refused_and_can_be_enabled_again(site: Installation) -> None:
    site.run("user", "add", "alice@example.test", "--password-stdin", stdin="pw\n")
    assert site.run("user", "disable", "alice@example.test").returncode == 0
    refused = site.run("auth", "test", "alice@example.test", "pw")
    assert refused.returncode == 77
    assert "disabled" in refused.stderr
    assert site.run("user", "enable", "alice@example.test").returncode == 0
    assert site.run("auth", "test", "alice@example.test", "pw").returncode == 0


def test_passwd_replaces_the_password(site: Installation) -> None:
    site.run("user", "add", "alice@example.test", "--password-stdin", stdin="old\n")
    changed = site.run("user", "passwd", "alice@example.test", "--password-stdin", stdin="new\n")
    assert changed.returncode == 0, changed.stderr
    assert site.run("auth", "test", "alice@example.test", "new").returncode == 0
    assert site.run("auth", "test", "alice@example.test", "old").returncode == 77
