"""How long the switch-over takes: `mailroom import legacy` of a synthetic legacy host,
the index build of every folder (`--index`), and the first SELECT of a big folder before
and after it, over IMAP against a running Mailroom.

What it does, in a scratch directory under /tmp (removed at the end unless --keep) and a
MariaDB database on 127.0.0.1 (dropped at the end):
1. `legacy_host_fill.fill_host`: ACCOUNTS accounts and MESSAGES messages in Maildirs with
   `dovecot-uidlist`, the legacy MySQL tables, /etc/aliases and the transport map; the
   account `big` has a BIG_FOLDER-message INBOX;
2. a Mailroom from this checkout (`mailroom init`, a config serving the legacy Maildirs
   in place with bare user names, one IMAP listener on a free 127.0.0.1 port);
3. the import, as an administrator runs it (the CLI, a new process each time): the
   first run (everything created), a second run (nothing changed: the cost of checking),
   then a run with `--index` (the second run's work plus every folder's index);
4. the first SELECT of big's INBOX with no index (ROUNDS times: index deleted, server
   started, LOGIN, SELECT timed, server stopped), then with the index `--index` built
   (ROUNDS times: server started, LOGIN, SELECT timed, server stopped).
Times are wall-clock seconds; the import's include the CLI's start-up (a few seconds on a
loaded machine: `mailroom domain list` is timed too, as the floor). Medians of ROUNDS.

    python bench/legacy_import.py --accounts 100 --messages 10000 --big-folder 2000
    python bench/legacy_import.py            # the full scale: 10,000 / 1,000,000 / 100,000
"""

from __future__ import annotations

import argparse
import imaplib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import imap_mailroom  # the bench directory is not a package: imported by path
import legacy_host_fill

IMPORT_TIMEOUT_S = 3600.0
SELECT_TIMEOUT_S = 1800.0
PASSWORD = "secret"  # noqa: S105 - the legacy documentation's example password


BEGAN = time.perf_counter()


def note(text: str) -> None:
    """A line of progress, with the minutes since the start."""
    print(f"[{(time.perf_counter() - BEGAN) / 60:5.1f} min] {text}", flush=True)


def run_timed(command: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(  # noqa: S603 - our own venv's entry point, fixed arguments
        command, capture_output=True, text=True, timeout=IMPORT_TIMEOUT_S, check=False
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])}…: exit {result.returncode}\n{result.stderr}")
    return elapsed, result.stdout


def summary_line(output: str, start: str) -> str:
    return next((line for line in output.splitlines() if line.startswith(start)), "")


def write_config(directory: Path, host: legacy_host_fill.LegacyHost, port: int) -> Path:
    config = directory / "mailroom.toml"
    text = imap_mailroom.config_text(port, 10)
    text += (
        "\n[auth]\n"
        f'default_domain = "{legacy_host_fill.DOMAIN}"\n'
        "\n[mailbox]\n"
        f'path_template = "{host.maildirs}"\n'
    )
    config.write_text(text)
    return config


def first_select(command: Path, directory: Path, config: Path, port: int) -> tuple[float, int]:
    """Start the server, log in as `big`, time SELECT INBOX; the seconds and EXISTS."""
    running = imap_mailroom.serve(command, directory, config, port)
    note("server started")
    try:
        client = imaplib.IMAP4("127.0.0.1", port, timeout=SELECT_TIMEOUT_S)
        try:
            client.login(legacy_host_fill.BIG, PASSWORD)
            started = time.perf_counter()
            status, data = client.select("INBOX", readonly=False)
            elapsed = time.perf_counter() - started
            if status != "OK":
                raise SystemExit(f"SELECT INBOX: {status} {data}")
            exists = int(data[0] or 0)
        finally:
            client.logout()
    finally:
        imap_mailroom.stop(running, keep_dir=True)
    return elapsed, exists


def drop_index(folder: Path) -> None:
    for path in folder.glob("mailroom-index.sqlite*"):
        path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--big-folder", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mysql", default="mysql://root@127.0.0.1:3306")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    command = imap_mailroom.mailroom_command()
    scratch = Path(tempfile.mkdtemp(prefix="mailroom-legacy-bench-", dir="/tmp"))
    database = f"mailroom_bench_legacy_{os.getpid()}"
    figures: dict[str, object] = {
        "accounts": args.accounts,
        "messages": args.messages,
        "big_folder": args.big_folder,
        "rounds": args.rounds,
    }
    try:
        started = time.perf_counter()
        host = legacy_host_fill.fill_host(
            scratch / "legacy", args.accounts, args.messages, args.big_folder, args.mysql, database
        )
        figures["fill_s"] = round(time.perf_counter() - started, 1)
        note(f"synthetic host made in {figures['fill_s']} s ({scratch})")

        directory = scratch / "mailroom"
        init = [str(command), "init", str(directory), "--hostname", "bench.mailroom.test"]
        run_timed(init)
        port = imap_mailroom.free_loopback_port()
        config = write_config(directory, host, port)
        cli = [str(command), "-c", str(config)]

        figures["cli_floor_s"] = round(run_timed([*cli, "domain", "list"])[0], 2)
        seconds, output = run_timed([*cli, *host.import_args()])
        figures["import_first_s"] = round(seconds, 2)
        note(f"import, first run: {seconds:.1f} s: {summary_line(output, 'Imported')}")
        seconds, output = run_timed([*cli, *host.import_args()])
        figures["import_again_s"] = round(seconds, 2)
        note(f"import, second run: {seconds:.1f} s: {summary_line(output, 'Nothing to do')}")

        big = Path(host.maildirs.replace("%n", legacy_host_fill.BIG))
        before: list[float] = []
        for _ in range(args.rounds):
            drop_index(big)
            seconds, exists = first_select(command, directory, config, port)
            before.append(seconds)
            note(f"first SELECT without an index: {seconds:.2f} s ({exists} messages)")
        drop_index(big)

        seconds, output = run_timed([*cli, *host.import_args(), "--index"])
        figures["import_index_s"] = round(seconds, 2)
        note(f"import --index: {seconds:.1f} s: {summary_line(output, 'Indexed')}")
        after: list[float] = []
        for _ in range(args.rounds):
            seconds, exists = first_select(command, directory, config, port)
            after.append(seconds)
            note(f"first SELECT after --index: {seconds:.3f} s ({exists} messages)")
        figures["select_before_s"] = [round(x, 3) for x in before]
        figures["select_after_s"] = [round(x, 3) for x in after]
        figures["select_before_median_s"] = round(statistics.median(before), 3)
        figures["select_after_median_s"] = round(statistics.median(after), 3)
        figures["index_build_s"] = round(
            float(figures["import_index_s"]) - float(figures["import_again_s"]),
            2,  # type: ignore[arg-type]
        )
    finally:
        legacy_host_fill.asyncio.run(legacy_host_fill.drop_database(args.mysql, database))
        if not args.keep:
            note("removing the scratch directory")
            shutil.rmtree(scratch, ignore_errors=True)
        note("done")
    print(json.dumps(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
