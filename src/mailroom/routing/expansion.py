"""One expansion: what `Router.expand` finds for one recipient, step by step as the
module docstring of `router.py` lists them (rewrites, accounts, SQL aliases, the aliases
file, sub-addresses, the postmaster, transports), over one directory snapshot and one set
of table files; and the value types of its answer. Pure: no I/O, nothing awaited.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from mailroom.config import RoutingConfig
from mailroom.directory import InvalidAddress, normalize_address, split_address
from mailroom.routing.address_map import AddressMap
from mailroom.routing.aliases_file import AliasesFile
from mailroom.routing.postmaster import is_postmaster
from mailroom.routing.regexp_table import RegexpTable
from mailroom.routing.snapshot import DirectorySnapshot
from mailroom.routing.subaddress import split_detail
from mailroom.routing.transport_map import TransportMap, find_transport

log = logging.getLogger(__name__)


class DeliveryKind(enum.Enum):
    LOCAL = "local"
    RELAY = "relay"
    REMOTE = "remote"


class FailureReason(enum.Enum):
    UNKNOWN = "unknown"
    """No such address in a local domain."""
    LOOP = "loop"
    """Aliases or rewrites lead back to an address being expanded."""
    TOO_DEEP = "too-deep"
    """A chain of aliases longer than max_depth."""
    TOO_MANY = "too-many"
    """More than max_expansion deliveries; the rest were dropped."""
    INVALID = "invalid"
    """Not an address (the recipient given, or what a rewrite map made of it)."""
    BAD_SRS = "bad-srs"
    """An SRS address of ours that is forged, damaged or too old (`route` only)."""
    NO_POSTMASTER = "no-postmaster"
    """Mail to a postmaster, and none is set up (`postmaster.py`): a temporary refusal."""


@dataclass(frozen=True)
class Delivery:
    kind: DeliveryKind
    recipient: str
    """The final address: for LOCAL the account's primary address (an SRS bounce keeps
    the sender as the reversal gave it)."""
    original: str
    """The address `expand` was called with (normalised; as given, for an SRS bounce)."""
    account: str | None = None
    """LOCAL: the account's primary address."""
    detail: str | None = None
    """LOCAL: the sub-address detail (`tag` of `alice+tag@`), else None."""
    nexthop: str | None = None
    """RELAY: the transport's next hop."""
    bcc: bool = False
    """A copy added by recipient_bcc_maps (deliver with NOTIFY=NONE)."""


@dataclass(frozen=True)
class ExpansionFailure:
    address: str
    reason: FailureReason
    message: str
    """For logs and bounces: what went wrong, e.g. the alias chain of a loop."""


@dataclass(frozen=True)
class Expansion:
    original: str
    deliveries: tuple[Delivery, ...]
    failures: tuple[ExpansionFailure, ...]


@dataclass(frozen=True)
class TableFiles:
    """The table files routing has read (`Router.load`/`reload`)."""

    rewrites: tuple[RegexpTable, ...] = ()
    aliases: AliasesFile | None = None
    bcc: tuple[AddressMap, ...] = ()
    transports: tuple[TransportMap, ...] = ()


def addresses_of(result: str) -> list[str]:
    """The addresses of a rewrite result (`a@x` or `a@x, b@y`), normalised."""
    parts = [part.strip() for part in result.split(",")]
    return [normalize_address(part) for part in parts if part]


def is_known_local(snapshot: DirectorySnapshot, maps: TableFiles, address: str) -> bool:
    """Whether steps 2-4 of router.py's docstring find `address` (in a local domain)."""
    if snapshot.account_of(address) is not None or snapshot.alias_targets(address) is not None:
        return True
    return maps.aliases is not None and split_address(address)[0] in maps.aliases


class Expander:
    """The state of one `expand`: deliveries so far, failures, the chain being followed."""

    def __init__(
        self,
        config: RoutingConfig,
        maps: TableFiles,
        snapshot: DirectorySnapshot,
        original: str,
        postmaster: str | None,
    ) -> None:
        self.config = config
        self.postmaster = postmaster
        """Where `postmaster@` a local domain goes when nothing there has that name."""
        self.maps = maps
        self.snapshot = snapshot
        self.original = original
        self.deliveries: dict[tuple[DeliveryKind, str], Delivery] = {}
        self.failures: list[ExpansionFailure] = []
        self.chain: list[str] = []
        """The addresses being expanded, outermost first (to find and show loops)."""
        self.done: set[tuple[str, bool]] = set()
        """(address, rewrites skipped) already expanded: their deliveries are in."""
        self.full = False

    # -- outcomes ----------------------------------------------------------------------------

    def fail(self, address: str, reason: FailureReason, message: str) -> None:
        if reason is not FailureReason.UNKNOWN:
            log.warning("expanding %s: %s: %s", self.original, address, message)
        self.failures.append(ExpansionFailure(address, reason, message))

    def deliver(self, delivery: Delivery) -> None:
        key = (delivery.kind, delivery.recipient)
        if key in self.deliveries:
            return
        if len(self.deliveries) >= self.config.max_expansion:
            self.full = True
            self.fail(
                delivery.recipient,
                FailureReason.TOO_MANY,
                f"more than {self.config.max_expansion} deliveries (routing.max_expansion); "
                "the rest were dropped",
            )
            return
        self.deliveries[key] = delivery

    def deliver_external(self, address: str, bcc: bool) -> None:
        domain = split_address(address)[1]
        match = find_transport(self.maps.transports, self.snapshot.nexthop, domain)
        nexthop = None if match is None else match.nexthop
        kind = DeliveryKind.REMOTE if nexthop is None else DeliveryKind.RELAY
        self.deliver(Delivery(kind, address, self.original, nexthop=nexthop, bcc=bcc))

    # -- resolution --------------------------------------------------------------------------

    def resolve(
        self,
        address: str,
        *,
        depth: int,
        detail: str | None,
        bcc: bool,
        skip_rewrites: bool = False,
    ) -> None:
        """Expand `address` (normalised), reached through `depth` aliases."""
        if self.full:
            return
        if address in self.chain:
            loop = " -> ".join([*self.chain[self.chain.index(address) :], address])
            self.fail(address, FailureReason.LOOP, f"alias loop: {loop}")
            return
        if (address, skip_rewrites) in self.done:
            return
        if depth > self.config.max_depth:
            chain = " -> ".join([*self.chain, address])
            self.fail(
                address,
                FailureReason.TOO_DEEP,
                f"more than {self.config.max_depth} aliases in a row (routing.max_depth): {chain}",
            )
            return
        self.chain.append(address)
        try:
            self._resolve(address, depth, detail, bcc, skip_rewrites)
        finally:
            self.chain.pop()
            self.done.add((address, skip_rewrites))

    def _resolve(
        self, address: str, depth: int, detail: str | None, bcc: bool, skip_rewrites: bool
    ) -> None:
        if not skip_rewrites and self._rewrite(address, depth, detail, bcc):
            return
        local, domain = split_address(address)
        if not self.snapshot.is_local_domain(domain):
            self.deliver_external(address, bcc)
            return
        if self._resolve_local(address, depth, detail, bcc):
            return
        split = split_detail(local, self.config.recipient_delimiter)
        if split is not None:
            user, sub_detail = split
            stripped = f"{user}@{domain}"
            if is_known_local(self.snapshot, self.maps, stripped):
                self.resolve(stripped, depth=depth, detail=sub_detail, bcc=bcc, skip_rewrites=True)
                return
        if is_postmaster(local):
            # RFC 5321 §4.5.1: every domain has a postmaster (postmaster.py).
            if self.postmaster is None:
                self.fail(address, FailureReason.NO_POSTMASTER, "no postmaster is set up")
                return
            if self.postmaster != address:
                self.resolve(self.postmaster, depth=depth + 1, detail=None, bcc=bcc)
                return
        self.fail(address, FailureReason.UNKNOWN, f"no such address: {address}")

    def _rewrite(self, address: str, depth: int, detail: str | None, bcc: bool) -> bool:
        """Step 1: whether a rewrite map took `address` (and resolved its results)."""
        for table in self.maps.rewrites:
            found = table.match(address)
            if found is None:
                continue
            try:
                results = addresses_of(found.result)
            except InvalidAddress as error:
                self.fail(
                    address,
                    FailureReason.INVALID,
                    f"{table.path}:{found.line} rewrote it to {found.result[:300]!r}, "
                    f"which is not an address: {error.reason}",
                )
                return True
            if not results:
                self.fail(
                    address,
                    FailureReason.INVALID,
                    f"{table.path}:{found.line} rewrote it to nothing",
                )
                return True
            for result in dict.fromkeys(results):
                if result != address:
                    self.resolve(result, depth=depth + 1, detail=detail, bcc=bcc)
            # An address the map gives back as (one of) its result(s) is kept, as Postfix
            # does: it goes on to step 2 here, not through the rewrite maps again.
            return address not in results
        return False

    def _resolve_local(self, address: str, depth: int, detail: str | None, bcc: bool) -> bool:
        """Steps 2-4 for an address in a local domain: whether one of them knew it."""
        account = self.snapshot.account_of(address)
        if account is not None:
            self.deliver(
                Delivery(
                    DeliveryKind.LOCAL,
                    account.address,
                    self.original,
                    account=account.address,
                    detail=detail,
                    bcc=bcc,
                )
            )
            return True
        targets = self.snapshot.alias_targets(address)
        if targets is not None:
            for target in targets:
                self.resolve(target, depth=depth + 1, detail=detail, bcc=bcc)
            return True
        local, domain = split_address(address)
        values = self.maps.aliases.lookup(local) if self.maps.aliases is not None else None
        if values is None:
            return False
        for value in values:
            target = value if "@" in value else f"{value}@{domain}"
            if target == address:
                # `root: root`: Postfix delivers to the Unix user; here there is no account.
                self.fail(
                    address,
                    FailureReason.UNKNOWN,
                    f"the aliases file maps {local} to itself and {address} is no account",
                )
            else:
                self.resolve(target, depth=depth + 1, detail=detail, bcc=bcc)
        return True
