"""Names a client chooses that become paths: IMAP folder names
(`mailroom.store.folder_names.FolderNames`, both hierarchy separators), ManageSieve
script names (`mailroom.store.sieve_scripts.script_name_problem`), and the LIST pattern
matching that selects folders (`mailroom.imap.listing.matches`, client's pattern).

The input is a name (UTF-8 as the client sends it; what is not UTF-8 is carried with
surrogateescape, as a name read from disk would be). Contract: a folder name is refused
with `FolderNameError`, or its path is the account's root (INBOX) or an immediate child
of it whose name starts with "."; the directory's name reads back as the normalized
name. A script name is refused or makes a file directly in the scripts directory.
`matches` answers for any pattern in time linear in name × pattern, and a valid name
matches itself and `*`. A crash: any other exception, a path outside its directory.
"""

from __future__ import annotations

from pathlib import Path

from mailroom.imap.listing import matches
from mailroom.store.folder_names import FolderNames
from mailroom.store.maildir import FolderNameError
from mailroom.store.sieve_scripts import script_name_problem

ROOT = Path("/srv/mail/example.org/alice/Maildir")
SCRIPTS = Path("/srv/mail/example.org/alice/sieve")
NAMES = ("INBOX", "INBOX.Sent", "Lists/Python", "Entwürfe", "a%b", "x" * 40)


def _folder(name: str, separator: str) -> None:
    names = FolderNames(separator)
    try:
        path = names.path(ROOT, name)
    except FolderNameError:
        return
    if path != ROOT:
        assert path.parent == ROOT and path.name.startswith(".") and "/" not in path.name
        assert path.name not in (".", ".."), name
        assert names.name(path.name) == names.normalize(name), (name, path.name)
    assert matches(names.normalize(name), names.normalize(name), separator), name
    assert matches(name, "*", separator), name


def one_input(data: bytes) -> None:
    name = data.decode("utf-8", "surrogateescape")
    for separator in (".", "/"):
        _folder(name, separator)
        for other in NAMES:
            matches(other, name, separator)
            matches(name, other, separator)
    if script_name_problem(name) is None:
        script = SCRIPTS / (name + ".sieve")
        assert script.parent == SCRIPTS and ".." not in script.parts, name
