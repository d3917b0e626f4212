"""Sieve (RFC 5228 and its extensions): parse, validate and run members' filters.

A run returns actions (`mailroom.sieve.actions`); `delivery.local` carries them out.
This package writes no mail and opens no file: what it needs of the world comes in
through `mailroom.sieve.context`.
"""
