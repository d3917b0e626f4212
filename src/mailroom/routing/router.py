"""The router: one recipient address in, the deliveries it stands for out.

`check` answers whether an address is ours (and known), relayed, or remote; `expand`
turns an accepted recipient into deliveries; `route` is both in one, for SMTP's RCPT (one
call, one snapshot), and also answers for the SRS addresses our forwarding made. All
read the directory through an in-memory snapshot (`snapshot.py`) and the operator's
table files, read by `load()` and re-read by `reload()`, which keeps the last good
tables if a file has become bad.

How `expand` resolves an address, in this order (Postfix's virtual alias expansion is
the model):
1. rewrite maps (regexp tables, in the configured order): the first that matches replaces
   the address by its result (several addresses if it has commas); each result goes
   through these steps again, rewrites included. A result equal to the address itself
   means "keep it" and resolution continues at step 2, as in Postfix;
2. in a local domain: an account's primary or extra address is a LOCAL delivery to the
   account (disabled accounts still receive mail: disabled means no login);
3. a SQL alias: each target is resolved again from step 1 (local ones lead to accounts,
   external ones become RELAY or REMOTE deliveries);
4. the aliases file: `name` entries apply in every local domain; a value without a
   domain takes the domain of the address being expanded;
5. sub-addresses: if `user+detail@domain` is none of 2-4, `user@domain` is tried (steps
   2-4; regexp tables see only the full address, as in Postfix) and the detail is kept
   for the local deliveries it leads to (for Sieve's :detail and folders);
6. a local address that is none of these fails as UNKNOWN, except `postmaster@`, which
   goes to the host's postmaster (`postmaster.py`; NO_POSTMASTER if there is none); an
   address in another domain is RELAY if its domain has a transport (the transport_maps
   files' `domain` and `.parent` entries, then the directory's, exact domain: see
   `transport_map.py`; a `*` entry changes the next hop but not the verdict), else REMOTE;
7. recipient BCC maps are looked up for the *original* recipient, as Postfix's cleanup
   does (`user+detail@domain`, `user@domain`, `user+detail`, `user`, `@domain`); the
   BCC address is expanded like any recipient, flagged bcc=True, and never BCC'd again.
   Postfix adds such copies with NOTIFY=NONE: the sender hears nothing about them.

Deliveries are unique per (kind, final recipient), at most `max_expansion` of them; an
alias chain longer than `max_depth` fails as TOO_DEEP; an alias that leads back to an
address being expanded fails as LOOP for that branch only, the rest is delivered. A
detail is not added to external addresses (Postfix's propagate_unmatched_extensions
would write `bob+detail@elsewhere`, whose delimiter may differ); mail to a local domain
is delivered locally even if the domain also has a transport.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mailroom.config import RoutingConfig
from mailroom.directory import (
    Account,
    Directory,
    InvalidAddress,
    normalize_address,
    split_address,
)
from mailroom.routing.address_map import load_address_map
from mailroom.routing.aliases_file import load_aliases_file
from mailroom.routing.expansion import (
    Delivery,
    DeliveryKind,
    Expander,
    Expansion,
    ExpansionFailure,
    FailureReason,
    TableFiles,
    addresses_of,
    is_known_local,
)
from mailroom.routing.map_file import MapFileError
from mailroom.routing.postmaster import (
    POSTMASTER,
    fallback_postmaster,
    host_domain,
    is_postmaster,
    missing_postmaster_warning,
)
from mailroom.routing.regexp_table import RegexpTable, load_regexp_table
from mailroom.routing.snapshot import (
    DEFAULT_REFRESH_INTERVAL,
    DirectorySnapshot,
    DirectoryUnavailable,
    SnapshotCache,
)
from mailroom.routing.srs_reversal import SrsReverser, reverse_srs
from mailroom.routing.subaddress import split_detail
from mailroom.routing.transport_map import find_transport, load_transport_map

log = logging.getLogger(__name__)


class InvalidRecipient(ValueError):
    """`check` was given something that is not an address; `str()` says why."""

    def __init__(self, address: str, reason: str) -> None:
        self.address = address
        self.reason = reason
        super().__init__(f"invalid recipient {address[:300]!r}: {reason}")


class RecipientVerdict(enum.Enum):
    LOCAL = "local"
    """In a local domain, and an account, extra address, alias or aliases-file name (or
    rewritten by a rewrite map): accept."""
    LOCAL_UNKNOWN = "local-unknown"
    """In a local domain, but nothing there: refuse (550 5.1.1)."""
    RELAY = "relay"
    """Another domain with a transport: accept from anyone, deliver to its next hop."""
    REMOTE = "remote"
    """Any other domain: only for authenticated senders."""
    SRS_BOUNCE = "srs-bounce"
    """One of our SRS addresses (only `route` says so): a bounce of mail we forwarded,
    accepted from anyone and sent on to the original sender."""


@dataclass(frozen=True)
class Route:
    """`route`'s answer: whether the address may be accepted, and what it becomes."""

    verdict: RecipientVerdict
    expansion: Expansion


def check_literal_results(table: RegexpTable) -> None:
    """MapFileError at the first rewrite result without `$n` that is no address list:
    such results are checked when the file is loaded rather than per mail."""
    for line, result in table.literal_results():
        try:
            if not addresses_of(result):
                raise MapFileError(table.path, line, f"the result {result!r} is empty")
        except InvalidAddress as error:
            raise MapFileError(
                table.path, line, f"the result {result!r} is not an address: {error.reason}"
            ) from None


class Router:
    """Routing for one process; share it between tasks."""

    def __init__(
        self,
        directory: Directory,
        config: RoutingConfig,
        base_dir: Path,
        clock: Callable[[], float] = time.monotonic,
        *,
        refresh_interval: float = DEFAULT_REFRESH_INTERVAL,
        hostname: str = "",
    ) -> None:
        self._config = config
        self._hostname = hostname
        """The host's name: whose postmaster the bare `<Postmaster>` is (`postmaster.py`)."""
        self._base_dir = base_dir
        self._snapshots = SnapshotCache(directory, refresh_interval=refresh_interval, clock=clock)
        self._maps: TableFiles | None = None

    # -- table files ------------------------------------------------------------------------

    def load(self) -> None:
        """Read the table files named in the config; MapFileError at the first bad one."""
        self._maps = self._read_maps()

    def reload(self) -> bool:
        """Read the table files again. If one is bad, log `path:line: message`, keep the
        tables in use, and return False."""
        try:
            maps = self._read_maps()
        except MapFileError as error:
            log.error("%s; routing keeps the tables it had", error)
            return False
        self._maps = maps
        log.info("routing re-read its map files")
        return True

    def _path(self, path: Path) -> Path:
        return self._base_dir / path

    def _read_maps(self) -> TableFiles:
        rewrites = tuple(load_regexp_table(self._path(p)) for p in self._config.rewrite_maps)
        for table in rewrites:
            check_literal_results(table)
        aliases_file = self._config.aliases_file
        aliases = load_aliases_file(self._path(aliases_file)) if aliases_file else None
        bcc = tuple(load_address_map(self._path(p)) for p in self._config.recipient_bcc_maps)
        transports = tuple(load_transport_map(self._path(p)) for p in self._config.transport_maps)
        return TableFiles(rewrites, aliases, bcc, transports)

    def _loaded_maps(self) -> TableFiles:
        if self._maps is None:
            raise RuntimeError("Router.load() must be called before routing")
        return self._maps

    # -- questions ---------------------------------------------------------------------------

    async def check(self, address: str) -> RecipientVerdict:
        """Whether `address` is ours and known, relayed or remote (see RecipientVerdict).
        Raises InvalidRecipient for what is not an address, DirectoryUnavailable if the
        directory cannot be read and has never been. The bare `postmaster` is the host's
        postmaster, as in `route`."""
        maps = self._loaded_maps()
        if is_postmaster(address.strip()):
            return self._bare_postmaster_route(maps, await self._snapshots.get()).verdict
        recipient = _recipient(address)
        return self._verdict(maps, await self._snapshots.get(), recipient)

    async def route(self, address: str, *, srs: SrsReverser | None = None) -> Route:
        """`check` and `expand` at once, from one snapshot: what RCPT TO asks. With `srs`,
        an SRS address of ours is a bounce for the original sender it stands for (checked
        before anything else, whatever its domain). Raises as `check` does."""
        if srs is not None:
            bounce = await self._srs_route(srs, address)
            if bounce is not None:
                return bounce
        maps = self._loaded_maps()
        snapshot = await self._snapshots.get()
        if is_postmaster(address.strip()):
            return self._bare_postmaster_route(maps, snapshot)
        recipient = _recipient(address)
        return Route(
            self._verdict(maps, snapshot, recipient),
            self._expansion(maps, snapshot, recipient),
        )

    def _bare_postmaster_route(self, maps: TableFiles, snapshot: DirectorySnapshot) -> Route:
        """RFC 5321 §4.1.1.3: `<Postmaster>` without a domain is this host's postmaster,
        accepted from anyone wherever it leads (`postmaster.py`)."""
        domain = host_domain(snapshot, self._hostname)
        if domain is not None:
            recipient = f"{POSTMASTER}@{domain}"
            return Route(
                self._verdict(maps, snapshot, recipient),
                self._expansion(maps, snapshot, recipient),
            )
        configured = self._config.postmaster
        if configured is None:
            failure = ExpansionFailure(
                POSTMASTER, FailureReason.NO_POSTMASTER, "no postmaster is set up"
            )
            return Route(RecipientVerdict.LOCAL_UNKNOWN, Expansion(POSTMASTER, (), (failure,)))
        return Route(RecipientVerdict.LOCAL, self._expansion(maps, snapshot, configured))

    async def _srs_route(self, srs: SrsReverser, address: str) -> Route | None:
        reversal = reverse_srs(srs, address)
        if reversal is None:
            return None
        sender = reversal.original_sender
        if sender is None:
            failure = ExpansionFailure(address, FailureReason.BAD_SRS, reversal.error)
            return Route(RecipientVerdict.LOCAL_UNKNOWN, Expansion(address, (), (failure,)))
        snapshot = await self._snapshots.get()
        # The kind and account delivery would find for the sender (looked up as given).
        account = snapshot.account_of(sender)
        if account is not None:
            delivery = Delivery(DeliveryKind.LOCAL, sender, address, account=account.address)
        else:
            maps = self._loaded_maps()
            nexthop = self._nexthop(maps, snapshot, sender.rpartition("@")[2].lower())
            kind = DeliveryKind.REMOTE if nexthop is None else DeliveryKind.RELAY
            delivery = Delivery(kind, sender, address, nexthop=nexthop)
        return Route(RecipientVerdict.SRS_BOUNCE, Expansion(address, (delivery,), ()))

    def _verdict(
        self, maps: TableFiles, snapshot: DirectorySnapshot, recipient: str
    ) -> RecipientVerdict:
        local, domain = split_address(recipient)
        if not snapshot.is_local_domain(domain):
            # Relaying is decided by the domain given, as Postfix's smtpd does.
            match = find_transport(maps.transports, snapshot.nexthop, domain)
            if match is not None and match.grants_relay:
                return RecipientVerdict.RELAY
            return RecipientVerdict.REMOTE
        for table in maps.rewrites:
            result = table.lookup(recipient)
            if result is not None:
                try:
                    rewritten = addresses_of(result)
                except InvalidAddress:
                    rewritten = []  # accepted; `expand` reports the bad rewrite
                if rewritten != [recipient]:
                    return RecipientVerdict.LOCAL
                break
        if is_known_local(snapshot, maps, recipient):
            return RecipientVerdict.LOCAL
        split = split_detail(local, self._config.recipient_delimiter)
        if split is not None and is_known_local(snapshot, maps, f"{split[0]}@{domain}"):
            return RecipientVerdict.LOCAL
        if is_postmaster(local) and self._fallback_postmaster(snapshot) is not None:
            return RecipientVerdict.LOCAL
        return RecipientVerdict.LOCAL_UNKNOWN

    def _fallback_postmaster(self, snapshot: DirectorySnapshot) -> str | None:
        return fallback_postmaster(snapshot, self._hostname, self._config.postmaster)

    def _nexthop(self, maps: TableFiles, snapshot: DirectorySnapshot, domain: str) -> str | None:
        match = find_transport(maps.transports, snapshot.nexthop, domain)
        return None if match is None else match.nexthop

    async def missing_postmaster(self) -> str | None:
        """A one-line warning if mail to a postmaster would find no one (for start-up),
        else None."""
        maps = self._loaded_maps()
        if maps.aliases is not None and POSTMASTER in maps.aliases:
            return None  # the aliases file's `postmaster:` serves every local domain
        try:
            snapshot = await self._snapshots.get()
        except DirectoryUnavailable:
            return None  # start-up goes on; RCPT answers a temporary error meanwhile
        return missing_postmaster_warning(snapshot, self._hostname, self._config.postmaster)

    async def is_local_domain(self, domain: str) -> bool:
        snapshot = await self._snapshots.get()
        return snapshot.is_local_domain(domain.lower())

    async def nexthop(self, domain: str) -> str | None:
        """The transport's next hop for `domain`, if it has one (transport_maps, then
        the directory: `transport_map.py`)."""
        snapshot = await self._snapshots.get()
        return self._nexthop(self._loaded_maps(), snapshot, domain.lower())

    def forget_directory(self) -> None:
        """Re-read the directory at the next question (it is otherwise re-read when its
        version changes, checked at most once per refresh interval)."""
        self._snapshots.invalidate()

    async def may_send_as(self, account: str, address: str) -> bool:
        """Whether the logged-in `account` may use `address` as envelope sender: its own
        or extra addresses (with or without a sub-address detail), or an alias it holds a
        send-as grant for (the legacy host's rule for aliases like pr@)."""
        try:
            sender = normalize_address(address)
        except InvalidAddress:
            return False
        snapshot = await self._snapshots.get()
        if snapshot.may_send_as(account, sender):
            return True
        local, domain = split_address(sender)
        split = split_detail(local, self._config.recipient_delimiter)
        return split is not None and snapshot.may_send_as(account, f"{split[0]}@{domain}")

    async def account(self, address: str) -> Account | None:
        """The account an address (primary or extra) belongs to, from the cached snapshot."""
        snapshot = await self._snapshots.get()
        return snapshot.account_of(address)

    async def expand(self, address: str) -> Expansion:
        """The deliveries `address` stands for, and what could not be delivered (the bare
        `postmaster` is the host's postmaster, as in `route`). Never raises for a bad
        address (it is an INVALID failure); raises DirectoryUnavailable
        if the directory cannot be read and has never been."""
        maps = self._loaded_maps()
        if is_postmaster(address.strip()):
            return self._bare_postmaster_route(maps, await self._snapshots.get()).expansion
        try:
            original = normalize_address(address)
        except InvalidAddress as error:
            shown = str(address)[:300]
            failure = ExpansionFailure(shown, FailureReason.INVALID, error.reason)
            return Expansion(shown, (), (failure,))
        return self._expansion(maps, await self._snapshots.get(), original)

    def _expansion(self, maps: TableFiles, snapshot: DirectorySnapshot, original: str) -> Expansion:
        postmaster = self._fallback_postmaster(snapshot)
        expander = Expander(self._config, maps, snapshot, original, postmaster)
        expander.resolve(original, depth=0, detail=None, bcc=False)
        bcc = self._bcc_address(maps, snapshot, original)
        if bcc is not None:
            expander.resolve(bcc, depth=0, detail=None, bcc=True)
        return Expansion(original, tuple(expander.deliveries.values()), tuple(expander.failures))

    def _bcc_address(
        self, maps: TableFiles, snapshot: DirectorySnapshot, original: str
    ) -> str | None:
        local = snapshot.is_local_domain(split_address(original)[1])
        for table in maps.bcc:
            bcc = table.lookup(original, delimiters=self._config.recipient_delimiter, local=local)
            if bcc is not None:
                return bcc
        return None


def _recipient(address: str) -> str:
    """The address normalised; InvalidRecipient if it is none."""
    try:
        return normalize_address(address)
    except InvalidAddress as error:
        raise InvalidRecipient(str(address), error.reason) from None
