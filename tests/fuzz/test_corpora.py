"""Every fuzzing harness's corpus (fuzz/corpus/<harness>/) replayed through the harness's
own `one_input`, in plain Python: each seed, and each input that once crashed a parser
(kept there after its fix), stays a regression test. No atheris is needed here; the
fuzzing itself is `make fuzz` (fuzz/README.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fuzz.harnesses import HARNESSES, one_input

CORPUS = Path(__file__).resolve().parents[2] / "fuzz" / "corpus"
ENTRIES = sorted((harness, path) for harness in HARNESSES for path in (CORPUS / harness).glob("*"))


def test_every_harness_has_a_seed_corpus() -> None:
    for harness in HARNESSES:
        assert any((CORPUS / harness).iterdir()), f"fuzz/corpus/{harness} is empty"


def test_every_corpus_belongs_to_a_harness() -> None:
    assert sorted(path.name for path in CORPUS.iterdir()) == sorted(HARNESSES)


def test_corpora_stay_small() -> None:
    """Hand-picked seeds, not a fuzzer's whole output (README: at most ~50 files each)."""
    for harness in HARNESSES:
        files = list((CORPUS / harness).iterdir())
        assert len(files) <= 60, harness
        assert sum(path.stat().st_size for path in files) <= 64 * 1024, harness


@pytest.mark.parametrize(
    ("harness", "path"), ENTRIES, ids=[f"{harness}/{path.name}" for harness, path in ENTRIES]
)
def test_corpus_entry_is_handled(harness: str, path: Path) -> None:
    one_input(harness)(path.read_bytes())
