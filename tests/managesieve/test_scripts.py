"""The script commands over real sockets (RFC 5804 §2.5-2.12), and what they leave on
disk: Pigeonhole's layout, the `.dovecot.sieve` link as Pigeonhole writes it, quotas,
errors that name the line, and a directory Dovecot's own `sievec` compiled in."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from tests.support.mail_host import MailHost
from tests.support.managesieve_talk import ALICE, SieveTalk

KEEP = b"keep;\r\n"
FILEINTO = (
    b'require "fileinto";\r\n'
    b'if header :contains "Subject" "[list]" {\r\n  fileinto "Lists";\r\n}\r\n'
)


def home(host: MailHost, address: str = ALICE) -> Path:
    return host.maildir(address).parent


async def test_putscript_listscripts_getscript(sieve_host: MailHost) -> None:
    talk = await SieveTalk.logged_in(sieve_host)
    assert (await talk.put("lists", FILEINTO)).status == b'OK "Putscript completed."'
    assert (await talk.put("other", KEEP)).ok
    listed = await talk.command("LISTSCRIPTS")
    assert listed.lines == [b'"lists"', b'"other"']
    fetched = await talk.command('GETSCRIPT "lists"')
    assert fetched.lines == [FILEINTO]
    assert fetched.status == b'OK "Getscript completed."'
    assert (home(sieve_host) / "sieve" / "lists.sieve").read_bytes() == FILEINTO
    await talk.close()


async def test_a_quoted_script_is_accepted_too(sieve_host: MailHost) -> None:
    talk = await SieveTalk.logged_in(sieve_host)
    assert (await talk.command('PUTSCRIPT "q" "keep;"')).ok
    assert (await talk.command('GETSCRIPT "q"')).lines == [b"keep;"]
    await talk.close()


async def test_setactive_writes_the_link_as_pigeonhole_does(sieve_host: MailHost) -> None:
    talk = await SieveTalk.logged_in(sieve_host)
    await talk.put("main", KEEP)
    assert (await talk.command('SETACTIVE "main"')).status == b'OK "Setactive completed."'
    link = home(sieve_host) / ".dovecot.sieve"
    assert os.readlink(link) == "sieve/main.sieve"
    assert (await talk.command("LISTSCRIPTS")).lines == [b'"main" ACTIVE']
    assert (await talk.command('SETACTIVE ""')).ok
    assert not link.is_symlink()
    assert (await talk.command("LISTSCRIPTS")).lines == [b'"main"']
    await talk.close()


async def test_a_script_with_a_syntax_error_is_refused_naming_the_line(
    sieve_host: MailHost,
) -> None:
    talk = await SieveTalk.logged_in(sieve_host)
    broken = b'require "fileinto";\r\nif true {\r\n  fileinto "X"\r\n}\r\n'
    reply = await talk.put("broken", broken)
    assert reply.kind == b"NO"
    assert b"line " in reply.status
    assert (await talk.command("LISTSCRIPTS")).lines == []  # not stored
    checked = await talk.command(b"CHECKSCRIPT {%d+}\r\n%s" % (len(broken), broken))
    assert checked.kind == b"NO" and b"line " in checked.status
    good = await talk.command(b"CHECKSCRIPT {%d+}\r\n%s" % (len(FILEINTO), FILEINTO))
    assert good.status == b'OK "Script is valid."'
    await talk.close()


async def test_an_unknown_extension_is_refused(sieve_host: MailHost) -> None:
    talk = await SieveTalk.logged_in(sieve_host)
    reply = await talk.put("x", b'require "x-no-such-extension";\r\nkeep;\r\n')
    assert reply.kind == b"NO"
    assert b"line 1" in reply.status
    await talk.close()


async def test_the_active_script_cannot_be_deleted(sieve_host: MailHost) -> None:
    talk = await SieveTalk.logged_in(sieve_host)
    await talk.put("main", KEEP)
    await talk.command('SETACTIVE "main"')
    refused = await talk.command('DELETESCRIPT "main"')
    assert refused.status == b'NO (ACTIVE) "You may not delete the active script."'
    await talk.command('SETACTIVE ""')
    assert (await talk.command('DELETESCRIPT "main"')).ok
    gone = await talk.command('DELETESCRIPT "main"')
    assert gone.status == b'NO (NONEXISTENT) "There is no script by that name."'
    assert (await talk.command('GETSCRIPT "main"')).status.startswith(b"NO (NONEXISTENT)")
    assert (await talk.command('SETACTIVE "main"')).status.startswith(b"NO (NONEXISTENT)")
    await talk.close()


async def test_renamescript_keeps_the_active_one_active_and_never_overwrites(
    sieve_host: MailHost,
) -> None:
    talk = await SieveTalk.logged_in(sieve_host)
    await talk.put("old", KEEP)
    await talk.put("taken", KEEP)
    await talk.command('SETACTIVE "old"')
    exists = await talk.command('RENAMESCRIPT "old" "taken"')
    assert exists.status == b'NO (ALREADYEXISTS) "A script by that name already exists."'
    assert (await talk.command('RENAMESCRIPT "old" "new"')).ok
    assert (await talk.command("LISTSCRIPTS")).lines == [b'"new" ACTIVE', b'"taken"']
    assert os.readlink(home(sieve_host) / ".dovecot.sieve") == "sieve/new.sieve"
    await talk.close()


async def test_names_that_would_be_paths_are_refused(sieve_host: MailHost) -> None:
    talk = await SieveTalk.logged_in(sieve_host)
    for name in ("../escape", ".hidden", "a/b"):
        reply = await talk.put(name, KEEP)
        assert reply.kind == b"NO", name
    assert (await talk.command('PUTSCRIPT "tab\\"here" "keep;"')).ok  # a quote is fine
    assert not (home(sieve_host).parent / "escape.sieve").exists()
    await talk.close()


async def test_havespace_and_the_quotas(sieve_host: MailHost) -> None:
    sieve = sieve_host.config.sieve
    talk = await SieveTalk.logged_in(sieve_host)
    assert (await talk.command('HAVESPACE "x" 100')).status == b'OK "Putscript would succeed."'
    too_big = await talk.command(f'HAVESPACE "x" {sieve.max_script_size + 1}')
    assert too_big.status.startswith(b"NO (QUOTA/MAXSIZE)")
    for number in range(sieve.max_scripts):
        assert (await talk.put(f"s{number}", KEEP)).ok
    assert (await talk.put("s0", FILEINTO)).ok  # replacing one is no new script
    over = await talk.put("one-too-many", KEEP)
    assert over.status == b'NO (QUOTA/MAXSCRIPTS) "Too many scripts (max %d)."' % sieve.max_scripts
    await talk.close()


async def test_a_script_over_the_size_limit_is_refused_before_it_is_read(
    sieve_host: MailHost,
) -> None:
    limit = sieve_host.config.sieve.max_script_size
    talk = await SieveTalk.logged_in(sieve_host)
    big = b"#" * (limit + 1)
    reply = await talk.put("big", big)
    assert reply.status == b'NO (QUOTA/MAXSIZE) "Script is too large (max %d octets)."' % limit
    assert (await talk.command("LISTSCRIPTS")).ok  # still in step with the client
    await talk.close()


async def test_a_literal_too_large_to_skip_ends_the_session(sieve_host: MailHost) -> None:
    talk = await SieveTalk.logged_in(sieve_host)
    await talk.send(b'PUTSCRIPT "huge" {4000000000+}\r\n')
    assert (await talk.response()).status.startswith(b"NO (QUOTA/MAXSIZE)")
    assert await talk.line() == b'BYE "Too large literal: cannot go on."'
    assert await talk.closed() == b""


async def test_invalid_utf8_in_a_script_is_refused(sieve_host: MailHost) -> None:
    talk = await SieveTalk.logged_in(sieve_host)
    reply = await talk.put("bad", b'if header :is "Subject" "\xff\xfe" { keep; }\r\n')
    assert reply.kind == b"NO"
    assert (await talk.command("LISTSCRIPTS")).lines == []
    await talk.close()


async def test_a_dovecot_layout_compiled_by_sievec_is_served_and_its_svbin_left_alone(
    sieve_host: MailHost,
) -> None:
    # As a Dovecot host left it: scripts compiled by Pigeonhole's own sievec, and the
    # active link Pigeonhole wrote.
    scripts = home(sieve_host) / "sieve"
    scripts.mkdir(parents=True)
    (scripts / "roundcube.sieve").write_bytes(FILEINTO)
    (scripts / "old.sieve").write_bytes(KEEP)
    process = await asyncio.create_subprocess_exec("sievec", str(scripts / "roundcube.sieve"))
    assert await process.wait() == 0
    compiled = scripts / "roundcube.svbin"
    before = compiled.read_bytes()
    os.symlink("sieve/roundcube.sieve", home(sieve_host) / ".dovecot.sieve")

    talk = await SieveTalk.logged_in(sieve_host)
    assert (await talk.command("LISTSCRIPTS")).lines == [b'"old"', b'"roundcube" ACTIVE']
    assert (await talk.command('GETSCRIPT "roundcube"')).lines == [FILEINTO]
    assert (await talk.command('DELETESCRIPT "old"')).ok
    assert (await talk.command('SETACTIVE "roundcube"')).ok
    await talk.close()
    assert compiled.read_bytes() == before
    assert sorted(p.name for p in scripts.iterdir() if p.name != "tmp") == [
        "roundcube.sieve",
        "roundcube.svbin",
    ]


async def test_a_hand_written_dovecot_sieve_file_is_kept_when_another_is_activated(
    sieve_host: MailHost,
) -> None:
    handmade = home(sieve_host) / ".dovecot.sieve"
    handmade.parent.mkdir(parents=True, exist_ok=True)
    handmade.write_bytes(b"# mine\r\nkeep;\r\n")
    talk = await SieveTalk.logged_in(sieve_host)
    assert (await talk.command("LISTSCRIPTS")).lines == []
    await talk.put("new", KEEP)
    assert (await talk.command('SETACTIVE "new"')).ok
    assert (await talk.command("LISTSCRIPTS")).lines == [b'"dovecot.orig"', b'"new" ACTIVE']
    assert (await talk.command('GETSCRIPT "dovecot.orig"')).lines == [b"# mine\r\nkeep;\r\n"]
    await talk.close()
