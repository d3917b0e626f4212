"""`mailroom init --systemd`: a unit that starts this venv's `mailroom serve` with the
installation's config as the service user, with CAP_NET_BIND_SERVICE only, and the
hardening the README promises; `systemd-analyze verify` accepts it where it exists."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.installation import Installation, invoke, make_installation
from tests.support.required import required_tool


def unit_settings(text: str) -> dict[str, str]:
    """Each `Key=value` line of the unit (a key given twice keeps the last)."""
    return dict(
        line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#")
    )


def test_init_systemd_for_an_existing_installation_writes_the_unit(
    installation: Installation,
) -> None:
    text = installation.config.read_text()
    installation.config.write_text(
        text.replace('# user = "mailroom"  # example; default: none', 'user = "nobody"', 1)
    )
    outcome = invoke("init", str(installation.root), "--systemd")
    assert outcome.returncode == 0, outcome.stderr
    unit = installation.root / "mailroom.service"
    settings = unit_settings(unit.read_text())
    mailroom = Path(sys.executable).parent / "mailroom"
    assert settings["ExecStart"] == f"{mailroom} serve -c {installation.config.resolve()}"
    assert settings["User"] == "nobody"
    assert settings["Group"] == "nobody"
    assert settings["AmbientCapabilities"] == "CAP_NET_BIND_SERVICE"
    assert settings["CapabilityBoundingSet"] == "CAP_NET_BIND_SERVICE"
    assert settings["NoNewPrivileges"] == "yes"
    assert settings["ProtectSystem"] == "strict"
    # The SQLite file's folder (init puts it beside the config), which holds data/.
    assert settings["ReadWritePaths"].split() == [str(installation.root.resolve())]
    assert settings["PrivateTmp"] == "yes"
    assert int(settings["LimitNOFILE"]) >= 65536
    assert settings["Restart"] == "on-failure"
    assert settings["WantedBy"] == "multi-user.target"


def test_init_systemd_makes_maildirs_under_home_writable(installation: Installation) -> None:
    text = installation.config.read_text()
    installation.config.write_text(
        text.replace(
            '# path_template = "mail/%d/%n/Maildir"', 'path_template = "/home/%n/Maildir"', 1
        )
    )
    assert invoke("init", str(installation.root), "--systemd").returncode == 0
    settings = unit_settings((installation.root / "mailroom.service").read_text())
    assert "/home" in settings["ReadWritePaths"].split()
    assert "ProtectHome" not in settings


def test_init_systemd_does_not_overwrite_a_unit(installation: Installation) -> None:
    assert invoke("init", str(installation.root), "--systemd").returncode == 0
    again = invoke("init", str(installation.root), "--systemd")
    assert again.returncode == 1
    assert "mailroom.service already exists; nothing was changed" in again.stderr


def test_a_new_installation_with_systemd_gets_config_and_unit(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    outcome = invoke("init", str(root), "--systemd", "--demo")
    assert outcome.returncode == 0, outcome.stderr
    assert (root / "mailroom.toml").exists()
    assert unit_settings((root / "mailroom.service").read_text())["User"] == "mailroom"


def test_systemd_analyze_verifies_the_unit(installation: Installation) -> None:
    assert invoke("init", str(installation.root), "--systemd").returncode == 0
    result = subprocess.run(
        [
            required_tool("systemd-analyze", "systemd"),
            "verify",
            str(installation.root / "mailroom.service"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # Warnings about this machine (no systemd running here) are not about the unit.
    assert "mailroom.service:" not in result.stderr, result.stderr


def test_paths_with_spaces_and_percent_signs_survive_the_unit_syntax(tmp_path: Path) -> None:
    installation = make_installation(tmp_path / "mail room 100%")
    assert invoke("init", str(installation.root), "--systemd").returncode == 0
    unit = installation.root / "mailroom.service"
    settings = unit_settings(unit.read_text())
    config = str(installation.config.resolve()).replace("%", "%%")
    assert settings["ExecStart"].endswith(f' serve -c "{config}"')
    result = subprocess.run(
        [required_tool("systemd-analyze", "systemd"), "verify", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "mailroom.service:" not in result.stderr, result.stderr
