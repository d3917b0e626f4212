"""Carrying a legacy Postfix + Dovecot + MySQL host over (`mailroom import legacy`).

It reads what the legacy host knew (the `cacertusers` MySQL schema, /etc/aliases, the
Postfix map files), compares it with the directory, and says what an import would
create, change and leave behind, then makes those changes through the directory's own
operations. Reading and planning are separate from applying, so `--dry-run` runs the very
same plan and changes nothing. It uses the directory, routing's parsers of the map files,
store's mailbox paths, folder indexes and Sieve script layout, and sieve's compiler (to
check imported scripts); it starts no server and imports no protocol.
"""

from mailroom.legacy.apply import ApplyResult, apply_plan, snapshot_of
from mailroom.legacy.errors import LegacySourceError
from mailroom.legacy.mysql_source import LegacyTables, read_legacy_database
from mailroom.legacy.plan import Action, ImportPlan, plan_import
from mailroom.legacy.postfix_files import read_etc_aliases, read_map_copy, read_transport
from mailroom.legacy.records import (
    CurrentDirectory,
    EtcAlias,
    LegacyHost,
    LegacySendAs,
    LegacyUser,
    MapCopy,
    Skipped,
)

__all__ = [
    "Action",
    "ApplyResult",
    "CurrentDirectory",
    "EtcAlias",
    "ImportPlan",
    "LegacyHost",
    "LegacySendAs",
    "LegacySourceError",
    "LegacyTables",
    "LegacyUser",
    "MapCopy",
    "Skipped",
    "apply_plan",
    "plan_import",
    "read_etc_aliases",
    "read_legacy_database",
    "read_map_copy",
    "read_transport",
    "snapshot_of",
]
