"""The dashboard's pictures from plain numbers: the scale, the stacking, the levels of
the meters, and that every label is escaped when drawn."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st

from mailroom.metrics.history import BOUNCED, DELIVERED, LOGIN_FAILED, RECEIVED, HourlyHistory
from mailroom.web.dashboard import (
    bans_view,
    certificate_meters,
    dkim_meters,
    login_chart,
    mail_chart,
)
from mailroom.web.dashboard_charts import Level, Meter, Series, nice_ceiling, stacked_bars
from mailroom.web.dashboard_sources import DkimKeyAge
from mailroom.web.pages import templates

NOW = dt.datetime(2026, 12, 7, 15, 30, tzinfo=dt.UTC)


@given(st.integers(min_value=0, max_value=10**12))
def test_the_y_axis_top_is_round_and_above_every_value(value: int) -> None:
    top = nice_ceiling(value)
    assert top >= max(value, 1)
    assert str(top).rstrip("0") in {"1", "2", "5"}
    assert top < 2.5 * max(value, 1) or top == 1


@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=48))
def test_bars_stay_inside_the_plot_and_stack_to_their_sum(values: list[int]) -> None:
    other = [value // 2 for value in values]
    chart = stacked_bars(
        [Series("a", "s-in", tuple(values)), Series("b", "s-bad", tuple(other))],
        [str(i) for i in range(len(values))],
    )
    for rect in chart.rects:
        assert chart.top - 0.1 <= rect.y <= chart.bottom
        assert rect.y + rect.height <= chart.bottom + 0.1
        assert chart.left <= rect.x <= chart.right
    tallest = max(a + b for a, b in zip(values, other, strict=True))
    if tallest:
        assert min(rect.y for rect in chart.rects) >= chart.top - 0.1


def test_the_mail_chart_draws_the_hourly_history() -> None:
    clock = [NOW.timestamp() - 3600]
    history = HourlyHistory(clock=lambda: clock[0])
    history.record(RECEIVED, 10)
    history.record(DELIVERED, 9)
    clock[0] = NOW.timestamp()
    history.record(RECEIVED, 20)
    history.record(BOUNCED, 1)
    history.record(LOGIN_FAILED, 3)

    chart = mail_chart(history)
    received = next(line for line in chart.lines if line.series.name == "received")
    assert received.series.values[-2:] == (10, 20)
    assert received.series.total == 30
    *_, before, last = received.points.split()
    assert float(last.split(",")[1]) == chart.top  # 20 is the top of the scale
    assert float(before.split(",")[1]) == (chart.top + chart.bottom) / 2
    assert [tick.label for tick in chart.x_ticks][-1] == "15:00"
    logins = login_chart(history)
    assert [rect.title for rect in logins.rects] == ["15:00: 3 failed logins"]


def test_meters_say_when_a_key_is_due_for_replacement() -> None:
    keys = [
        DkimKeyAge("old.example", "mail", "rsa", NOW - dt.timedelta(days=200)),
        DkimKeyAge("aging.example", "mail", "rsa", NOW - dt.timedelta(days=160)),
        DkimKeyAge("new.example", "mail", "ed25519", NOW - dt.timedelta(days=2)),
    ]
    levels = {meter.label.split()[0]: (meter.level, meter.text) for meter in dkim_meters(keys, NOW)}
    assert levels == {
        "aging.example": (Level.WARN, "160 days old"),
        "new.example": (Level.GOOD, "2 days old"),
        "old.example": (Level.BAD, "replace it now"),
    }


def certificate(path: Path, not_after: dt.datetime) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail.example.test")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - dt.timedelta(days=80))
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(cert.public_bytes(Encoding.PEM))
    return path


def test_certificate_meters_warn_before_expiry_and_name_unreadable_files(tmp_path: Path) -> None:
    files = (
        ("expired", certificate(tmp_path / "a.pem", NOW - dt.timedelta(days=1))),
        ("soon", certificate(tmp_path / "b.pem", NOW + dt.timedelta(days=10))),
        ("fine", certificate(tmp_path / "c.pem", NOW + dt.timedelta(days=80))),
        ("missing", tmp_path / "none.pem"),
    )
    meters = certificate_meters(files, NOW)
    assert [(meter.label, meter.level) for meter in meters] == [
        ("expired", Level.BAD),
        ("soon", Level.WARN),
        ("fine", Level.GOOD),
        ("missing (none.pem)", Level.BAD),
    ]
    assert meters[0].text.startswith("expired ")
    assert meters[0].percent == 0
    assert meters[2].text.startswith("80 days left")
    assert meters[2].percent == 50.0
    assert meters[3].text.startswith("unreadable")


@dataclass(frozen=True)
class Ban:
    kind: str
    subject: str
    remaining: float


def test_bans_are_counted_by_kind_longest_first() -> None:
    view = bans_view(
        [
            Ban("address", "203.0.113.9/32", 60),
            Ban("account", "bob@example.test", 3600),
            Ban("address", "2001:db8::/64", 7200),
        ]
    )
    assert (view.addresses, view.accounts) == (2, 1)
    assert [meter.label for meter in view.longest] == [
        "2001:db8::/64 (address)",
        "bob@example.test (account)",
        "203.0.113.9/32 (address)",
    ]
    assert [meter.text for meter in view.longest] == ["2.0 h left", "1.0 h left", "1 min left"]


def test_labels_are_escaped_when_drawn() -> None:
    hostile = "<script>alert(1)</script>"
    charts = templates.env.get_template("dashboard_charts.html").module
    meters = str(charts.meters([Meter(hostile, 0.5, hostile, Level.BAD)], "m", hostile))  # type: ignore[attr-defined]
    bars = str(
        charts.bars(  # type: ignore[attr-defined]
            stacked_bars([Series(hostile, "s-in", (1,))], [hostile]), "b", hostile
        )
    )
    for drawn in (meters, bars):
        assert "<script>" not in drawn
        assert "&lt;script&gt;" in drawn
