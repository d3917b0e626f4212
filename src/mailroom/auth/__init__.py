"""Authentication for every protocol: SASL mechanisms, the one `Authenticator` (master
users, hash upgrades, logging), the cache of verified logins, brute-force throttling, and
client-certificate logins (SASL EXTERNAL: `auth.certificate_login`). Uses the directory
and the config; no protocol imports another through here, and nothing here touches a
socket."""

from mailroom.auth.authenticator import Authenticator, AuthOutcome, AuthRequest, AuthResult
from mailroom.auth.login_cache import AuthStats
from mailroom.auth.sasl import (
    MECHANISMS,
    Challenge,
    Credentials,
    ExternalCredentials,
    SaslExchange,
    SaslFailure,
    SaslStateError,
    SaslStep,
    UnknownMechanism,
    mechanisms,
    plain_response,
    run_exchange,
)
from mailroom.auth.throttle import (
    Ban,
    BanAdministration,
    BanKind,
    BansUnavailable,
    MemoryThrottle,
    NoThrottle,
    Throttle,
    ThrottleVerdict,
    canonical_client,
    client_key,
)

__all__ = [
    "MECHANISMS",
    "AuthOutcome",
    "AuthRequest",
    "AuthResult",
    "AuthStats",
    "Authenticator",
    "Ban",
    "BanAdministration",
    "BanKind",
    "BansUnavailable",
    "Challenge",
    "Credentials",
    "ExternalCredentials",
    "MemoryThrottle",
    "NoThrottle",
    "SaslExchange",
    "SaslFailure",
    "SaslStateError",
    "SaslStep",
    "Throttle",
    "ThrottleVerdict",
    "UnknownMechanism",
    "canonical_client",
    "client_key",
    "mechanisms",
    "plain_response",
    "run_exchange",
]
