"""Tests of the SMTP grammar (commands, paths, replies, DATA) and, later, sessions."""
