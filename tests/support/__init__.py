"""What tests share beyond one directory: line-level clients (SMTP, IMAP, POP3), a whole
Mailroom host on loopback and its outside world (DNS, MX, MTA-STS policy server, a
certificate authority), test databases, the CLI's installation, stand-in messages and
password hashes.

Test modules and conftest files import helpers from here, never from each other: a
conftest file holds only fixtures and hooks (it is pytest's plugin file), and a test
module only its tests. Nothing here is collected as a test or defines a fixture."""
