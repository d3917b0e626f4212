"""`[web]`: the web admin, members' self-service, autoconfig and monitoring pages, served
on the config's `web` listeners."""

from __future__ import annotations

from pydantic import Field

from mailroom.config.section import Section


class WebConfig(Section):
    """Who may use the web admin, and how long a login lasts."""

    administrators: list[str] = Field(default_factory=list)
    """Accounts (primary addresses) that may use the admin pages, logging in with a client
    certificate that names them or with their password and a TOTP code. Every other
    account gets only its own self-service pages."""
    session_idle_minutes: float = Field(default=30, gt=0, le=24 * 60)
    """A login not used for this long ends."""
    session_max_hours: float = Field(default=12, gt=0, le=24 * 30)
    """A login ends this long after it began, used or not."""
    certificate_required_listeners: list[str] = Field(default_factory=list)
    """`web` listeners for administrators only (the legacy host's phpMyAdmin behind client
    certificates): the TLS handshake requires a client certificate of a CA of
    `[client_certificates] ca_file` (no certificate, or one of another CA: the handshake
    fails, no page), and a connection whose certificate is expired, revoked or names no
    administrator is closed before any page is sent. There the certificate is the login:
    no password form. Each must also be in `[client_certificates] listeners`."""
    totp_for_administrators: bool = True
    """An administrator logging in with a password gives a TOTP code too (web/totp.py).
    Off: the password alone opens the admin pages (only where the web listener is
    reachable by the administrators alone)."""
    totp_enrol_with_password: bool = False
    """An administrator without a TOTP secret who logs in with the password is led to
    enrol one (trust on first use: whoever knows the password then may). Off: such an
    administrator gets only the member's pages until enrolled after a certificate login."""
