"""An account's Sieve scripts in Pigeonhole's layout, written for a test as a Dovecot host
leaves them: `HOME/sieve/NAME.sieve` per script and the relative link
`HOME/.dovecot.sieve -> sieve/NAME.sieve` to the active one; with `compiled=True` also the
binaries Dovecot's own compiler writes beside them (Debian's `sievec`, package
dovecot-sieve): `sieve/NAME.svbin` for each script and `.dovecot.svbin` for the active
one, as Dovecot's delivery does at the first message. Mailroom must find the same active
script and leave the `.svbin` files alone (issue #15, "Done when").

`sievec` reads no system configuration here (`-c /dev/null`), so /etc/dovecot cannot change
which extensions it knows: Pigeonhole's defaults, plus any named in `extensions` (e.g.
"editheader", "vacation-seconds", off by default). A script sievec refuses raises
SievecRefused with its messages (which name the line).

`sievec()` finds sievec (.ci/run installs it); a missing sievec fails the test with a hint.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.support.required import required_tool

SIEVEC_TIMEOUT_S = 60.0
SVBIN_MAGIC = b"\xbe\xba\xfe\xca"
"""The first four octets of a Pigeonhole binary (0xcafebabe, little-endian)."""
ACTIVE_LINK = ".dovecot.sieve"
SCRIPT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._ -]{0,127}")
"""Names a test may give: a file name, never a path (ManageSieve allows more)."""


class SievecRefused(Exception):
    """sievec would not compile a script; the message is sievec's output."""


@dataclass(frozen=True)
class SieveLayout:
    """Where the scripts of one account's home are."""

    home: Path

    @property
    def scripts(self) -> Path:
        return self.home / "sieve"

    @property
    def active_link(self) -> Path:
        return self.home / ACTIVE_LINK

    def script(self, name: str) -> Path:
        return self.scripts / f"{name}.sieve"

    def binary(self, name: str) -> Path:
        """What sievec makes of `script(name)`."""
        return self.scripts / f"{name}.svbin"

    @property
    def active_binary(self) -> Path:
        """What Dovecot's delivery (and sievec) makes of the active link."""
        return self.home / ".dovecot.svbin"


def sievec() -> str:
    """The path of sievec; its absence fails the test (tests/support/required.py)."""
    return required_tool("sievec", "dovecot-sieve")


def write_sieve_layout(
    home: Path,
    scripts: Mapping[str, str | bytes],
    active: str | None = None,
    *,
    compiled: bool = False,
    extensions: Iterable[str] = (),
) -> SieveLayout:
    """Write `scripts` (name -> source) below `home`, link the `active` one, and with
    `compiled` run sievec on each script and on the link. Existing files are replaced."""
    layout = SieveLayout(home)
    if active is not None and active not in scripts:
        raise ValueError(f"the active script {active!r} is not among {sorted(scripts)}")
    layout.scripts.mkdir(parents=True, exist_ok=True)
    for name, source in scripts.items():
        if not SCRIPT_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a script name for a test")
        data = source.encode("utf-8") if isinstance(source, str) else source
        layout.script(name).write_bytes(data)
    if layout.active_link.is_symlink() or layout.active_link.exists():
        layout.active_link.unlink()
    if active is not None:
        # Relative, as Pigeonhole and ManageSieve make it: the home may move.
        layout.active_link.symlink_to(Path("sieve") / f"{active}.sieve")
    if compiled:
        wanted = tuple(extensions)
        for name in scripts:
            compile_with_sievec(layout.script(name), layout.binary(name), wanted)
        if active is not None:
            compile_with_sievec(layout.active_link, layout.active_binary, wanted)
    return layout


def compile_with_sievec(script: Path, binary: Path, extensions: Iterable[str] = ()) -> Path:
    """`sievec script binary`, as Dovecot would compile it; SievecRefused if it refuses."""
    command = [sievec(), "-c", "/dev/null"]
    enabled = " ".join(f"+{name}" for name in extensions)
    if enabled:
        command += ["-x", enabled]
    result = subprocess.run(
        [*command, str(script), str(binary)],
        capture_output=True,
        text=True,
        timeout=SIEVEC_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        raise SievecRefused((result.stdout + result.stderr).strip())
    return binary
