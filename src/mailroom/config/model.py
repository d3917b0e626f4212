"""The configuration's typed model: every key, its default and what it means.

This file is the reference for `mailroom.toml`: each field's docstring is what
the example config says about it. Unknown keys are refused (``extra="forbid"``)
so that a typo is an error at start, not a silently ignored setting.
"""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BeforeValidator,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from mailroom.config.client_certificates import ClientCertificatesConfig
from mailroom.config.dnsbl import DnsblConfig
from mailroom.config.limits import LimitsConfig
from mailroom.config.log import LogConfig
from mailroom.config.mailauth import InboundAuthenticationConfig
from mailroom.config.nexthop import parse_nexthop
from mailroom.config.section import Section, Size
from mailroom.config.sieve import SieveConfig
from mailroom.config.web import WebConfig

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: object) -> list[IPNetwork]:
    """Accept a list of CIDR strings ("10.0.0.0/8", "::1/128", "192.0.2.7")."""
    if not isinstance(value, list):
        raise ValueError('expected a list of networks such as ["127.0.0.1/32", "::1/128"]')
    networks: list[IPNetwork] = []
    for item in value:
        if isinstance(item, ipaddress.IPv4Network | ipaddress.IPv6Network):
            networks.append(item)
            continue
        if not isinstance(item, str):
            raise ValueError(f'{item!r} is not a network: expected a string like "10.0.0.0/8"')
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(
                f'{item!r} is not a network: expected an address or CIDR like "10.0.0.0/8"'
            ) from None
    return networks


Networks = Annotated[list[IPNetwork], BeforeValidator(parse_networks)]


class DirectoryConfig(Section):
    """Where the directory of domains, accounts and aliases lives."""

    url: str = "sqlite:///directory.sqlite3"
    """Database URL. `sqlite:///relative/path` (relative to the config file's directory),
    `sqlite:////absolute/path`, `mysql://user:password@host:3306/db` (MariaDB or MySQL),
    or `postgresql://user:password@host:5432/db`."""

    pool_size: int = Field(default=5, ge=1, le=100)
    """Connections kept open to MariaDB/PostgreSQL."""

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        scheme = value.split("://", 1)[0].split("+", 1)[0].lower()
        if "://" not in value or scheme not in {
            "sqlite",
            "mysql",
            "mariadb",
            "postgresql",
            "postgres",
        }:
            raise ValueError(
                "expected a URL starting with sqlite://, mysql://, mariadb:// or postgresql://"
            )
        return value


class PasswordHashing(Section):
    """Parameters of argon2id, the scheme every new or upgraded password gets."""

    time_cost: int = Field(default=3, ge=1, le=100)
    """Iterations (RFC 9106 recommends 3 with 64 MiB)."""
    memory_kib: int = Field(default=65536, ge=8, le=4 * 1024 * 1024)
    """Memory per hash, in KiB."""
    parallelism: int = Field(default=4, ge=1, le=64)
    """Lanes."""
    upgrade_on_login: bool = True
    """Re-hash a password stored in an older scheme ($1$, $5$, $6$, bcrypt) as argon2id on the
    next successful login."""
    threads: int = Field(default=4, ge=1, le=256)
    """Threads that hash and verify passwords, off the event loop."""
    legacy_scheme: Literal["none", "md5-crypt", "sha256-crypt", "sha512-crypt", "bcrypt"] = (
        "md5-crypt"
    )
    """The scheme most migrated hashes had before they were wrapped in argon2id (the legacy
    host's is md5-crypt). Every failed login pays this scheme's cost (at its crypt(3)
    default: 5000 rounds for SHA-crypt, cost 10 for bcrypt) plus argon2id's, so an unknown
    account, an argon2id one and a wrapped one take the same time (directory/passwords.py)."""


class ThrottleConfig(Section):
    """Brute-force throttling: growing delays, then temporary bans (like fail2ban, built in)."""

    enabled: bool = True
    window_seconds: float = Field(default=900, gt=0)
    """Failures older than this are forgotten."""
    max_failures_per_ip: int = Field(default=10, ge=1)
    """Failures from one client address within the window before it is banned."""
    max_failures_per_account: int = Field(default=30, ge=1)
    """Failures against one account (from any address) within the window before the account
    is locked for addresses that never logged in to it successfully."""
    ban_seconds: float = Field(default=900, gt=0)
    """How long a ban lasts."""
    delay_base_seconds: float = Field(default=1.0, ge=0)
    """Delay before answering a failed login; doubles with each further failure."""
    delay_max_seconds: float = Field(default=15.0, ge=0)
    """Longest delay before answering a failed login."""
    exempt_networks: Networks = Field(default_factory=list)
    """Client networks never throttled (e.g. a webmail host). Use sparingly."""
    redis_url: str | None = None
    """With it (`redis://127.0.0.1:6379/0`), counters and bans live in Redis, shared by
    every process and node using it; without it, in the main process, bans kept in a file
    in data_dir. If Redis does not answer, logins are refused (temporarily), never let
    through uncounted."""
    redis_key_prefix: str = Field(default="mailroom:throttle:", min_length=1, max_length=100)
    """Prefix of every Redis key the throttle writes (one per host sharing a Redis)."""


class MasterUser(Section):
    """A master login (Dovecot's `user*master`): logs in as any account, from listed networks."""

    name: str = Field(min_length=1, max_length=64)
    """The master's name, as typed after the separator: `alice@example.org*webmail`."""
    password_hash: str = Field(min_length=1)
    """Its password hash (make one with `mailroom auth hash`)."""
    networks: Annotated[Networks, Field(min_length=1)]
    """Client networks it may log in from; anywhere else it is refused."""

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9._-]+", value):
            raise ValueError("use letters, digits, '.', '_' and '-' only")
        return value


class AuthConfig(Section):
    """How logins are checked, for every protocol alike."""

    default_domain: str | None = None
    """Domain appended to a login without '@' (the legacy host's members log in as plain
    `user`, which becomes `user@<default_domain>`)."""
    master_user_separator: str = Field(default="*", min_length=1, max_length=1)
    """Separator between account and master name in a master login."""
    master_users: list[MasterUser] = Field(default_factory=list)
    cache_ttl_seconds: float = Field(default=300, ge=0, le=24 * 3600, strict=True)
    """How long a verified login is remembered, so a client's next connections with the
    same password cost no argon2 run (Dovecot's auth cache); 0 turns the cache off. Kept
    short because an entry is a fast keyed hash of the password in the server's memory;
    5 minutes covers a client's burst of connections and webmail's login per request.
    A password change, a disabled or removed account take effect at once regardless."""
    cache_max_entries: int = Field(default=10_000, ge=0, le=10_000_000, strict=True)
    """Verified logins remembered at once (about 250 bytes each), the least recently
    used forgotten first; 0 turns the cache off."""
    passwords: PasswordHashing = PasswordHashing()
    throttle: ThrottleConfig = ThrottleConfig()

    @model_validator(mode="after")
    def _unique_masters(self) -> AuthConfig:
        names = [m.name for m in self.master_users]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"master user names must be unique; repeated: {', '.join(duplicates)}")
        return self


class TlsConfig(Section):
    """The default certificate, used by every listener that names none of its own."""

    certificate: Path = Path("tls/cert.pem")
    """PEM certificate chain (relative to the config file's directory)."""
    key: Path = Path("tls/key.pem")
    """PEM private key."""


class Protocol(StrEnum):
    SMTP = "smtp"
    SUBMISSION = "submission"
    IMAP = "imap"
    POP3 = "pop3"
    MANAGESIEVE = "managesieve"
    WEB = "web"


class TlsMode(StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    IMPLICIT = "implicit"


class Listener(Section):
    """One listening socket: a protocol on an address, with its TLS mode and limits."""

    name: str = Field(min_length=1, max_length=64)
    """A name for logs and metrics, unique among listeners."""
    protocol: Protocol
    """smtp, submission, imap, pop3, managesieve or web."""
    address: str
    """`host:port`; IPv6 in brackets: `[::]:25`, `[::1]:2525`."""
    tls: TlsMode = TlsMode.STARTTLS
    """`none`, `starttls` (offered, and required before a plain-text password) or `implicit`."""
    certificate: Path | None = None
    """This listener's own certificate (default: [tls] certificate)."""
    key: Path | None = None
    """This listener's own key (default: [tls] key)."""
    allow_networks: Networks = Field(default_factory=list)
    """If set, only clients from these networks may connect."""
    plaintext_networks: Networks = Field(default_factory=list)
    """Networks allowed to send passwords without TLS (the legacy webmail on port 2001)."""
    max_connections: int = Field(default=1000, ge=1)
    """Connections open at once on this listener."""
    max_connections_per_ip: int = Field(default=20, ge=1)
    """Connections open at once from one client address on this listener (an IPv6
    client counts by its network: `[limits] ipv6_prefix_length`). `[limits]
    max_connections_per_address` counts all listeners together."""
    idle_timeout_seconds: float = Field(default=300, gt=0)
    """A client silent this long is disconnected."""
    max_bad_commands: int = Field(default=20, ge=1)
    """Bad commands and failed logins before a session is ended: in a row for IMAP and
    POP3 (Dovecot's rule), and for SMTP until a message is accepted (Postfix's
    smtpd_hard_error_limit)."""

    @field_validator("address")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host_and_port(value)
        return value

    @model_validator(mode="after")
    def _key_with_certificate(self) -> Listener:
        if (self.certificate is None) != (self.key is None):
            raise ValueError("set both certificate and key, or neither")
        return self

    @property
    def host(self) -> str:
        return host_and_port(self.address)[0]

    @property
    def port(self) -> int:
        return host_and_port(self.address)[1]


def host_and_port(value: str) -> tuple[str, int]:
    """Split `host:port` / `[v6]:port`; raise ValueError with what was expected."""
    match = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:(\d{1,10})|([^:\[\]]+):(\d{1,10})", value)
    if not match:
        raise ValueError(f'{value!r} is not host:port (IPv6 in brackets: "[::1]:25")')
    host = match.group(1) or match.group(3)
    port = int(match.group(2) or match.group(4))
    if not 0 <= port < 65536:
        raise ValueError(f"port {port} is out of range 1-65535 (0: any free port)")
    if match.group(1):
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{host!r} is not an IPv6 address") from None
    return host, port


class SmtpConfig(Section):
    """Limits and behaviour of the SMTP and submission listeners."""

    max_message_size: Size = 50 * 1024 * 1024
    """Largest message accepted (announced as SIZE), e.g. "50M"."""
    max_recipients: int = Field(default=1000, ge=1)
    """Recipients per message (Postfix's smtpd_recipient_limit)."""
    max_command_line: int = Field(default=4096, ge=512)
    """Longest command line, in bytes (RFC 5321's 512 plus room for extensions)."""
    max_data_line: int = Field(default=65536, ge=1000)
    """Longest line inside a message, in bytes."""
    max_received_headers: int = Field(default=50, ge=5)
    """A message with more Received: headers is looping and refused (Postfix's hopcount_limit)."""
    greeting: str = ""
    """Text after `220 hostname` in the greeting (default: "ESMTP Mailroom")."""


_POSTMASTER_ADDRESS = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"\[\]]+")


class RoutingConfig(Section):
    """How recipients become deliveries, beyond the SQL directory."""

    recipient_delimiter: str = Field(default="+", max_length=5)
    """Sub-address delimiters: `alice+lists@` is delivered to alice (empty: none). Each
    character is a delimiter, as Postfix's recipient_delimiter."""
    aliases_file: Path | None = None
    """An aliases(5) file (the legacy /etc/aliases): `postmaster: root`. Names without a
    domain apply to every local domain; targets without a domain get the alias's domain."""
    rewrite_maps: list[Path] = Field(default_factory=list)
    """Postfix regexp_table(5) files rewriting recipients (the legacy `arbitration`)."""
    recipient_bcc_maps: list[Path] = Field(default_factory=list)
    """Files of `address  bcc-address` lines: a copy of mail to an address goes to another
    (Postfix's recipient_bcc_maps; the legacy `cacert-inc-bcc`)."""
    max_expansion: int = Field(default=1000, ge=1)
    """Most deliveries one recipient may expand into."""
    max_depth: int = Field(default=20, ge=1)
    """Deepest chain of aliases followed."""
    postmaster: str | None = Field(default=None, max_length=254)
    """Where mail to `postmaster@` a local domain goes when that domain has no postmaster
    account or alias of its own, and the bare `<postmaster>` when the host's domain has
    none (RFC 5321 §4.5.1). Unset: `postmaster@` the host's domain (the hostname or its
    nearest local parent, else the first local domain), if that is an account or alias;
    if it is neither, start-up warns and such mail is refused with 451 4.3.5 (senders
    retry) until one exists."""
    transport_maps: list[Path] = Field(default_factory=list)
    """Postfix transport(5) files (the legacy `transport`): `domain`, `.domain` and `*`
    patterns, `smtp:[host]:port`, `relay:…` or `:…` results. A domain with an entry (not
    `*`) is relayed for anyone, as a directory transport is. Re-read on SIGHUP."""

    @field_validator("postmaster")
    @classmethod
    def _is_address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        address = value.strip()
        if not _POSTMASTER_ADDRESS.fullmatch(address):
            raise ValueError(f"{value!r} is not an address (user@example.org)")
        return address.lower()


class SpecialUseNames(Section):
    """Which existing folders LIST marks \\Drafts, \\Sent, \\Junk, \\Trash or
    \\Archive (RFC 6154 SPECIAL-USE), by their full names as clients see them, as
    Dovecot's `mailbox NAME { special_use = ... }` settings do. Within a list the
    first name that exists as a folder wins (one folder per attribute); a folder a
    member marked with CREATE ... USE wins over every name here. Names are matched
    exactly (case matters, as in Dovecot)."""

    drafts: tuple[str, ...] = ("Drafts", "Entwürfe", "Brouillons")
    sent: tuple[str, ...] = (
        "Sent",
        "Sent Messages",
        "Sent Items",
        "Gesendet",
        "Gesendete Objekte",
        "Gesendete Elemente",
        "Envoyés",
        "Éléments envoyés",
    )
    junk: tuple[str, ...] = ("Junk", "Spam", "Junk E-mail", "Junk-E-Mail", "Indésirables")
    trash: tuple[str, ...] = (
        "Trash",
        "Deleted Messages",
        "Deleted Items",
        "Papierkorb",
        "Gelöschte Elemente",
        "Gelöschte Objekte",
        "Corbeille",
        "Éléments supprimés",
    )
    archive: tuple[str, ...] = ("Archive", "Archives", "Archiv")

    @model_validator(mode="after")
    def _each_name_once(self) -> SpecialUseNames:
        seen: dict[str, str] = {}
        for attribute, names in self.attributes().items():
            for name in names:
                if not name.strip():
                    raise ValueError(f"{attribute[1:].lower()}: an empty folder name")
                if name in seen and seen[name] != attribute:
                    raise ValueError(
                        f"{name!r} is listed for both {seen[name][1:].lower()}"
                        f" and {attribute[1:].lower()}"
                    )
                seen[name] = attribute
        return self

    def attributes(self) -> dict[str, tuple[str, ...]]:
        """RFC 6154 attribute → folder names, in order of preference."""
        return {
            "\\Drafts": self.drafts,
            "\\Sent": self.sent,
            "\\Junk": self.junk,
            "\\Trash": self.trash,
            "\\Archive": self.archive,
        }


class MailboxConfig(Section):
    """Where mailboxes live on disk."""

    path_template: str = "mail/%d/%n/Maildir"
    """Maildir of an account: %u is the address, %n the part before '@', %d the domain.
    Relative to data_dir. The legacy layout is "/home/%n/Maildir"."""
    default_quota: Size | None = None
    """Quota of accounts that have none set (None: unlimited)."""
    special_use: SpecialUseNames = SpecialUseNames()
    """Existing folders marked SPECIAL-USE by name (Dovecot's `special_use`)."""

    @field_validator("path_template")
    @classmethod
    def _has_user(cls, value: str) -> str:
        if "%u" not in value and "%n" not in value:
            raise ValueError(
                "the template must contain %u or %n, or all accounts share one mailbox"
            )
        if re.search(r"%[^und%]", value):
            raise ValueError("only %u, %n, %d and %% may follow '%'")
        return value


class ImapConfig(Section):
    """How IMAP shows mailboxes to clients."""

    hierarchy_separator: Literal[".", "/"] = "."
    """Separator between folder levels as clients see it (`Work.Projects`). Dovecot's
    Maildir++ default, and so the legacy host's, is "."; on disk it is always Maildir++."""
    authenticated_timeout_seconds: float = Field(default=1800, ge=1800)
    """A logged-in client silent this long is disconnected (IDLE included); RFC 9051
    §5.4 asks for at least 30 minutes."""
    max_connections_per_user_ip: int = Field(default=10, ge=1)
    """IMAP sessions at once of one account from one address (Dovecot's
    mail_max_userip_connections)."""


class Pop3Config(Section):
    """POP3 sessions."""

    authenticated_timeout_seconds: float = Field(default=600, ge=600)
    """A logged-in client silent this long is disconnected; RFC 1939 §3 asks for at
    least 10 minutes (Dovecot's too)."""


class QueueConfig(Section):
    """The durable queue of messages not yet delivered."""

    max_lifetime_seconds: float = Field(default=5 * 24 * 3600, gt=0)
    """A message undeliverable this long is returned to its sender (default 5 days)."""


class DkimAlgorithm(StrEnum):
    """Key types a DKIM selector's record may name in its k= tag."""

    RSA = "rsa"
    """RSA 2048 with rsa-sha256 (RFC 6376, RFC 8301): what every verifier understands."""
    ED25519 = "ed25519"
    """Ed25519 with ed25519-sha256 (RFC 8463): small and fast, not yet verified everywhere."""


# RFC 6376 §3.1: selector = sub-domain *( "." sub-domain ); each label as in a host name.
_DKIM_SELECTOR = re.compile(
    r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*"
)


def dkim_selector(text: str) -> str:
    """`Mail` -> `mail`; ValueError for what cannot stand before `._domainkey.` in DNS."""
    selector = text.strip().lower()
    if len(selector) > 63 or not _DKIM_SELECTOR.fullmatch(selector):
        raise ValueError(
            f"{text!r} is not a DKIM selector (letters, digits and inner hyphens, like 'mail')"
        )
    return selector


class DkimConfig(Section):
    """DKIM signing keys (RFC 6376): one per domain, made with `mailroom dkim keygen`."""

    key_directory: Path = Path("dkim")
    """Where keys are kept, as `<domain>.<selector>.key` (relative to the config file's
    directory). Only Mailroom's user may read it."""
    selector: str = "mail"
    """The selector: keys are published at `<selector>._domainkey.<domain>` in DNS. Use a new
    selector to roll keys over without breaking mail signed with the old one."""
    algorithm: DkimAlgorithm = DkimAlgorithm.RSA
    """Type of new keys: `rsa` (2048 bits, understood everywhere) or `ed25519` (RFC 8463)."""
    sign: bool = True
    """Sign mail from our domains that have a key when it is delivered to other hosts."""
    arc_seal: bool = True
    """ARC-seal mail we forward to other hosts (an alias to an outside address, a Sieve
    redirect; RFC 8617) with the forwarding domain's key, if it has an RSA key: the
    receiver then sees what our reception's SPF/DKIM/DMARC checks found."""

    @field_validator("selector")
    @classmethod
    def _selector(cls, value: str) -> str:
        return dkim_selector(value)


class OutboundTls(StrEnum):
    OPPORTUNISTIC = "opportunistic"
    """STARTTLS when the other server offers it, certificate not checked (Postfix's `may`)."""
    REQUIRED = "required"
    """Never send in clear; defer when STARTTLS is not offered (Postfix's `encrypt`)."""


class DeliveryConfig(Section):
    """Delivery to other hosts: MX lookup, transports, an optional relay host."""

    nameservers: list[str] = Field(default_factory=list)
    """DNS servers to ask (IP addresses); empty: those of /etc/resolv.conf."""
    dns_port: int = Field(default=53, ge=1, le=65535)
    """Port of those DNS servers."""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    """Port of the MX hosts (25; other values only for tests)."""
    relayhost: str | None = None
    """Send all mail for other domains through this host instead of their MX hosts:
    `[host]:port` (no MX lookup) or `host:port`. Transports of a domain still win."""
    tls: OutboundTls = OutboundTls.OPPORTUNISTIC
    """`opportunistic` or `required`."""
    max_connections_per_destination: int = Field(default=5, ge=1, le=100)
    """Connections at once to one domain or next hop."""
    connect_timeout_seconds: float = Field(default=30, gt=0)
    command_timeout_seconds: float = Field(default=300, gt=0)
    """How long to wait for each reply of the other server."""
    srs: bool = True
    """Rewrite the sender of mail forwarded to other hosts (an alias to an outside
    address) with the Sender Rewriting Scheme, so receivers' SPF checks pass; bounces
    to the rewritten address are accepted back and sent on to the original sender."""
    srs_domain: str | None = None
    """Domain of rewritten senders (default: hostname); its MX (or A) must be this host.
    The signing secret is kept in `<data_dir>/srs.secret`, made at first start."""
    delay_warning_hours: float = Field(default=4, ge=0)
    """Warn the sender once (an RFC 3464 report, Action: delayed) when a message is still
    undelivered this long after it arrived; 0: never (Postfix's delay_warning_time).
    Checked at each retry, so the warning may come as late as the next attempt."""
    relayhost_username: str | None = Field(default=None, min_length=1, max_length=256)
    """Log in to the relay host with this name (SASL PLAIN/LOGIN). Mail then goes to it
    only over TLS with a verified certificate (see `tls_ca_file`), or waits."""
    relayhost_password_file: Path | None = None
    """A file holding the relay host's password on its first line (relative to the config
    file's directory; readable by Mailroom's user only). Never the password itself here."""
    tls_ca_file: Path | None = None
    """PEM CA certificates to verify certificates with where they are verified: the relay
    host's, MTA-STS policy hosts' and MTA-STS MX hosts' (default: the system's)."""
    mta_sts: bool = True
    """Honour recipient domains' MTA-STS policies (RFC 8461): in `enforce` mode mail goes
    only to the MX hosts the policy lists, over TLS with a verified certificate; in
    `testing` mode mismatches are only logged. Policies are cached in
    `<data_dir>/mta-sts/`."""
    mta_sts_port: int = Field(default=443, ge=1, le=65535)
    """Port of the HTTPS servers policies are fetched from (443; other values only for
    tests). Their addresses come from `nameservers`, like everything else."""

    @field_validator("relayhost")
    @classmethod
    def _nexthop(cls, value: str | None) -> str | None:
        if value is not None:
            parse_nexthop(value)  # kept as written: delivery reads it with the same grammar
        return value

    @field_validator("nameservers")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_address(item)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address") from None
        return value

    @model_validator(mode="after")
    def _relayhost_login(self) -> DeliveryConfig:
        if (self.relayhost_username is None) != (self.relayhost_password_file is None):
            raise ValueError("set relayhost_username and relayhost_password_file together")
        if self.relayhost_username is not None and self.relayhost is None:
            raise ValueError("relayhost_username needs a relayhost")
        return self


MAX_WORKERS = 256
"""More worker processes than this is a typo, not a machine."""


def parse_workers(value: object) -> object:
    """Accept a count of processes or "auto" (one per core)."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_WORKERS:
        raise ValueError(f'expected a number of processes from 1 to {MAX_WORKERS}, or "auto"')
    return value


class ServerConfig(Section):
    """How the host runs on this machine."""

    workers: Annotated[int | Literal["auto"], BeforeValidator(parse_workers)] = 1
    """Processes that serve IMAP, POP3 and SMTP. 1: one process serves everything. N > 1:
    the main process keeps the queue, delivery from it and the control socket, accepts
    the IMAP, POP3 and SMTP connections and hands each to the least busy of N worker
    processes, so a host uses every core (a worker's SMTP delivers to local accounts
    itself and commits what must wait into the main process's queue). "auto": one per
    core. The login throttle, IDLE wake-ups, the listeners' connection limits and
    `[imap] max_connections_per_user_ip` are the host's, shared by all of them; the
    workers take the main process's configuration."""

    user: str | None = None
    """The service user the server runs as, who owns all mail (Dovecot's virtual-user
    model). Started as root, the server reads its TLS keys and binds its ports, then
    drops to this user and `group` for good; worker processes run as it too. Started as
    root without it, `mailroom serve` refuses to run. Started as another user, it must
    be unset or name that user."""
    group: str | None = None
    """The service user's group (default: that user's primary group). Supplementary
    groups are dropped."""

    def worker_count(self, cores: int | None) -> int:
        """The number of IMAP/POP3 processes ("auto": `cores`, at least 1)."""
        if self.workers == "auto":
            return max(1, cores or 1)
        return self.workers


class Config(Section):
    """The whole of `mailroom.toml`."""

    hostname: str = "localhost"
    """This server's name: in greetings, `Received:` headers and bounces."""
    data_dir: Path = Path("data")
    """Where mail, the queue and indexes live (relative to the config file's directory)."""
    directory: DirectoryConfig = DirectoryConfig()
    auth: AuthConfig = AuthConfig()
    tls: TlsConfig = TlsConfig()
    client_certificates: ClientCertificatesConfig = ClientCertificatesConfig()
    log: LogConfig = LogConfig()
    server: ServerConfig = ServerConfig()
    limits: LimitsConfig = LimitsConfig()
    smtp: SmtpConfig = SmtpConfig()
    routing: RoutingConfig = RoutingConfig()
    mailbox: MailboxConfig = MailboxConfig()
    imap: ImapConfig = ImapConfig()
    pop3: Pop3Config = Pop3Config()
    queue: QueueConfig = QueueConfig()
    dkim: DkimConfig = DkimConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    sieve: SieveConfig = SieveConfig()
    dnsbl: DnsblConfig = DnsblConfig()
    inbound_authentication: InboundAuthenticationConfig = InboundAuthenticationConfig()
    web: WebConfig = WebConfig()
    listeners: list[Listener] = Field(default_factory=list)

    _source: Path | None = PrivateAttr(default=None)

    @property
    def source(self) -> Path | None:
        """The file this was read from (set by the loader; not a key of the file)."""
        return self._source

    @field_validator("hostname")
    @classmethod
    def _hostname(cls, value: str) -> str:
        if not re.fullmatch(
            r"(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
            r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*",
            value,
        ):
            raise ValueError(f"{value!r} is not a host name")
        return value.lower()

    @model_validator(mode="after")
    def _unique_listeners(self) -> Config:
        for attribute in ("name", "address"):
            # Port 0 (any free port, for tests) may repeat.
            values = [
                getattr(listener, attribute)
                for listener in self.listeners
                if attribute == "name" or listener.port != 0
            ]
            repeated = sorted({v for v in values if values.count(v) > 1})
            if repeated:
                raise ValueError(
                    f"listener {attribute}s must be unique; repeated: {', '.join(repeated)}"
                )
        return self

    def resolve(self, path: Path) -> Path:
        """A path from the config, made absolute against the config file's directory."""
        if path.is_absolute() or self.source is None:
            return path
        return self.source.parent / path
