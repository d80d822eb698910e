"""Browser tests: Python Playwright driving Debian's chromium (never a browser of its own)
against the real stack with the reference programme loaded."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from deploy.cli import publish
from deploy.demo import reference_programme, sender
from deploy.stack import Stack

CHROMIUM = os.environ.get("QIANSHOU_CHROMIUM", "/usr/bin/chromium")
# Flags that work here as root in a closed network: without the background-networking ones
# chromium keeps trying (and failing) to reach Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def demo_stack(stack: Stack, token: Callable[..., str]) -> Stack:
    """Intake and reporting up, the reference programme accepted by intake."""
    stack.up("intake", "reporting")
    events = reference_programme()
    counts = publish(
        stack.services["intake"].url,
        events,
        lambda p: token(p.role, agency_id=p.agency_id, region=p.region),
        sender=sender,  # the registry by the Jilin province token (SPEC 3.6)
    )
    assert counts == {"accepted": len(events)}
    return stack


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium; its absence is a failure, never a skip."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: ./deploy/dev test installs it (apt-get install chromium)"
        )
    return CHROMIUM


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(
            executable_path=chromium, args=[*CHROMIUM_ARGS, "--lang=zh-CN"]
        )
        try:
            yield launched
        finally:
            await launched.close()


async def login(page: Page, base: str, token: str) -> None:
    """Log in through the form, as a person would."""
    await page.goto(f"{base}/dashboard/login")
    await page.fill("#token", token)
    await page.click("main.login button[type=submit]")
    await page.wait_for_selector("#page-title")
