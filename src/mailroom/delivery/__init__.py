"""Delivery agents: `local` (into Maildirs) now; `remote` (SMTP to other hosts) later.

An agent takes one message and one recipient and says what happened; the
queue's dispatcher turns that into the recipient's new state.
"""

from mailroom.delivery.local import LocalDelivery, LocalResult, LocalStatus

__all__ = ["LocalDelivery", "LocalResult", "LocalStatus"]
