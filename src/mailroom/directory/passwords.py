"""Password hashes: make argon2id ones, and verify the schemes migrated databases carry.

Every new or upgraded password is hashed with argon2id (argon2-cffi), with the parameters
of `[auth.passwords]`. Verification also accepts what the legacy host and other Dovecot
installations stored — MD5-crypt `$1$` (the legacy host's scheme), SHA-crypt `$5$`/`$6$`,
bcrypt `$2a$`/`$2b$`/`$2y$` (all through libpass, the maintained passlib fork), argon2i/d —
with or without Dovecot's `{SCHEME}` prefix, so an imported database logs in unchanged and
is upgraded to argon2id login by login.

Legacy hashes need not wait for a login to stop being crackable: `wrap_legacy_hash` turns
`$1$salt$sum` into `{ARGON2ID-WRAPPED}$1$salt$` + an argon2id hash of `sum` (the importer
and the first start do it). Verifying one computes the legacy hash of the candidate with
the stored salt (and rounds) first, then argon2id-verifies its result; the legacy checksum
itself is stored nowhere. The first successful login replaces it with a plain argon2id hash.

Every failed verification costs the same: a failed plain argon2id verification also pays
the cost of `[auth.passwords] legacy_scheme` (the scheme most wrapped hashes carry), and
`dummy_hash()` (what an unknown account is verified against) is a wrapped hash of that
scheme, so unknown, argon2id and wrapped accounts all cost legacy + argon2id when wrong.

What this room refuses, and why:
- plain text, `{PLAIN}`, DES crypt and anything unrecognised: `identify_scheme` raises
  `UnknownHashScheme`, `verify` answers not-ok. A stored value is never compared as a
  password, so a hash column cannot silently become a password column;
- stored hashes whose cost would let one login occupy a thread for minutes or allocate
  gigabytes (argon2-cffi trusts the hash it is given; libpass runs any rounds= up to 10⁹):
  the costs are bounded below;
- passwords with NUL (crypt(3) would have cut them there), empty ones and ones over
  `MAX_PASSWORD_BYTES`: nothing unbounded is ever hashed.

Comparisons are the libraries' own constant-time ones. Hashing and verifying are slow on
purpose and block: callers run them in a thread (the `Authenticator` has a pool).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from enum import StrEnum

import argon2
import bcrypt as pyca_bcrypt
from annotated_types import Le
from argon2.exceptions import Argon2Error
from passlib.hash import bcrypt, md5_crypt, sha256_crypt, sha512_crypt

from mailroom.config import PasswordHashing
from mailroom.directory.errors import InvalidValue

MAX_PASSWORD_BYTES = 4096
"""Longest password (UTF-8) hashed or verified; longer ones are refused unhashed."""
MAX_STORED_HASH_LENGTH = 1024
"""Longer than any hash of the schemes below, with its `{SCHEME}` prefix."""
MAX_SHA_CRYPT_ROUNDS = 1_000_000
"""~0.5 s per verification in libpass; passlib's own defaults (535000/656000) fit."""
MAX_BCRYPT_COST = 16
"""2¹⁶ rounds, a few seconds per verification; legacy hashes use 10-12."""
BCRYPT_PASSWORD_BYTES = 72
"""bcrypt only ever used this many bytes; crypt(3) verified longer passwords by cutting."""


def _config_maximum(field: str) -> int:
    """The largest value `[auth.passwords]` accepts for `field`: a stored argon2 hash may
    cost as much as one this server could have made, and no more."""
    for constraint in PasswordHashing.model_fields[field].metadata:
        if isinstance(constraint, Le) and isinstance(constraint.le, int):
            return constraint.le
    raise AssertionError(f"PasswordHashing.{field} has no upper bound")


MAX_ARGON2_TIME_COST = _config_maximum("time_cost")
MAX_ARGON2_MEMORY_KIB = _config_maximum("memory_kib")
MAX_ARGON2_PARALLELISM = _config_maximum("parallelism")


class HashScheme(StrEnum):
    ARGON2ID = "argon2id"
    ARGON2I = "argon2i"
    ARGON2D = "argon2d"
    MD5_CRYPT = "md5-crypt"
    SHA256_CRYPT = "sha256-crypt"
    SHA512_CRYPT = "sha512-crypt"
    BCRYPT = "bcrypt"
    WRAPPED_MD5_CRYPT = "argon2id-wrapped-md5-crypt"
    WRAPPED_SHA256_CRYPT = "argon2id-wrapped-sha256-crypt"
    WRAPPED_SHA512_CRYPT = "argon2id-wrapped-sha512-crypt"
    WRAPPED_BCRYPT = "argon2id-wrapped-bcrypt"


LEGACY_SCHEMES = (
    HashScheme.MD5_CRYPT,
    HashScheme.SHA256_CRYPT,
    HashScheme.SHA512_CRYPT,
    HashScheme.BCRYPT,
)
"""What `wrap_legacy_hash` wraps."""
WRAPPED = {
    HashScheme.MD5_CRYPT: HashScheme.WRAPPED_MD5_CRYPT,
    HashScheme.SHA256_CRYPT: HashScheme.WRAPPED_SHA256_CRYPT,
    HashScheme.SHA512_CRYPT: HashScheme.WRAPPED_SHA512_CRYPT,
    HashScheme.BCRYPT: HashScheme.WRAPPED_BCRYPT,
}
"""A legacy scheme -> the scheme of its wrapped hashes."""
WRAPPED_PREFIX = "{ARGON2ID-WRAPPED}"
"""Starts a wrapped hash: `{ARGON2ID-WRAPPED}<legacy setting><argon2id hash>`."""
_WRAPPED_ARGON2 = "$argon2id$"
_LEGACY_SETTING = re.compile(
    r"\$1\$[./0-9A-Za-z]{0,8}\$"
    r"|\$[56]\$(?:rounds=\d{1,12}\$)?[./0-9A-Za-z]{0,16}\$"
    r"|\$2[aby]\$\d\d\$[./A-Za-z0-9]{22}"
)
"""The salt (and rounds) part of a legacy hash: the hash without its checksum."""
BCRYPT_CHECKSUM_LENGTH = 31
DEFAULT_SHA_CRYPT_ROUNDS = 5000
"""crypt(3)'s rounds for `$5$`/`$6$` without `rounds=`."""
TIMING_BCRYPT_COST = 10


class UnknownHashScheme(InvalidValue):
    """The stored value is no password hash this server can verify."""


@dataclass(frozen=True)
class Verification:
    ok: bool
    """The password matches the stored hash."""
    needs_upgrade: bool
    """ok, and the hash is not argon2id with the current parameters: store a new one."""
    scheme: HashScheme | None = None
    """The stored hash's scheme; None when the stored value is unusable (see
    `identify_scheme` for why)."""


# Dovecot's scheme names (doc.dovecot.org, "Password schemes"), and what each may prefix.
# {CRYPT} hands the hash to crypt(3), which picks the algorithm from the hash itself.
_DOVECOT_PREFIXES: dict[str, frozenset[HashScheme] | None] = {
    "MD5-CRYPT": frozenset({HashScheme.MD5_CRYPT}),
    "SHA256-CRYPT": frozenset({HashScheme.SHA256_CRYPT}),
    "SHA512-CRYPT": frozenset({HashScheme.SHA512_CRYPT}),
    "BLF-CRYPT": frozenset({HashScheme.BCRYPT}),
    "ARGON2ID": frozenset({HashScheme.ARGON2ID}),
    "ARGON2I": frozenset({HashScheme.ARGON2I}),
    "CRYPT": None,
}
_PREFIX = re.compile(r"\{([A-Za-z0-9._-]{1,32})\}")

# PHC string format as argon2 writes it; `v=` is absent in hashes from before version 1.3.
_B64 = r"[A-Za-z0-9+/]"
_ARGON2 = re.compile(
    rf"\$(argon2id|argon2i|argon2d)\$(?:v=(16|19)\$)?m=(\d{{1,10}}),t=(\d{{1,10}}),p=(\d{{1,3}})"
    rf"\${_B64}{{11,88}}\${_B64}{{6,700}}"
)
_SHA_ROUNDS = re.compile(r"\$[56]\$rounds=(\d{1,12})\$")
_BCRYPT = re.compile(r"\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}")
_PASSLIB_HANDLERS = {
    "$1$": (HashScheme.MD5_CRYPT, md5_crypt),
    "$5$": (HashScheme.SHA256_CRYPT, sha256_crypt),
    "$6$": (HashScheme.SHA512_CRYPT, sha512_crypt),
}


def _describe(stored: str) -> str:
    """What a refused stored value looks like, without repeating it: a plain-text password
    put where a hash belongs must not end up in a log or on a terminal."""
    if not stored:
        return "the stored password hash is empty"
    if stored.startswith("!"):
        return "the account has no password ('!' stored: logins are impossible)"
    if not stored.startswith(("$", "{")):
        if len(stored) == 13 and re.fullmatch(r"[./A-Za-z0-9]{13}", stored):
            return "DES crypt hashes are not supported"
        return "the stored value is not a password hash (plain text?)"
    return "the stored value is not a password hash this server knows"


def _split_prefix(stored: str) -> tuple[str | None, str]:
    match = _PREFIX.match(stored)
    if match is None:
        return None, stored
    return match.group(1).upper(), stored[match.end() :]


def _split_wrapped(wrapped: str) -> tuple[str, str]:
    """(legacy setting, argon2id hash) of a wrapped hash without its prefix. The argon2id
    part is the last `$argon2id$` on: a legacy salt may spell `argon2id`, the base64 of
    an argon2 salt and hash cannot."""
    at = wrapped.rfind(_WRAPPED_ARGON2)
    if at <= 0:
        raise UnknownHashScheme("malformed wrapped hash (no argon2id part)")
    return wrapped[:at], wrapped[at:]


def _identify_wrapped(wrapped: str) -> HashScheme:
    """Scheme of a wrapped hash (without `WRAPPED_PREFIX`), both parts checked."""
    setting, inner = _split_wrapped(wrapped)
    if _LEGACY_SETTING.fullmatch(setting) is None:
        raise UnknownHashScheme("malformed wrapped hash (its legacy salt part)")
    if _identify_bare(inner) is not HashScheme.ARGON2ID:
        raise UnknownHashScheme("malformed wrapped hash (its argon2id part)")
    if setting.startswith("$2"):
        if not 4 <= int(setting[4:6]) <= MAX_BCRYPT_COST:
            raise UnknownHashScheme(
                f"wrapped bcrypt hash with cost {int(setting[4:6])}; 4 to {MAX_BCRYPT_COST} "
                "are verified"
            )
        return WRAPPED[HashScheme.BCRYPT]
    rounds = _SHA_ROUNDS.match(setting)
    if rounds is not None and not 1000 <= int(rounds.group(1)) <= MAX_SHA_CRYPT_ROUNDS:
        raise UnknownHashScheme(
            f"wrapped hash with rounds={int(rounds.group(1))}; 1000 to "
            f"{MAX_SHA_CRYPT_ROUNDS} are verified"
        )
    return WRAPPED[_PASSLIB_HANDLERS[setting[:3]][0]]


def _identify_bare(hashed: str) -> HashScheme:
    """Scheme of a hash without `{SCHEME}` prefix, after checking its whole shape and cost."""
    if hashed.startswith("$argon2"):
        match = _ARGON2.fullmatch(hashed)
        if match is None:
            raise UnknownHashScheme("malformed argon2 hash")
        memory, time, lanes = (int(match.group(i)) for i in (3, 4, 5))
        if not (
            1 <= time <= MAX_ARGON2_TIME_COST
            and 1 <= lanes <= MAX_ARGON2_PARALLELISM
            and 8 * lanes <= memory <= MAX_ARGON2_MEMORY_KIB
        ):
            raise UnknownHashScheme(
                f"argon2 hash costs m={memory},t={time},p={lanes} are outside what "
                f"[auth.passwords] allows (t<={MAX_ARGON2_TIME_COST}, "
                f"m<={MAX_ARGON2_MEMORY_KIB}, p<={MAX_ARGON2_PARALLELISM})"
            )
        return HashScheme(match.group(1))
    if hashed[:3] in _PASSLIB_HANDLERS:
        scheme, handler = _PASSLIB_HANDLERS[hashed[:3]]
        rounds = _SHA_ROUNDS.match(hashed)
        if rounds is not None and int(rounds.group(1)) > MAX_SHA_CRYPT_ROUNDS:
            raise UnknownHashScheme(
                f"{scheme} hash with rounds={int(rounds.group(1))}; at most "
                f"{MAX_SHA_CRYPT_ROUNDS} are verified"
            )
        try:
            parsed = handler.from_string(hashed)
        except ValueError as error:
            raise UnknownHashScheme(f"malformed {scheme} hash ({error})") from None
        if not parsed.checksum:  # a bare salt ("$1$salt$") is a config string, not a hash
            raise UnknownHashScheme(f"malformed {scheme} hash (it has no checksum)")
        return scheme
    if hashed.startswith(("$2a$", "$2b$", "$2y$")):
        match = _BCRYPT.fullmatch(hashed)
        if match is None:
            raise UnknownHashScheme("malformed bcrypt hash")
        if not 4 <= int(match.group(1)) <= MAX_BCRYPT_COST:
            raise UnknownHashScheme(
                f"bcrypt hash with cost {int(match.group(1))}; 4 to {MAX_BCRYPT_COST} are verified"
            )
        return HashScheme.BCRYPT
    raise UnknownHashScheme(_describe(hashed))


def _strip_prefix(stored: str) -> tuple[HashScheme, str]:
    """The scheme and the bare hash of a stored value; raise UnknownHashScheme."""
    if not isinstance(stored, str) or not stored:
        raise UnknownHashScheme("the stored password hash is empty")
    if len(stored) > MAX_STORED_HASH_LENGTH or not stored.isascii():
        raise UnknownHashScheme(_describe(stored))
    if stored.startswith(WRAPPED_PREFIX):
        hashed = stored[len(WRAPPED_PREFIX) :]
        return _identify_wrapped(hashed), hashed
    prefix, hashed = _split_prefix(stored)
    if prefix is None:
        return _identify_bare(hashed), hashed
    if prefix not in _DOVECOT_PREFIXES:
        raise UnknownHashScheme(
            f"Dovecot scheme {{{prefix}}} is not supported (known: "
            f"{', '.join('{' + name + '}' for name in _DOVECOT_PREFIXES)}); "
            "set a new password with `mailroom user passwd`"
        )
    if not hashed.startswith("$"):
        raise UnknownHashScheme(
            _describe(hashed) if prefix != "CRYPT" else "{CRYPT} with a DES hash is not supported"
        )
    scheme = _identify_bare(hashed)
    allowed = _DOVECOT_PREFIXES[prefix]
    if allowed is not None and scheme not in allowed:
        raise UnknownHashScheme(f"{{{prefix}}} prefixes a {scheme} hash")
    return scheme, hashed


def identify_scheme(stored: str) -> HashScheme:
    """The scheme of a stored hash (`$1$…`, `{SHA512-CRYPT}$6$…`, `$argon2id$…`).

    Raises UnknownHashScheme, whose one-line message says what is wrong without repeating
    the value, for anything this server cannot verify."""
    return _strip_prefix(stored)[0]


def _password_bytes(password: str) -> bytes | None:
    """The password as UTF-8, or None if it is no password we accept."""
    if not isinstance(password, str) or not password or "\x00" in password:
        return None
    if len(password) > MAX_PASSWORD_BYTES:  # cheap bound before encoding
        return None
    try:
        encoded = password.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return None
    return encoded if len(encoded) <= MAX_PASSWORD_BYTES else None


def _legacy_checksum(setting: str, password: bytes) -> str:
    """The checksum part of the legacy hash of `password` with `setting` (a legacy hash
    without its checksum, as `_LEGACY_SETTING` matched it). Raises ValueError."""
    if setting.startswith("$2"):
        # bcrypt ≥ 4.1 refuses what crypt(3) silently cut; cut it the same way.
        hashed = pyca_bcrypt.hashpw(password[:BCRYPT_PASSWORD_BYTES], setting.encode("ascii"))
        return hashed.decode("ascii")[-BCRYPT_CHECKSUM_LENGTH:]
    handler = _PASSLIB_HANDLERS[setting[:3]][1]
    salt = setting.rstrip("$").rpartition("$")[2] if setting.count("$") > 2 else ""
    rounds = _SHA_ROUNDS.match(setting)
    if handler is md5_crypt:
        configured = handler.using(salt=salt)
    else:
        configured = handler.using(
            salt=salt, rounds=int(rounds.group(1)) if rounds else DEFAULT_SHA_CRYPT_ROUNDS
        )
    return str(configured.hash(password)).rpartition("$")[2]


def _wrappable(stored: str) -> tuple[str, str] | None:
    """(setting, checksum) of a legacy hash; None for one that is already argon2 or
    wrapped. Raises UnknownHashScheme for anything unusable."""
    scheme, hashed = _strip_prefix(stored)
    if scheme not in LEGACY_SCHEMES:
        return None
    if scheme is HashScheme.BCRYPT:
        cut = len(hashed) - BCRYPT_CHECKSUM_LENGTH
        return hashed[:cut], hashed[cut:]
    setting, _, checksum = hashed.rpartition("$")
    return setting + "$", checksum


def wrap_legacy_hash(stored: str, params: PasswordHashing | None = None) -> str:
    """`stored` ($1$, $5$, $6$ or bcrypt, with or without a Dovecot `{SCHEME}` prefix) as
    a wrapped hash: its salt part, and an argon2id hash (`params`, default the shipped
    `[auth.passwords]`) of its checksum. The result verifies exactly the passwords
    `stored` did, and holds nothing a legacy-hash cracker can work on.

    An argon2 or already wrapped hash comes back unchanged (wrapping twice would only
    cost twice). Raises UnknownHashScheme for a value no password could match. Blocking
    (one argon2id hash): call it from a worker thread in a server."""
    parts = _wrappable(stored)
    if parts is None:
        return stored
    setting, checksum = parts
    return PasswordHasher(params or PasswordHashing()).wrap(setting, checksum)


_TIMING_SETTINGS = {
    "md5-crypt": "$1$timing.$",
    "sha256-crypt": "$5$timing.salt.pad$",
    "sha512-crypt": "$6$timing.salt.pad$",
    "bcrypt": f"$2b${TIMING_BCRYPT_COST}$" + "timing.salt.for.bcrypu",
}
"""`legacy_scheme` -> the setting a failed argon2id login's extra legacy hash uses."""


def wraps_legacy_hash(wrapped: str, legacy: str) -> bool:
    """Whether `wrapped` was made by wrapping `legacy` (as far as a re-import needs to
    know): both name the same legacy scheme, rounds and salt. A password changed on the
    legacy host gets a new random salt from crypt(3), so a wrapped hash whose salt differs
    from the legacy host's hash means the password changed there. No hash is computed."""
    try:
        scheme, bare = _strip_prefix(wrapped)
        parts = _wrappable(legacy)
    except UnknownHashScheme:
        return False
    if scheme not in WRAPPED.values() or parts is None:
        return False
    setting = _split_wrapped(bare)[0]
    return _normal_setting(setting) == _normal_setting(parts[0])


def _normal_setting(setting: str) -> str:
    """A legacy setting with `rounds=5000` (crypt(3)'s default, implied when absent) and
    the bcrypt variant letters ($2a$, $2b$, $2y$: one algorithm) spelled one way."""
    setting = setting.replace(f"rounds={DEFAULT_SHA_CRYPT_ROUNDS}$", "", 1)
    return "$2b$" + setting[4:] if setting.startswith("$2") else setting


class PasswordHasher:
    """Hashes with argon2id using `[auth.passwords]`; verifies every scheme above.

    Thread-safe and blocking: call it from a worker thread."""

    def __init__(self, params: PasswordHashing) -> None:
        self.params = params
        self._argon2 = argon2.PasswordHasher(
            time_cost=params.time_cost,
            memory_cost=params.memory_kib,
            parallelism=params.parallelism,
            type=argon2.Type.ID,
        )

    def hash(self, password: str) -> str:
        """An argon2id hash with a fresh random salt. Raises InvalidValue for a password
        that is empty, holds NUL, or is longer than MAX_PASSWORD_BYTES."""
        encoded = _password_bytes(password)
        if encoded is None:
            raise InvalidValue(
                f"a password must be 1 to {MAX_PASSWORD_BYTES} bytes of UTF-8 without NUL"
            )
        return self._argon2.hash(encoded)

    def wrap(self, setting: str, checksum: str) -> str:
        """The wrapped hash of a legacy hash split into its setting and checksum."""
        return WRAPPED_PREFIX + setting + self._argon2.hash(checksum.encode("ascii"))

    def wrap_legacy(self, stored: str) -> str:
        """`wrap_legacy_hash` with this hasher's parameters."""
        parts = _wrappable(stored)
        return stored if parts is None else self.wrap(*parts)

    def dummy_hash(self) -> str:
        """What an unknown account is verified against: a wrapped hash of `legacy_scheme`
        (a plain argon2id one with `legacy_scheme = "none"`) of a random password, so a
        wrong password for it costs what it costs for a real account."""
        password = secrets.token_urlsafe(24)
        handler = {
            "md5-crypt": md5_crypt,
            "sha256-crypt": sha256_crypt.using(rounds=DEFAULT_SHA_CRYPT_ROUNDS),
            "sha512-crypt": sha512_crypt.using(rounds=DEFAULT_SHA_CRYPT_ROUNDS),
            "bcrypt": bcrypt.using(rounds=TIMING_BCRYPT_COST, ident="2b"),
        }.get(self.params.legacy_scheme)
        if handler is None:
            return self.hash(password)
        return self.wrap_legacy(str(handler.hash(password)))

    def verify(self, password: str, stored: str) -> Verification:
        """Whether `password` matches `stored`. Never raises: an unusable stored value or
        an unacceptable password is simply not ok."""
        try:
            scheme, hashed = _strip_prefix(stored)
        except UnknownHashScheme:
            return Verification(ok=False, needs_upgrade=False, scheme=None)
        encoded = _password_bytes(password)
        if encoded is None:  # refused unhashed, whatever the account: no time to compare
            return Verification(ok=False, needs_upgrade=False, scheme=scheme)
        if not self._matches(scheme, hashed, encoded):
            if scheme is HashScheme.ARGON2ID:
                self._pay_legacy_cost(encoded)
            return Verification(ok=False, needs_upgrade=False, scheme=scheme)
        return Verification(ok=True, needs_upgrade=self._outdated(scheme, hashed), scheme=scheme)

    def _pay_legacy_cost(self, password: bytes) -> None:
        """Spend what the legacy part of a wrapped hash of `legacy_scheme` costs, so a
        failed argon2id login takes as long as a failed wrapped one (the result is
        thrown away; a fixed salt, as only the cost matters)."""
        setting = _TIMING_SETTINGS.get(self.params.legacy_scheme)
        if setting is not None:
            _legacy_checksum(setting, password)

    def _matches(self, scheme: HashScheme, hashed: str, password: bytes) -> bool:
        try:
            if scheme in WRAPPED.values():
                setting, inner = _split_wrapped(hashed)
                checksum = _legacy_checksum(setting, password)
                return self._argon2.verify(inner, checksum.encode("ascii"))
            if scheme in (HashScheme.ARGON2ID, HashScheme.ARGON2I, HashScheme.ARGON2D):
                return self._argon2.verify(hashed, password)  # reads the type from the hash
            if scheme is HashScheme.BCRYPT:
                # bcrypt ≥ 4.1 refuses what crypt(3) silently cut; cut it the same way.
                return bool(bcrypt.verify(password[:BCRYPT_PASSWORD_BYTES], hashed))
            handler = _PASSLIB_HANDLERS[hashed[:3]][1]
            return bool(handler.verify(password, hashed))
        except (Argon2Error, ValueError):
            # A mismatch, or a hash the libraries still found wrong (argon2 memory too
            # small for its lanes, bcrypt salt padding): no match either way.
            return False

    def _outdated(self, scheme: HashScheme, hashed: str) -> bool:
        if scheme is not HashScheme.ARGON2ID:
            return True
        try:
            return self._argon2.check_needs_rehash(hashed)
        except ValueError:
            return True
