"""Loopback targets only: the benchmarks are load generators, so every server they are
pointed at must be on this machine (127.0.0.0/8, ::1, or a name that resolves only to
those). Shared by imap_bench.py, pop3_bench.py and smtp_ingest.py."""

from __future__ import annotations

import argparse
import ipaddress
import socket


def is_loopback(host: str) -> bool:
    """Whether every address `host` resolves to is a loopback address."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


def require_loopback(host: str, where: str) -> None:
    """argparse.ArgumentTypeError, naming `where` the host was given, unless it is loopback."""
    if not is_loopback(host):
        raise argparse.ArgumentTypeError(
            f"{where}: {host} is not a loopback address; this load generator only "
            "talks to this machine (127.0.0.0/8, ::1, localhost)"
        )


def host_and_port(address: str) -> tuple[str, int] | None:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) split; None if it is not that shape."""
    host, _, port_text = address.rpartition(":")
    host = host.strip("[]")
    if not host or not port_text.isdigit():
        return None
    return host, int(port_text)
