"""TOTP secrets of accounts that log in to the web admin with a password
(schema.totp_secrets).
Filled by the web login work."""

from __future__ import annotations

from mailroom.directory.transactions import Transactions


class TotpOperations(Transactions):
    pass
