"""Bad commands and failed logins (Dovecot's rule, RFC 1939 gives none): each gets its
`-ERR`, and the listener's `max_bad_commands` of them in a row end the session; a
command that works, or a refusal that is no fault of the client's (a message that is
not there), starts the count again."""

from __future__ import annotations

import base64
from pathlib import Path

from tests.support.mail_host import MailHost, start_host
from tests.support.pop3_talk import ALICE, POP3_LISTENERS, Pop3Talk, max_bad_commands, plain

# The plain-text listener is strict; pop3s keeps the default.
STRICT_POP3 = {'name = "pop3"': 'name = "pop3"\nmax_bad_commands = 3'}


async def test_bad_commands_get_errors_and_too_many_end_the_session(pop3_host: MailHost) -> None:
    pop = await Pop3Talk.logged_in(pop3_host)
    assert await pop.command("USER bob@example.test") == b"-ERR Unknown command in this state."
    assert await pop.command("XYZ") == b"-ERR Unknown command: XYZ."
    assert await pop.command("RETR x") == b"-ERR Invalid message number."
    assert await pop.command(b"NOOP " + b"x" * 300) == (
        b"-ERR Command line too long (at most 255 octets)."
    )
    assert await pop.command(b"x" * 5000) == b"-ERR Command line too long."
    for _ in range(max_bad_commands(pop3_host) - 6):
        assert (await pop.command("BOGUS")).startswith(b"-ERR")
    assert await pop.command("BOGUS") == b"-ERR Too many bad commands."
    assert await pop.closed()
    # Nothing was lost: the maildrop is free and whole.
    again = await Pop3Talk.logged_in(pop3_host)
    assert await again.command("QUIT") == b"+OK Logging out."


async def test_only_bad_commands_in_a_row_end_the_session(pop3_host: MailHost) -> None:
    # As in Dovecot: a command that works starts the count again, so a long session
    # with a mistake now and then is never cut off.
    pop = await Pop3Talk.logged_in(pop3_host)
    for _ in range(3):
        for _ in range(max_bad_commands(pop3_host) - 1):
            assert (await pop.command("BOGUS")).startswith(b"-ERR Unknown command")
        assert await pop.command("NOOP") == b"+OK"
    await pop.close()


async def test_failed_logins_count_as_bad_commands(pop3_host: MailHost) -> None:
    pop = await Pop3Talk.open(pop3_host.port("pop3s"), tls=True)
    banned_after = pop3_host.config.auth.throttle.max_failures_per_ip  # then: try later
    for n in range(max_bad_commands(pop3_host) - 1):
        assert await pop.command(f"AUTH PLAIN {plain(password='guess')}") == (
            b"-ERR [AUTH] Authentication failed."
            if n < banned_after
            else b"-ERR [SYS/TEMP] Temporary authentication failure, try again later."
        )
    assert await pop.command(f"AUTH PLAIN {plain(password='guess')}") == (
        b"-ERR Too many bad commands."
    )
    assert await pop.closed()


async def test_a_sasl_response_too_long_is_refused_and_counts_as_bad(pop3_host: MailHost) -> None:
    pop = await Pop3Talk.open(pop3_host.port("pop3s"), tls=True)
    for _ in range(max_bad_commands(pop3_host) - 1):
        assert await pop.command("AUTH LOGIN") == b"+ VXNlcm5hbWU6"
        assert await pop.command(base64.b64encode(b"x" * 20_000)) == (
            b"-ERR [AUTH] Authentication response too long."
        )
    assert await pop.command("AUTH LOGIN") == b"+ VXNlcm5hbWU6"
    assert await pop.command(b"*") == b"-ERR Too many bad commands."
    assert await pop.closed()


async def test_a_wrong_number_is_no_bad_command(pop3_host: MailHost) -> None:
    # Clients ask for messages that are gone all the time; that is no reason to hang up.
    pop = await Pop3Talk.logged_in(pop3_host)
    for _ in range(max_bad_commands(pop3_host) + 5):
        assert await pop.command("RETR 1") == b"-ERR There's no message 1."
    assert await pop.command("NOOP") == b"+OK"
    await pop.close()


async def test_each_listener_has_its_own_max_bad_commands(tmp_path: Path) -> None:
    async for host in start_host(tmp_path / "host", STRICT_POP3, POP3_LISTENERS):
        assert max_bad_commands(host, "pop3") == 3
        strict = await Pop3Talk.open(host.port("pop3"))
        assert await strict.command("XYZ") == b"-ERR Unknown command: XYZ."
        assert await strict.command(f"PASS {ALICE}") == b"-ERR No username given."
        assert await strict.command("BOGUS") == b"-ERR Too many bad commands."
        assert await strict.closed()
        # The same three on pop3s (default 20) leave the session open.
        default = await Pop3Talk.open(host.port("pop3s"), tls=True)
        for _ in range(3):
            assert (await default.command("BOGUS")).startswith(b"-ERR Unknown command")
        assert await default.command("NOOP") == b"+OK"
        await default.close()
