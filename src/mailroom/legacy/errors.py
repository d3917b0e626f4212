"""The one refusal of reading the legacy host: a source that cannot be read at all."""

from __future__ import annotations


class LegacySourceError(Exception):
    """The legacy database or a file cannot be read; the message names it (never a
    password) and says what was wrong."""
