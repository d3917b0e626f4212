"""How many messages per second the queue makes durable, with and without group commit.

    .venv/bin/python bench/queue_commit.py [--messages 2000] [--concurrency 50] [--dir /var/tmp]

Commits N messages of 4 KiB from C sessions at once into a fresh queue in a
temporary directory (put it on the disk the real queue will use: a tmpfs
makes fsync free and the comparison meaningless), first with one full fsync
chain per message (file, envelope, rename, directory; in threads, as a
straightforward implementation would), then with group commit. Prints the
rates; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from mailroom.queue import Envelope, EnvelopeRecipient, MailQueue

MESSAGE = (b"Subject: bench\r\n\r\n" + b"x" * 78 + b"\r\n") * 51  # about 4 KiB


async def run(directory: Path, *, messages: int, concurrency: int, group_commit: bool) -> float:
    """Commits per second."""
    envelope = Envelope(
        sender="bench@example.org",
        recipients=(EnvelopeRecipient("rcpt@example.net", "rcpt@example.net"),),
        received_at=time.time(),
    )
    async with MailQueue(directory, group_commit=group_commit) as queue:
        remaining = messages

        async def session() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                async with await queue.receive(envelope) as writer:
                    await writer.write(MESSAGE)
                    await writer.commit()

        started = time.perf_counter()
        await asyncio.gather(*(session() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        batches = queue.committer.batches
    if group_commit:
        print(f"  ({batches} directory fsyncs for {messages} messages)")
    return messages / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--dir", type=Path, default=None, help="where to make the temporary queue")
    options = parser.parse_args()
    print(
        f"{options.messages} messages of {len(MESSAGE)} bytes, "
        f"{options.concurrency} sessions at once"
    )
    with tempfile.TemporaryDirectory(dir=options.dir, prefix="mailroom-bench-") as scratch:
        naive = await run(
            Path(scratch) / "naive",
            messages=options.messages,
            concurrency=options.concurrency,
            group_commit=False,
        )
        print(f"one fsync chain per message: {naive:8.0f} commits/s")
        grouped = await run(
            Path(scratch) / "grouped",
            messages=options.messages,
            concurrency=options.concurrency,
            group_commit=True,
        )
        print(f"group commit:                {grouped:8.0f} commits/s  ({grouped / naive:.1f}x)")


if __name__ == "__main__":
    asyncio.run(main())
