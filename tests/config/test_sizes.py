from __future__ import annotations

import pytest

from mailroom.config.sizes import format_size, parse_size


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("2048", 2048),
        ("500M", 500 * 1024**2),
        ("2G", 2 * 1024**3),
        ("1.5g", 1536 * 1024**2),
        ("10 MiB", 10 * 1024**2),
        ("64k", 65536),
        ("unlimited", None),
    ],
)
def test_sizes_as_people_write_them(text: str, size: int | None) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "-1G", "lots", "5X", "1e9"])
def test_a_size_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a size"):
        parse_size(text)


def test_sizes_print_short() -> None:
    assert [format_size(s) for s in (None, 512, 2 * 1024**3, 1536 * 1024**2)] == [
        "unlimited",
        "512",
        "2G",
        "1536M",
    ]
