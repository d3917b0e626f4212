"""`/me/certificates`: the client certificates a member registers as their own. Once an
account has any, certificate logins (every protocol's SASL EXTERNAL, and the web's) accept
only those (`auth.certificate_login`, pinned by SHA-256); removing the last one returns
the account to "any certificate of the configured CAs that names it".

An upload is one PEM certificate (no key: a member never sends us theirs), read with
`cryptography`; what is kept is its fingerprint, subject and expiry. A CA certificate, an
expired one, or anything else is refused with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mailroom.auth.certificate_login import fingerprint, subject_text
from mailroom.directory import AlreadyExists, DirectoryError, InvalidValue
from mailroom.web.access import member
from mailroom.web.audit import audit
from mailroom.web.context import WebServices
from mailroom.web.pages import flash, page, see_other

MAX_PEM_BYTES = 20_000
"""A client certificate is a few KiB of PEM; anything larger is no single certificate."""
_PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----")


@dataclass(frozen=True)
class Uploaded:
    fingerprint: str
    subject: str
    not_after: datetime


class CertificateRefused(ValueError):
    """Why an upload is not a certificate we register; fit for the member."""


def read_certificate(pem: bytes, now: datetime) -> Uploaded:
    """The one certificate of a PEM upload. Raises CertificateRefused."""
    if len(pem) > MAX_PEM_BYTES:
        raise CertificateRefused(f"The upload is larger than {MAX_PEM_BYTES} bytes.")
    blocks = len(_PEM_BLOCK.findall(pem))
    if blocks != 1:
        raise CertificateRefused(
            "Paste exactly one certificate (-----BEGIN CERTIFICATE----- ...)."
            if blocks == 0
            else "Paste one certificate only, not a chain."
        )
    try:
        certificate = x509.load_pem_x509_certificate(pem)
        not_after = certificate.not_valid_after_utc
        not_before = certificate.not_valid_before_utc
    except (ValueError, TypeError) as error:
        raise CertificateRefused(f"This is not a readable certificate ({error}).") from None
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
        is_ca = constraints.value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    except (ValueError, TypeError):
        raise CertificateRefused("The certificate's extensions cannot be read.") from None
    if is_ca:
        raise CertificateRefused("This is a CA's certificate, not a personal one.")
    if not_after <= now:
        raise CertificateRefused(f"The certificate expired on {not_after:%Y-%m-%d}.")
    if not_before > now:
        raise CertificateRefused(f"The certificate is valid only from {not_before:%Y-%m-%d}.")
    return Uploaded(fingerprint(certificate), subject_text(certificate), not_after)


def routes(services: WebServices) -> list[BaseRoute]:
    async def listing(request: Request, status: int = 200, **extra: object) -> Response:
        account = member(request)
        registered = await services.directory.account_certificates(account)
        return page(
            request,
            "self_certificates.html",
            status=status,
            certificates=registered,
            now=datetime.now(UTC),
            **extra,
        )

    async def show(request: Request) -> Response:
        return await listing(request)

    async def add(request: Request) -> Response:
        account = member(request)
        form = await request.form()
        pem = str(form.get("pem", "")).encode("utf-8", "replace")
        try:
            uploaded = read_certificate(pem, datetime.now(UTC))
            await services.directory.add_certificate(
                account, uploaded.fingerprint, uploaded.subject, uploaded.not_after
            )
        except CertificateRefused as error:
            return await listing(request, status=400, error=str(error))
        except (AlreadyExists, InvalidValue) as error:
            return await listing(request, status=400, error=f"Not registered: {error}.")
        except DirectoryError:
            return await listing(
                request, status=503, error="The directory cannot be reached; try again later."
            )
        await audit(
            request,
            services.directory,
            "certificate.add",
            account,
            f"sha256 {uploaded.fingerprint}: {uploaded.subject}",
        )
        flash(request, "The certificate was registered.")
        return see_other("/me/certificates")

    async def remove(request: Request) -> Response:
        account = member(request)
        fingerprint_text = str(request.path_params["fingerprint"])
        try:
            removed = await services.directory.remove_certificate(account, fingerprint_text)
        except InvalidValue:
            removed = False
        except DirectoryError:
            return await listing(
                request, status=503, error="The directory cannot be reached; try again later."
            )
        if not removed:
            return await listing(request, status=404, error="There is no such certificate.")
        await audit(
            request, services.directory, "certificate.remove", account, f"sha256 {fingerprint_text}"
        )
        flash(request, "The certificate was removed.")
        return see_other("/me/certificates")

    return [
        Route("/me/certificates", show, methods=["GET"]),
        Route("/me/certificates", add, methods=["POST"]),
        Route("/me/certificates/{fingerprint:str}/remove", remove, methods=["POST"]),
    ]
