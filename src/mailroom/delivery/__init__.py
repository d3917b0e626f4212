"""Delivering queued mail: `local` (into Maildirs) and `remote` (SMTP to other hosts).

An agent says per recipient what happened; the dispatcher (`dispatcher`) records
that in the queue and hands failures and delays to `bounces`. Around them: next hops
and DKIM (`outbound`), MX lookup (`mx`), one SMTP client session (`smtp_client`) and
what its replies mean (`remote_replies`), outbound TLS (`outbound_tls`), connections
per destination (`destination_limits`), MTA-STS (`mta_sts`, `mta_sts_cache`,
`https_get`), SRS (`srs`) and RFC 3464 reports (`dsn`). What `mailroom queue` commands
do is `mailroom.control.administration`.
"""

from mailroom.delivery.local import LocalDelivery, LocalResult, LocalStatus

__all__ = ["LocalDelivery", "LocalResult", "LocalStatus"]
