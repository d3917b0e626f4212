"""Messages between the processes of one host (the main process and its IMAP/POP3
workers): a line of JSON each, over a connected Unix socket pair. Knows no service:
the event hub (store) and the remote throttle (auth) say what their messages mean."""

from mailroom.ipc.codec import MAX_MESSAGE, Decoder, FrameError, Message, encode
from mailroom.ipc.link import Link, LinkClosed

__all__ = ["MAX_MESSAGE", "Decoder", "FrameError", "Link", "LinkClosed", "Message", "encode"]
