"""The systemd unit `mailroom init --systemd` writes: the text, from the config.

The unit starts `mailroom serve` as the service user itself (`User=`), with
`CAP_NET_BIND_SERVICE` as its only capability (ambient, so it can bind ports 25, 143,
...), rather than as root dropping privileges (`[server] user`). That is the simpler
safe choice: the process never holds root, so no bug in a protocol can use it, and
systemd, not our code, keeps the rest away. Its price: TLS keys must be readable by the
service user's group, which SIGHUP reloads and worker processes need anyway.

Hardening: NoNewPrivileges, a capability bounding set of that one capability,
ProtectSystem=strict with the data directory (and Maildirs or an SQLite file outside
it) the only writable paths, PrivateTmp, and a raised LimitNOFILE (every IMAP client in
IDLE holds a connection).
"""

from __future__ import annotations

from pathlib import Path

from mailroom.app.service_user import sqlite_file
from mailroom.config import Config

DEFAULT_USER = "mailroom"
OPEN_FILES = 65536
"""LimitNOFILE: connections (and their Maildir files) a process may hold open."""
HOME_PREFIXES = (Path("/home"), Path("/root"), Path("/run/user"))
"""Where ProtectHome=yes would hide a Maildir."""


def writable_paths(config: Config) -> list[Path]:
    """What the server writes: the data directory, the fixed part of a Maildir path
    template outside it (`/home/%n/Maildir`: /home), and an SQLite file's folder."""
    data = config.resolve(config.data_dir)
    paths = [data]
    fixed = config.mailbox.path_template.split("%", 1)[0]
    if fixed.startswith("/"):
        # "/home/%n/Maildir": /home; a partial last name ("/srv/mail/u%n"): its folder.
        paths.append(Path(fixed) if fixed.endswith("/") else Path(fixed).parent)
    database = sqlite_file(config)
    if database is not None:
        paths.append(database.parent)  # SQLite writes its journal beside the file
    unique: list[Path] = []
    for path in paths:
        resolved = Path(str(path.resolve()))
        if not any(resolved.is_relative_to(kept) for kept in unique):
            unique = [kept for kept in unique if not kept.is_relative_to(resolved)] + [resolved]
    return unique


class UnitPathError(ValueError):
    """A path no unit file line can carry (a control character)."""


def unit_word(path: Path) -> str:
    """`path` as one word of a unit file line: '%' escaped (systemd.unit(5) specifiers),
    quoted if it holds a space, a quote or a backslash."""
    text = str(path)
    if any(ord(character) < 32 or ord(character) == 127 for character in text):
        raise UnitPathError(f"{text!r}: a control character cannot be put in a unit file")
    text = text.replace("%", "%%")
    if any(character in text for character in " \t\"'\\"):
        escaped = text.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    return text


def systemd_unit(config: Config, executable: Path, config_path: Path) -> str:
    """The unit's text: `executable serve -c config_path` as `[server] user` (default
    "mailroom") with only CAP_NET_BIND_SERVICE."""
    user = config.server.user or DEFAULT_USER
    group = config.server.group or user
    writable = writable_paths(config)
    under_home = any(path.is_relative_to(home) for path in writable for home in HOME_PREFIXES)
    home = (
        "# ProtectHome is off: mail is kept under a home directory.\n"
        if under_home
        else "ProtectHome=yes\n"
    )
    return f"""\
# Mailroom, written by `mailroom init --systemd`. Install:
#   cp mailroom.service /etc/systemd/system/ && systemctl daemon-reload
#   systemctl enable --now mailroom
# It runs as {user} from the start (never as root) with CAP_NET_BIND_SERVICE only;
# TLS keys must be readable by group {group} (chgrp {group} KEY; chmod 0640 KEY).
[Unit]
Description=Mailroom mail server (SMTP, IMAP, POP3, ManageSieve)
After=network-online.target
Wants=network-online.target

[Service]
Type=exec
ExecStart={unit_word(executable)} serve -c {unit_word(config_path)}
ExecReload=/bin/kill -HUP $MAINPID
User={user}
Group={group}
AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths={" ".join(unit_word(path) for path in writable)}
{home}PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
LockPersonality=yes
LimitNOFILE={OPEN_FILES}
UMask=0027
Restart=on-failure
RestartSec=5s
# Workers get 15 s to end their sessions after SIGTERM.
TimeoutStopSec=30s

[Install]
WantedBy=multi-user.target
"""
