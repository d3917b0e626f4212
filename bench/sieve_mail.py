"""The mail of the Sieve ingest bench, and where bench/sieve_rules.sieve files it.

Each kind of message is made to fire one kind of rule of the script (or none: plain
mail falls through to INBOX), and carries what a correct Sieve implementation does
with it: the folder, and the system flags the message has there (RFC 5232: keywords
such as ``$Report`` are set too but not checked, since servers keep keywords in
different files). bench/sieve_ingest.py sends message ``i`` as kind ``i % len(KINDS)``,
so the expected count per folder of a round follows from the indices accepted.

A message is a few KiB: these headers, then the same filler body as bench/smtp_ingest.py.
The script is bench/sieve_rules.sieve. Change this table and the script together; the
reference (Pigeonhole) is the judge: a mismatch shows as a failed folder check there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import formatdate

FOLDERS = (
    "Spam",
    "Dev",
    "Announce",
    "Lists",
    "Newsletters",
    "Receipts",
    "Billing",
    "Work",
    "Family",
    "Travel",
)
"""The folders the script files into; created over IMAP in every account before a run."""


@dataclass(frozen=True)
class Kind:
    """One kind of message: its distinguishing headers, and where the script puts it."""

    name: str
    headers: tuple[tuple[str, str], ...]
    folder: str
    flags: str = ""
    """Maildir info letters of the system flags the message gets (``F``, ``S``), sorted."""


def _kind(name: str, folder: str, flags: str = "", **headers: str) -> Kind:
    # Header names from keyword arguments: X_Spam_Flag -> X-Spam-Flag.
    named = tuple((key.replace("_", "-"), value) for key, value in headers.items())
    return Kind(name, named, folder, flags)


KINDS: tuple[Kind, ...] = (
    # Rules 1-3: spam.
    _kind(
        "spam flag",
        "Spam",
        "S",
        From="Deals <deals@offers.example>",
        X_Spam_Flag="YES",
        Subject="You have won",
    ),
    _kind(
        "spam subject",
        "Spam",
        "S",
        From="Someone <someone@elsewhere.example>",
        Subject="[SPAM] cheap watches",
    ),
    _kind(
        "spam domain", "Spam", "", From="Offers <hello@bulk-offers.example>", Subject="Only today"
    ),
    # Rules 4-6: lists by List-Id.
    _kind(
        "dev list (:is)",
        "Dev",
        "",
        From="Ann <ann@mailroom.test>",
        Subject="Re: queue",
        List_Id="Mailroom developers <dev.lists.mailroom.test>",
    ),
    _kind(
        "announce list (:contains)",
        "Announce",
        "",
        From="Release <rel@mailroom.test>",
        Subject="Mailroom 1.4",
        List_Id="Announcements <announce.lists.mailroom.test>",
    ),
    _kind(
        "debian list (:matches)",
        "Lists",
        "",
        From="Dev <dev@debian.example>",
        Subject="Bug#1",
        List_Id="Debian devel <debian-devel.lists.debian.example>",
    ),
    # Rules 7-8: newsletters.
    _kind(
        "newsletter (allof)",
        "Newsletters",
        "",
        From="Shop newsletter <newsletter@shop.example>",
        Subject="Spring sale",
        List_Unsubscribe="<mailto:unsub@shop.example>",
    ),
    _kind(
        "weekly digest",
        "Newsletters",
        "",
        From="Forum <forum@board.example>",
        Subject="Your weekly digest",
    ),
    # Rules 9-10: receipts.
    _kind("shop noreply", "Receipts", "", From="Shop <noreply@shop.example>", Subject="Shipped"),
    _kind(
        "invoice subject",
        "Receipts",
        "",
        From="ISP <accounts@isp-two.example>",
        Subject="Your invoice 2024-11",
    ),
    # Rules 11-13: the bank.
    _kind(
        "bank statements",
        "Billing",
        "F",
        From="Bank <statements@bank.example>",
        Subject="New document",
    ),
    _kind(
        "bank domain",
        "Billing",
        "",
        From="Bank alerts <alerts@bank.example>",
        Subject="Login from a new device",
    ),
    _kind(
        "statement subject",
        "Billing",
        "",
        From="Cards <cards@cardco.example>",
        Subject="Your March statement is ready",
    ),
    # Rules 14-17: work.
    _kind("boss", "Work", "F", From="The Boss <boss@work.example>", Subject="URGENT: numbers"),
    _kind(
        "to team",
        "Work",
        "",
        From="Colleague <col@partner.example>",
        To="Team <team@work.example>",
        Subject="Lunch",
    ),
    _kind(
        "cc work",
        "Work",
        "",
        From="Vendor <sales@vendor.example>",
        Cc="Purchasing <buy@work.example>",
        Subject="Quote",
    ),
    _kind("weekly report", "Work", "", From="Bot <bot@reports.example>", Subject="Weekly report"),
    # Rules 18-19: family.
    _kind("family domain", "Family", "", From="Aunt <aunt@family.example>", Subject="Photos"),
    _kind("mum", "Family", "", From="Mum <mum@example.net>", Subject="Sunday?"),
    # Rules 20-22: travel.
    _kind(
        "flight subject",
        "Travel",
        "",
        From="Agency <trips@agency.example>",
        Subject="Your flight to Lisbon",
    ),
    _kind(
        "airline domain",
        "Travel",
        "",
        From="Check-in <checkin@fly.airline.example>",
        Subject="Seat 12A",
    ),
    _kind("itinerary", "Travel", "", From="Trips <x@trips.example>", Subject="Itinerary for May"),
    # Rules 23-24: flagged and kept.
    _kind(
        "urgent",
        "INBOX",
        "F",
        From="Stranger <stranger@somewhere.example>",
        Subject="URGENT: call me",
    ),
    _kind(
        "priority",
        "INBOX",
        "F",
        From="Stranger <stranger2@somewhere.example>",
        Subject="Hello",
        X_Priority="1",
    ),
    # Rules 25-28.
    _kind(
        "+lists",
        "Lists",
        "",
        From="Group <group@groups.example>",
        To="user+lists@example.test",
        Subject="Meeting notes",
    ),
    _kind(
        "github",
        "Dev",
        "",
        From="GitHub <notifications@github.example>",
        Subject="[github] PR #12 opened",
    ),
    _kind(
        "ci urgent (setflag)",
        "Dev",
        "S",
        From="CI <builds@ci.mailroom.test>",
        Subject="URGENT build broken",
    ),
    _kind(
        "precedence bulk",
        "Lists",
        "",
        From="Announcer <a@bulk.example>",
        Subject="Notice",
        Precedence="bulk",
    ),
    # Rules 29-30.
    _kind("friend", "INBOX", "", From="Friend <friend@example.net>", Subject="Dinner"),
    _kind(
        "unsubscribe",
        "Newsletters",
        "",
        From="Old list <old@list.example>",
        Subject="How to unsubscribe",
    ),
    # Fall through all 30 rules to INBOX.
    _kind("plain 1", "INBOX", "", From="Carol <carol@example.org>", Subject="Re: the garden"),
    _kind("plain 2", "INBOX", "", From="Dave <dave@example.com>", Subject="Book club"),
    _kind("plain 3", "INBOX", "", From="Erin <erin@example.org>", Subject="Photos from the trip"),
    _kind("plain 4", "INBOX", "", From="Frank <frank@example.com>", Subject="Quick question"),
)


def kind_of(index: int) -> Kind:
    return KINDS[index % len(KINDS)]


def message(body: bytes, mail_from: str, recipients: list[str], run_id: str, index: int) -> bytes:
    """Message ``index`` of a round: its kind's headers, To the recipients unless the kind
    sets To, then ``body`` (CRLF line ends, dot-stuffed already)."""
    kind = kind_of(index)
    headers = dict(kind.headers)
    headers.setdefault("To", ", ".join(recipients))
    headers.setdefault("Subject", f"sieve_ingest {index}")
    lines = [f"{name}: {value}" for name, value in headers.items()]
    lines += [
        f"Date: {formatdate(localtime=True)}",
        f"Message-ID: <{run_id}.{index}@bench.mailroom.test>",
        f"X-Mailroom-Bench: {run_id} {index} {kind.name}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body


FolderCounts = Counter[tuple[str, str]]
"""(folder, flag letters) -> messages."""


def expected_counts(indices: Iterable[int], per_message: int = 1) -> FolderCounts:
    """Where the script puts messages ``indices``: (folder, flags) -> count."""
    counts: FolderCounts = Counter()
    for index in indices:
        kind = kind_of(index)
        counts[(kind.folder, kind.flags)] += per_message
    return counts


def unfiltered_counts(indices: Iterable[int], per_message: int = 1) -> FolderCounts:
    """Where they land without a script: all in INBOX, no flags."""
    return Counter({("INBOX", ""): sum(per_message for _ in indices)})
