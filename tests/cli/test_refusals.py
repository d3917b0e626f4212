"""Bad input gets one clear line, a non-zero exit, and changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.installation import Installation, invoke


@pytest.fixture
def site(installation: Installation) -> Installation:
    assert installation.run("domain", "add", "example.test").returncode == 0
    added = installation.run("user", "add", "alice@example.test", "--password-stdin", stdin="pw\n")
    assert added.returncode == 0, added.stderr
    return installation


def snapshot(site: Installation) -> str:
    return "\n".join(
        site.run(*group, "list").stdout
        for group in (("domain",), ("user",), ("alias",), ("transport",))
    )


def refused(site: Installation, *args: str, stdin: str = "pw\n") -> str:
    before = snapshot(site)
    result = site.run(*args, stdin=stdin)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert snapshot(site) == before
    return lines[0]


def test_an_invalid_address_is_refused(site: Installation) -> None:
    line = refused(site, "user", "add", "alice@@example.test", "--password-stdin")
    assert line.startswith("mailroom: error: invalid address 'alice@@example.test'")


def test_a_duplicate_account_is_refused(site: Installation) -> None:
    line = refused(site, "user", "add", "Alice@Example.TEST", "--password-stdin")
    assert "already" in line


def test_an_unknown_domain_is_refused_before_asking_for_a_password(site: Installation) -> None:
    line = refused(site, "user", "add", "carol@elsewhere.test", stdin="")
    assert line == (
        "mailroom: error: unknown domain 'elsewhere.test': "
        "add it first with `mailroom domain add elsewhere.test`"
    )


def test_an_alias_to_itself_is_refused(site: Installation) -> None:
    line = refused(site, "alias", "add", "c@example.test", "c@example.test")
    assert "itself" in line


def test_an_alias_that_would_close_a_circle_is_refused(site: Installation) -> None:
    assert site.run("alias", "add", "a@example.test", "alice@example.test").returncode == 0
    assert site.run("alias", "add", "b@example.test", "a@example.test").returncode == 0
    # An alias still pointed at is not removed, so no circle can be closed that way either.
    line = refused(site, "alias", "remove", "a@example.test")
    assert "b@example.test" in line
    line = refused(site, "alias", "add", "c@example.test", "b@example.test", "c@example.test")
    assert "itself" in line


def test_a_bad_quota_is_refused(site: Installation) -> None:
    line = refused(site, "user", "add", "carol@example.test", "--quota", "lots", "--password-stdin")
    assert "--quota" in line


def test_an_unknown_password_scheme_is_refused(site: Installation) -> None:
    line = refused(site, "user", "add", "carol@example.test", "--password-hash", "{PLAIN}secret")
    assert "scheme" in line


def test_a_config_with_a_typo_is_refused_naming_file_line_and_key(site: Installation) -> None:
    text = site.config.read_text()
    site.config.write_text(
        text.replace("[auth.throttle]", "[auth.throttle]\nmax_failures_per_ipp = 3")
    )
    result = site.run("user", "list")
    assert result.returncode == 1
    line = result.stderr.strip()
    number = text.splitlines().index("[auth.throttle]") + 2
    assert line == (
        f"mailroom: error: {site.config}:{number}: auth.throttle.max_failures_per_ipp: "
        "unknown key (see the example config from `mailroom init` for every key)"
    )


def test_init_refuses_an_existing_installation(site: Installation) -> None:
    before = site.config.read_text()
    result = site.run("init", str(site.root))
    assert result.returncode == 1
    assert "already exists" in result.stderr
    assert site.config.read_text() == before


def test_removing_a_domain_with_accounts_is_refused(site: Installation) -> None:
    line = refused(site, "domain", "remove", "example.test")
    assert "example.test" in line


def test_init_refuses_a_file_in_place_of_the_directory(tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("something else\n")
    result = invoke("init", str(taken))
    assert result.returncode == 1
    assert result.stderr == (
        f"mailroom: error: {taken} is a file, not a directory; give the path of a new directory\n"
    )
    assert taken.read_text() == "something else\n"


def test_init_refuses_a_place_it_cannot_write(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    place = tmp_path / "file" / "mailroom"  # a directory inside a file: never writable
    result = invoke("init", str(place))
    assert result.returncode == 1
    assert result.stderr.startswith(f"mailroom: error: cannot create {place}: ")
    assert result.stderr.count("\n") == 1


def test_dkim_keygen_refuses_a_key_directory_it_cannot_write(site: Installation) -> None:
    (site.root / "file").write_text("")
    text = site.config.read_text()
    site.config.write_text(text.replace('# key_directory = "dkim"', 'key_directory = "file/dkim"'))
    result = site.run("dkim", "keygen", "example.test")
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"mailroom: error: cannot write the key into {site.root / 'file' / 'dkim'}: "
    )
    assert result.stderr.strip().endswith(f"set [dkim] key_directory in {site.config}")
    assert result.stderr.count("\n") == 1


def test_init_refuses_a_bad_hostname_naming_the_option_and_creates_nothing(
    tmp_path: Path,
) -> None:
    place = tmp_path / "mailroom"
    result = invoke("init", str(place), "--hostname", "bad host name")
    assert result.returncode == 1
    assert result.stderr == (
        "mailroom: error: --hostname: 'bad host name' is not a host name; nothing was created\n"
    )
    assert not place.exists()


def test_queue_commands_refuse_a_data_dir_that_is_a_file(site: Installation) -> None:
    (site.root / "not-a-dir").write_text("")
    text = site.config.read_text()
    site.config.write_text(text.replace('# data_dir = "data"', 'data_dir = "not-a-dir"'))
    result = site.run("queue", "hold", "ALL")
    assert result.returncode == 1
    assert result.stderr.startswith("mailroom: error: cannot reach the queue's control socket: ")
    assert result.stderr.strip().endswith(f"in {site.config}")
    assert result.stderr.count("\n") == 1
