"""Browser fixtures: the real server and Debian's Chromium driven by Playwright (sync API).

The server is `uvicorn app.main:app` in a subprocess, on a free loopback port, over a copy of
the seeded SQLite template with a monitor and a reviewer key added. Browser tests run on SQLite
only: the pages call the same services that the per-engine tests already cover on both engines.

Chromium is Debian's (`apt-get install chromium`, `make browser`); Playwright never downloads
a browser here. Where /usr/bin/chromium is missing or cannot be launched, every browser test is
skipped with a reason starting "BROWSER TESTS SKIPPED", which tests/conftest.py repeats in red
at the end of the run.

Everything is module-scoped, not session-scoped, on purpose: while the sync Playwright API is
running it holds an asyncio loop marked as running on the main thread, which would break the
async tests of the modules that follow. Module fixtures are torn down as the module ends.
"""

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from app.accounts.models import Role
from app.accounts.service import create_key
from app.core.config import PROJECT_ROOT
from app.core.db import make_engine, session_factory
from tests.databases import Templates

CHROMIUM = Path(os.environ.get("NIGRAN_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = PROJECT_ROOT / "var" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 780}
SKIP = "BROWSER TESTS SKIPPED"


@dataclass
class LiveServer:
    """The running server: its base URL, its log, and keys by role."""

    url: str
    log: Path
    keys: dict[str, str] = field(default_factory=dict)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="module")
def chromium_path() -> Path:
    """Debian's Chromium, or a loud skip (checked before anything else is started)."""
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        pytest.skip(
            f"{SKIP}: {CHROMIUM} is not installed (run `make browser`, or "
            "`apt-get install chromium` as root)"
        )
    return CHROMIUM


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _create_keys(url: str) -> dict[str, str]:
    engine = make_engine(url)
    try:
        async with session_factory(engine)() as session, session.begin():
            return {
                role.value: (await create_key(session, name=f"browser {role}", role=role)).key
                for role in (Role.MONITOR, Role.REVIEWER)
            }
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def live_server(
    chromium_path: Path, templates: Templates, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """`uvicorn app.main:app` on a seeded SQLite copy; stopped (terminate, wait) at the end."""
    url = asyncio.run(templates.copy("sqlite", templates.template("sqlite", "full")))
    keys = asyncio.run(_create_keys(url))
    base = f"http://127.0.0.1:{_free_port()}"
    log = tmp_path_factory.mktemp("server") / "uvicorn.log"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "NIGRAN_CHAT_PROVIDER_BASE_URL": "",  # the offline engine: deterministic answers
    }
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1"]
    command += ["--port", base.rsplit(":", 1)[1], "--log-level", "warning"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    server = LiveServer(url=base, log=log, keys=keys)
    try:
        _wait_healthy(process, server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        database = make_url(url).database
        if database:
            Path(database).unlink(missing_ok=True)


def _wait_healthy(process: subprocess.Popen, server: LiveServer, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.url}/api/v1/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)  # polling the server's start, not pacing a test
    pytest.fail(
        f"the server did not answer /api/v1/health in {timeout:.0f} s:\n{server.log_tail()}"
    )


@pytest.fixture(scope="module")
def browser(chromium_path: Path, live_server: LiveServer) -> Iterator[object]:
    """Chromium launched through Playwright (after the server, whose set-up uses asyncio.run)."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError as exc:
        pytest.skip(f"{SKIP}: Playwright is not installed ({exc}); run `pip install -e .[dev]`")
    playwright = sync_playwright().start()
    try:
        try:
            launched = playwright.chromium.launch(
                executable_path=str(chromium_path), args=CHROMIUM_ARGS, timeout=30_000
            )
        except Error as exc:
            lines = exc.message.splitlines()
            exits = [line.strip(" -") for line in lines if "process did exit" in line]
            reason = "; ".join(lines[:1] + exits[:1])
            pytest.skip(f"{SKIP}: Playwright cannot launch {chromium_path}: {reason}")
        yield launched
        launched.close()
    finally:
        playwright.stop()


# Lazy images below the fold would be blank in a full-page screenshot: load them all first.
LOAD_IMAGES = """() => Promise.all([...document.images].map((img) => {
    img.loading = "eager";
    return img.complete ? null : new Promise((done) => { img.onload = img.onerror = done; });
}))"""


class Audit:
    """Screenshots (desktop and phone, full page) and axe-core checks, collected per test.

    A flow records every page it passes and asserts once at its end (`assert_clean`), so a
    violation on one page does not hide whether the rest of the flow works.
    """

    BLOCKING = ("serious", "critical")

    def __init__(self) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.axe = Axe()
        self.violations: list[str] = []
        self.page_errors: list[str] = []

    def watch(self, page) -> None:
        page.on("pageerror", lambda error: self.page_errors.append(f"{page.url}: {error}"))

    def check(self, page, name: str, *, screenshot: bool = True) -> None:
        """Screenshot `page` as var/screenshots/<name>-desktop.png and -phone.png; run axe at both."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.wait_for_load_state("networkidle")
        page.evaluate(LOAD_IMAGES)
        seen: set[tuple[str, str]] = set()
        for width, size in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(size)
            if screenshot:
                page.screenshot(path=SCREENSHOTS / f"{name}-{width}.png", full_page=True)
            for violation in self.axe.run(page).response["violations"]:
                if violation["impact"] not in self.BLOCKING:
                    continue
                targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]]
                key = (violation["id"], "|".join(targets))
                if key in seen:
                    continue
                seen.add(key)
                self.violations.append(
                    f"{name} ({page.url}, {width}): {violation['id']} [{violation['impact']}] "
                    f"{violation['help']}; nodes: {targets}"
                )
        page.set_viewport_size(DESKTOP)

    def assert_clean(self) -> None:
        problems = [f"axe: {v}" for v in self.violations]
        problems += [f"uncaught page error: {e}" for e in self.page_errors]
        assert not problems, "\n".join(problems)


@pytest.fixture
def audit() -> Audit:
    return Audit()


@pytest.fixture
def new_context(browser, live_server: LiveServer, audit: Audit) -> Iterator:
    """A factory of fresh browser contexts (own cookies) at desktop size, closed after the test.

    Requests leaving the server are aborted: the tests need no network and stay deterministic.
    What the server logged meanwhile (warnings and errors only) is printed: pytest shows it
    beside a failure.
    """
    contexts = []
    logged = live_server.log.stat().st_size
    outside = re.compile(rf"^(?!{re.escape(live_server.url)}(/|$))")

    def make(**options: object):
        context = browser.new_context(
            base_url=live_server.url, viewport=DESKTOP, accept_downloads=True, **options
        )
        context.set_default_timeout(10_000)
        context.route(outside, lambda route: route.abort())
        context.on("page", audit.watch)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    with live_server.log.open("rb") as log:
        log.seek(logged)
        if news := log.read().decode(errors="replace").strip():
            print(f"server log during the test:\n{news}")


@pytest.fixture
def page(new_context):
    """A page in a fresh context."""
    return new_context().new_page()
