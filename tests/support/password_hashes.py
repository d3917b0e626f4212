"""Password hashes for tests: cheap argon2 parameters, and hashes in every scheme a
migrated database may hold."""

from __future__ import annotations

import argon2
from passlib.hash import bcrypt, md5_crypt, sha256_crypt, sha512_crypt

from mailroom.config import PasswordHashing

CHEAP = PasswordHashing(time_cost=1, memory_kib=64, parallelism=1)
"""argon2id costs that take microseconds: tests check behaviour, not strength."""

LEGACY_HASH = "$1$caea3837$gPafod/Do/8Jj5M9HehhM."
"""From the legacy host's documentation: MD5-crypt of `secret`."""


def argon2_hash(password: str, kind: argon2.Type = argon2.Type.ID, time_cost: int = 1) -> str:
    hasher = argon2.PasswordHasher(time_cost=time_cost, memory_cost=64, parallelism=1, type=kind)
    return hasher.hash(password)


def hashes_of(password: str) -> dict[str, str]:
    """`password` hashed in each scheme (and Dovecot spelling) that must verify."""
    md5 = md5_crypt.hash(password)
    sha256 = sha256_crypt.using(rounds=1000).hash(password)
    sha512 = sha512_crypt.using(rounds=1000).hash(password)
    blowfish = bcrypt.using(rounds=4, ident="2b").hash(password)
    argon2id = argon2_hash(password)
    argon2i = argon2_hash(password, argon2.Type.I)
    return {
        "md5-crypt": md5,
        "sha256-crypt": sha256,
        "sha512-crypt": sha512,
        "sha512-crypt without rounds=": sha512_crypt.using(rounds=5000).hash(password),
        "bcrypt 2a": bcrypt.using(rounds=4, ident="2a").hash(password),
        "bcrypt 2b": blowfish,
        "bcrypt 2y": bcrypt.using(rounds=4, ident="2y").hash(password),
        "argon2id": argon2id,
        "argon2i": argon2i,
        "argon2d": argon2_hash(password, argon2.Type.D),
        "{MD5-CRYPT}": "{MD5-CRYPT}" + md5,
        "{SHA256-CRYPT}": "{SHA256-CRYPT}" + sha256,
        "{SHA512-CRYPT}": "{SHA512-CRYPT}" + sha512,
        "{BLF-CRYPT}": "{BLF-CRYPT}" + blowfish,
        "{CRYPT} md5": "{CRYPT}" + md5,
        "{CRYPT} sha512": "{CRYPT}" + sha512,
        "{ARGON2ID}": "{ARGON2ID}" + argon2id,
        "{ARGON2I}": "{ARGON2I}" + argon2i,
    }
