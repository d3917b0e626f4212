"""Moved to tests/support/server_process.py; this re-export remains until tests/imap
imports from there."""

from tests.support.server_process import prepare_host, start_server  # noqa: F401
