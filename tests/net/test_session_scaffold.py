"""What every protocol session shares in `net`: the bad-command limit and the registry
that stops a listener's sessions when they are idle."""

from __future__ import annotations

from mailroom.net.session import BadCommandLimit, SessionRegistry


def test_the_limit_ends_the_session_at_the_nth_bad_command() -> None:
    limit = BadCommandLimit(3)
    assert [limit.bad(), limit.bad(), limit.bad()] == [False, False, True]


def test_a_good_command_starts_the_count_again() -> None:
    limit = BadCommandLimit(2)
    assert not limit.bad()
    limit.good()
    assert not limit.bad()
    assert limit.bad()


class Session:
    def __init__(self) -> None:
        self.told_to_stop = 0

    def stop_when_idle(self) -> None:
        self.told_to_stop += 1


def test_stop_all_tells_every_registered_session_once_and_marks_the_registry() -> None:
    registry: SessionRegistry[Session] = SessionRegistry()
    first, second, gone = Session(), Session(), Session()
    with registry.registered(gone):
        pass
    with registry.registered(first), registry.registered(second):
        assert len(registry) == 2
        registry.stop_all()
    assert registry.stopped
    assert (first.told_to_stop, second.told_to_stop, gone.told_to_stop) == (1, 1, 0)
    assert len(registry) == 0
