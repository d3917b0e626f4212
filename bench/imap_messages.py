"""The IMAP benchmark's mailbox: M varied, realistic, reproducible messages.

A real mailbox is not 10,000 copies of one text: senders repeat, subjects
thread, some mail is multipart with an attachment, a few headers are RFC 2047
encoded, sizes spread from a short note to a message with a PDF. Searches and
ENVELOPE work differently on such mail than on a uniform corpus, so this
corpus has all of that, drawn from a seeded generator: the same seed gives
the same bytes, so two servers are measured on the same mailbox.

Search terms are planted at known rates, so the benchmark can tell whether
both servers found the same messages:

- ``FROM_TERM`` is part of the address of one sender in 40 (header search);
- ``SUBJECT_TERM`` is a word in one subject in 50 (header search);
- ``BODY_TERM`` is a word in the text of one message in 100 (text search; never
  in a header, never inside base64).

Plain functions only: no I/O except writing Maildir files in ``write_maildir``.
"""

from __future__ import annotations

import base64
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path


def _split(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FROM_TERM = "tarragon"
SUBJECT_TERM = "quarterly"
BODY_TERM = "zephyrine"

MIN_SIZE = 2 * 1024
MAX_SIZE = 20 * 1024

WORDS = _split(
    "the of and to in is it that for was on are as with his they at be this have from or one "
    "had by word but not what all were we when your can said there use an each which she do how "
    "their if will up other about out many then them these so some her would make like him into "
    "time has look two more write go see number no way could people my than first water been "
    "call who oil its now find long down day did get come made may part meeting budget server "
    "release review draft schedule migration mailbox weekend holiday invoice contract backup "
    "report patch kernel network printer coffee lunch project deadline minutes agenda question "
    "answer ticket customer order shipping delivery account password reminder newsletter"
)

FIRST_NAMES = _split(
    "Anna Ben Chloé Dmitri Emma Farid Greta Hiro Ines Jonas Kofi Lena Marta Nils Olga Pablo "
    "Quinn Rosa Sven Tomás Uma Viktor Wen Xavier Yara Zoé"
)
LAST_NAMES = _split(
    "Abbott Brandt Castillo Dubois Eriksen Fischer García Hoffmann Ivanova Jansen Kowalski "
    "Lambert Müller Novak Olsen Petrov Quintero Rossi Schmidt Tanaka Ullmann Vogel Weber Young"
)
DOMAINS = _split(
    "example.com example.net example.org lists.example.org mail.example.de corp.example "
    "shop.example news.example.net university.example.edu"
)
SUBJECT_STEMS = (
    "Meeting notes",
    "Re: budget for next year",
    "Your order has shipped",
    "Weekly newsletter",
    "Server maintenance tonight",
    "Invoice attached",
    "Lunch on Friday?",
    "Draft for review",
    "Holiday schedule",
    "Password reminder",
    "Backup report",
    "Question about the release",
    "Ticket updated",
    "Photos from the weekend",
    "Contract renewal",
    "Agenda for Monday",
)
ENCODED_SUBJECTS = (
    "=?UTF-8?Q?R=C3=A9union_de_l'=C3=A9quipe?=",
    "=?UTF-8?B?w5xiZXJzaWNodCBkZXIgQmVzdGVsbHVuZw==?=",
    "=?ISO-8859-1?Q?Gr=FC=DFe_aus_M=FCnchen?=",
)
ATTACHMENTS = (
    ("application/pdf", "report.pdf"),
    ("image/png", "photo.png"),
    ("image/jpeg", "scan.jpg"),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "draft.docx"),
    ("application/zip", "logs.zip"),
)


@dataclass(frozen=True)
class BenchMessage:
    """One message of the corpus: its bytes (CRLF), flags and internal date."""

    data: bytes
    flags: tuple[str, ...]
    internal_date: datetime


@dataclass(frozen=True)
class CorpusCounts:
    """How many messages each planted search term is in (what a correct server finds)."""

    from_term: int
    subject_term: int
    body_term: int


def generate(count: int, seed: int = 1) -> tuple[list[BenchMessage], CorpusCounts]:
    """``count`` messages from ``seed``, oldest first, and the planted terms' counts."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    paragraphs = [_paragraph(rng) for _ in range(400)]
    blob = rng.randbytes(MAX_SIZE)
    senders = [_sender(rng, i) for i in range(200)]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    span = timedelta(days=700)
    messages: list[BenchMessage] = []
    counts = [0, 0, 0]
    for index in range(count):
        moment = start + span * (index / max(1, count))
        moment += timedelta(seconds=rng.randrange(3600))
        tz = timezone(timedelta(hours=rng.choice((-5, 0, 1, 2, 9))))
        sender = senders[index % len(senders)] if rng.random() < 0.7 else rng.choice(senders)
        has_from_term = FROM_TERM in sender
        subject, has_subject_term = _subject(rng, index)
        has_body_term = rng.random() < 0.01
        message = _message(
            rng,
            index=index,
            sender=sender,
            subject=subject,
            date=moment.astimezone(tz),
            paragraphs=paragraphs,
            blob=blob,
            body_term=has_body_term,
        )
        messages.append(BenchMessage(message, _flags(rng, index, count), moment))
        counts[0] += has_from_term
        counts[1] += has_subject_term
        counts[2] += has_body_term
    return messages, CorpusCounts(*counts)


def _paragraph(rng: random.Random) -> bytes:
    words = [rng.choice(WORDS) for _ in range(rng.randrange(30, 90))]
    words[0] = words[0].capitalize()
    lines: list[str] = []
    line = ""
    for word in words:
        if len(line) + len(word) + 1 > 72:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line + ".")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def _sender(rng: random.Random, index: int) -> str:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    # Every 40th sender writes from the planted domain: a FROM search finds 1 in 40.
    domain = f"{FROM_TERM}.example" if index % 40 == 7 else rng.choice(DOMAINS)
    local = f"{first}.{last}".lower().encode("ascii", "ignore").decode() or "someone"
    local = "".join(c for c in local if c.isalnum() or c == ".")
    display = f"{first} {last}"
    if not display.isascii():
        encoded = base64.b64encode(display.encode()).decode()
        display = f"=?UTF-8?B?{encoded}?="
    else:
        display = f'"{display}"'
    return f"{display} <{local}@{domain}>"


def _subject(rng: random.Random, index: int) -> tuple[str, bool]:
    if index % 50 == 13:
        return f"The {SUBJECT_TERM} figures, part {index // 50}", True
    if rng.random() < 0.05:
        return rng.choice(ENCODED_SUBJECTS), False
    stem = rng.choice(SUBJECT_STEMS)
    return (f"Re: {stem}" if rng.random() < 0.3 else stem) + f" #{rng.randrange(1000)}", False


def _flags(rng: random.Random, index: int, count: int) -> tuple[str, ...]:
    flags: list[str] = []
    if index < count * 0.9 and rng.random() < 0.85:  # old mail is mostly read
        flags.append("\\Seen")
    if rng.random() < 0.1:
        flags.append("\\Answered")
    if rng.random() < 0.04:
        flags.append("\\Flagged")
    return tuple(flags)


def _message(
    rng: random.Random,
    *,
    index: int,
    sender: str,
    subject: str,
    date: datetime,
    paragraphs: list[bytes],
    blob: bytes,
    body_term: bool,
) -> bytes:
    target_size = int(MIN_SIZE * (MAX_SIZE / MIN_SIZE) ** rng.random())  # log-uniform
    target_size = max(MIN_SIZE + 200, target_size)  # a cut at a line end takes up to ~150
    headers = [
        f"Return-Path: <bounce-{index}@bench.mailroom.test>",
        f"Received: from mx.example.net (mx.example.net [192.0.2.{index % 250 + 1}])"
        f"\r\n\tby mail.example.test with ESMTPS id B{index:06d}; {format_datetime(date)}",
        f"From: {sender}",
        "To: Alice Example <alice@example.test>",
        f"Subject: {subject}",
        f"Date: {format_datetime(date)}",
        f"Message-ID: <{index}.thread@bench.mailroom.test>",
    ]
    if index and rng.random() < 0.3:
        parent = rng.randrange(max(0, index - 50), index)
        headers.append(f"In-Reply-To: <{parent}.thread@bench.mailroom.test>")
        headers.append(f"References: <{parent}.thread@bench.mailroom.test>")
    if rng.random() < 0.2:
        headers.append("Cc: Bob Example <bob@example.test>")
    headers.append("MIME-Version: 1.0")
    head = ("\r\n".join(headers) + "\r\n").encode("utf-8")

    room = target_size - len(head)  # what the body may take
    kind = rng.random()
    if kind < 0.25 and room > 4000:  # a short text and an attachment taking the rest
        boundary = f"=_bench_{index}_{rng.getrandbits(32):x}"
        content_type, filename = rng.choice(ATTACHMENTS)
        text = _text(rng, paragraphs, rng.randrange(400, 1500), body_term)
        # base64 with CRLF every 76 characters: 4/3 × 78/76 of the raw size.
        raw_size = max(300, int((room - len(text) - 700) * 0.73))
        offset = rng.randrange(0, len(blob) - raw_size) if raw_size < len(blob) else 0
        encoded = base64.encodebytes(blob[offset : offset + raw_size]).replace(b"\n", b"\r\n")
        body = b"".join(
            [
                f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'.encode(),
                b"This is a multi-part message in MIME format.\r\n\r\n",
                f"--{boundary}\r\n".encode(),
                b"Content-Type: text/plain; charset=us-ascii\r\n\r\n",
                text,
                f"--{boundary}\r\n".encode(),
                f'Content-Type: {content_type}; name="{filename}"\r\n'.encode(),
                b"Content-Transfer-Encoding: base64\r\n",
                f'Content-Disposition: attachment; filename="{filename}"\r\n\r\n'.encode(),
                encoded,
                f"--{boundary}--\r\n".encode(),
            ]
        )
    elif kind < 0.35:  # text and HTML alternatives
        boundary = f"=_alt_{index}_{rng.getrandbits(32):x}"
        half = _text(rng, paragraphs, max(400, (room - 380) // 2), body_term)
        html = (
            b"<html><body><p>" + half.replace(b"\r\n\r\n", b"</p>\r\n<p>") + b"</p></body></html>"
        )
        body = b"".join(
            [
                f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'.encode(),
                f"--{boundary}\r\n".encode(),
                b"Content-Type: text/plain; charset=us-ascii\r\n\r\n",
                half,
                f"\r\n--{boundary}\r\n".encode(),
                b"Content-Type: text/html; charset=us-ascii\r\n\r\n",
                html,
                f"\r\n--{boundary}--\r\n".encode(),
            ]
        )
    else:
        text = _text(rng, paragraphs, max(400, room - 50), body_term)
        body = b"Content-Type: text/plain; charset=us-ascii\r\n\r\n" + text
    return head + body


def _text(rng: random.Random, paragraphs: list[bytes], size: int, body_term: bool) -> bytes:
    """Paragraphs up to about ``size`` bytes (cut at a line end, never over ``size``)."""
    chosen: list[bytes] = []
    if body_term:
        chosen.append(f"Please keep the {BODY_TERM} file safe.\r\n\r\n".encode())
    total = sum(len(p) for p in chosen)
    while total < size:
        paragraph = rng.choice(paragraphs)
        chosen.append(paragraph)
        total += len(paragraph)
    text = b"".join(chosen)
    if len(text) > size:
        text = text[: text.rfind(b"\r\n", 0, size) + 2]
    return text


# --------------------------------------------------------------------------- Maildir


MAILDIR_FLAG_LETTERS = {"\\Draft": "D", "\\Flagged": "F", "\\Answered": "R", "\\Seen": "S"}


def maildir_name(index: int, message: BenchMessage, base_time: int) -> str:
    """A Maildir file name (cur/) whose time part orders the files as the corpus.

    Dovecot gives new files UIDs in the order of the time part of their names, so
    ``base_time + index`` keeps the corpus order; ``S=`` is the size Dovecot can trust.
    """
    letters = "".join(sorted(MAILDIR_FLAG_LETTERS[f] for f in message.flags))
    return (
        f"{base_time + index}.M{index:06d}P{os.getpid()}Q{index}.imapbench,"
        f"S={len(message.data)}:2,{letters}"
    )


def write_maildir(folder: Path, messages: list[BenchMessage], owner: tuple[int, int]) -> None:
    """Write ``messages`` into a new Maildir++ folder directory (``cur/``), files owned by
    ``owner`` (uid, gid), each file's mtime its internal date (Maildir's received date)."""
    for sub in ("cur", "new", "tmp"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    (folder / "maildirfolder").touch()
    base_time = int(datetime.now(UTC).timestamp()) - len(messages) - 60
    paths = [folder, folder / "cur", folder / "new", folder / "tmp", folder / "maildirfolder"]
    for index, message in enumerate(messages):
        path = folder / "cur" / maildir_name(index, message, base_time)
        path.write_bytes(message.data)
        stamp = message.internal_date.timestamp()
        os.utime(path, (stamp, stamp))
        paths.append(path)
    for path in paths:
        os.chown(path, *owner)


def iter_batches(items: list[BenchMessage], size: int) -> Iterator[list[BenchMessage]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
