"""Delivering queued mail: `local` (into Maildirs) and `remote` (SMTP to other hosts).

An agent says per recipient what happened; the dispatcher (`dispatcher`) records
that in the queue and hands failures and delays to `bounces`. Around them: next hops
and DKIM (`outbound`), MX lookup (`mx`), one SMTP client session (`smtp_client`) and
what its replies mean (`remote_replies`), outbound TLS (`outbound_tls`), connections
per destination (`destination_limits`), MTA-STS (`mta_sts`, `mta_sts_cache`,
`https_get`), SRS (`srs`) and RFC 3464 reports (`dsn`). Members' Sieve scripts run
at local delivery (`sieve_delivery`: the scripts found and cached by `sieve_scripts`, the
interpreter adapted by `sieve_engine`, copies stored by `sieve_stores`, redirects and
vacation replies queued by `sieve_sending`, vacation and duplicate memory in
`sieve_memory`). What `mailroom queue` commands do is `mailroom.control.administration`.
"""

from mailroom.delivery.local import LocalDelivery, LocalResult, LocalStatus

__all__ = ["LocalDelivery", "LocalResult", "LocalStatus"]
