"""The one Authenticator every protocol asks: is this login, with this password, from this
client, allowed — and as which account?

It owns the policy the legacy host spread over Dovecot's passdbs, PAM and a wish list:
- logins are addresses; a bare `user` gets `[auth] default_domain` (the legacy members'
  habit), and any of an account's addresses logs in to it;
- master users, Dovecot style (`alice@example.org*webmail`, or SASL authzid=alice,
  authcid=webmail), each allowed only from its networks — the legacy webmail's master
  password "restricted to the IP address of Community";
- throttling (`auth.throttle`): an attempt is reserved before anything is verified
  (counted as a failure until settled), so logins arriving in parallel cannot check more
  passwords than the budget; each is settled with its outcome, and a failure's answer
  waits for the delay that returns. A refused attempt (`THROTTLED`: a ban, a budget held
  by attempts in flight, a throttle that does not answer) is a temporary failure, which
  protocols answer as such (454 4.7.0, NO [UNAVAILABLE], ...), so a client keeps a good
  saved password; during a ban the right password gets that answer too;
- what a guesser may learn is nothing: an unknown account is verified against a dummy
  hash of the same cost as a real one (`PasswordHasher.dummy_hash`), a disabled account is
  only reported after its password was right, and protocols answer every failure alike
  (the outcome is for logs and `mailroom auth test`);
- legacy hashes ($1$, $5$, $6$, bcrypt) are wrapped in argon2id at start
  (`wrap_legacy_hashes`), and any old or wrapped hash is replaced by argon2id on the first
  successful login, each with a compare-and-set so a concurrent `passwd` wins;
- hashing never runs on the event loop: a bounded thread pool does it (`hash_password`
  lends it to the web's password and app-password pages);
- app passwords (`auth.app_passwords`): on IMAP, POP3, submission and ManageSieve a
  password of an app password's shape is first checked against that one app password
  of the account (read through the same version-checked records, so a revoked one is
  refused at the next login, in every process); the account's own password is still
  tried when it does not match. Its last use is noted by `auth.app_password_uses`;
- a verified password is remembered for `[auth] cache_ttl_seconds` (`auth.login_cache`),
  so a client's next connections cost no hash; the throttle is still asked first, so a
  ban counts at once. The account record is reused only while the directory's version
  counter is unchanged (`auth.account_records`), so a password change, a disabled or
  removed account count at once, from whichever process they came. `stats` counts the
  hashes verified, the logins the cache answered and the records read from the directory.

Each decision is logged as one `key=value` line on logger `mailroom.auth`, never with the
password. This module decides; protocol sessions only ask and answer.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import TypeVar

from mailroom.auth.account_records import AccountRecords
from mailroom.auth.app_password_uses import AppPasswordUses
from mailroom.auth.app_passwords import APP_PASSWORD_PROTOCOLS, parse_app_password
from mailroom.auth.legacy_hashes import wrap_stored_legacy_hashes
from mailroom.auth.log_lines import LOGGED_VALUE_LENGTH, log_fields
from mailroom.auth.login_cache import AuthStats, CachedVerifier, LoginCache
from mailroom.auth.sasl import Credentials
from mailroom.auth.throttle import (
    IPAddress,
    NoThrottle,
    Settlement,
    Throttle,
    ThrottleVerdict,
    canonical_client,
)
from mailroom.config import AuthConfig, MasterUser
from mailroom.directory import Account, Directory, DirectoryError, InvalidAddress
from mailroom.directory.addresses import normalize_address, normalize_domain
from mailroom.directory.passwords import (
    PasswordHasher,
    UnknownHashScheme,
    Verification,
    identify_scheme,
)
from mailroom.metrics import AUTH_ATTEMPTS

log = logging.getLogger("mailroom.auth")

MAX_LOGIN_LENGTH = 1024
"""Longest login looked at; longer ones are refused before any work (SASL's field bound)."""

T = TypeVar("T")


@dataclass(frozen=True)
class AuthRequest:
    protocol: str
    """For the log: imap, pop3, submission, managesieve, web, cli."""
    client_ip: IPAddress
    login: str
    """As the client sent it: `alice`, `alice@example.org`, `alice@example.org*webmail`."""
    password: str = field(repr=False)
    authzid: str = ""
    """SASL authorization identity: the account a master user (the login) acts as."""
    secure: bool = True
    """The password travelled over TLS or a network allowed plain text (logged if not)."""


class AuthOutcome(Enum):
    SUCCESS = "success"
    UNKNOWN_USER = "unknown_user"
    BAD_PASSWORD = "bad_password"  # noqa: S105 - an outcome's name, not a password
    DISABLED = "disabled"
    THROTTLED = "throttled"
    MASTER_NOT_ALLOWED = "master_not_allowed"
    INVALID_REQUEST = "invalid_request"


@dataclass(frozen=True)
class AuthResult:
    outcome: AuthOutcome
    account: str | None
    """The account's primary address when the login succeeded; None otherwise."""
    master: str | None
    """The master user's name when one logged in (or tried to) on the account's behalf."""
    delay_seconds: float
    """Wait this long before answering the client (failures only; from the throttle)."""
    reason: str
    """One line for logs and `mailroom auth test`. Never sent to the client: protocols
    answer every failure with the same generic reply."""

    @property
    def ok(self) -> bool:
        return self.outcome is AuthOutcome.SUCCESS

    @property
    def temporary(self) -> bool:
        """Refused without looking at the password (a ban, the throttle unavailable):
        protocols answer a temporary failure, so clients keep the saved password."""
        return self.outcome is AuthOutcome.THROTTLED


@dataclass(frozen=True)
class _Login:
    """What the client asked for, parsed: log in to `target`, as `master` if set. With
    `same_as`, the authzid named `target` and the authcid `same_as`: both must be one
    account."""

    target: str
    master: MasterUser | None = None
    same_as: str | None = None


@dataclass
class _Decision:
    """An outcome with what its log line needs beyond the request."""

    outcome: AuthOutcome
    code: str
    """The log line's reason=: the outcome, or a finer cause (ip_banned, authzid_mismatch)."""
    reason: str
    account: str | None = None
    master: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    level: int = logging.INFO


class InvalidLogin(ValueError):
    """The login or authzid is not something that can name an account."""


class Authenticator:
    """Checks logins for every protocol. `throttle=None` counts nothing (for `mailroom auth
    test`); servers pass a `MemoryThrottle`. `clock` times the login cache's entries and
    the writes of app passwords' last use."""

    def __init__(
        self,
        directory: Directory,
        config: AuthConfig,
        throttle: Throttle | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.stats = AuthStats()
        cache = LoginCache(config.cache_ttl_seconds, config.cache_max_entries, clock)
        self._verifier = CachedVerifier(
            cache, self._verify, self.stats, upgrades=config.passwords.upgrade_on_login
        )
        self._directory = directory
        # One switch for both: `cache_ttl_seconds = 0` means "read everything afresh".
        self._accounts = AccountRecords(
            directory, config.cache_max_entries if cache.enabled else 0, self.stats
        )
        self._throttle: Throttle = throttle if throttle is not None else NoThrottle()
        self._hasher = PasswordHasher(config.passwords)
        self._default_domain = _checked_default_domain(config)
        self._masters = {master.name: master for master in _checked_masters(config)}
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=config.passwords.threads, thread_name_prefix="mailroom-auth"
        )
        # What an unknown login is verified against, so it costs what a known one does.
        # Made at once in the pool, so the first unknown login pays no extra hash.
        self._dummy_hash = self._pool.submit(self._hasher.dummy_hash)
        self._cache = cache
        self._app_password_uses = AppPasswordUses(directory, clock)

    async def close(self) -> None:
        """Stop the hashing threads (waiting for running hashes, dropping queued ones)."""
        await asyncio.to_thread(self._pool.shutdown, wait=True, cancel_futures=True)

    async def wrap_legacy_hashes(self) -> int:
        """Wrap every legacy hash in the directory in argon2id (`auth.legacy_hashes`);
        how many were. Raises DirectoryError."""
        return await wrap_stored_legacy_hashes(
            self._directory,
            functools.partial(self._in_pool, self._hasher.wrap_legacy),
            self.config.passwords.legacy_scheme,
        )

    async def account(self, address: str) -> Account | None:
        """The account `address` (normalised, primary or extra) belongs to, as the
        directory has it now: the record a login just read, when nothing changed since
        (opening a logged-in session's mailbox then reads no SQL). Raises DirectoryError."""
        return await self._accounts.find(address)

    async def registered_certificates(self, address: str) -> frozenset[str]:
        """The SHA-256 fingerprints of the client certificates the account `address` (a
        primary address) registered, as the directory has them now (`CertificateLogin`
        pins to them). Raises DirectoryError."""
        return await self._accounts.certificates(address)

    async def hash_password(self, password: str) -> str:
        """An argon2id hash of `password` with `[auth.passwords]`, made in the hashing
        pool (a new password or app password). Raises InvalidValue for one the hasher
        refuses (empty, NUL, too long)."""
        return await self._in_pool(self._hasher.hash, password)

    def forget_logins(self, who: str) -> None:
        """Drop this process's remembered login of `who` (an account's primary address,
        or `app:ID`) after its password changed or an app password was revoked. Not
        needed for correctness (entries are keyed by the stored hash, and a revoked app
        password is no longer found), but an entry is a fast hash of a password: it should
        not outlive what it stood for."""
        self._cache.forget(who)

    async def log_in(
        self, credentials: Credentials, *, protocol: str, client_ip: IPAddress, secure: bool
    ) -> AuthResult:
        """A protocol session's login (LOGIN, USER/PASS, or a finished SASL exchange):
        `authenticate`, and on failure wait the throttle's delay before returning, so the
        session answers only then (Dovecot's auth_penalty)."""
        request = AuthRequest(
            protocol=protocol,
            client_ip=client_ip,
            login=credentials.authcid,
            password=credentials.password,
            authzid=credentials.authzid,
            secure=secure,
        )
        result = await self.authenticate(request)
        if not result.ok and result.delay_seconds:
            await asyncio.sleep(result.delay_seconds)
        return result

    async def authenticate(self, request: AuthRequest) -> AuthResult:
        """Decide one login; log it. Raises only DirectoryError from the directory (e.g.
        DatabaseUnavailable), which the protocol answers as a temporary failure."""
        decision, delay = await self._decide(request)
        self._log(request, decision, delay)
        AUTH_ATTEMPTS.labels(request.protocol, decision.outcome.value).inc()
        return AuthResult(
            outcome=decision.outcome,
            account=decision.account,
            master=decision.master,
            delay_seconds=delay,
            reason=decision.reason,
        )

    async def _decide(self, request: AuthRequest) -> tuple[_Decision, float]:
        client = canonical_client(request.client_ip)
        try:
            login = self._parse(request)
        except InvalidLogin as error:
            key = request.login[:LOGGED_VALUE_LENGTH].lower()
            verdict = await self._throttle.reserve(client, key)
            if not verdict.allowed:
                return self._throttled(client, key, None, verdict), 0.0
            decision = _Decision(AuthOutcome.INVALID_REQUEST, "invalid_login", str(error))
            return decision, await self._settle(client, key, verdict.token, decision)

        master = login.master.name if login.master else None
        account = await self._accounts.find(login.target)
        # Failures count against the account, whichever of its addresses was typed.
        key = account.address if account is not None else login.target
        verdict = await self._throttle.reserve(client, key)
        if not verdict.allowed:
            return self._throttled(client, key, master, verdict), 0.0
        try:
            decision = await self._verified(request, client, login, account)
        except DirectoryError:
            await self._throttle.settle(client, key, verdict.token, Settlement.VOID)
            raise
        except BaseException:
            # Abandoned (the client hung up) or broken mid-check: the hash may have run,
            # so the attempt stays counted. Shielded: this task may be cancelled again.
            await asyncio.shield(
                self._throttle.settle(client, key, verdict.token, Settlement.FAILURE)
            )
            raise
        return decision, await self._settle(client, key, verdict.token, decision)

    async def _settle(self, client: IPAddress, key: str, token: str, decision: _Decision) -> float:
        outcome = (
            Settlement.SUCCESS if decision.outcome is AuthOutcome.SUCCESS else Settlement.FAILURE
        )
        return await self._throttle.settle(client, key, token, outcome)

    async def _verified(
        self, request: AuthRequest, client: IPAddress, login: _Login, account: Account | None
    ) -> _Decision:
        if login.same_as is not None and not await self._same_account(account, login.same_as):
            return _Decision(
                AuthOutcome.INVALID_REQUEST,
                "authzid_mismatch",
                f"{login.same_as} may not act as {login.target} (only master users may)",
            )
        if login.master is not None:
            return await self._check_master(request, client, login, account)
        return await self._check_account(request, login.target, account)

    def _parse(self, request: AuthRequest) -> _Login:
        """Who logs in, as whom. Raises InvalidLogin."""
        separator = self.config.master_user_separator
        if request.authzid:
            # RFC 4616 §2: authcid logs in, acting as authzid. Only a master may act as
            # another account (Dovecot's rule too).
            target = self._address(request.authzid, "authzid")
            master = self._masters.get(request.login)
            if master is not None:
                return _Login(target=target, master=master)
            return _Login(target=target, same_as=self._address(request.login, "login"))
        account_part, found, master_name = request.login.rpartition(separator)
        master = self._masters.get(master_name) if found else None
        if master is not None:
            return _Login(target=self._address(account_part, "login"), master=master)
        # Not a master suffix: the separator may be part of the address (`*` is atext).
        return _Login(target=self._address(request.login, "login"))

    def _address(self, text: str, what: str) -> str:
        if len(text) > MAX_LOGIN_LENGTH:
            raise InvalidLogin(f"the {what} is longer than {MAX_LOGIN_LENGTH} characters")
        text = text.strip()
        if "@" not in text and self._default_domain is not None and text:
            text = f"{text}@{self._default_domain}"
        try:
            return normalize_address(text)
        except InvalidAddress as error:
            raise InvalidLogin(f"the {what} is not an address: {error.reason}") from None

    async def _same_account(self, account: Account | None, other_login: str) -> bool:
        if account is None:
            return False
        if other_login == account.address or other_login in account.extra_addresses:
            return True
        other = await self._accounts.find(other_login)
        return other is not None and other.address == account.address

    @staticmethod
    def _throttled(
        client: IPAddress, key: str, master: str | None, verdict: ThrottleVerdict
    ) -> _Decision:
        if verdict.reason == "ip_banned":
            what = f"client {client} is banned"
        elif verdict.reason == "throttle_unavailable":  # remote/redis throttle: fails closed
            what = "the throttle did not answer: refused"
        elif verdict.reason == "ip_in_flight":
            what = f"client {client} has its whole budget of attempts being checked: refused"
        elif verdict.reason == "account_in_flight":
            what = f"account {key} has its whole budget of attempts being checked: refused"
        else:
            what = f"account {key} is locked against addresses it never logged in from"
        # Answered at once: a refusal costs nothing to compute, while holding the
        # connection for a delay would spend our connection slots on the attacker.
        return _Decision(
            AuthOutcome.THROTTLED,
            verdict.reason,
            f"{what} for another {verdict.retry_after:.0f} s after repeated failed logins",
            master=master,
            fields={"retry_after": f"{verdict.retry_after:.0f}"},
        )

    async def _check_master(
        self, request: AuthRequest, client: IPAddress, login: _Login, account: Account | None
    ) -> _Decision:
        master = login.master
        assert master is not None
        name = master.name
        verification, cached = await self._verifier.verified(
            f"master:{name}", request.password, master.password_hash
        )
        if not verification.ok:
            return _Decision(
                AuthOutcome.BAD_PASSWORD,
                "bad_password",
                f"wrong password for master user {name}",
                master=name,
            )
        # Checked after the password, so the log can say the master password itself was
        # right; the client hears the same generic failure either way.
        if not any(client in network for network in master.networks):
            allowed = ", ".join(str(network) for network in master.networks)
            return _Decision(
                AuthOutcome.MASTER_NOT_ALLOWED,
                "master_not_allowed",
                f"master user {name} may not log in from {client} (allowed: {allowed})",
                master=name,
                level=logging.WARNING,
            )
        decision = self._account_state(account, login.target, name)
        if cached:
            decision.fields["cache"] = "hit"
        return decision

    async def _check_account(
        self, request: AuthRequest, target: str, account: Account | None
    ) -> _Decision:
        if account is None:
            await self._verify(request.password, await asyncio.wrap_future(self._dummy_hash))
            return _Decision(
                AuthOutcome.UNKNOWN_USER,
                "unknown_user",
                f"unknown account {target}: no account has this address",
            )
        if request.protocol in APP_PASSWORD_PROTOCOLS:
            by_app_password = await self._check_app_password(request, account)
            if by_app_password is not None:
                return by_app_password
        verification, cached = await self._verifier.verified(
            account.address, request.password, account.password_hash
        )
        if verification.scheme is None:
            # Nothing was hashed: pay the same time as a real verification.
            await self._verify(request.password, await asyncio.wrap_future(self._dummy_hash))
            # '!' is how an administrator says "no password" on purpose: no alarm for it.
            deliberate = account.password_hash.startswith("!")
            return _Decision(
                AuthOutcome.BAD_PASSWORD,
                "no_password" if deliberate else "unusable_password_hash",
                f"the stored password hash of {account.address} is unusable "
                f"({_scheme_problem(account.password_hash)}); set a password with "
                f"`mailroom user passwd {account.address}`",
                level=logging.INFO if deliberate else logging.WARNING,
            )
        if not verification.ok:
            return _Decision(
                AuthOutcome.BAD_PASSWORD, "bad_password", f"wrong password for {account.address}"
            )
        decision = self._account_state(account, account.address, None)
        if cached:
            decision.fields["cache"] = "hit"
        if (
            decision.outcome is AuthOutcome.SUCCESS
            and verification.needs_upgrade
            and self.config.passwords.upgrade_on_login
        ):
            decision.fields["hash_upgrade"] = await self._upgrade(
                request.password, account, verification
            )
        return decision

    async def _check_app_password(self, request: AuthRequest, account: Account) -> _Decision | None:
        """The decision when the password is one of the account's app passwords; None
        when it is not (then the account's own password is checked)."""
        shaped = parse_app_password(request.password)
        if shaped is None:
            return None
        app_password = await self._accounts.app_password(account.address, shaped.id)
        if app_password is None:
            return None
        verification, cached = await self._verifier.verified(
            f"app:{app_password.id}", shaped.secret, app_password.password_hash
        )
        if not verification.ok:
            return None
        decision = self._account_state(account, account.address, None)
        decision.fields["app_password"] = str(app_password.id)
        if cached:
            decision.fields["cache"] = "hit"
        if decision.outcome is AuthOutcome.SUCCESS:
            await self._app_password_uses.note(app_password)
        return decision

    @staticmethod
    def _account_state(account: Account | None, target: str, master: str | None) -> _Decision:
        """The decision once the password was right: the account must exist and be enabled."""
        if account is None:
            return _Decision(
                AuthOutcome.UNKNOWN_USER,
                "unknown_user",
                f"unknown account {target}: no account has this address",
                master=master,
            )
        if not account.enabled:
            return _Decision(
                AuthOutcome.DISABLED,
                "disabled",
                f"account {account.address} is disabled "
                "(`mailroom user enable` to allow logins again)",
                master=master,
            )
        via = f" through master user {master}" if master else ""
        return _Decision(
            AuthOutcome.SUCCESS,
            "success",
            f"logged in as {account.address}{via}",
            account=account.address,
            master=master,
        )

    async def _upgrade(self, password: str, account: Account, verification: Verification) -> str:
        """Store an argon2id hash in place of an older one; the log field's value."""
        new_hash = await self._in_pool(self._hasher.hash, password)
        try:
            stored = await self._directory.set_password_hash(
                account.address, new_hash, expected_old=account.password_hash
            )
        except DirectoryError as error:
            log.warning(
                "auth: could not store the upgraded password hash of account=%s: %s",
                account.address,
                error,
            )
            return "failed"
        if not stored:  # the password was changed meanwhile: the newer one stands
            return "skipped_changed_meanwhile"
        return f"{verification.scheme}->argon2id"

    async def _verify(self, password: str, stored: str) -> Verification:
        self.stats.hashes_verified += 1
        return await self._in_pool(self._hasher.verify, password, stored)

    async def _in_pool(self, function: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, function, *args)

    def _log(self, request: AuthRequest, decision: _Decision, delay: float) -> None:
        fields = {
            "protocol": request.protocol,
            "client": str(canonical_client(request.client_ip)),
            "login": request.login,
        }
        if request.authzid:
            fields["authzid"] = request.authzid
        if decision.master:
            fields["master"] = decision.master
        if decision.outcome is AuthOutcome.SUCCESS:
            fields["result"] = "ok"
            fields["account"] = decision.account or ""
        else:
            fields["result"] = "fail"
            fields["reason"] = decision.code
            fields["delay"] = str(round(delay, 3))
        fields.update(decision.fields)
        if not request.secure:
            fields["secure"] = "no"
        line = log_fields(fields)
        log.log(decision.level, "auth: %s", line)


def _scheme_problem(stored: str) -> str:
    try:
        identify_scheme(stored)
    except UnknownHashScheme as error:
        return str(error)
    return "unverifiable"


def _checked_default_domain(config: AuthConfig) -> str | None:
    if config.default_domain is None:
        return None
    try:
        return normalize_domain(config.default_domain)
    except InvalidAddress as error:
        raise ValueError(f"auth.default_domain: {error.reason}") from None


def _checked_masters(config: AuthConfig) -> list[MasterUser]:
    for index, master in enumerate(config.master_users):
        try:
            identify_scheme(master.password_hash)
        except UnknownHashScheme as error:
            raise ValueError(
                f"auth.master_users[{index}].password_hash ({master.name}): {error}; "
                "make one with `mailroom auth hash`"
            ) from None
    return list(config.master_users)
