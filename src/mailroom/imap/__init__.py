"""The IMAP server (RFC 3501, RFC 9051 and the extensions clients use).

Grammar is sans-I/O (parser.py reads commands, wire.py writes responses);
the session (session.py) is the thin asyncio layer over `net.Connection`;
commands work on `mailroom.store` mailboxes and never touch files themselves.
"""
