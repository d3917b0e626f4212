"""An Authenticator in front of a real directory, for the auth tests: `Site` adds accounts
and logs in as a protocol session would."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from ipaddress import ip_address
from typing import Any

from mailroom.auth import Authenticator, AuthRequest, AuthResult
from mailroom.config import AuthConfig, MasterUser, ThrottleConfig
from mailroom.directory import Directory
from mailroom.directory.passwords import PasswordHasher
from tests.support.password_hashes import CHEAP

HOME = "198.51.100.7"
ELSEWHERE = "203.0.113.9"
WEBMAIL = "172.16.2.20"
PASSWORD = "correct horse battery"
MASTER_PASSWORD = "webmail master key"


class Site:
    """A directory with example.org, and an Authenticator in front of it."""

    def __init__(self, directory: Directory, authenticator: Authenticator) -> None:
        self.directory = directory
        self.authenticator = authenticator

    async def add(
        self,
        address: str,
        password: str = PASSWORD,
        *,
        stored: str | None = None,
        enabled: bool = True,
    ) -> None:
        hashed = stored if stored is not None else PasswordHasher(CHEAP).hash(password)
        await self.directory.add_account(address, hashed, enabled=enabled)

    async def login(
        self,
        login: str,
        password: str,
        *,
        ip: str = HOME,
        authzid: str = "",
        protocol: str = "imap",
    ) -> AuthResult:
        return await self.authenticator.authenticate(
            AuthRequest(
                protocol=protocol,
                client_ip=ip_address(ip),
                login=login,
                password=password,
                authzid=authzid,
            )
        )

    async def stored_hash(self, address: str) -> str:
        return (await self.directory.get_account(address)).password_hash


MakeSite = Callable[..., Awaitable[Site]]


def auth_config(**settings: Any) -> AuthConfig:
    return AuthConfig.model_validate({"passwords": CHEAP} | settings)


def throttle_config(**settings: Any) -> ThrottleConfig:
    return ThrottleConfig.model_validate(settings)


def master(name: str = "webmail", networks: tuple[str, ...] = (f"{WEBMAIL}/32",)) -> MasterUser:
    return MasterUser.model_validate(
        {
            "name": name,
            "password_hash": PasswordHasher(CHEAP).hash(MASTER_PASSWORD),
            "networks": list(networks),
        }
    )
