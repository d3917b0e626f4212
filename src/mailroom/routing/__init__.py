"""Routing: turn one recipient address into deliveries — local mailboxes, the aliases
file, SQL aliases, regexp rewrites, BCC maps, transports (the directory's and
transport(5) files), sub-addresses, the postmaster of every domain. Uses only the
directory (through an in-memory snapshot) and the operator's Postfix-format table files;
it delivers nothing itself. It also says which original sender a bounce to one of our
SRS addresses is for (`srs_reversal`)."""

from mailroom.routing.address_map import AddressMap, load_address_map, parse_address_map
from mailroom.routing.aliases_file import AliasesFile, load_aliases_file, parse_aliases_file
from mailroom.routing.expansion import (
    Delivery,
    DeliveryKind,
    Expansion,
    ExpansionFailure,
    FailureReason,
)
from mailroom.routing.map_file import MapFileError
from mailroom.routing.regexp_table import (
    RegexpMatch,
    RegexpTable,
    load_regexp_table,
    parse_regexp_table,
)
from mailroom.routing.router import (
    InvalidRecipient,
    RecipientVerdict,
    Route,
    Router,
)
from mailroom.routing.snapshot import DirectorySnapshot, DirectoryUnavailable, SnapshotCache
from mailroom.routing.srs_reversal import SrsReverser
from mailroom.routing.transport_map import (
    TransportMap,
    load_transport_map,
    parse_transport_map,
)

__all__ = [
    "AddressMap",
    "AliasesFile",
    "Delivery",
    "DeliveryKind",
    "DirectorySnapshot",
    "DirectoryUnavailable",
    "Expansion",
    "ExpansionFailure",
    "FailureReason",
    "InvalidRecipient",
    "MapFileError",
    "RecipientVerdict",
    "RegexpMatch",
    "RegexpTable",
    "Route",
    "Router",
    "SnapshotCache",
    "SrsReverser",
    "TransportMap",
    "load_address_map",
    "load_aliases_file",
    "load_regexp_table",
    "load_transport_map",
    "parse_address_map",
    "parse_aliases_file",
    "parse_regexp_table",
    "parse_transport_map",
]
