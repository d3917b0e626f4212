"""The ManageSieve server (RFC 5804): members upload, check, list, activate, fetch,
rename and delete their Sieve scripts.

Grammar is sans-I/O: reader.py reads the client's lines and literals into the typed
commands of commands.py (on the lexer IMAP shares, `mailroom.wire`), responses.py
writes the server's answers. None touches a socket, the clock or the disk. The
session (session.py) is thin, on `mailroom.net`; the commands on scripts
(script_commands.py) work on the account's `mailroom.store.SieveScripts` and judge
scripts with the `ScriptChecker` `mailroom.app` injects (`mailroom.sieve.check_script`).
The session gets its listener, the services of services.py and its server's session
registry, never the server (server.py), which imports it.
"""
