"""App passwords: one password per mail client of a member (schema.app_passwords).
Filled by the self-service work."""

from __future__ import annotations

from mailroom.directory.transactions import Transactions


class AppPasswordOperations(Transactions):
    pass
