"""The text a store indexes for SEARCH, taken plainly: tests of the store check what it
does with that text, not how a message's text is found."""

from __future__ import annotations


def text_of(data: bytes) -> tuple[str, str]:
    """A search-text extractor for tests: header and body as they are."""
    head, _, body = data.decode("utf-8", "replace").partition("\r\n\r\n")
    return head, body
