"""Transitional: `QueueAdministration` moved to `mailroom.control.administration`, so that
delivery no longer imports control (DESIGN.md: delivery may use routing, queue, store,
mailauth, dns). This module only keeps `app.py` and `cli/queue.py` importing until they
import from the new place; then delete it."""

from mailroom.control.administration import NOT_QUEUED, QueueAdministration

__all__ = ["NOT_QUEUED", "QueueAdministration"]
