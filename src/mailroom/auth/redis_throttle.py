"""The login throttle in Redis: one count and one set of bans for every process and node
that names the same Redis (`[auth.throttle] redis_url`) and key prefix.

The rules are `auth.throttle`'s (a budget reserved before the hash, failures per
address and per account within the window, bans, familiar addresses); only where the
counts live differs. Each operation is one Lua script, which Redis runs atomically, so
two nodes reserving at once can never both take the last attempt; the scripts read
Redis's own clock (`TIME`), so nodes need no agreement on theirs. Every key expires
on its own (failures after the window, a ban when it ends), so nothing needs pruning
and a restart of any node clears nothing.

Keys, under the prefix: `ban:ip:<network>`, `fail:ip:<network>`, `pend:ip:<network>`
(the same three under `acct:<account>`) and `familiar:<account>`; failures and attempts
in flight are sorted sets of attempt tokens scored by time. A Redis Cluster would need
the keys of one call in one slot: not supported (one Redis, or a primary with replicas).

It fails closed, like `auth.remote_throttle`: if Redis does not answer within
`ANSWER_TIMEOUT`, or answers an error, the login is refused as a temporary failure
(`throttle_unavailable`; the client keeps its password and retries) and a failure that
could not be counted is answered after `UNRECORDED_DELAY`. A throttle that cannot
count must never let guesses through uncounted.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re

import redis.asyncio
from redis.exceptions import RedisError

from mailroom.auth.remote_throttle import MAX_REASON, UNRECORDED_DELAY
from mailroom.auth.throttle import (
    FAMILIAR_PER_ACCOUNT,
    IN_FLIGHT_RETRY_SECONDS,
    MAX_BANS_LISTED,
    Ban,
    BanKind,
    BansUnavailable,
    IPAddress,
    Settlement,
    ThrottleVerdict,
    client_key,
    failure_delay,
    new_token,
    uncounted,
)
from mailroom.config import ThrottleConfig
from mailroom.metrics import BANS

log = logging.getLogger("mailroom.auth")

ANSWER_TIMEOUT = 2.0
"""Seconds a throttle call waits for Redis before refusing the login."""
MAX_BANS_SCANNED = 10 * MAX_BANS_LISTED
"""Bans read from Redis for one listing at most (the longest remaining of them shown)."""
FAMILIAR_SECONDS = 90 * 24 * 3600
"""How long an account remembers an address it was logged in to from (renewed by use)."""

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS: ban:ip, ban:acct, familiar. ARGV: network. -> nil or {ttl_ms, reason}
_BANNED = """
local function banned(network)
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then return {ttl, 'ip_banned'} end
  if not redis.call('ZSCORE', KEYS[3], network) then
    ttl = redis.call('PTTL', KEYS[2])
    if ttl > 0 then return {ttl, 'account_locked'} end
  end
  return nil
end
"""

CHECK = (
    _BANNED
    + """
local refused = banned(ARGV[1])
if refused then return {0, refused[1], refused[2]} end
return {1, 0, 'allowed'}
"""
)

# KEYS: ban:ip, ban:acct, familiar, fail:ip, pend:ip, fail:acct, pend:acct
# ARGV: network, token, window_ms, limit_ip, limit_acct, in_flight_retry_ms
RESERVE = (
    _NOW
    + _BANNED
    + """
local refused = banned(ARGV[1])
if refused then return {0, refused[1], refused[2]} end
local window = tonumber(ARGV[3])
for i = 4, 7 do redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window) end
if redis.call('ZCARD', KEYS[4]) + redis.call('ZCARD', KEYS[5]) >= tonumber(ARGV[4]) then
  return {0, tonumber(ARGV[6]), 'ip_in_flight'}
end
if not redis.call('ZSCORE', KEYS[3], ARGV[1])
   and redis.call('ZCARD', KEYS[6]) + redis.call('ZCARD', KEYS[7]) >= tonumber(ARGV[5]) then
  return {0, tonumber(ARGV[6]), 'account_in_flight'}
end
for _, key in ipairs({KEYS[5], KEYS[7]}) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, window)
end
return {1, 0, 'allowed'}
"""
)

# KEYS: ban:ip, fail:ip, pend:ip, ban:acct, fail:acct, pend:acct
# ARGV: token, window_ms, limit_ip, limit_acct, ban_ms -> failures from the address
FAIL = (
    _NOW
    + """
local window = tonumber(ARGV[2])
local counts = {}
for side = 0, 1 do
  local ban, fail, pend = KEYS[1 + 3 * side], KEYS[2 + 3 * side], KEYS[3 + 3 * side]
  redis.call('ZREM', pend, ARGV[1])
  redis.call('ZREMRANGEBYSCORE', fail, '-inf', now - window)
  redis.call('ZADD', fail, now, ARGV[1])
  redis.call('PEXPIRE', fail, window)
  local count = redis.call('ZCARD', fail)
  if count >= tonumber(ARGV[3 + side]) then
    redis.call('SET', ban, '1', 'PX', ARGV[5])
    redis.call('DEL', fail)
  end
  counts[side + 1] = count
end
return counts[1]
"""
)

# KEYS: pend:ip, pend:acct, familiar. ARGV: token, network or '' (void), keep, ttl_ms
SETTLE = (
    _NOW
    + """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[2] ~= '' then
  redis.call('ZADD', KEYS[3], now, ARGV[2])
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -tonumber(ARGV[3]) - 1)
  redis.call('PEXPIRE', KEYS[3], ARGV[4])
end
return 1
"""
)


def _glob_escaped(text: str) -> str:
    """`text` matched literally by a SCAN pattern (the prefix may hold `*`, `?`, `[`)."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


def _milliseconds(seconds: float) -> int:
    return max(1, round(seconds * 1000))


class RedisThrottle:
    """The host's throttle, kept in the Redis at `config.redis_url`."""

    def __init__(self, config: ThrottleConfig, timeout: float = ANSWER_TIMEOUT) -> None:
        assert config.redis_url is not None
        self.config = config
        self._timeout = timeout
        self._redis = redis.asyncio.Redis.from_url(
            config.redis_url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._check = self._redis.register_script(CHECK)
        self._reserve = self._redis.register_script(RESERVE)
        self._fail = self._redis.register_script(FAIL)
        self._settle = self._redis.register_script(SETTLE)

    def _keys(self, ip: IPAddress, account: str) -> dict[str, str]:
        prefix, network = self.config.redis_key_prefix, str(client_key(ip))
        return {
            "network": network,
            "ban_ip": f"{prefix}ban:ip:{network}",
            "fail_ip": f"{prefix}fail:ip:{network}",
            "pend_ip": f"{prefix}pend:ip:{network}",
            "ban_acct": f"{prefix}ban:acct:{account}",
            "fail_acct": f"{prefix}fail:acct:{account}",
            "pend_acct": f"{prefix}pend:acct:{account}",
            "familiar": f"{prefix}familiar:{account}",
        }

    async def _call(self, what: str, ip: IPAddress, call: object) -> object:
        """Await a script call; None (logged) when Redis failed or did not answer."""
        try:
            async with asyncio.timeout(self._timeout):
                return await call  # type: ignore[misc]
        except (RedisError, OSError, TimeoutError) as error:
            log.warning(
                "throttle: Redis did not answer %s for %s (%s): failing closed",
                what,
                ip,
                error or "timed out",
            )
            return None

    @staticmethod
    def _verdict(answer: object, token: str) -> ThrottleVerdict:
        """A script's `{allowed, retry_after_ms, reason}` as a verdict; anything else (a
        Redis that is not ours, a broken script) refuses, as an unavailable throttle."""
        if isinstance(answer, list) and len(answer) == 3:
            allowed, milliseconds, reason = answer
            if isinstance(reason, bytes):
                reason = reason.decode("ascii", "replace")
            if (
                type(allowed) is int
                and type(milliseconds) is int
                and isinstance(reason, str)
                and reason.isidentifier()
                and len(reason) <= MAX_REASON
            ):
                if allowed == 1:
                    return ThrottleVerdict(True, 0.0, reason, token)
                return ThrottleVerdict(False, min(max(milliseconds, 1), 10**12) / 1000, reason)
        return ThrottleVerdict(False, UNRECORDED_DELAY, "throttle_unavailable")

    async def check(self, ip: IPAddress, account: str) -> ThrottleVerdict:
        skip = uncounted(self.config, ip)
        if skip is not None:
            return skip
        k = self._keys(ip, account)
        answer = await self._call(
            "check",
            ip,
            self._check(keys=[k["ban_ip"], k["ban_acct"], k["familiar"]], args=[k["network"]]),
        )
        return self._verdict(answer, "")

    async def reserve(self, ip: IPAddress, account: str) -> ThrottleVerdict:
        skip = uncounted(self.config, ip)
        if skip is not None:
            return skip
        k, token, config = self._keys(ip, account), new_token(), self.config
        keys = ["ban_ip", "ban_acct", "familiar", "fail_ip", "pend_ip", "fail_acct", "pend_acct"]
        answer = await self._call(
            "reserve",
            ip,
            self._reserve(
                keys=[k[name] for name in keys],
                args=[
                    k["network"],
                    token,
                    _milliseconds(config.window_seconds),
                    config.max_failures_per_ip,
                    config.max_failures_per_account,
                    _milliseconds(IN_FLIGHT_RETRY_SECONDS),
                ],
            ),
        )
        return self._verdict(answer, token)

    async def settle(self, ip: IPAddress, account: str, token: str, outcome: Settlement) -> float:
        if uncounted(self.config, ip) is not None:
            return 0.0
        k, config = self._keys(ip, account), self.config
        if outcome is Settlement.FAILURE:
            keys = ["ban_ip", "fail_ip", "pend_ip", "ban_acct", "fail_acct", "pend_acct"]
            answer = await self._call(
                "a failure",
                ip,
                self._fail(
                    keys=[k[name] for name in keys],
                    args=[
                        token or new_token(),
                        _milliseconds(config.window_seconds),
                        config.max_failures_per_ip,
                        config.max_failures_per_account,
                        _milliseconds(config.ban_seconds),
                    ],
                ),
            )
            if not isinstance(answer, int):
                return UNRECORDED_DELAY
            if answer >= config.max_failures_per_ip:  # the script banned the address
                BANS.inc()
            return failure_delay(config, answer)
        familiar = k["network"] if outcome is Settlement.SUCCESS else ""
        await self._call(
            "a settlement",
            ip,
            self._settle(
                keys=[k["pend_ip"], k["pend_acct"], k["familiar"]],
                args=[token, familiar, FAMILIAR_PER_ACCOUNT, _milliseconds(FAMILIAR_SECONDS)],
            ),
        )
        return 0.0

    async def bans(self, limit: int = MAX_BANS_LISTED) -> list[Ban]:
        """The `ban:` keys under the prefix (SCAN, so Redis is never blocked), with their
        remaining time."""
        prefix = self.config.redis_key_prefix
        kinds = {f"{prefix}ban:ip:": BanKind.ADDRESS, f"{prefix}ban:acct:": BanKind.ACCOUNT}
        pattern = _glob_escaped(f"{prefix}ban:") + "*"
        found: list[Ban] = []
        try:
            async with asyncio.timeout(self._timeout * 5):
                async for raw in self._redis.scan_iter(match=pattern, count=500):
                    key = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
                    for start, kind in kinds.items():
                        if key.startswith(start):
                            milliseconds = await self._redis.pttl(raw)
                            if milliseconds > 0:
                                found.append(Ban(kind, key[len(start) :], milliseconds / 1000))
                    if len(found) >= MAX_BANS_SCANNED:
                        break
        except (RedisError, OSError, TimeoutError) as error:
            raise BansUnavailable(f"Redis did not answer ({error or 'timed out'})") from None
        found.sort(key=lambda ban: (-ban.remaining, ban.kind, ban.subject))
        return found[:limit]

    async def lift(self, kind: BanKind, subject: str) -> bool:
        prefix = self.config.redis_key_prefix
        if kind is BanKind.ADDRESS:
            try:
                subject = str(ipaddress.ip_network(subject))
            except ValueError:
                return False
            keys = [f"{prefix}ban:ip:{subject}", f"{prefix}fail:ip:{subject}"]
        else:
            keys = [f"{prefix}ban:acct:{subject}", f"{prefix}fail:acct:{subject}"]
        try:
            async with asyncio.timeout(self._timeout):
                lifted = await self._redis.delete(keys[0])
                await self._redis.delete(keys[1])
        except (RedisError, OSError, TimeoutError) as error:
            raise BansUnavailable(f"Redis did not answer ({error or 'timed out'})") from None
        return bool(lifted)

    async def close(self) -> None:
        await self._redis.aclose()
