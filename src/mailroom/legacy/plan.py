"""What an import would do: the legacy host compared with the directory, as a list of
actions (each a create or an update) and of things that cannot be carried over with the
reason. A pure function: it reads nothing and changes nothing, so `--dry-run` and the
real run see the same plan, and a second run after a first finds nothing left to do.

How the legacy host maps onto the directory:
- each `user` row is an account `username@DOMAIN` with its hash as it is (`$1$` works
  and is upgraded to argon2id at the member's first login), `realname` its display name;
- a `fullnamealias` is an extra address of that account;
- a row of the `aliases` table is an alias forwarding to its members, who may send as it;
- an /etc/aliases entry is a receive-only alias: bare names are legacy accounts or
  aliases of DOMAIN; names that are neither (system users such as `root`) are reported;
- the transport map's entries are the directory's transports; map files are copied.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from mailroom.directory import InvalidAddress, normalize_address, normalize_domain, split_address
from mailroom.directory.passwords import identify_scheme, wraps_legacy_hash
from mailroom.legacy.records import CurrentDirectory, LegacyHost, MapCopy, Skipped


class ActionKind(enum.StrEnum):
    DOMAIN = "domain"
    ACCOUNT = "account"
    PASSWORD = "password"  # noqa: S105 - the kind of change, not a secret
    DISPLAY_NAME = "name"
    ADDRESS = "address"
    ALIAS = "alias"
    SEND_AS = "send-as"
    TRANSPORT = "transport"
    MAP = "map file"


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    subject: str
    """The address, domain or file the action makes or changes."""
    detail: str
    """For a person: what it will hold."""
    update: bool = False
    """Changes something that exists (else creates it)."""
    account: str = ""
    """ADDRESS, SEND_AS: the account; ACCOUNT, PASSWORD: the hash; DISPLAY_NAME: the name."""
    display_name: str = ""
    targets: tuple[str, ...] = ()
    send_as: tuple[str, ...] = ()
    map_copy: MapCopy | None = None


@dataclass(frozen=True)
class ImportPlan:
    actions: tuple[Action, ...]
    skipped: tuple[Skipped, ...]
    unchanged: int
    """Things the legacy host has that the directory already holds as they are."""


@dataclass
class _Planner:
    host: LegacyHost
    current: CurrentDirectory
    domain: str
    actions: list[Action] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    unchanged: int = 0
    owners: dict[str, str] = field(default_factory=dict)
    """Every address, existing or planned, and what holds it ('account', 'alias', ...)."""

    def own(self) -> None:
        for address, account in self.current.accounts.items():
            self.owners[address] = f"the account {address}"
            for extra in account.extra_addresses:
                self.owners[extra] = f"an extra address of {address}"
        for address in self.current.aliases:
            self.owners[address] = f"the alias {address}"

    def address(self, local: str) -> str | None:
        try:
            return normalize_address(f"{local}@{self.domain}")
        except InvalidAddress:
            return None

    def plan_domain(self) -> None:
        if self.domain in self.current.domains:
            self.unchanged += 1
        else:
            self.actions.append(Action(ActionKind.DOMAIN, self.domain, "local domain"))

    def plan_users(self) -> dict[str, str]:
        """Plans accounts and extra addresses; returns legacy user name → address."""
        accounts: dict[str, str] = {}
        for user in self.host.users:
            address = self.address(user.username)
            if address is None:
                self.skipped.append(Skipped(f"user {user.username!r}", "not a valid address"))
                continue
            if address in accounts.values():
                self.skipped.append(Skipped(f"user {user.username!r}", "repeats another row"))
                continue
            holder = self.owners.get(address)
            if holder is not None and address not in self.current.accounts:
                self.skipped.append(Skipped(f"user {user.username!r}", f"{address} is {holder}"))
                continue
            accounts[user.username.lower()] = address
            password = self.password(user.username, user.password)
            name = user.realname if user.realname.isprintable() else ""
            existing = self.current.accounts.get(address)
            if existing is None:
                self.actions.append(
                    Action(
                        ActionKind.ACCOUNT,
                        address,
                        f"{name or '-'}, {_scheme(password)} hash",
                        account=password,
                        display_name=name,
                    )
                )
                self.owners[address] = f"the account {address}"
            else:
                self.plan_account_changes(
                    address, existing.password_hash, existing.display_name, password, name
                )
            self.plan_extra(user.username, user.fullnamealias, address)
        return accounts

    def password(self, username: str, password: str) -> str:
        if not password:
            self.skipped.append(
                Skipped(f"password of {username}", "empty: no login until `mailroom user passwd`")
            )
            return "!"
        if not (password.isascii() and password.isprintable()) or " " in password:
            self.skipped.append(
                Skipped(
                    f"password of {username}", "not a hash: no login until `mailroom user passwd`"
                )
            )
            return "!"
        if _scheme(password) == "unknown":
            self.skipped.append(
                Skipped(
                    f"password of {username}",
                    "unknown hash scheme, kept as it is: no login until `mailroom user passwd`",
                )
            )
        return password

    def plan_account_changes(
        self, address: str, stored: str, stored_name: str, password: str, name: str
    ) -> None:
        changed = False
        # A hash upgraded at login (argon2id) differs from the legacy one but holds the
        # same password; only a legacy-scheme hash that differs was changed over there,
        # or one the host wrapped at its start (auth.legacy_hashes) from another hash.
        if stored != password and (
            _scheme(stored) == _scheme(password)
            or (
                _scheme(stored).startswith(WRAPPED_PREFIX)
                and not wraps_legacy_hash(stored, password)
            )
        ):
            self.actions.append(
                Action(ActionKind.PASSWORD, address, "changed on the legacy host", True, password)
            )
            changed = True
        if name and stored_name != name:
            self.actions.append(
                Action(ActionKind.DISPLAY_NAME, address, f"{stored_name!r} → {name!r}", True, name)
            )
            changed = True
        if not changed:
            self.unchanged += 1

    def plan_extra(self, username: str, alias: str, account: str) -> None:
        if not alias or alias.lower() == username.lower():
            return
        extra = self.address(alias)
        if extra is None:
            self.skipped.append(Skipped(f"fullnamealias {alias!r}", "not a valid address"))
            return
        holder = self.owners.get(extra)
        existing = self.current.accounts.get(account)
        if existing is not None and extra in existing.extra_addresses:
            self.unchanged += 1
        elif holder is not None:
            self.skipped.append(Skipped(f"fullnamealias {extra}", f"already {holder}"))
        else:
            self.actions.append(
                Action(ActionKind.ADDRESS, extra, f"extra address of {account}", account=account)
            )
            self.owners[extra] = f"an extra address of {account}"

    def plan_aliases(self, accounts: dict[str, str]) -> None:
        wanted: dict[str, tuple[set[str], set[str], str]] = {}
        names = {alias.name for alias in self.host.etc_aliases}
        names |= {row.address.lower() for row in self.host.send_as if "@" not in row.address}

        def resolve(value: str, what: str) -> str | None:
            if "@" in value:
                return value
            if value.lower() in accounts:
                return accounts[value.lower()]
            if value.lower() in names:
                return self.address(value)
            self.skipped.append(
                Skipped(
                    what, f"{value!r} is neither a legacy account nor an alias (a system user?)"
                )
            )
            return None

        for row in self.host.send_as:
            what = f"aliases table {row.address!r}"
            try:
                address = normalize_address(
                    row.address if "@" in row.address else f"{row.address}@{self.domain}"
                )
            except InvalidAddress as error:
                self.skipped.append(Skipped(what, error.reason))
                continue
            if split_address(address)[1] != self.domain:
                self.skipped.append(Skipped(what, f"not in {self.domain}"))
                continue
            targets, senders, _ = wanted.setdefault(address, (set(), set(), "send-as"))
            for member in row.members:
                target = resolve(member, what)
                if target is None:
                    continue
                targets.add(target)
                if target in accounts.values():
                    senders.add(target)
        for entry in self.host.etc_aliases:
            what = f"/etc/aliases {entry.name!r} (line {entry.line})"
            local = self.address(entry.name)
            if local is None:
                self.skipped.append(Skipped(what, "not a valid address"))
                continue
            targets, _, _ = wanted.setdefault(local, (set(), set(), "receive-only"))
            for value in entry.values:
                target = resolve(value, what)
                if target is not None:
                    targets.add(target)
        self.order_aliases(wanted)

    def order_aliases(self, wanted: dict[str, tuple[set[str], set[str], str]]) -> None:
        """Aliases in an order the directory accepts: an alias after the local addresses
        it forwards to."""
        pending: dict[str, tuple[set[str], set[str], str]] = {}
        for address, (targets, senders, kind) in sorted(wanted.items()):
            holder = self.owners.get(address)
            existing = self.current.aliases.get(address)
            if existing is not None:
                self.plan_alias_changes(
                    address, targets, senders, existing.targets, existing.send_as
                )
            elif holder is not None:
                self.skipped.append(Skipped(f"alias {address}", f"already {holder}"))
            elif not targets:
                self.skipped.append(Skipped(f"alias {address}", "no target left to forward to"))
            else:
                pending[address] = (targets, senders, kind)
        while pending:
            # An alias waits for the aliases it forwards to (the directory checks targets).
            ready = [
                address
                for address, (targets, _, _) in pending.items()
                if not targets & pending.keys()
            ]
            if not ready:
                for address in pending:
                    self.skipped.append(
                        Skipped(f"alias {address}", "forwards to a missing address or in a loop")
                    )
                return
            for address in ready:
                targets, senders, kind = pending.pop(address)
                self.add_alias(address, targets, senders, kind)

    def add_alias(self, address: str, targets: set[str], senders: set[str], kind: str) -> None:
        missing = sorted(
            t for t in targets if split_address(t)[1] == self.domain and t not in self.owners
        )
        for target in missing:
            self.skipped.append(Skipped(f"alias {address}", f"{target} does not exist; left out"))
        kept = sorted(targets - set(missing))
        if not kept:
            self.skipped.append(Skipped(f"alias {address}", "no target left to forward to"))
            return
        detail = f"{kind} → {', '.join(kept)}"
        if senders:
            detail += f" (send-as: {', '.join(sorted(senders))})"
        self.actions.append(
            Action(
                ActionKind.ALIAS,
                address,
                detail,
                targets=tuple(kept),
                send_as=tuple(sorted(senders)),
            )
        )
        self.owners[address] = f"the alias {address}"

    def plan_alias_changes(
        self,
        address: str,
        targets: set[str],
        senders: set[str],
        existing_targets: frozenset[str],
        existing_senders: frozenset[str],
    ) -> None:
        changed = False
        for sender in sorted(senders - existing_senders):
            self.actions.append(
                Action(ActionKind.SEND_AS, address, f"{sender} may send as it", True, sender)
            )
            changed = True
        if targets - existing_targets:
            added = ", ".join(sorted(targets - existing_targets))
            self.skipped.append(
                Skipped(
                    f"alias {address}",
                    f"exists here without {added}; left as it is (`mailroom alias` changes it)",
                )
            )
            changed = True
        if not changed:
            self.unchanged += 1

    def plan_transports(self) -> None:
        for domain, nexthop in self.host.transports:
            existing = self.current.transports.get(domain)
            if existing == nexthop:
                self.unchanged += 1
            else:
                detail = nexthop if existing is None else f"{existing} → {nexthop}"
                self.actions.append(
                    Action(ActionKind.TRANSPORT, domain, detail, existing is not None, nexthop)
                )

    def plan_maps(self) -> None:
        for copy in self.host.maps:
            existing = self.current.map_texts.get(copy.target)
            if existing == copy.text:
                self.unchanged += 1
            else:
                self.actions.append(
                    Action(
                        ActionKind.MAP,
                        str(copy.target),
                        f"copy of {copy.source} ({copy.kind})",
                        existing is not None,
                        map_copy=copy,
                    )
                )


WRAPPED_PREFIX = "argon2id-wrapped"
"""How a wrapped legacy hash's scheme is named (directory.passwords)."""


def _scheme(stored: str) -> str:
    try:
        return str(identify_scheme(stored))
    except ValueError:
        return "unknown"


def plan_import(host: LegacyHost, current: CurrentDirectory) -> ImportPlan:
    """What importing `host` into `current` would create and change, and what not."""
    planner = _Planner(host, current, normalize_domain(host.domain))
    planner.skipped.extend(host.skipped)
    planner.own()
    planner.plan_domain()
    accounts = planner.plan_users()
    planner.plan_aliases(accounts)
    planner.plan_transports()
    planner.plan_maps()
    return ImportPlan(tuple(planner.actions), tuple(planner.skipped), planner.unchanged)
