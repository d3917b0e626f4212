"""The import's plan over values, without a database: what a second run does after the
legacy host or the directory changed."""

from __future__ import annotations

from mailroom.config import PasswordHashing
from mailroom.directory.passwords import wrap_legacy_hash
from mailroom.legacy import CurrentDirectory, LegacyHost, LegacySendAs, LegacyUser, plan_import
from mailroom.legacy.plan import ActionKind
from mailroom.legacy.records import CurrentAccount, CurrentAlias, EtcAlias

MD5 = "$1$caea3837$gPafod/Do/8Jj5M9HehhM."
OTHER_MD5 = "$1$abcdefgh$Jm5tgCRnYm0DGHOOjJCSB0"
FAST = PasswordHashing(time_cost=1, memory_kib=8, parallelism=1)
"""Cheap argon2id: these tests compare hashes, they never verify one."""
ARGON = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"

HOST = LegacyHost(
    "cacert.org",
    users=(LegacyUser("jdoe", "john.doe", "John Doe", MD5),),
    send_as=(LegacySendAs("pr", ("jdoe",)),),
)


def _imported(password: str) -> CurrentDirectory:
    return CurrentDirectory(
        domains=frozenset({"cacert.org"}),
        accounts={
            "jdoe@cacert.org": CurrentAccount(
                password, "John Doe", frozenset({"john.doe@cacert.org"})
            )
        },
        aliases={
            "pr@cacert.org": CurrentAlias(
                frozenset({"jdoe@cacert.org"}), frozenset({"jdoe@cacert.org"})
            )
        },
    )


def test_an_imported_host_plans_nothing() -> None:
    plan = plan_import(HOST, _imported(MD5))
    assert plan.actions == ()
    assert plan.unchanged == 4  # domain, account, extra address, alias


def test_a_hash_upgraded_at_login_is_not_put_back() -> None:
    assert plan_import(HOST, _imported(ARGON)).actions == ()


def test_a_password_changed_on_the_legacy_host_is_carried_over() -> None:
    (action,) = plan_import(HOST, _imported(OTHER_MD5)).actions
    assert (action.kind, action.subject, action.account, action.update) == (
        ActionKind.PASSWORD,
        "jdoe@cacert.org",
        MD5,
        True,
    )


def test_an_alias_to_a_system_user_is_reported_not_imported() -> None:
    host = LegacyHost("cacert.org", etc_aliases=(EtcAlias("abuse", ("nobody",), 3),))
    plan = plan_import(host, CurrentDirectory())
    assert [action.kind for action in plan.actions] == [ActionKind.DOMAIN]
    reasons = [skipped.reason for skipped in plan.skipped]
    assert "'nobody' is neither a legacy account nor an alias (a system user?)" in reasons


def test_aliases_in_a_loop_are_reported() -> None:
    host = LegacyHost(
        "cacert.org",
        etc_aliases=(EtcAlias("a", ("b",), 1), EtcAlias("b", ("a",), 2)),
    )
    plan = plan_import(host, CurrentDirectory())
    assert [action.kind for action in plan.actions] == [ActionKind.DOMAIN]
    assert {skipped.what for skipped in plan.skipped} == {
        "alias a@cacert.org",
        "alias b@cacert.org",
    }


def test_an_alias_comes_after_the_alias_it_forwards_to() -> None:
    host = LegacyHost(
        "cacert.org",
        users=(LegacyUser("jdoe", "", "", MD5),),
        etc_aliases=(EtcAlias("postmaster", ("root",), 1), EtcAlias("root", ("jdoe",), 2)),
    )
    subjects = [a.subject for a in plan_import(host, CurrentDirectory()).actions]
    assert subjects.index("root@cacert.org") < subjects.index("postmaster@cacert.org")


def test_a_hash_the_host_wrapped_at_its_start_is_not_put_back() -> None:
    """The server wraps imported legacy hashes in argon2id when it starts (auth); a second
    import must see the wrapped hash as the same password."""
    assert plan_import(HOST, _imported(wrap_legacy_hash(MD5, FAST))).actions == ()


def test_a_password_changed_on_the_legacy_host_after_the_wrap_is_carried_over() -> None:
    (action,) = plan_import(HOST, _imported(wrap_legacy_hash(OTHER_MD5, FAST))).actions
    assert (action.kind, action.subject, action.account) == (
        ActionKind.PASSWORD,
        "jdoe@cacert.org",
        MD5,
    )
