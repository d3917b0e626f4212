"""What members hand the self-service pages that the server then parses: a pasted client
certificate (`web.selfservice_certificates.read_certificate`), the settings line of the
vacation script in the member's own script directory, which ManageSieve lets them
rewrite (`web.selfservice_script.read_settings`), and a password read as an app
password (`auth.app_passwords.parse_app_password`).

The input is fed whole to each. Contract: `read_certificate` gives a 64-hex-digit
fingerprint or raises `CertificateRefused` with a reason; `read_settings` gives
`Settings` within their bounds, which with forwarding cleared render a script that
compiles; `parse_app_password` gives None or an id and secret that write back as the
input. A crash: any other exception or broken invariant.
"""

from __future__ import annotations

import dataclasses
import datetime

from mailroom.auth.app_passwords import app_password_text, parse_app_password
from mailroom.config.sieve import SieveConfig
from mailroom.sieve import SieveLimits, check_script
from mailroom.web.selfservice_certificates import CertificateRefused, read_certificate
from mailroom.web.selfservice_script import (
    MAX_BODY,
    MAX_DAYS,
    MAX_SUBJECT,
    MIN_DAYS,
    read_settings,
    render,
)

NOW = datetime.datetime(2026, 12, 7, tzinfo=datetime.UTC)
LIMITS = SieveLimits.from_config(SieveConfig())


def one_input(data: bytes) -> None:
    try:
        uploaded = read_certificate(data, NOW)
    except CertificateRefused as refusal:
        assert str(refusal)
    else:
        assert len(uploaded.fingerprint) == 64
    found = read_settings(data)
    assert MIN_DAYS <= found.days <= MAX_DAYS
    assert len(found.subject) <= MAX_SUBJECT and len(found.body) <= MAX_BODY
    script = render(dataclasses.replace(found, forward_to=""), ("bob@example.org",))
    assert check_script(script, name="mailroom-selfservice", limits=LIMITS) is None
    text = data.decode("utf-8", "replace")
    password = parse_app_password(text)
    if password is not None:
        assert app_password_text(password.id, password.secret) == text
