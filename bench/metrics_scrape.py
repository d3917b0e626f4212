"""What monitoring costs: a `/metrics` scrape of a host with two worker processes (each
asked for its samples over its link), and one count at the place where it happens.

    .venv/bin/python bench/metrics_scrape.py [--scrapes 200]

Starts the test suite's host (tests/support/mail_host.py: 127.0.0.1 only, a temporary
directory) with `[server] workers = 2`, an IMAPS and a web listener; prints the median
and 95th percentile of a scrape's time as a client sees it, the exposition's size, and
the time of one labelled counter increment.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: tests.support

from tests.support.mail_host import LISTENERS, start_host
from tests.web.conftest import ADMIN_SETTINGS, web_client

from mailroom.config.example import ListenerExample
from mailroom.metrics import AUTH_ATTEMPTS

HOST_LISTENERS = (
    *LISTENERS,
    ListenerExample("web", "web", 0, "implicit"),
    ListenerExample("imaps", "imap", 0, "implicit"),
)


async def scrapes(count: int, path: str) -> tuple[list[float], int]:
    times: list[float] = []
    size = 0
    with tempfile.TemporaryDirectory() as root:
        settings = {**ADMIN_SETTINGS, "# workers = 1": "workers = 2"}
        async for host in start_host(Path(root), settings, HOST_LISTENERS):
            async with web_client(host) as client:
                for _ in range(count):
                    began = time.perf_counter()
                    answer = await client.get(path)
                    times.append(time.perf_counter() - began)
                    size = len(answer.content)
                    assert answer.status_code == 200
    return times, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scrapes", type=int, default=200)
    arguments = parser.parse_args()
    for path in ("/healthz", "/metrics"):
        times, size = asyncio.run(scrapes(arguments.scrapes, path))
        times.sort()
        print(
            f"GET {path}, 2 workers: median {statistics.median(times) * 1000:.1f} ms, "
            f"p95 {times[int(len(times) * 0.95) - 1] * 1000:.1f} ms, {size} bytes"
        )
    child = AUTH_ATTEMPTS.labels("imap", "success")
    runs = 1_000_000
    each = timeit.timeit(child.inc, number=runs) / runs
    labelled = timeit.timeit(lambda: AUTH_ATTEMPTS.labels("imap", "success").inc(), number=runs)
    print(
        f"one count: {each * 1e9:.0f} ns (child kept), "
        f"{labelled / runs * 1e9:.0f} ns (labels looked up)"
    )


if __name__ == "__main__":
    main()
