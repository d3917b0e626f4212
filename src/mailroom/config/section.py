"""The base of every config table, and the size type limits share."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from mailroom.config.sizes import parse_size


class Section(BaseModel):
    """Base of every config table: typed, immutable, no unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_size_value(value: object) -> object:
    """Accept 52428800 or "50M" (see config/sizes.py)."""
    if isinstance(value, str):
        size = parse_size(value)
        if size is None:
            raise ValueError("a limit is needed here; 'unlimited' is not allowed")
        return size
    return value


Size = Annotated[int, BeforeValidator(parse_size_value), Field(ge=0)]
