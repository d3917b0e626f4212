"""Sizes as people write them: `10M`, `1.5G`, `512k`, `unlimited` (binary multiples,
as Dovecot's quota settings)."""

from __future__ import annotations

import re

_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?", re.IGNORECASE)
MAX_SIZE = 2**63 - 1


def parse_size(text: str) -> int | None:
    """Bytes from `10M`, `1.5G`, `2048`; None for `unlimited`/`none`. Raises ValueError."""
    cleaned = text.strip().lower()
    if cleaned in {"unlimited", "none", "0 (unlimited)"}:
        return None
    match = _SIZE.fullmatch(cleaned)
    if not match:
        raise ValueError(
            f"{text!r} is not a size: use bytes or a number with K, M, G or T "
            "(like 500M or 2G), or 'unlimited'"
        )
    size = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    if size > MAX_SIZE:
        raise ValueError(f"{text!r} is too large")
    return size


def format_size(size: int | None) -> str:
    """1073741824 -> '1G'; None -> 'unlimited'."""
    if size is None:
        return "unlimited"
    for unit in ("T", "G", "M", "K"):
        factor = _UNITS[unit.lower()]
        if size >= factor and size % factor == 0:
            return f"{size // factor}{unit}"
        if size >= factor * 10:
            return f"{size / factor:.1f}{unit}"
    return str(size)
