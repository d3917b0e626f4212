"""`mailroom check`: a Nagios/NRPE plugin (the legacy host's monitor called NRPE's
check_* plugins): listeners, queue, certificates, disk, directory, in one status line
with perfdata, and the plugin's exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.

Whatever goes wrong in the plugin itself (an unreadable config, a wrong option) is
UNKNOWN, never a traceback's exit 1 (which Nagios would read as WARNING) nor click's
usage-error exit 2 (CRITICAL): https://nagios-plugins.org/doc/guidelines.html.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Annotated, Any, NoReturn

import typer
from typer._click.core import Context
from typer._click.exceptions import UsageError
from typer.core import TyperCommand

from mailroom.app.health import HealthCheck, HealthReport, Status, Thresholds
from mailroom.cli.command import ConfigOption, load, single_command
from mailroom.config import ConfigError

DEFAULTS = Thresholds()


class PluginUsageError(UsageError):
    exit_code = Status.UNKNOWN.value


class PluginCommand(TyperCommand):
    """A wrong option is UNKNOWN (3) for a plugin, not click's usage error (2). (Typer
    carries its own click, `typer._click`: its errors are of that module's classes.)"""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except UsageError as error:
            raise PluginUsageError(error.message, error.ctx) from None


def _option(help_text: str, name: str) -> Any:
    return typer.Option(f"--{name}", help=help_text)


def check(
    config: ConfigOption = None,
    queue_warning: Annotated[
        int, _option("Messages in the queue above which it warns.", "queue-warning")
    ] = DEFAULTS.queue_warning,
    queue_critical: Annotated[
        int, _option("Messages in the queue above which it is critical.", "queue-critical")
    ] = DEFAULTS.queue_critical,
    age_warning: Annotated[
        float,
        _option("Minutes the oldest waiting message may wait before a warning.", "age-warning"),
    ] = DEFAULTS.age_warning_seconds / 60,
    age_critical: Annotated[
        float, _option("Minutes the oldest waiting message may wait at most.", "age-critical")
    ] = DEFAULTS.age_critical_seconds / 60,
    certificate_warning: Annotated[
        float,
        _option("Days of validity left below which a certificate warns.", "certificate-warning"),
    ] = DEFAULTS.certificate_warning_days,
    certificate_critical: Annotated[
        float,
        _option("Days left below which a certificate is critical.", "certificate-critical"),
    ] = DEFAULTS.certificate_critical_days,
    disk_warning: Annotated[
        float,
        _option("Percent free (space, inodes) of data_dir below which it warns.", "disk-warning"),
    ] = DEFAULTS.disk_warning_percent,
    disk_critical: Annotated[
        float, _option("Percent free of data_dir below which it is critical.", "disk-critical")
    ] = DEFAULTS.disk_critical_percent,
    timeout: Annotated[
        float, _option("Seconds a listener or the directory may take to answer.", "timeout")
    ] = DEFAULTS.connect_timeout_seconds,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="After the status line, one line per check.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="The findings as JSON instead (exit code the same).")
    ] = False,
) -> None:
    """Check the host as a Nagios/NRPE plugin: every listener accepts a connection, the
    queue's size and its oldest message's age, the TLS certificates' expiry, data_dir's
    free space and inodes, the directory's database. Prints `MAILROOM OK - ... | perfdata`
    and exits 0 (OK), 1 (WARNING), 2 (CRITICAL) or 3 (UNKNOWN)."""
    try:
        thresholds = Thresholds(
            queue_warning=queue_warning,
            queue_critical=queue_critical,
            age_warning_seconds=age_warning * 60,
            age_critical_seconds=age_critical * 60,
            certificate_warning_days=certificate_warning,
            certificate_critical_days=certificate_critical,
            disk_warning_percent=disk_warning,
            disk_critical_percent=disk_critical,
            connect_timeout_seconds=timeout,
        )
        refusal = _inconsistent(thresholds)
        if refusal is not None:
            _finish(f"MAILROOM UNKNOWN - {refusal}", Status.UNKNOWN)
        report = asyncio.run(HealthCheck(load(config), thresholds)())
    except ConfigError as error:
        _finish(f"MAILROOM UNKNOWN - {_one_line(str(error))}", Status.UNKNOWN)
    except (typer.Exit, SystemExit):
        raise
    except Exception as error:
        _finish(f"MAILROOM UNKNOWN - check failed: {_one_line(repr(error))}", Status.UNKNOWN)
    _print(report, verbose=verbose, as_json=as_json)


def _inconsistent(thresholds: Thresholds) -> str | None:
    pairs = (
        ("queue", thresholds.queue_warning, thresholds.queue_critical, True),
        ("age", thresholds.age_warning_seconds, thresholds.age_critical_seconds, True),
        (
            "certificate",
            thresholds.certificate_warning_days,
            thresholds.certificate_critical_days,
            False,
        ),
        ("disk", thresholds.disk_warning_percent, thresholds.disk_critical_percent, False),
    )
    for name, warning, critical, above in pairs:
        if (warning > critical) if above else (warning < critical):
            way = "above" if above else "below"
            return f"--{name}-warning must not be {way} --{name}-critical"
    if thresholds.connect_timeout_seconds <= 0:
        return "--timeout must be more than 0"
    return None


def _print(report: HealthReport, *, verbose: bool, as_json: bool) -> NoReturn:
    if as_json:
        _finish(json.dumps(report.as_dict()), report.status)
    lines = [report.status_line()]
    if verbose:
        lines += report.details()
    _finish("\n".join(lines), report.status)


def _one_line(text: str) -> str:
    return " ".join(text.replace("|", " ").split())


def _finish(text: str, status: Status) -> NoReturn:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
    raise typer.Exit(status.value)


app = single_command("check", check, cls=PluginCommand)
