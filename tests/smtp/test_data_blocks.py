"""DATA taken many lines at a time (`DataDecoder.feed_block`, as the session feeds it
whatever whole lines have arrived) stores, counts and ends exactly as line by line
does, whatever the input and however it is cut; and what a client pipelines after the
end of the data is left for the session, never swallowed with the message."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.smtp.data import DataDecoder
from tests.support.mail_host import start_host
from tests.support.smtp_talk import Talk

# Pieces that make the interesting cases likely: line ends of every kind, dots at
# line starts (stuffing and the end of the data), Received: fields, long runs.
PIECES = st.sampled_from(
    [
        *(b"a", b"xyz ", b".", b"..", b"\r", b"\n", b"\r\n", b"\r\n.\r\n", b"\n.\n"),
        *(b"Received: x\r\n", b"Subject: s\r\n", b"\r\n\r\n", b" folded\r\n", b"z" * 40),
    ]
)


def split_lines(data: bytes) -> list[bytes]:
    """The lines the connection layer would hand over: each ends with LF."""
    return [line + b"\n" for line in data.split(b"\n")[:-1]]


def fed_by_lines(lines: list[bytes], **limits: int | None) -> tuple[DataDecoder, bytes, int]:
    decoder = DataDecoder(**limits)  # type: ignore[arg-type]
    stored = bytearray()
    for count, line in enumerate(lines, start=1):
        content = decoder.feed(line)
        if content is None:
            return decoder, bytes(stored), sum(map(len, lines[:count]))
        stored += content
    return decoder, bytes(stored), sum(map(len, lines))


def fed_by_blocks(
    lines: list[bytes], cuts: list[int], **limits: int | None
) -> tuple[DataDecoder, bytes, int]:
    """Lines grouped into blocks at `cuts` (line counts); a group of one line goes
    through `feed` or `feed_block` by turns, as the session mixes them."""
    decoder = DataDecoder(**limits)  # type: ignore[arg-type]
    stored = bytearray()
    consumed = 0
    index = 0
    for turn, size in enumerate([*cuts, len(lines)]):
        group = lines[index : index + max(1, size)]
        if not group:
            break
        if len(group) == 1 and turn % 2:
            content = decoder.feed(group[0])
            taken = len(group[0])
            if content is None:
                return decoder, bytes(stored), consumed + taken
        else:
            block = b"".join(group)
            taken, content = decoder.feed_block(block)
        stored += content
        consumed += taken
        if decoder.done:
            return decoder, bytes(stored), consumed
        assert taken == len(b"".join(group))  # not done: the whole block was taken
        index += len(group)
    return decoder, bytes(stored), consumed


@settings(max_examples=600, deadline=None)
@given(
    st.lists(PIECES, max_size=60),
    st.lists(st.integers(0, 8), max_size=20),
    st.integers(4, 120),
    st.one_of(st.none(), st.integers(0, 400)),
)
def test_blocks_and_lines_give_the_same_message(
    pieces: list[bytes], cuts: list[int], max_line_length: int, max_size: int | None
) -> None:
    lines = split_lines(b"".join(pieces))
    limits = {"max_line_length": max_line_length, "max_size": max_size}
    by_lines, stored_lines, consumed_lines = fed_by_lines(lines, **limits)
    by_blocks, stored_blocks, consumed_blocks = fed_by_blocks(lines, cuts, **limits)
    assert by_blocks.done == by_lines.done
    assert consumed_blocks == consumed_lines  # the data ends at the same octet
    assert by_blocks.size == by_lines.size
    assert by_blocks.too_big == by_lines.too_big
    assert by_blocks.line_too_long == by_lines.line_too_long
    assert by_blocks.received_headers == by_lines.received_headers
    assert by_blocks.bare_lf_count == by_lines.bare_lf_count
    assert by_blocks.bare_cr_count == by_lines.bare_cr_count
    if not by_lines.refused:  # a refused message's content is thrown away either way
        assert stored_blocks == stored_lines


def test_a_block_ends_at_the_end_of_the_data_and_leaves_the_rest() -> None:
    decoder = DataDecoder(max_size=None, max_line_length=1000)
    block = b"Subject: a\r\n\r\n..stuffed\r\nbody\r\n.\r\nMAIL FROM:<x@example.org>\r\n"
    taken, stored = decoder.feed_block(block)
    assert decoder.done
    assert block[taken:] == b"MAIL FROM:<x@example.org>\r\n"
    assert stored == b"Subject: a\r\n\r\n.stuffed\r\nbody\r\n"


async def test_a_message_and_the_next_pipelined_in_one_write_stay_two(tmp_path: Path) -> None:
    async for host in start_host(tmp_path / "host"):
        talk = await Talk.open(host.port("smtp"))
        await talk.command("EHLO client.example")
        await talk.command("MAIL FROM:<carol@outside.example>")
        await talk.command("RCPT TO:<alice@example.test>")
        assert (await talk.command("DATA"))[0] == 354
        body = b"".join(b"line %d of the first\r\n" % n for n in range(200))
        await talk.send(
            b"Subject: first\r\n\r\n" + body + b".dot-stuffed\r\nbare\nend\r\n.\r\n"
            b"MAIL FROM:<carol@outside.example>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
        )
        assert (await talk.reply())[0] == 250
        assert (await talk.reply())[0] == 250
        assert (await talk.reply())[0] == 250
        assert (await talk.reply())[0] == 354
        await talk.send(b"Subject: second\r\n\r\nsecond body\r\n.\r\n")
        assert (await talk.reply())[0] == 250
        assert (await talk.command("QUIT"))[0] == 221
        (first,) = await host.delivered("alice@example.test")
        (second,) = await host.delivered("bob@example.test")
        # Stored with LF line ends (store/writing.py), dot-unstuffed, the bare LF kept.
        assert first.endswith(b"line 199 of the first\ndot-stuffed\nbare\nend\n")
        assert b"MAIL FROM" not in first
        assert second.endswith(b"Subject: second\n\nsecond body\n")
