"""IMAP: grammar, sessions, commands."""
