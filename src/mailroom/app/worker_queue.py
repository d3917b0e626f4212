"""The queue with worker processes: one owner (the main process), many writers.

With `[server] workers` > 1 the workers serve SMTP too. A worker delivers a message for
local accounts at once from memory, as the main process does; what must wait in the
queue (remote recipients, temporary local failures, a message larger than the writer's
buffer, Sieve's redirects and vacation replies) it commits into the host's one queue
directory itself, with the same fsyncs before its 250 (queue/writer.py), under an id
only it makes (its process slot, queue/ids.py: worker N's is N + 1). Then it hands the
id over: a `queued` frame on its link, and the main process adopts the message
(`MailQueue.adopt`, reading it as recovery does) and delivers it.

The frame leaves before the 250 is written (it is sent as the commit returns), so a
worker killed after its 250 has told the main process already; should a frame be lost
anyway (the link full or broken), the main process looks in active/ for the messages
of a worker that ended (`adopt_left_behind`, its slot's ids), and its start-up recovery
finds everything in active/.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Coroutine
from typing import Any

from mailroom.ipc import Link, Message
from mailroom.queue import MailQueue, is_queue_id, queue_id_slot

log = logging.getLogger("mailroom.queue")

QUEUED = "queued"
"""The kind of the frame a worker sends for each message it committed to the queue."""


def worker_slot(index: int) -> int:
    """The process slot of worker `index` in queue ids (the main process's is 0)."""
    return index + 1


def queued_frame(queue_id: str) -> Message:
    return {"k": QUEUED, "q": queue_id}


def parse_queued(message: Message) -> str:
    """The queue id of a queued frame; ValueError if it is not one."""
    queue_id = message.get("q")
    if not isinstance(queue_id, str) or not is_queue_id(queue_id):
        raise ValueError("a queued frame needs a queue id")
    return queue_id


def hand_over(link: Link) -> Callable[[str], None]:
    """A worker's `MailQueue.open_for_writing` hook: tell the main process."""

    def tell(queue_id: str) -> None:
        if not link.send(queued_frame(queue_id)):
            log.warning(
                "%s: committed, but the main process was not told; "
                "it finds the message when this worker ends, or at its next start",
                queue_id,
            )

    return tell


class QueueAdoption:
    """The main process's side: adopts what its workers commit."""

    def __init__(self, queue: MailQueue) -> None:
        self.queue = queue
        self._tasks: set[asyncio.Task[object]] = set()

    def on_queued(self, message: Message) -> None:
        """A worker's queued frame (a link's one-way handler)."""
        try:
            queue_id = parse_queued(message)
        except ValueError as error:
            log.warning("a worker's frame: %s", error)
            return
        self._start(self.queue.adopt(queue_id))

    def worker_ended(self, index: int) -> None:
        """Adopt what worker `index` committed and could not tell (it ended)."""
        self._start(adopt_left_behind(self.queue, worker_slot(index)))

    def _start(self, work: Coroutine[Any, Any, object]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[object]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("adopting a worker's message failed: %s", task.exception())


async def adopt_left_behind(queue: MailQueue, slot: int) -> int:
    """Adopt every message in active/ whose id has `slot` (a worker's that ended); how
    many were not known yet."""
    names = await asyncio.to_thread(_envelope_ids, queue)
    adopted = 0
    for queue_id in names:
        if queue_id_slot(queue_id) != slot or await queue.get(queue_id) is not None:
            continue
        if await queue.adopt(queue_id) is not None:
            adopted += 1
            log.warning("%s: adopted after its worker ended", queue_id)
    return adopted


def _envelope_ids(queue: MailQueue) -> list[str]:
    try:
        names = os.listdir(queue.active)
    except FileNotFoundError:
        return []
    return sorted(
        name[: -len(".env")]
        for name in names
        if name.endswith(".env") and is_queue_id(name[: -len(".env")])
    )
