"""parse_message: the MIME tree, its offsets, defaults and the way junk degrades."""

from __future__ import annotations

from mailroom.message import MAX_DEPTH, MessagePart, parse_message


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


ALTERNATIVE_WITH_ATTACHMENT = crlf(
    "From: Ann <ann@example.org>\n"
    "To: Bob <bob@example.net>\n"
    "Subject: Report\n"
    "MIME-Version: 1.0\n"
    'Content-Type: multipart/mixed; boundary="outer"\n'
    "\n"
    "This is a multi-part message in MIME format.\n"
    "--outer\n"
    'Content-Type: multipart/alternative; boundary="inner"\n'
    "\n"
    "--inner\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "Caf=C3=A9 at noon.\n"
    "--inner\n"
    "Content-Type: text/html; charset=utf-8\n"
    "\n"
    "<p>Caf\u00e9 at <b>noon</b>.</p>\n"
    "--inner--\n"
    "\n"
    "--outer\n"
    "Content-Type: application/pdf; name*0*=utf-8''%E2%82%AC%20; name*1=report.pdf\n"
    "Content-Disposition: attachment; filename*=utf-8''%E2%82%AC%20report.pdf\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "JVBERi0xLjQK\n"
    "--outer--\n"
    "epilogue\n"
)


def body(data: bytes, part: MessagePart) -> bytes:
    return data[part.body_start : part.end]


def test_multipart_alternative_with_attachment_has_the_expected_tree() -> None:
    root = parse_message(ALTERNATIVE_WITH_ATTACHMENT)
    assert root.content_type.mime_type == "multipart/mixed"
    alternative, attachment = root.children
    assert alternative.content_type.mime_type == "multipart/alternative"
    plain, html = alternative.children
    assert body(ALTERNATIVE_WITH_ATTACHMENT, plain) == b"Caf=C3=A9 at noon."
    assert plain.encoding == "quoted-printable"
    assert html.content_type.subtype == "html"
    assert attachment.content_type.params["name"] == "\u20ac report.pdf"
    assert attachment.disposition is not None
    assert attachment.disposition.params["filename"] == "\u20ac report.pdf"
    assert body(ALTERNATIVE_WITH_ATTACHMENT, attachment) == b"JVBERi0xLjQK"


def test_the_line_end_before_a_delimiter_belongs_to_the_delimiter() -> None:
    root = parse_message(ALTERNATIVE_WITH_ATTACHMENT)
    alternative = root.children[0]
    # "--inner--\r\n\r\n--outer": the blank line is the alternative's epilogue.
    assert body(ALTERNATIVE_WITH_ATTACHMENT, alternative).endswith(b"--inner--\r\n")
    assert alternative.children[1].lines == 0
    assert alternative.children[1].size == len(crlf("<p>Caf\u00e9 at <b>noon</b>.</p>"))


def test_offsets_frame_headers_and_bodies() -> None:
    data = ALTERNATIVE_WITH_ATTACHMENT
    root = parse_message(data)
    assert (root.start, root.end) == (0, len(data))
    assert data[root.header_end : root.body_start] == b"\r\n"
    for part in root.walk():
        assert part.start <= part.header_end <= part.body_start <= part.end
        assert part.size == part.end - part.body_start
    attachment = root.children[1]
    assert data[attachment.start :].startswith(b"Content-Type: application/pdf")


def test_no_content_type_means_text_plain_us_ascii() -> None:
    root = parse_message(crlf("Subject: hi\n\nhello\n"))
    assert root.content_type.mime_type == "text/plain"
    assert root.content_type.params == {"charset": "us-ascii"}
    assert root.encoding == "7bit"
    assert (root.lines, root.size) == (1, 7)


def test_digest_parts_default_to_message_rfc822() -> None:
    data = crlf(
        "Content-Type: multipart/digest; boundary=d\n"
        "\n"
        "--d\n"
        "\n"
        "Subject: first\n"
        "\n"
        "one\n"
        "--d\n"
        "Content-Type: text/plain\n"
        "\n"
        "not a message\n"
        "--d--\n"
    )
    first, second = parse_message(data).children
    assert first.content_type.mime_type == "message/rfc822"
    assert first.message is not None
    assert first.message.header("Subject") == b"first"
    assert second.content_type.mime_type == "text/plain"
    assert second.message is None


def test_nested_message_rfc822_is_parsed() -> None:
    data = crlf(
        "Content-Type: multipart/mixed; boundary=b\n"
        "\n"
        "--b\n"
        "Content-Type: message/rfc822\n"
        "\n"
        "Subject: inner\n"
        "Content-Type: multipart/alternative; boundary=c\n"
        "\n"
        "--c\n"
        "\n"
        "inner text\n"
        "--c--\n"
        "--b--\n"
    )
    forwarded = parse_message(data).children[0]
    assert forwarded.message is not None
    assert forwarded.message.start == forwarded.body_start
    assert body(data, forwarded.message.children[0]) == b"inner text"


def test_message_global_is_parsed_as_a_message() -> None:
    data = crlf("Content-Type: message/global\n\nSubject: x\n\nbody\n")
    root = parse_message(data)
    assert root.message is not None
    assert root.message.header("subject") == b"x"


def test_missing_close_delimiter_ends_the_last_part_at_the_end() -> None:
    data = crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nfirst\n--b\n\nsecond\n")
    first, second = parse_message(data).children
    assert body(data, first) == b"first"
    assert body(data, second) == b"second\r\n"


def test_boundary_that_never_appears_gives_no_children() -> None:
    root = parse_message(crlf("Content-Type: multipart/mixed; boundary=b\n\nno parts\n"))
    assert root.is_multipart
    assert root.children == ()


def test_multipart_without_boundary_has_no_children() -> None:
    root = parse_message(crlf("Content-Type: multipart/mixed\n\n--b\n\ntext\n"))
    assert root.children == ()


def test_longer_boundary_with_the_same_prefix_is_not_ours() -> None:
    data = crlf(
        "Content-Type: multipart/mixed; boundary=ab\n\n--ab\n"
        "Content-Type: multipart/mixed; boundary=abc\n\n--abc\n\ninner\n--abc--\n--ab--\n"
    )
    outer = parse_message(data)
    assert len(outer.children) == 1
    assert body(data, outer.children[0].children[0]) == b"inner"


def test_lf_only_line_ends_are_accepted() -> None:
    data = (
        b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/html\n\nx\n--b--\n"
    )
    (child,) = parse_message(data).children
    assert child.content_type.subtype == "html"
    assert data[child.body_start : child.end] == b"x"


def test_rfc2231_continuations_and_charset_are_decoded() -> None:
    data = crlf(
        "Content-Type: text/plain;\n"
        " title*0*=us-ascii'en'This%20is%20even%20more%20;\n"
        " title*1*=%2A%2A%2Afun%2A%2A%2A%20;\n"
        ' title*2="isn\'t it!"\n'
        "\n"
    )
    content_type = parse_message(data).content_type
    assert content_type.params["title"] == "This is even more ***fun*** isn't it!"
    assert content_type.imap_params == (
        ("title*", "us-ascii'en'This%20is%20even%20more%20%2A%2A%2Afun%2A%2A%2A%20isn't it!"),
    )


def test_content_fields_without_mime_are_ignored() -> None:
    root = parse_message(crlf("Content-Transfer-Encoding: base64\n\naGk=\n"))
    assert not root.is_mime
    assert root.encoding == "7bit"


def test_headers_keep_raw_values_and_repeats() -> None:
    root = parse_message(crlf("Received: a\nreceived: b\nSubject: =?utf-8?q?x?=\n\n"))
    assert root.header_all("RECEIVED") == [b"a", b"b"]
    assert root.header("subject") == b"=?utf-8?q?x?="
    assert root.header("missing") is None
    assert root.headers[0] == ("Received", b"a")


def test_nesting_beyond_the_limit_is_not_split_further() -> None:
    depth = MAX_DEPTH + 20
    head = "".join(
        f"Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n" for i in range(depth)
    )
    root = parse_message(crlf(head + "\ninnermost\n"))
    levels = 0
    part = root
    while part.children:
        part = part.children[0]
        levels += 1
    assert levels == MAX_DEPTH
    assert part.content_type.mime_type == "text/plain"


def test_message_without_blank_line_is_all_header() -> None:
    data = b"Subject: only a header"
    root = parse_message(data)
    assert root.body_start == root.end == len(data)
    assert root.header("Subject") == b"only a header"


def test_empty_message_parses() -> None:
    root = parse_message(b"")
    assert (root.start, root.body_start, root.end, root.lines) == (0, 0, 0, 0)
