"""The IMAP-style lexer that IMAP and ManageSieve share (RFC 9051 §4, RFC 5804 §4):
atoms, quoted strings, literals (`{n}`, `{n+}`; IMAP's literal8 `~{n}`), parenthesized
lists, and the `NeedLiteral` step by which a sans-I/O command reader asks its session
for a literal's octets.

`tokens` holds the token types and `TokenReader`, which reads the value types of both
grammars (atom, astring, string, nstring, number); `lexer` cuts a command's lines into
tokens within `LexerLimits`. Each protocol keeps its own grammar (tags, command names,
sequence sets, search keys…) on top. Pure: no sockets, clock or disk, and nothing of
mailroom but this package.
"""
