"""The audit log on every engine: entries come back newest first, long fields are cut,
and recording one does not bump the directory's version (no cache reloads)."""

from __future__ import annotations

from mailroom.directory import Directory


async def test_entries_come_back_newest_first(directory: Directory) -> None:
    await directory.record_audit("alice@example.org", "192.0.2.1", "alias.add", "pr@example.org")
    await directory.record_audit(
        "bob@example.org", "2001:db8::1", "queue.release", "Q1", "held since 3 days"
    )
    entries = await directory.audit_entries()
    assert [entry.action for entry in entries] == ["queue.release", "alias.add"]
    assert entries[0].source == "2001:db8::1"
    assert entries[0].detail == "held since 3 days"
    assert entries[0].at.tzinfo is not None
    mine = await directory.audit_entries(actor="alice@example.org")
    assert [entry.target for entry in mine] == ["pr@example.org"]


async def test_long_fields_are_cut_not_refused(directory: Directory) -> None:
    entry = await directory.record_audit("a" * 300, "x", "y", "t" * 300, "d" * 5000)
    stored = (await directory.audit_entries(limit=1))[0]
    assert stored == entry
    assert len(stored.detail) == 1000 and stored.detail.endswith("…")
    assert len(stored.target) == 255


async def test_recording_does_not_bump_the_version(directory: Directory) -> None:
    before = await directory.version()
    await directory.record_audit("alice@example.org", "192.0.2.1", "account.add", "x@example.org")
    assert await directory.version() == before
