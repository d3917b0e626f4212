"""The message content of DATA and BDAT: where it ends, what is stored, what is counted.

`DataDecoder` takes the lines of a DATA transfer one at a time, as the connection
layer reads them (or, with `feed_block`, many ordinary lines at once: a 4 KiB
message then costs a few calls instead of one per line), and returns the bytes to
store: dot-unstuffed (RFC 5321 §4.5.2) with every line ending written as CRLF. The
data ends only at `<CRLF>.<CRLF>`: a line that is exactly `.\\r\\n` following a
line that ended in CRLF. A dot line ended by a bare LF, or following a line that
was, is content. Servers that
disagree about where a message ends let one message carry another (SMTP
smuggling, CVE-2023-51764/51765/51766); this is Postfix's answer
(smtpd_forbid_bare_newline = normalize). Bare LFs and bare CRs are counted, not
refused: the session decides.

BDAT chunks (RFC 3030) are raw octets, stored as sent; the session only passes
them through a `HeaderScanner` to count Received: headers, which DataDecoder also
uses. Nothing here reads a socket or writes a file.
"""

from __future__ import annotations

import enum

# A header field name is looked for in this many octets at the start of a line; a
# line with no colon by then is not a header field (RFC 5322 §2.1.1: 998 a line).
_NAME_SCAN_LIMIT = 1000
_SPACE = 0x20
_TAB = 0x09
_COLON = 0x3A
_CR = 0x0D
_DOT = 0x2E


class _Line(enum.Enum):
    FIELD = "field"
    RECEIVED = "received"
    CONTINUATION = "continuation"
    END = "end"
    """An empty line, or one that is not a header field: the header section is over."""


class HeaderScanner:
    """Counts `Received:` header fields (any case) in a message's header section.

    Fed the message in chunks of any size, it gives the same count however the
    bytes are cut. The header section ends at the first empty line, or at the first
    line that is neither a header field nor the continuation of one (RFC 5322 §2.1,
    §2.2); after that, feeding costs nothing. Lines may end in CRLF or a bare LF.
    """

    def __init__(self) -> None:
        self.received_headers = 0
        self.in_headers = True
        self._pending = bytearray()  # the start of the current line, until classified
        self._skipping = False  # the current line is classified; skip to its end
        self._seen_field = False

    def stop(self) -> None:
        """End the header section here (the rest of the message is not looked at)."""
        self.in_headers = False
        self._pending.clear()

    def feed(self, data: bytes) -> None:
        position = 0
        while self.in_headers and position < len(data):
            newline = data.find(b"\n", position)
            if self._skipping:
                if newline < 0:
                    return
                self._skipping = False
                position = newline + 1
                continue
            end = len(data) if newline < 0 else newline
            room = _NAME_SCAN_LIMIT - len(self._pending)
            self._pending += data[position : min(end, position + room)]
            complete = newline >= 0 and end - position <= room
            kind = _classify(bytes(self._pending), complete=complete, after_field=self._seen_field)
            if kind is None:  # only when the line goes on in a later chunk
                return
            self._pending.clear()
            if kind is _Line.END:
                self.in_headers = False
                return
            if kind is not _Line.CONTINUATION:
                self._seen_field = True
            if kind is _Line.RECEIVED:
                self.received_headers += 1
            if newline < 0:
                self._skipping = True
                return
            position = newline + 1


def _classify(start: bytes, *, complete: bool, after_field: bool) -> _Line | None:
    """What a line is, from its first octets (at most _NAME_SCAN_LIMIT, no LF);
    None if that depends on octets not seen yet."""
    if complete and start.endswith(b"\r"):
        start = start[:-1]
    if not start:
        return _Line.END if complete else None
    if start[0] in (_SPACE, _TAB):
        # RFC 5322 §2.2.3: folding; before any field it is not a header section.
        return _Line.CONTINUATION if after_field else _Line.END
    # RFC 5322 §3.6.8: field-name = 1*ftext (33-126 except ":"); the obsolete
    # syntax (§4.5) allows white space before the colon.
    in_space = False
    for index, octet in enumerate(start):
        if octet == _COLON:
            if index == 0:  # no field name
                return _Line.END
            if start[:index].rstrip(b" \t").lower() == b"received":
                return _Line.RECEIVED
            return _Line.FIELD
        if octet in (_SPACE, _TAB):
            in_space = True
        elif in_space or not 33 <= octet <= 126:
            return _Line.END
    if complete or len(start) >= _NAME_SCAN_LIMIT:
        return _Line.END
    return None


class DataDecoder:
    """One DATA transfer, fed line by line; see the module docstring.

    `feed` returns the content to store, b"" once the message is known to be
    refused (too big, or a line too long: read on to the end, store nothing), and
    None at the end of the data. Afterwards the session answers from `too_big`,
    `line_too_long`, `received_headers`, `bare_lf_count` and `bare_cr_count`.
    """

    def __init__(self, *, max_size: int | None, max_line_length: int) -> None:
        self.max_size = max_size
        self.max_line_length = max_line_length
        """Counted with the line's ending (RFC 5321 §4.5.3.1.6 counts the CRLF)."""
        self.size = 0
        """Octets of content, as stored (also those dropped after a refusal)."""
        self.too_big = False
        self.line_too_long = False
        self.bare_lf_count = 0
        """Lines ended by a LF without CR."""
        self.bare_cr_count = 0
        """CRs not followed by LF."""
        self.done = False
        self._after_crlf = True  # the DATA command line ended the previous line
        self._headers = HeaderScanner()

    @property
    def received_headers(self) -> int:
        """Received: fields in the header section, for loop detection (RFC 5321 §6.3)."""
        return self._headers.received_headers

    @property
    def refused(self) -> bool:
        return self.too_big or self.line_too_long

    def feed(self, line: bytes) -> bytes | None:
        """One line as the connection read it: ending in LF or CRLF, or, at the end of
        input, in neither. Returns the content to store, or None at end of data."""
        if self.done:
            raise RuntimeError("DataDecoder fed after the end of the data")
        newline = line.find(b"\n")
        if 0 <= newline < len(line) - 1:
            raise ValueError("DataDecoder.feed takes one line at a time")
        # RFC 5321 §4.1.1.4: the data ends with <CRLF>.<CRLF>, the first CRLF being
        # the end of the previous line (or of the DATA command itself).
        if line == b".\r\n" and self._after_crlf:
            self.done = True
            return None
        if line.endswith(b"\r\n"):
            text, ending = line[:-2], b"\r\n"
        elif line.endswith(b"\n"):
            text, ending = line[:-1], b"\r\n"
            self.bare_lf_count += 1
        else:
            text, ending = line, b""
        self._after_crlf = line.endswith(b"\r\n")
        self.bare_cr_count += text.count(b"\r")
        if len(line) > self.max_line_length:
            self.line_too_long = True
        # RFC 5321 §4.5.2: a leading period is removed if other characters follow. A
        # lone "." that did not end the data (bare LF, or after one) stays content.
        if len(text) > 1 and text.startswith(b"."):
            text = text[1:]
        content = text + ending
        self.size += len(content)
        if self.max_size is not None and self.size > self.max_size:
            self.too_big = True
        self._headers.feed(content)
        return b"" if self.refused else content

    def feed_block(self, block: bytes) -> tuple[int, bytes]:
        """Many whole lines at once (`block` ends with LF), as `feed` would take them one
        by one, up to the end of the data: returns how many octets of `block` were
        taken (all, or up to the end of the data: see `done`) and the content to store.

        Runs of lines that need no care one at a time (none starts with a dot, so none
        ends the data; no bare LF or CR; none too long) are taken whole, which is what
        makes a message cost a few calls instead of one per line; a dot line goes
        through `feed`, and so does the rest of a block once a bare LF or CR is in it
        (so that odd input costs what it did, never a rescan per line)."""
        if self.done:
            raise RuntimeError("DataDecoder fed after the end of the data")
        if not block.endswith(b"\n"):
            raise ValueError("DataDecoder.feed_block takes whole lines")
        stored: list[bytes] = []
        position, size = 0, len(block)
        careful = False
        while position < size and not self.done:
            if not careful and self._after_crlf and block[position] != _DOT:
                dot_line = block.find(b"\n.", position)
                end = size if dot_line < 0 else dot_line + 1
                line_ends = block.count(b"\r\n", position, end)
                if (
                    end - position <= self.max_line_length
                    and block.count(b"\n", position, end) == line_ends
                    and block.count(b"\r", position, end) == line_ends
                ):
                    run = block[position:end]
                    self.size += len(run)
                    if self.max_size is not None and self.size > self.max_size:
                        self.too_big = True
                    self._headers.feed(run)
                    if not self.refused:
                        stored.append(run)
                    position = end
                    continue
                careful = True
            line_end = block.index(b"\n", position) + 1
            content = self.feed(block[position:line_end])
            position = line_end
            if content:
                stored.append(content)
        return position, b"".join(stored)

    def discard_overlong_line(self, *, ended_with_crlf: bool) -> None:
        """The connection layer threw away a line over its limit (LineTooLong): the
        message is refused; read on to its end. If it cannot tell how the discarded
        line ended, pass False: the data then ends only at a later <CRLF>.<CRLF>,
        never at a dot line that might have followed a bare LF."""
        if self.done:
            raise RuntimeError("DataDecoder fed after the end of the data")
        self.line_too_long = True
        self._after_crlf = ended_with_crlf
        # The discarded line's content is unknown; the header section is over.
        self._headers.stop()
