"""`mailroom import legacy` run as an administrator would (a subprocess) against the legacy
host in miniature: a dry run changes nothing, the real run creates what the legacy host
had and reports what it cannot carry over, a second run finds nothing left to do."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mailroom import app
from mailroom.config import Config, load_config
from tests.legacy.conftest import ARBITRATION, SECRET_HASH, LegacyHost
from tests.support.directories import everything_in
from tests.support.installation import mailroom_process
from tests.support.mail_host import write_config


def _config(root: Path) -> Config:
    root.mkdir(parents=True, exist_ok=True)
    config = load_config(write_config(root))

    async def migrate() -> None:
        directory = await app.open_directory(config)
        await directory.migrate()
        await directory.close()

    asyncio.run(migrate())
    return config


def _contents(config: Config) -> object:
    async def read() -> object:
        directory = await app.open_directory(config)
        try:
            return await everything_in(directory)
        finally:
            await directory.close()

    return asyncio.run(read())


def _import(config: Config, legacy_host: LegacyHost, *extra: str) -> str:
    assert config.source is not None
    result = mailroom_process("-c", str(config.source), *legacy_host.import_args(*extra))
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_dry_run_shows_the_plan_and_changes_nothing(
    tmp_path: Path, legacy_host: LegacyHost
) -> None:
    config = _config(tmp_path / "mailroom")
    before = _contents(config)
    output = _import(config, legacy_host, "--dry-run")
    assert "jdoe@cacert.org" in output
    assert "john.doe@cacert.org" in output
    assert "Dry run:" in output
    assert _contents(config) == before
    assert not (tmp_path / "mailroom" / "data" / "legacy").exists()


def test_import_creates_what_the_legacy_host_had(tmp_path: Path, legacy_host: LegacyHost) -> None:
    config = _config(tmp_path / "mailroom")
    output = _import(config, legacy_host)

    assert "Cannot carry over" in output
    assert "delivery to a command is not supported" in output  # backup: |/usr/local/bin/backup
    assert "the transport 'error' is not supported" in output  # routing's own words
    assert '[auth] default_domain = "cacert.org"' in output
    assert f'[mailbox] path_template = "{legacy_host.maildirs}"' in output
    assert "2 found, 0 missing" in output
    assert "0 failed" in output
    domains, accounts, aliases, transports, _ = _contents(config)  # type: ignore[misc]
    assert [domain.name for domain in domains] == ["cacert.org"]
    by_address = {account.address: account for account in accounts}
    assert by_address["jdoe@cacert.org"].password_hash == SECRET_HASH
    assert by_address["jdoe@cacert.org"].display_name == "John Doe"
    assert by_address["jdoe@cacert.org"].extra_addresses == ("john.doe@cacert.org",)
    assert by_address["asmith@cacert.org"].extra_addresses == ()
    routes = {alias.address: (alias.targets, alias.send_as) for alias in aliases}
    assert routes == {
        "board@cacert.org": (("asmith@cacert.org", "jdoe@cacert.org"), ()),
        "postmaster@cacert.org": (("root@cacert.org",), ()),
        "pr@cacert.org": (("jdoe@cacert.org",), ("jdoe@cacert.org",)),
        "root@cacert.org": (("jdoe@cacert.org",), ()),
        "support@cacert.org": (("support@issue.cacert.org",), ()),
    }
    assert {(t.domain, t.nexthop) for t in transports} == {
        ("issue.cacert.org", "[127.0.0.1]:2"),
        ("lists.cacert.org", "[127.0.0.1]:1"),
    }
    copied = tmp_path / "mailroom" / "data" / "legacy" / "arbitration"
    assert copied.read_text() == ARBITRATION
    assert f'[routing] rewrite_maps = ["{copied}"]' in output


def test_a_second_run_changes_nothing(tmp_path: Path, legacy_host: LegacyHost) -> None:
    config = _config(tmp_path / "mailroom")
    _import(config, legacy_host)
    after_first = _contents(config)
    output = _import(config, legacy_host)
    assert "Nothing to do" in output
    assert "To create or change" not in output
    assert _contents(config) == after_first


def test_a_second_run_carries_over_what_changed_since(
    tmp_path: Path, legacy_host: LegacyHost
) -> None:
    config = _config(tmp_path / "mailroom")
    _import(config, legacy_host)
    (legacy_host.postfix_dir / "transport").write_text("lists.cacert.org smtp:[127.0.0.1]:3\n")
    output = _import(config, legacy_host)
    assert "[127.0.0.1]:1 → [127.0.0.1]:3" in output
    assert "1 updated" in output
    _, _, _, transports, _ = _contents(config)  # type: ignore[misc]
    assert ("lists.cacert.org", "[127.0.0.1]:3") in {(t.domain, t.nexthop) for t in transports}


def test_a_table_that_differs_is_named_by_options(tmp_path: Path, legacy_host: LegacyHost) -> None:
    config = _config(tmp_path / "mailroom")
    assert config.source is not None
    args = legacy_host.import_args("--user-table", "members", "--dry-run")
    result = mailroom_process("-c", str(config.source), *args)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("mailroom: error: MySQL at 127.0.0.1:3306 database ")
    assert "members" in line


def test_an_option_that_is_not_a_name_is_refused_in_one_line(
    tmp_path: Path, legacy_host: LegacyHost
) -> None:
    config = _config(tmp_path / "mailroom")
    assert config.source is not None
    args = legacy_host.import_args("--password-column", "password; DROP TABLE user")
    result = mailroom_process("-c", str(config.source), *args)
    assert result.returncode == 1
    assert result.stderr == (
        "mailroom: error: --password-column: 'password; DROP TABLE user' is not a table or"
        " column name\n"
    )
