"""The commented example config that `mailroom init` writes, filled in for one host."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files


@dataclass(frozen=True)
class ListenerExample:
    name: str
    protocol: str
    port: int
    tls: str


# The demo's ports (`make run`): the standard ones shifted above 1024, so no root is needed.
# `mailroom init` writes the listeners of protocols this version has as active, the
# others (none today) as comments.
DEMO_LISTENERS = (
    ListenerExample("smtp", "smtp", 2525, "starttls"),
    ListenerExample("submission", "submission", 2587, "starttls"),
    ListenerExample("smtps", "submission", 2465, "implicit"),
    ListenerExample("imap", "imap", 2143, "starttls"),
    ListenerExample("imaps", "imap", 2993, "implicit"),
    ListenerExample("pop3", "pop3", 2110, "starttls"),
    ListenerExample("pop3s", "pop3", 2995, "implicit"),
    ListenerExample("managesieve", "managesieve", 4190, "starttls"),
    ListenerExample("web", "web", 8080, "implicit"),
)

STANDARD_LISTENERS = (
    ListenerExample("smtp", "smtp", 25, "starttls"),
    ListenerExample("submission", "submission", 587, "starttls"),
    ListenerExample("smtps", "submission", 465, "implicit"),
    ListenerExample("imap", "imap", 143, "starttls"),
    ListenerExample("imaps", "imap", 993, "implicit"),
    ListenerExample("pop3", "pop3", 110, "starttls"),
    ListenerExample("pop3s", "pop3", 995, "implicit"),
    ListenerExample("managesieve", "managesieve", 4190, "starttls"),
    ListenerExample("web", "web", 8443, "implicit"),
)


DEFAULT_DIRECTORY_LINE = 'url = "sqlite:///directory.sqlite3"'


COMING_NOTE = (
    "# Not in this version yet (`mailroom serve` refuses a listener for it): uncomment\n"
    "# when it is.\n"
)


def listener_block(listener: ListenerExample, shown_host: str) -> str:
    return (
        f'[[listeners]]\nname = "{listener.name}"\nprotocol = "{listener.protocol}"\n'
        f'address = "{shown_host}:{listener.port}"\ntls = "{listener.tls}"\n'
    )


def example_config_text(
    hostname: str,
    listeners: tuple[ListenerExample, ...],
    host: str,
    directory_url: str | None = None,
    coming: tuple[ListenerExample, ...] = (),
) -> str:
    """The example config with `hostname`, active listeners on `host` (e.g. 127.0.0.1),
    the `coming` ones (protocols not built yet) as comments, and, if given, the
    directory at `directory_url` instead of the SQLite file."""
    template = (files("mailroom.config") / "example.toml").read_text(encoding="utf-8")
    shown_host = f"[{host}]" if ":" in host else host
    blocks = [listener_block(listener, shown_host) for listener in listeners]
    blocks += [
        COMING_NOTE
        + "".join(f"# {line}\n" for line in listener_block(listener, shown_host).splitlines())
        for listener in coming
    ]
    text = template.replace("@@HOSTNAME@@", hostname).replace("@@LISTENERS@@", "\n".join(blocks))
    if directory_url is not None:
        quoted = directory_url.replace("\\", "\\\\").replace('"', '\\"')
        text = text.replace(DEFAULT_DIRECTORY_LINE, f'url = "{quoted}"', 1)
    return text
