"""search_text: what full-text search matches against."""

from __future__ import annotations

from mailroom.message import search_text


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


MESSAGE = crlf(
    "Subject: =?utf-8?q?Caf=C3=A9?=\n"
    "Content-Type: multipart/mixed; boundary=b\n"
    "\n"
    "--b\n"
    "Content-Type: text/plain; charset=iso-8859-1\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "na=EFve soft=\n"
    "break\n"
    "--b\n"
    "Content-Type: text/html\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "PHA+PGI+Ym9sZDwvYj4gJmFtcDsgbW9yZTwvcD48c2NyaXB0PmV2aWwoKTwvc2NyaXB0Pg==\n"
    "--b\n"
    "Content-Type: application/octet-stream\n"
    "\n"
    "secretbinary\n"
    "--b\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "Subject: forwarded\n"
    "\n"
    "inner words\n"
    "--b--\n"
)


def test_headers_are_decoded() -> None:
    assert "Subject: Caf\u00e9" in search_text(MESSAGE, limit=10_000)


def test_text_parts_are_decoded_and_html_stripped() -> None:
    text = search_text(MESSAGE, limit=10_000)
    assert "na\u00efve softbreak" in text
    assert "bold & more" in text
    assert "evil" not in text and "<p>" not in text


def test_non_text_parts_are_skipped_and_embedded_messages_included() -> None:
    text = search_text(MESSAGE, limit=10_000)
    assert "secretbinary" not in text
    assert "Subject: forwarded" in text and "inner words" in text


def test_limit_bounds_the_result() -> None:
    assert len(search_text(MESSAGE, limit=20)) == 20
    assert search_text(MESSAGE, limit=0) == ""
