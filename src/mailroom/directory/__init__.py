"""The directory: who exists, which addresses reach them, and where other domains' mail
goes. Imports no protocol; only `config` of Mailroom's packages."""

from mailroom.directory.addresses import normalize_address, normalize_domain, split_address
from mailroom.directory.errors import (
    AliasLoop,
    AlreadyExists,
    DatabaseUnavailable,
    DirectoryError,
    InUse,
    InvalidAddress,
    InvalidValue,
    NotFound,
    SchemaNotReady,
    UnknownDomain,
)
from mailroom.directory.records import Account, Alias, Domain, Transport
from mailroom.directory.revisions import SchemaState
from mailroom.directory.service import Directory

__all__ = [
    "Account",
    "Alias",
    "AliasLoop",
    "AlreadyExists",
    "DatabaseUnavailable",
    "Directory",
    "DirectoryError",
    "Domain",
    "InUse",
    "InvalidAddress",
    "InvalidValue",
    "NotFound",
    "SchemaNotReady",
    "SchemaState",
    "Transport",
    "UnknownDomain",
    "normalize_address",
    "normalize_domain",
    "split_address",
]
