"""A member's vacation message and forwarding as a Sieve script (RFC 5228, RFC 5230
vacation, RFC 3894 copy), and the settings read back from it.

The script is named `SCRIPT_NAME` among the member's scripts, the ones ManageSieve edits.
It starts with its settings as one JSON comment line, so the page shows what was saved
without parsing Sieve; everything else in it is made from those settings, each string
escaped (RFC 5228 §2.4.2: `\\` and `"`), line breaks as CRLF and no other control
characters, so nothing a member types can end a string or add a command.

Pure: no I/O. `read_settings` is fed a file from the member's script directory (which
ManageSieve lets them rewrite), so it trusts nothing in it and falls back to the
defaults.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

SCRIPT_NAME = "mailroom-selfservice"
SETTINGS_PREFIX = "# mailroom-settings: "
MAX_SUBJECT = 200
MAX_BODY = 4000
MIN_DAYS = 1
MAX_DAYS = 30
MAX_ADDRESS = 320
MAX_SETTINGS_LINE = 20_000


@dataclass(frozen=True)
class Settings:
    vacation: bool = False
    subject: str = "Away from my mail"
    body: str = ""
    days: int = 7
    """RFC 5230 §4.1: one reply per sender within this many days."""
    forward_to: str = ""
    """An address every message is redirected to; empty for none."""
    keep_copy: bool = True
    """With forwarding: keep the message here too (`redirect :copy`)."""


def clean_line(text: str, limit: int) -> str:
    """One line of printable text (a subject): line breaks and control characters out."""
    return "".join(c for c in text if c.isprintable())[:limit].strip()


def clean_text(text: str, limit: int) -> str:
    """Lines of printable text (a message body), with LF line ends."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept = "\n".join("".join(c for c in line if c.isprintable() or c == "\t") for line in lines)
    return kept[:limit].strip()


def quoted(text: str) -> str:
    """A Sieve quoted string (RFC 5228 §2.4.2) of `text` (already cleaned)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\r\n")
    return f'"{escaped}"'


def render(settings: Settings, own_addresses: tuple[str, ...]) -> bytes:
    """The script for `settings`; `own_addresses` are the account's addresses, for
    vacation's `:addresses` (replies to mail sent to any of them)."""
    requires = []
    commands = []
    if settings.forward_to:
        if settings.keep_copy:
            requires.append('"copy"')
            commands.append(f"redirect :copy {quoted(settings.forward_to)};")
        else:
            commands.append(f"redirect {quoted(settings.forward_to)};")
    if settings.vacation:
        requires.append('"vacation"')
        addresses = ", ".join(quoted(address) for address in own_addresses)
        commands.append(
            f"vacation :days {settings.days} :subject {quoted(settings.subject)}"
            + (f" :addresses [{addresses}]" if own_addresses else "")
            + f" {quoted(settings.body)};"
        )
    saved = json.dumps(
        {
            "vacation": settings.vacation,
            "subject": settings.subject,
            "body": settings.body,
            "days": settings.days,
            "forward_to": settings.forward_to,
            "keep_copy": settings.keep_copy,
        },
        ensure_ascii=True,
        separators=(",", ":"),
    )
    lines = [
        "# Written by Mailroom's self-service page (/me/vacation): change it there.",
        "# Edits made here by hand are replaced at the next save on that page.",
        SETTINGS_PREFIX + saved,
    ]
    if requires:
        lines.append(f"require [{', '.join(requires)}];")
    lines.extend(commands)
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def read_settings(source: bytes | None) -> Settings:
    """The settings a script of ours was made from; the defaults for anything else (no
    script, another script by our name, a settings line that is not ours)."""
    if not source:
        return Settings()
    text = source[: MAX_SETTINGS_LINE * 4].decode("utf-8", "replace")
    for line in text.splitlines()[:10]:
        if line.startswith(SETTINGS_PREFIX) and len(line) <= MAX_SETTINGS_LINE:
            try:
                saved = json.loads(line[len(SETTINGS_PREFIX) :])
            except ValueError:
                return Settings()
            return _from_saved(saved)
    return Settings()


def _from_saved(saved: object) -> Settings:
    if not isinstance(saved, dict):
        return Settings()
    default = Settings()
    days = saved.get("days")
    return Settings(
        vacation=saved.get("vacation") is True,
        subject=clean_line(_text(saved.get("subject"), default.subject), MAX_SUBJECT),
        body=clean_text(_text(saved.get("body"), ""), MAX_BODY),
        days=days
        if isinstance(days, int) and not isinstance(days, bool) and MIN_DAYS <= days <= MAX_DAYS
        else default.days,
        forward_to=clean_line(_text(saved.get("forward_to"), ""), MAX_ADDRESS),
        keep_copy=saved.get("keep_copy") is not False,
    )


def _text(value: object, default: str) -> str:
    return value if isinstance(value, str) else default
