"""The router's table files: read at load(), re-read at reload(), which keeps the last
good tables when a file has become bad."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from mailroom.config import RoutingConfig
from mailroom.directory import Directory
from mailroom.routing import MapFileError, Router
from tests.support.routing_community import Clock, MakeRouter, deliveries, failures, write


async def test_relative_paths_are_read_from_the_base_directory(
    directory: Directory, tmp_path: Path, clock: Clock
) -> None:
    (tmp_path / "etc").mkdir()
    write(tmp_path / "etc", "aliases", "postmaster: root\n")
    router = Router(directory, RoutingConfig(aliases_file=Path("etc/aliases")), tmp_path, clock)
    router.load()
    assert deliveries(await router.expand("postmaster@example.org")) == ["local root@example.org"]


async def test_absolute_paths_are_read_as_they_are(
    directory: Directory, tmp_path: Path, clock: Clock
) -> None:
    path = write(tmp_path, "aliases", "postmaster: root\n")
    router = Router(directory, RoutingConfig(aliases_file=path), Path("/nonexistent"), clock)
    router.load()
    assert deliveries(await router.expand("postmaster@example.org")) == ["local root@example.org"]


def test_load_refuses_the_first_bad_file(directory: Directory, tmp_path: Path) -> None:
    write(tmp_path, "good", "/^a@/ alice@example.org\n")
    write(tmp_path, "bad", "# fine\n/^b@/ bob@example.org\n/^c@/ c@@example.org\n")
    write(tmp_path, "aliases", "root: |/bin/true\n")
    config = RoutingConfig(rewrite_maps=[Path("good"), Path("bad")], aliases_file=Path("aliases"))
    with pytest.raises(MapFileError) as caught:
        Router(directory, config, tmp_path).load()
    assert str(caught.value).startswith(f"{tmp_path / 'bad'}:3: the result 'c@@example.org'")


def test_missing_file_is_refused_naming_it(directory: Directory, tmp_path: Path) -> None:
    config = RoutingConfig(recipient_bcc_maps=[Path("cacert-inc-bcc")])
    with pytest.raises(MapFileError, match=r"cacert-inc-bcc: no such file$"):
        Router(directory, config, tmp_path).load()


async def test_routing_before_load_is_a_programming_error(
    directory: Directory, tmp_path: Path
) -> None:
    router = Router(directory, RoutingConfig(), tmp_path)
    with pytest.raises(RuntimeError, match=r"load\(\) must be called"):
        await router.expand("alice@example.org")


async def test_reload_reads_changed_files(make_router: MakeRouter, tmp_path: Path) -> None:
    router = make_router(aliases="helpdesk: alice\n")
    write(tmp_path, "aliases", "helpdesk: bob\n")
    assert deliveries(await router.expand("helpdesk@example.org")) == ["local alice@example.org"]
    assert router.reload() is True
    assert deliveries(await router.expand("helpdesk@example.org")) == ["local bob@example.org"]


async def test_reload_keeps_the_last_good_tables_when_a_file_is_bad(
    make_router: MakeRouter, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    router = make_router(rewrite="/^old@/ alice@example.org\n", aliases="helpdesk: alice\n")
    write(tmp_path, "aliases", "helpdesk: bob\n")  # good
    write(tmp_path, "rewrite0", "/^old@/ bob@example.org\n/^(new@/ x@example.org\n")  # bad
    with caplog.at_level(logging.ERROR):
        assert router.reload() is False
    assert f"{tmp_path / 'rewrite0'}:2: bad pattern" in caplog.text
    assert "routing keeps the tables it had" in caplog.text
    assert deliveries(await router.expand("old@example.org")) == ["local alice@example.org"]
    assert deliveries(await router.expand("helpdesk@example.org")) == ["local alice@example.org"]

    write(tmp_path, "rewrite0", "/^old@/ bob@example.org\n")  # fixed
    assert router.reload() is True
    assert deliveries(await router.expand("old@example.org")) == ["local bob@example.org"]
    assert deliveries(await router.expand("helpdesk@example.org")) == ["local bob@example.org"]


async def test_reload_keeps_the_tables_when_a_file_disappears(
    make_router: MakeRouter, tmp_path: Path
) -> None:
    router = make_router(bcc="bob@example.org root@example.org\n")
    (tmp_path / "bcc0").unlink()
    assert router.reload() is False
    assert deliveries(await router.expand("bob@example.org")) == [
        "local bob@example.org",
        "local root@example.org bcc",
    ]
    assert failures(await router.expand("bob@example.org")) == []


def test_rewrite_result_naming_no_address_is_refused(directory: Directory, tmp_path: Path) -> None:
    write(tmp_path, "rewrite", "/^a@/ ,\n")
    config = RoutingConfig(rewrite_maps=[Path("rewrite")])
    with pytest.raises(MapFileError, match=r"rewrite:1: the result ',' is empty$"):
        Router(directory, config, tmp_path).load()
