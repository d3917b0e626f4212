"""`make fuzz`: every harness (or those named) under atheris for N seconds each, one after
the other, each in its own process; one line per harness; exit status 1 if any crashed.

    python -m fuzz.run [--seconds N] [HARNESS ...]     # what `make fuzz SECONDS=N` runs
    python -m fuzz.run --replay HARNESS FILE ...       # one input, plain Python, traceback
    python -m fuzz.run --keep-found [HARNESS ...]      # grow the seeds from what runs found

A harness's process imports its module inside `atheris.instrument_imports()`, so the
Mailroom code it reaches (and the parsing libraries of `INSTRUMENTED`) reports coverage
to libFuzzer. libFuzzer reads the seeds in `fuzz/corpus/<harness>/` and keeps what it finds in
`fuzz/.work/<harness>/corpus/` (not in git: the seed corpus stays small and
hand-picked); its whole output goes to `fuzz/.work/<harness>/log.txt`. A crash is any
exception `one_input` lets out, an input that runs longer than `--timeout` seconds, or a
process over `--rss-limit-mb`; libFuzzer writes that input to
`fuzz/crashes/<harness>/crash-…` (`timeout-…`, `oom-…`), where the summary names it.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from fuzz.harnesses import HARNESSES, one_input

FUZZ_DIRECTORY = Path(__file__).resolve().parent
CORPUS = FUZZ_DIRECTORY / "corpus"
DICTIONARIES = FUZZ_DIRECTORY / "dictionaries"
CRASHES = FUZZ_DIRECTORY / "crashes"
WORK = FUZZ_DIRECTORY / ".work"
INSTRUMENTED = ["mailroom", "sievelib", "spf", "dmarc", "dkim", "authres"]
"""Mailroom and the libraries that parse hostile input on its behalf: what they let out
is our crash too."""

_RUNS = re.compile(rb"stat::number_of_executed_units: (\d+)")
_COVERAGE = re.compile(rb"\bcov: (\d+) ft: (\d+)")
_ARTIFACT = re.compile(rb"Test unit written to (\S+)")


@dataclass(frozen=True)
class Outcome:
    name: str
    crashed: bool
    runs: int
    coverage: int
    seconds: float
    artifact: str | None
    log: Path

    def summary(self) -> str:
        result = "ok"
        if self.crashed:  # libFuzzer names the input for what happened: crash-, timeout-, oom-
            kind = Path(self.artifact).name.split("-")[0] if self.artifact else ""
            result = kind.upper() if kind in ("crash", "timeout", "oom") else "FAILED"
        line = (
            f"{self.name:<22} {result:<7} {self.runs:>10,} runs  cov {self.coverage:>5}"
            f"  {self.seconds:5.0f} s"
        )
        if self.crashed:
            where = self.artifact or "(no input written; see the log)"
            line += f"\n    input: {where}\n    log:   {self.log}"
            line += f"\n    replay: python -m fuzz.run --replay {self.name} {where}"
        return line


def _child(name: str, libfuzzer_args: list[str], argv0: str) -> None:
    """Inside the harness's own process: instrument, then hand over to libFuzzer.
    `argv0` is what libFuzzer runs when it starts a process of its own (a merge)."""
    import atheris  # type: ignore[import-untyped]  # only here: replay needs no atheris

    logging.disable(logging.CRITICAL)  # tables log warnings; libFuzzer's output is ours
    with atheris.instrument_imports(include=INSTRUMENTED):
        function = one_input(name)
    atheris.Setup([argv0, *libfuzzer_args], function)
    atheris.Fuzz()


def _fuzz(name: str, seconds: int, timeout: int, rss_limit_mb: int) -> Outcome:
    work = WORK / name
    found = work / "corpus"
    found.mkdir(parents=True, exist_ok=True)
    crashes = CRASHES / name
    crashes.mkdir(parents=True, exist_ok=True)
    seeds = CORPUS / name
    seeds.mkdir(parents=True, exist_ok=True)
    arguments = [
        f"-max_total_time={seconds}",
        f"-timeout={timeout}",
        f"-rss_limit_mb={rss_limit_mb}",
        f"-artifact_prefix={crashes}{os.sep}",
        "-print_final_stats=1",
    ]
    dictionary = DICTIONARIES / f"{name}.dict"
    if dictionary.exists():
        arguments.append(f"-dict={dictionary}")
    arguments += [str(found), str(seeds)]
    log = work / "log.txt"
    started = time.monotonic()
    with log.open("wb") as output:
        # The interpreter running us, our own module: nothing from outside is executed.
        process = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "fuzz.run", "--child", name, *arguments],
            cwd=FUZZ_DIRECTORY.parent,
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=seconds + 10 * timeout + 120,
            check=False,
        )
    elapsed = time.monotonic() - started
    text = log.read_bytes()
    runs = _RUNS.findall(text)
    coverage = _COVERAGE.findall(text)
    artifact = _ARTIFACT.findall(text)
    return Outcome(
        name=name,
        crashed=process.returncode != 0,
        runs=int(runs[-1]) if runs else 0,
        coverage=int(coverage[-1][0]) if coverage else 0,
        seconds=elapsed,
        artifact=artifact[-1].decode(errors="replace") if artifact else None,
        log=log,
    )


def _keep_found(name: str, max_files: int, max_bytes: int) -> list[Path]:
    """Add to the seed corpus a few of the inputs the fuzzer found that reach code the
    seeds do not (libFuzzer's `-merge=1` picks them), smallest first, while the corpus
    stays within `max_files` files and `max_bytes` octets. Returns the files added."""
    seeds = CORPUS / name
    found = WORK / name / "corpus"
    if not found.is_dir():
        return []
    with tempfile.TemporaryDirectory(prefix=f"mailroom-fuzz-{name}-") as scratch:
        merged = Path(scratch) / "merged"
        merged.mkdir()
        # libFuzzer's merge runs its argv[0] again for the work: a script that starts
        # this harness's child process.
        child = Path(scratch) / "child"
        child.write_text(
            f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m fuzz.run --child {name} "
            '--argv0 "$0" "$@"\n'
        )
        child.chmod(0o700)
        # Seeds first: what they cover already, the merge does not take from `found`.
        # Our own script running our own module: nothing from outside is executed.
        subprocess.run(  # noqa: S603
            [str(child), "-merge=1", str(merged), str(seeds), str(found)],
            cwd=FUZZ_DIRECTORY.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        known = {path.read_bytes() for path in seeds.iterdir()}
        candidates = sorted(
            (path for path in merged.iterdir() if path.read_bytes() not in known),
            key=lambda path: (path.stat().st_size, path.name),
        )
        files = len(known)
        octets = sum(path.stat().st_size for path in seeds.iterdir())
        added: list[Path] = []
        for path in candidates:
            size = path.stat().st_size
            if files + 1 > max_files or octets + size > max_bytes:
                break
            target = seeds / f"found-{path.name[:12]}"
            shutil.copyfile(path, target)
            added.append(target)
            files, octets = files + 1, octets + size
    return added


def _replay(name: str, files: list[str]) -> int:
    function = one_input(name)
    for file in files:
        function(Path(file).read_bytes())
        print(f"{file}: no crash")
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:  # the harness's own process, started by _fuzz
        name, rest, argv0 = argv[1], argv[2:], sys.argv[0]
        if rest[:1] == ["--argv0"]:
            argv0, rest = rest[1], rest[2:]
        _child(name, rest, argv0)
        return 0
    parser = argparse.ArgumentParser(
        prog="python -m fuzz.run", description=(__doc__ or "").split("\n")[0], allow_abbrev=False
    )
    parser.add_argument("harnesses", nargs="*", metavar="HARNESS", help="default: all")
    parser.add_argument("--seconds", type=int, default=60, help="per harness (default 60)")
    parser.add_argument("--timeout", type=int, default=10, help="seconds one input may take")
    parser.add_argument("--rss-limit-mb", type=int, default=1024, help="memory of a harness")
    parser.add_argument("--replay", action="store_true", help="run FILEs through HARNESS")
    parser.add_argument(
        "--keep-found",
        action="store_true",
        help="add what earlier runs found that reaches new code to the seed corpora "
        "(at most 40 files and 8 KiB a harness)",
    )
    arguments = parser.parse_args(argv)
    if arguments.replay:
        if len(arguments.harnesses) < 2:
            parser.error("--replay takes a harness and at least one file")
        return _replay(arguments.harnesses[0], arguments.harnesses[1:])
    names = arguments.harnesses or list(HARNESSES)
    unknown = [name for name in names if name not in HARNESSES]
    if unknown:
        parser.error(f"no harness {', '.join(unknown)}; there are: {', '.join(HARNESSES)}")
    if arguments.keep_found:
        for name in names:
            added = _keep_found(name, max_files=40, max_bytes=8 * 1024)
            print(f"{name:<22} {len(added)} inputs added to fuzz/corpus/{name}/", flush=True)
        return 0
    print(f"fuzzing {len(names)} harnesses for {arguments.seconds} s each", flush=True)
    outcomes = []
    for name in names:
        outcome = _fuzz(name, arguments.seconds, arguments.timeout, arguments.rss_limit_mb)
        print(outcome.summary(), flush=True)
        outcomes.append(outcome)
    crashed = [outcome.name for outcome in outcomes if outcome.crashed]
    if crashed:
        print(f"{len(crashed)} harness(es) crashed: {', '.join(crashed)}")
        return 1
    print(f"no crash in {len(outcomes)} harnesses")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
