"""The checks that read files, on whatever a file may hold: a certificate file that is
garbage, half a PEM block or a real chain gives a finding, never an exception; and the
status of several findings is the worst of them."""

from __future__ import annotations

import datetime
import tempfile
import time
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.app.health import (
    Finding,
    HealthReport,
    Status,
    Thresholds,
    check_certificates,
    check_queue,
    worst,
)
from tests.support.certificate_authority import CertificateAuthority

PEM_BEGIN = b"-----BEGIN CERTIFICATE-----\n"
PEM_END = b"-----END CERTIFICATE-----\n"


@settings(max_examples=200, deadline=None)
@given(
    content=st.one_of(
        st.binary(max_size=2000),
        st.builds(lambda body: PEM_BEGIN + body + PEM_END, st.binary(max_size=500)),
        st.builds(
            lambda body: PEM_BEGIN + body + b"\n" + PEM_END,
            st.text(alphabet="ABCDEFGHabcdefgh0123456789+/=", max_size=500).map(str.encode),
        ),
    )
)
def test_a_certificate_file_of_any_content_gives_a_finding(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "cert.pem"
        path.write_bytes(content)
        finding = check_certificates([path], Thresholds(), time.time())
    assert finding.status in (Status.OK, Status.WARNING, Status.CRITICAL)
    assert finding.summary.isprintable()


def test_the_first_certificate_of_a_chain_to_expire_counts(tmp_path: Path) -> None:
    root = CertificateAuthority.create(tmp_path / "root")
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=3)
    intermediate = root.intermediate(tmp_path / "intermediate", "Intermediate", not_after=soon)
    intermediate.server_context("mail.example.test", not_after=soon + datetime.timedelta(days=1))
    (leaf,) = intermediate.directory.glob("mail.*.crt")
    chain = tmp_path / "chain.pem"
    chain.write_bytes(leaf.read_bytes() + intermediate.ca_file.read_bytes())
    finding = check_certificates([chain], Thresholds(), time.time())
    assert finding.status is Status.CRITICAL
    assert finding.summary == f"certificate {chain} expires in 3.0 days"


def test_missing_certificate_is_critical_and_worst_wins(tmp_path: Path) -> None:
    finding = check_certificates([tmp_path / "none.pem"], Thresholds(), time.time())
    assert (finding.status, finding.summary) == (
        Status.CRITICAL,
        f"certificate {tmp_path / 'none.pem'}: No such file or directory",
    )
    assert worst([Status.OK, Status.UNKNOWN]) is Status.UNKNOWN
    assert worst([Status.UNKNOWN, Status.WARNING]) is Status.WARNING
    assert worst([Status.WARNING, Status.CRITICAL, Status.UNKNOWN]) is Status.CRITICAL
    report = HealthReport(
        (Finding("a", Status.OK, "fine | really\nyes"), Finding("b", Status.WARNING, "meh"))
    )
    assert report.status_line() == "MAILROOM WARNING - meh; fine   really yes"


def test_a_broken_queue_is_critical_and_a_missing_one_empty(tmp_path: Path) -> None:
    missing = check_queue(tmp_path / "queue", Thresholds(), time.time())
    assert (missing.status, missing.summary) == (Status.OK, "queue 0 messages")
    (tmp_path / "queue").mkdir()
    (tmp_path / "queue" / "active").write_text("not a directory")
    broken = check_queue(tmp_path / "queue", Thresholds(), time.time())
    assert (broken.status, broken.summary) == (
        Status.CRITICAL,
        f"queue {tmp_path / 'queue' / 'active'}: Not a directory",
    )
