"""Members' registered client certificates
(schema.account_certificates).
Filled by the self-service work."""

from __future__ import annotations

from mailroom.directory.transactions import Transactions


class CertificateOperations(Transactions):
    pass
