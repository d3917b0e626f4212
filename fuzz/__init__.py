"""Fuzzing Mailroom's parsers of network and file input (issue #17, item 5).

`fuzz/harnesses/` holds one module per parser, each with a plain-Python
`one_input(data: bytes) -> None` that feeds the bytes to the parser and raises only when
the parser broke its contract; `fuzz/run.py` runs them under atheris (libFuzzer with
coverage of the `mailroom` package); `fuzz/corpus/<harness>/` are the seed inputs, which
`tests/fuzz/test_corpora.py` replays in the ordinary test suite. See fuzz/README.md.
"""
