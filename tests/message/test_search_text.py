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


def test_header_fields_are_decoded() -> None:
    assert "Subject: Caf\u00e9\n" in search_text(MESSAGE, limit=10_000).head


def test_the_body_holds_no_field_of_the_header() -> None:
    body = search_text(MESSAGE, limit=10_000).body
    assert "Caf\u00e9" not in body and "multipart/mixed" not in body


def test_text_parts_are_decoded_and_html_stripped() -> None:
    body = search_text(MESSAGE, limit=10_000).body
    assert "na\u00efve softbreak" in body
    assert "bold & more" in body
    assert "evil" not in body and "<p>" not in body


def test_non_text_parts_are_skipped_and_embedded_messages_included() -> None:
    body = search_text(MESSAGE, limit=10_000).body
    assert "secretbinary" not in body
    assert "Subject: forwarded" in body and "inner words" in body


def test_blanks_are_kept_as_they_are() -> None:
    data = crlf("Subject: x\n\na  b\tc\n")
    assert search_text(data, limit=10_000).body == "a  b\tc\r\n"


def test_limit_bounds_the_header_and_the_body() -> None:
    head, body = search_text(MESSAGE, limit=20)
    assert len(head) == 20 and len(body) == 20
    assert search_text(MESSAGE, limit=0) == ("", "")
