"""Mailroom: one Python program that runs a community organisation's whole mail host."""

__version__ = "0.1.0"
