"""Debian's chromium, headless, driven by selenium through Debian's chromedriver, as a
person at a browser would use the web listener: with a client certificate presented
without a dialog, forms filled by their field names, buttons clicked by their ids, and a
screenshot of every page kept under `test-artifacts/` (gitignored) for a person to look at.

Nothing is downloaded: chromedriver is `/usr/bin/chromedriver`, named to selenium's
`Service`, so Selenium Manager is never run (it runs only when no driver path is given);
chromium runs with background networking, component updates and sync off.

How chromium presents a client certificate with nobody to pick it (found by trying; the
`--policy` switch is ignored by Debian's build, and a headless chromium without the policy
waits for a choice that never comes, so the page never loads):
- the certificate and key go into an NSS database at `$HOME/.pki/nssdb` (what chromium on
  Linux reads), made with `certutil` and `pk12util` (Debian's libnss3-tools) under a
  temporary HOME that chromedriver, and so chromium, is started with;
- the `AutoSelectCertificateForUrls` policy, in a managed policy file under
  `/etc/chromium/policies/managed/` (root only: `auto_select_policy`), picks it for
  `https://127.0.0.1:*`. Every test writes the same value in a file of its own, so tests
  in parallel never disagree about it; each removes its own file.
The server's certificate is trusted in the same NSS database: a CA's with trust "C", the
host's self-signed one as a trusted peer ("P"); no `--ignore-certificate-errors`.

Selenium blocks, and the host under test runs in the test's event loop: every browser
step runs in a thread (`asyncio.to_thread`), so the loop keeps serving the pages.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.support.certificate_authority import ClientCertificate
from tests.support.required import require_root, required_tool

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
POLICY_DIRECTORY = Path("/etc/chromium/policies/managed")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
"""Screenshots, one directory per test (the repository's `test-artifacts/`)."""
LOAD_SECONDS = 60.0
"""How long a page may take to load before the step fails (a wait, not a measurement:
two cores shared with other tests can be slow)."""
FLAGS = (
    "--headless=new",
    "--no-sandbox",  # CI runs as root, where chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--password-store=basic",
    "--window-size=1280,1024",
    # No name resolves: the browser reaches 127.0.0.1 and nothing else.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
)
AUTO_SELECT = {
    "AutoSelectCertificateForUrls": [json.dumps({"pattern": "https://127.0.0.1:*", "filter": {}})]
}
"""Present the one certificate in the browser's NSS database to any loopback HTTPS site."""

T = TypeVar("T")


def required_browser() -> None:
    """chromium, chromedriver and NSS's tools are installed (else the test fails)."""
    required_tool("chromium", "chromium")
    required_tool("chromedriver", "chromium-driver")
    required_tool("certutil", "libnss3-tools")
    required_tool("pk12util", "libnss3-tools")


@dataclass(frozen=True)
class Pkcs12File:
    """A certificate and key as a person has them for a browser: a PKCS#12 file and its
    password (the demo's `alice.p12`)."""

    path: Path
    password: str


@contextlib.contextmanager
def auto_select_policy() -> Iterator[Path]:
    """The managed policy that picks the client certificate without a dialog, in a file of
    this test's own, removed afterwards."""
    require_root("writes chromium's managed policy (AutoSelectCertificateForUrls) in /etc")
    POLICY_DIRECTORY.mkdir(parents=True, exist_ok=True)
    path = POLICY_DIRECTORY / f"mailroom-tests-{os.getpid()}-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps(AUTO_SELECT))
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def nss_database(
    home: Path,
    certificate: ClientCertificate | Pkcs12File | None = None,
    *,
    trusted_cas: Sequence[Path] = (),
    trusted_servers: Sequence[Path] = (),
) -> Path:
    """An NSS database where chromium looks for it under `home`, holding the client
    `certificate` (with its key), imported with `pk12util` as the README tells a person
    to, and trusting the CA certificates and servers' own (self-signed) certificates
    given as PEM files."""
    database = home / ".pki" / "nssdb"
    database.mkdir(parents=True, exist_ok=True)
    name = f"sql:{database}"
    _run("certutil", "-N", "-d", name, "--empty-password")
    for index, ca in enumerate(trusted_cas):
        _run("certutil", "-A", "-d", name, "-n", f"ca-{index}", "-t", "C,,", "-i", str(ca))
    for index, server in enumerate(trusted_servers):
        _run("certutil", "-A", "-d", name, "-n", f"server-{index}", "-t", "P,,", "-i", str(server))
    if isinstance(certificate, ClientCertificate):
        password = uuid.uuid4().hex
        bundle = Pkcs12File(home / "client.p12", password)
        bundle.path.write_bytes(pkcs12_bundle(certificate, password.encode()))
        _run("pk12util", "-i", str(bundle.path), "-d", name, "-W", bundle.password)
        bundle.path.unlink()
    elif certificate is not None:
        _run("pk12util", "-i", str(certificate.path), "-d", name, "-W", certificate.password)
    return database


def pkcs12_bundle(certificate: ClientCertificate, password: bytes) -> bytes:
    """The certificate and its key as PKCS#12, what a person imports into a browser."""
    key = serialization.load_pem_private_key(certificate.key_file.read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
    return pkcs12.serialize_key_and_certificates(
        b"client",
        key,
        certificate.certificate,
        None,
        serialization.BestAvailableEncryption(password),
    )


def _run(*command: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed: {done.stdout}{done.stderr}")


def artifacts_for(test_id: str) -> Path:
    """The directory of a test's screenshots, named for the test (pytest's node id)."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", test_id.replace("tests/", "", 1)).strip("_")
    directory = ARTIFACTS / name
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.png"):
        old.unlink()
    return directory


@dataclass(frozen=True)
class Refusal:
    """What the browser showed instead of a page: chromium's error page and its code."""

    url: str
    error: str


def _left(page: WebElement) -> Callable[[webdriver.Chrome], bool]:
    """Whether the browser has left the document `page` is the root of. Selenium's
    `staleness_of` knows only StaleElementReferenceException; chromedriver, asked about
    a node while its document is being replaced, may instead answer "Node with given id
    does not belong to the document" (seen in CI): that too means the page was left."""

    def left(driver: webdriver.Chrome) -> bool:
        try:
            page.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            if "does not belong to the document" in (error.msg or ""):
                return True
            raise
        return False

    return left


CLICK_ATTEMPTS = 3
"""Tries of one click that chromedriver refused before dispatching it (see `click`)."""


class Browser:
    """One headless chromium at `base_url` (https://127.0.0.1:PORT). Each step is awaited
    (it runs in a thread) and leaves a screenshot named for it. Browsers of one test run
    one after another (or step by step in turn), never two steps at once."""

    def __init__(self, driver: webdriver.Chrome, base_url: str, artifacts: Path) -> None:
        self.driver = driver
        self.base_url = base_url
        self.artifacts = artifacts

    async def _step(self, work: Callable[[], T]) -> T:
        return await asyncio.to_thread(work)

    # -- pages ---------------------------------------------------------------------------

    async def open(self, path: str) -> str:
        """Go to `path`; the path the browser ends at (after redirects)."""

        def work() -> str:
            self.driver.get(self.base_url + path)
            return self._arrived(f"open {path}")

        return await self._step(work)

    async def refusal(self, path: str) -> Refusal | None:
        """Go to `path` expecting no page: chromium's error (None if a page came)."""

        def work() -> Refusal | None:
            try:
                self.driver.get(self.base_url + path)
            except WebDriverException as error:
                found = re.search(r"net::(ERR_[A-Z_]+)", error.msg or "")
                refusal = Refusal(path, found.group(1) if found else str(error.msg))
            else:
                if not self._error_page():
                    self._shoot(f"not refused {path}")
                    return None
                refusal = Refusal(path, self._error_code())
            self._shoot(f"refused {path} {refusal.error}")
            return refusal

        return await self._step(work)

    async def fill(self, form: str, **fields: str | bool) -> None:
        """Set the fields of the form `form` (a CSS selector: `#account-add`) by name:
        text typed in (replacing what was there), a select's option chosen by its value,
        a checkbox set True or False."""

        def work() -> None:
            found = self.driver.find_element(By.CSS_SELECTOR, form)
            for name, value in fields.items():
                field = _field(found, name)
                kind = (field.get_attribute("type") or "").lower()
                if field.tag_name == "select":
                    Select(field).select_by_value(str(value))
                elif kind in ("checkbox", "radio"):
                    if field.is_selected() != bool(value):
                        field.click()
                else:
                    field.clear()
                    field.send_keys(str(value))
            self._shoot(f"filled {form}")

        await self._step(work)

    async def click(self, selector: str) -> str:
        """Click the button (or link) `selector` (CSS: `#account-add-submit`) and wait for
        the page it leads to; the path the browser ends at."""

        def work() -> str:
            for attempt in range(CLICK_ATTEMPTS):
                page = self.driver.find_element(By.TAG_NAME, "html")
                try:
                    self.driver.find_element(By.CSS_SELECTOR, selector).click()
                    break
                except WebDriverException as error:
                    # chromedriver sometimes resolves the node it just found in a stale
                    # execution context and refuses before dispatching any click
                    # ("Node with given id does not belong to the document", seen under
                    # load): nothing was clicked, so finding it again is safe.
                    if "does not belong to the document" not in (error.msg or ""):
                        raise
                    if attempt == CLICK_ATTEMPTS - 1:
                        raise
            WebDriverWait(self.driver, LOAD_SECONDS).until(_left(page))
            return self._arrived(f"clicked {selector}")

        return await self._step(work)

    async def submit_without_csrf_token(self, form: str) -> str:
        """Take the CSRF token out of the form `form` (CSS selector) and submit it, as a
        page of another site would post; the text of the answer."""

        def work() -> str:
            page = self.driver.find_element(By.TAG_NAME, "html")
            self.driver.execute_script(
                "const form = document.querySelector(arguments[0]);"
                "form.querySelectorAll('[name=csrf_token]').forEach(e => e.remove());"
                "form.submit();",
                form,
            )
            WebDriverWait(self.driver, LOAD_SECONDS).until(_left(page))
            self._arrived(f"posted {form} without its token")
            return self.driver.find_element(By.TAG_NAME, "body").text

        return await self._step(work)

    # -- what the page shows -------------------------------------------------------------

    async def text(self, selector: str = "body") -> str:
        """The visible text of the first element matching the CSS `selector`."""
        return await self._step(lambda: self.driver.find_element(By.CSS_SELECTOR, selector).text)

    async def texts(self, selector: str) -> list[str]:
        """The visible text of every element matching `selector`."""
        return await self._step(
            lambda: [e.text for e in self.driver.find_elements(By.CSS_SELECTOR, selector)]
        )

    async def flash(self) -> list[str]:
        """The flash messages the page shows (`.flash`)."""
        return await self.texts(".flash")

    async def path(self) -> str:
        return await self._step(lambda: self._path())

    # -- inside the thread ---------------------------------------------------------------

    def _path(self) -> str:
        url: str = self.driver.current_url
        return url[len(self.base_url) :] if url.startswith(self.base_url) else url

    def _error_page(self) -> bool:
        """Whether chromium shows its own error page (whose URL chromedriver reports as
        the one asked for): its body has the class `neterror`."""
        return bool(
            self.driver.current_url.startswith("chrome-error://")
            or self.driver.execute_script(
                "return document.body !== null && document.body.classList.contains('neterror')"
            )
        )

    def _error_code(self) -> str:
        """The code chromium's error page shows (ERR_EMPTY_RESPONSE...)."""
        shown: str = self.driver.execute_script("return document.body.innerText")
        found = re.search(r"\bERR_[A-Z_]+", shown)
        return found.group(0) if found else "an error page"

    def _arrived(self, step: str) -> str:
        WebDriverWait(self.driver, LOAD_SECONDS).until(
            lambda driver: driver.execute_script("return document.readyState") == "complete"
        )
        self._shoot(step)
        if self._error_page():
            raise AssertionError(f"{step}: no page, {self._error_code()}")
        return self._path()

    def _shoot(self, step: str) -> None:
        """A screenshot numbered after the test's earlier ones (of any of its browsers)."""
        number = len(list(self.artifacts.glob("*.png"))) + 1
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", step).strip("-")[:80]
        self.driver.save_screenshot(str(self.artifacts / f"{number:02d}-{name}.png"))


def _field(form: WebElement, name: str) -> WebElement:
    found = form.find_elements(By.NAME, name)
    if not found:
        raise AssertionError(f"form {form.get_attribute('id')!r} has no field named {name!r}")
    return found[0]


def start_chromium(home: Path, artifacts: Path) -> webdriver.Chrome:
    """chromedriver and a headless chromium with a fresh profile, HOME at `home` (its NSS
    database), chromedriver's log kept beside the screenshots."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={home / 'profile'}")
    environment = {**os.environ, "HOME": str(home)}
    service = Service(
        executable_path=CHROMEDRIVER,
        env=environment,
        log_output=str(artifacts / "chromedriver.log"),
    )
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(LOAD_SECONDS)
    return driver


@contextlib.asynccontextmanager
async def browser(
    home: Path,
    base_url: str,
    artifacts: Path,
    certificate: ClientCertificate | Pkcs12File | None = None,
    *,
    trusted_cas: Sequence[Path] = (),
    trusted_servers: Sequence[Path] = (),
) -> AsyncIterator[Browser]:
    """A headless chromium at `base_url` presenting `certificate` (if any) when asked for
    one, trusting the given CAs and servers' certificates; closed afterwards."""
    required_browser()
    with auto_select_policy():
        nss_database(home, certificate, trusted_cas=trusted_cas, trusted_servers=trusted_servers)
        driver = await asyncio.to_thread(start_chromium, home, artifacts)
        try:
            yield Browser(driver, base_url, artifacts)
        finally:
            await asyncio.to_thread(driver.quit)
