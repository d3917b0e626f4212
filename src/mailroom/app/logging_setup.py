"""Where this process's log lines go, as `[log]` says: standard error, the local syslog
socket, or a remote syslog server over TLS; as text or JSON lines.

The syslog destinations never make the code that logs wait: the local socket is written
from a `QueueListener` thread, the remote server from its own (logging_remote.py).
Standard error is written directly, as before: a line there is one small write, and a
process that dies at start must leave its last words even if no thread runs any more.
"""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import os
import queue
import ssl
import sys

from mailroom.app.host_files import HostFileError
from mailroom.app.logging_format import LineStyle
from mailroom.app.logging_remote import remote_syslog_handler, syslog_tls_context
from mailroom.config import Config
from mailroom.config.log import LogDestination, LogFormat


class _LineFormatter(logging.Formatter):
    """Formats a record as `LineStyle.text` (one escaped line, or JSON)."""

    def __init__(self, style: LineStyle) -> None:
        super().__init__()
        self.style = style

    def format(self, record: logging.LogRecord) -> str:
        return self.style.text(record)


class _JsonStderrFormatter(_LineFormatter):
    def format(self, record: logging.LogRecord) -> str:
        return self.style.json_text(record)


class _State:
    """What configure_logging started last in this process, stopped when called again."""

    handler: logging.Handler | None = None
    listener: logging.handlers.QueueListener | None = None


def configure_logging(config: Config, *, process: str = "") -> None:
    """Send this process's log lines where `config.log` says; a worker's lines say which
    worker (`process`) and its pid. Calling it again replaces what an earlier call set
    (handlers others added to the root logger, e.g. pytest's, stay)."""
    settings = config.log
    stop_logging()
    style = LineStyle(config.hostname, process, json=settings.format is LogFormat.JSON)
    handler: logging.Handler
    if settings.destination is LogDestination.STDERR:
        handler = logging.StreamHandler(sys.stderr)
        if style.json:
            handler.setFormatter(_JsonStderrFormatter(style))
        else:
            where = f" [{process} %(process)d]" if process else ""
            handler.setFormatter(
                logging.Formatter(f"%(asctime)s %(levelname)s{where} %(name)s: %(message)s")
            )
    elif settings.destination is LogDestination.SYSLOG:
        handler = _through_thread(local_syslog_handler(config, style))
    else:
        host, port = settings.remote_host_port()
        handler = remote_syslog_handler(
            host,
            port,
            remote_tls_context(config),
            style,
            settings.facility_number,
            server_name=settings.remote_server_name,
            buffer_lines=settings.buffer_lines,
        )
    root = logging.getLogger()
    root.addHandler(handler)
    _State.handler = handler
    root.setLevel(settings.level.upper())
    # Alembic narrates every start ("Context impl SQLiteImpl"); only its problems matter.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.root.level))
    # uvicorn (the web listeners) says "Shutting down" and the like at every stop; the
    # host says what it starts and stops itself.
    logging.getLogger("uvicorn").setLevel(max(logging.WARNING, logging.root.level))


def remote_tls_context(config: Config) -> ssl.SSLContext:
    """The TLS context for the remote syslog server; HostFileError naming the key whose
    file cannot be read."""
    settings = config.log
    ca_file = config.resolve(settings.remote_ca_file) if settings.remote_ca_file else None
    try:
        context = syslog_tls_context(ca_file)
    except (OSError, ssl.SSLError) as error:
        raise HostFileError(
            f"[log] remote_ca_file {ca_file}: no CA certificates could be read from it "
            f"({_reason(error)}); set it in {config.source}"
        ) from None
    if settings.remote_certificate is not None and settings.remote_key is not None:
        certificate = config.resolve(settings.remote_certificate)
        key = config.resolve(settings.remote_key)
        try:
            context.load_cert_chain(certificate, key)
        except (OSError, ssl.SSLError) as error:
            raise HostFileError(
                f"[log] remote_certificate {certificate} with remote_key {key}: cannot be "
                f"loaded ({_reason(error)}); set them in {config.source}"
            ) from None
    return context


def _reason(error: OSError | ssl.SSLError) -> str:
    return str(getattr(error, "strerror", None) or error)


def local_syslog_handler(config: Config, style: LineStyle) -> logging.Handler:
    """The local syslog socket, traditional `<PRI>mailroom[PID]: line` datagrams (what
    /dev/log takes; rsyslog and journald add the time and host)."""
    socket_path = config.resolve(config.log.syslog_socket)
    handler = logging.handlers.SysLogHandler(str(socket_path), config.log.facility_number)
    handler.ident = f"mailroom[{os.getpid()}]: "
    handler.setFormatter(_LineFormatter(style))
    return handler


def _through_thread(handler: logging.Handler) -> logging.Handler:
    """A QueueHandler feeding `handler` from a QueueListener thread, stopped at exit."""
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = logging.handlers.QueueListener(records, handler, respect_handler_level=False)
    listener.start()
    _State.listener = listener
    atexit.register(_stop_listener)
    return logging.handlers.QueueHandler(records)


def _stop_listener() -> None:
    """Let the thread write what is queued, then close its handler (once)."""
    listener, _State.listener = _State.listener, None
    if listener is not None:
        listener.stop()
        for handler in listener.handlers:
            handler.close()


def stop_logging() -> None:
    """Take away what configure_logging installed: its handler leaves the root logger,
    a syslog thread writes what it holds (a remote one within a few seconds) and ends."""
    handler, _State.handler = _State.handler, None
    if handler is not None:
        logging.getLogger().removeHandler(handler)
        handler.close()
    _stop_listener()
