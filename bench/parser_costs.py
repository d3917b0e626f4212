"""What hostile input costs the parsers: each pathological case at size n and 2n.

These were time limits inside tests (tests/message/test_properties.py, tests/imap/
test_ordering.py: "finishes within 10 s"), which a loaded CI machine can break and a
fast one cannot fail honestly. The tests keep the inputs and check the results (a hang
still fails them, by pytest-timeout); the cost is measured here. A linear parser shows a
ratio near 2.0 between 2n and n; quadratic behaviour shows near 4.0.

Usage: ``python bench/parser_costs.py [--rounds 3] [--scale 1.0]``. Prints, per case, the
median seconds at n and 2n and their ratio. No server, no disk.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from mailroom.imap.ordering import extract_base_subject
from mailroom.message import decode_header, parse_addresses, parse_message, search_text
from mailroom.message.parameters import parse_header_parameters


def walk_bounds(data: bytes) -> None:
    for part in parse_message(data).walk():
        _ = part.fields


def deep_multipart(n: int) -> None:
    walk_bounds(
        b"".join(
            b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
            for i in range(n // 20)
        )
        + b"\r\nend\r\n"
    )


def huge_header(n: int) -> None:
    huge = b"Subject: " + b"a" * (n * 20) + b"\r\nTo: " + b"b@c, " * (n // 2) + b"\r\n\r\n"
    walk_bounds(huge)
    parse_addresses(parse_message(huge).header("To") or b"")


def addresses(n: int) -> None:
    parse_addresses(b"<x>" + b":" * (n * 2))
    parse_addresses(b"a <b@c>, " * n)


def parameters(n: int) -> None:
    parse_header_parameters(b"x; " + b"a;" * (n * 5) + b"b=c")


def html_text(n: int) -> None:
    html = b"Content-Type: text/html\r\n\r\n" + b"<script>" * n + b"<!--" * n
    search_text(html, limit=1_000_000)


def encoded_words(n: int) -> None:
    decode_header(b"=?utf-8?q?a?= " * n)


def base_subject(subject: str) -> str:
    return extract_base_subject(subject).text


def subjects(n: int) -> None:
    base_subject("[x]" * n)
    base_subject("Re: [a] " * (n // 2) + "x")
    base_subject("x" + " (fwd)" * (n // 2))
    base_subject("[fwd: " * (n // 5) + "x" + "]" * (n // 5))


CASES: dict[str, Callable[[int], None]] = {
    "multipart nested n/20 deep": deep_multipart,
    "20n-byte header line, n/2 addresses": huge_header,
    "addresses: 2n colons, n mailboxes": addresses,
    "header parameters: 5n": parameters,
    "html to text: n tags, n comments": html_text,
    "encoded words: n": encoded_words,
    "IMAP base subject: n": subjects,
}


def timed(case: Callable[[int], None], n: int, rounds: int) -> float:
    seconds = []
    for _ in range(rounds):
        started = time.perf_counter()
        case(n)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="median of this many runs")
    parser.add_argument("--scale", type=float, default=1.0, help="n = 100,000 x scale")
    args = parser.parse_args()
    n = int(100_000 * args.scale)
    print(f"n = {n:,}; median of {args.rounds} rounds")
    print(f"{'case':40} {'n (s)':>8} {'2n (s)':>8} {'ratio':>6}")
    for name, case in CASES.items():
        single, double = timed(case, n, args.rounds), timed(case, 2 * n, args.rounds)
        print(f"{name:40} {single:8.3f} {double:8.3f} {double / max(single, 1e-9):6.2f}")


if __name__ == "__main__":
    main()
