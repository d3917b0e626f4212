"""The message content of DATA (`mailroom.smtp.data.DataDecoder`) and the Received:
counter BDAT uses (`HeaderScanner`).

The input is the octets a client sends after DATA, cut into lines at LF as the
connection layer cuts them, and fed until the decoder says the data ended. Contract:
no exception; the data ends only at a `.` CRLF line that follows a CRLF (RFC 5321
§4.1.1.4: the SMTP-smuggling rule); every stored line ends in CRLF; the counts and size
add up. `HeaderScanner` must count the same Received: fields however the bytes are cut
(the cuts come from the input too). A crash: any exception or broken invariant.
"""

from __future__ import annotations

import re

from mailroom.smtp.data import DataDecoder, HeaderScanner

_LINES = re.compile(rb"[^\n]*\n|[^\n]+")
MAX_SIZE = 2000
MAX_LINE = 200


def _scanned_in_pieces(content: bytes, cuts: bytes) -> int:
    scanner = HeaderScanner()
    position = 0
    for cut in cuts:
        scanner.feed(content[position : position + cut])
        position += cut
    scanner.feed(content[position:])
    return scanner.received_headers


def one_input(data: bytes) -> None:
    decoder = DataDecoder(max_size=MAX_SIZE, max_line_length=MAX_LINE)
    stored: list[bytes] = []
    after_crlf = True
    bare_lf = 0
    for line in _LINES.findall(data):
        result = decoder.feed(line)
        if result is None:
            assert line == b".\r\n" and after_crlf, (line, after_crlf)
            assert decoder.done
            break
        assert not decoder.done
        if line.endswith(b"\n"):
            assert result.endswith(b"\r\n") or result == b"", (line, result)
            bare_lf += not line.endswith(b"\r\n")
        after_crlf = line.endswith(b"\r\n")
        stored.append(result)
    assert decoder.bare_lf_count == bare_lf
    if not decoder.refused:
        content = b"".join(stored)
        assert decoder.size == len(content) <= MAX_SIZE
        whole = HeaderScanner()
        whole.feed(content)
        assert whole.received_headers == decoder.received_headers
        assert _scanned_in_pieces(content, data[:64]) == decoder.received_headers
    # Any cut of the raw input too, as BDAT chunks arrive.
    raw = HeaderScanner()
    raw.feed(data)
    assert _scanned_in_pieces(data, data[-32:]) == raw.received_headers
